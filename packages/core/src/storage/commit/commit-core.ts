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
 *
 * One-phase commits (the storage is the transaction's only participant) take no locks: they are
 * validated, resolved and written in the group's durable write itself, where nothing else can
 * commit in between. One that finds an object locked by a voted two-phase transaction leaves the
 * batch and waits like a vote. Within one batch each commit sees the revisions written before it,
 * so concurrent commits of one hot object are merged one after the other into a single flush
 * instead of failing each other.
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

/** A one-phase commit's outcome when an object it writes is locked by a voted transaction. */
class LockBusy {
  constructor(readonly oid: Oid) {}
}

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
  readonly #group = new GroupCommit<CommitTxn, Tid | LockBusy>((batch) => Promise.resolve(this.#writeBatch(batch)));

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
      await this.#untilUnlocked(txn, 'tpcVote', () =>
        this.#backend.write((w) => {
          if (this.#released.size >= RELEASED_BATCH) this.#deleteReleased(w);
          return this.#tryVote(w, txn, oids);
        }, 'lock'),
      );
      txn.locked = oids;
      txn.state = 'voted';
      this.stats.resolvedConflicts += txn.resolved.length;
      return [...txn.resolved];
    } catch (err) {
      if (txn.state === 'voting') txn.state = 'open';
      throw err;
    }
  }

  /** Second phase: resolves with the tid once the transaction is written (durably, if the backend is). */
  async finish(txn: CommitTxn): Promise<Tid> {
    try {
      return (await this.#submit(txn)) as Tid; // a voted transaction is never busy
    } finally {
      this.#live.delete(txn);
    }
  }

  /** Vote and finish in one backend write (see the module comment). */
  async commitOnePhase(txn: CommitTxn): Promise<{ tid: Tid; resolved: Oid[] }> {
    txn.onePhase = true;
    try {
      const tid = await this.#untilUnlocked(txn, 'tpcCommitOnePhase', async () => {
        const outcome = await this.#submit(txn);
        if (outcome instanceof LockBusy) txn.state = 'voting'; // waiting, as a vote does (abort may cancel it)
        return outcome;
      });
      this.stats.resolvedConflicts += txn.resolved.length;
      return { tid, resolved: [...txn.resolved] };
    } finally {
      this.#live.delete(txn);
    }
  }

  /**
   * Repeats `attempt` until it finds no object locked by another transaction: waits between
   * attempts (woken by releases in this process, polling with backoff for other processes) up to
   * the lock timeout; gives up when the transaction is aborted meanwhile.
   * @throws CommitLockTimeoutError after the timeout; what `attempt` throws
   */
  async #untilUnlocked<T>(txn: CommitTxn, operation: string, attempt: () => T | LockBusy | Promise<T | LockBusy>): Promise<T> {
    const deadline = Date.now() + this.#options.lockTimeoutMs;
    let delay = 1;
    try {
      for (;;) {
        if (txn.cancelled) throw new StorageTransactionError(`${operation}: the transaction was aborted while it waited for commit locks`);
        const outcome = await attempt();
        if (!(outcome instanceof LockBusy)) return outcome;
        this.stats.lockWaits += 1;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw this.#lockTimeout(txn, outcome.oid);
        await waitForLockRelease(Math.min(delay, remaining));
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    } catch (err) {
      if (ConflictError.is(err)) this.stats.conflicts += 1;
      throw err;
    }
  }

  #submit(txn: CommitTxn): Promise<Tid | LockBusy> {
    txn.state = 'finishing';
    // Wait for the event-loop turn to end (so concurrent commits share the write) only when
    // another transaction has begun: storage transactions live only while their commit runs, so
    // it will most likely ask to be written within this turn.
    return this.#group.submit(txn, this.#live.size <= 1);
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

  /**
   * Takes the locks of `oids` for a vote if no other live transaction holds one: validates first
   * (see `#validate`), so a vote that fails takes nothing.
   */
  #tryVote(w: BackendWriter, txn: CommitTxn, oids: readonly Oid[]): LockBusy | undefined {
    const currentTids = this.#validate(w, txn, oids);
    if (currentTids instanceof LockBusy) return currentTids;
    for (const [oid, current] of currentTids) w.putLock(oid, holderFor(txn.token, current ?? null));
    txn.voteWriteId = w.writeId();
    return undefined;
  }

  /**
   * Validates `txn` against the latest state, inside a write: no other live transaction may hold
   * the lock of an object in `oids`, references must survive a running pack, serials must hold or
   * merge. Sets `txn.final`, `writtenOids`, `resolved` and `currentTids`; writes nothing.
   * @returns the current tids of `oids`, or LockBusy naming an object locked by another transaction
   * @throws ConflictError, ReadConflictError, UndoError, DanglingReferenceError
   */
  #validate(w: BackendWriter, txn: CommitTxn, oids: readonly Oid[]): Map<Oid, Tid | undefined> | LockBusy {
    const locks = w.hasLocks();
    const currentTids = new Map<Oid, Tid | undefined>();
    for (const oid of oids) {
      const current = w.currentTid(oid);
      currentTids.set(oid, current);
      const holder = locks ? w.lockHolder(oid) : undefined;
      if (holder !== undefined && holder.token !== txn.token && isLockHeld(holder, current)) return new LockBusy(oid);
    }
    // While a pack runs (here or in another process), refuse references to collected objects.
    const packer = w.packMarker();
    if (packer !== undefined && !isStaleHolder(packer)) checkReferences(w, txn.stores);
    const resolver = this.#options.resolver();
    const validated: Validated =
      txn.undoOf === null ? validate(w, txn, resolver, currentTids) : { final: planUndo(w, txn.undoOf, resolver), resolved: [] };
    txn.final = validated.final;
    txn.writtenOids = [...validated.final.keys()].sort();
    txn.resolved = validated.resolved;
    txn.currentTids = currentTids;
    return currentTids;
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

  #writeBatch(batch: readonly CommitTxn[]): Array<Tid | LockBusy | Error> {
    const results: Array<Tid | LockBusy | Error> = [];
    // Not written: fit for abort, which releases the locks of a voted transaction.
    const unwritten = (txn: CommitTxn): void => {
      txn.state = txn.onePhase ? 'open' : 'voted';
    };
    try {
      this.#write(batch, results);
    } catch (err) {
      for (const txn of batch) unwritten(txn);
      throw err;
    }
    // A batch whose every commit was refused wrote nothing: no flush.
    if (results.some((r) => typeof r === 'string')) this.stats.flushes += 1;
    for (const [i, txn] of batch.entries()) {
      const result = results[i];
      if (result instanceof Error || result instanceof LockBusy) {
        unwritten(txn);
        continue;
      }
      if (!txn.onePhase) for (const oid of txn.final.keys()) this.#released.set(oid, txn.token);
      txn.state = 'finished';
      txn.locked = [];
      this.stats.commits += 1;
    }
    notifyLockRelease();
    return results;
  }

  /** The durable write of a batch; `results` gets a tid, a LockBusy or an error per transaction, in order. */
  #write(batch: readonly CommitTxn[], results: Array<Tid | LockBusy | Error>): void {
    this.#backend.write((w) => {
      // While any lock entry is left, every validation reads each object's lock: a one-phase
      // commit clears the entries 2PC commits released rather than waiting for a batch of them.
      if (this.#released.size > 0 && batch.some((txn) => txn.onePhase)) this.#deleteReleased(w);
      const first = w.lastTid();
      let last = first;
      // Oids are fixed-width lowercase hex: string order is numeric order, no BigInt per object.
      let maxOid = '';
      for (const txn of batch) {
        const refused = txn.onePhase ? this.#validateOnePhase(w, txn) : this.#checkLocksKept(w, txn);
        if (refused !== undefined) {
          results.push(refused);
          continue;
        }
        const tid = newTid(last);
        // Validated in this write, or unchanged since the vote under the commit locks.
        const current = txn.currentTids;
        // forEach: iterating the entries would allocate a pair per object.
        txn.final.forEach((data, oid) => {
          w.putRevision(oid, tid, data, current.has(oid) && current.get(oid) === undefined);
          if (oid > maxOid) maxOid = oid;
        });
        w.putTransaction(tid, { ...txn.record, oids: txn.writtenOids });
        // Written objects now have a new tid, which releases their locks; checked-only ones do not.
        for (const oid of txn.locked) if (!txn.final.has(oid)) w.deleteLock(oid);
        last = tid;
        results.push(tid);
      }
      if (last !== first) w.setLastTid(last);
      // Oids from newOid() are below the floor already; only oids chosen by the caller can raise it.
      const max = maxOid === '' ? -1n : idToBigInt(maxOid as Oid);
      if (max >= this.#oidFloor) {
        w.raiseNextOid(max + 1n);
        this.#oidFloor = max + 1n;
      }
    }, 'commit');
  }

  /**
   * Re-checks under the writer lock what a vote established — its locks are still its own —
   * unless nothing at all was written since the vote took them.
   */
  #checkLocksKept(w: BackendWriter, txn: CommitTxn): Error | undefined {
    if (w.writeId() === txn.voteWriteId + 1) return undefined;
    const lost = txn.locked.find((oid) => w.lockHolder(oid)?.token !== txn.token);
    if (lost === undefined) return undefined;
    const holder = w.lockHolder(lost);
    return new StorageTransactionError(
      `tpcFinish: the commit lock of oid ${lost} taken by this transaction's vote is ` +
        (holder === undefined ? 'gone' : `now held by transaction ${holder.token} of process ${holder.pid}`),
    );
  }

  /**
   * Validates a one-phase commit inside the batch's write, seeing the revisions written before it
   * in the batch; on success `txn.final` holds what to write. Nothing is written here, so a
   * refused commit leaves no trace.
   * @returns LockBusy when a voted transaction holds the lock of an object it writes or checks;
   *   the error (ConflictError, ReadConflictError, UndoError, ...) when it cannot commit
   */
  #validateOnePhase(w: BackendWriter, txn: CommitTxn): LockBusy | Error | undefined {
    try {
      const busy = this.#validate(w, txn, txn.lockSet(txn.undoOf === null ? [] : undoTargets(w, txn.undoOf), false));
      return busy instanceof LockBusy ? busy : undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
