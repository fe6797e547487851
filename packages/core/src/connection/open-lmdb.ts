import type { Storage } from '../interfaces.ts';

/** Opens the LMDB storage at `path` (kept apart so DB does not depend on LMDB for memory-only use). */
export async function openLmdbStorage(path: string): Promise<Storage> {
  throw new Error(`LmdbStorage is not available yet (${path})`);
}
