// Public API of @tidaldb/core: an explicit list; internals stay unexported.
export * from './errors.ts';
export {
  ROOT_OID,
  ZERO_TID,
  parseOid,
  parseTid,
  oidFromBigInt,
  tidFromBigInt,
  idToBigInt,
  tidAfter,
  tidBefore,
  tidFromDate,
  tidToDate,
  type Oid,
  type Tid,
} from './ids.ts';
export type * from './interfaces.ts';
export { Transaction, type TransactionOptions } from './transaction/transaction.ts';
export { TransactionManager, type TransactionManagerOptions, type RunOptions } from './transaction/transaction-manager.ts';
export { Savepoint } from './transaction/savepoint.ts';
export { consoleTransactionLogger, type TransactionLogger } from './transaction/logger.ts';
export type { HookEntry } from './transaction/hooks.ts';
export { Persistent, isPersistent } from './persistent/persistent.ts';
export type { FieldDefaults, FieldValues, WithFields } from './persistent/declared-fields.ts';
export type { Jar } from './persistent/persistent-meta.ts';
export {
  TRANSITIONS,
  PERSISTENT_STATES,
  PERSISTENT_EVENTS,
  type PersistentState,
  type PersistentEvent,
} from './persistent/state-table.ts';
export { ClassRegistry, registerClass, globalRegistry, type PersistentClass } from './persistent/class-registry.ts';
export { Broken } from './persistent/broken.ts';
export { PersistentMap } from './persistent/persistent-map.ts';
export { mergeMapStates, type PersistentMapState } from './persistent/map-merge.ts';
export { sameStoredValue } from './persistent/state-equal.ts';
export { PersistentList } from './persistent/persistent-list.ts';
export { Counter, type CounterState } from './persistent/counter.ts';
export { BTree, type BTreeOptions } from './btree/btree.ts';
export { BTreeBucket } from './btree/bucket.ts';
export { BTreeNode } from './btree/node.ts';
export type { KeyRange } from './btree/tree-shape.ts';
export { compareKeys, type BTreeKey } from './btree/key-order.ts';
export { mergeBucketStates, type BucketState, type BucketMergeOptions } from './btree/bucket-merge.ts';
export { mergeNodeStates, type NodeState } from './btree/node-merge.ts';
export { BTREE_CONFLICT_REASONS, BTreeConflictReason } from './btree/conflict-reasons.ts';
export {
  ConflictMonitor,
  type ConflictStats,
  type ClassConflictStats,
  type ConflictEvent,
  type ConflictRefusedEvent,
  type ConflictEvents,
} from './conflict/conflict-monitor.ts';
export { DB, type DBOptions, type OpenOptions, type TransactOptions, type UndoOptions } from './connection/db.ts';
export { Connection, type CacheInfo } from './connection/connection.ts';
export { registryConflictResolver, type ResolveConflict } from './connection/conflict-resolver.ts';
export { MemoryStorage, type MemoryStorageOptions } from './storage/memory/memory-storage.ts';
export { LmdbStorage, type LmdbStorageOptions } from './storage/lmdb/lmdb-storage.ts';
export { guardStorage } from './storage/guard.ts';
export type { CommonStorageOptions } from './storage/base-storage.ts';
export type { StorageStats } from './storage/commit/commit-core.ts';
export { PersistentRef } from './codec/persistent-ref.ts';
export {
  RECORD_FORMAT,
  encodeRecord,
  decodeRecord,
  referencesOf,
  classNameOf,
  assertStorable,
  type DecodedRecord,
} from './codec/record.ts';
