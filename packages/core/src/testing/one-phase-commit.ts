// One-phase commit (the optional `tpcCommitOnePhase`): vote and finish in one step for a
// transaction whose only participant is the storage. It must decide exactly as a vote would
// (serials, read conflicts, resolution, locks held by voted transactions) and write all or nothing.
import { describe, expect, it, type TestContext } from 'vitest';
import { ConflictError, ReadConflictError, StorageTransactionError } from '../errors.ts';
import type { Oid } from '../ids.ts';
import type { FullStorage, OnePhaseResult, StorageTransaction } from '../interfaces.ts';
import { counterResolver } from './conflict-resolution.ts';
import { begin, drainEventLoop, expectIncreasing, expectRejects, put, record, settle, valueOf, votedWrite, type Harness } from './harness.ts';

type OnePhaseStorage = FullStorage & { tpcCommitOnePhase(txn: StorageTransaction): Promise<OnePhaseResult> };

/** A storage with one-phase commit, or the test is skipped (the capability is optional). */
async function create(h: Harness, ctx: TestContext): Promise<OnePhaseStorage> {
  const s = await h.create();
  if (typeof s.tpcCommitOnePhase !== 'function') ctx.skip();
  return s as OnePhaseStorage;
}

/** Commits `value` over `oid` read at `readTid` in one phase. */
function increment(s: OnePhaseStorage, oid: Oid, readTid: Parameters<FullStorage['store']>[2], value: number): Promise<OnePhaseResult> {
  const txn = begin(s, `set ${value}`);
  s.store(txn, oid, readTid, record(value));
  return s.tpcCommitOnePhase(txn);
}

export function onePhaseCommitTests(h: Harness): void {
  describe('one-phase commit', { timeout: 20_000 }, () => {
    it('writes the revisions and the transaction record, as vote and finish would', async (ctx) => {
      const s = await create(h, ctx);
      const [a, b] = [s.newOid(), s.newOid()];
      const before = s.lastTransaction();
      const txn = s.tpcBegin({ user: '/ alice', description: 'one step', extension: { n: 1 } });
      s.store(txn, a, null, record('a'));
      s.store(txn, b, null, record('b'));
      const { tid, resolved } = await s.tpcCommitOnePhase(txn);
      expect(resolved).toEqual([]);
      expectIncreasing([before, tid]);
      expect(s.lastTransaction()).toBe(tid);
      expect([valueOf(s.load(a).data), valueOf(s.load(b).data)]).toEqual(['a', 'b']);
      const [entry] = [...s.iterator(tid, tid)];
      expect(entry).toMatchObject({ tid, user: '/ alice', description: 'one step', extension: { n: 1 } });
      expect(entry!.records.map((r) => r.oid).sort()).toEqual([a, b].sort());
    });

    it('fails a stale store without a resolver with ConflictError and writes nothing', async (ctx) => {
      const s = await create(h, ctx);
      const [a, b] = [s.newOid(), s.newOid()];
      const t1 = await put(s, a, 1);
      const t2 = await put(s, a, 2);
      const txn = begin(s);
      s.store(txn, b, null, record('b'));
      s.store(txn, a, t1, record(10));
      const err = await expectRejects(s.tpcCommitOnePhase(txn), ConflictError);
      expect([err.oid, err.readTid, err.committedTid]).toEqual([a, t1, t2]);
      expect(s.lastTransaction()).toBe(t2);
      expect(() => s.load(b)).toThrow();
      // Only abort is left.
      await expectRejects(s.tpcFinish(txn), StorageTransactionError);
      await s.tpcAbort(txn);
      expect(valueOf(s.load(a).data)).toBe(2);
    });

    it('fails with ReadConflictError when a checked object changed', async (ctx) => {
      const s = await create(h, ctx);
      const [a, b] = [s.newOid(), s.newOid()];
      const t1 = await put(s, a, 1);
      await put(s, a, 2);
      const txn = begin(s);
      s.checkCurrent(txn, a, t1);
      s.store(txn, b, null, record('b'));
      await expectRejects(s.tpcCommitOnePhase(txn), ReadConflictError);
      await s.tpcAbort(txn);
      expect(() => s.load(b)).toThrow();
    });

    it('merges a stale store with the resolver and reports the oid', async (ctx) => {
      const s = await create(h, ctx);
      s.setConflictResolver(counterResolver());
      const a = s.newOid();
      const t1 = await put(s, a, 10);
      await put(s, a, 15);
      const { tid, resolved } = await increment(s, a, t1, 12);
      expect(resolved).toEqual([a]);
      expect(s.load(a)).toMatchObject({ tid });
      expect(valueOf(s.load(a).data)).toBe(17);
    });

    it('merges concurrent commits of one object started from the same revision: none is lost', async (ctx) => {
      const s = await create(h, ctx);
      s.setConflictResolver(counterResolver());
      const a = s.newOid();
      const t0 = await put(s, a, 0);
      const results = await Promise.all(Array.from({ length: 8 }, () => increment(s, a, t0, 1)));
      expect(valueOf(s.load(a).data)).toBe(8);
      expectIncreasing(results.map((r) => r.tid).sort());
      // The first to be written found its revision current; every later one was merged.
      expect(results.filter((r) => r.resolved.length === 0)).toHaveLength(1);
    });

    it('lets only the first of concurrent unresolvable commits of one object win', async (ctx) => {
      const s = await create(h, ctx);
      const a = s.newOid();
      const t0 = await put(s, a, 0);
      const results = await Promise.all(Array.from({ length: 4 }, (_, i) => settle(increment(s, a, t0, i + 1))));
      const won = results.filter((r) => r.ok);
      expect(won).toHaveLength(1);
      for (const r of results) if (!r.ok) await expectRejects(Promise.reject(r.error), ConflictError);
      expect(s.load(a).tid).toBe(won[0]!.ok ? won[0]!.value.tid : undefined);
    });

    it('waits for an object locked by a voted two-phase transaction, then decides against its commit', async (ctx) => {
      const s = await create(h, ctx);
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const voted = await votedWrite(s, a, t1, 'two-phase');
      let done = false;
      const onePhase = settle(increment(s, a, t1, 1).finally(() => (done = true)));
      await drainEventLoop();
      expect(done).toBe(false);
      const finished = await s.tpcFinish(voted);
      const outcome = await onePhase;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect((await expectRejects(Promise.reject(outcome.error), ConflictError)).committedTid).toBe(finished);
      expect(valueOf(s.load(a).data)).toBe('two-phase');
    });

    it('gives up waiting for a lock when aborted, writing nothing', async (ctx) => {
      const s = await create(h, ctx);
      const [a, b] = [s.newOid(), s.newOid()];
      const t1 = await put(s, a, 'v1');
      const voted = await votedWrite(s, a, t1, 'held');
      const txn = begin(s, 'waits');
      s.store(txn, b, null, record('b'));
      s.store(txn, a, t1, record('mine'));
      const waiting = settle(s.tpcCommitOnePhase(txn));
      await drainEventLoop();
      await s.tpcAbort(txn);
      const outcome = await waiting;
      expect(outcome.ok).toBe(false);
      await s.tpcAbort(voted);
      expect(() => s.load(b)).toThrow();
      expect(valueOf(s.load(a).data)).toBe('v1');
    });

    it('is refused out of protocol order', async (ctx) => {
      const s = await create(h, ctx);
      const a = s.newOid();
      const votedFirst = await votedWrite(s, a, null, 1);
      await expectRejects(s.tpcCommitOnePhase(votedFirst), StorageTransactionError);
      await s.tpcAbort(votedFirst);
      const txn = begin(s);
      s.store(txn, a, null, record(2));
      await s.tpcCommitOnePhase(txn);
      await expectRejects(s.tpcCommitOnePhase(txn), StorageTransactionError);
      await expectRejects(s.tpcFinish(txn), StorageTransactionError);
      expect(() => s.store(txn, a, null, record(3))).toThrow(StorageTransactionError);
    });
  });
}
