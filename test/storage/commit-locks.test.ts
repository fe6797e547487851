// Commit locks: a successful vote locks its objects until finish or abort; a second vote on them
// waits (in this process, or in another one), gives up after lockTimeoutMs, and breaks the locks
// of a process that died.
import { describe, expect, it } from 'vitest';
import {
  CommitLockTimeoutError,
  ConflictError,
  LmdbStorage,
  MemoryStorage,
  StorageTransactionError,
  type ConflictResolver,
} from '@tidaldb/core';
import { commit, put, record, valueOf, votedWrite } from '@tidaldb/core/testing';
import { begin, drainEventLoop, settle, startChild, tempDir } from './helpers.ts';

type Made = LmdbStorage | MemoryStorage;
const makers: Array<[string, (lockTimeoutMs?: number) => Promise<Made>]> = [
  ['MemoryStorage', async (lockTimeoutMs = 10_000) => new MemoryStorage({ lockTimeoutMs })],
  ['LmdbStorage', async (lockTimeoutMs = 10_000) => LmdbStorage.open(await tempDir(), { lockTimeoutMs })],
];

const appendResolver: ConflictResolver = {
  resolve: ({ committed, mine }) => record(`${String(valueOf(committed))}+${String(valueOf(mine))}`),
};

describe.each(makers)('commit locks in %s', (_name, make) => {
  it('makes a second vote on a voted object wait until the first transaction finishes', async () => {
    const s = await make();
    try {
      s.setConflictResolver(appendResolver);
      const a = s.newOid();
      const t1 = await put(s, a, 'base');
      const first = await votedWrite(s, a, t1, 'one', 'first');
      const second = begin(s, 'second');
      s.store(second, a, t1, record('two'));
      const vote = settle(s.tpcVote(second));
      let settled = false;
      void vote.then(() => (settled = true));
      await drainEventLoop(20);
      expect(settled).toBe(false);
      expect(s.stats().lockWaits).toBeGreaterThan(0);
      const tFirst = await s.tpcFinish(first);
      const v = await vote;
      if (!v.ok) throw v.error;
      // The waiting vote saw the first commit: its stale store was merged on top of it.
      expect(v.value).toEqual([a]);
      const tSecond = await s.tpcFinish(second);
      expect(tSecond > tFirst).toBe(true);
      expect(valueOf(s.load(a).data)).toBe('one+two');
    } finally {
      await s.close();
    }
  });

  it('fails a vote that waited longer than lockTimeoutMs with CommitLockTimeoutError naming the object', async () => {
    const s = await make(30);
    try {
      const a = s.newOid();
      const t1 = await put(s, a, 'base');
      const holder = await votedWrite(s, a, t1, 'held', 'holder');
      const waiter = begin(s, 'waiter');
      s.store(waiter, a, t1, record('late'));
      const err = await s.tpcVote(waiter).then(
        () => null,
        (e: unknown) => e,
      );
      expect(CommitLockTimeoutError.is(err)).toBe(true);
      expect(ConflictError.is(err)).toBe(true); // retryable
      expect(err).toMatchObject({ oid: a, readTid: t1, committedTid: t1 });
      await s.tpcAbort(waiter);
      // The holder is unaffected and commits.
      const tid = await s.tpcFinish(holder);
      expect(s.load(a).tid).toBe(tid);
    } finally {
      await s.close();
    }
  });

  it('ends a waiting vote with StorageTransactionError when its transaction is aborted, holding no locks', async () => {
    const s = await make();
    try {
      const [a, b] = [s.newOid(), s.newOid()];
      const t1 = await put(s, a, 'base');
      const holder = begin(s);
      s.store(holder, a, t1, record('held'));
      await s.tpcVote(holder);
      const waiter = begin(s);
      s.store(waiter, b, null, record('b'));
      s.store(waiter, a, t1, record('a'));
      const vote = settle(s.tpcVote(waiter));
      await drainEventLoop(5);
      await s.tpcAbort(waiter);
      const v = await vote;
      expect(v.ok).toBe(false);
      expect(StorageTransactionError.is(v.ok ? null : v.error)).toBe(true);
      // b was never locked by the waiter: another transaction commits it at once.
      await commit(s, [{ oid: b, readTid: null, data: record('b by another') }]);
      await s.tpcFinish(holder);
    } finally {
      await s.close();
    }
  });

  it('releases the lock of an object that was only checked (checkCurrent) when its transaction finishes', async () => {
    const s = await make(2_000);
    try {
      const [a, b] = [s.newOid(), s.newOid()];
      const ta = await put(s, a, 'read');
      const reader = begin(s);
      s.checkCurrent(reader, a, ta);
      s.store(reader, b, null, record('b'));
      await s.tpcVote(reader);
      await s.tpcFinish(reader);
      // a's revision did not change, so only an explicit release lets this commit in.
      const t2 = await commit(s, [{ oid: a, readTid: ta, data: record('written') }]);
      expect(s.load(a).tid).toBe(t2);
      expect(s.stats().lockWaits).toBe(0);
    } finally {
      await s.close();
    }
  });
});

describe('commit locks across processes (LmdbStorage)', () => {
  it('breaks the lock left by a process that died after its vote', async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir, { lockTimeoutMs: 5_000 });
    try {
      const a = s.newOid();
      const t1 = await put(s, a, 'base');
      const child = startChild('vote-and-die.ts', [dir, a, t1]);
      expect(await child.nextLine()).toBe('voted');
      expect((await child.exited).signal).toBe('SIGKILL');
      const tid = await commit(s, [{ oid: a, readTid: t1, data: record('after the crash') }]);
      expect(s.load(a).tid).toBe(tid);
      expect(valueOf(s.load(a).data)).toBe('after the crash');
    } finally {
      await s.close();
    }
  });

  it('makes a vote in one process wait for a lock held by a vote in another handle, then see its commit', async () => {
    const dir = await tempDir();
    const one = await LmdbStorage.open(dir);
    const two = await LmdbStorage.open(dir);
    try {
      const a = one.newOid();
      const t1 = await put(one, a, 'base');
      const holder = await votedWrite(one, a, t1, 'one');
      const waiter = begin(two);
      two.store(waiter, a, t1, record('two'));
      const vote = settle(two.tpcVote(waiter));
      let settled = false;
      void vote.then(() => (settled = true));
      await drainEventLoop(10);
      expect(settled).toBe(false);
      const tOne = await one.tpcFinish(holder);
      const v = await vote;
      expect(v.ok).toBe(false);
      expect(v.ok ? null : v.error).toMatchObject({ code: 'CONFLICT', oid: a, readTid: t1, committedTid: tOne });
      await two.tpcAbort(waiter);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
