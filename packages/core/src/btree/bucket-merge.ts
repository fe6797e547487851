/**
 * ZODB's bucket merge (BTrees `bucket_merge` in MergeTemplate.c, `_Bucket._p_resolveConflict` in
 * _base.py) as a pure function over decoded bucket states: a three-way walk over the sorted keys
 * of old, committed and mine. Changes to different keys merge; anything that could lose a write
 * or break the tree around the bucket is refused with a numbered reason (conflict-reasons.ts).
 *
 * Values are compared with old only (as ZODB does): both sides setting a key to the same new
 * value is still a conflict (reason 1).
 */
import { isDeepStrictEqual } from 'node:util';
import { PersistentRef } from '../codec/persistent-ref.ts';
import { bucketConflict } from './conflict-reasons.ts';
import { compareKeys } from './key-order.ts';

/** A bucket's state as a resolver sees it (references decoded as `PersistentRef`). */
export interface BucketState {
  readonly keys: readonly unknown[];
  readonly values: readonly unknown[];
  /** The next bucket in key order, or null for the last bucket. */
  readonly next: unknown;
  /** The most entries the bucket may hold; absent means unbounded. */
  readonly maxSize?: number | undefined;
}

/** How `mergeBucketStates` treats tree-dependent cases. */
export interface BucketMergeOptions {
  /**
   * True when the parent node's separator is the bucket's first key, so deleting it changes the
   * parent (ZODB's layout: reason 13). TidalDB's BTree keeps separators as lower bounds that do
   * not depend on the first key and passes false.
   * @defaultValue true
   */
  readonly firstKeyIsSeparator?: boolean;
}

/** Same persistent reference (by oid), or both null. */
export function sameRef(a: unknown, b: unknown): boolean {
  if (a instanceof PersistentRef) return a.equals(b);
  return a === b || (a == null && b == null);
}

/** Value equality for merge decisions: structural, references by oid. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof PersistentRef) return a.equals(b);
  return isDeepStrictEqual(a, b);
}

/** A cursor over one side's entries. */
class Side {
  i = 0;
  constructor(readonly s: BucketState) {}
  get active(): boolean {
    return this.i < this.s.keys.length;
  }
  get key(): unknown {
    return this.s.keys[this.i];
  }
  get value(): unknown {
    return this.s.values[this.i];
  }
  /** True when the cursor is on the side's first entry: nothing of it has been passed yet. */
  get atFirst(): boolean {
    return this.i === 0;
  }
}

function assertWellFormed(s: BucketState, name: string): void {
  if (!Array.isArray(s.keys) || !Array.isArray(s.values) || s.keys.length !== s.values.length) {
    throw bucketConflict(1, undefined, `the ${name} bucket state is malformed (keys and values differ in length)`);
  }
}

/**
 * Merges two concurrent revisions of one bucket.
 * @param old the revision both sides started from
 * @param committed the revision already committed by someone else
 * @param mine the revision being committed
 * @returns the merged state (`next` and `maxSize` as in `mine`)
 * @throws BucketConflictError with ZODB's reason number when the changes cannot be merged;
 *   InvalidKeyError when keys are not comparable (persistent references)
 */
export function mergeBucketStates(old: BucketState, committed: BucketState, mine: BucketState, options: BucketMergeOptions = {}): BucketState {
  const firstKeyIsSeparator = options.firstKeyIsSeparator ?? true;
  assertWellFormed(old, 'old');
  assertWellFormed(committed, 'committed');
  assertWellFormed(mine, 'new');
  if (!sameRef(committed.next, old.next) || !sameRef(mine.next, old.next)) throw bucketConflict(0);
  if (committed.keys.length === 0 || mine.keys.length === 0) throw bucketConflict(12);

  const o = new Side(old);
  const c = new Side(committed);
  const m = new Side(mine);
  const keys: unknown[] = [];
  const values: unknown[] = [];
  const output = (side: Side): void => {
    keys.push(side.key);
    values.push(side.value);
    side.i++;
  };
  const deleted = (by: Side, key: unknown): void => {
    // Deleting what the side saw as its first key moves its lower edge: the parent depends on it.
    if (firstKeyIsSeparator && by.atFirst) throw bucketConflict(13, key);
  };

  while (o.active && c.active && m.active) {
    const oc = compareKeys(o.key, c.key);
    const om = compareKeys(o.key, m.key);
    if (oc === 0 && om === 0) {
      let value: unknown;
      if (sameValue(c.value, o.value)) value = m.value;
      else if (sameValue(m.value, o.value)) value = c.value;
      else throw bucketConflict(1, o.key);
      keys.push(m.key);
      values.push(value);
      o.i++;
      c.i++;
      m.i++;
      continue;
    }
    if (oc === 0) {
      if (om > 0) output(m); // mine inserted a key before old's
      else if (sameValue(o.value, c.value)) {
        deleted(m, o.key); // mine deleted old's key, committed left it alone
        o.i++;
        c.i++;
      } else throw bucketConflict(2, o.key);
      continue;
    }
    if (om === 0) {
      if (oc > 0) output(c); // committed inserted a key before old's
      else if (sameValue(o.value, m.value)) {
        deleted(c, o.key);
        o.i++;
        m.i++;
      } else throw bucketConflict(3, o.key);
      continue;
    }
    // Neither side has old's key here: inserts before it, or deletes of it.
    const cm = compareKeys(c.key, m.key);
    if (cm === 0) throw bucketConflict(4, c.key);
    if (oc > 0) output(cm > 0 ? m : c);
    else if (om > 0) output(m);
    else throw bucketConflict(5, o.key);
  }

  while (c.active && m.active) {
    const cm = compareKeys(c.key, m.key);
    if (cm === 0) throw bucketConflict(6, c.key);
    output(cm > 0 ? m : c);
  }
  // One side ran out: it deleted the rest of old, which the other side must have left unchanged
  // (its own additions go through).
  const restDeletedBy = (other: typeof c, reason: number): void => {
    while (o.active && other.active) {
      const cmp = compareKeys(o.key, other.key);
      if (cmp > 0) output(other);
      else if (cmp === 0 && sameValue(o.value, other.value)) {
        o.i++;
        other.i++;
      } else throw bucketConflict(reason, o.key);
    }
  };
  restDeletedBy(c, 7); // mine ran out
  restDeletedBy(m, 8); // committed ran out
  if (o.active) throw bucketConflict(9, o.key);
  while (c.active) output(c);
  while (m.active) output(m);

  if (keys.length === 0) throw bucketConflict(10);
  const maxSize = mine.maxSize;
  if (maxSize !== undefined && keys.length > maxSize) {
    throw bucketConflict(14, undefined, `${keys.length} entries, at most ${maxSize}`);
  }
  return { ...mine, keys, values };
}
