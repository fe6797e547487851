// Group commit: finishes requested together share one backend write (one durable flush for
// LmdbStorage), and still get one tid each, in request order.
import { describe, expect, it } from 'vitest';
import { LmdbStorage, MemoryStorage, type Oid, type Tid } from '@tidaldb/core';
import { record, valueOf } from '@tidaldb/core/testing';
import { begin, expectIncreasing, tempDir } from './helpers.ts';

type Made = LmdbStorage | MemoryStorage;
const makers: Array<[string, () => Promise<Made>]> = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['LmdbStorage', async () => LmdbStorage.open(await tempDir())],
];

describe.each(makers)('group commit in %s', (_name, make) => {
  it('writes 16 concurrent commits with fewer durable flushes than commits, each with its own tid', async () => {
    const s = await make();
    try {
      const oids = Array.from({ length: 16 }, () => s.newOid());
      const before = s.stats();
      const tids = await Promise.all(
        oids.map(async (oid, i) => {
          const txn = begin(s, `writer ${i}`);
          s.store(txn, oid, null, record(i));
          await s.tpcVote(txn);
          return s.tpcFinish(txn);
        }),
      );
      const after = s.stats();
      expect(after.commits - before.commits).toBe(16);
      expect(after.flushes - before.flushes).toBeLessThan(16);
      expect(new Set(tids).size).toBe(16);
      // Finishes were requested in array order, so tids follow it.
      expectIncreasing(tids);
      oids.forEach((oid, i) => {
        expect(s.load(oid).tid).toBe(tids[i]);
        expect(valueOf(s.load(oid).data)).toBe(i);
      });
      expect([...s.iterator()].map((t) => t.description)).toEqual(oids.map((_, i) => `writer ${i}`));
    } finally {
      await s.close();
    }
  });

  it('lets finishes requested while a batch is being written join the next batch', async () => {
    const s = await make();
    try {
      const oids = Array.from({ length: 8 }, () => s.newOid());
      const serials = new Map<Oid, Tid | null>();
      // Eight committers in a loop: each starts its next commit as soon as its finish resolves.
      const rounds = 5;
      const before = s.stats();
      await Promise.all(
        oids.map(async (oid) => {
          for (let r = 0; r < rounds; r++) {
            const txn = begin(s);
            s.store(txn, oid, serials.get(oid) ?? null, record(r));
            await s.tpcVote(txn);
            serials.set(oid, await s.tpcFinish(txn));
          }
        }),
      );
      const after = s.stats();
      expect(after.commits - before.commits).toBe(8 * rounds);
      expect(after.flushes - before.flushes).toBeLessThan(8 * rounds);
      for (const oid of oids) expect(valueOf(s.load(oid).data)).toBe(rounds - 1);
    } finally {
      await s.close();
    }
  });

  it('commits the transactions finishing together when another one fails its vote alongside them', async () => {
    const s = await make();
    try {
      const [a, b, c] = [s.newOid(), s.newOid(), s.newOid()];
      const t0 = begin(s);
      s.store(t0, c, null, record('exists'));
      await s.tpcVote(t0);
      const tc = await s.tpcFinish(t0);
      const good = [a, b].map((oid) => {
        const txn = begin(s);
        s.store(txn, oid, null, record(oid));
        return txn;
      });
      const bad = begin(s);
      s.store(bad, c, null, record('duplicate'));
      const results = await Promise.allSettled([
        ...good.map(async (txn) => {
          await s.tpcVote(txn);
          return s.tpcFinish(txn);
        }),
        s.tpcVote(bad),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      await s.tpcAbort(bad);
      expect(valueOf(s.load(a).data)).toBe(a);
      expect(valueOf(s.load(b).data)).toBe(b);
      expect(s.load(c).tid).toBe(tc);
    } finally {
      await s.close();
    }
  });
});
