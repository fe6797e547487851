// An LmdbStorage remembers the current tids it wrote, so the serial checks of a commit that
// rewrites its own last writes read nothing. What it remembers holds only while no one else
// writes: another storage object on the same environment (the cross-process case is
// test/conformance/multiprocess.test.ts) must make every serial check read again.
import { describe, expect, it } from 'vitest';
import { ConflictError, LmdbStorage, ROOT_OID, type Tid } from '@tidaldb/core';
import { begin, commit, put, record, valueOf } from '@tidaldb/core/testing';
import { tempDir } from './helpers.ts';

async function twoStorages(): Promise<[LmdbStorage, LmdbStorage, () => Promise<void>]> {
  const dir = await tempDir();
  const a = await LmdbStorage.open(dir);
  const b = await LmdbStorage.open(dir);
  return [a, b, async () => Promise.all([a.close(), b.close()]).then(() => undefined)];
}

describe('LmdbStorage serial checks of its own last writes', () => {
  it('sees a commit by another storage object of the environment over an object it wrote last', async () => {
    const [a, b, close] = await twoStorages();
    try {
      const oid = a.newOid();
      const t1 = await put(a, oid, 1);
      b.poll(t1);
      const t2 = await commit(b, [{ oid, readTid: t1, data: record(2) }]);
      // a wrote t1 and is stale: both commit paths must find b's revision.
      const stale = { oid, readTid: t1, committedTid: t2 };
      await expect(commit(a, [{ oid, readTid: t1, data: record(3) }])).rejects.toMatchObject(stale);
      const txn = begin(a);
      a.store(txn, oid, t1, record(3));
      await expect(a.tpcCommitOnePhase(txn)).rejects.toMatchObject(stale);
      expect(valueOf(a.load(oid).data)).toBe(2);
    } finally {
      await close();
    }
  });

  it('sees an object it wrote last removed by another storage object’s pack', async () => {
    const [a, b, close] = await twoStorages();
    try {
      await put(a, ROOT_OID, 'root');
      const orphan = a.newOid();
      const t1 = await put(a, orphan, 'unreachable');
      await put(a, ROOT_OID, 'root again');
      await b.pack(b.lastTransaction());
      await expect(commit(a, [{ oid: orphan, readTid: t1, data: record('revived') }])).rejects.toThrow(/no longer exists/);
    } finally {
      await close();
    }
  });

  it('checks each object against what the same batch wrote before it', async () => {
    const [a, , close] = await twoStorages();
    try {
      const oid = a.newOid();
      const t1: Tid = await put(a, oid, 1);
      // Two one-phase commits from the same read tid, written in one batch: the second must
      // conflict with the first, which it sees only through what the batch remembered.
      const txns = [begin(a), begin(a)];
      const outcomes = await Promise.allSettled(
        txns.map((txn, i) => {
          a.store(txn, oid, t1, record(10 + i));
          return a.tpcCommitOnePhase(txn);
        }),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      expect(ConflictError.is((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
      expect(valueOf(a.load(oid).data)).toBe(10);
    } finally {
      await close();
    }
  });
});
