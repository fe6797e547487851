// A transparent wrapper: forwards every member of FullStorage to an inner storage and adds nothing.
// Running the conformance suite through it shows that the suite tests the contract, not the
// internals (identity, class or private state) of one implementation.
import type {
  OnePhaseResult,
  ConflictResolver,
  FullStorage,
  HistoryEntry,
  Invalidations,
  Oid,
  PackResult,
  ReferenceFinder,
  RevisionInterval,
  StoredRevision,
  StorageTransaction,
  Tid,
  TransactionMetadata,
  TransactionRecord,
  UndoResult,
} from '@tidaldb/core';

export class ForwardingStorage implements FullStorage {
  constructor(readonly inner: FullStorage & Required<Pick<FullStorage, 'tpcCommitOnePhase'>>) {}

  get name(): string {
    return `forwarding(${this.inner.name})`;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  sortKey(): string {
    return `forwarding:${this.inner.sortKey()}`;
  }
  setConflictResolver(resolver: ConflictResolver | null): void {
    this.inner.setConflictResolver(resolver);
  }
  load(oid: Oid): StoredRevision {
    return this.inner.load(oid);
  }
  loadBefore(oid: Oid, before: Tid): RevisionInterval | null {
    return this.inner.loadBefore(oid, before);
  }
  loadSerial(oid: Oid, tid: Tid): Uint8Array {
    return this.inner.loadSerial(oid, tid);
  }
  newOid(): Oid {
    return this.inner.newOid();
  }
  lastTransaction(): Tid {
    return this.inner.lastTransaction();
  }
  poll(after: Tid): Invalidations {
    return this.inner.poll(after);
  }
  tpcBegin(metadata: TransactionMetadata): StorageTransaction {
    return this.inner.tpcBegin(metadata);
  }
  store(txn: StorageTransaction, oid: Oid, readTid: Tid | null, data: Uint8Array): void {
    this.inner.store(txn, oid, readTid, data);
  }
  checkCurrent(txn: StorageTransaction, oid: Oid, readTid: Tid): void {
    this.inner.checkCurrent(txn, oid, readTid);
  }
  tpcVote(txn: StorageTransaction): Promise<Oid[]> {
    return this.inner.tpcVote(txn);
  }
  tpcFinish(txn: StorageTransaction): Promise<Tid> {
    return this.inner.tpcFinish(txn);
  }
  tpcCommitOnePhase(txn: StorageTransaction): Promise<OnePhaseResult> {
    return this.inner.tpcCommitOnePhase(txn);
  }
  tpcAbort(txn: StorageTransaction): Promise<void> {
    return this.inner.tpcAbort(txn);
  }
  history(oid: Oid, size?: number): HistoryEntry[] {
    return this.inner.history(oid, size);
  }
  iterator(from?: Tid, to?: Tid): IterableIterator<TransactionRecord> {
    return this.inner.iterator(from, to);
  }
  undo(tid: Tid, metadata: TransactionMetadata): Promise<UndoResult> {
    return this.inner.undo(tid, metadata);
  }
  pack(packTid: Tid, references?: ReferenceFinder): Promise<PackResult> {
    return this.inner.pack(packTid, references);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
