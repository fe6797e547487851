/**
 * The in-memory backend: Maps of revisions per oid (tids sorted), transaction records in tid
 * order, commit locks, and the meta counters. A write "transaction" is a synchronous call: no
 * other JavaScript runs in between, which is all the isolation one process needs.
 */
import { ZERO_TID, tidAfter, type Oid, type Tid } from '../../ids.ts';
import type { Backend, BackendWriter, LockHolder, PruneBatch, RevisionData, TransactionEntry, TransactionInfo } from '../backend.ts';

interface Revisions {
  /** Ascending. */
  readonly tids: Tid[];
  readonly data: Map<Tid, Uint8Array | null>;
}

/** Index of the first element of sorted `list` that is ≥ `key`. */
function lowerBound<T extends string>(list: readonly T[], key: T): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as T) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Callers may keep and mutate what they load: hand out copies, keep the originals private.
const copy = (data: Uint8Array | null): Uint8Array | null => (data === null ? null : Buffer.from(data));

/** Backend of MemoryStorage. */
export class MemoryBackend implements Backend, BackendWriter {
  readonly readOnly = false;
  readonly reader = this;
  readonly #objects = new Map<Oid, Revisions>();
  #sortedOids: Oid[] | null = null;
  readonly #txnTids: Tid[] = [];
  readonly #txns = new Map<Tid, TransactionInfo>();
  readonly #locks = new Map<Oid, LockHolder>();
  #lastTid: Tid = ZERO_TID;
  #packTid: Tid = ZERO_TID;
  #nextOid = 1n;
  #writeId = 0;
  #packMarker: LockHolder | undefined;

  constructor(readonly name: string) {}

  write<T>(fn: (w: BackendWriter) => T): T {
    this.#writeId += 1;
    return fn(this);
  }

  writeId(): number {
    return this.#writeId;
  }

  refresh(): void {}

  async close(): Promise<void> {}

  lastTid(): Tid {
    return this.#lastTid;
  }

  packTid(): Tid {
    return this.#packTid;
  }

  current(oid: Oid): RevisionData | undefined {
    const revs = this.#objects.get(oid);
    const tid = revs?.tids[revs.tids.length - 1];
    return revs && tid !== undefined ? { tid, data: copy(revs.data.get(tid) ?? null) } : undefined;
  }

  currentTid(oid: Oid): Tid | undefined {
    const revs = this.#objects.get(oid);
    return revs?.tids[revs.tids.length - 1];
  }

  revision(oid: Oid, tid: Tid): RevisionData | undefined {
    const data = this.#objects.get(oid)?.data.get(tid);
    return data === undefined ? undefined : { tid, data: copy(data) };
  }

  revisionBefore(oid: Oid, before: Tid): RevisionData | undefined {
    const revs = this.#objects.get(oid);
    if (revs === undefined) return undefined;
    const tid = revs.tids[lowerBound(revs.tids, before) - 1];
    return tid === undefined ? undefined : { tid, data: copy(revs.data.get(tid) ?? null) };
  }

  tidAtOrAfter(oid: Oid, from: Tid): Tid | undefined {
    const revs = this.#objects.get(oid);
    return revs?.tids[lowerBound(revs.tids, from)];
  }

  revisionsNewestFirst(oid: Oid, limit: number): RevisionData[] {
    const revs = this.#objects.get(oid);
    if (revs === undefined) return [];
    return revs.tids
      .slice(-limit)
      .reverse()
      .map((tid) => ({ tid, data: copy(revs.data.get(tid) ?? null) }));
  }

  revisionTids(oid: Oid): Tid[] {
    return [...(this.#objects.get(oid)?.tids ?? [])];
  }

  transaction(tid: Tid): TransactionInfo | undefined {
    return this.#txns.get(tid);
  }

  transactions(from: Tid, to: Tid, limit: number): TransactionEntry[] {
    const out: TransactionEntry[] = [];
    for (let i = lowerBound(this.#txnTids, from); i < this.#txnTids.length && out.length < limit; i++) {
      const tid = this.#txnTids[i] as Tid;
      if (tid > to) break;
      out.push({ tid, ...(this.#txns.get(tid) as TransactionInfo) });
    }
    return out;
  }

  oids(after: Oid | null, limit: number): Oid[] {
    this.#sortedOids ??= [...this.#objects.keys()].sort();
    let start = after === null ? 0 : lowerBound(this.#sortedOids, after);
    if (after !== null && this.#sortedOids[start] === after) start += 1;
    return this.#sortedOids.slice(start, start + limit);
  }

  lockHolder(oid: Oid): LockHolder | undefined {
    return this.#locks.get(oid);
  }

  hasLocks(): boolean {
    return this.#locks.size > 0;
  }

  locks(): Array<[Oid, LockHolder]> {
    return [...this.#locks].sort(([a], [b]) => (a < b ? -1 : 1));
  }

  packMarker(): LockHolder | undefined {
    return this.#packMarker;
  }

  setPackMarker(holder: LockHolder | null): void {
    this.#packMarker = holder ?? undefined;
  }

  putLock(oid: Oid, holder: LockHolder): void {
    this.#locks.set(oid, holder);
  }

  deleteLock(oid: Oid): void {
    this.#locks.delete(oid);
  }

  putRevision(oid: Oid, tid: Tid, data: Uint8Array | null): void {
    let revs = this.#objects.get(oid);
    if (revs === undefined) {
      revs = { tids: [], data: new Map() };
      this.#objects.set(oid, revs);
      this.#sortedOids = null;
    }
    revs.tids.push(tid);
    revs.data.set(tid, data);
  }

  pruneSuperseded(upTo: Tid): PruneBatch {
    // All at once: a write here is one synchronous call anyway.
    const removed: Tid[] = [];
    for (const revs of this.#objects.values()) {
      // Keep the newest revision at or before upTo and everything after it.
      const keep = lowerBound(revs.tids, tidAfter(upTo)) - 1;
      if (keep <= 0) continue;
      for (const tid of revs.tids.splice(0, keep)) {
        revs.data.delete(tid);
        removed.push(tid);
      }
    }
    return { tids: removed, done: true };
  }

  deleteObject(oid: Oid): void {
    if (this.#objects.delete(oid)) this.#sortedOids = null;
  }

  putTransaction(tid: Tid, info: TransactionInfo): void {
    this.#txns.set(tid, info);
    this.#txnTids.push(tid);
  }

  deleteTransaction(tid: Tid): void {
    if (!this.#txns.delete(tid)) return;
    this.#txnTids.splice(lowerBound(this.#txnTids, tid), 1);
  }

  setLastTid(tid: Tid): void {
    this.#lastTid = tid;
  }

  setPackTid(tid: Tid): void {
    this.#packTid = tid;
  }

  reserveOids(count: number): bigint {
    const first = this.#nextOid;
    this.#nextOid += BigInt(count);
    return first;
  }

  raiseNextOid(next: bigint): void {
    if (next > this.#nextOid) this.#nextOid = next;
  }
}
