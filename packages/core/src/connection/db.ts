import { encodeRecord, referencesOf } from '../codec/record.ts';
import { ConflictError, ConnectionStateError, InvalidOptionError, ObjectNotFoundError, UnsupportedOperationError } from '../errors.ts';
import { idToBigInt, nowInMicros, parseOid, parseTid, ROOT_OID, tidAfter, tidBefore, tidFromBigInt, tidFromDate, type Oid, type Tid } from '../ids.ts';
import type { HistoryEntry, PackableStorage, PackResult, Storage, UndoableStorage, UndoResult } from '../interfaces.ts';
import { globalRegistry, type ClassRegistry } from '../persistent/class-registry.ts';
import '../persistent/persistent-list.ts';
import '../persistent/persistent-map.ts';
import { TransactionManager, type RunOptions } from '../transaction/transaction-manager.ts';
import type { Transaction } from '../transaction/transaction.ts';
import { registryConflictResolver } from './conflict-resolver.ts';
import { ConflictMonitor, type ConflictEvents, type ConflictStats } from '../conflict/conflict-monitor.ts';
import { Connection, type ConnectionHost } from './connection.ts';
import { openLmdbStorage } from './open-lmdb.ts';
import type { CacheLimits } from './object-cache.ts';

/** Options of `DB.open()`. */
export interface DBOptions {
  /** Target number of non-ghost objects per connection's cache. @defaultValue 5000 */
  cacheSize?: number;
  /** Target estimated bytes (record lengths) of non-ghost objects per connection; 0 = no limit. @defaultValue 0 */
  cacheSizeBytes?: number;
  /** Idle connections kept (with their caches) for reuse by `db.open()`. @defaultValue 7 */
  poolSize?: number;
  /** Where class names are looked up. @defaultValue the global registry (`registerClass`) */
  registry?: ClassRegistry;
}

/** Options of `db.open()`. */
export interface OpenOptions {
  /** The manager whose transactions the connection joins. @defaultValue a new TransactionManager */
  transactionManager?: TransactionManager;
  /** Opens a read-only historical connection seeing the database as of this tid (or date), inclusive. */
  at?: Tid | Date;
  /** Opens a read-only historical connection seeing only transactions strictly before this tid (or date). */
  before?: Tid | Date;
}

/** Options of `db.transact()`. */
export type TransactOptions = RunOptions;

/** Metadata of an undo transaction. */
export interface UndoOptions {
  user?: string;
  /** @defaultValue `"undo <tid>"` */
  description?: string;
}

function checkCount(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new InvalidOptionError(name, value, 'an integer >= 0');
  return value;
}

/**
 * A database (ZODB's DB): a storage, a class registry, a pool of connections and the cache
 * configuration. Open one with `await DB.open(storage | path)`.
 *
 * @example
 * const db = await DB.open(new MemoryStorage());
 * await db.transact((conn) => { conn.root().set('greeting', 'hello'); });
 * await db.close();
 */
export class DB implements ConnectionHost {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly cacheLimits: CacheLimits;
  readonly poolSize: number;
  /** Conflict-resolution counts and events of this DB's commits (see `conflictStats`, `on`). */
  readonly conflicts = new ConflictMonitor();
  readonly #pool: Connection[] = [];
  readonly #open = new Set<Connection>();
  #closed = false;

  private constructor(storage: Storage, options: DBOptions) {
    this.storage = storage;
    this.registry = options.registry ?? globalRegistry;
    this.cacheLimits = { size: checkCount('cacheSize', options.cacheSize, 5000), bytes: checkCount('cacheSizeBytes', options.cacheSizeBytes, 0) };
    this.poolSize = checkCount('poolSize', options.poolSize, 7);
  }

  /**
   * Opens a database on a storage, or on an LMDB directory when given a path (created if
   * missing). Installs the conflict resolver in the storage and creates the root mapping if the
   * database has none (transaction "initial database creation").
   * @throws InvalidOptionError for a bad option (nothing is opened); the storage's errors
   */
  static async open(storageOrPath: Storage | string, options: DBOptions = {}): Promise<DB> {
    const storage = typeof storageOrPath === 'string' ? await openLmdbStorage(storageOrPath) : storageOrPath;
    try {
      const db = new DB(storage, options);
      storage.setConflictResolver(db.conflicts.observe(registryConflictResolver(db.registry)));
      await db.#ensureRoot();
      return db;
    } catch (error) {
      // A storage we opened ourselves must not stay open behind a failed open.
      if (typeof storageOrPath === 'string') await storage.close();
      throw error;
    }
  }

  /**
   * Per class: conflicts merged by the class's resolver (`resolved`) and conflicts that failed a
   * commit (`conflicts`), met by this process's commits since the DB was opened.
   */
  conflictStats(): ConflictStats {
    return this.conflicts.stats();
  }

  /**
   * Listens to conflict resolution: 'resolved' after each merge, 'conflict' after each refusal.
   * @returns a function that removes the listener
   */
  on<E extends keyof ConflictEvents>(event: E, listener: (event: ConflictEvents[E]) => void): () => void {
    return this.conflicts.on(event, listener);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A connection: from the pool (with its cache) or new; or, with `at` / `before`, a new
   * read-only historical connection (not pooled). Close it when done.
   * @throws InvalidOptionError when both `at` and `before` are given, or they lie in the future
   * @throws ConnectionStateError when the DB is closed
   */
  open(options: OpenOptions = {}): Connection {
    if (this.#closed) throw new ConnectionStateError('cannot open a connection: the database is closed');
    const tm = options.transactionManager ?? new TransactionManager();
    const before = this.#historicalBefore(options);
    let conn: Connection;
    if (before !== null) {
      conn = new Connection(this, tm, before);
    } else {
      const pooled = this.#pool.pop();
      if (pooled) pooled.reopen(tm);
      conn = pooled ?? new Connection(this, tm);
    }
    this.#open.add(conn);
    return conn;
  }

  /**
   * Runs `fn` in a transaction on a connection of its own and commits; retries the whole
   * attempt on a transient error (`ConflictError`, `ReadConflictError`) up to `attempts` times
   * (default 3). The connection is closed afterwards.
   * @returns what `fn` returned, once committed
   */
  async transact<T>(fn: (conn: Connection, txn: Transaction) => T | Promise<T>, options: TransactOptions = {}): Promise<T> {
    const tm = new TransactionManager();
    const conn = this.open({ transactionManager: tm });
    try {
      return await tm.run((txn) => fn(conn, txn), options);
    } finally {
      conn.close();
    }
  }

  /** The tid of the last committed transaction. */
  lastTransaction(): Tid {
    return this.storage.lastTransaction();
  }

  /** Up to `size` revisions of an object (default 1, as ZODB), newest first. @throws ObjectNotFoundError */
  history(oid: Oid | string, size?: number): HistoryEntry[] {
    return this.storage.history(parseOid(oid), size);
  }

  /**
   * Undoes a committed transaction by committing a new one that restores the states before it.
   * Connections see the result at their next transaction boundary.
   * @throws UndoError; UnsupportedOperationError when the storage cannot undo
   */
  async undo(tid: Tid | string, options: UndoOptions = {}): Promise<UndoResult> {
    const storage = this.storage as Partial<UndoableStorage> & Storage;
    if (typeof storage.undo !== 'function') throw new UnsupportedOperationError('undo', storage.name);
    const id = parseTid(tid);
    return storage.undo(id, { user: options.user ?? '', description: options.description ?? `undo ${id}`, extension: {} });
  }

  /**
   * Removes revisions that were not current at `at` (a tid, or a date: everything committed up to
   * that millisecond; default: now) and objects unreachable from the root then. Undo of
   * transactions up to `at` becomes impossible.
   * @throws UnsupportedOperationError when the storage cannot pack
   */
  async pack(at?: Tid | Date): Promise<PackResult> {
    const storage = this.storage as Partial<PackableStorage> & Storage;
    if (typeof storage.pack !== 'function') throw new UnsupportedOperationError('pack', storage.name);
    let packTid: Tid;
    if (at === undefined) {
      const now = nowInMicros();
      const last = storage.lastTransaction();
      packTid = idToBigInt(last) > now ? last : tidFromBigInt(now);
    } else {
      packTid = at instanceof Date ? tidBefore(tidFromDate(at.getTime() + 1)) : parseTid(at);
    }
    return storage.pack(packTid, referencesOf);
  }

  /** Closes every connection and the storage. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [...this.#open, ...this.#pool]) conn.discard();
    this.#open.clear();
    this.#pool.length = 0;
    await this.storage.close();
  }

  /** @internal Called by `Connection.close()`. */
  release(conn: Connection): void {
    this.#open.delete(conn);
    if (!this.#closed && !conn.isHistorical && this.#pool.length < this.poolSize) this.#pool.push(conn);
    else conn.discard();
  }

  #historicalBefore(options: OpenOptions): Tid | null {
    const { at, before } = options;
    if (at !== undefined && before !== undefined) throw new InvalidOptionError('at/before', 'both', 'at most one of at and before');
    let tid: Tid;
    if (at !== undefined) tid = at instanceof Date ? tidFromDate(at.getTime() + 1) : tidAfter(parseTid(at));
    else if (before !== undefined) tid = before instanceof Date ? tidFromDate(before) : parseTid(before);
    else return null;
    // A view reaching past the last transaction could still change. Up to now (with the
    // millisecond of slack a Date carries) it is clamped to the last transaction, which is what
    // "as of now" means; further in the future it is refused, as ZODB does.
    const newest = tidAfter(this.storage.lastTransaction());
    if (tid <= newest) return tid;
    if (tid > tidFromBigInt(nowInMicros() + 1000n)) {
      throw new InvalidOptionError(at !== undefined ? 'at' : 'before', at ?? before, 'a tid or date that is not in the future');
    }
    return newest;
  }

  async #ensureRoot(): Promise<void> {
    const storage = this.storage;
    if (this.#rootExists() || storage.readOnly) return;
    const stxn = storage.tpcBegin({ user: '', description: 'initial database creation', extension: {} });
    try {
      storage.store(stxn, ROOT_OID, null, encodeRecord('tidal.PersistentMap', { entries: [] }));
      await storage.tpcVote(stxn);
      await storage.tpcFinish(stxn);
    } catch (error) {
      await storage.tpcAbort(stxn);
      // Another process created it at the same moment: fine.
      if (ConflictError.is(error) && this.#rootExists()) return;
      throw error;
    }
  }

  #rootExists(): boolean {
    try {
      this.storage.load(ROOT_OID);
      return true;
    } catch (error) {
      if (ObjectNotFoundError.is(error)) return false;
      throw error;
    }
  }
}
