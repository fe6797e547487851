/**
 * Search, insert (with bucket and node splits) and delete (unlinking emptied buckets) over the
 * shape of tree-shape.ts. Keys reaching these functions are already validated (normalizeKey).
 *
 * Conflict-minded choices: a split touches only the bucket that overflowed, the new bucket and
 * the parent node; a delete touches one bucket unless it empties it; nothing keeps a count or a
 * pointer in the root that every insert would have to write.
 */
import { compareKeys, lowerBound, upperBound } from './key-order.ts';
import type { BucketData, NodeOps, PathStep, TreeNode, TreeRoot } from './tree-shape.ts';

/** Descends to the bucket whose range holds `key`, recording the path if asked. */
export function findBucket<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, key: K, path?: Array<PathStep<K, V>>): BucketData<K, V> {
  let node = root.top;
  while (!ops.isBucket(node)) {
    const index = upperBound(node.keys, key);
    path?.push([node, index]);
    node = node.children[index] as TreeNode<K, V>;
  }
  return node;
}

/** The leftmost (or rightmost) bucket under `node`, recording the path if asked. */
export function edgeBucket<K, V>(node: TreeNode<K, V>, ops: NodeOps<K, V>, side: 'first' | 'last', path?: Array<PathStep<K, V>>): BucketData<K, V> {
  while (!ops.isBucket(node)) {
    const index = side === 'first' ? 0 : node.children.length - 1;
    path?.push([node, index]);
    node = node.children[index] as TreeNode<K, V>;
  }
  return node;
}

/** The value stored under `key`, or undefined. */
export function treeGet<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, key: K): V | undefined {
  const bucket = findBucket(root, ops, key);
  const keys = bucket.keys;
  const i = lowerBound(keys, key);
  return i < keys.length && compareKeys(keys[i], key) === 0 ? bucket.values[i] : undefined;
}

/** True when `key` is stored. */
export function treeHas<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, key: K): boolean {
  const keys = findBucket(root, ops, key).keys;
  const i = lowerBound(keys, key);
  return i < keys.length && compareKeys(keys[i], key) === 0;
}

/**
 * Stores `value` under `key`.
 * @returns 'added', 'changed', or 'same' (the key already held this very value: nothing written)
 */
export function treeSet<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, key: K, value: V): 'added' | 'changed' | 'same' {
  const path: Array<PathStep<K, V>> = [];
  const bucket = findBucket(root, ops, key, path);
  const keys = bucket.keys;
  const i = lowerBound(keys, key);
  if (i < keys.length && compareKeys(keys[i], key) === 0) {
    // Skipping no-op writes keeps a reader-writer from conflicting with real writers.
    if (Object.is(bucket.values[i], value)) return 'same';
    ops.willChange(bucket);
    bucket.values[i] = value;
    return 'changed';
  }
  ops.willChange(bucket);
  if (keys.length < bucket.maxSize) {
    keys.splice(i, 0, key);
    bucket.values.splice(i, 0, value);
    return 'added';
  }
  const right = splitBucket(bucket, ops, i, key, value);
  insertChild(root, ops, path, right.keys[0] as K, right);
  return 'added';
}

/** Splits a full bucket in two, inserting (key, value) at `i` on the way; returns the new right half. */
function splitBucket<K, V>(bucket: BucketData<K, V>, ops: NodeOps<K, V>, i: number, key: K, value: V): BucketData<K, V> {
  const mid = bucket.keys.length >>> 1;
  const right = ops.newBucket(bucket.maxSize);
  right.keys = bucket.keys.splice(mid);
  right.values = bucket.values.splice(mid);
  right.next = bucket.next;
  bucket.next = right;
  const [target, at] = i <= mid ? [bucket, i] : [right, i - mid];
  target.keys.splice(at, 0, key);
  target.values.splice(at, 0, value);
  return right;
}

/** Adds `child` with lower bound `separator` after the child the path took, splitting upwards. */
function insertChild<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, path: Array<PathStep<K, V>>, separator: K, child: TreeNode<K, V>): void {
  for (;;) {
    const step = path.pop();
    if (step === undefined) {
      const top = ops.newNode(root.maxNodeSize);
      top.keys = [separator];
      top.children = [root.top, child];
      root.top = top;
      return;
    }
    const [node, index] = step;
    ops.willChange(node);
    node.keys.splice(index, 0, separator);
    node.children.splice(index + 1, 0, child);
    if (node.children.length <= node.maxSize) return;
    const mid = node.children.length >>> 1;
    const right = ops.newNode(node.maxSize);
    right.children = node.children.splice(mid);
    right.keys = node.keys.splice(mid);
    separator = node.keys.pop() as K;
    child = right;
  }
}

/**
 * Removes `key`.
 * @returns true when the key was there
 */
export function treeDelete<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, key: K): boolean {
  const path: Array<PathStep<K, V>> = [];
  const bucket = findBucket(root, ops, key, path);
  const i = lowerBound(bucket.keys, key);
  if (i >= bucket.keys.length || compareKeys(bucket.keys[i], key) !== 0) return false;
  ops.willChange(bucket);
  bucket.keys.splice(i, 1);
  bucket.values.splice(i, 1);
  if (bucket.keys.length === 0 && path.length > 0) {
    // The only bucket left (a merge can leave single-child nodes) stays, as the whole tree.
    if (path.every(([node]) => node.children.length === 1)) root.top = bucket;
    else unlinkBucket(root, ops, path, bucket);
  }
  return true;
}

/** The bucket before the one `path` leads to, or null for the first bucket. */
function previousBucket<K, V>(ops: NodeOps<K, V>, path: ReadonlyArray<PathStep<K, V>>): BucketData<K, V> | null {
  for (let level = path.length - 1; level >= 0; level--) {
    const [node, index] = path[level] as PathStep<K, V>;
    if (index > 0) return edgeBucket(node.children[index - 1] as TreeNode<K, V>, ops, 'last');
  }
  return null;
}

/** Takes an emptied bucket out of the tree: out of the `next` chain, out of its parents. */
function unlinkBucket<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>, path: Array<PathStep<K, V>>, bucket: BucketData<K, V>): void {
  const previous = previousBucket(ops, path);
  if (previous !== null) {
    ops.willChange(previous);
    previous.next = bucket.next;
  }
  for (;;) {
    const [node, index] = path.pop() as PathStep<K, V>;
    ops.willChange(node);
    node.children.splice(index, 1);
    // Removing child 0 drops the first separator: child 1 then also covers child 0's range.
    node.keys.splice(index > 0 ? index - 1 : 0, 1);
    if (node.children.length > 0) break;
  }
  collapseTop(root, ops);
}

/** While the top is a node with a single child, that child becomes the top. */
function collapseTop<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>): void {
  let top = root.top;
  while (!ops.isBucket(top) && top.children.length === 1) top = top.children[0] as TreeNode<K, V>;
  if (top !== root.top) root.top = top;
}

/** Number of entries, by walking every bucket (a stored count would make every insert conflict). */
export function treeSize<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>): number {
  let n = 0;
  for (let b: BucketData<K, V> | null = edgeBucket(root.top, ops, 'first'); b !== null; b = b.next) n += b.keys.length;
  return n;
}
