import { describe, expect, it } from 'vitest';
import { BTREE_CONFLICT_REASONS, BucketConflictError, ConflictError, mergeBucketStates, PersistentRef, type BucketState, type Oid } from '@tidaldb/core';

const ref = (n: number): PersistentRef => new PersistentRef(n.toString(16).padStart(16, '0') as Oid, 'tidal.BTreeBucket');

/** A bucket state from an object of key → value (keys sorted by the caller). */
function b(entries: Record<string, unknown>, next: unknown = ref(9), maxSize?: number): BucketState {
  const keys = Object.keys(entries);
  return { keys, values: keys.map((k) => entries[k]), next, ...(maxSize === undefined ? {} : { maxSize }) };
}

function reasonOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(BucketConflictError.is(err)).toBe(true);
    expect(ConflictError.is(err)).toBe(true);
    return (err as BucketConflictError).reasonNumber;
  }
  throw new Error('expected a BucketConflictError');
}

const old = b({ a: 1, b: 2, c: 3 });

describe('bucket merge (ZODB rules)', () => {
  it('merges changes to different keys: each side keeps its changes', () => {
    const merged = mergeBucketStates(old, b({ a: 10, b: 2, c: 3 }), b({ a: 1, b: 2, c: 30 }));
    expect(merged.keys).toEqual(['a', 'b', 'c']);
    expect(merged.values).toEqual([10, 2, 30]);
  });

  it('merges distinct inserts in key order, also into an empty old bucket', () => {
    expect(mergeBucketStates(old, b({ a: 1, aa: 5, b: 2, c: 3 }), b({ a: 1, b: 2, c: 3, d: 4 })).keys).toEqual(['a', 'aa', 'b', 'c', 'd']);
    expect(mergeBucketStates(b({}), b({ x: 1 }), b({ m: 2, z: 3 })).keys).toEqual(['m', 'x', 'z']);
  });

  it('merges a delete on one side with changes to other keys on the other', () => {
    const merged = mergeBucketStates(old, b({ a: 1, c: 3 }), b({ a: 1, b: 2, c: 30, d: 4 }));
    expect(merged.keys).toEqual(['a', 'c', 'd']);
    expect(merged.values).toEqual([1, 30, 4]);
  });

  it('compares values structurally and references by oid', () => {
    const o = b({ a: { n: [1] }, b: ref(3) });
    const merged = mergeBucketStates(o, b({ a: { n: [1] }, b: ref(3), c: 1 }), b({ a: { n: [2] }, b: ref(3) }));
    expect(merged.values).toEqual([{ n: [2] }, ref(3), 1]);
  });

  it.each([
    ['0: the committed side split the bucket (next changed)', () => mergeBucketStates(old, b({ a: 1 }, ref(10)), b({ a: 1, b: 2, c: 3, d: 4 })), 0],
    ['0: my side split the bucket', () => mergeBucketStates(old, b({ a: 1, b: 2, c: 3, d: 4 }), b({ a: 1, b: 2 }, ref(10))), 0],
    ['1: both changed the same key', () => mergeBucketStates(old, b({ a: 1, b: 20, c: 3 }), b({ a: 1, b: 21, c: 3 })), 1],
    ['1: both changed the same key, even to the same value', () => mergeBucketStates(old, b({ a: 1, b: 20, c: 3 }), b({ a: 1, b: 20, c: 3 })), 1],
    ['2: committed changed a key that I deleted', () => mergeBucketStates(old, b({ a: 1, b: 20, c: 3 }), b({ a: 1, c: 3 })), 2],
    ['3: I changed a key that committed deleted', () => mergeBucketStates(old, b({ a: 1, c: 3 }), b({ a: 1, b: 20, c: 3 })), 3],
    ['4: both inserted the same key', () => mergeBucketStates(old, b({ a: 1, b: 2, bb: 0, c: 3 }), b({ a: 1, b: 2, bb: 0, c: 3 })), 4],
    ['4: both deleted the same key', () => mergeBucketStates(old, b({ a: 1, c: 3 }), b({ a: 1, c: 3 })), 4],
    ['5: both deleted the same key (then diverged)', () => mergeBucketStates(b({ a: 1, b: 2, c: 3, d: 4 }), b({ a: 1, c: 3, d: 4 }), b({ a: 1, d: 4 })), 5],
    ['6: both inserted the same key past the end', () => mergeBucketStates(old, b({ a: 1, b: 2, c: 3, z: 1 }), b({ a: 1, b: 2, c: 3, z: 2 })), 6],
    ['7: I deleted the tail, committed changed it', () => mergeBucketStates(old, b({ a: 1, b: 2, c: 30 }), b({ a: 1, b: 2 })), 7],
    ['8: committed deleted the tail, I changed it', () => mergeBucketStates(old, b({ a: 1, b: 2 }), b({ a: 1, b: 2, c: 30 })), 8],
    ['9: both deleted the tail', () => mergeBucketStates(old, b({ a: 1, b: 2 }), b({ a: 1, b: 2 })), 9],
    ['10: the merge would empty the bucket', () => mergeBucketStates(b({ a: 1, b: 2 }), b({ b: 2 }), b({ a: 1 }), { firstKeyIsSeparator: false }), 10],
    ['12: the committed bucket is empty', () => mergeBucketStates(old, b({}), b({ a: 1, b: 2, c: 3, d: 4 })), 12],
    ['12: my bucket is empty', () => mergeBucketStates(old, b({ a: 1, b: 2, c: 3, d: 4 }), b({})), 12],
    ['13: I deleted the first key', () => mergeBucketStates(old, b({ a: 1, b: 2, c: 30 }), b({ b: 2, c: 3 })), 13],
    ['13: committed deleted the first key', () => mergeBucketStates(old, b({ b: 2, c: 3 }), b({ a: 1, b: 2, c: 30 })), 13],
    ['14: the merge would exceed the maximum size', () => mergeBucketStates(b({ a: 1 }, null, 2), b({ a: 1, b: 2 }, null, 2), b({ a: 1, c: 3 }, null, 2)), 14],
  ])('refuses with reason %s', (_name, fn, reason) => {
    expect(reasonOf(fn)).toBe(reason);
  });

  it('merges a delete of the first key when separators do not depend on it (TidalDB buckets)', () => {
    const merged = mergeBucketStates(old, b({ a: 1, b: 2, c: 30 }), b({ b: 2, c: 3 }), { firstKeyIsSeparator: false });
    expect(merged.keys).toEqual(['b', 'c']);
    expect(merged.values).toEqual([2, 30]);
  });

  it('names the reason and the key in the message', () => {
    expect(() => mergeBucketStates(old, b({ a: 1, b: 20, c: 3 }), b({ a: 1, b: 21, c: 3 }))).toThrow(
      `BTree conflict, reason 1: ${BTREE_CONFLICT_REASONS[1]} (key "b")`,
    );
  });
});
