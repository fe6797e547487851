import { registerClass } from '../persistent/class-registry.ts';
import { Persistent } from '../persistent/persistent.ts';
import { mergeBucketStates, type BucketState } from './bucket-merge.ts';
import { bucketConflict } from './conflict-reasons.ts';
import type { BucketData } from './tree-shape.ts';

/** Entries per bucket unless the tree says otherwise. */
export const DEFAULT_MAX_BUCKET_SIZE = 64;

function asBucketState(state: unknown, name: string): BucketState {
  if (typeof state !== 'object' || state === null) throw bucketConflict(1, undefined, `no ${name} bucket state to merge`);
  return state as BucketState;
}

/**
 * A leaf of a BTree, stored as its own persistent object (registered as `'tidal.BTreeBucket'`):
 * sorted `keys`, their `values`, and `next`, the following bucket in key order. Used through
 * `BTree`; its fields are public for the tree's algorithms and `check()`, not for editing.
 *
 * Concurrent changes to one bucket merge by ZODB's bucket rules (`mergeBucketStates`): changes
 * to different keys merge; changes to the same key, splits and emptied buckets conflict.
 */
export class BTreeBucket<K = unknown, V = unknown>
  extends Persistent.withFields({
    keys: (): unknown[] => [],
    values: (): unknown[] => [],
    next: null as unknown,
    maxSize: DEFAULT_MAX_BUCKET_SIZE,
  })
  implements BucketData<K, V>
{
  // Declared fields (no Proxy: iterating a tree reads these in its inner loop); the generic
  // types the field declaration above cannot name.
  declare keys: K[];
  declare values: V[];
  declare next: BTreeBucket<K, V> | null;

  constructor(maxSize: number = DEFAULT_MAX_BUCKET_SIZE) {
    super();
    this.maxSize = maxSize;
  }

  /**
   * Merges concurrent revisions. Separators in TidalDB's nodes are lower bounds that do not
   * depend on a bucket's first key, so deleting the first key merges (ZODB's reason 13 does not
   * apply).
   * @throws BucketConflictError with the ZODB reason number
   */
  static resolveConflict(old: unknown, committed: unknown, mine: unknown): BucketState {
    return mergeBucketStates(asBucketState(old, 'old'), asBucketState(committed, 'committed'), asBucketState(mine, 'new'), {
      firstKeyIsSeparator: false,
    });
  }
}

registerClass('tidal.BTreeBucket', BTreeBucket);
