/**
 * Databases for the BTree and conflict tests: on a real MemoryStorage, or a real LmdbStorage in a
 * temporary directory that is removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB, LmdbStorage, MemoryStorage, TransactionManager, type Connection } from '@tidaldb/core';

export type StorageKind = 'memory' | 'lmdb';
export const STORAGE_KINDS: readonly StorageKind[] = ['memory', 'lmdb'];

export interface TestDb {
  readonly db: DB;
  /** A connection with its own transaction manager (one "client"); aborted and closed by dispose. */
  session(): Session;
  dispose(): Promise<void>;
}

export interface Session {
  readonly tm: TransactionManager;
  readonly conn: Connection;
}

export async function openTestDb(kind: StorageKind): Promise<TestDb> {
  const dir = kind === 'lmdb' ? mkdtempSync(join(tmpdir(), 'tidal-btree-')) : undefined;
  const storage = dir === undefined ? new MemoryStorage() : await LmdbStorage.open(dir, { durability: 'none' });
  const db = await DB.open(storage);
  const sessions: Session[] = [];
  return {
    db,
    session() {
      const tm = new TransactionManager();
      const s = { tm, conn: db.open({ transactionManager: tm }) };
      sessions.push(s);
      return s;
    },
    async dispose() {
      for (const s of sessions) {
        await s.tm.abort();
        s.conn.close();
      }
      await db.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
