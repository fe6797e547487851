/**
 * What a storage engine provides to the shared storage logic (`BaseStorage`, the commit core,
 * undo and pack): reads of the latest committed state and atomic write transactions over five
 * tables — revisions, current, transactions, meta and commit locks. MemoryStorage and
 * LmdbStorage differ only in their backend; the protocol, serial checks, conflict resolution,
 * commit locks, group commit, undo and pack are written once, above this interface.
 */
import type { Oid, Tid } from '../ids.ts';
import type { TransactionMetadata } from '../interfaces.ts';

/** One revision of an object: its tid and state bytes, or null for a "no data" revision (undone creation). */
export interface RevisionData {
  readonly tid: Tid;
  readonly data: Uint8Array | null;
}

/** What one call of `pruneSuperseded` removed. */
export interface PruneBatch {
  /** The tids of the revisions removed, one per revision. */
  readonly tids: readonly Tid[];
  /** True when nothing is left to prune up to that tid. */
  readonly done: boolean;
}

/** A committed transaction as the storage keeps it: its metadata and the oids it wrote, sorted. */
export interface TransactionInfo extends TransactionMetadata {
  readonly oids: readonly Oid[];
}

/** A transaction record with its tid. */
export interface TransactionEntry extends TransactionInfo {
  readonly tid: Tid;
}

/**
 * Owner of a commit lock. `nonce` identifies the process instance (so a lock left by a dead
 * process whose pid was reused is still recognised as stale), `token` the storage transaction.
 * `at` is the object's current tid when the lock was taken (null: the object did not exist): once
 * the object's current tid differs, its owner has committed it and the lock is released, without
 * a write in the durable commit (the entry itself is removed later, by a non-durable write).
 */
export interface LockHolder {
  readonly token: string;
  readonly pid: number;
  readonly nonce: string;
  readonly at: Tid | null;
}

/**
 * Reads of committed state. Implementations verify checksums where they keep them and throw
 * `CorruptRecordError` (naming oid and tid) on a mismatch.
 */
export interface BackendReader {
  /** The last committed tid (`ZERO_TID` when empty). */
  lastTid(): Tid;
  /** The tid of the latest pack (`ZERO_TID` when never packed). */
  packTid(): Tid;
  /** The current (newest) revision of `oid`, or undefined when it has none. */
  current(oid: Oid): RevisionData | undefined;
  /** The current revision's tid only (cheap: no data, no checksum). */
  currentTid(oid: Oid): Tid | undefined;
  /** The exact revision (oid, tid), or undefined. */
  revision(oid: Oid, tid: Tid): RevisionData | undefined;
  /** The newest revision with tid < `before`, or undefined. */
  revisionBefore(oid: Oid, before: Tid): RevisionData | undefined;
  /** The tid of the oldest revision with tid ≥ `from`, or undefined. */
  tidAtOrAfter(oid: Oid, from: Tid): Tid | undefined;
  /** Up to `limit` revisions of `oid`, newest first. */
  revisionsNewestFirst(oid: Oid, limit: number): RevisionData[];
  /** Every revision tid of `oid`, oldest first. */
  revisionTids(oid: Oid): Tid[];
  /** The transaction record `tid`, or undefined. */
  transaction(tid: Tid): TransactionInfo | undefined;
  /** Up to `limit` transaction records with `from ≤ tid ≤ to`, in tid order. */
  transactions(from: Tid, to: Tid, limit: number): TransactionEntry[];
  /** Up to `limit` oids that have revisions, in oid order, strictly after `after` (null: from the start). */
  oids(after: Oid | null, limit: number): Oid[];
  /** The holder of `oid`'s commit lock, or undefined. */
  lockHolder(oid: Oid): LockHolder | undefined;
  /** Every lock entry (held or already released), in oid order. */
  locks(): Array<[Oid, LockHolder]>;
  /** False when there is no lock entry at all (cheap: lets a commit skip per-object lock reads). */
  hasLocks(): boolean;
  /** Who is packing the database (set for the duration of a pack), or undefined. */
  packMarker(): LockHolder | undefined;
}

/**
 * Writes inside one atomic backend transaction. Callers validate before their first write, so
 * a backend need not roll back partial writes of a function that throws after writing — but an
 * LMDB backend does anyway.
 */
export interface BackendWriter extends BackendReader {
  /**
   * Identifies this write transaction: when it is the previous write's id + 1, no other writer
   * (storage object or process) committed anything in between.
   */
  writeId(): number;
  putLock(oid: Oid, holder: LockHolder): void;
  deleteLock(oid: Oid): void;
  /**
   * Writes revision (oid, tid) and makes it current (tids only grow, so it is the newest).
   * `isNew`: the caller knows the object has no revision yet (checked in this write, or held
   * unchanged by its commit lock), so the backend need not look for one to supersede.
   */
  putRevision(oid: Oid, tid: Tid, data: Uint8Array | null, isNew?: boolean): void;
  /**
   * Pack's first step, one batch of at most about `limit` (a backend may do it all at once):
   * removes the revisions superseded at or before `upTo` — each one whose successor was
   * committed at or before `upTo`. What was current at `upTo` stays, and everything after it.
   */
  pruneSuperseded(upTo: Tid, limit: number): PruneBatch;
  /**
   * Removes `oid` (pack's GC): its current revision, and any older ones a backend still keeps
   * per object. Pack removes only objects whose newest revision is at or before the tid it
   * pruned up to, so none of their superseded revisions is left by then.
   */
  deleteObject(oid: Oid): void;
  putTransaction(tid: Tid, info: TransactionInfo): void;
  deleteTransaction(tid: Tid): void;
  /** Records the last committed tid (a backend that derives it from its newest transaction record may ignore this). */
  setLastTid(tid: Tid): void;
  setPackTid(tid: Tid): void;
  setPackMarker(holder: LockHolder | null): void;
  /** Reserves `count` consecutive never-used oids and returns the first, as a number. */
  reserveOids(count: number): bigint;
  /** Makes sure oids below `next` are never handed out by `reserveOids` (oids stored directly). */
  raiseNextOid(next: bigint): void;
}

/**
 * How much a write must survive: `commit` writes are durable when the storage is durable (they
 * carry acknowledged commits and pack's deletions); `lock` writes (commit locks, oid blocks)
 * need not be flushed — a lost lock belongs to a dead process, and an oid block reserved by a
 * lock write is flushed by the first durable commit after it (an LMDB durable commit flushes
 * every earlier write), so a committed oid's block is never lost. Commits raise the next oid
 * only past oids a caller chose outside the blocks.
 */
export type WriteKind = 'lock' | 'commit';

/** A storage engine. */
export interface Backend {
  /** Human-readable name: a path, or `memory:<label>`. */
  readonly name: string;
  readonly readOnly: boolean;
  /** Reads of the latest committed state (of this process; `refresh` to see other processes). */
  readonly reader: BackendReader;
  /** Runs `fn` in one atomic write transaction, exclusive among all writers of the database. */
  write<T>(fn: (w: BackendWriter) => T, kind: WriteKind): T;
  /** Makes commits of other processes visible to `reader` (LMDB renews its read snapshot). */
  refresh(): void;
  /** Releases the engine. */
  close(): Promise<void>;
}
