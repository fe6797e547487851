// pack() (ZODB's PackableStorage mixin): revisions not current at the pack tid go, current and
// later ones stay, objects unreachable from the root through what remains are collected.
import { describe, expect, it } from 'vitest';
import { referencesOf } from '../codec/record.ts';
import { ObjectNotFoundError, UndoError } from '../errors.ts';
import { ROOT_OID, tidAfter, type Oid } from '../ids.ts';
import { commit, expectRejects, expectThrows, meta, oids, put, record, settle, valueOf, type Harness } from './harness.ts';

export function packTests(h: Harness): void {
  describe('pack', () => {
    // root → a; a rewritten at t2, t3, t4; pack at t3.
    async function revisionsOfOne() {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await commit(s, [
        { oid: ROOT_OID, readTid: null, data: record('root', [a]) },
        { oid: a, readTid: null, data: record('a1') },
      ]);
      const t2 = await put(s, a, 'a2');
      const t3 = await put(s, a, 'a3');
      const t4 = await put(s, a, 'a4');
      return { s, a, t1, t2, t3, t4 };
    }

    it('drops the revisions not current at the pack tid and the transactions left empty', async () => {
      const { s, a, t1, t3, t4 } = await revisionsOfOne();
      const result = await s.pack(t3, referencesOf);
      expect(result).toEqual({ revisionsRemoved: 2, objectsRemoved: 0, transactionsRemoved: 1 });
      expect(s.history(a, 10).map((e) => e.tid)).toEqual([t4, t3]);
      expect([...s.iterator()].map((t) => [t.tid, t.records.map((r) => r.oid)])).toEqual([
        [t1, [ROOT_OID]],
        [t3, [a]],
        [t4, [a]],
      ]);
    });

    it('keeps the revision current at the pack tid, the ones after it, and loads through them', async () => {
      const { s, a, t1, t2, t3, t4 } = await revisionsOfOne();
      await s.pack(t3, referencesOf);
      expect(valueOf(s.load(a).data)).toBe('a4');
      expect(valueOf(s.loadSerial(a, t3))).toBe('a3');
      expect(valueOf(s.loadSerial(a, t4))).toBe('a4');
      const asOfT3 = s.loadBefore(a, tidAfter(t3))!;
      expect([valueOf(asOfT3.data), asOfT3.tid, asOfT3.nextTid]).toEqual(['a3', t3, t4]);
      expect(valueOf(s.load(ROOT_OID).data)).toBe('root');
      expect(s.load(ROOT_OID).tid).toBe(t1);
      // packed revisions are gone
      expectThrows(() => s.loadSerial(a, t1), ObjectNotFoundError);
      expectThrows(() => s.loadSerial(a, t2), ObjectNotFoundError);
      expect(s.loadBefore(a, t2)).toBeNull();
      expect(s.loadBefore(a, t3)).toBeNull();
    });

    it('makes undo of a packed transaction fail with UndoError', async () => {
      const { s, t2 } = await revisionsOfOne();
      await s.pack(s.lastTransaction(), referencesOf);
      const err = await expectRejects(s.undo(t2, meta('undo')), UndoError);
      expect(err.tid).toBe(t2);
    });

    it('makes poll from before the pack tid report oids: null, and poll from after it exact', async () => {
      const { s, a, t1, t2, t3, t4 } = await revisionsOfOne();
      await s.pack(t3, referencesOf);
      expect(s.poll(t1)).toEqual({ lastTid: t4, oids: null });
      expect(s.poll(t2).oids).toBeNull();
      expect(s.poll(t3)).toEqual({ lastTid: t4, oids: new Set([a]) });
      expect(s.poll(t4)).toEqual({ lastTid: t4, oids: new Set() });
    });

    it('does nothing more when repeated with the same tid', async () => {
      const { s, t3 } = await revisionsOfOne();
      await s.pack(t3, referencesOf);
      const before = [...s.iterator()];
      expect(await s.pack(t3, referencesOf)).toEqual({ revisionsRemoved: 0, objectsRemoved: 0, transactionsRemoved: 0 });
      expect([...s.iterator()]).toEqual(before);
    });

    it('collects, in one pass, every unreachable object a two-phase commit created (their released lock entries do not hold it up)', async () => {
      const s = await h.create();
      const many = oids(s, 600);
      await commit(s, [{ oid: ROOT_OID, readTid: null, data: record('root') }, ...many.map((oid) => ({ oid, readTid: null, data: record(oid) }))]);
      const result = await s.pack(s.lastTransaction(), referencesOf);
      expect(result.objectsRemoved).toBe(600);
      for (const oid of [many[0]!, many[299]!, many[599]!]) expectThrows(() => s.load(oid), ObjectNotFoundError);
    });

    it('collects objects unreachable from the root at the pack tid, keeping reachable ones and later revisions', async () => {
      const s = await h.create();
      const [a, b, e, f, g, hh, d] = oids(s, 7) as [Oid, Oid, Oid, Oid, Oid, Oid, Oid];
      // t1: root → a, b, h; a → e; f ⇄ g (a cycle nothing reaches)
      const t1 = await commit(s, [
        { oid: ROOT_OID, readTid: null, data: record('root', [a, b, hh]) },
        { oid: a, readTid: null, data: record('a0', [e]) },
        { oid: b, readTid: null, data: record('b') },
        { oid: e, readTid: null, data: record('e') },
        { oid: f, readTid: null, data: record('f', [g]) },
        { oid: g, readTid: null, data: record('g', [f]) },
        { oid: hh, readTid: null, data: record('h') },
      ]);
      await put(s, a, 'a1', [e]);
      const t3 = await put(s, ROOT_OID, 'root', [a]); // b and h no longer reachable at t3
      // After the pack tid: h referenced again, d new and referenced by nothing.
      const t4 = await commit(s, [
        { oid: a, readTid: s.load(a).tid, data: record('a2', [e, hh]) },
        { oid: d, readTid: null, data: record('d') },
      ]);
      const result = await s.pack(t3, referencesOf);
      expect(result.objectsRemoved).toBe(3);
      for (const gone of [b, f, g]) expectThrows(() => s.load(gone), ObjectNotFoundError);
      for (const kept of [ROOT_OID, a, e, hh, d]) expect(() => s.load(kept)).not.toThrow();
      expect(s.load(a).tid).toBe(t4);
      expect(valueOf(s.load(hh).data)).toBe('h');
      const records = new Map([...s.iterator()].map((t) => [t.tid, t.records.map((r) => r.oid).sort()]));
      expect(records.get(t1)).toEqual([e, hh].sort());
      expect(records.get(t4)).toEqual([a, d].sort());
    });

    it('keeps commits made while the pack runs, even of objects nothing references', async () => {
      const { s, a, t3 } = await revisionsOfOne();
      const fresh = oids(s, 5);
      const packing = settle(s.pack(t3, referencesOf));
      const tids = await Promise.all([put(s, a, 'during'), ...fresh.map((oid) => put(s, oid, `new ${oid}`))]);
      const packed = await packing;
      if (!packed.ok) throw packed.error;
      expect(valueOf(s.load(a).data)).toBe('during');
      for (const oid of fresh) expect(valueOf(s.load(oid).data)).toBe(`new ${oid}`);
      const logged = new Set([...s.iterator()].map((t) => t.tid));
      for (const tid of tids) expect(logged.has(tid)).toBe(true);
    });
  });
}
