import { AlreadyInTransactionError, InvalidOptionError, NoTransactionError } from '../errors.ts';
import type { Synchronizer } from '../interfaces.ts';
import { consoleTransactionLogger, type TransactionLogger } from './logger.ts';
import type { Savepoint } from './savepoint.ts';
import { Transaction, transactionInternals } from './transaction.ts';

/** Options of `new TransactionManager()`. */
export interface TransactionManagerOptions {
  /**
   * Explicit mode: `begin()` must be called before any other use (`get()` throws
   * `NoTransactionError` instead of creating a transaction) and `begin()` during a transaction
   * throws `AlreadyInTransactionError` instead of aborting it.
   * @defaultValue false
   */
  explicit?: boolean;
  /** Receives errors that are logged instead of thrown. @defaultValue `consoleTransactionLogger` */
  logger?: TransactionLogger;
}

/** Options of `TransactionManager.run()`. */
export interface RunOptions {
  /** How many times to run the function at most. @defaultValue 3 */
  attempts?: number;
  /** Sets `txn.user` for every attempt. */
  user?: string;
  /**
   * Noted in `txn.description` for every attempt. (ZODB uses the function's name; names change
   * with minification, so here the description is only ever explicit.)
   */
  description?: string;
}

/**
 * Creates and tracks the current transaction of one flow of work (the `transaction` package's
 * TransactionManager).
 *
 * There is deliberately no global or thread-local manager (ZODB's `transaction.manager`): async
 * code has no threads, so a shared "current transaction" would be shared by every request being
 * served concurrently, mixing their changes into one commit. Each Connection or request owns a
 * manager, and `db.transact` makes one per call.
 *
 * @example
 * const tm = new TransactionManager();
 * const total = await tm.run(async (txn) => {
 *   txn.setUser('alice');
 *   return 42;
 * }, { description: 'answer' });
 */
export class TransactionManager {
  /** See `TransactionManagerOptions.explicit`. */
  readonly explicit: boolean;
  readonly #logger: TransactionLogger;
  // Strong references: a Connection unregisters itself on close. (ZODB uses a weak set; in JS an
  // inline synchronizer object would then vanish at an arbitrary garbage collection.)
  readonly #synchronizers = new Set<Synchronizer>();
  #txn: Transaction | null = null;

  constructor(options: TransactionManagerOptions = {}) {
    this.explicit = options.explicit ?? false;
    this.#logger = options.logger ?? consoleTransactionLogger;
  }

  /**
   * Starts a new transaction and calls every synchronizer's `newTransaction` with it. In implicit
   * mode a current transaction is aborted first (if its data managers abort asynchronously, the
   * new transaction's commit and abort wait for that; its errors are logged).
   * @throws AlreadyInTransactionError in explicit mode while a transaction is current
   * @throws TransactionError while the current transaction is committing; the error of a failing
   *   synchronous abort of the current transaction (no new transaction is begun then)
   */
  begin(): Transaction {
    let previousAbort: Promise<void> | undefined;
    if (this.#txn !== null) {
      if (this.explicit) {
        throw new AlreadyInTransactionError('a transaction is already in progress; commit or abort it first (explicit mode)');
      }
      previousAbort = transactionInternals.abortMaybeSync(this.#txn);
    }
    const txn = this.#create();
    if (previousAbort) {
      transactionInternals.track(
        txn,
        previousAbort.catch((error: unknown) => this.#logger.error('error aborting the previous transaction in begin()', error)),
      );
    }
    for (const s of [...this.#synchronizers]) s.newTransaction?.(txn);
    return txn;
  }

  /**
   * The current transaction. In implicit mode one is created when there is none — without calling
   * `newTransaction` on synchronizers (as ZODB: a Connection must not move its snapshot in the
   * middle of work just because its first change creates the transaction).
   * @throws NoTransactionError in explicit mode when no transaction was begun
   */
  get(): Transaction {
    if (this.#txn !== null) return this.#txn;
    if (this.explicit) throw new NoTransactionError('no transaction in progress; call begin() first (explicit mode)');
    return this.#create();
  }

  /** Commits the current transaction (see `Transaction.commit`). */
  async commit(): Promise<void> {
    await this.get().commit();
  }

  /** Aborts the current transaction (see `Transaction.abort`). */
  async abort(): Promise<void> {
    await this.get().abort();
  }

  doom(): void {
    this.get().doom();
  }

  isDoomed(): boolean {
    return this.get().isDoomed();
  }

  savepoint(optimistic = false): Savepoint {
    return this.get().savepoint(optimistic);
  }

  /**
   * Registers a synchronizer for this manager's transactions; if a transaction is current its
   * `newTransaction` is called at once. Registering twice has no further effect.
   */
  registerSynch(synchronizer: Synchronizer): void {
    this.#synchronizers.add(synchronizer);
    if (this.#txn !== null) synchronizer.newTransaction?.(this.#txn);
  }

  /** Unregisters a synchronizer (no-op if it was not registered). */
  unregisterSynch(synchronizer: Synchronizer): void {
    this.#synchronizers.delete(synchronizer);
  }

  /**
   * Runs `fn` in a new transaction and commits it, retrying the whole attempt (begin, `fn`,
   * commit) when it fails with a retryable error: a `TransientError` (`ConflictError`, …) or one
   * a joined data manager's `shouldRetry` accepts. A failed attempt is aborted before the next
   * one. The error of the last attempt, or a non-retryable one, propagates after the abort.
   *
   * `fn` must not commit, abort or begin itself.
   * @returns what `fn` returned, once its transaction has committed
   * @throws InvalidOptionError when `attempts` is not an integer ≥ 1 (nothing is run)
   */
  async run<T>(fn: (txn: Transaction) => T | Promise<T>, options: RunOptions = {}): Promise<T> {
    const attempts = options.attempts ?? 3;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new InvalidOptionError('attempts', attempts, 'an integer >= 1');
    }
    for (let attempt = 1; ; attempt++) {
      const txn = this.begin();
      if (options.user !== undefined) txn.user = options.user;
      if (options.description !== undefined) txn.note(options.description);
      try {
        const result = await fn(txn);
        await txn.commit();
        return result;
      } catch (error) {
        // Ask before aborting: the abort forgets the data managers whose shouldRetry may decide.
        const retry = attempt < attempts && txn.isRetryableError(error);
        try {
          await txn.abort();
        } catch (abortError) {
          this.#logger.error('error aborting a failed attempt in run()', abortError);
        }
        if (!retry) throw error;
      }
    }
  }

  #create(): Transaction {
    const txn = new Transaction({
      synchronizers: this.#synchronizers,
      logger: this.#logger,
      onEnd: (ended) => {
        if (this.#txn === ended) this.#txn = null;
      },
    });
    this.#txn = txn;
    return txn;
  }
}
