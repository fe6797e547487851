/**
 * Why a BTree bucket or node refused to merge, numbered as ZODB's `BTreesConflictError.msgs`
 * (POSException.py) so the numbers mean the same thing to readers of the ZODB docs. Reasons 2/3,
 * 5/9 and 7/8 are the same situations met at different points of the three-way walk (ZODB keeps
 * them apart and so do we). 14 is TidalDB's: its buckets have a stored maximum size.
 */
import { BucketConflictError } from '../errors.ts';
import { describeKey } from './key-order.ts';

export const BTREE_CONFLICT_REASONS: readonly string[] = [
  /* 0 */ 'Conflicting bucket split',
  /* 1 */ 'Conflicting changes',
  /* 2 */ 'Conflicting delete and change',
  /* 3 */ 'Conflicting delete and change',
  /* 4 */ 'Conflicting inserts or deletes',
  /* 5 */ 'Conflicting deletes',
  /* 6 */ 'Conflicting inserts',
  /* 7 */ 'Conflicting deletes, or delete and change',
  /* 8 */ 'Conflicting deletes, or delete and change',
  /* 9 */ 'Conflicting deletes',
  /* 10 */ 'Empty bucket from deleting all keys',
  /* 11 */ 'Conflicting changes in an internal BTree node',
  /* 12 */ 'Empty bucket in a transaction',
  /* 13 */ 'Delete of first key',
  /* 14 */ 'Merged bucket would exceed its maximum size',
];

/** Reason numbers by name, for code that tests for one. */
export const BTreeConflictReason = {
  bucketSplit: 0,
  sameKeyChanged: 1,
  committedChangedMineDeleted: 2,
  mineChangedCommittedDeleted: 3,
  sameKeyInsertedOrDeleted: 4,
  sameKeyDeleted: 5,
  sameKeyInserted: 6,
  mineDeletedTailCommittedChanged: 7,
  committedDeletedTailMineChanged: 8,
  sameTailDeleted: 9,
  mergedEmpty: 10,
  internalNode: 11,
  emptyBucket: 12,
  firstKeyDeleted: 13,
  overCapacity: 14,
} as const;

/** Builds the error for reason `n`, naming `key` when the conflict is about one. */
export function bucketConflict(n: number, key?: unknown, detail?: string): BucketConflictError {
  let text = BTREE_CONFLICT_REASONS[n] ?? 'Unknown BTree conflict';
  if (key !== undefined) text += ` (key ${describeKey(key)})`;
  if (detail) text += `: ${detail}`;
  return new BucketConflictError(n, text, key);
}
