import type { Storage } from '../interfaces.ts';
import { LmdbStorage } from '../storage/lmdb/lmdb-storage.ts';

/** Opens the LMDB storage at `path` (a directory, created if missing) for `DB.open(path)`. */
export async function openLmdbStorage(path: string): Promise<Storage> {
  return LmdbStorage.open(path);
}
