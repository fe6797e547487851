/**
 * The two-phase-commit state machine of one storage, per `StorageTransaction` handle, plus the
 * open / read-only checks every operation needs. `guardStorage` wraps any storage with it;
 * the built-in storages compose it, so their implementations never see an out-of-order call.
 *
 * Phases of a handle (only the transitions listed are allowed):
 * ```
 * open ──vote──▶ voting ──ok──▶ voted ──finish──▶ finishing ──▶ finished
 *   │ │             └──fail──▶ failed                 └──fail──▶ failed
 *   │ └───────────commit one-phase─────────────────▶ finishing
 *   └─ abort (from open, voting, voted, failed) ──▶ aborted
 * ```
 */
import { ReadOnlyError, StorageClosedError, StorageTransactionError } from '../errors.ts';
import type { StorageTransaction } from '../interfaces.ts';

/** The phase of one storage transaction. */
export type TpcPhase = 'open' | 'voting' | 'voted' | 'failed' | 'finishing' | 'finished' | 'aborted';

/** What the protocol needs to know about its storage. */
export interface ProtocolTarget {
  readonly name: string;
  readonly readOnly: boolean;
  readonly closed: boolean;
}

const phaseText: Record<TpcPhase, string> = {
  open: 'in its store phase',
  voting: 'being voted',
  voted: 'voted',
  failed: 'failed (only tpcAbort is allowed)',
  finishing: 'being finished',
  finished: 'finished',
  aborted: 'aborted',
};

/** Enforces the 2PC order for the handles one storage issued. */
export class TpcProtocol {
  // Weak: a handle dropped without abort must not pin memory; its storage-side state is
  // released by the storage (close aborts what is pending).
  readonly #phases = new WeakMap<StorageTransaction, TpcPhase>();

  constructor(private readonly target: ProtocolTarget) {}

  /** @throws StorageClosedError after close */
  assertOpen(): void {
    if (this.target.closed) throw new StorageClosedError(this.target.name);
  }

  /** @throws StorageClosedError after close, ReadOnlyError on a read-only storage */
  assertWritable(operation: string): void {
    this.assertOpen();
    if (this.target.readOnly) throw new ReadOnlyError(operation);
  }

  /** Registers a handle the storage just issued. */
  began(txn: StorageTransaction): void {
    this.#phases.set(txn, 'open');
  }

  /** The phase of `txn`, or undefined for a handle this storage never issued. */
  phaseOf(txn: StorageTransaction): TpcPhase | undefined {
    return this.#phases.get(txn);
  }

  /** Before `store` / `checkCurrent`. @throws StorageTransactionError unless in the store phase */
  beforeStore(txn: StorageTransaction, operation: string): void {
    this.#expect(txn, 'open', operation);
  }

  /**
   * Before `tpcAbort`. @returns true when the abort must reach the storage; false for an unknown,
   * already ended or finishing transaction (a no-op, as the contract says)
   */
  beforeAbort(txn: StorageTransaction): boolean {
    const phase = this.#phases.get(txn);
    if (phase === undefined || phase === 'finished' || phase === 'aborted' || phase === 'finishing') return false;
    this.#phases.set(txn, 'aborted');
    return true;
  }

  /**
   * Runs a vote (`run`) through the protocol. An abort during the vote wins over its outcome.
   * @throws StorageTransactionError (as a rejection) unless in the store phase
   */
  async vote<T>(txn: StorageTransaction, run: () => Promise<T>): Promise<T> {
    this.#expect(txn, 'open', 'tpcVote');
    this.#phases.set(txn, 'voting');
    return settled(run, (ok) => {
      if (this.#phases.get(txn) === 'voting') this.#phases.set(txn, ok ? 'voted' : 'failed');
    });
  }

  /** Runs a finish (`run`). @throws StorageTransactionError (as a rejection) unless voted successfully */
  async finish<T>(txn: StorageTransaction, run: () => Promise<T>): Promise<T> {
    this.#expect(txn, 'voted', 'tpcFinish');
    return this.#finishing(txn, run);
  }

  /** Runs a one-phase commit (`run`). @throws StorageTransactionError (as a rejection) unless in the store phase */
  async commitOnePhase<T>(txn: StorageTransaction, run: () => Promise<T>): Promise<T> {
    this.#expect(txn, 'open', 'tpcCommitOnePhase');
    return this.#finishing(txn, run);
  }

  /** A failed finish (engine error, or a refused one-phase commit) leaves the handle fit for abort only. */
  #finishing<T>(txn: StorageTransaction, run: () => Promise<T>): Promise<T> {
    this.#phases.set(txn, 'finishing');
    return settled(run, (ok) => this.#phases.set(txn, ok ? 'finished' : 'failed'));
  }

  #expect(txn: StorageTransaction, wanted: TpcPhase, operation: string): void {
    this.assertOpen();
    const phase = this.#phases.get(txn);
    if (phase === wanted) return;
    if (phase === undefined) {
      throw new StorageTransactionError(`${operation}: the transaction was not begun by storage ${this.target.name}`);
    }
    throw new StorageTransactionError(`${operation}: the transaction is ${phaseText[phase]}`);
  }
}

/** Runs `run`, then tells `after` whether it succeeded, before its outcome is passed on. */
async function settled<T>(run: () => Promise<T>, after: (ok: boolean) => void): Promise<T> {
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    after(ok);
  }
}
