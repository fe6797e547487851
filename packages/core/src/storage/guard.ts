/**
 * `guardStorage`: wraps any storage so that the two-phase-commit protocol is enforced for it
 * (STYLE §3: "wrap every storage in a guard … so implementations need not").
 */
import type { Oid, Tid } from '../ids.ts';
import type {
  ConflictResolver,
  FullStorage,
  HistoryEntry,
  Invalidations,
  OnePhaseResult,
  PackableStorage,
  PackResult,
  ReferenceFinder,
  RevisionInterval,
  Storage,
  StoredRevision,
  StorageTransaction,
  TransactionMetadata,
  TransactionRecord,
  UndoableStorage,
  UndoResult,
} from '../interfaces.ts';
import { TpcProtocol } from './tpc-protocol.ts';

/**
 * Wraps `storage` in a storage with the same capabilities (undo, pack and one-phase commit are
 * kept when present) that enforces, per `StorageTransaction` handle: `store` / `checkCurrent`
 * only between `tpcBegin` and `tpcVote` (or `tpcCommitOnePhase`); one `tpcVote` or
 * `tpcCommitOnePhase`; `tpcFinish` only after a successful vote; `tpcAbort`
 * at any time (a no-op for unknown or ended handles). A handle the wrapper did not issue is a
 * `StorageTransactionError`; writes on a read-only storage throw `ReadOnlyError`; everything
 * after `close()` throws `StorageClosedError`.
 *
 * The built-in storages already enforce all of this; wrapping them again is harmless.
 * @example
 * ```ts
 * const storage = guardStorage(new MyStorage());
 * const txn = storage.tpcBegin({ user: '', description: '', extension: {} });
 * await storage.tpcFinish(txn); // rejects with StorageTransactionError: not voted
 * ```
 */
export function guardStorage(storage: FullStorage): FullStorage;
export function guardStorage(storage: UndoableStorage): UndoableStorage;
export function guardStorage(storage: PackableStorage): PackableStorage;
export function guardStorage(storage: Storage): Storage;
export function guardStorage(storage: Storage): Storage {
  return new GuardedStorage(storage);
}

class GuardedStorage implements Storage {
  readonly #inner: Storage;
  readonly #protocol: TpcProtocol;
  // Present exactly when the wrapped storage has them, so capability checks see the truth.
  declare undo?: (tid: Tid, metadata: TransactionMetadata) => Promise<UndoResult>;
  declare pack?: (packTid: Tid, references?: ReferenceFinder) => Promise<PackResult>;
  declare tpcCommitOnePhase?: (txn: StorageTransaction) => Promise<OnePhaseResult>;

  constructor(inner: Storage) {
    this.#inner = inner;
    this.#protocol = new TpcProtocol(inner);
    const undoable = inner as Partial<UndoableStorage>;
    if (typeof undoable.undo === 'function') {
      const undo = undoable.undo.bind(inner);
      this.undo = async (tid, metadata) => {
        this.#protocol.assertWritable('undo');
        return undo(tid, metadata);
      };
    }
    if (typeof inner.tpcCommitOnePhase === 'function') {
      const commitOnePhase = inner.tpcCommitOnePhase.bind(inner);
      this.tpcCommitOnePhase = (txn) => this.#protocol.commitOnePhase(txn, () => commitOnePhase(txn));
    }
    const packable = inner as Partial<PackableStorage>;
    if (typeof packable.pack === 'function') {
      const pack = packable.pack.bind(inner);
      this.pack = async (packTid, references) => {
        this.#protocol.assertWritable('pack');
        return pack(packTid, references);
      };
    }
  }

  get name(): string {
    return this.#inner.name;
  }
  get readOnly(): boolean {
    return this.#inner.readOnly;
  }
  get closed(): boolean {
    return this.#inner.closed;
  }

  sortKey(): string {
    this.#protocol.assertOpen();
    return this.#inner.sortKey();
  }

  setConflictResolver(resolver: ConflictResolver | null): void {
    this.#protocol.assertOpen();
    this.#inner.setConflictResolver(resolver);
  }

  load(oid: Oid): StoredRevision {
    this.#protocol.assertOpen();
    return this.#inner.load(oid);
  }

  loadBefore(oid: Oid, before: Tid): RevisionInterval | null {
    this.#protocol.assertOpen();
    return this.#inner.loadBefore(oid, before);
  }

  loadSerial(oid: Oid, tid: Tid): Uint8Array {
    this.#protocol.assertOpen();
    return this.#inner.loadSerial(oid, tid);
  }

  newOid(): Oid {
    this.#protocol.assertWritable('allocate an oid');
    return this.#inner.newOid();
  }

  lastTransaction(): Tid {
    this.#protocol.assertOpen();
    return this.#inner.lastTransaction();
  }

  poll(after: Tid): Invalidations {
    this.#protocol.assertOpen();
    return this.#inner.poll(after);
  }

  tpcBegin(metadata: TransactionMetadata): StorageTransaction {
    this.#protocol.assertWritable('begin a transaction');
    const txn = this.#inner.tpcBegin(metadata);
    this.#protocol.began(txn);
    return txn;
  }

  store(txn: StorageTransaction, oid: Oid, readTid: Tid | null, data: Uint8Array): void {
    this.#protocol.beforeStore(txn, 'store');
    this.#inner.store(txn, oid, readTid, data);
  }

  checkCurrent(txn: StorageTransaction, oid: Oid, readTid: Tid): void {
    this.#protocol.beforeStore(txn, 'checkCurrent');
    this.#inner.checkCurrent(txn, oid, readTid);
  }

  tpcVote(txn: StorageTransaction): Promise<Oid[]> {
    return this.#protocol.vote(txn, () => this.#inner.tpcVote(txn));
  }

  tpcFinish(txn: StorageTransaction): Promise<Tid> {
    return this.#protocol.finish(txn, () => this.#inner.tpcFinish(txn));
  }

  async tpcAbort(txn: StorageTransaction): Promise<void> {
    this.#protocol.assertOpen();
    if (this.#protocol.beforeAbort(txn)) await this.#inner.tpcAbort(txn);
  }

  history(oid: Oid, size?: number): HistoryEntry[] {
    this.#protocol.assertOpen();
    return this.#inner.history(oid, size);
  }

  iterator(from?: Tid, to?: Tid): IterableIterator<TransactionRecord> {
    this.#protocol.assertOpen();
    return this.#inner.iterator(from, to);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }
}
