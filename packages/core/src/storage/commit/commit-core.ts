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
 */
import { CommitLockTimeoutError, ConflictError, StorageTransactionError } from '../../errors.ts';
import { ZERO_TID, idToBigInt, newTid, type Oid, type Tid } from '../../ids.ts';
import type { ConflictResolver, TransactionMetadata } from '../../interfaces.ts';
import type { Backend, BackendWriter } from '../backend.ts';
import { planUndo, undoTargets } from '../undo-plan.ts';
import { CommitTxn } from './commit-txn.ts';
import { GroupCommit } from './group-commit.ts';
import { holderFor, isStaleHolder, notifyLockRelease, waitForLockRelease } from './lock-holder.ts';
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

/** Runs the commits of one storage over its backend. */
export class CommitCore {
  readonly stats: StorageStats = { commits: 0, flushes: 0, lockWaits: 0, conflicts: 0, resolvedConflicts: 0 };
  readonly #backend: Backend;
  readonly #options: CommitCoreOptions;
  readonly #live = new Set<CommitTxn>();
  readonly #group = new GroupCommit<CommitTxn, Tid>((batch) => Promise.resolve(this.#writeBatch(batch)));

  constructor(backend: Backend, options: CommitCoreOptions) {
    this.#backend = backend;
    this.#options = options;
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
        const attempt = this.#backend.write((w) => this.#tryVote(w, txn, oids), 'lock');
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
      return await this.#group.submit(txn);
    } finally {
      this.#live.delete(txn);
    }
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
      for (const oid of locked) if (w.lockHolder(oid)?.token === txn.token) w.deleteLock(oid);
    }, 'lock');
    notifyLockRelease();
  }

  /** Aborts every transaction not yet finishing and waits for the finishing ones. */
  async close(): Promise<void> {
    for (const txn of [...this.#live]) await this.abort(txn);
    await this.#group.drain();
  }

  #tryVote(w: BackendWriter, txn: CommitTxn, oids: readonly Oid[]): VoteAttempt {
    for (const oid of oids) {
      const holder = w.lockHolder(oid);
      if (holder !== undefined && holder.token !== txn.token && !isStaleHolder(holder)) return { busy: oid };
    }
    const resolver = this.#options.resolver();
    const validated: Validated =
      txn.undoOf === null ? validate(w, txn, resolver) : { final: planUndo(w, txn.undoOf, resolver), resolved: [] };
    const holder = holderFor(txn.token);
    for (const oid of oids) w.putLock(oid, holder);
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

  #writeBatch(batch: readonly CommitTxn[]): Array<Tid | Error> {
    const results: Array<Tid | Error> = [];
    this.#backend.write((w) => {
      const first = w.lastTid();
      let last = first;
      let maxOid = -1n;
      for (const txn of batch) {
        // Re-check under the writer lock what the vote established: the locks are still ours.
        if (txn.locked.some((oid) => w.lockHolder(oid)?.token !== txn.token)) {
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
        for (const oid of txn.locked) w.deleteLock(oid);
        last = tid;
        results.push(tid);
      }
      if (last !== first) w.setLastTid(last);
      if (maxOid >= 0n) w.raiseNextOid(maxOid + 1n);
    }, 'commit');
    this.stats.flushes += 1;
    for (const [i, txn] of batch.entries()) {
      if (results[i] instanceof Error) continue;
      txn.state = 'finished';
      txn.locked = [];
      this.stats.commits += 1;
    }
    notifyLockRelease();
    return results;
  }
}
