/**
 * Test environments for the object layer: a DB on a real MemoryStorage or a real LmdbStorage in a
 * temporary directory (removed afterwards).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { DB, LmdbStorage, MemoryStorage, TransactionManager, type Connection, type DBOptions, type Storage } from '@tidaldb/core';

export type StorageKind = 'memory' | 'lmdb';
export const STORAGE_KINDS: readonly StorageKind[] = ['memory', 'lmdb'];

/** A storage of one kind, reopenable (for LMDB: the same directory). */
export interface StorageEnv {
  readonly kind: StorageKind;
  /** The LMDB directory (undefined for memory). */
  readonly dir: string | undefined;
  /** The storage the environment opened first. */
  readonly storage: Storage;
  /** For LMDB a new storage on the same directory; for memory the same storage. */
  reopen(): Promise<Storage>;
  /** Closes what was opened and removes the directory. */
  dispose(): Promise<void>;
}

export async function storageEnv(kind: StorageKind): Promise<StorageEnv> {
  const opened: Storage[] = [];
  if (kind === 'memory') {
    const storage = new MemoryStorage();
    opened.push(storage);
    return {
      kind,
      dir: undefined,
      storage,
      reopen: () => Promise.resolve(storage),
      dispose: async () => {
        for (const s of opened) await s.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tidal-objects-'));
  const open = async (): Promise<Storage> => {
    const s = await LmdbStorage.open(dir, { durability: 'none' });
    opened.push(s);
    return s;
  };
  const storage = await open();
  return {
    kind,
    dir,
    storage,
    reopen: open,
    dispose: async () => {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A DB on a fresh storage of `kind`. */
export async function dbEnv(kind: StorageKind, options: DBOptions = {}): Promise<{ db: DB; env: StorageEnv; dispose(): Promise<void> }> {
  const env = await storageEnv(kind);
  const db = await DB.open(env.storage, options);
  return {
    db,
    env,
    dispose: async () => {
      await db.close();
      await env.dispose();
    },
  };
}

/** A connection with its own transaction manager. */
export interface Session {
  readonly tm: TransactionManager;
  readonly conn: Connection;
}

/**
 * Registers hooks that give each test a DB on a fresh storage of `kind` and one connection on its
 * own transaction manager (handed to `use` before the test), and clean them up after it.
 * @returns `session()`: another connection on its own manager, aborted and closed after the test
 */
export function withConnection(kind: StorageKind, use: (env: { db: DB } & Session) => void, options: DBOptions = {}): () => Session {
  let db: DB | undefined;
  let dispose = async (): Promise<void> => {};
  const sessions: Session[] = [];
  beforeEach(async () => {
    ({ db, dispose } = await dbEnv(kind, options));
    const tm = new TransactionManager();
    sessions.push({ tm, conn: db.open({ transactionManager: tm }) });
    use({ db, ...(sessions[0] as Session) });
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) {
      await s.tm.abort();
      s.conn.close();
    }
    await dispose();
  });
  return () => {
    if (db === undefined) throw new Error('session() is for tests, after beforeEach');
    const tm = new TransactionManager();
    const s = { tm, conn: db.open({ transactionManager: tm }) };
    sessions.push(s);
    return s;
  };
}
