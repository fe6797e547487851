// Restart durability (ZODB's PersistentStorage mixin): everything committed is there after closing
// and opening the data again; what was pending is not. Needs `factory.reopen`.
import { describe, expect, it } from 'vitest';
import { referencesOf } from '../codec/record.ts';
import { ObjectNotFoundError } from '../errors.ts';
import { ROOT_OID } from '../ids.ts';
import { begin, commit, expectIncreasing, expectThrows, meta, oids, put, record, valueOf, type Harness } from './harness.ts';

export function durabilityTests(h: Harness): void {
  describe.skipIf(!h.factory.reopen)('restart durability (needs factory.reopen)', () => {
    it('keeps objects, revisions, metadata and the transaction log across a reopen', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      await commit(s, [
        { oid: ROOT_OID, readTid: null, data: record('root', [a!, b!]) },
        { oid: a!, readTid: null, data: record('a1') },
      ]);
      await put(s, a!, 'a2', [], meta('second', '/ frank', { when: 'now', n: [1, 2] }));
      await put(s, b!, { deep: { list: [1, 2, 3] } });
      const before = {
        last: s.lastTransaction(),
        log: [...s.iterator()],
        history: s.history(a!, 10),
      };
      const r = await h.reopen(s);
      expect(r.readOnly).toBe(false);
      expect(r.lastTransaction()).toBe(before.last);
      expect([...r.iterator()]).toEqual(before.log);
      expect(r.history(a!, 10)).toEqual(before.history);
      expect(valueOf(r.load(a!).data)).toBe('a2');
      expect(valueOf(r.load(b!).data)).toEqual({ deep: { list: [1, 2, 3] } });
    });

    it('continues with greater tids and unused oids after a reopen', async () => {
      const s = await h.create();
      const used = oids(s, 20);
      for (const oid of used) await put(s, oid, oid);
      const last = s.lastTransaction();
      const r = await h.reopen(s);
      const fresh = oids(r, 20);
      for (const oid of fresh) expect(used).not.toContain(oid);
      const next = await put(r, used[0]!, 'after reopen');
      expectIncreasing([last, next]);
      expect(r.poll(last).oids).toEqual(new Set([used[0]]));
    });

    it('loses transactions that were pending at close', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await put(s, a!, 'committed');
      const stored = begin(s);
      s.store(stored, b!, null, record('stored only'));
      const voted = begin(s);
      s.store(voted, a!, t1, record('voted only'));
      await s.tpcVote(voted);
      const r = await h.reopen(s);
      expect(r.lastTransaction()).toBe(t1);
      expect(valueOf(r.load(a!).data)).toBe('committed');
      expectThrows(() => r.load(b!), ObjectNotFoundError);
      // the voted transaction's lock did not survive either
      await put(r, a!, 'next');
      expect(valueOf(r.load(a!).data)).toBe('next');
    });

    it('keeps the effects of undo and pack across a reopen', async () => {
      const s = await h.create();
      const a = s.newOid();
      await commit(s, [
        { oid: ROOT_OID, readTid: null, data: record('root', [a]) },
        { oid: a, readTid: null, data: record('a1') },
      ]);
      const t2 = await put(s, a, 'a2');
      const t3 = await put(s, a, 'a3');
      const undone = await s.undo(t3, meta('undo a3'));
      await s.pack(t2, referencesOf);
      const r = await h.reopen(s);
      expect(valueOf(r.load(a).data)).toBe('a2');
      expect(r.load(a).tid).toBe(undone.tid);
      expect(r.history(a, 10).map((e) => e.tid)).toEqual([undone.tid, t3, t2]);
      expect(r.poll(t2).oids).toEqual(new Set([a]));
    });
  });
}
