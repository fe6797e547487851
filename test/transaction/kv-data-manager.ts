// A small but real data manager for the transaction tests: an in-memory key-value store whose
// changes become visible in `committed` only at tpcFinish. It records every call it receives in a
// shared log, and can be told to fail in any phase.
import type { DataManager, DataManagerSavepoint, TransactionHandle, TransactionLogger, TransactionManager } from '@tidaldb/core';

export type Phase = 'abort' | 'tpcBegin' | 'commit' | 'tpcVote' | 'tpcFinish' | 'tpcCommitOnePhase' | 'tpcAbort' | 'savepoint' | 'rollback';

export interface KvOptions {
  /** tpc methods resolve after a microtask and abort returns a promise. */
  async?: boolean;
  /** false: the manager has no savepoint() method. */
  savepoints?: boolean;
  shouldRetry?: (error: unknown) => boolean;
  /** true: the manager offers tpcCommitOnePhase. */
  onePhase?: boolean;
}

export class KvDataManager implements DataManager {
  readonly committed = new Map<string, string>();
  /** Errors to throw, by phase (removed once thrown when `once` was used). */
  readonly failures = new Map<Phase, { error: unknown; once: boolean }>();
  savepoint?: () => DataManagerSavepoint;
  shouldRetry?: (error: unknown) => boolean;
  tpcCommitOnePhase?: (txn: TransactionHandle) => void | Promise<void>;
  #pending = new Map<string, string>();
  #staged: Map<string, string> | null = null;
  #joined: TransactionHandle | null = null;

  constructor(
    readonly name: string,
    readonly tm: TransactionManager,
    readonly log: string[] = [],
    readonly options: KvOptions = {},
  ) {
    if (options.savepoints !== false) this.savepoint = () => this.#savepoint();
    if (options.shouldRetry) this.shouldRetry = options.shouldRetry;
    if (options.onePhase) this.tpcCommitOnePhase = () => this.#call('tpcCommitOnePhase', () => this.#apply());
  }

  /** Makes the next (or every) call of `phase` throw `error`. */
  failIn(phase: Phase, error: unknown = new Error(`${this.name} fails in ${phase}`), once = false): unknown {
    this.failures.set(phase, { error, once });
    return error;
  }

  set(key: string, value: string): void {
    const txn = this.tm.get();
    if (this.#joined !== txn) {
      txn.join(this);
      this.#joined = txn;
    }
    this.#pending.set(key, value);
  }

  /** What this manager would commit now. */
  get pending(): Record<string, string> {
    return Object.fromEntries(this.#pending);
  }

  get state(): Record<string, string> {
    return Object.fromEntries(this.committed);
  }

  sortKey(): string {
    return this.name;
  }

  abort(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('abort', () => this.#reset(), false);
  }
  tpcBegin(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('tpcBegin', () => undefined);
  }
  commit(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('commit', () => {
      this.#staged = new Map(this.#pending);
    });
  }
  tpcVote(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('tpcVote', () => undefined);
  }
  tpcFinish(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('tpcFinish', () => this.#apply());
  }

  #apply(): void {
    for (const [k, v] of this.#staged ?? []) this.committed.set(k, v);
    this.#reset();
  }
  tpcAbort(_txn: TransactionHandle): void | Promise<void> {
    return this.#call('tpcAbort', () => this.#reset());
  }

  #savepoint(): DataManagerSavepoint {
    this.#record('savepoint');
    const snapshot = new Map(this.#pending);
    return {
      rollback: () => {
        this.#record('rollback');
        this.#pending = new Map(snapshot);
      },
    };
  }

  #reset(): void {
    this.#pending = new Map();
    this.#staged = null;
    this.#joined = null;
  }

  #record(phase: Phase): void {
    this.log.push(`${this.name}.${phase}`);
    const failure = this.failures.get(phase);
    if (failure) {
      if (failure.once) this.failures.delete(phase);
      throw failure.error;
    }
  }

  // Async tpc phases run after a microtask, as real I/O would; an async abort changes state at once
  // (like an async function before its first await) and reports through its promise.
  #call(phase: Phase, effect: () => void, defer = true): void | Promise<void> {
    if (!this.options.async) {
      this.#record(phase);
      effect();
      return;
    }
    const run = (): void => {
      this.#record(phase);
      effect();
    };
    if (!defer) {
      try {
        run();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return Promise.resolve().then(run);
  }
}

/** A logger that keeps what it is given, for assertions. */
export class RecordingLogger implements TransactionLogger {
  readonly errors: { message: string; error: unknown }[] = [];
  readonly criticals: { message: string; error: unknown }[] = [];
  error(message: string, error: unknown): void {
    this.errors.push({ message, error });
  }
  critical(message: string, error: unknown): void {
    this.criticals.push({ message, error });
  }
}
