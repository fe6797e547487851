import { InvalidSavepointRollbackError, SavepointNotSupportedError } from '../errors.ts';
import type { DataManager, DataManagerSavepoint, TransactionHandle } from '../interfaces.ts';
import { isPromiseLike } from './maybe-async.ts';

/** What a savepoint needs from its transaction; kept off the Transaction's public surface. */
export interface SavepointOwner {
  readonly handle: TransactionHandle;
  /** Forgets and invalidates every savepoint made after `savepoint`. */
  invalidateAfter(savepoint: Savepoint): void;
  /** Marks the transaction commit-failed because of `error`. */
  fail(error: unknown): void;
  /** Removes a data manager that joined after the savepoint being rolled back. */
  unjoin(dm: DataManager): void;
  /** Makes the next commit or abort wait for an asynchronous data manager abort. */
  track(work: PromiseLike<unknown>): void;
}

/** One data manager's part of a transaction savepoint. */
interface Part {
  readonly dm: DataManager;
  rollback(): void;
}

let invalidate: (savepoint: Savepoint) => void;
let addPart: (savepoint: Savepoint, part: Part) => void;

/**
 * A savepoint of a whole transaction: one `DataManagerSavepoint` per joined data manager
 * (transaction package's `Savepoint`). Made by `Transaction.savepoint()`.
 *
 * Invariants: rolling back to S invalidates every savepoint made after S, while S stays valid and
 * can be rolled back to again; every savepoint becomes invalid when its transaction commits or
 * aborts. A data manager that joins after S is aborted and removed from the transaction when S is
 * rolled back (ZODB's AbortSavepoint), so its later changes vanish too.
 */
export class Savepoint {
  #owner: SavepointOwner | null;
  readonly #parts: Part[];

  static {
    invalidate = (savepoint) => {
      savepoint.#owner = null;
    };
    addPart = (savepoint, part) => {
      if (!savepoint.#parts.some((p) => p.dm === part.dm)) savepoint.#parts.push(part);
    };
  }

  /** @internal Made by `Transaction.savepoint()`. */
  constructor(owner: SavepointOwner, parts: Part[]) {
    this.#owner = owner;
    this.#parts = parts;
  }

  /** False once a rollback to an earlier savepoint happened or the transaction ended. */
  get valid(): boolean {
    return this.#owner !== null;
  }

  /**
   * Restores every data manager to its state when this savepoint was taken.
   * @throws InvalidSavepointRollbackError if the savepoint is no longer valid (nothing is changed)
   * @throws the error of a data manager whose rollback failed; the transaction is then
   *   commit-failed (its state is unknown) and can only be aborted
   */
  rollback(): void {
    const owner = this.#owner;
    if (owner === null) {
      throw new InvalidSavepointRollbackError(
        'savepoint is no longer valid: its transaction ended, or an earlier savepoint was rolled back',
      );
    }
    owner.invalidateAfter(this);
    try {
      for (const part of [...this.#parts]) part.rollback();
    } catch (error) {
      owner.fail(error);
      throw error;
    }
  }
}

/** Internal operations on savepoints, for the Transaction. */
export const savepointInternals = {
  invalidate: (savepoint: Savepoint): void => invalidate(savepoint),
  /** Adds a part for `dm` unless the savepoint already covers it. */
  addPart: (savepoint: Savepoint, part: Part): void => addPart(savepoint, part),
};

/** A part that delegates to the data manager's own savepoint. */
export function dataManagerPart(dm: DataManager, savepoint: DataManagerSavepoint): Part {
  return { dm, rollback: () => savepoint.rollback() };
}

/** An optimistic savepoint's part for a data manager without `savepoint()`: rollback fails. */
export function noRollbackPart(dm: DataManager): Part {
  return {
    dm,
    rollback: () => {
      throw new SavepointNotSupportedError(describeDataManager(dm), 'rollback');
    },
  };
}

/** The part for a data manager that joined after the savepoint: rolling back aborts it. */
export function abortPart(dm: DataManager, owner: SavepointOwner): Part {
  return {
    dm,
    rollback: () => {
      const result = dm.abort(owner.handle);
      owner.unjoin(dm);
      if (isPromiseLike(result)) owner.track(result);
    },
  };
}

/** The data manager's sort key, for messages; never throws. */
export function describeDataManager(dm: DataManager): string {
  try {
    return String(dm.sortKey());
  } catch {
    return `<${dm.constructor.name}>`;
  }
}
