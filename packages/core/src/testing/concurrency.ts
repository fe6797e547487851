// Concurrent writers in one process (ZODB's MTStorage mixin): overlapping commits on distinct and
// on the same objects. Invariant: every acknowledged commit is visible with its data, tids are
// strictly increasing, and a commit built on a stale read either merges or raises ConflictError —
// never silently overwrites (first committer wins).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../errors.ts';
import type { Oid, Tid } from '../ids.ts';
import type { FullStorage } from '../interfaces.ts';
import { counterResolver } from './conflict-resolution.ts';
import { commit, commitFull, expectIncreasing, expectRejects, meta, oids, record, serialOf, settle, valueOf, type Harness } from './harness.ts';
import { runScheduledTransactions, type TxnPlan } from './scheduled-transactions.ts';

/** Increments `counter` by one in its own transaction, retrying on ConflictError. */
async function incrementWithRetry(s: FullStorage, counter: Oid, own: Oid, label: string): Promise<{ tid: Tid; attempts: number }> {
  for (let attempts = 1; ; attempts++) {
    const current = s.load(counter);
    try {
      const tid = await commit(
        s,
        [
          { oid: counter, readTid: current.tid, data: record((valueOf(current.data) as number) + 1) },
          { oid: own, readTid: serialOf(s, own), data: record(label) },
        ],
        meta(label),
      );
      return { tid, attempts };
    } catch (err) {
      if (!ConflictError.is(err)) throw err;
      // own was never written by anyone else, so it can only be the counter that conflicted
      expect(err.oid).toBe(counter);
    }
  }
}

export function concurrencyTests(h: Harness): void {
  describe('concurrent writers in one process', { timeout: 60_000 }, () => {
    it('commits 50 overlapping transactions on distinct objects, none lost, tids strictly increasing', async () => {
      const s = await h.create();
      const objects = oids(s, 50);
      const tids = await Promise.all(objects.map((oid, i) => commit(s, [{ oid, readTid: null, data: record(i) }], meta(`w${i}`))));
      expect(new Set(tids).size).toBe(50);
      const log = [...s.iterator()];
      expectIncreasing(log.map((t) => t.tid));
      expect(log).toHaveLength(50);
      objects.forEach((oid, i) => {
        expect(s.load(oid).tid).toBe(tids[i]);
        expect(valueOf(s.load(oid).data)).toBe(i);
      });
    });

    it('lets exactly one of 20 commits built on the same revision win without a resolver', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t0 = await commit(s, [{ oid: a, readTid: null, data: record('start') }]);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => settle(commit(s, [{ oid: a, readTid: t0, data: record(i) }], meta(`w${i}`)))),
      );
      const winners = results.flatMap((r, i) => (r.ok ? [{ i, tid: r.value }] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (!r.ok) await expectRejects(Promise.reject(r.error), ConflictError);
      expect(valueOf(s.load(a).data)).toBe(winners[0]!.i);
      expect(s.lastTransaction()).toBe(winners[0]!.tid);
      expect(s.history(a, 100)).toHaveLength(2);
    });

    it('counts every increment of read-modify-write loops that retry on ConflictError', async () => {
      const s = await h.create();
      const counter = s.newOid();
      await commit(s, [{ oid: counter, readTid: null, data: record(0) }]);
      const workers = 6;
      const each = 5;
      const own = oids(s, workers);
      const done = await Promise.all(
        own.map(async (mine, w) => {
          const tids = [];
          for (let i = 0; i < each; i++) tids.push((await incrementWithRetry(s, counter, mine, `w${w}.${i}`)).tid);
          return tids;
        }),
      );
      expect(valueOf(s.load(counter).data)).toBe(workers * each);
      const logged = new Set([...s.iterator()].map((t) => t.tid));
      for (const tid of done.flat()) expect(logged.has(tid)).toBe(true);
      expect(s.history(counter, 1000)).toHaveLength(workers * each + 1);
    });

    it('merges concurrent commits through the resolver without losing any', async () => {
      const s = await h.create();
      s.setConflictResolver(counterResolver());
      const a = s.newOid();
      const t0 = await commit(s, [{ oid: a, readTid: null, data: record(0) }]);
      const n = 25;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => commitFull(s, [{ oid: a, readTid: t0, data: record(i + 1) }])));
      expect(valueOf(s.load(a).data)).toBe((n * (n + 1)) / 2);
      expectIncreasing([...s.iterator()].map((t) => t.tid));
      expect(results.filter((r) => r.resolved.length > 0)).toHaveLength(n - 1);
    });

    const plan: fc.Arbitrary<TxnPlan> = fc.record({
      writes: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }),
      check: fc.option(fc.nat(2), { nil: null }),
      delta: fc.integer({ min: 1, max: 9 }),
    });

    it('property: under any interleaving of 2PC calls, acknowledged commits are visible and no update is lost', async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.array(plan, { minLength: 2, maxLength: 5 }), async (scheduler, plans) => {
          const s = await h.create();
          try {
            await runScheduledTransactions(s, scheduler, plans, { resolve: false });
          } finally {
            await h.close(s);
          }
        }),
        h.fcParams,
      );
    });

    it('property: under any interleaving, a merging resolver makes every commit succeed and every delta count', async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.array(plan, { minLength: 2, maxLength: 5 }), async (scheduler, plans) => {
          const s = await h.create();
          try {
            await runScheduledTransactions(s, scheduler, plans, { resolve: true });
          } finally {
            await h.close(s);
          }
        }),
        h.fcParams,
      );
    });
  });
}
