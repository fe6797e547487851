import { InvalidOptionError } from '../errors.ts';
import { registerClass } from '../persistent/class-registry.ts';
import { Persistent } from '../persistent/persistent.ts';
import { BTreeBucket, DEFAULT_MAX_BUCKET_SIZE } from './bucket.ts';
import { normalizeKey, type BTreeKey } from './key-order.ts';
import { mergeTreeRootStates } from './node-merge.ts';
import { BTreeNode, DEFAULT_MAX_NODE_SIZE } from './node.ts';
import { checkTree } from './tree-check.ts';
import { treeIterate } from './tree-iterate.ts';
import { edgeBucket, treeDelete, treeGet, treeHas, treeSet, treeSize } from './tree-ops.ts';
import type { KeyRange, NodeOps, TreeNode, TreeRoot } from './tree-shape.ts';

/** Sizes of a new tree. */
export interface BTreeOptions {
  /** Most entries per bucket (each bucket is one stored record). @defaultValue 64 */
  readonly maxBucketSize?: number;
  /** Most children per internal node. @defaultValue 128 */
  readonly maxNodeSize?: number;
}

const persistentOps: NodeOps<never, never> = {
  isBucket: (node): node is BTreeBucket<never, never> => node instanceof BTreeBucket,
  newBucket: (maxSize) => new BTreeBucket<never, never>(maxSize),
  newNode: (maxSize) => new BTreeNode<never, never>(maxSize),
  willChange: (node) => {
    (node as unknown as Persistent)._p_changed = true;
  },
};

function opsFor<K, V>(): NodeOps<K, V> {
  return persistentOps as unknown as NodeOps<K, V>;
}

function sizeOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new InvalidOptionError(name, value, `an integer ≥ ${min}`);
  return value;
}

/**
 * An ordered persistent map (ZODB's OOBTree), registered as `'tidal.BTree'`. Keys are strings,
 * numbers, bigints, Dates or arrays of these, in the order of `compareKeys`; values are anything
 * storable, persistent objects included.
 *
 * Entries live in buckets of at most `maxBucketSize` entries, each bucket its own stored object,
 * under internal nodes: a change writes one bucket (plus its parent when the bucket splits), so
 * big collections stay cheap to change and concurrent writers to different keys merge instead of
 * conflicting (see docs/guide/conflict-resolution.md for the exact rules). The tree object itself
 * changes only when the tree grows or shrinks in height.
 *
 * There is no stored count: `size` walks the buckets. Keep a `Counter` next to the tree if you
 * need a cheap count (a shared count in the tree would make every insert conflict).
 *
 * @example
 * const tree = new BTree<string, number>();
 * tree.set('b', 2).set('a', 1);
 * [...tree.keys()]; // ['a', 'b']
 */
export class BTree<K extends BTreeKey = BTreeKey, V = unknown> extends Persistent implements TreeRoot<K, V> {
  /** The top node or, for a small tree, its only bucket. */
  top: TreeNode<K, V>;
  maxBucketSize: number;
  maxNodeSize: number;

  /**
   * @param entries initial entries
   * @throws InvalidOptionError for sizes that are not integers ≥ 2; InvalidKeyError for a bad key
   */
  constructor(entries?: Iterable<readonly [K, V]> | null, options: BTreeOptions = {}) {
    super();
    this.maxBucketSize = sizeOption('maxBucketSize', options.maxBucketSize, DEFAULT_MAX_BUCKET_SIZE, 2);
    this.maxNodeSize = sizeOption('maxNodeSize', options.maxNodeSize, DEFAULT_MAX_NODE_SIZE, 2);
    this.top = new BTreeBucket<K, V>(this.maxBucketSize);
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  /** The value under `key`, or undefined. @throws InvalidKeyError for a bad key */
  get(key: K): V | undefined {
    return treeGet(this, opsFor<K, V>(), normalizeKey(key));
  }

  /** @throws InvalidKeyError for a bad key */
  has(key: K): boolean {
    return treeHas(this, opsFor<K, V>(), normalizeKey(key));
  }

  /**
   * Stores `value` under `key` (a copy of the key, for Dates and arrays). Setting the value a key
   * already holds (the same primitive or the same object) writes nothing.
   * @throws InvalidKeyError for a bad key; nothing is changed then
   */
  set(key: K, value: V): this {
    treeSet(this, opsFor<K, V>(), normalizeKey(key), value);
    return this;
  }

  /** @returns true when the key was there. @throws InvalidKeyError for a bad key */
  delete(key: K): boolean {
    return treeDelete(this, opsFor<K, V>(), normalizeKey(key));
  }

  /** Removes every entry (the tree becomes one empty bucket). */
  clear(): void {
    this.top = new BTreeBucket<K, V>(this.maxBucketSize);
  }

  /** Number of entries. Walks every bucket: O(n / maxBucketSize) loads. */
  get size(): number {
    return treeSize(this, opsFor<K, V>());
  }

  /** Entries within `range`, in key order (or reversed). Do not change the tree while iterating. */
  entries(range: KeyRange<K> = {}): IterableIterator<[K, V]> {
    return treeIterate(this, opsFor<K, V>(), range, 'entries');
  }

  /** Keys within `range`. */
  keys(range: KeyRange<K> = {}): IterableIterator<K> {
    return treeIterate(this, opsFor<K, V>(), range, 'keys');
  }

  /** Values of the keys within `range`. */
  values(range: KeyRange<K> = {}): IterableIterator<V> {
    return treeIterate(this, opsFor<K, V>(), range, 'values');
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, tree: this) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  /** The lowest key within `range`, or undefined when there is none. */
  minKey(range: Omit<KeyRange<K>, 'reverse'> = {}): K | undefined {
    for (const [k] of this.entries({ ...range, reverse: false })) return k;
    return undefined;
  }

  /** The highest key within `range`, or undefined when there is none. */
  maxKey(range: Omit<KeyRange<K>, 'reverse'> = {}): K | undefined {
    for (const [k] of this.entries({ ...range, reverse: true })) return k;
    return undefined;
  }

  /** True when the tree has no entries (loads one bucket). */
  get isEmpty(): boolean {
    return edgeBucket(this.top, opsFor<K, V>(), 'first').keys.length === 0;
  }

  /**
   * Verifies the structure: order within and between buckets, separators, size bounds, equal
   * depth, `next` pointers. Loads every node and bucket.
   * @throws BTreeCheckError describing the first violation
   */
  check(): void {
    checkTree(this, opsFor<K, V>());
  }

  /**
   * The tree object only points at the top node: identical changes or a change by one side
   * merge, anything else (both sides changed the height) conflicts (reason 11).
   */
  static resolveConflict(old: unknown, committed: unknown, mine: unknown): unknown {
    return mergeTreeRootStates(old, committed, mine);
  }
}

registerClass('tidal.BTree', BTree);
