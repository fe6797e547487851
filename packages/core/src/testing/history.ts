// history() (ZODB's HistoryStorage mixin): revisions newest first with their transactions' metadata.
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from '../errors.ts';
import { tidToDate } from '../ids.ts';
import { expectThrows, meta, oids, put, record, type Harness } from './harness.ts';

export function historyTests(h: Harness): void {
  describe('history', () => {
    it('lists revisions newest first with tid, time, user, description, extension and size', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await put(s, a!, 'one', [], meta('create', '/ alice', { ticket: 7 }));
      await put(s, b!, 'other object', [], meta('unrelated'));
      const t2 = await put(s, a!, 'two!', [], meta('update', '/ bob', { nested: { ok: true } }));
      const t3 = await put(s, a!, ['three', 3], [], meta('again', '/ alice'));
      const entries = s.history(a!, 10);
      expect(entries.map((e) => e.tid)).toEqual([t3, t2, t1]);
      expect(entries.map((e) => [e.user, e.description, e.extension])).toEqual([
        ['/ alice', 'again', {}],
        ['/ bob', 'update', { nested: { ok: true } }],
        ['/ alice', 'create', { ticket: 7 }],
      ]);
      expect(entries.map((e) => e.size)).toEqual([record(['three', 3]).length, record('two!').length, record('one').length]);
      for (const e of entries) expect(e.time.getTime()).toBe(tidToDate(e.tid).getTime());
    });

    it('keeps any text and any codec value in the metadata', async () => {
      const s = await h.create();
      const a = s.newOid();
      const extension = { when: new Date(1_700_000_000_123), big: 2n ** 60n, bytes: new Uint8Array([0, 255]), tags: new Set(['x']), none: null };
      const t1 = await put(s, a, 1, [], meta('línea 1\nline 2 🌊', '/ zoë', extension));
      const [entry] = s.history(a, 1);
      expect([entry?.user, entry?.description, entry?.extension]).toEqual(['/ zoë', 'línea 1\nline 2 🌊', extension]);
      expect([...s.iterator(t1, t1)][0]?.extension).toEqual(extension);
    });

    it('returns at most `size` entries, the newest ones', async () => {
      const s = await h.create();
      const a = s.newOid();
      const tids = [];
      for (let i = 0; i < 5; i++) tids.push(await put(s, a, i));
      expect(s.history(a, 2).map((e) => e.tid)).toEqual([tids[4], tids[3]]);
      expect(s.history(a, 1).map((e) => e.tid)).toEqual([tids[4]]);
      expect(s.history(a, 100)).toHaveLength(5);
    });

    it('without a size returns at least the current revision first', async () => {
      const s = await h.create();
      const a = s.newOid();
      await put(s, a, 1);
      const t2 = await put(s, a, 2);
      expect(s.history(a)[0]?.tid).toBe(t2);
    });

    it('throws ObjectNotFoundError for an oid never stored', async () => {
      const s = await h.create();
      const oid = s.newOid();
      await put(s, s.newOid(), 'x');
      expect(expectThrows(() => s.history(oid), ObjectNotFoundError).oid).toBe(oid);
    });
  });
}
