import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTree, compareKeys, InvalidKeyError, PersistentRef, type BTreeKey, type Oid } from '@tidaldb/core';

const scalar = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.string({ maxLength: 4 }),
  fc.date({ noInvalidDate: true }),
);
const key: fc.Arbitrary<BTreeKey> = fc.oneof(scalar, fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })), { maxLength: 3 }));

describe('key order', () => {
  it('orders numbers and bigints as one numeric domain, the number first when values are equal', () => {
    expect(compareKeys(1, 2n)).toBeLessThan(0);
    expect(compareKeys(2n, 2.5)).toBeLessThan(0);
    expect(compareKeys(1, 1n)).toBeLessThan(0);
    expect(compareKeys(1n, 1)).toBeGreaterThan(0);
    expect(compareKeys(0, -0)).toBe(0);
  });

  it('puts numbers before strings before Dates before arrays', () => {
    const sorted: BTreeKey[] = [[], new Date(0), 'a', 1e9, ['a', 1], ''];
    sorted.sort(compareKeys);
    expect(sorted).toEqual([1e9, '', 'a', new Date(0), [], ['a', 1]]);
  });

  it('compares strings by code units and arrays element by element, a prefix first', () => {
    expect(compareKeys('B', 'a')).toBeLessThan(0);
    expect(compareKeys(['a'], ['a', 1])).toBeLessThan(0);
    expect(compareKeys(['a', 2], ['b'])).toBeLessThan(0);
    expect(compareKeys(['user', 42], ['user', 'x'])).toBeLessThan(0);
  });

  it('is a total order: antisymmetric, and sorting agrees with every pairwise comparison', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 12 }), (keys) => {
        for (const a of keys) for (const b of keys) expect(Math.sign(compareKeys(a, b))).toBe(-Math.sign(compareKeys(b, a)) || 0);
        const sorted = [...keys].sort(compareKeys);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) expect(compareKeys(sorted[i], sorted[j])).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it.each([
    ['NaN', NaN],
    ['an invalid Date', new Date(Number.NaN)],
    ['a boolean', true],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { a: 1 }],
    ['a bigint wider than 64 bits', 1n << 70n],
    ['an array holding null', ['a', null]],
  ])('refuses %s as a key with InvalidKeyError and leaves the tree unchanged', (_name, bad) => {
    const tree = new BTree<BTreeKey, number>([['a', 1]]);
    expect(() => tree.set(bad as BTreeKey, 2)).toThrow(InvalidKeyError);
    expect([...tree]).toEqual([['a', 1]]);
  });

  it('refuses to compare persistent references, naming them', () => {
    const ref = new PersistentRef('0000000000000007' as Oid, 'app.Thing');
    expect(() => compareKeys(ref, 'a')).toThrow(/persistent references cannot be compared as keys/);
    expect(() => compareKeys(ref, ref)).toThrow(InvalidKeyError);
  });

  it('stores a copy of Date and array keys, so mutating the caller\'s key later does not reorder the tree', () => {
    const d = new Date(1000);
    const arr: (string | number)[] = ['x', 1];
    const tree = new BTree<BTreeKey, string>();
    tree.set(d, 'date').set(arr, 'array');
    d.setTime(0);
    arr[1] = 99;
    expect(tree.get(new Date(1000))).toBe('date');
    expect(tree.get(['x', 1])).toBe('array');
    expect(tree.get(['x', 99])).toBeUndefined();
  });
});
