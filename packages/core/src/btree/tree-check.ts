/**
 * Structural verification of a tree (BTrees' `check()`): walks every node and bucket and throws at
 * the first violation of the invariants listed in tree-shape.ts, saying where and what.
 */
import { BTreeCheckError } from '../errors.ts';
import { compareKeys, describeKey } from './key-order.ts';
import type { BucketData, NodeOps, TreeNode, TreeRoot } from './tree-shape.ts';

interface Walk<K, V> {
  readonly root: TreeRoot<K, V>;
  readonly ops: NodeOps<K, V>;
  readonly seen: Set<object>;
  readonly buckets: Array<BucketData<K, V>>;
  depth: number;
}

function fail(path: string, detail: string): never {
  throw new BTreeCheckError(path, detail);
}

function compareAt(path: string, a: unknown, b: unknown): number {
  try {
    return compareKeys(a, b);
  } catch (err) {
    return fail(path, (err as Error).message);
  }
}

function checkBounds<K>(path: string, keys: readonly K[], lo: K | undefined, hi: K | undefined, what: string): void {
  for (let i = 1; i < keys.length; i++) {
    if (compareAt(path, keys[i - 1], keys[i]) >= 0) {
      fail(path, `${what}s ${i - 1} and ${i} are out of order (${describeKey(keys[i - 1])}, ${describeKey(keys[i])})`);
    }
  }
  const first = keys[0];
  const last = keys[keys.length - 1];
  if (lo !== undefined && first !== undefined && compareAt(path, first, lo) < 0) {
    fail(path, `${what} ${describeKey(first)} is below the lower bound ${describeKey(lo)} set by the parent`);
  }
  if (hi !== undefined && last !== undefined && compareAt(path, last, hi) >= 0) {
    fail(path, `${what} ${describeKey(last)} is not below the upper bound ${describeKey(hi)} set by the parent`);
  }
}

function visit<K, V>(w: Walk<K, V>, node: TreeNode<K, V>, lo: K | undefined, hi: K | undefined, depth: number, path: string): void {
  if (w.seen.has(node)) fail(path, 'this node or bucket appears twice in the tree');
  w.seen.add(node);
  if (!Array.isArray(node.keys)) fail(path, 'keys is not an array');
  if (w.ops.isBucket(node)) {
    if (!Array.isArray(node.values) || node.values.length !== node.keys.length) {
      fail(path, `bucket has ${node.keys.length} keys but ${Array.isArray(node.values) ? node.values.length : 'no'} values`);
    }
    if (node.keys.length > node.maxSize) fail(path, `bucket holds ${node.keys.length} entries, more than its maximum ${node.maxSize}`);
    if (node.keys.length === 0 && node !== w.root.top) fail(path, 'empty bucket inside the tree (only a tree that is a single bucket may be empty)');
    checkBounds(path, node.keys, lo, hi, 'key');
    if (w.depth === -1) w.depth = depth;
    else if (w.depth !== depth) fail(path, `bucket at depth ${depth}, but the first bucket is at depth ${w.depth}`);
    w.buckets.push(node);
    return;
  }
  const { keys, children } = node;
  if (!Array.isArray(children) || children.length !== keys.length + 1) {
    fail(path, `node has ${keys.length} separators but ${Array.isArray(children) ? children.length : 'no'} children (expected one more)`);
  }
  if (children.length > node.maxSize) fail(path, `node has ${children.length} children, more than its maximum ${node.maxSize}`);
  checkBounds(path, keys, lo, hi, 'separator');
  if (lo !== undefined && keys.length > 0 && compareAt(path, keys[0], lo) === 0) {
    fail(path, `separator ${describeKey(lo)} leaves child 0 an empty range`);
  }
  const kind = w.ops.isBucket(children[0] as TreeNode<K, V>);
  children.forEach((child, i) => {
    const at = `${path} > child ${i}`;
    if (child === null || typeof child !== 'object') fail(at, 'missing child');
    if (w.ops.isBucket(child) !== kind) fail(at, 'a node mixes buckets and nodes among its children');
    visit(w, child, i === 0 ? lo : keys[i - 1], i === keys.length ? hi : keys[i], depth + 1, at);
  });
}

/**
 * Verifies the whole tree.
 * @throws BTreeCheckError naming the first violation: keys out of order within a bucket or
 *   between buckets, separators out of order or outside their parent's bounds, a bucket or node
 *   over its maximum size, an empty bucket inside a larger tree, buckets at different depths, a
 *   node reached twice, or a `next` chain that does not visit the buckets in key order
 */
export function checkTree<K, V>(root: TreeRoot<K, V>, ops: NodeOps<K, V>): void {
  const w: Walk<K, V> = { root, ops, seen: new Set(), buckets: [], depth: -1 };
  visit(w, root.top, undefined, undefined, 0, 'top');
  w.buckets.forEach((bucket, i) => {
    const expected = w.buckets[i + 1] ?? null;
    if (bucket.next !== expected) {
      fail(`bucket ${i} (in key order)`, expected === null ? 'the last bucket has a next pointer' : `next does not point to bucket ${i + 1}`);
    }
  });
}
