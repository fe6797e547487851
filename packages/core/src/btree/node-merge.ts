/**
 * Merge of an internal BTree node, TidalDB's rule (ZODB refuses every concurrent change to a
 * multi-child node, reason 11 — so two inserts that split different buckets under one node
 * always conflicted there).
 *
 * A node's state reads as one sequence `c0 k1 c1 k2 … kn cn`: children (references) separated by
 * keys, where child i holds the keys in [k_i, k_{i+1}). Each side's change is seen as edits
 * against old: between two old children that the side kept (its anchors), it replaced whatever
 * old had (removed children, separators) with something else (new children from splits, their
 * separators). The node merges when every edit of one side lies in a stretch of old that the
 * other side left untouched — edits that meet at a shared anchor child are disjoint, so a split
 * of child 3 and a split of child 4 merge, while a split of child 3 and the removal of child 4
 * (whose separator bounds child 3) do not. The merge is then refused only if the result is not a
 * well-formed node: separators out of order, no child left, or more children than `maxSize`.
 *
 * Why this is safe: a split or an unlink also writes the buckets involved (the split bucket, the
 * neighbour whose `next` changes), so overlapping work below the node already conflicts there;
 * the node only has to keep both sides' separator/child pairs in order, which disjoint edits do.
 */
import { PersistentRef } from '../codec/persistent-ref.ts';
import { bucketConflict } from './conflict-reasons.ts';
import { sameRef, sameValue } from './bucket-merge.ts';
import { compareKeys } from './key-order.ts';

/** An internal node's state as a resolver sees it. */
export interface NodeState {
  /** Separators: `keys[i]` is the lowest key of `children[i + 1]`'s range. */
  readonly keys: readonly unknown[];
  readonly children: readonly unknown[];
  /** The most children the node may have; absent means unbounded. */
  readonly maxSize?: number | undefined;
}

type Item = { readonly child: unknown } | { readonly key: unknown };

/** One side's replacement of the old items strictly between old children `from` and `to`. */
interface Edit {
  readonly from: number; // -1 for the start of the node
  readonly to: number; // children.length for the end
  readonly items: readonly Item[];
}

const identity = (ref: unknown): unknown => (ref instanceof PersistentRef ? `oid:${ref.oid}` : ref);

function refuse(detail: string): never {
  throw bucketConflict(11, undefined, detail);
}

function itemsOf(s: NodeState, name: string): Item[] {
  if (!Array.isArray(s.keys) || !Array.isArray(s.children) || s.children.length !== s.keys.length + 1) {
    refuse(`the ${name} node state is malformed`);
  }
  const items: Item[] = [];
  s.children.forEach((child, i) => {
    if (i > 0) items.push({ key: s.keys[i - 1] });
    items.push({ child });
  });
  return items;
}

function sameItems(a: readonly Item[], b: readonly Item[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i] as Item;
    if ('child' in x) return 'child' in y && sameRef(x.child, y.child);
    return 'key' in y && compareKeys(x.key, y.key) === 0;
  });
}

// Old item positions: child i is at 2i, the separator before it at 2i - 1. An edit between old
// children `from` and `to` replaces the old items in [itemStart(from), itemEnd(to)).
const itemStart = (from: number): number => (from < 0 ? 0 : 2 * from + 1);
const itemEnd = (to: number, oldItems: readonly Item[]): number => Math.min(2 * to, oldItems.length);

/** The edits turning old into `side`, in order. */
function editsOf(old: NodeState, oldItems: readonly Item[], side: NodeState, name: string): Edit[] {
  const oldIndex = new Map<unknown, number>();
  old.children.forEach((c, i) => oldIndex.set(identity(c), i));
  const edits: Edit[] = [];
  let from = -1;
  let pending: Item[] = [];
  const close = (to: number): void => {
    if (!sameItems(oldItems.slice(itemStart(from), itemEnd(to, oldItems)), pending)) edits.push({ from, to, items: pending });
    pending = [];
    from = to;
  };
  for (const item of itemsOf(side, name)) {
    const at = 'child' in item ? oldIndex.get(identity(item.child)) : undefined;
    if (at === undefined) pending.push(item);
    else if (at <= from) refuse(`the ${name} side reordered the children`);
    else close(at);
  }
  close(old.children.length);
  return edits;
}

function overlap(a: Edit, b: Edit): boolean {
  return Math.max(a.from, b.from) < Math.min(a.to, b.to);
}

/**
 * Merges two concurrent revisions of an internal node (see the module comment for the rule).
 * @returns the merged state (`maxSize` as in `mine`)
 * @throws BucketConflictError reason 11 when the changes overlap or the result is not a valid node
 */
export function mergeNodeStates(old: NodeState, committed: NodeState, mine: NodeState): NodeState {
  const oldItems = itemsOf(old, 'old');
  const ours = editsOf(old, oldItems, mine, 'new');
  const theirs = editsOf(old, oldItems, committed, 'committed');
  for (const a of ours) {
    for (const b of theirs) {
      if (overlap(a, b)) {
        // Identical edits are one change made twice (never by splits: new children differ).
        if (a.from === b.from && a.to === b.to && sameItems(a.items, b.items)) continue;
        refuse('both sides changed the same part of the node');
      }
    }
  }
  const all = [...ours, ...theirs.filter((b) => !ours.some((a) => a.from === b.from && a.to === b.to))];
  all.sort((a, b) => a.from - b.from);

  const merged: Item[] = [];
  let p = 0;
  for (const edit of all) {
    merged.push(...oldItems.slice(p, itemStart(edit.from)), ...edit.items);
    p = itemEnd(edit.to, oldItems);
  }
  merged.push(...oldItems.slice(p));
  return nodeFromItems(merged, mine.maxSize);
}

function nodeFromItems(items: readonly Item[], maxSize: number | undefined): NodeState {
  const keys: unknown[] = [];
  const children: unknown[] = [];
  items.forEach((item, p) => {
    const wantChild = p % 2 === 0;
    if (wantChild !== 'child' in item) refuse('the merged node does not alternate children and separators');
    if ('child' in item) children.push(item.child);
    else keys.push(item.key);
  });
  if (children.length === 0) refuse('the merged node has no children');
  if (children.length !== keys.length + 1) refuse('the merged node does not alternate children and separators');
  for (let i = 1; i < keys.length; i++) {
    if (compareKeys(keys[i - 1], keys[i]) >= 0) refuse('the merged separators are out of order');
  }
  if (maxSize !== undefined && children.length > maxSize) {
    refuse(`the merged node would have ${children.length} children, at most ${maxSize}`);
  }
  return maxSize === undefined ? { keys, children } : { keys, children, maxSize };
}

/**
 * Merge rule of a BTree's root object (which only points at the top node): identical changes, or
 * a change by one side only, merge; anything else is reason 11.
 */
export function mergeTreeRootStates<S>(old: S, committed: S, mine: S): S {
  if (sameValue(committed, mine) || sameValue(committed, old)) return mine;
  if (sameValue(mine, old)) return committed;
  return refuse('both sides changed the top of the tree');
}
