import { DoomedTransactionError, SavepointNotSupportedError, TransactionError, TransactionFailedError, TransientError } from '../errors.ts';
import type { DataManager, Synchronizer, TransactionHandle, TransactionStatus } from '../interfaces.ts';
import { callHooks } from './hooks.ts';
import { consoleTransactionLogger, type TransactionLogger } from './logger.ts';
import { runMaybeAsync } from './maybe-async.ts';
import {
  Savepoint,
  abortPart,
  dataManagerPart,
  describeDataManager,
  noRollbackPart,
  savepointInternals,
  type SavepointOwner,
} from './savepoint.ts';
import { TransactionInfo } from './transaction-info.ts';
import { twoPhaseCommit } from './two-phase-commit.ts';

/** Options of `new Transaction()`; a TransactionManager passes them for the transactions it makes. */
export interface TransactionOptions {
  /**
   * Synchronizers told about completion (`beforeCompletion` / `afterCompletion`). Read live at each
   * use, so a manager can share its registry and later registrations are seen.
   * @defaultValue none
   */
  synchronizers?: Iterable<Synchronizer>;
  /** @defaultValue `consoleTransactionLogger` */
  logger?: TransactionLogger;
  /** Called once when the transaction commits or aborts, so its manager can forget it. */
  onEnd?: (txn: Transaction) => void;
}

let abortMaybeSync: (txn: Transaction) => Promise<void> | undefined;
let track: (txn: Transaction, work: PromiseLike<unknown>) => void;

/**
 * One unit of work over any number of data managers, committed all-or-nothing by two-phase
 * commit (the `transaction` package's Transaction, with async commit and abort).
 *
 * Status machine: `active` → `committing` → `committed` | `commit-failed`; `active` → `doomed`
 * (commit refused, abort allowed); `active` | `doomed` | `commit-failed` → `aborted`. After a
 * failed commit (or a failed savepoint or rollback) every later `commit`, `join` and `savepoint`
 * throws `TransactionFailedError` (with the original error as `cause`) until `abort()`.
 *
 * One transaction is driven by one flow of control: while `commit()` runs, a second `commit()`,
 * `abort()` or `doom()` throws `TransactionError`.
 */
export class Transaction extends TransactionInfo implements TransactionHandle {
  #status: TransactionStatus = 'active';
  #busy: 'commit' | 'abort' | null = null;
  #failure: { error: unknown } | null = null;
  #resources: DataManager[] = [];
  #savepoints: Savepoint[] = [];
  #pending: Promise<unknown>[] = [];
  #synchronizers: Iterable<Synchronizer>;
  readonly #logger: TransactionLogger;
  #onEnd: ((txn: Transaction) => void) | undefined;
  readonly #owner: SavepointOwner;

  static {
    abortMaybeSync = (txn) => txn.#abortMaybeSync();
    track = (txn, work) => txn.#track(work);
  }

  constructor(options: TransactionOptions = {}) {
    super();
    this.#synchronizers = options.synchronizers ?? [];
    this.#logger = options.logger ?? consoleTransactionLogger;
    this.#onEnd = options.onEnd;
    this.#owner = {
      handle: this,
      invalidateAfter: (sp) => {
        const index = this.#savepoints.indexOf(sp);
        if (index < 0) return;
        for (const later of this.#savepoints.splice(index + 1)) savepointInternals.invalidate(later);
      },
      fail: (error) => this.#markFailed(error),
      unjoin: (dm) => {
        this.#resources = this.#resources.filter((r) => r !== dm);
      },
      track: (work) => this.#track(work),
    };
  }

  get status(): TransactionStatus {
    return this.#status;
  }

  isDoomed(): boolean {
    return this.#status === 'doomed';
  }

  /**
   * Dooms the transaction: work goes on, but `commit()` throws `DoomedTransactionError`; only
   * abort ends it. Idempotent.
   * @throws TransactionError unless the transaction is active (or already doomed)
   */
  doom(): void {
    if (this.#status === 'doomed') return;
    if (this.#status !== 'active' || this.#busy) {
      throw new TransactionError(`cannot doom a transaction that is ${this.#busy ? `in ${this.#busy}` : this.#status}`);
    }
    this.#status = 'doomed';
  }

  /**
   * Adds a data manager (once: joining an already joined manager does nothing). A manager that
   * joins after savepoints were taken is aborted and removed when one of them is rolled back.
   * @throws TransactionFailedError after a failed commit; TransactionError unless active or doomed
   */
  join(dm: DataManager): void {
    this.#assertUsable('join');
    if (this.#resources.includes(dm)) return;
    this.#resources.push(dm);
    for (const sp of this.#savepoints) savepointInternals.addPart(sp, abortPart(dm, this.#owner));
  }

  /**
   * Takes a savepoint of every joined data manager.
   * @param optimistic when true, a manager without `savepoint()` is accepted and only a rollback
   *   of this savepoint fails (with `SavepointNotSupportedError`)
   * @throws SavepointNotSupportedError (not optimistic) or a data manager's error; either leaves the
   *   transaction commit-failed, as in ZODB
   */
  savepoint(optimistic = false): Savepoint {
    this.#assertUsable('savepoint');
    let parts;
    try {
      parts = this.#resources.map((dm) => {
        if (typeof dm.savepoint !== 'function') {
          if (!optimistic) throw new SavepointNotSupportedError(describeDataManager(dm), 'savepoint');
          return noRollbackPart(dm);
        }
        return dataManagerPart(dm, dm.savepoint());
      });
    } catch (error) {
      this.#markFailed(error);
      throw error;
    }
    const sp = new Savepoint(this.#owner, parts);
    this.#savepoints.push(sp);
    return sp;
  }

  /**
   * True when `error` is worth running the transaction again for: a `TransientError` (such as
   * `ConflictError`), or any joined data manager's `shouldRetry(error)` says so.
   */
  isRetryableError(error: unknown): boolean {
    if (TransientError.is(error)) return true;
    return this.#resources.some((dm) => {
      try {
        return dm.shouldRetry?.(error) === true;
      } catch (checkError) {
        this.#logger.error(`shouldRetry() of data manager ${describeDataManager(dm)} threw`, checkError);
        return false;
      }
    });
  }

  /**
   * Commits: before-commit hooks, synchronizers' `beforeCompletion`, two-phase commit over the
   * joined data managers sorted by `sortKey()` (see `twoPhaseCommit`), synchronizers'
   * `afterCompletion`, after-commit hooks with `true`. All savepoints become invalid.
   *
   * On failure the transaction becomes commit-failed, after-commit hooks get `false`, and the
   * error is rethrown; only `abort()` helps then. Unlike ZODB, a failing before-commit hook or
   * synchronizer also leaves it commit-failed: retrying the commit would skip the consumed hooks.
   * @throws DoomedTransactionError if doomed; TransactionFailedError after an earlier failure;
   *   TransactionError if already committed, aborted or committing; any data manager's error
   */
  async commit(): Promise<void> {
    if (this.#busy) throw new TransactionError(`cannot commit: ${this.#busy} already in progress`);
    if (this.#status === 'committed' || this.#status === 'aborted') {
      throw new TransactionError(`cannot commit: the transaction is already ${this.#status}`);
    }
    this.#busy = 'commit';
    try {
      await this.#settlePending();
      if (this.#status === 'doomed') throw new DoomedTransactionError('transaction doomed, cannot commit');
      this.#invalidateSavepoints();
      if (this.#status === 'commit-failed') throw this.#failedError();
      try {
        await runMaybeAsync(callHooks(this.beforeCommitHooks, []));
        for (const s of [...this.#synchronizers]) s.beforeCompletion?.(this);
      } catch (error) {
        await this.#commitFailed(error);
        throw error;
      }
      this.#status = 'committing';
      try {
        await twoPhaseCommit(this, this.#resources, this.#logger);
      } catch (error) {
        this.#afterCompletion();
        await this.#commitFailed(error);
        throw error;
      }
      this.#status = 'committed';
      this.#afterCompletion();
      await this.#runAfterCommitHooks(true);
      this.#end();
      this.#free();
    } finally {
      this.#busy = null;
    }
  }

  /**
   * Aborts: before-abort hooks (errors logged), savepoints invalidated, synchronizers'
   * `beforeCompletion`, `abort` on every joined data manager, after-abort hooks, synchronizers'
   * `afterCompletion`. Every step runs even if an earlier one failed; the first error of a data
   * manager, synchronizer or after-abort hook is rethrown at the end. The transaction is aborted
   * either way. Aborting a committed or aborted transaction does nothing.
   * @throws TransactionError while a commit is in progress
   */
  async abort(): Promise<void> {
    await this.#abortMaybeSync();
  }

  #abortMaybeSync(): Promise<void> | undefined {
    if (this.#busy) throw new TransactionError(`cannot abort: ${this.#busy} in progress`);
    if (this.#status === 'committed' || this.#status === 'aborted') return undefined;
    this.#busy = 'abort';
    return runMaybeAsync(this.#abortSteps());
  }

  *#abortSteps(): Generator<unknown, void, unknown> {
    let first: { error: unknown } | null = null;
    const record = (what: string) => (error: unknown) => {
      this.#logger.error(what, error);
      first ??= { error };
    };
    try {
      if (this.#pending.length > 0) yield this.#settlePending();
      yield* callHooks(this.beforeAbortHooks, [], (e) => this.#logger.error('error in a before-abort hook', e));
      this.#invalidateSavepoints();
      for (const s of [...this.#synchronizers]) {
        try {
          s.beforeCompletion?.(this);
        } catch (error) {
          record('error in a synchronizer beforeCompletion() during abort')(error);
        }
      }
      for (const dm of this.#resources) {
        try {
          yield dm.abort(this);
        } catch (error) {
          record(`error in abort() of data manager ${describeDataManager(dm)}`)(error);
        }
      }
      const cleanUp = this.afterAbortHooks.length > 0;
      yield* callHooks(this.afterAbortHooks, [], record('error in an after-abort hook'));
      // As ZODB: a hook may have touched the data managers again; leave them clean.
      if (cleanUp) yield* this.#abortResourcesQuietly();
      this.#status = 'aborted';
      this.#end();
      for (const s of [...this.#synchronizers]) {
        try {
          s.afterCompletion?.(this);
        } catch (error) {
          record('error in a synchronizer afterCompletion() during abort')(error);
        }
      }
    } finally {
      this.#status = 'aborted';
      this.#busy = null;
      this.#end();
      this.#free();
    }
    if (first) throw (first as { error: unknown }).error;
  }

  *#abortResourcesQuietly(): Generator<unknown, void, unknown> {
    for (const dm of this.#resources) {
      try {
        yield dm.abort(this);
      } catch (error) {
        this.#logger.error(`error in abort() of data manager ${describeDataManager(dm)} after hooks`, error);
      }
    }
  }

  async #commitFailed(error: unknown): Promise<void> {
    this.#markFailed(error);
    await this.#runAfterCommitHooks(false);
  }

  async #runAfterCommitHooks(ok: boolean): Promise<void> {
    if (this.afterCommitHooks.length === 0) return;
    await runMaybeAsync(callHooks(this.afterCommitHooks, [ok], (e) => this.#logger.error('error in an after-commit hook', e)));
    // As ZODB: a hook may have touched the data managers again; leave them clean.
    await runMaybeAsync(this.#abortResourcesQuietly());
  }

  #afterCompletion(): void {
    for (const s of [...this.#synchronizers]) {
      try {
        s.afterCompletion?.(this);
      } catch (error) {
        this.#logger.error('error in a synchronizer afterCompletion()', error);
      }
    }
  }

  #assertUsable(operation: string): void {
    if (this.#status === 'commit-failed') throw this.#failedError();
    if (this.#status !== 'active' && this.#status !== 'doomed') {
      throw new TransactionError(`cannot ${operation}: the transaction is ${this.#status}`);
    }
  }

  #markFailed(error: unknown): void {
    this.#status = 'commit-failed';
    this.#failure = { error };
  }

  #failedError(): TransactionFailedError {
    const error = this.#failure?.error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new TransactionFailedError(`an earlier operation failed in this transaction (${reason}); abort it or begin a new one`, {
      cause: error,
    });
  }

  #invalidateSavepoints(): void {
    for (const sp of this.#savepoints) savepointInternals.invalidate(sp);
    this.#savepoints = [];
  }

  #track(work: PromiseLike<unknown>): void {
    this.#pending.push(
      Promise.resolve(work).then(undefined, (error: unknown) => {
        if (this.#status === 'active' || this.#status === 'doomed') this.#markFailed(error);
        else this.#logger.error('error in asynchronous data manager work', error);
      }),
    );
  }

  async #settlePending(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
  }

  /** Tells the manager the transaction is over (it no longer is the current one). */
  #end(): void {
    this.#invalidateSavepoints();
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    onEnd?.(this);
  }

  #free(): void {
    this.#resources = [];
    this.clearHooksAndData();
    this.#synchronizers = [];
  }
}

/** Internal operations for the TransactionManager. */
export const transactionInternals = {
  /** `abort()` that completes synchronously when every step is synchronous (for `begin()`). */
  abortMaybeSync: (txn: Transaction): Promise<void> | undefined => abortMaybeSync(txn),
  /** Makes `txn`'s commit and abort wait for `work` first (a predecessor's asynchronous abort). */
  track: (txn: Transaction, work: PromiseLike<unknown>): void => track(txn, work),
};
