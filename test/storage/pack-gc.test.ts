// Pack runs in bounded batches so commits continue meanwhile; a commit that lands during the pack
// and makes an unreachable object reachable again keeps that object alive.
import { describe, expect, it } from 'vitest';
import { DanglingReferenceError, LmdbStorage, MemoryStorage, ROOT_OID, oidFromBigInt, referencesOf, type Oid } from '@tidaldb/core';
import { commit, put, record, serialOf, valueOf } from '@tidaldb/core/testing';
import { drainEventLoop, settle, tempDir } from './helpers.ts';

const makers: Array<[string, () => Promise<LmdbStorage | MemoryStorage>]> = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['LmdbStorage', async () => LmdbStorage.open(await tempDir())],
];

describe.each(makers)('pack of %s', (_name, make) => {
  it('never lets a commit during the pack leave a reference to an object the pack removed', async () => {
    // A commit links an unreachable object to the root again, started after 0, 1, 2, … event-loop
    // turns of the pack, so across the runs it lands in every phase. Either it lands before the
    // object is swept (the object is kept) or after (the vote fails with DanglingReferenceError
    // and writes nothing) — never a commit that refers to a removed object.
    const outcomes = new Set<string>();
    const turnsLog: string[] = [];
    for (let turns = 0; turns <= 16; turns++) {
      const s = await make();
      try {
        // Enough objects for several batches, all reachable; one more (sorting last) unreachable.
        const kept = Array.from({ length: 700 }, () => s.newOid());
        const orphan = oidFromBigInt(10_000_000n);
        await commit(s, [
          ...kept.map((oid) => ({ oid, readTid: null, data: record(oid) })),
          { oid: orphan, readTid: null, data: record('orphan') },
        ]);
        const packTid = await commit(s, [{ oid: ROOT_OID, readTid: null, data: record('root', kept) }]);
        let packDone = false;
        const packing = settle(s.pack(packTid, referencesOf)).finally(() => (packDone = true));
        await drainEventLoop(turns);
        if (packDone) {
          // The pack is over: references are not checked any more (as in ZODB, a storage does
          // not check them outside a pack), and the object is gone.
          outcomes.add('after');
          turnsLog.push(`${turns}:after`);
          expect(serialOf(s, orphan)).toBeNull();
          break;
        }
        const relink = await settle(put(s, ROOT_OID, 'root again', [...kept, orphan]));
        const packed = await packing;
        if (!packed.ok) throw packed.error;
        if (relink.ok) {
          outcomes.add('kept');
          turnsLog.push(`${turns}:kept`);
          expect(serialOf(s, orphan), `orphan after relinking ${turns} turns into the pack`).not.toBeNull();
          expect(valueOf(s.load(orphan).data)).toBe('orphan');
        } else {
          outcomes.add('refused');
          turnsLog.push(`${turns}:refused`);
          expect(DanglingReferenceError.is(relink.error)).toBe(true);
          expect(relink.error).toMatchObject({ oid: ROOT_OID, missing: orphan });
          expect(serialOf(s, orphan)).toBeNull();
          expect(valueOf(s.load(ROOT_OID).data)).toBe('root');
        }
        for (const oid of kept.slice(0, 5)) expect(serialOf(s, oid)).not.toBeNull();
      } finally {
        await s.close();
      }
    }
    // The runs covered both sides of the sweep, not only the easy one.
    expect(outcomes, turnsLog.join(' ')).toEqual(new Set(['kept', 'refused', 'after']));
  });

  it('removes unreachable objects spread over several batches, and only those', async () => {
    const s = await make();
    try {
      const all: Oid[] = Array.from({ length: 600 }, () => s.newOid());
      const reachable = all.filter((_, i) => i % 3 === 0);
      await commit(s, all.map((oid) => ({ oid, readTid: null, data: record(oid) })));
      const packTid = await commit(s, [{ oid: ROOT_OID, readTid: null, data: record('root', reachable) }]);
      const result = await s.pack(packTid, referencesOf);
      expect(result.objectsRemoved).toBe(all.length - reachable.length);
      for (const [i, oid] of all.entries()) expect(serialOf(s, oid) !== null).toBe(i % 3 === 0);
      // The first transaction keeps the records of the survivors only.
      const [first] = [...s.iterator()];
      expect(first?.records).toHaveLength(reachable.length);
    } finally {
      await s.close();
    }
  });
});
