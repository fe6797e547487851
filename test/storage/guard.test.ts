// guardStorage enforces the two-phase-commit protocol around a storage that checks nothing
// itself, without ever forwarding an out-of-order call, and keeps exactly the capabilities
// (undo, pack) of what it wraps.
import { describe, expect, it } from 'vitest';
import {
  ReadOnlyError,
  StorageClosedError,
  StorageTransactionError,
  ZERO_TID,
  guardStorage,
  type Oid,
  type Storage,
  type StorageTransaction,
  type TransactionMetadata,
} from '@tidaldb/core';

const META: TransactionMetadata = { user: '', description: '', extension: {} };

/** A storage that trusts its caller completely and records what reaches it. */
class LaxStorage implements Storage {
  readonly calls: string[] = [];
  closed = false;
  constructor(readonly readOnly = false) {}
  readonly name = 'lax';
  sortKey = () => 'lax';
  setConflictResolver = () => undefined;
  load = () => ({ data: new Uint8Array(), tid: ZERO_TID });
  loadBefore = () => null;
  loadSerial = () => new Uint8Array();
  newOid = () => (this.calls.push('newOid'), '0000000000000001' as Oid);
  lastTransaction = () => ZERO_TID;
  poll = () => ({ lastTid: ZERO_TID, oids: new Set<Oid>() });
  tpcBegin = (metadata: TransactionMetadata): StorageTransaction => (this.calls.push('tpcBegin'), { metadata });
  store = () => void this.calls.push('store');
  checkCurrent = () => void this.calls.push('checkCurrent');
  tpcVote = async () => (this.calls.push('tpcVote'), []);
  tpcFinish = async () => (this.calls.push('tpcFinish'), ZERO_TID);
  tpcAbort = async () => void this.calls.push('tpcAbort');
  history = () => [];
  iterator = () => [][Symbol.iterator]();
  close = async () => void (this.closed = true);
}

const OID = '0000000000000001' as Oid;

describe('guardStorage around a storage that enforces nothing', () => {
  it('forwards a well-ordered commit unchanged', async () => {
    const inner = new LaxStorage();
    const s = guardStorage(inner);
    const txn = s.tpcBegin(META);
    s.store(txn, OID, null, new Uint8Array([1]));
    s.checkCurrent(txn, OID, ZERO_TID);
    await s.tpcVote(txn);
    await s.tpcFinish(txn);
    await s.tpcAbort(txn); // after finish: a no-op that does not reach the storage
    expect(inner.calls).toEqual(['tpcBegin', 'store', 'checkCurrent', 'tpcVote', 'tpcFinish']);
  });

  it('refuses store and checkCurrent after the vote, a second vote and finish without vote, forwarding none of them', async () => {
    const inner = new LaxStorage();
    const s = guardStorage(inner);
    const unvoted = s.tpcBegin(META);
    await expect(s.tpcFinish(unvoted)).rejects.toThrow(StorageTransactionError);
    await s.tpcVote(unvoted);
    expect(() => s.store(unvoted, OID, null, new Uint8Array())).toThrow(StorageTransactionError);
    expect(() => s.checkCurrent(unvoted, OID, ZERO_TID)).toThrow(StorageTransactionError);
    await expect(s.tpcVote(unvoted)).rejects.toThrow(StorageTransactionError);
    expect(inner.calls).toEqual(['tpcBegin', 'tpcVote']);
  });

  it('refuses a finish after a failed vote, but lets it be aborted', async () => {
    const inner = new LaxStorage();
    inner.tpcVote = async () => {
      throw new Error('vote failed');
    };
    const s = guardStorage(inner);
    const txn = s.tpcBegin(META);
    await expect(s.tpcVote(txn)).rejects.toThrow('vote failed');
    await expect(s.tpcFinish(txn)).rejects.toThrow(StorageTransactionError);
    await s.tpcAbort(txn);
    expect(inner.calls).toEqual(['tpcBegin', 'tpcAbort']);
  });

  it('treats a handle it did not issue as unknown, and aborting it as a no-op', async () => {
    const inner = new LaxStorage();
    const s = guardStorage(inner);
    const forged: StorageTransaction = { metadata: META };
    const direct = inner.tpcBegin(META); // issued by the inner storage, not by the guard
    for (const txn of [forged, direct]) {
      expect(() => s.store(txn, OID, null, new Uint8Array())).toThrow(StorageTransactionError);
      await expect(s.tpcVote(txn)).rejects.toThrow(StorageTransactionError);
      await s.tpcAbort(txn);
    }
    expect(inner.calls).toEqual(['tpcBegin']);
  });

  it('refuses writes of a read-only storage with ReadOnlyError before they reach it', async () => {
    const inner = new LaxStorage(true);
    const s = guardStorage(inner);
    expect(() => s.newOid()).toThrow(ReadOnlyError);
    expect(() => s.tpcBegin(META)).toThrow(ReadOnlyError);
    expect(inner.calls).toEqual([]);
  });

  it('refuses everything after close with StorageClosedError', async () => {
    const inner = new LaxStorage();
    const s = guardStorage(inner);
    const txn = s.tpcBegin(META);
    await s.close();
    expect(s.closed).toBe(true);
    expect(() => s.load(OID)).toThrow(StorageClosedError);
    expect(() => s.lastTransaction()).toThrow(StorageClosedError);
    expect(() => s.store(txn, OID, null, new Uint8Array())).toThrow(StorageClosedError);
    await expect(s.tpcVote(txn)).rejects.toThrow(StorageClosedError);
    await expect(s.tpcAbort(txn)).rejects.toThrow(StorageClosedError);
    expect(inner.calls).toEqual(['tpcBegin']);
  });

  it('keeps undo and pack exactly when the wrapped storage has them', async () => {
    const plain = guardStorage(new LaxStorage()) as Partial<{ undo: unknown; pack: unknown }>;
    expect(plain.undo).toBeUndefined();
    expect(plain.pack).toBeUndefined();
    const undone: string[] = [];
    const full = Object.assign(new LaxStorage(true), {
      undo: async () => (undone.push('undo'), { tid: ZERO_TID, oids: [] }),
      pack: async () => (undone.push('pack'), { revisionsRemoved: 0, objectsRemoved: 0, transactionsRemoved: 0 }),
    });
    const guarded = guardStorage(full);
    expect(typeof guarded.undo).toBe('function');
    expect(typeof guarded.pack).toBe('function');
    // …and guards them: the wrapped storage is read-only.
    await expect(guarded.undo(ZERO_TID, META)).rejects.toThrow(ReadOnlyError);
    await expect(guarded.pack(ZERO_TID)).rejects.toThrow(ReadOnlyError);
    expect(undone).toEqual([]);
  });
});
