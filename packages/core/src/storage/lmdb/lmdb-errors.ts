/**
 * The one place where lmdb-js and msgpackr failures become TidalDB errors (STYLE §6). Our own
 * errors (conflicts, corrupt records, …) pass through unchanged; anything else the engine throws
 * — I/O errors, a full map or disk, a closed environment, undecodable metadata — becomes a
 * `StorageIOError` naming the operation, with the engine's error as `cause`.
 */
import { StorageIOError, TidalError } from '../../errors.ts';

export function mapLmdbError(err: unknown, operation: string, storageName: string): Error {
  if (TidalError.is(err)) return err;
  return new StorageIOError(operation, storageName, { cause: err });
}

/** Runs `fn`, mapping what it throws. */
export function lmdbCall<T>(operation: string, storageName: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw mapLmdbError(err, operation, storageName);
  }
}
