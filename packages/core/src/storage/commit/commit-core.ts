/**
 * The commit path shared by every built-in storage: vote (commit locks, serial checks, conflict
 * resolution), finish (tid assignment and writes, grouped), abort (lock release).
 *
 * Commit locks: a vote takes the locks of every written and checked oid all-or-nothing, in the
 * same backend write transaction that validates the serials, so an object validated by a vote
 * cannot change until that transaction finishes or aborts — which is why finish cannot fail for
 * reasons of content. A vote that finds a lock held by another live transaction (of this or
 * another process) takes nothing and waits: woken by releases in this process, polling with
 * backoff for other processes, up to `lockTimeoutMs`. Locks of dead processes are broken.
 *
 * The durable commit does not touch the locks of the objects it writes: a lock records the
 * object's tid when it was taken and is released as soon as the object has another tid (see
 * `isLockHeld`). Their entries are deleted by the next non-durable lock write; only locks of
 * objects that were checked but not written are deleted in the commit itself.
 */
import { CommitLockTimeoutError, ConflictError, StorageTransactionError } from '../../errors.ts';
import { ZERO_TID, idToBigInt, newTid, oidFromBigInt, type Oid, type Tid } from '../../ids.ts';
import type { ConflictResolver, TransactionMetadata } from '../../interfaces.ts';
import type { Backend, BackendWriter } from '../backend.ts';
import { planUndo, undoTargets } from '../undo-plan.ts';
import { CommitTxn } from './commit-txn.ts';
import { GroupCommit } from './group-commit.ts';
import { checkReferences } from './dangling.ts';
import { holderFor, isLockHeld, isStaleHolder, notifyLockRelease, waitForLockRelease } from './lock-holder.ts';
import { validate, type Validated } from './validate.ts';

/** Counters a storage exposes through `stats()`. */
export interface StorageStats {
  /** Transactions finished (including undo transactions). */
  commits: number;
  /** Backend write transactions that carried finished transactions (one durable flush each). */
  flushes: number;
  /** Times a vote found a commit lock taken and had to wait. */
  lockWaits: number;
  /** Votes that failed with a ConflictError (including read conflicts and lock timeouts). */
  conflicts: number;
  /** Conflicting stores merged by the conflict resolver. */
  resolvedConflicts: number;
}

/** Settings of the commit core. */
export interface CommitCoreOptions {
  readonly lockTimeoutMs: number;
  /** The resolver in force (read at each vote). */
  readonly resolver: () => ConflictResolver | null;
}

type VoteAttempt = { readonly busy: Oid } | { readonly busy: undefined; readonly validated: Validated };

const MAX_BACKOFF_MS = 50;
/** Oids reserved per (non-durable) write: unique across processes, cheap per oid. */
const OID_BLOCK = 64;
/** Released lock entries are deleted in bulk, piggybacked on a lock write, once this many accumulate. */
const RELEASED_BATCH = 64;

/** Runs the commits of one storage over its backend. */
export class CommitCore {
  readonly stats: StorageStats = { commits: 0, flushes: 0, lockWaits: 0, conflicts: 0, resolvedConflicts: 0 };
  readonly #backend: Backend;
  readonly #options: CommitCoreOptions;
  readonly #live = new Set<CommitTxn>();
  /** Lock entries released by commits, still to delete: oid → owner token. */
  #released = new Map<Oid, string>();
  #oidNext = 0n;
  #oidEnd = 0n;
  /** A lower bound of the database's next oid: commits of smaller oids need not raise it. */
  #oidFloor = 0n;
  readonly #group = new GroupCommit<CommitTxn, Tid>((batch) => Promise.resolve(this.#writeBatch(batch)));

  constructor(backend: Backend, options: CommitCoreOptions) {
    this.#backend = backend;
    this.#options = options;
  }

  /** A never-used oid, from a block reserved by one small non-durable write. */
  newOid(): Oid {
    if (this.#oidNext >= this.#oidEnd) {
      this.#oidNext = this.#backend.write((w) => w.reserveOids(OID_BLOCK), 'lock');
      this.#oidEnd = this.#oidNext + BigInt(OID_BLOCK);
      if (this.#oidEnd > this.#oidFloor) this.#oidFloor = this.#oidEnd;
    }
    const oid = oidFromBigInt(this.#oidNext);
    this.#oidNext += 1n;
    return oid;
  }

  /** Starts a transaction (an undo transaction when `undoOf` is given). */
  begin(metadata: TransactionMetadata, undoOf: Tid | null = null): CommitTxn {
    const txn = new CommitTxn(metadata, undoOf);
    this.#live.add(txn);
    return txn;
  }

  /** Queues a revision; the bytes are copied (as a Buffer), so the caller may reuse its buffer. */
  store(txn: CommitTxn, oid: Oid, readTid: Tid | null, data: Uint8Array): void {
    txn.stores.set(oid, { readTid, data: Buffer.from(data) });
  }

  checkCurrent(txn: CommitTxn, oid: Oid, readTid: Tid): void {
    txn.checks.set(oid, readTid);
  }

  /** First phase. @returns the oids merged by the conflict resolver */
  async vote(txn: CommitTxn): Promise<Oid[]> {
    txn.state = 'voting';
    try {
      const oids = txn.lockSet(txn.undoOf === null ? [] : undoTargets(this.#backend.reader, txn.undoOf));
      const deadline = Date.now() + this.#options.lockTimeoutMs;
      let delay = 1;
      for (;;) {
        if (txn.cancelled) throw new StorageTransactionError('tpcVote: the transaction was aborted while it waited for commit locks');
        const attempt = this.#backend.write((w) => {
          if (this.#released.size >= RELEASED_BATCH) this.#deleteReleased(w);
          return this.#tryVote(w, txn, oids);
        }, 'lock');
        if (attempt.busy === undefined) {
          txn.final = attempt.validated.final;
          txn.writtenOids = [...attempt.validated.final.keys()].sort();
          txn.locked = oids;
          txn.state = 'voted';
          this.stats.resolvedConflicts += attempt.validated.resolved.length;
          return attempt.validated.resolved;
        }
        this.stats.lockWaits += 1;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw this.#lockTimeout(txn, attempt.busy);
        await waitForLockRelease(Math.min(delay, remaining));
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    } catch (err) {
      if (txn.state === 'voting') txn.state = 'open';
      if (ConflictError.is(err)) this.stats.conflicts += 1;
      throw err;
    }
  }

  /** Second phase: resolves with the tid once the transaction is written (durably, if the backend is). */
  async finish(txn: CommitTxn): Promise<Tid> {
    txn.state = 'finishing';
    try {
      // Wait for the event-loop turn to end (so concurrent finishes share the write) only when
      // another transaction is far enough along to join it.
      return await this.#group.submit(txn, !this.#anotherCommitting(txn));
    } finally {
      this.#live.delete(txn);
    }
  }

  #anotherCommitting(txn: CommitTxn): boolean {
    for (const other of this.#live) {
      if (other !== txn && (other.state === 'voting' || other.state === 'voted' || other.state === 'finishing')) return true;
    }
    return false;
  }

  /** Abandons `txn` and releases its commit locks. */
  async abort(txn: CommitTxn): Promise<void> {
    if (txn.state === 'finishing' || txn.state === 'finished') return;
    txn.cancelled = true;
    txn.state = 'aborted';
    this.#live.delete(txn);
    const locked = txn.locked;
    if (locked.length === 0) return;
    txn.locked = [];
    this.#backend.write((w) => {
      this.#deleteReleased(w);
      for (const oid of locked) if (w.lockHolder(oid)?.token === txn.token) w.deleteLock(oid);
    }, 'lock');
    notifyLockRelease();
  }

  /** Deletes the entries of locks released by commits (they no longer block anyone). */
  #deleteReleased(w: BackendWriter): void {
    if (this.#released.size === 0) return;
    for (const [oid, token] of this.#released) if (w.lockHolder(oid)?.token === token) w.deleteLock(oid);
    this.#released = new Map();
  }

  /** Aborts every transaction not yet finishing, waits for the finishing ones, tidies the lock table. */
  async close(): Promise<void> {
    for (const txn of [...this.#live]) await this.abort(txn);
    await this.#group.drain();
    if (this.#released.size > 0 && !this.#backend.readOnly) this.#backend.write((w) => this.#deleteReleased(w), 'lock');
  }

  #tryVote(w: BackendWriter, txn: CommitTxn, oids: readonly Oid[]): VoteAttempt {
    const currentTids = new Map<Oid, Tid | undefined>();
    for (const oid of oids) {
      const current = w.currentTid(oid);
      currentTids.set(oid, current);
      const holder = w.lockHolder(oid);
      if (holder !== undefined && holder.token !== txn.token && isLockHeld(holder, current)) return { busy: oid };
    }
    // While a pack runs (here or in another process), refuse references to collected objects.
    const packer = w.packMarker();
    if (packer !== undefined && !isStaleHolder(packer)) checkReferences(w, txn.stores);
    const resolver = this.#options.resolver();
    const validated: Validated =
      txn.undoOf === null ? validate(w, txn, resolver, currentTids) : { final: planUndo(w, txn.undoOf, resolver), resolved: [] };
    for (const [oid, current] of currentTids) w.putLock(oid, holderFor(txn.token, current ?? null));
    txn.voteWriteId = w.writeId();
    return { busy: undefined, validated };
  }

  #lockTimeout(txn: CommitTxn, oid: Oid): CommitLockTimeoutError {
    const r = this.#backend.reader;
    const committedTid = r.currentTid(oid);
    const info = committedTid === undefined ? undefined : r.transaction(committedTid);
    return new CommitLockTimeoutError({
      oid,
      readTid: txn.stores.get(oid)?.readTid ?? txn.checks.get(oid) ?? null,
      committedTid: committedTid ?? ZERO_TID,
      committedBy: info && { user: info.user, description: info.description },
      reason: `another transaction held its commit lock for more than ${this.#options.lockTimeoutMs} ms`,
    });
  }

  /**
   * For pack's sweep, inside its write: true while a commit may be between vote and finish (its
   * data not visible yet), in this process or another: some commit lock is held.
   */
  commitsInFlight(w: BackendWriter): boolean {
    return w.locks().some(([oid, h]) => isLockHeld(h, w.currentTid(oid)));
  }

  #writeBatch(batch: readonly CommitTxn[]): Array<Tid | Error> {
    const results: Array<Tid | Error> = [];
    try {
      this.#write(batch, results);
    } catch (err) {
      // Nothing was written: the transactions still hold their locks, and abort releases them.
      for (const txn of batch) txn.state = 'voted';
      throw err;
    }
    this.stats.flushes += 1;
    for (const [i, txn] of batch.entries()) {
      if (results[i] instanceof Error) {
        txn.state = 'voted'; // fit for abort, which releases its locks
        continue;
      }
      for (const oid of txn.final.keys()) this.#released.set(oid, txn.token);
      txn.state = 'finished';
      txn.locked = [];
      this.stats.commits += 1;
    }
    notifyLockRelease();
    return results;
  }

  /** The durable write of a batch; `results` gets a tid or an error per transaction, in order. */
  #write(batch: readonly CommitTxn[], results: Array<Tid | Error>): void {
    this.#backend.write((w) => {
      const first = w.lastTid();
      let last = first;
      let maxOid = -1n;
      for (const txn of batch) {
        // Re-check under the writer lock what the vote established — the locks are still ours —
        // unless nothing at all was written since the vote took them.
        const untouched = w.writeId() === txn.voteWriteId + 1;
        if (!untouched && txn.locked.some((oid) => w.lockHolder(oid)?.token !== txn.token)) {
          results.push(new StorageTransactionError('tpcFinish: the commit locks of this transaction were broken by another process'));
          continue;
        }
        const tid = newTid(last);
        for (const [oid, data] of txn.final) {
          w.putRevision(oid, tid, data);
          const n = idToBigInt(oid);
          if (n > maxOid) maxOid = n;
        }
        w.putTransaction(tid, { ...txn.record, oids: txn.writtenOids });
        // Written objects now have a new tid, which releases their locks; checked-only ones do not.
        for (const oid of txn.locked) if (!txn.final.has(oid)) w.deleteLock(oid);
        last = tid;
        results.push(tid);
      }
      if (last !== first) w.setLastTid(last);
      // Oids from newOid() are below the floor already; only oids chosen by the caller can raise it.
      if (maxOid >= this.#oidFloor) {
        w.raiseNextOid(maxOid + 1n);
        this.#oidFloor = maxOid + 1n;
      }
    }, 'commit');
  }
}
