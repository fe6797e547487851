/**
 * The shape every BTree algorithm works on, independent of persistence: buckets (leaves holding
 * sorted keys and their values, linked in key order by `next`) and internal nodes (separators and
 * children). The persistent classes (BTree, BTreeBucket, BTreeNode) have exactly these fields, so
 * the same algorithms run on them and, in tests, on plain objects.
 *
 * Invariants (what `checkTree` verifies):
 * - child i of a node holds the keys k with `keys[i-1] ≤ k < keys[i]`: separators are lower
 *   bounds, not copies of first keys, so deleting a bucket's first key never touches its parent;
 * - all buckets are at the same depth; a bucket holds at most `maxSize` entries and is non-empty
 *   unless it is the whole tree; a node has 1 … `maxSize` children;
 * - following `next` from the leftmost bucket visits every bucket in key order.
 */

/** A leaf: sorted keys, their values, the next bucket in key order. */
export interface BucketData<K, V> {
  keys: K[];
  values: V[];
  next: BucketData<K, V> | null;
  maxSize: number;
}

/** An internal node: `children.length === keys.length + 1`. */
export interface NodeData<K, V> {
  keys: K[];
  children: Array<TreeNode<K, V>>;
  maxSize: number;
}

export type TreeNode<K, V> = BucketData<K, V> | NodeData<K, V>;

/** The object that owns the tree: only `top` changes, and only when the height does. */
export interface TreeRoot<K, V> {
  top: TreeNode<K, V>;
  readonly maxBucketSize: number;
  readonly maxNodeSize: number;
}

/** How algorithms make and touch nodes (persistent objects mark themselves changed here). */
export interface NodeOps<K, V> {
  isBucket(node: TreeNode<K, V>): node is BucketData<K, V>;
  newBucket(maxSize: number): BucketData<K, V>;
  newNode(maxSize: number): NodeData<K, V>;
  /** Called before any in-place change of `node`'s arrays or fields. */
  willChange(node: TreeNode<K, V>): void;
}

/** A step of a root-to-bucket descent: the node and the index of the child taken. */
export type PathStep<K, V> = [node: NodeData<K, V>, index: number];

/** Range options of the iteration methods; both bounds are inclusive unless excluded. */
export interface KeyRange<K> {
  /** Lowest key to include. */
  readonly min?: K | undefined;
  /** Highest key to include. */
  readonly max?: K | undefined;
  /** Leave out `min` itself. @defaultValue false */
  readonly excludeMin?: boolean | undefined;
  /** Leave out `max` itself. @defaultValue false */
  readonly excludeMax?: boolean | undefined;
  /** Iterate from the highest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
}

/** Plain-object node operations: the algorithms without persistence (tests, models). */
export const plainNodeOps: NodeOps<never, never> = {
  isBucket: (node): node is BucketData<never, never> => 'values' in node,
  newBucket: (maxSize) => ({ keys: [], values: [], next: null, maxSize }),
  newNode: (maxSize) => ({ keys: [], children: [], maxSize }),
  willChange: () => {},
};

/** `plainNodeOps` at the key and value types of a caller. */
export function plainOps<K, V>(): NodeOps<K, V> {
  return plainNodeOps as unknown as NodeOps<K, V>;
}
