/**
 * The LMDB backend (lmdb-js): the layout of lmdb-layout.ts in one environment.
 *
 * Writes: every backend write is one `transactionSync` with a block body (a callback returning a
 * promise would defer the commit), so a thrown error rolls everything back and each write is
 * atomic and serialized across processes by LMDB's writer lock; reads inside it see the latest
 * committed state of every process. Each also holds the database's open gate (open-gate.ts), so
 * no process can open the environment while it commits. Writes of kind `lock` (commit locks, oid blocks) are not
 * flushed; commits are synchronous durable commits unless the storage was opened with
 * `durability: 'none'`.
 *
 * Reads outside writes use lmdb-js's shared read transaction, which lmdb-js resets after a
 * timer tick (`setTimeout(0)`) and `refresh()` resets at once; no read transaction is held across
 * turns (open read transactions make the file grow).
 *
 * `refresh()` renews the snapshot at most once per synchronous stretch of code (until the next
 * microtask checkpoint), unless this process wrote since: code that runs without yielding cannot
 * have learned of another process's commit in between (that takes an I/O callback, which runs
 * after a checkpoint), so a second renewal could not change what it may observe. This is
 * lmdb-js's own rule for plain reads, and it makes opening connections in a loop cheap.
 */
import { TransactionFlags, type RootDatabase } from 'lmdb';
import { ZERO_TID, idToBigInt, oidFromBigInt, tidAfter, type Oid, type Tid } from '../../ids.ts';
import type { Backend, BackendWriter, LockHolder, PruneBatch, RevisionData, TransactionEntry, TransactionInfo, WriteKind } from '../backend.ts';
import { lmdbCall, mapLmdbError } from './lmdb-errors.ts';
import type { OpenGate } from './open-gate.ts';
import type { Db, LmdbEnvironment } from './lmdb-environment.ts';
import {
  META,
  ascii,
  decodeLock,
  decodeTransaction,
  encodeLock,
  encodeTransaction,
  type DbName,
} from './lmdb-layout.ts';
import { currentTidOf, decodeCurrent, encodeCurrent, previousOf } from './record-bytes.ts';
import { ChunkBuilder, chunkEntry, chunkKey, chunkTids } from './revision-chunks.ts';

/** lmdb-js's native handle of a database (not in its typings). */
interface DbiStat {
  readonly db: { stat(): { entryCount: number } };
}

const FLAGS_DURABLE = (TransactionFlags.ABORTABLE | TransactionFlags.SYNCHRONOUS_COMMIT) as TransactionFlags;
const FLAGS_NO_FLUSH = (TransactionFlags.ABORTABLE | TransactionFlags.NO_SYNC_FLUSH) as TransactionFlags;

/** Bound of the current tids a backend remembers (about 100 bytes each). */
const KNOWN_TIDS_MAX = 100_000;

/** Writes by every LmdbBackend of this process (several may share a database): any one makes every refreshed snapshot stale. */
let writesInProcess = 0;

/** Backend of LmdbStorage. */
export class LmdbBackend implements Backend, BackendWriter {
  readonly reader = this;
  readonly #env: RootDatabase<Buffer, string>;
  readonly #gate: OpenGate;
  readonly #db: Record<DbName, Db>;
  readonly #commitFlags: TransactionFlags;
  /** Id of the write transaction running now (0 outside writes). */
  #writeId = 0;
  /** Id of this backend's last write that committed something, and what it knew then. */
  #knownId = -1;
  #knownLastTid: Tid | null = null;
  #knownPackMarker: LockHolder | undefined | null = null;
  /**
   * Current tids this backend wrote, true while no one else has written since (like the last
   * tid): a commit's serial checks of objects this process wrote last need no read. Bounded by
   * starting over when it grows past `KNOWN_TIDS_MAX`.
   */
  readonly #knownTids = new Map<Oid, Tid>();
  #wrote = false;
  /** `writesInProcess` when this stretch of code refreshed, or -1 once a checkpoint passed. */
  #refreshedAt = -1;
  /** The last tid read since that refresh. */
  #refreshedLastTid: Tid | null = null;
  /** The chunk of superseded revisions this write is filling (stored before any read of `revisions`). */
  readonly #chunks = new ChunkBuilder();
  readonly #expire = (): void => {
    this.#refreshedAt = -1;
  };

  /** Wraps an environment opened (and checked) by `openEnvironment`. */
  constructor(
    readonly name: string,
    readonly readOnly: boolean,
    { env, dbs, gate }: LmdbEnvironment,
    durable: boolean,
  ) {
    this.#env = env;
    this.#gate = gate;
    this.#db = dbs;
    this.#commitFlags = durable ? FLAGS_DURABLE : FLAGS_NO_FLUSH;
  }

  write<T>(fn: (w: BackendWriter) => T, kind: WriteKind): T {
    let result: T | undefined;
    try {
      // Block body: returning fn's value from the arrow could hand lmdb-js a promise.
      this.#gate.pass(() => this.#env.transactionSync(() => {
        this.#writeId = this.#env.getWriteTxnId();
        this.#wrote = false;
        // What we knew stays true only if no one else committed since our last write.
        if (this.#writeId !== this.#knownId + 1) this.#forget();
        else if (this.#knownTids.size > KNOWN_TIDS_MAX) this.#knownTids.clear();
        result = fn(this);
        this.#flushChunk();
      }, kind === 'commit' ? this.#commitFlags : FLAGS_NO_FLUSH));
      // An empty write consumes no transaction id: only a real one moves what we know forward.
      if (this.#wrote) this.#knownId = this.#writeId;
      writesInProcess += 1;
    } catch (err) {
      writesInProcess += 1;
      this.#forget();
      // lmdb-js renews the read snapshot after a commit, not after an abort: without this, a
      // load after a failed vote could answer older than the revision the vote's error named.
      this.#env.resetReadTxn();
      throw mapLmdbError(err, kind === 'commit' ? 'commit' : 'write', this.name);
    }
    finally {
      this.#writeId = 0;
      this.#chunks.reset();
    }
    return result as T;
  }

  /** Drops what this backend knew of the database without reading it (see `#knownId`). */
  #forget(): void {
    this.#knownLastTid = null;
    this.#knownPackMarker = null;
    this.#knownTids.clear();
  }

  writeId(): number {
    return this.#writeId;
  }

  refresh(): void {
    if (this.#refreshedAt === writesInProcess) return;
    this.#env.resetReadTxn();
    this.#refreshedLastTid = null;
    if (this.#refreshedAt === -1) queueMicrotask(this.#expire);
    this.#refreshedAt = writesInProcess;
  }

  async close(): Promise<void> {
    await this.#env.close();
    await this.#gate.close();
  }

  #meta(key: string): string | undefined {
    return this.#db.meta.getBinaryFast(key)?.toString('latin1');
  }

  #putMeta(key: string, value: string): void {
    this.#put(this.#db.meta, key, ascii(value));
  }

  // Every change goes through these two, so a write knows whether it changed anything.
  #put(db: Db, key: string, value: Buffer): void {
    db.putSync(key, value);
    this.#wrote = true;
  }

  #remove(db: Db, key: string): void {
    if (db.removeSync(key)) this.#wrote = true;
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────────

  lastTid(): Tid {
    // Inside a write, a cursor costs more than the whole rest of a small commit: use what this
    // backend knows when no one else has written since.
    if (this.#writeId !== 0 && this.#knownLastTid !== null) return this.#knownLastTid;
    const fresh = this.#writeId === 0 && this.#refreshedAt === writesInProcess;
    if (fresh && this.#refreshedLastTid !== null) return this.#refreshedLastTid;
    const last = lmdbCall('read', this.name, () => {
      for (const key of this.#db.transactions.getKeys({ reverse: true, limit: 1 })) return key as Tid;
      return ZERO_TID;
    });
    if (this.#writeId !== 0) this.#knownLastTid = last;
    else if (fresh) this.#refreshedLastTid = last;
    return last;
  }

  packTid(): Tid {
    return lmdbCall('read', this.name, () => (this.#meta(META.packTid) ?? ZERO_TID) as Tid);
  }

  current(oid: Oid): RevisionData | undefined {
    try {
      const value = this.#db.current.getBinaryFast(oid);
      return value === undefined ? undefined : decodeCurrent(oid, value);
    } catch (err) {
      throw mapLmdbError(err, 'load', this.name);
    }
  }

  /**
   * The revisions of `oid`, newest first, along the links from its current one; the walk ends at
   * the first revision or where pack removed the older ones.
   */
  *#chain(oid: Oid): Generator<RevisionData, void, undefined> {
    this.#flushChunk();
    let value = this.#db.current.getBinaryFast(oid);
    let start = 0;
    let end = value?.length ?? 0;
    while (value !== undefined) {
      const rev = decodeCurrent(oid, value, start, end);
      // Read the link now: the buffer is lmdb-js's, reused by whatever read comes next.
      const prev = previousOf(value, start);
      yield rev;
      if (prev === null) return;
      value = this.#db.revisions.getBinaryFast(chunkKey(rev.tid, prev.chunk));
      if (value !== undefined) ({ start, end } = chunkEntry(value, prev.slot, oid, prev.tid));
    }
  }

  currentTid(oid: Oid): Tid | undefined {
    if (this.#writeId !== 0) {
      const known = this.#knownTids.get(oid);
      if (known !== undefined) return known;
    }
    try {
      const value = this.#db.current.getBinaryFast(oid);
      return value === undefined ? undefined : currentTidOf(value);
    } catch (err) {
      throw mapLmdbError(err, 'read', this.name);
    }
  }

  revision(oid: Oid, tid: Tid): RevisionData | undefined {
    return lmdbCall('load', this.name, () => {
      for (const rev of this.#chain(oid)) {
        if (rev.tid === tid) return rev;
        if (rev.tid < tid) break;
      }
      return undefined;
    });
  }

  revisionBefore(oid: Oid, before: Tid): RevisionData | undefined {
    return lmdbCall('load', this.name, () => {
      for (const rev of this.#chain(oid)) if (rev.tid < before) return rev;
      return undefined;
    });
  }

  tidAtOrAfter(oid: Oid, from: Tid): Tid | undefined {
    return lmdbCall('read', this.name, () => {
      let found: Tid | undefined;
      for (const rev of this.#chain(oid)) {
        if (rev.tid < from) break;
        found = rev.tid;
      }
      return found;
    });
  }

  revisionsNewestFirst(oid: Oid, limit: number): RevisionData[] {
    return lmdbCall('load', this.name, () => {
      const out: RevisionData[] = [];
      for (const rev of this.#chain(oid)) {
        if (out.length >= limit) break;
        out.push(rev);
      }
      return out;
    });
  }

  revisionTids(oid: Oid): Tid[] {
    return lmdbCall('read', this.name, () => Array.from(this.#chain(oid), (rev) => rev.tid).reverse());
  }

  transaction(tid: Tid): TransactionInfo | undefined {
    return lmdbCall('read', this.name, () => {
      const value = this.#db.transactions.getBinaryFast(tid);
      return value === undefined ? undefined : decodeTransaction(value);
    });
  }

  transactions(from: Tid, to: Tid, limit: number): TransactionEntry[] {
    return lmdbCall('read', this.name, () =>
      Array.from(this.#db.transactions.getRange({ start: from, end: to, inclusiveEnd: true, limit }), ({ key, value }) => ({ tid: key as Tid, ...decodeTransaction(value) })),
    );
  }

  oids(after: Oid | null, limit: number): Oid[] {
    return lmdbCall('read', this.name, () =>
      Array.from(
        after === null ? this.#db.current.getKeys({ limit }) : this.#db.current.getKeys({ start: after, exclusiveStart: true, limit }),
        (key) => key as Oid,
      ),
    );
  }

  lockHolder(oid: Oid): LockHolder | undefined {
    return lmdbCall('read', this.name, () => {
      const value = this.#db.locks.getBinaryFast(oid);
      return value === undefined ? undefined : decodeLock(value);
    });
  }

  locks(): Array<[Oid, LockHolder]> {
    return lmdbCall('read', this.name, () =>
      Array.from(this.#db.locks.getRange({}), ({ key, value }): [Oid, LockHolder] => [key as Oid, decodeLock(value)]),
    );
  }

  hasLocks(): boolean {
    // The database's own entry count (mdb_stat, O(1)); a cursor would cost more than a small
    // commit. The native handle is not in lmdb-js's typings: without it, assume there are locks.
    const native = (this.#db.locks as unknown as Partial<DbiStat>).db;
    if (typeof native?.stat !== 'function') return true;
    return lmdbCall('read', this.name, () => native.stat().entryCount > 0);
  }

  packMarker(): LockHolder | undefined {
    if (this.#writeId !== 0 && this.#knownPackMarker !== null) return this.#knownPackMarker;
    const marker = this.#metaHolder(META.packing);
    if (this.#writeId !== 0) this.#knownPackMarker = marker;
    return marker;
  }

  #metaHolder(key: string): LockHolder | undefined {
    return lmdbCall('read', this.name, () => {
      const value = this.#db.meta.getBinaryFast(key);
      return value === undefined ? undefined : decodeLock(value);
    });
  }

  // ── writes (only inside write()) ─────────────────────────────────────────────────────────

  putLock(oid: Oid, holder: LockHolder): void {
    this.#put(this.#db.locks, oid, encodeLock(holder));
  }

  deleteLock(oid: Oid): void {
    this.#remove(this.#db.locks, oid);
  }

  putRevision(oid: Oid, tid: Tid, data: Uint8Array | null, isNew = false): void {
    // The replaced current value moves, as it is, into this commit's chunk of superseded
    // revisions (revision-chunks.ts); its bytes and checksum do not change.
    if (!isNew && this.#chunks.tid !== tid) this.#startChunks(tid);
    const old = isNew ? undefined : this.#db.current.getBinaryFast(oid);
    let prevTid: Tid | null = null;
    let prevChunk = 0;
    let prevSlot = 0;
    if (old !== undefined) {
      prevTid = currentTidOf(old);
      if (!this.#chunks.fits(old.length)) this.#flushChunk();
      prevChunk = this.#chunks.chunk;
      prevSlot = this.#chunks.add(oid, old);
    }
    this.#put(this.#db.current, oid, encodeCurrent(oid, tid, prevTid, prevChunk, prevSlot, data));
    this.#knownTids.set(oid, tid);
  }

  /** Starts the chunks superseded at `tid`, after any chunks of `tid` an earlier write stored. */
  #startChunks(tid: Tid): void {
    this.#flushChunk();
    this.#chunks.tid = tid;
    this.#chunks.chunk = 0;
    if (this.#db.revisions.getBinaryFast(chunkKey(tid, 0)) === undefined) return;
    for (const key of this.#db.revisions.getKeys({ start: tidAfter(tid), end: tid, reverse: true, limit: 1 })) {
      this.#chunks.chunk = Number.parseInt(key.slice(16), 16) + 1;
    }
  }

  #flushChunk(): void {
    if (this.#chunks.isEmpty) return;
    const key = chunkKey(this.#chunks.tid as Tid, this.#chunks.chunk);
    this.#put(this.#db.revisions, key, this.#chunks.take());
  }

  pruneSuperseded(upTo: Tid, limit: number): PruneBatch {
    this.#flushChunk();
    const keys: string[] = [];
    const tids: Tid[] = [];
    for (const { key, value } of this.#db.revisions.getRange({ end: tidAfter(upTo), limit })) {
      keys.push(key);
      for (const tid of chunkTids(value)) tids.push(tid);
    }
    for (const key of keys) this.#remove(this.#db.revisions, key);
    return { tids, done: keys.length < limit };
  }

  deleteObject(oid: Oid): void {
    // Its superseded revisions went with their chunks when pack pruned up to its current tid.
    this.#remove(this.#db.current, oid);
    this.#knownTids.delete(oid);
  }

  putTransaction(tid: Tid, info: TransactionInfo): void {
    this.#put(this.#db.transactions, tid, encodeTransaction(info));
  }

  deleteTransaction(tid: Tid): void {
    this.#remove(this.#db.transactions, tid);
  }

  setLastTid(tid: Tid): void {
    // Stored as the key of the newest transaction record; remembered for the next write.
    this.#knownLastTid = tid;
  }

  setPackTid(tid: Tid): void {
    this.#putMeta(META.packTid, tid);
  }

  setPackMarker(holder: LockHolder | null): void {
    this.#setMetaHolder(META.packing, holder);
    this.#knownPackMarker = holder ?? undefined;
  }

  #setMetaHolder(key: string, holder: LockHolder | null): void {
    if (holder === null) this.#remove(this.#db.meta, key);
    else this.#put(this.#db.meta, key, encodeLock(holder));
  }

  reserveOids(count: number): bigint {
    const first = idToBigInt((this.#meta(META.nextOid) ?? oidFromBigInt(1)) as Oid);
    this.#putMeta(META.nextOid, oidFromBigInt(first + BigInt(count)));
    return first;
  }

  raiseNextOid(next: bigint): void {
    const current = idToBigInt((this.#meta(META.nextOid) ?? oidFromBigInt(1)) as Oid);
    if (next > current) this.#putMeta(META.nextOid, oidFromBigInt(next));
  }
}
