import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTreeBucket, Counter, mergeBucketStates, type BucketState, type CounterState } from '@tidaldb/core';
import { checkResolver, MUST_REFUSE } from '@tidaldb/core/testing';

const counterCheck = {
  initial: fc.integer({ min: -1000, max: 1000 }).map((value): CounterState => ({ value })),
  operation: fc.integer({ min: -5, max: 5 }),
  apply: (s: CounterState, n: number): CounterState => ({ value: s.value + n }),
};

type BucketOp = { set: string; value: number } | { delete: string };
const letter = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');

const bucketCheck = {
  initial: fc.uniqueArray(letter, { maxLength: 6 }).chain((keys) =>
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: keys.length, maxLength: keys.length }).map(
      (values): BucketState => {
        const sorted = [...keys].sort();
        return { keys: sorted, values: sorted.map((_, i) => values[i]), next: null };
      },
    ),
  ),
  operation: fc.oneof(fc.record({ set: letter, value: fc.integer({ min: 0, max: 3 }) }), fc.record({ delete: letter })) as fc.Arbitrary<BucketOp>,
  apply(s: BucketState, op: BucketOp): BucketState {
    const entries = new Map(s.keys.map((k, i) => [k as string, s.values[i]]));
    if ('set' in op) entries.set(op.set, op.value);
    else entries.delete(op.delete);
    const keys = [...entries.keys()].sort();
    return { ...s, keys, values: keys.map((k) => entries.get(k)) };
  },
};

/** Keys whose presence or value differs between two bucket states. */
function changed(a: BucketState, b: BucketState): Set<unknown> {
  const ma = new Map(a.keys.map((k, i) => [k, a.values[i]]));
  const mb = new Map(b.keys.map((k, i) => [k, b.values[i]]));
  const out = new Set<unknown>();
  for (const k of new Set([...ma.keys(), ...mb.keys()])) if (!mb.has(k) || !ma.has(k) || !isDeepStrictEqual(ma.get(k), mb.get(k))) out.add(k);
  return out;
}

/**
 * ZODB's bucket merge as a specification: key by key, a key changed by one side takes that
 * side's value; a key changed by both sides (even identically), an emptied bucket on either side
 * or an empty result must be refused.
 */
function bucketMerge(old: BucketState, committed: BucketState, mine: BucketState): BucketState | typeof MUST_REFUSE {
  if (committed.keys.length === 0 || mine.keys.length === 0) return MUST_REFUSE;
  const theirs = changed(old, committed);
  const ours = changed(old, mine);
  if ([...ours].some((k) => theirs.has(k))) return MUST_REFUSE;
  const merged = new Map(committed.keys.map((k, i) => [k, committed.values[i]]));
  for (const k of ours) {
    const i = mine.keys.indexOf(k);
    if (i < 0) merged.delete(k);
    else merged.set(k, mine.values[i]);
  }
  if (merged.size === 0) return MUST_REFUSE;
  const keys = [...merged.keys()].sort();
  return { ...mine, keys, values: keys.map((k) => merged.get(k)) };
}

describe('checkResolver', () => {
  it('passes Counter: concurrent increments add up in either order', () => {
    checkResolver({ Class: Counter, ...counterCheck });
  });

  it('passes BTreeBucket: it merges key by key and refuses exactly in ZODB\'s documented cases', () => {
    checkResolver({ Class: BTreeBucket, ...bucketCheck, expected: bucketMerge, numRuns: 500 });
  });

  it('passes the bucket merge with ZODB\'s first-key rule when that case is documented too', () => {
    checkResolver({
      resolve: (o: BucketState, c: BucketState, m: BucketState) => mergeBucketStates(o, c, m),
      ...bucketCheck,
      expected: bucketMerge,
      // Reason 13: a side whose first key changed may have deleted the old first key.
      mayRefuse: (old, _oc, _om, c, m) => old.keys.length > 0 && (c.keys[0] !== old.keys[0] || m.keys[0] !== old.keys[0]),
      numRuns: 300,
    });
  });

  it('catches a last-writer-wins counter: it loses increments', () => {
    expect(() => checkResolver({ resolve: (_o: CounterState, _c: CounterState, m: CounterState) => m, ...counterCheck })).toThrow(/merged .*expected/);
  });

  it('catches a bucket merge that takes one side when both changed the same key', () => {
    const greedy = (o: BucketState, c: BucketState, m: BucketState): BucketState => {
      const entries = new Map(c.keys.map((k, i) => [k, c.values[i]]));
      for (const k of changed(o, m)) {
        const i = m.keys.indexOf(k);
        if (i < 0) entries.delete(k);
        else entries.set(k, m.values[i]);
      }
      const keys = [...entries.keys()].sort();
      return { ...m, keys, values: keys.map((k) => entries.get(k)) };
    };
    expect(() => checkResolver({ resolve: greedy, ...bucketCheck, expected: bucketMerge })).toThrow(/merged where it must refuse/);
  });

  it('catches refusals that are not documented', () => {
    const refuser = (): never => {
      throw new Error('no');
    };
    expect(() => checkResolver({ resolve: refuser, ...counterCheck })).toThrow(/refused a merge it is documented to make/);
  });

  it('catches a resolver that is not deterministic', () => {
    let calls = 0;
    const flaky = (o: CounterState, c: CounterState, m: CounterState): CounterState => ({ value: c.value + m.value - o.value + (calls++ % 2) });
    expect(() => checkResolver({ resolve: flaky, ...counterCheck })).toThrow(/not deterministic/);
  });

  it('catches a merged state that cannot be stored', () => {
    const unstorable = (o: CounterState, c: CounterState, m: CounterState): unknown => ({ value: c.value + m.value - o.value, fn: () => 1 });
    expect(() => checkResolver({ resolve: unstorable as never, ...counterCheck })).toThrow(/cannot be stored/);
  });

  it('checks an expected function, where MUST_REFUSE marks inputs the resolver has to refuse', () => {
    const maxWins = {
      initial: fc.integer({ min: 0, max: 9 }).map((value) => ({ value })),
      operation: fc.integer({ min: 0, max: 9 }),
      apply: (_s: { value: number }, n: number) => ({ value: n }),
    };
    const resolve = (_o: { value: number }, c: { value: number }, m: { value: number }) => ({ value: Math.max(c.value, m.value) });
    checkResolver({ resolve, ...maxWins, expected: (_o, c, m) => ({ value: Math.max(c.value, m.value) }) });
    expect(() =>
      checkResolver({ resolve, ...maxWins, expected: (_o, c, m) => (c.value === m.value ? MUST_REFUSE : { value: Math.max(c.value, m.value) }) }),
    ).toThrow(/merged where it must refuse/);
  });
});
