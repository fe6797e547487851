// Read-only mode (ZODB's ReadOnlyStorage mixin): every write operation throws ReadOnlyError, every
// read works on the data committed before. Needs `factory.reopen`.
import { describe, expect, it } from 'vitest';
import { referencesOf } from '../codec/record.ts';
import { ReadOnlyError } from '../errors.ts';
import { ROOT_OID, ZERO_TID, tidAfter } from '../ids.ts';
import { counterResolver } from './conflict-resolution.ts';
import { commit, expectRejects, expectThrows, meta, put, record, valueOf, type Harness } from './harness.ts';

export function readOnlyTests(h: Harness): void {
  describe.skipIf(!h.factory.reopen)('read-only mode (needs factory.reopen)', () => {
    async function readOnlyCopy() {
      const w = await h.create();
      const a = w.newOid();
      const t1 = await commit(w, [
        { oid: ROOT_OID, readTid: null, data: record('root', [a]) },
        { oid: a, readTid: null, data: record('v1') },
      ]);
      const t2 = await put(w, a, 'v2', [], meta('second', '/ eve', { k: 1 }));
      const ro = await h.reopen(w, true);
      return { ro, a, t1, t2 };
    }

    it('reports readOnly and throws ReadOnlyError from newOid, tpcBegin, undo and pack', async () => {
      const { ro, t1, t2 } = await readOnlyCopy();
      expect(ro.readOnly).toBe(true);
      expect(ro.closed).toBe(false);
      expectThrows(() => ro.newOid(), ReadOnlyError);
      expectThrows(() => ro.tpcBegin(meta()), ReadOnlyError);
      await expectRejects(ro.undo(t2, meta()), ReadOnlyError);
      await expectRejects(ro.pack(t2, referencesOf), ReadOnlyError);
      expect(ro.lastTransaction()).toBe(t2);
      expect(ro.history(ROOT_OID, 10).map((e) => e.tid)).toEqual([t1]);
    });

    it('serves every read of the data committed before', async () => {
      const { ro, a, t1, t2 } = await readOnlyCopy();
      expect(valueOf(ro.load(a).data)).toBe('v2');
      expect(ro.load(a).tid).toBe(t2);
      expect(valueOf(ro.loadBefore(a, t2)!.data)).toBe('v1');
      expect(ro.loadBefore(a, t2)!.nextTid).toBe(t2);
      expect(valueOf(ro.loadSerial(a, t1))).toBe('v1');
      expect(ro.history(a, 10).map((e) => [e.tid, e.user, e.description])).toEqual([
        [t2, '/ eve', 'second'],
        [t1, '/ tester', 'test'],
      ]);
      expect([...ro.iterator()].map((t) => t.tid)).toEqual([t1, t2]);
      expect(ro.poll(t1)).toEqual({ lastTid: t2, oids: new Set([a]) });
      expect(ro.loadBefore(a, tidAfter(t2))!.nextTid).toBeNull();
    });

    it('accepts a conflict resolver (a DB installs one at open) and a sortKey', async () => {
      const { ro } = await readOnlyCopy();
      ro.setConflictResolver(counterResolver());
      expect(typeof ro.sortKey()).toBe('string');
    });

    it('opens an empty database read-only after it was created', async () => {
      const w = await h.create();
      const ro = await h.reopen(w, true);
      expect(ro.lastTransaction()).toBe(ZERO_TID);
      expect([...ro.iterator()]).toEqual([]);
    });
  });
}
