import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTree, compareKeys, InvalidOptionError, type KeyRange } from '@tidaldb/core';

type Op = { kind: 'set'; key: number; value: string } | { kind: 'delete'; key: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 120 }), value: fc.string({ maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 120 }) }) },
);

const range: fc.Arbitrary<KeyRange<number>> = fc.record(
  {
    min: fc.integer({ min: -5, max: 125 }),
    max: fc.integer({ min: -5, max: 125 }),
    excludeMin: fc.boolean(),
    excludeMax: fc.boolean(),
    reverse: fc.boolean(),
  },
  { requiredKeys: [] },
);

function inRange(k: number, r: KeyRange<number>): boolean {
  if (r.min !== undefined && (k < r.min || (r.excludeMin && k === r.min))) return false;
  if (r.max !== undefined && (k > r.max || (r.excludeMax && k === r.max))) return false;
  return true;
}

describe('BTree against a sorted-map model', () => {
  it('agrees with the model after any sequence of sets and deletes, and check() passes throughout', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 5 }), (ops, bucket, node) => {
        const tree = new BTree<number, string>(null, { maxBucketSize: bucket, maxNodeSize: node });
        const model = new Map<number, string>();
        for (const o of ops) {
          if (o.kind === 'set') {
            tree.set(o.key, o.value);
            model.set(o.key, o.value);
          } else {
            expect(tree.delete(o.key)).toBe(model.delete(o.key));
          }
          tree.check();
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0]);
        expect([...tree]).toEqual(sorted);
        expect(tree.size).toBe(model.size);
        expect(tree.minKey()).toBe(sorted[0]?.[0]);
        expect(tree.maxKey()).toBe(sorted.at(-1)?.[0]);
        for (let k = -1; k <= 121; k += 7) {
          expect(tree.get(k)).toBe(model.get(k));
          expect(tree.has(k)).toBe(model.has(k));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('answers range queries like filtering the sorted model, in both directions', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 80, size: 'max' }), range, (keys, r) => {
        const tree = new BTree<number, number>(keys.map((k) => [k, k * 2]), { maxBucketSize: 3, maxNodeSize: 3 });
        let expected = [...keys].sort((a, b) => a - b).filter((k) => inRange(k, r));
        if (r.reverse) expected = expected.reverse();
        expect([...tree.keys(r)]).toEqual(expected);
        expect([...tree.values(r)]).toEqual(expected.map((k) => k * 2));
        const { reverse: _ignored, ...bounds } = r;
        expect(tree.minKey(bounds)).toBe(r.reverse ? expected.at(-1) : expected[0]);
        expect(tree.maxKey(bounds)).toBe(r.reverse ? expected[0] : expected.at(-1));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps mixed key types in the total order', () => {
    const tree = new BTree<string | number | Date | (string | number)[], number>(null, { maxBucketSize: 2, maxNodeSize: 2 });
    const keys = ['b', 3, new Date(5), ['a', 2], 'a', 1, ['a'], new Date(1)];
    keys.forEach((k, i) => tree.set(k, i));
    tree.check();
    expect([...tree.keys()]).toEqual([...keys].sort(compareKeys));
  });

  it('shrinks back to a single bucket when emptied, and empty trees answer without errors', () => {
    const tree = new BTree<number, number>(null, { maxBucketSize: 2, maxNodeSize: 2 });
    for (let i = 0; i < 50; i++) tree.set(i, i);
    for (let i = 0; i < 50; i++) tree.delete(i);
    tree.check();
    expect(tree.size).toBe(0);
    expect(tree.isEmpty).toBe(true);
    expect(tree.minKey()).toBeUndefined();
    expect([...tree.entries({ reverse: true })]).toEqual([]);
    expect(tree.top.keys).toEqual([]);
  });

  it('refuses bucket and node sizes below 2', () => {
    expect(() => new BTree(null, { maxBucketSize: 1 })).toThrow(InvalidOptionError);
    expect(() => new BTree(null, { maxNodeSize: 1.5 })).toThrow(InvalidOptionError);
  });
});
