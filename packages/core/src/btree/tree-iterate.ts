/**
 * Range iteration. Forward iteration finds the first bucket by descent and then follows `next`
 * (internal nodes are not loaded again); reverse iteration keeps the descent path and steps back
 * through it, since buckets link forward only.
 *
 * Entries are read live from the buckets: changing the tree while iterating it is not supported
 * (collect the keys first, as with ZODB's BTrees).
 */
import { compareKeys, lowerBound, normalizeKey, upperBound, type BTreeKey } from './key-order.ts';
import { edgeBucket, findBucket } from './tree-ops.ts';
import type { BucketData, KeyRange, NodeOps, PathStep, TreeNode, TreeRoot } from './tree-shape.ts';

/** Validates the bounds of a range (bad bounds get an InvalidKeyError, like bad keys). */
function bounds<K>(range: KeyRange<K>): { min: K | undefined; max: K | undefined } {
  const min = range.min === undefined ? undefined : (normalizeKey(range.min as BTreeKey) as K);
  const max = range.max === undefined ? undefined : (normalizeKey(range.max as BTreeKey) as K);
  return { min, max };
}

/** Entries of the tree within `range`, in key order (or reverse order). */
export function* treeEntries<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, range: KeyRange<K> = {}): Generator<[K, V], void, undefined> {
  const { min, max } = bounds(range);
  if (min !== undefined && max !== undefined) {
    const c = compareKeys(min, max);
    if (c > 0 || (c === 0 && (range.excludeMin || range.excludeMax))) return;
  }
  if (range.reverse) yield* backward(root, ops, min, max, range);
  else yield* forward(root, ops, min, max, range);
}

function* forward<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, min: K | undefined, max: K | undefined, range: KeyRange<K>): Generator<[K, V], void, undefined> {
  let bucket: BucketData<K, V> | null = min === undefined ? edgeBucket(root.top, ops, 'first') : findBucket(root, ops, min);
  let i = min === undefined ? 0 : range.excludeMin ? upperBound(bucket.keys, min) : lowerBound(bucket.keys, min);
  while (bucket !== null) {
    const { keys, values } = bucket;
    for (; i < keys.length; i++) {
      const key = keys[i] as K;
      if (max !== undefined) {
        const c = compareKeys(key, max);
        if (c > 0 || (c === 0 && range.excludeMax)) return;
      }
      yield [key, values[i] as V];
    }
    bucket = bucket.next;
    i = 0;
  }
}

function* backward<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, min: K | undefined, max: K | undefined, range: KeyRange<K>): Generator<[K, V], void, undefined> {
  const path: Array<PathStep<K, V>> = [];
  let bucket: BucketData<K, V> | null = max === undefined ? edgeBucket(root.top, ops, 'last', path) : findBucket(root, ops, max, path);
  let i = max === undefined ? bucket.keys.length - 1 : (range.excludeMax ? lowerBound(bucket.keys, max) : upperBound(bucket.keys, max)) - 1;
  while (bucket !== null) {
    const { keys, values } = bucket;
    for (; i >= 0; i--) {
      const key = keys[i] as K;
      if (min !== undefined) {
        const c = compareKeys(key, min);
        if (c < 0 || (c === 0 && range.excludeMin)) return;
      }
      yield [key, values[i] as V];
    }
    bucket = previousOnPath(ops, path);
    i = bucket === null ? -1 : bucket.keys.length - 1;
  }
}

/** Moves `path` to the previous bucket and returns it (null before the first). */
function previousOnPath<K, V>(ops: NodeOps<K, V>, path: Array<PathStep<K, V>>): BucketData<K, V> | null {
  while (path.length > 0) {
    const step = path[path.length - 1] as PathStep<K, V>;
    if (step[1] > 0) {
      step[1]--;
      return edgeBucket(step[0].children[step[1]] as TreeNode<K, V>, ops, 'last', path);
    }
    path.pop();
  }
  return null;
}
