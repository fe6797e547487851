// iterator() and poll() (ZODB's IteratorStorage mixin and MVCC invalidation polling): the
// transaction log in tid order, inclusive bounds, snapshot behaviour; the oids changed since a tid.
import { describe, expect, it } from 'vitest';
import { ZERO_TID, tidAfter, tidBefore } from '../ids.ts';
import type { FullStorage } from '../interfaces.ts';
import { commit, meta, oids, put, record, valueOf, type Harness } from './harness.ts';

function summary(s: FullStorage, from?: Parameters<FullStorage['iterator']>[0], to?: Parameters<FullStorage['iterator']>[1]) {
  return [...s.iterator(from, to)].map((t) => t.description);
}

export function iterationTests(h: Harness): void {
  // Five transactions t0..t4 described 'd0'..'d4', each writing a few objects.
  async function fiveTransactions() {
    const s = await h.create();
    const [a, b, c] = oids(s, 3);
    const tids = [];
    tids.push(await commit(s, [{ oid: a!, readTid: null, data: record('a0') }], meta('d0', '/ u0', { i: 0 })));
    tids.push(
      await commit(
        s,
        // stored out of oid order on purpose: records come back in oid order
        [
          { oid: c!, readTid: null, data: record('c1') },
          { oid: b!, readTid: null, data: record('b1') },
        ],
        meta('d1', '/ u1', { i: 1 }),
      ),
    );
    for (let i = 2; i < 5; i++) tids.push(await put(s, a!, `a${i}`, [], meta(`d${i}`, `/ u${i}`, { i })));
    return { s, a: a!, b: b!, c: c!, tids };
  }

  describe('iterator', () => {
    it('yields every transaction in tid order with its metadata and its records in oid order', async () => {
      const { s, a, b, c, tids } = await fiveTransactions();
      const all = [...s.iterator()];
      expect(all.map((t) => t.tid)).toEqual(tids);
      expect(all.map((t) => [t.user, t.description, t.extension])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [`/ u${i}`, `d${i}`, { i }]),
      );
      const second = all[1]!;
      expect(second.records.map((r) => r.oid)).toEqual([b, c].sort());
      for (const r of second.records) expect(r.tid).toBe(tids[1]);
      expect(second.records.map((r) => valueOf(r.data!))).toEqual(b < c ? ['b1', 'c1'] : ['c1', 'b1']);
      expect(all[4]!.records).toEqual([{ oid: a, tid: tids[4], data: record('a4') }]);
    });

    it('includes both bounds', async () => {
      const { s, tids } = await fiveTransactions();
      expect(summary(s, tids[1], tids[3])).toEqual(['d1', 'd2', 'd3']);
      expect(summary(s, tids[2], tids[2])).toEqual(['d2']);
      expect(summary(s, tids[3])).toEqual(['d3', 'd4']);
      expect(summary(s, undefined, tids[1])).toEqual(['d0', 'd1']);
    });

    it('bounds between tids select the transactions inside them', async () => {
      const { s, tids } = await fiveTransactions();
      expect(summary(s, tidAfter(tids[1]!), tidBefore(tids[4]!))).toEqual(['d2', 'd3']);
      expect(summary(s, ZERO_TID, tidAfter(tids[4]!))).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
      expect(summary(s, tidAfter(tids[4]!))).toEqual([]);
      expect(summary(s, undefined, tidBefore(tids[0]!))).toEqual([]);
      expect(summary(s, tids[3], tids[1])).toEqual([]);
    });

    it('is a snapshot: transactions committed after the call are not yielded', async () => {
      const { s, a, tids } = await fiveTransactions();
      const untouched = s.iterator();
      const started = s.iterator();
      expect(started.next().value?.tid).toBe(tids[0]);
      await put(s, a, 'later', [], meta('later'));
      expect([...untouched].map((t) => t.tid)).toEqual(tids);
      expect([...started].map((t) => t.tid)).toEqual(tids.slice(1));
      expect(summary(s).at(-1)).toBe('later');
    });

    it('runs concurrently with commits without seeing them', async () => {
      const { s, a, tids } = await fiveTransactions();
      const seen = [];
      for (const t of s.iterator()) {
        seen.push(t.tid);
        await put(s, a, `during ${t.description}`);
      }
      expect(seen).toEqual(tids);
      expect([...s.iterator()]).toHaveLength(10);
    });
  });

  describe('poll', () => {
    it('reports nothing new at the last transaction', async () => {
      const { s } = await fiveTransactions();
      const last = s.lastTransaction();
      expect(s.poll(last)).toEqual({ lastTid: last, oids: new Set() });
    });

    it('reports the oids written after `after`, excluding the transaction at `after` itself', async () => {
      const { s, a, b, c, tids } = await fiveTransactions();
      expect(s.poll(tids[3]!)).toEqual({ lastTid: tids[4], oids: new Set([a]) });
      expect(s.poll(tids[0]!)).toEqual({ lastTid: tids[4], oids: new Set([a, b, c]) });
      expect(s.poll(tids[1]!).oids).toEqual(new Set([a]));
      expect(s.poll(tidBefore(tids[1]!)).oids).toEqual(new Set([a, b, c]));
      expect(s.poll(ZERO_TID).oids).toEqual(new Set([a, b, c]));
    });

    it('on an empty storage reports ZERO_TID and no oids', async () => {
      const s = await h.create();
      expect(s.poll(ZERO_TID)).toEqual({ lastTid: ZERO_TID, oids: new Set() });
    });

    it('follows new commits when polled with the last reported tid', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      let seen = s.poll(ZERO_TID).lastTid;
      await put(s, a!, 1);
      const first = s.poll(seen);
      expect(first.oids).toEqual(new Set([a]));
      seen = first.lastTid;
      await put(s, b!, 1);
      await put(s, b!, 2);
      const second = s.poll(seen);
      expect(second).toEqual({ lastTid: s.lastTransaction(), oids: new Set([b]) });
    });
  });
}
