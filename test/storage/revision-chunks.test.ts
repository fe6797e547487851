// LmdbStorage keeps the revisions a commit supersedes in chunks of about 32 KiB (format 3): one
// put per chunk instead of one per object. What must hold whatever the chunking: every old
// revision loads exactly, from any chunk and slot, within the write that moved it too; pack
// removes whole chunks; and no chunk overwrites another.
import fc from 'fast-check';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { LmdbStorage, type Oid, type Tid } from '@tidaldb/core';
import { begin, commit, counterResolver, put, record, valueOf } from '@tidaldb/core/testing';
import { LmdbBackend } from '../../packages/core/src/storage/lmdb/lmdb-backend.ts';
import { openEnvironment } from '../../packages/core/src/storage/lmdb/lmdb-environment.ts';
import { tempDir } from './helpers.ts';

/** The keys of the closed environment's `revisions` database. */
async function chunkKeys(dir: string): Promise<string[]> {
  const env = open({ path: dir, maxDbs: 8, overlappingSync: false });
  const keys = [...env.openDB<Buffer, string>({ name: 'revisions', encoding: 'binary' }).getKeys()] as string[];
  await env.close();
  return keys;
}

const payload = (i: number, round: number, bytes: number): string => `${round}:${i}:`.padEnd(bytes, String.fromCharCode(97 + ((i + round) % 26)));

describe('LmdbStorage revision chunks', () => {
  it('loads every old revision of a commit whose superseded revisions fill several chunks', async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir);
    try {
      const oids = Array.from({ length: 400 }, () => s.newOid());
      const tids: Tid[] = [];
      for (let round = 0; round < 3; round++) {
        tids.push(await commit(s, oids.map((oid, i) => ({ oid, readTid: round === 0 ? null : (tids[round - 1] as Tid), data: record(payload(i, round, 300)) }))));
      }
      for (const [i, oid] of oids.entries()) {
        for (const [round, tid] of tids.entries()) expect(valueOf(s.loadSerial(oid, tid))).toBe(payload(i, round, 300));
        expect(valueOf(s.loadBefore(oid, tids[2] as Tid)?.data as Uint8Array)).toBe(payload(i, 1, 300));
        expect(s.history(oid, 5).map((h) => h.tid)).toEqual([...tids].reverse());
      }
    } finally {
      await s.close();
    }
    // 400 revisions of ~340 bytes superseded twice: several chunks per commit, not one per object.
    const keys = await chunkKeys(dir);
    expect(keys.length).toBeGreaterThan(2);
    expect(keys.length).toBeLessThan(40);
  });

  it('gives a revision larger than a chunk a chunk of its own and loads it back', async () => {
    const s = await LmdbStorage.open(await tempDir());
    try {
      const [small, big] = [s.newOid(), s.newOid()];
      const t1 = await commit(s, [
        { oid: small, readTid: null, data: record('small') },
        { oid: big, readTid: null, data: record('x'.repeat(100_000)) },
      ]);
      await commit(s, [
        { oid: small, readTid: t1, data: record('small 2') },
        { oid: big, readTid: t1, data: record('y'.repeat(100_000)) },
      ]);
      expect(valueOf(s.loadSerial(big, t1))).toBe('x'.repeat(100_000));
      expect(valueOf(s.loadSerial(small, t1))).toBe('small');
    } finally {
      await s.close();
    }
  });

  it('lets a resolver read the old state that a commit of the same group write just moved into a chunk', async () => {
    const s = await LmdbStorage.open(await tempDir());
    try {
      s.setConflictResolver(counterResolver());
      const oid = s.newOid();
      const t0 = await put(s, oid, 10);
      // Both read t0 and commit in one phase together: the second is validated in the same
      // backend write, after the first moved t0's revision out of `current`.
      const txns = [begin(s), begin(s)];
      const flushes = s.stats().flushes;
      const results = await Promise.all(
        [5, 7].map((add, i) => {
          const txn = txns[i] as (typeof txns)[number];
          s.store(txn, oid, t0, record(10 + add));
          return s.tpcCommitOnePhase(txn);
        }),
      );
      expect(s.stats().flushes - flushes).toBe(1);
      expect(results[1]?.resolved).toEqual([oid]);
      expect(valueOf(s.load(oid).data)).toBe(22);
      expect(valueOf(s.loadSerial(oid, t0))).toBe(10);
    } finally {
      await s.close();
    }
  });

  it('packs by removing the chunks superseded at or before the pack tid, counting their revisions', async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir);
    let packTid: Tid;
    try {
      const oids = Array.from({ length: 200 }, () => s.newOid());
      const tids: Tid[] = [];
      for (let round = 0; round < 4; round++) {
        tids.push(await commit(s, oids.map((oid, i) => ({ oid, readTid: tids[round - 1] ?? null, data: record(payload(i, round, 300)) }))));
      }
      packTid = tids[2] as Tid;
      // Each object keeps its revision current at the pack tid and the one after: rounds 0 and 1 go.
      const result = await s.pack(packTid);
      expect(result.revisionsRemoved).toBe(2 * oids.length);
      for (const [i, oid] of oids.entries()) {
        expect(s.history(oid, 10).map((h) => h.tid)).toEqual([tids[3], tids[2]]);
        expect(valueOf(s.loadSerial(oid, tids[2] as Tid))).toBe(payload(i, 2, 300));
      }
    } finally {
      await s.close();
    }
    for (const key of await chunkKeys(dir)) expect(key.slice(0, 16) > packTid).toBe(true);
  });

  it('numbers a tid’s chunks on from those an earlier write stored, never over them', async () => {
    const dir = await tempDir();
    const backend = new LmdbBackend(dir, false, openEnvironment(dir, { readOnly: false }), false);
    try {
      const [a, b] = ['00000000000000a1', '00000000000000b1'] as [Oid, Oid];
      const [t1, t2] = ['0000000000000101', '0000000000000102'] as [Tid, Tid];
      backend.write((w) => {
        w.putRevision(a, t1, record('a1'));
        w.putRevision(b, t1, record('b1'));
      }, 'commit');
      // Two writes supersede revisions at the same tid (commits never do; the chunks must survive it).
      backend.write((w) => w.putRevision(a, t2, record('a2')), 'commit');
      backend.write((w) => w.putRevision(b, t2, record('b2')), 'commit');
      for (const [oid, name] of [[a, 'a'], [b, 'b']] as const) {
        expect(backend.revisionsNewestFirst(oid, 5).map((r) => valueOf(r.data as Uint8Array))).toEqual([`${name}2`, `${name}1`]);
      }
    } finally {
      await backend.close();
    }
    expect(await chunkKeys(dir)).toEqual(['000000000000010200000000', '000000000000010200000001']);
  });

  it('property: whatever the commits and value sizes, every revision loads exactly, and after a pack exactly those it keeps', async () => {
    // A commit writes some of the objects, each a value of 0 to 40 KB: chunks fill, overflow,
    // and hold revisions of every size. The model is the list of (tid, value) per object.
    const commitArb = fc.array(fc.record({ object: fc.nat(5), size: fc.oneof(fc.nat(400), fc.integer({ min: 20_000, max: 40_000 })) }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(fc.array(commitArb, { minLength: 1, maxLength: 8 }), fc.nat(8), async (commits, packAt) => {
        const s = await LmdbStorage.open(await tempDir());
        try {
          const oids = Array.from({ length: 6 }, () => s.newOid());
          const model = new Map<Oid, Array<{ tid: Tid; value: string }>>();
          for (const [n, writes] of commits.entries()) {
            const values = new Map<Oid, string>();
            for (const [i, w] of writes.entries()) values.set(oids[w.object] as Oid, payload(i, n, w.size));
            const tid = await commit(
              s,
              [...values].map(([oid, value]) => ({ oid, readTid: model.get(oid)?.at(-1)?.tid ?? null, data: record(value) })),
            );
            for (const [oid, value] of values) model.set(oid, [...(model.get(oid) ?? []), { tid, value }]);
          }
          const check = (): void => {
            for (const [oid, revisions] of model) {
              expect(s.history(oid, 100).map((h) => h.tid)).toEqual(revisions.map((r) => r.tid).reverse());
              for (const { tid, value } of revisions) expect(valueOf(s.loadSerial(oid, tid))).toBe(value);
            }
          };
          check();
          // Pack at one of the commits: per object, what was current then stays, and all after it.
          const tids = [...new Set([...model.values()].flatMap((revs) => revs.map((r) => r.tid)))].sort();
          const packTid = tids[Math.min(packAt, tids.length - 1)] as Tid;
          const before = [...model.values()].reduce((n, revs) => n + revs.length, 0);
          for (const [oid, revs] of model) {
            const keep = revs.findLastIndex((r) => r.tid <= packTid);
            if (keep > 0) model.set(oid, revs.slice(keep));
          }
          const kept = [...model.values()].reduce((n, revs) => n + revs.length, 0);
          // No root object: pack removes old revisions only.
          expect((await s.pack(packTid)).revisionsRemoved).toBe(before - kept);
          check();
        } finally {
          await s.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
