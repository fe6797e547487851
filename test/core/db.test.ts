import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  DB,
  InvalidOptionError,
  MemoryStorage,
  Persistent,
  ROOT_OID,
  ReadConflictError,
  registerClass,
  type Connection,
} from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv } from './object-env.ts';

class Account extends Persistent {
  balance = 0;
}
registerClass('test.db.Account', Account);

describe('DB.open', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('opens an LMDB database at a path and keeps the data across reopening', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tidal-db-')), 'data');
    dirs.push(dir);
    const db = await DB.open(dir);
    await db.transact((conn) => conn.root().set('alice', Object.assign(new Account(), { balance: 5 })));
    await db.close();
    const again = await DB.open(dir);
    expect(await again.transact((conn) => (conn.root().get('alice') as Account).balance)).toBe(5);
    expect([...again.storage.iterator()].filter((t) => t.description === 'initial database creation')).toHaveLength(1);
    await again.close();
  });

  it('refuses bad options with InvalidOptionError', async () => {
    await expect(DB.open(new MemoryStorage(), { cacheSize: -1 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(DB.open(new MemoryStorage(), { poolSize: 1.5 })).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe.each(STORAGE_KINDS)('DB (%s storage)', (kind) => {
  let db: DB;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ db, dispose } = await dbEnv(kind));
  });
  afterEach(async () => dispose());

  it('transact() commits what fn did with user and description, and returns its result', async () => {
    const result = await db.transact(
      (conn) => {
        conn.root().set('alice', new Account());
        return 'ok';
      },
      { user: 'alice', description: 'open account' },
    );
    expect(result).toBe('ok');
    const [last] = db.history(ROOT_OID, 1);
    expect(last).toMatchObject({ user: 'alice', description: 'open account' });
  });

  it('transact() retries a conflicting attempt on a fresh snapshot', async () => {
    await db.transact((conn) => conn.root().set('acct', new Account()));
    let attempts = 0;
    await db.transact(async (conn) => {
      attempts++;
      const acct = conn.root().get('acct') as Account;
      acct.balance += 1;
      if (attempts === 1) {
        // Someone else commits to the same object in the meantime.
        await db.transact((other) => {
          (other.root().get('acct') as Account).balance += 10;
        });
      }
    });
    expect(attempts).toBe(2);
    expect(await db.transact((conn) => (conn.root().get('acct') as Account).balance)).toBe(11);
  });

  it('transact() gives up after the attempts and rethrows the ConflictError', async () => {
    await db.transact((conn) => conn.root().set('acct', new Account()));
    const failure = db.transact(
      async (conn) => {
        (conn.root().get('acct') as Account).balance += 1;
        await db.transact((other) => {
          (other.root().get('acct') as Account).balance += 10;
        });
      },
      { attempts: 2 },
    );
    await expect(failure).rejects.toBeInstanceOf(ConflictError);
  });

  it('transact() does not retry errors that are not transient', async () => {
    let attempts = 0;
    await expect(
      db.transact(() => {
        attempts++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(attempts).toBe(1);
  });

  it('history() lists the revisions of an object, newest first', async () => {
    const oid = await db.transact((conn) => {
      const a = new Account();
      conn.root().set('a', a);
      conn.add(a);
      return a._p_oid as string;
    });
    for (const balance of [1, 2]) {
      await db.transact((conn) => {
        conn.get<Account>(oid).balance = balance;
      }, { description: `set ${balance}` });
    }
    expect(db.history(oid, 10).map((h) => h.description)).toEqual(['set 2', 'set 1', '']);
  });

  it('undo() restores the state before a transaction; connections see it at their next boundary', async () => {
    await db.transact((conn) => conn.root().set('a', Object.assign(new Account(), { balance: 1 })));
    await db.transact((conn) => {
      (conn.root().get('a') as Account).balance = 2;
    });
    const undone = db.lastTransaction();
    const conn: Connection = db.open();
    const a = conn.root().get('a') as Account;
    expect(a.balance).toBe(2);
    await db.undo(undone);
    expect(a.balance).toBe(2);
    await conn.transactionManager.abort();
    expect(a.balance).toBe(1);
    conn.close();
  });

  it('pack() drops old revisions but keeps current state', async () => {
    await db.transact((conn) => conn.root().set('a', Object.assign(new Account(), { balance: 1 })));
    await db.transact((conn) => {
      (conn.root().get('a') as Account).balance = 2;
    });
    const result = await db.pack();
    expect(result.revisionsRemoved).toBeGreaterThan(0);
    expect(await db.transact((conn) => (conn.root().get('a') as Account).balance)).toBe(2);
  });

  it('a connection whose snapshot was packed away reads ReadConflictError, and a retry works', async () => {
    await db.transact((conn) => conn.root().set('a', Object.assign(new Account(), { balance: 1 })));
    const conn = db.open();
    void conn.root().size;
    conn.cacheMinimize(); // nothing cached: the next reads load from the (old) snapshot
    await db.transact((c) => {
      (c.root().get('a') as Account).balance = 2;
    });
    await db.pack();
    expect(() => (conn.root().get('a') as Account).balance).toThrow(ReadConflictError);
    await conn.transactionManager.abort();
    expect((conn.root().get('a') as Account).balance).toBe(2);
    conn.close();
  });
});
