import { ConnectionStateError, InvalidObjectReferenceError, NotPersistentError, ReadOnlyHistoryError } from '../errors.ts';
import { parseOid, ROOT_OID, type Oid, type Tid } from '../ids.ts';
import type {
  DataManager,
  DataManagerSavepoint,
  Storage,
  StorageTransaction,
  Synchronizer,
  TransactionHandle,
} from '../interfaces.ts';
import type { ClassRegistry } from '../persistent/class-registry.ts';
import type { Persistent } from '../persistent/persistent.ts';
import { metaOf, type Jar, type PersistentMeta } from '../persistent/persistent-meta.ts';
import type { PersistentMap } from '../persistent/persistent-map.ts';
import type { PersistentState } from '../persistent/state-table.ts';
import type { TransactionManager } from '../transaction/transaction-manager.ts';
import { describeObject, serializeObjects, type PreparedRecord } from './commit-writer.ts';
import { MvccView } from './mvcc.ts';
import { takeSavepoint } from './connection-savepoint.ts';
import { ObjectCache, type CacheLimits } from './object-cache.ts';
import { ObjectLoader } from './object-loader.ts';

/** What a connection needs from its DB. */
export interface ConnectionHost {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly cacheLimits: CacheLimits;
  /** Takes back a closed connection (into the pool, or drops it). */
  release(connection: Connection): void;
}

/** Cache figures of one connection (for monitoring and tests). */
export interface CacheInfo {
  /** Objects with their state in memory (saved, changed, unsaved-added). */
  readonly nonGhostCount: number;
  /** Sum of the estimated sizes of those objects, in bytes. */
  readonly estimatedBytes: number;
  /** Entries of the identity map, ghosts included (dead entries are swept lazily). */
  readonly identityMapSize: number;
}

let connectionIds = 0;

/**
 * A view of the database through which persistent objects are loaded and stored (ZODB's
 * Connection). Made by `db.open()`; one flow of work at a time.
 *
 * - Identity: one object per oid per connection (`get(oid) === get(oid)`).
 * - MVCC: each transaction reads one snapshot, fixed at the transaction boundary (begin, and the
 *   end of every commit or abort, through the transaction manager's synchronizer calls). Commits
 *   by other connections and processes become visible at the next boundary, and the cached
 *   copies they replaced are turned back into ghosts then.
 * - Writes are tracked by the objects themselves; the connection joins the current transaction
 *   on the first one and stores every changed object, and every new object reachable from one,
 *   at commit.
 * - Reads are synchronous; commit is asynchronous (driven by the transaction).
 */
export class Connection implements DataManager, Synchronizer, Jar {
  readonly #id = ++connectionIds;
  readonly #host: ConnectionHost;
  readonly #storage: Storage;
  readonly #registry: ClassRegistry;
  readonly #cache: ObjectCache;
  readonly #view: MvccView;
  readonly #loader: ObjectLoader;
  #tm: TransactionManager;
  #closed = false;
  #joined: TransactionHandle | null = null;
  #registered = new Set<PersistentMeta>();
  #added = new Set<PersistentMeta>();
  readonly #readCurrent = new Map<Oid, Tid>();
  #stxn: StorageTransaction | null = null;
  #stored: PreparedRecord[] = [];
  #resolved: readonly Oid[] = [];
  #ownCommit: { tid: Tid; oids: Set<Oid> } | null = null;

  /** @internal Made by `DB.open()`. */
  constructor(host: ConnectionHost, transactionManager: TransactionManager, historicalBefore: Tid | null = null) {
    this.#host = host;
    this.#storage = host.storage;
    this.#registry = host.registry;
    this.#cache = new ObjectCache(host.cacheLimits);
    this.#view = new MvccView(host.storage, historicalBefore);
    this.#loader = new ObjectLoader(this, host.registry, this.#cache, this.#view);
    this.#tm = transactionManager;
    this.#tm.registerSynch(this);
  }

  /** The transaction manager whose transactions this connection joins. */
  get transactionManager(): TransactionManager {
    return this.#tm;
  }

  /** True after `close()` (until the DB hands the connection out again). */
  get closed(): boolean {
    return this.#closed;
  }

  /** True for a read-only connection opened at a past tid or date. */
  get isHistorical(): boolean {
    return this.#view.historical;
  }

  /** The newest tid this connection's current transaction sees. */
  get snapshotTid(): Tid {
    return this.#view.snapshot;
  }

  /** Cache figures (see `CacheInfo`). */
  cacheInfo(): CacheInfo {
    return { nonGhostCount: this.#cache.nonGhostCount, estimatedBytes: this.#cache.estimatedBytes, identityMapSize: this.#cache.mapSize };
  }

  /** The root mapping (oid `ROOT_OID`). @throws ConnectionStateError when closed */
  root(): PersistentMap {
    this.#assertOpen('get the root of');
    return (this.#cache.get(ROOT_OID) ?? this.#loader.loadNew(ROOT_OID)) as PersistentMap;
  }

  /**
   * The object with this oid, as of this transaction's snapshot: the one already in this
   * connection (same identity every time), or loaded now.
   * @throws ObjectNotFoundError for an oid the database does not have
   * @throws ReadConflictError when the object does not exist in this transaction's snapshot
   * @throws ConnectionStateError when closed; InvalidIdError for a malformed oid
   */
  get<T extends object = Persistent>(oid: Oid | string): T {
    this.#assertOpen('get an object from');
    // Cached objects are keyed by valid oids: a hit needs no parsing.
    const cached = this.#cache.get(oid as Oid);
    if (cached !== undefined) return cached as T;
    const id = parseOid(oid);
    return (this.#cache.get(id) ?? this.#loader.loadNew(id)) as T;
  }

  /**
   * Adds a new object now: it gets its oid at once and is stored at the next commit even if
   * nothing refers to it. Adding an object of this connection again does nothing.
   * @throws NotPersistentError if `obj` is not persistent
   * @throws InvalidObjectReferenceError if it belongs to another connection
   * @throws ReadOnlyHistoryError on a historical connection; ConnectionStateError when closed
   */
  add(obj: object): void {
    this.#assertOpen('add an object to');
    const meta = this.#metaOf(obj);
    if (meta.jar === this) return;
    if (meta.jar !== null) {
      throw new InvalidObjectReferenceError(`cannot add ${describeObject(this.#registry, meta)}: it belongs to another connection`);
    }
    if (this.#view.historical) throw new ReadOnlyHistoryError('cannot add objects through a historical connection');
    this.#join();
    this.adopt(meta);
  }

  /**
   * Asks that `obj` still be current when this transaction commits (ZODB's readCurrent): if
   * another transaction changed it since this one read it, the commit fails with
   * `ReadConflictError`. Use it to close write skew on objects a decision was based on.
   * @throws NotPersistentError, InvalidObjectReferenceError (another connection's object), ConnectionStateError
   */
  readCurrent(obj: object): void {
    this.#assertOpen('use');
    const meta = this.#metaOf(obj);
    if (meta.jar !== this) throw new InvalidObjectReferenceError(`readCurrent: ${describeObject(this.#registry, meta)} is not an object of this connection`);
    if (meta.state === 'unsaved') return;
    meta.activate();
    this.#join();
    this.#readCurrent.set(meta.oid as Oid, meta.serial as Tid);
  }

  /** Turns every saved object into a ghost, releasing their memory. */
  cacheMinimize(): void {
    this.#cache.minimize();
  }

  /** Shrinks the cache to its limits now (it also happens at every transaction boundary). */
  cacheGC(): void {
    this.#cache.gc();
  }

  /**
   * Closes the connection: it goes back to the DB's pool with its cache (the next `db.open()` may
   * reuse it). Idempotent. After close, every use throws `ConnectionStateError`, including
   * loading a ghost obtained through it.
   * @throws ConnectionStateError when the connection has uncommitted changes (commit or abort first)
   */
  close(): void {
    if (this.#closed) return;
    if (this.#hasChanges()) {
      throw new ConnectionStateError('cannot close a connection with uncommitted changes: commit or abort the transaction first');
    }
    this.#tm.unregisterSynch(this);
    this.#cache.gc();
    this.#closed = true;
    this.#host.release(this);
  }

  /** @internal Hands a pooled connection out again, with a (possibly new) transaction manager. */
  reopen(transactionManager: TransactionManager): void {
    this.#closed = false;
    this.#tm = transactionManager;
    this.#sync();
    this.#tm.registerSynch(this);
  }

  /** @internal The DB is closing: the connection becomes unusable. */
  discard(): void {
    this.#tm.unregisterSynch(this);
    this.#closed = true;
    this.#cache.clear();
  }

  // ── Jar: called by persistent objects ──────────────────────────────────────────────────────

  /** @internal */
  setstate(meta: PersistentMeta): void {
    if (this.#closed) throw new ConnectionStateError(`cannot load ${describeObject(this.#registry, meta)}: its connection is closed`);
    this.#loader.load(meta);
  }

  /** @internal */
  register(meta: PersistentMeta): void {
    if (this.#closed) throw new ConnectionStateError(`cannot change ${describeObject(this.#registry, meta)}: its connection is closed`);
    this.#join();
    this.#registered.add(meta);
    this.#cache.touch(meta);
  }

  /** @internal */
  stateChanged(meta: PersistentMeta, from: PersistentState, to: PersistentState): void {
    this.#cache.stateChanged(meta, from, to);
  }

  /** @internal Implicit add (also used by `add`): the object gets an oid and this connection. */
  adopt(meta: PersistentMeta): void {
    meta.oid = this.#storage.newOid();
    meta.jar = this;
    this.#added.add(meta);
    this.#cache.add(meta);
  }

  // ── DataManager: called by the transaction ─────────────────────────────────────────────────

  sortKey(): string {
    return `${this.#storage.sortKey()}:connection:${String(this.#id).padStart(10, '0')}`;
  }

  tpcBegin(txn: TransactionHandle): void {
    if (this.#view.historical) {
      throw new ReadOnlyHistoryError(`cannot commit changes made through a historical connection (reading before tid ${this.#view.snapshot})`);
    }
    this.#stxn = this.#storage.tpcBegin({ user: txn.user, description: txn.description, extension: { ...txn.extension } });
  }

  commit(): void {
    const stxn = this.#stxn as StorageTransaction;
    // Serialize everything first: a refused value must leave nothing half-stored.
    const records = serializeObjects(
      { jar: this, registry: this.#registry, adopt: (meta) => this.adopt(meta) },
      [...this.#registered, ...this.#added],
    );
    this.#stored = records;
    const written = new Set<Oid>();
    for (const r of records) {
      this.#storage.store(stxn, r.oid, r.readTid, r.data);
      written.add(r.oid);
    }
    for (const [oid, tid] of this.#readCurrent) if (!written.has(oid)) this.#storage.checkCurrent(stxn, oid, tid);
  }

  async tpcVote(): Promise<void> {
    this.#resolved = await this.#storage.tpcVote(this.#stxn as StorageTransaction);
  }

  async tpcFinish(): Promise<void> {
    const stxn = this.#stxn as StorageTransaction;
    if (this.#stored.length === 0) {
      // Only readCurrent checks: they held until now; there is nothing to write.
      await this.#storage.tpcAbort(stxn);
    } else {
      this.#committed(await this.#storage.tpcFinish(stxn), this.#resolved);
    }
    this.#endTransaction();
  }

  async tpcCommitOnePhase(): Promise<void> {
    const stxn = this.#stxn as StorageTransaction;
    // Without the storage's one-phase commit, or with only readCurrent checks (which the vote
    // verifies and nothing is written for), two phases it is.
    if (this.#storage.tpcCommitOnePhase === undefined || this.#stored.length === 0) {
      await this.tpcVote();
      await this.tpcFinish();
      return;
    }
    const { tid, resolved } = await this.#storage.tpcCommitOnePhase(stxn);
    this.#committed(tid, resolved);
    this.#endTransaction();
  }

  /** Our stored objects are now saved at `tid`; those the storage merged are reloaded. */
  #committed(tid: Tid, resolvedOids: readonly Oid[]): void {
    const resolved = new Set(resolvedOids);
    const own = new Set<Oid>();
    for (const { meta, oid, data } of this.#stored) {
      meta.serial = tid;
      this.#cache.resize(meta, data.length);
      meta.transition('commit');
      if (resolved.has(oid)) meta.invalidate();
      else own.add(oid);
    }
    this.#ownCommit = { tid, oids: own };
  }

  async tpcAbort(): Promise<void> {
    const stxn = this.#stxn;
    this.#stxn = null;
    try {
      if (stxn !== null) await this.#storage.tpcAbort(stxn);
    } finally {
      this.#abortChanges();
    }
  }

  abort(txn: TransactionHandle): void {
    // Cleanup calls for another transaction than the one we joined must not drop our changes.
    if (this.#joined !== null && this.#joined !== txn) return;
    // The storage transaction (if any) is ended by tpcAbort, which follows.
    const stxn = this.#stxn;
    this.#abortChanges();
    this.#stxn = stxn;
  }

  savepoint(): DataManagerSavepoint {
    return takeSavepoint({
      registered: () => this.#registered,
      added: () => this.#added,
      replace: (registered, added) => {
        this.#registered = registered;
        this.#added = added;
      },
      unadd: (meta) => this.#unadd(meta),
    });
  }

  // ── Synchronizer: called by the transaction manager ────────────────────────────────────────

  newTransaction(): void {
    this.#sync();
  }

  afterCompletion(): void {
    this.#sync();
    this.#cache.gc();
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  #assertOpen(what: string): void {
    if (this.#closed) throw new ConnectionStateError(`cannot ${what} a closed connection`);
  }

  #metaOf(obj: object): PersistentMeta {
    const meta = metaOf(obj);
    if (meta === undefined) {
      const type = obj === null ? 'null' : typeof obj !== 'object' ? typeof obj : (obj.constructor as { name?: string } | undefined)?.name || 'object';
      throw new NotPersistentError(type);
    }
    return meta;
  }

  #hasChanges(): boolean {
    return this.#joined !== null && (this.#registered.size > 0 || this.#added.size > 0 || this.#readCurrent.size > 0);
  }

  #join(): void {
    const txn = this.#tm.get();
    if (this.#joined === txn) return;
    txn.join(this);
    this.#joined = txn;
  }

  /** Moves a current connection's snapshot forward, invalidating what others changed since. */
  #sync(): void {
    if (this.#closed || this.#view.historical || this.#hasChanges()) return;
    const own = this.#ownCommit;
    this.#ownCommit = null;
    const inv = this.#view.poll();
    // Objects this connection just committed are already current in memory; skipping their
    // invalidation is safe only when nothing was committed after our own transaction.
    const keep = own !== null && inv.lastTid === own.tid ? (m: PersistentMeta) => own.oids.has(m.oid as Oid) : undefined;
    if (inv.oids === null) this.#cache.invalidateAll(keep);
    // A poll that reports our own commit and nothing else (it always includes ours) finds nothing stale.
    else if (keep === undefined || inv.oids.size !== own?.oids.size) this.#cache.invalidate(inv.oids, keep);
  }

  #unadd(meta: PersistentMeta): void {
    this.#cache.remove(meta);
    meta.transition('unadd');
    meta.oid = null;
    meta.jar = null;
    meta.serial = null;
  }

  #abortChanges(): void {
    for (const meta of this.#registered) if (meta.state !== 'unsaved') meta.invalidate();
    for (const meta of this.#added) this.#unadd(meta);
    this.#endTransaction();
  }

  #endTransaction(): void {
    this.#registered = new Set();
    this.#added = new Set();
    this.#readCurrent.clear();
    this.#stored = [];
    this.#resolved = [];
    this.#stxn = null;
    this.#joined = null;
  }
}
