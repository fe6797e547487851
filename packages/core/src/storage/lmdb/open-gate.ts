/**
 * The open gate: serializes opening an LMDB environment against writes to it, across processes.
 *
 * Why: the LMDB inside lmdb-js (3.5) sets the lock file's "last transaction id" from the meta
 * page it read while opening (`mdb_env_open2`), without taking LMDB's writer lock. A commit by
 * another process that lands between that read and that store is undone for the next writer,
 * which then starts from the older snapshot under the same transaction id and overwrites the
 * commit: an acknowledged transaction is lost. (Reproduced here: one process opening and closing
 * the environment in a loop while others commit loses commits within seconds.) So every open and
 * every write transaction runs inside a write transaction of a small separate environment next to
 * the database, whose writer lock is the gate. Gate transactions never write anything (LMDB ends
 * them as empty commits, without a flush), so the gate's own id never moves and its own opening is
 * immune to the race it guards against.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TransactionFlags, open, type RootDatabase } from 'lmdb';
import { mapLmdbError } from './lmdb-errors.ts';

/** The gate's file in the database directory (LMDB adds `-lock` beside it). */
export const GATE_FILE = 'open-gate.mdb';

const GATE_FLAGS = (TransactionFlags.ABORTABLE | TransactionFlags.NO_SYNC_FLUSH) as TransactionFlags;

/** The cross-process gate of one database directory. */
export class OpenGate {
  private constructor(private readonly env: RootDatabase | null) {}

  /**
   * Opens the gate of the database in directory `dir`. Read-only storages take the gate too (an
   * opening reader resets the id just as a writer does); a read-only storage on a directory that
   * does not exist gets no gate, and its opening then fails as it should.
   * @throws StorageIOError when the gate cannot be opened
   */
  static open(dir: string, readOnly: boolean): OpenGate {
    if (readOnly && !existsSync(dir)) return new OpenGate(null);
    try {
      return new OpenGate(open({ path: join(dir, GATE_FILE), noSubdir: true, overlappingSync: false, maxDbs: 1 }));
    } catch (err) {
      throw mapLmdbError(err, 'open', dir);
    }
  }

  /** Runs `fn` while holding the gate (re-entrant within this process). */
  pass<T>(fn: () => T): T {
    if (this.env === null) return fn();
    let result: T | undefined;
    // Block body: a callback returning a promise would defer lmdb-js's commit.
    this.env.transactionSync(() => {
      result = fn();
    }, GATE_FLAGS);
    return result as T;
  }

  async close(): Promise<void> {
    await this.env?.close();
  }
}
