/**
 * LmdbStorage: the embedded default storage, on lmdb-js. Reads are memory-mapped and
 * synchronous; commits are durable by default, grouped (concurrent finishes share one write
 * transaction and one flush) and safe for several processes on one environment: commit locks
 * live in the database, every commit is one LMDB write transaction that re-checks under LMDB's
 * writer lock what it relies on, and each process sees the others' commits through
 * `lastTransaction()` / `poll()`. Layout and checksums: lmdb-layout.ts, record-bytes.ts.
 *
 * Read freshness: loads read lmdb-js's shared read snapshot, which `lastTransaction()` and
 * `poll()` renew (lmdb-js also renews it on its own within a timer tick). Commits of other
 * processes, or of another storage object on the same directory, are therefore seen by loads
 * after the next `lastTransaction()` / `poll()` — which a Connection calls at each transaction
 * start — not necessarily at once; this storage object's own commits are seen at once.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidOptionError } from '../../errors.ts';
import { BaseStorage, type CommonStorageOptions } from '../base-storage.ts';
import { mapLmdbError } from './lmdb-errors.ts';
import { LmdbBackend } from './lmdb-backend.ts';
import { openEnvironment } from './lmdb-environment.ts';

/** Options of `LmdbStorage.open`. */
export interface LmdbStorageOptions extends CommonStorageOptions {
  /**
   * Open for reading only: every write throws `ReadOnlyError`. Works while other processes
   * have the database open for writing. The directory must already hold a database.
   * @defaultValue false
   */
  readonly readOnly?: boolean;
  /**
   * `'sync'`: `tpcFinish` resolves once the commit is flushed to disk. `'none'`: it resolves
   * once the commit is visible; a crash of the machine (not just of the process) may lose the
   * latest commits.
   * @defaultValue 'sync'
   */
  readonly durability?: 'sync' | 'none';
  /**
   * Address space reserved for the LMDB map, in bytes (the file only grows with the data; the map
   * still grows beyond this when needed). A map large enough from the start spares several
   * processes on one environment from remapping under each other.
   * @defaultValue 64 GiB (on Windows, where LMDB sizes the file to the map: lmdb-js's default)
   */
  readonly mapSize?: number;
}

/**
 * A storage in an LMDB environment (a directory).
 * @example
 * ```ts
 * const storage = await LmdbStorage.open('./data');
 * console.log(storage.lastTransaction());
 * await storage.close();
 * ```
 */
export class LmdbStorage extends BaseStorage {
  private constructor(backend: LmdbBackend, options: LmdbStorageOptions) {
    super(backend, backend.name, options);
  }

  /**
   * Opens the database in directory `path`, creating it (and the directory) unless read-only.
   * @throws UnsupportedFormatError when the database was written in a format this version cannot read
   * @throws StorageIOError when the environment cannot be opened (or, read-only, holds no database)
   * @throws InvalidOptionError for an unknown durability mode
   */
  static async open(path: string, options: LmdbStorageOptions = {}): Promise<LmdbStorage> {
    const readOnly = options.readOnly ?? false;
    const durability = options.durability ?? 'sync';
    if (durability !== 'sync' && durability !== 'none') {
      throw new InvalidOptionError('durability', durability, "'sync' or 'none'");
    }
    const dir = resolve(path);
    if (!readOnly) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw mapLmdbError(err, 'open', dir);
      }
    }
    const backend = new LmdbBackend(dir, readOnly, openEnvironment(dir, { readOnly, mapSize: options.mapSize }), durability === 'sync');
    try {
      return new LmdbStorage(backend, options);
    } catch (err) {
      await backend.close();
      throw err;
    }
  }
}
