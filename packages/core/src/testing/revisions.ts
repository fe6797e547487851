// Identity and revisions (ZODB's BasicStorage and RevisionStorage mixins): oids, tids,
// lastTransaction, load, loadBefore and loadSerial over several revisions of several objects.
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from '../errors.ts';
import { ROOT_OID, ZERO_TID, tidAfter, tidBefore, tidToDate } from '../ids.ts';
import { commit, expectIncreasing, expectThrows, oids, put, record, sameBytes, valueOf, type Harness } from './harness.ts';

export function revisionTests(h: Harness): void {
  describe('identity', () => {
    it('has a name, a stable sort key distinct from another storage, and is writable and open', async () => {
      const s = await h.create();
      const other = await h.create();
      expect(typeof s.name).toBe('string');
      expect(s.name.length).toBeGreaterThan(0);
      expect(s.sortKey()).toBe(s.sortKey());
      expect(s.sortKey()).not.toBe(other.sortKey());
      expect(s.readOnly).toBe(false);
      expect(s.closed).toBe(false);
    });

    it('starts empty: lastTransaction is ZERO_TID, no root, no transactions', async () => {
      const s = await h.create();
      expect(s.lastTransaction()).toBe(ZERO_TID);
      expectThrows(() => s.load(ROOT_OID), ObjectNotFoundError);
      expect([...s.iterator()]).toEqual([]);
    });

    it('hands out unique oids, never the root oid', async () => {
      const s = await h.create();
      const got = oids(s, 500);
      expect(new Set(got).size).toBe(500);
      expect(got).not.toContain(ROOT_OID);
    });

    it('assigns strictly increasing tids that read as the commit time', async () => {
      const s = await h.create();
      const a = s.newOid();
      const before = Date.now();
      const tids = [];
      for (let i = 0; i < 20; i++) tids.push(await put(s, a, i));
      const after = Date.now();
      expectIncreasing(tids);
      expect(s.lastTransaction()).toBe(tids.at(-1));
      // Coarse bounds: a tid is max(now, last + 1) in microseconds, so it tracks the wall clock.
      const first = tidToDate(tids[0]!).getTime();
      expect(first).toBeGreaterThanOrEqual(before - 60_000);
      expect(first).toBeLessThanOrEqual(after + 60_000);
    });

    it('stores the root under ROOT_OID like any object', async () => {
      const s = await h.create();
      const tid = await commit(s, [{ oid: ROOT_OID, readTid: null, data: record('root') }]);
      expect(s.load(ROOT_OID).tid).toBe(tid);
      expect(valueOf(s.load(ROOT_OID).data)).toBe('root');
    });
  });

  describe('revisions', () => {
    // a: v1 @t1, v2 @t3, v3 @t4; b: only @t2 (so a's revisions are not adjacent tids)
    async function threeRevisions() {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await put(s, a!, 'v1');
      const t2 = await put(s, b!, 'b1');
      const t3 = await put(s, a!, 'v2');
      const t4 = await put(s, a!, 'v3');
      return { s, a: a!, b: b!, t1, t2, t3, t4 };
    }

    it('load returns the current revision and its tid', async () => {
      const { s, a, b, t2, t4 } = await threeRevisions();
      expect(s.load(a).tid).toBe(t4);
      expect(valueOf(s.load(a).data)).toBe('v3');
      expect(s.load(b).tid).toBe(t2);
    });

    it('load of an oid never stored throws ObjectNotFoundError naming the oid', async () => {
      const s = await h.create();
      const oid = s.newOid();
      const err = expectThrows(() => s.load(oid), ObjectNotFoundError);
      expect(err.oid).toBe(oid);
    });

    it('loadBefore returns the newest revision strictly before the tid, with the tid that replaced it', async () => {
      const { s, a, t1, t2, t3, t4 } = await threeRevisions();
      const at = (before: typeof t1) => {
        const r = s.loadBefore(a, before);
        return r && { v: valueOf(r.data), tid: r.tid, nextTid: r.nextTid };
      };
      expect(at(t1)).toBeNull(); // strictly before its creation
      expect(at(tidAfter(t1))).toEqual({ v: 'v1', tid: t1, nextTid: t3 });
      expect(at(t2)).toEqual({ v: 'v1', tid: t1, nextTid: t3 }); // another object's tid in between
      expect(at(t3)).toEqual({ v: 'v1', tid: t1, nextTid: t3 });
      expect(at(tidAfter(t3))).toEqual({ v: 'v2', tid: t3, nextTid: t4 });
      expect(at(t4)).toEqual({ v: 'v2', tid: t3, nextTid: t4 });
      expect(at(tidAfter(t4))).toEqual({ v: 'v3', tid: t4, nextTid: null });
      expect(at(tidAfter(tidAfter(t4)))).toEqual({ v: 'v3', tid: t4, nextTid: null });
    });

    it('loadBefore returns null for an object created after the tid', async () => {
      const { s, b, t1, t2 } = await threeRevisions();
      expect(s.loadBefore(b, tidAfter(t1))).toBeNull();
      expect(s.loadBefore(b, t2)).toBeNull();
      expect(s.loadBefore(b, tidBefore(t1))).toBeNull();
    });

    it('loadBefore of an oid never stored throws ObjectNotFoundError', async () => {
      const { s } = await threeRevisions();
      const err = expectThrows(() => s.loadBefore(ROOT_OID, tidAfter(s.lastTransaction())), ObjectNotFoundError);
      expect(err.oid).toBe(ROOT_OID);
    });

    it('loadSerial returns each exact revision', async () => {
      const { s, a, b, t1, t2, t3, t4 } = await threeRevisions();
      expect(valueOf(s.loadSerial(a, t1))).toBe('v1');
      expect(valueOf(s.loadSerial(a, t3))).toBe('v2');
      expect(valueOf(s.loadSerial(a, t4))).toBe('v3');
      expect(valueOf(s.loadSerial(b, t2))).toBe('b1');
    });

    it('loadSerial of a revision that does not exist throws ObjectNotFoundError with oid and tid', async () => {
      const { s, a, b, t1, t2 } = await threeRevisions();
      const err = expectThrows(() => s.loadSerial(a, t2), ObjectNotFoundError); // t2 wrote only b
      expect(err.oid).toBe(a);
      expect(err.tid).toBe(t2);
      expectThrows(() => s.loadSerial(b, t1), ObjectNotFoundError);
      expectThrows(() => s.loadSerial(s.newOid(), t1), ObjectNotFoundError);
    });

    it('stores a 2 MB record and 2000 objects in one transaction', async () => {
      const s = await h.create();
      const big = record('x'.repeat(2 * 1024 * 1024));
      const many = oids(s, 2000);
      const a = s.newOid();
      const tid = await commit(s, [{ oid: a, readTid: null, data: big }, ...many.map((oid, i) => ({ oid, readTid: null, data: record(i) }))]);
      expect(sameBytes(s.load(a).data, big), 'the 2 MB record comes back byte for byte').toBe(true);
      expect(many.every((oid, i) => s.load(oid).tid === tid && valueOf(s.load(oid).data) === i)).toBe(true);
      expect([...s.iterator(tid, tid)][0]?.records).toHaveLength(2001);
    });

    it('writes several objects in one transaction under one tid', async () => {
      const s = await h.create();
      const [a, b, c] = oids(s, 3);
      const tid = await commit(s, [
        { oid: a!, readTid: null, data: record('a') },
        { oid: b!, readTid: null, data: record('b') },
        { oid: c!, readTid: null, data: record('c') },
      ]);
      expect([a, b, c].map((o) => s.load(o!).tid)).toEqual([tid, tid, tid]);
      expect([a, b, c].map((o) => valueOf(s.load(o!).data))).toEqual(['a', 'b', 'c']);
    });
  });
}
