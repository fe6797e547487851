import { TransactionError } from '../errors.ts';
import type { DataManager, TransactionHandle } from '../interfaces.ts';
import type { TransactionLogger } from './logger.ts';
import { describeDataManager } from './savepoint.ts';

/**
 * Orders data managers by `sortKey()`, the global order that keeps two transactions committing
 * to the same resources from deadlocking. Keys are compared as strings by code unit (not locale).
 * @throws TransactionError if a key is not a string or two managers share a key (the contract
 *   requires unique keys: with equal keys the order would depend on join order)
 */
export function sortDataManagers(dms: readonly DataManager[]): DataManager[] {
  const keyed = dms.map((dm) => {
    const key: unknown = dm.sortKey();
    if (typeof key !== 'string') {
      throw new TransactionError(`sortKey() of a data manager returned ${typeof key}, expected a string`);
    }
    return { dm, key };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i]!.key === keyed[i - 1]!.key) {
      throw new TransactionError(`two data managers in one transaction have the same sortKey ${JSON.stringify(keyed[i]!.key)}`);
    }
  }
  return keyed.map((k) => k.dm);
}

/**
 * Runs the two-phase commit protocol over `dms` (transaction package's `_commitResources`):
 * sorted by `sortKey()`, `tpcBegin` on all, then `commit` on all, then `tpcVote` on all, then
 * `tpcFinish` on all; each call is awaited before the next. A manager alone in the transaction
 * that offers `tpcCommitOnePhase` gets that instead of vote and finish: with no other participant
 * to wait for, the vote's locks would only cost time (a failure there is treated as a failed vote).
 *
 * If anything fails before the finishes: `abort` on the managers that had not voted, then
 * `tpcAbort` on all; errors during this cleanup are logged, never thrown, so the original error
 * propagates. If a `tpcFinish` fails, some managers may have made their changes permanent and
 * others not: that is logged as critical (as ZODB does), the managers that did not finish get
 * `tpcAbort`, and the error propagates.
 */
export async function twoPhaseCommit(txn: TransactionHandle, dms: readonly DataManager[], logger: TransactionLogger): Promise<void> {
  const ordered = sortDataManagers(dms);
  const voted = new Set<DataManager>();
  const finished = new Set<DataManager>();
  try {
    for (const dm of ordered) await dm.tpcBegin(txn);
    for (const dm of ordered) await dm.commit(txn);
    const sole = ordered.length === 1 ? ordered[0] : undefined;
    if (sole?.tpcCommitOnePhase !== undefined) {
      await sole.tpcCommitOnePhase(txn);
      return;
    }
    for (const dm of ordered) {
      await dm.tpcVote(txn);
      voted.add(dm);
    }
    try {
      for (const dm of ordered) {
        await dm.tpcFinish(txn);
        finished.add(dm);
      }
    } catch (error) {
      logger.critical(
        'a data manager failed in the second phase of two-phase commit (tpcFinish); ' +
          `finished: [${[...finished].map(describeDataManager).join(', ')}], ` +
          `not finished: [${ordered.filter((dm) => !finished.has(dm)).map(describeDataManager).join(', ')}]; ` +
          'data managers may be in an inconsistent state',
        error,
      );
      throw error;
    }
  } catch (error) {
    await cleanUp(txn, ordered, voted, finished, logger);
    throw error;
  }
}

async function cleanUp(
  txn: TransactionHandle,
  ordered: readonly DataManager[],
  voted: ReadonlySet<DataManager>,
  finished: ReadonlySet<DataManager>,
  logger: TransactionLogger,
): Promise<void> {
  for (const dm of ordered) {
    if (voted.has(dm)) continue;
    try {
      await dm.abort(txn);
    } catch (error) {
      logger.error(`error in abort() of data manager ${describeDataManager(dm)} after a failed commit`, error);
    }
  }
  for (const dm of ordered) {
    // A finished manager's changes are permanent; asking it to abandon them would only add damage.
    if (finished.has(dm)) continue;
    try {
      await dm.tpcAbort(txn);
    } catch (error) {
      logger.error(`error in tpcAbort() of data manager ${describeDataManager(dm)} after a failed commit`, error);
    }
  }
}
