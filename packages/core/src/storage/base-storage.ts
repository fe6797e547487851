/**
 * The Storage contract implemented once over a `Backend`: reads, the guarded two-phase commit
 * (through the shared commit core), history, iteration, polling, undo and pack. MemoryStorage
 * and LmdbStorage are this class plus their backend.
 */
import { referencesOf } from '../codec/record.ts';
import { InvalidOptionError, ObjectNotFoundError, StorageClosedError } from '../errors.ts';
import { ZERO_TID, tidAfter, tidToDate, type Oid, type Tid } from '../ids.ts';
import type {
  ConflictResolver,
  DataRecord,
  FullStorage,
  HistoryEntry,
  Invalidations,
  OnePhaseResult,
  PackResult,
  ReferenceFinder,
  RevisionInterval,
  StoredRevision,
  StorageTransaction,
  TransactionMetadata,
  TransactionRecord,
  UndoResult,
} from '../interfaces.ts';
import type { Backend } from './backend.ts';
import { CommitCore, type StorageStats } from './commit/commit-core.ts';
import type { CommitTxn } from './commit/commit-txn.ts';
import { packBackend } from './pack.ts';
import { TpcProtocol } from './tpc-protocol.ts';

/** Options every built-in storage accepts. */
export interface CommonStorageOptions {
  /**
   * How long a vote waits for commit locks held by another transaction before it fails with
   * `CommitLockTimeoutError`.
   * @defaultValue 10000
   */
  readonly lockTimeoutMs?: number;
}

const PAGE = 64;

/** A complete storage over a backend; subclasses only choose the backend. */
export abstract class BaseStorage implements FullStorage {
  readonly #backend: Backend;
  readonly #sortKey: string;
  readonly #protocol: TpcProtocol;
  readonly #core: CommitCore;
  #resolver: ConflictResolver | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #packing: Promise<unknown> = Promise.resolve();

  protected constructor(backend: Backend, sortKey: string, options: CommonStorageOptions = {}) {
    const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
      throw new InvalidOptionError('lockTimeoutMs', lockTimeoutMs, 'a number of milliseconds ≥ 0');
    }
    this.#backend = backend;
    this.#sortKey = sortKey;
    this.#protocol = new TpcProtocol(this);
    this.#core = new CommitCore(backend, { lockTimeoutMs, resolver: () => this.#resolver });
  }

  get name(): string {
    return this.#backend.name;
  }
  get readOnly(): boolean {
    return this.#backend.readOnly;
  }
  get closed(): boolean {
    return this.#closed;
  }

  sortKey(): string {
    this.#protocol.assertOpen();
    return this.#sortKey;
  }

  /** Counters of this storage object since it was opened (commits, durable flushes, lock waits, conflicts). */
  stats(): StorageStats {
    return { ...this.#core.stats };
  }

  setConflictResolver(resolver: ConflictResolver | null): void {
    this.#protocol.assertOpen();
    this.#resolver = resolver;
  }

  load(oid: Oid): StoredRevision {
    this.#protocol.assertOpen();
    const rev = this.#backend.reader.current(oid);
    if (rev === undefined || rev.data === null) throw new ObjectNotFoundError(oid);
    return rev as StoredRevision;
  }

  loadBefore(oid: Oid, before: Tid): RevisionInterval | null {
    this.#protocol.assertOpen();
    const r = this.#backend.reader;
    const current = r.current(oid);
    if (current === undefined) throw new ObjectNotFoundError(oid);
    let rev = current;
    let nextTid: Tid | null = null;
    if (current.tid >= before) {
      const older = r.revisionBefore(oid, before);
      if (older === undefined) return null;
      rev = older;
      nextTid = r.tidAtOrAfter(oid, before) ?? null;
    }
    if (rev.data === null) throw new ObjectNotFoundError(oid, rev.tid);
    return { data: rev.data, tid: rev.tid, nextTid };
  }

  loadSerial(oid: Oid, tid: Tid): Uint8Array {
    this.#protocol.assertOpen();
    const data = this.#backend.reader.revision(oid, tid)?.data;
    if (data === undefined || data === null) throw new ObjectNotFoundError(oid, tid);
    return data;
  }

  newOid(): Oid {
    this.#protocol.assertWritable('allocate an oid');
    return this.#core.newOid();
  }

  lastTransaction(): Tid {
    this.#protocol.assertOpen();
    this.#backend.refresh();
    return this.#backend.reader.lastTid();
  }

  poll(after: Tid): Invalidations {
    this.#protocol.assertOpen();
    this.#backend.refresh();
    const r = this.#backend.reader;
    const lastTid = r.lastTid();
    // Nothing new: the common case of every transaction boundary, kept free of id arithmetic.
    if (lastTid === after) return { lastTid, oids: new Set() };
    if (after < r.packTid()) return { lastTid, oids: null };
    const oids = new Set<Oid>();
    for (let cursor = tidAfter(after); cursor <= lastTid; ) {
      const page = r.transactions(cursor, lastTid, PAGE);
      if (page.length === 0) break;
      for (const txn of page) for (const oid of txn.oids) oids.add(oid);
      cursor = tidAfter((page[page.length - 1] as { tid: Tid }).tid);
    }
    return { lastTid, oids };
  }

  tpcBegin(metadata: TransactionMetadata): StorageTransaction {
    this.#protocol.assertWritable('begin a transaction');
    const txn = this.#core.begin(metadata);
    this.#protocol.began(txn);
    return txn;
  }

  store(txn: StorageTransaction, oid: Oid, readTid: Tid | null, data: Uint8Array): void {
    this.#protocol.beforeStore(txn, 'store');
    if (!(data instanceof Uint8Array)) throw new InvalidOptionError('store data', data, 'a Uint8Array of record bytes');
    this.#core.store(txn as CommitTxn, oid, readTid, data);
  }

  checkCurrent(txn: StorageTransaction, oid: Oid, readTid: Tid): void {
    this.#protocol.beforeStore(txn, 'checkCurrent');
    this.#core.checkCurrent(txn as CommitTxn, oid, readTid);
  }

  tpcVote(txn: StorageTransaction): Promise<Oid[]> {
    return this.#protocol.vote(txn, () => this.#core.vote(txn as CommitTxn));
  }

  tpcFinish(txn: StorageTransaction): Promise<Tid> {
    return this.#protocol.finish(txn, () => this.#core.finish(txn as CommitTxn));
  }

  tpcCommitOnePhase(txn: StorageTransaction): Promise<OnePhaseResult> {
    return this.#protocol.commitOnePhase(txn, () => this.#core.commitOnePhase(txn as CommitTxn));
  }

  async tpcAbort(txn: StorageTransaction): Promise<void> {
    this.#protocol.assertOpen();
    if (this.#protocol.beforeAbort(txn)) await this.#core.abort(txn as CommitTxn);
  }

  history(oid: Oid, size = 1): HistoryEntry[] {
    this.#protocol.assertOpen();
    const r = this.#backend.reader;
    const revisions = r.revisionsNewestFirst(oid, Math.max(1, Math.floor(size)));
    if (revisions.length === 0) throw new ObjectNotFoundError(oid);
    return revisions.map(({ tid, data }) => {
      const info = r.transaction(tid);
      return {
        tid,
        time: tidToDate(tid),
        user: info?.user ?? '',
        description: info?.description ?? '',
        extension: info?.extension ?? {},
        size: data?.byteLength ?? 0,
      };
    });
  }

  iterator(from?: Tid, to?: Tid): IterableIterator<TransactionRecord> {
    this.#protocol.assertOpen();
    this.#backend.refresh();
    // The snapshot is taken now, not at the first next(): later commits are never included.
    const last = this.#backend.reader.lastTid();
    const hi = to === undefined || to > last ? last : to;
    return this.#iterate(from ?? ZERO_TID, hi);
  }

  *#iterate(lo: Tid, hi: Tid): Generator<TransactionRecord, void, undefined> {
    for (let cursor = lo; cursor <= hi; ) {
      if (this.#closed) throw new StorageClosedError(this.name);
      const page = this.#backend.reader.transactions(cursor, hi, PAGE);
      if (page.length === 0) return;
      // Records are read per page, outside any long-lived read transaction.
      const records = page.map((txn) => {
        const out: DataRecord[] = [];
        for (const oid of txn.oids) {
          const rev = this.#backend.reader.revision(oid, txn.tid);
          if (rev !== undefined) out.push({ oid, tid: txn.tid, data: rev.data });
        }
        return out;
      });
      for (const [i, txn] of page.entries()) {
        yield { tid: txn.tid, user: txn.user, description: txn.description, extension: txn.extension, records: records[i] ?? [] };
      }
      cursor = tidAfter((page[page.length - 1] as { tid: Tid }).tid);
    }
  }

  async undo(tid: Tid, metadata: TransactionMetadata): Promise<UndoResult> {
    this.#protocol.assertWritable('undo');
    // Planned, merged and written in one backend write: nothing can change in between.
    const txn = this.#core.begin(metadata, tid);
    try {
      const { tid: newTid } = await this.#core.commitOnePhase(txn);
      return { tid: newTid, oids: [...txn.writtenOids] };
    } catch (err) {
      await this.#core.abort(txn);
      throw err;
    }
  }

  async pack(packTid: Tid, references: ReferenceFinder = referencesOf): Promise<PackResult> {
    this.#protocol.assertWritable('pack');
    // One pack at a time per storage object; a second waits for the first.
    const run = this.#packing.then(() => {
      this.#protocol.assertOpen();
      return packBackend(this.#backend, packTid, references, (w) => this.#core.commitsInFlight(w));
    });
    this.#packing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      this.#closing = (async () => {
        await this.#core.close();
        await this.#packing;
        await this.#backend.close();
      })();
    }
    await this.#closing;
  }
}
