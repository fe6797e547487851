/**
 * The contracts of @tidaldb/core, in the manner of ZODB's `interfaces.py`: declarations and doc
 * comments only. Each member says who calls it, in what order, what it guarantees and what it throws.
 *
 * Layers, top to bottom: persistent objects → Connection / DB (MVCC, object cache) → transactions
 * (two-phase commit over data managers) → Storage (bytes by oid and tid). Each layer uses only the
 * one below it through the contracts here.
 */
import type { Oid, Tid } from './ids.ts';

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Storage layer: revisions of opaque bytes, keyed by (oid, tid)
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** What a committed transaction records about itself (ZODB's TransactionMetaData). */
export interface TransactionMetadata {
  /** Who committed, as the application names them (`"/ alice"` in Zope's style, or any string). */
  readonly user: string;
  /** Free text; `Transaction.note()` appends lines to it. */
  readonly description: string;
  /** Application data; must be encodable by the codec (plain data). */
  readonly extension: Readonly<Record<string, unknown>>;
}

/** A revision as returned by `load`. */
export interface StoredRevision {
  /** The record bytes, exactly as stored. */
  readonly data: Uint8Array;
  /** The tid of the transaction that wrote this revision (the object's serial). */
  readonly tid: Tid;
}

/** A revision as returned by `loadBefore`: when it became current, and until when. */
export interface RevisionInterval extends StoredRevision {
  /** The tid of the next revision of the same object, or null if this one is current. */
  readonly nextTid: Tid | null;
}

/** One entry of `history()`, newest first. */
export interface HistoryEntry extends TransactionMetadata {
  readonly tid: Tid;
  /** The commit time `tid` stands for. */
  readonly time: Date;
  /** Size of the record in bytes (0 when the revision holds no data: an undone creation). */
  readonly size: number;
}

/** One object revision inside a transaction record. */
export interface DataRecord {
  readonly oid: Oid;
  readonly tid: Tid;
  /** The state, or null when this revision removes the object (undo of its creation). */
  readonly data: Uint8Array | null;
}

/** One committed transaction, as yielded by `iterator()`. */
export interface TransactionRecord extends TransactionMetadata {
  readonly tid: Tid;
  /** The revisions it wrote, in oid order. Revisions removed by pack are absent. */
  readonly records: readonly DataRecord[];
}

/** Changes committed after a given tid, as reported by `Storage.poll`. */
export interface Invalidations {
  /** The newest tid the report covers: use it as `after` for the next poll. */
  readonly lastTid: Tid;
  /**
   * Oids written by transactions in (after, lastTid], or null when the storage can no longer say
   * (history before `after` was packed away): the caller must then drop every cached object.
   */
  readonly oids: ReadonlySet<Oid> | null;
}

/**
 * A handle for one storage-level transaction, returned by `tpcBegin` and passed to every later
 * 2PC call. Several can be in flight at once (one per connection): that is what lets concurrent
 * commits share one durable flush. Opaque to callers.
 */
export interface StorageTransaction {
  readonly metadata: TransactionMetadata;
}

/** Input to a conflict resolver: the three revisions of one object, as record bytes. */
export interface ConflictInput {
  readonly oid: Oid;
  /** The revision the committer read (null when the committer believed the object new). */
  readonly old: Uint8Array | null;
  /** The revision committed by someone else since `old`. */
  readonly committed: Uint8Array;
  /** The committer's new revision. */
  readonly mine: Uint8Array;
  readonly readTid: Tid | null;
  readonly committedTid: Tid;
}

/**
 * Merges conflicting revisions. The DB installs one in its storage (it knows the classes; the storage
 * only knows bytes), and the storage calls it inside the commit, so the merge sees the committed
 * state that is really current — also when the competing commit came from another process.
 */
export interface ConflictResolver {
  /**
   * @returns merged record bytes to store in place of `input.mine`.
   * @throws any error when the revisions cannot be merged; the storage then fails the commit with a
   *   `ConflictError` whose `cause` is that error and whose `reason` is its message.
   */
  resolve(input: ConflictInput): Uint8Array;
}

/** Lists the oids a record refers to, without instantiating user classes (pack's GC uses it). */
export type ReferenceFinder = (data: Uint8Array) => Iterable<Oid>;

/**
 * The storage contract: a dumb map (oid, tid) → bytes plus per-transaction metadata, with serial
 * checks and two-phase commit. Persistence, caching and MVCC live above it, in the Connection.
 *
 * Reads are synchronous (LMDB reads are memory-mapped; ghost activation needs them). Commit is
 * asynchronous, so concurrent commits can share a durable flush.
 *
 * Protocol for one commit, per `StorageTransaction`:
 * `tpcBegin` → (`store` | `checkCurrent`)* → `tpcVote` → `tpcFinish`, or `tpcAbort` at any point.
 * Wrap an implementation in `guardStorage()` and this order is enforced for it.
 *
 * Ordering guarantee: tids are strictly increasing per database, across processes. Any two results
 * observed in order for the same oid (or for the database) have non-decreasing tids.
 */
export interface Storage {
  /** Human-readable name (a path for LMDB, `memory:<label>` for MemoryStorage). */
  readonly name: string;
  /** Fixed at open: true when every write operation throws `ReadOnlyError`. */
  readonly readOnly: boolean;
  /** True after `close()`. Every later operation throws `StorageClosedError`. */
  readonly closed: boolean;

  /** A string unique among the storages taking part in one transaction; orders 2PC. */
  sortKey(): string;

  /**
   * Installs the resolver used when a stored object's serial is stale. The DB calls this once at
   * open with its class registry. Without a resolver every stale serial is a `ConflictError`.
   */
  setConflictResolver(resolver: ConflictResolver | null): void;

  /**
   * The current revision of `oid`.
   * @throws ObjectNotFoundError if the object does not exist (or its creation was undone)
   * @throws CorruptRecordError if the stored bytes fail their checksum
   */
  load(oid: Oid): StoredRevision;

  /**
   * The newest revision of `oid` with a tid strictly less than `before` — the state as of the
   * snapshot `before` (MVCC reads use `loadBefore(oid, tidAfter(snapshotTid))`).
   * @returns the revision with `nextTid` (the tid that replaced it, or null if current), or null
   *   when the object has no revision before `before` (created later, or that revision was packed)
   * @throws ObjectNotFoundError if the storage has no such object (never had it, or pack removed
   *   it), or the revision found holds no data (its creation was undone)
   */
  loadBefore(oid: Oid, before: Tid): RevisionInterval | null;

  /**
   * The exact revision (oid, tid).
   * @throws ObjectNotFoundError if that revision does not exist (never written, or packed)
   */
  loadSerial(oid: Oid, tid: Tid): Uint8Array;

  /**
   * A new, never-used oid. Oids are unique per database across processes; gaps are allowed.
   * @throws ReadOnlyError on a read-only storage
   */
  newOid(): Oid;

  /** The tid of the last committed transaction (`ZERO_TID` for an empty database). */
  lastTransaction(): Tid;

  /**
   * Reports the oids written since `after` by any process. The Connection calls it at each
   * transaction boundary to invalidate its cache (a process learns about other processes' commits
   * this way; there is no side channel). A storage may answer every call of one synchronous
   * stretch of code (up to the next microtask checkpoint) from one snapshot, unless this process
   * wrote in between: such code cannot have heard of a commit made meanwhile (LmdbStorage does).
   */
  poll(after: Tid): Invalidations;

  /**
   * Starts a storage transaction.
   * @throws ReadOnlyError on a read-only storage
   */
  tpcBegin(metadata: TransactionMetadata): StorageTransaction;

  /**
   * Queues a new revision of `oid` for this transaction. Nothing is visible until `tpcFinish`.
   * @param readTid the tid the caller read the object at (its serial), or null for a new object.
   *   If it is not the object's current tid at vote time the revision conflicts: it is merged by the
   *   conflict resolver or the vote fails with `ConflictError`.
   * @throws StorageTransactionError if `txn` is not in its store phase (unknown, voted, finished)
   */
  store(txn: StorageTransaction, oid: Oid, readTid: Tid | null, data: Uint8Array): void;

  /**
   * Asks that `oid` still be at `readTid` when the transaction commits (ZODB's
   * checkCurrentSerialInTransaction). If the vote succeeds, it stays current until finish or abort.
   * @throws StorageTransactionError if `txn` is not in its store phase
   */
  checkCurrent(txn: StorageTransaction, oid: Oid, readTid: Tid): void;

  /**
   * First phase: validates every serial, runs conflict resolution and locks the written and
   * checked objects against other committers (in this and other processes) until finish or abort.
   * After a successful vote, `tpcFinish` must not fail for reasons of content.
   * @returns the oids whose revisions were replaced by a merged state; the caller must reload them
   * @throws ConflictError (no resolver, or the resolver threw), ReadConflictError (a `checkCurrent`
   *   oid changed), CommitLockTimeoutError; the transaction is then only fit for `tpcAbort`
   * @throws StorageTransactionError if `txn` is not in its store phase (unknown, already voted, ended)
   */
  tpcVote(txn: StorageTransaction): Promise<Oid[]>;

  /**
   * Second phase: assigns the tid, writes the revisions and transaction record, and returns once
   * they are durable (unless the storage was opened with weaker durability). Concurrent finishes
   * may share one flush.
   * @returns the tid of the new transaction
   * @throws StorageTransactionError if `txn` did not vote successfully
   */
  tpcFinish(txn: StorageTransaction): Promise<Tid>;

  /**
   * Optional: vote and finish in one step, for a transaction whose only participant is this
   * storage (the one-phase-commit optimisation of XA and JTA). Validation, conflict resolution and
   * the write happen in one atomic backend write, so no commit locks are taken and concurrent
   * one-phase commits can share a flush — a conflicting one is resolved against the revision
   * written just before it in the same flush. Waits, like `tpcVote`, for objects locked by voted
   * two-phase transactions. A failure leaves nothing written; the transaction is then only fit
   * for `tpcAbort`.
   * @returns the tid of the new transaction and the oids whose revisions were replaced by a merged
   *   state (the caller must reload them)
   * @throws what `tpcVote` throws, and what `tpcFinish` throws for an engine failure
   * @throws StorageTransactionError if `txn` is not in its store phase
   */
  tpcCommitOnePhase?(txn: StorageTransaction): Promise<OnePhaseResult>;

  /**
   * Abandons the transaction and releases its locks. Safe in any phase before finish; a no-op for
   * an unknown or already-ended transaction.
   */
  tpcAbort(txn: StorageTransaction): Promise<void>;

  /**
   * Up to `size` revisions of `oid`, newest first, with their transactions' metadata.
   * @throws ObjectNotFoundError for an unknown oid
   */
  history(oid: Oid, size?: number): HistoryEntry[];

  /**
   * Committed transactions with `from ≤ tid ≤ to` (both inclusive, both optional), in tid order.
   * A snapshot: transactions committed after the call are not included.
   */
  iterator(from?: Tid, to?: Tid): IterableIterator<TransactionRecord>;

  /** Releases resources. Idempotent. Pending transactions are aborted. */
  close(): Promise<void>;
}

/** Result of `Storage.tpcCommitOnePhase`. */
export interface OnePhaseResult {
  /** The tid of the new transaction. */
  readonly tid: Tid;
  /** The oids whose revisions the conflict resolver merged. */
  readonly resolved: Oid[];
}

/** Result of `UndoableStorage.undo`. */
export interface UndoResult {
  /** The tid of the new transaction that performed the undo. */
  readonly tid: Tid;
  /** The oids whose state it restored. */
  readonly oids: readonly Oid[];
}

/** A storage that can undo a committed transaction by committing a new one. */
export interface UndoableStorage extends Storage {
  /**
   * Restores, for every object `tid` wrote, the state it had before `tid`, in a new transaction.
   * An object changed again since is merged with the conflict resolver (old = the undone
   * revision, committed = current, mine = the state before `tid`); if that fails nothing is
   * written. Undoing a creation leaves a revision without data: loads of it then throw
   * `ObjectNotFoundError`.
   * @throws UndoError for an unknown or packed tid or an unmergeable later change
   * @throws ReadOnlyError on a read-only storage
   */
  undo(tid: Tid, metadata: TransactionMetadata): Promise<UndoResult>;
}

/** Result of `PackableStorage.pack`. */
export interface PackResult {
  /** Revisions removed because they were no longer current at the pack tid. */
  readonly revisionsRemoved: number;
  /** Objects removed entirely because they were unreachable from the root at the pack tid. */
  readonly objectsRemoved: number;
  /** Transaction records removed because nothing of them remained. */
  readonly transactionsRemoved: number;
}

/** A storage whose old revisions can be discarded. */
export interface PackableStorage extends Storage {
  /**
   * Drops every revision that was not current as of `packTid` (revisions newer than it are
   * kept), then removes objects that are unreachable from the root through the remaining
   * revisions. Transactions after `packTid` keep everything; undo of a tid before it becomes
   * impossible, and `poll(after)` with `after` before it reports `oids: null`.
   * Commits may continue while a pack runs.
   * @throws ReadOnlyError on a read-only storage
   */
  pack(packTid: Tid, references?: ReferenceFinder): Promise<PackResult>;
}

/** A storage that implements every optional capability (both built-in storages do). */
export type FullStorage = UndoableStorage & PackableStorage;

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Transaction layer: two-phase commit over data managers
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** The states of a `Transaction` (transaction package's status machine). */
export type TransactionStatus = 'active' | 'committing' | 'committed' | 'doomed' | 'commit-failed' | 'aborted';

/**
 * A participant in a transaction (ZODB's IDataManager): a Connection, or any resource that wants
 * all-or-nothing with the object store. The transaction calls, in this order, for all joined data
 * managers sorted by `sortKey()`: `tpcBegin` on each, then `commit` on each, then `tpcVote` on
 * each, then `tpcFinish` on each. If anything fails before the finishes, `abort` is called on the
 * managers that had not voted, then `tpcAbort` on all. A manager alone in its transaction that
 * has `tpcCommitOnePhase` gets that call instead of `tpcVote` and `tpcFinish`.
 */
export interface DataManager {
  /** Total order among data managers of one transaction; must be unique. */
  sortKey(): string;
  /**
   * Drops this manager's changes in the transaction outside 2PC (transaction abort). Also called,
   * as in ZODB, to leave managers clean after after-commit or after-abort hooks ran — even after a
   * successful `tpcFinish` — and by a savepoint rollback for a manager that joined after the
   * savepoint: it must be harmless when there is nothing to drop.
   */
  abort(txn: TransactionHandle): void | Promise<void>;
  tpcBegin(txn: TransactionHandle): void | Promise<void>;
  /** Sends the changes to the storage (store calls). */
  commit(txn: TransactionHandle): void | Promise<void>;
  /** Last chance to veto by throwing. */
  tpcVote(txn: TransactionHandle): void | Promise<void>;
  /** Makes the changes permanent. Must not fail for content reasons after a successful vote. */
  tpcFinish(txn: TransactionHandle): void | Promise<void>;
  /** Abandons a two-phase commit at any point before finish. */
  tpcAbort(txn: TransactionHandle): void | Promise<void>;
  /**
   * Optional: vote and finish in one step, called instead of `tpcVote` then `tpcFinish` when this
   * manager is the only one in the transaction (one-phase commit: no other participant needs the
   * chance to veto). A failure is handled as a failed vote.
   */
  tpcCommitOnePhase?(txn: TransactionHandle): void | Promise<void>;
  /** Optional: a savepoint of this manager's changes; without it `savepoint()` fails unless optimistic. */
  savepoint?(): DataManagerSavepoint;
  /** Optional: whether `error` is worth retrying the transaction for (besides TransientError). */
  shouldRetry?(error: unknown): boolean;
}

/** A data manager's half of a savepoint. */
export interface DataManagerSavepoint {
  /** Restores the manager's changes to what they were when the savepoint was taken. */
  rollback(): void;
}

/** Told about transaction boundaries (a Connection syncs its MVCC snapshot in `newTransaction`). */
export interface Synchronizer {
  newTransaction?(txn: TransactionHandle): void;
  beforeCompletion?(txn: TransactionHandle): void;
  afterCompletion?(txn: TransactionHandle): void;
}

/** What data managers see of a transaction. */
export interface TransactionHandle {
  readonly status: TransactionStatus;
  readonly user: string;
  readonly description: string;
  readonly extension: Readonly<Record<string, unknown>>;
  /** Adds a data manager; called by a Connection on the first change in the transaction. */
  join(dm: DataManager): void;
  /** Per-transaction scratch data keyed by object (transaction package's set_data / data). */
  setData(key: object, value: unknown): void;
  getData(key: object): unknown;
}
