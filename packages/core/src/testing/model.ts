// Model-based property: after any sequence of committed and aborted transactions over a few
// objects, every read API agrees with a plain list of what was committed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from '../errors.ts';
import { ZERO_TID, tidAfter, type Oid, type Tid } from '../ids.ts';
import type { FullStorage } from '../interfaces.ts';
import { expectThrows, meta, oids, record, serialOf, type Harness } from './harness.ts';

interface Step {
  readonly writes: ReadonlyArray<{ readonly k: number; readonly v: number }>;
  readonly abort: boolean;
}

interface ModelTxn {
  readonly tid: Tid;
  readonly description: string;
  readonly writes: ReadonlyMap<Oid, number>;
}

const step: fc.Arbitrary<Step> = fc.record({
  writes: fc.uniqueArray(fc.record({ k: fc.nat(3), v: fc.integer() }), { minLength: 1, maxLength: 4, selector: (w) => w.k }),
  abort: fc.boolean(),
});

async function apply(s: FullStorage, pool: readonly Oid[], steps: readonly Step[]): Promise<ModelTxn[]> {
  const model: ModelTxn[] = [];
  for (const [i, st] of steps.entries()) {
    const description = `step ${i}`;
    const txn = s.tpcBegin(meta(description, `/ u${i % 3}`, { i }));
    const writes = new Map<Oid, number>();
    for (const { k, v } of st.writes) {
      const oid = pool[k]!;
      writes.set(oid, v);
      s.store(txn, oid, serialOf(s, oid), record(v));
    }
    if (st.abort) {
      await s.tpcAbort(txn);
      continue;
    }
    await s.tpcVote(txn);
    model.push({ tid: await s.tpcFinish(txn), description, writes });
  }
  return model;
}

function check(s: FullStorage, pool: readonly Oid[], model: readonly ModelTxn[]): void {
  expect(s.lastTransaction()).toBe(model.at(-1)?.tid ?? ZERO_TID);
  expect([...s.iterator()].map((t) => ({ tid: t.tid, description: t.description, records: t.records }))).toEqual(
    model.map((t) => ({
      tid: t.tid,
      description: t.description,
      records: [...t.writes.keys()].sort().map((oid) => ({ oid, tid: t.tid, data: record(t.writes.get(oid)) })),
    })),
  );
  for (const oid of pool) {
    const revisions = model.filter((t) => t.writes.has(oid));
    if (revisions.length === 0) {
      expectThrows(() => s.load(oid), ObjectNotFoundError);
      continue;
    }
    const last = revisions.at(-1)!;
    expect(s.load(oid)).toEqual({ tid: last.tid, data: record(last.writes.get(oid)) });
    expect(s.history(oid, 1000).map((e) => e.tid)).toEqual(revisions.map((t) => t.tid).reverse());
    for (const r of revisions) expect(s.loadSerial(oid, r.tid)).toEqual(record(r.writes.get(oid)));
    // As of every transaction of the database (inclusive and exclusive of it).
    for (const t of model) {
      for (const before of [t.tid, tidAfter(t.tid)]) {
        const index = revisions.findLastIndex((r) => r.tid < before);
        const expected =
          index < 0 ? null : { tid: revisions[index]!.tid, data: record(revisions[index]!.writes.get(oid)), nextTid: revisions[index + 1]?.tid ?? null };
        expect(s.loadBefore(oid, before)).toEqual(expected);
      }
    }
  }
  for (const [i, t] of model.entries()) {
    const later = new Set(model.slice(i + 1).flatMap((u) => [...u.writes.keys()]));
    expect(s.poll(t.tid)).toEqual({ lastTid: model.at(-1)!.tid, oids: later });
  }
}

export function modelTests(h: Harness): void {
  describe('against a model', { timeout: 60_000 }, () => {
    it('property: load, loadBefore, loadSerial, history, iterator and poll agree with the committed transactions', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          const s = await h.create();
          try {
            const pool = oids(s, 4);
            check(s, pool, await apply(s, pool, steps));
          } finally {
            await h.close(s);
          }
        }),
        h.fcParams,
      );
    });
  });
}
