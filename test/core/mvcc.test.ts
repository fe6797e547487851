import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidOptionError,
  ObjectNotFoundError,
  Persistent,
  ReadConflictError,
  ReadOnlyHistoryError,
  TransactionManager,
  registerClass,
  tidToDate,
  type Connection,
  type DB,
  type Tid,
} from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv, withConnection, type Session } from './object-env.ts';

class Cell extends Persistent {
  value = 0;
}
registerClass('test.mvcc.Cell', Cell);

class Tally extends Persistent {
  count = 0;
  static resolveConflict(old: Record<string, unknown> | null, committed: Record<string, unknown>, mine: Record<string, unknown>) {
    const base = (old?.['count'] as number | undefined) ?? 0;
    return { count: (committed['count'] as number) + (mine['count'] as number) - base };
  }
}
registerClass('test.mvcc.Tally', Tally);

/** The same counter as a class with declared fields: conflicts resolve the same way. */
class DeclaredTally extends Persistent.withFields({ count: 0 }) {
  static resolveConflict = Tally.resolveConflict;
}
registerClass('test.mvcc.DeclaredTally', DeclaredTally);

describe.each(STORAGE_KINDS)('MVCC snapshots (%s storage)', (kind) => {
  let db: DB;
  const session = withConnection(kind, (env) => ({ db } = env));

  beforeEach(async () => {
    await db.transact((conn) => {
      conn.root().set('a', Object.assign(new Cell(), { value: 1 }));
      conn.root().set('b', Object.assign(new Cell(), { value: 1 }));
      conn.root().set('tally', new Tally());
      conn.root().set('declaredTally', new DeclaredTally());
    });
  });
  const cell = (s: Session, key: string): Cell => s.conn.root().get(key) as Cell;

  it("reads one snapshot per transaction: another connection's commit is invisible until the next boundary", async () => {
    const reader = session();
    const writer = session();
    expect(cell(reader, 'a').value).toBe(1);
    cell(writer, 'a').value = 2;
    cell(writer, 'b').value = 2;
    await writer.tm.commit();
    expect(cell(reader, 'a').value).toBe(1);
    // b was never loaded by the reader: loading it now still reads the reader's snapshot.
    expect(cell(reader, 'b').value).toBe(1);
    reader.conn.cacheMinimize();
    expect(cell(reader, 'a').value).toBe(1);
    await reader.tm.abort();
    expect(cell(reader, 'a').value).toBe(2);
    expect(cell(reader, 'b').value).toBe(2);
  });

  it('turns cached copies changed elsewhere into ghosts at the boundary, and keeps the others loaded', async () => {
    const reader = session();
    const writer = session();
    const a = cell(reader, 'a');
    const b = cell(reader, 'b');
    void a.value;
    void b.value;
    cell(writer, 'a').value = 5;
    await writer.tm.commit();
    await reader.tm.commit();
    expect(a._p_state).toBe('ghost');
    expect(b._p_state).toBe('saved');
    expect(a.value).toBe(5);
  });

  it('keeps the objects a connection committed itself loaded after its commit', async () => {
    const writer = session();
    const a = cell(writer, 'a');
    a.value = 7;
    await writer.tm.commit();
    expect(a._p_state).toBe('saved');
    expect(a._p_serial).toBe(db.lastTransaction());
  });

  it('raises ReadConflictError (retryable) when the snapshot has no revision of an object created later', async () => {
    const reader = session();
    void reader.conn.root().size;
    const oid = await db.transact((conn) => {
      const c = new Cell();
      conn.add(c);
      return c._p_oid as string;
    });
    const failure = (() => {
      try {
        reader.conn.get(oid);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(failure).toBeInstanceOf(ReadConflictError);
    expect(ConflictError.is(failure)).toBe(true);
    await reader.tm.abort();
    expect(reader.conn.get<Cell>(oid).value).toBe(0);
  });

  it('lets the first committer win: a concurrent write to the same object fails with ConflictError', async () => {
    const first = session();
    const second = session();
    cell(first, 'a').value = 10;
    cell(second, 'a').value = 20;
    await first.tm.commit();
    const failure = await second.tm.commit().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConflictError);
    expect(failure).toMatchObject({ oid: cell(first, 'a')._p_oid });
    await second.tm.abort();
    expect(cell(second, 'a').value).toBe(10);
  });

  it('allows write skew on different objects without readCurrent', async () => {
    const s1 = session();
    const s2 = session();
    if (cell(s1, 'a').value + cell(s1, 'b').value === 2) cell(s1, 'a').value = 0;
    if (cell(s2, 'a').value + cell(s2, 'b').value === 2) cell(s2, 'b').value = 0;
    await s1.tm.commit();
    await expect(s2.tm.commit()).resolves.toBeUndefined();
  });

  it('closes write skew with readCurrent: ReadConflictError when an object read changed since', async () => {
    const s1 = session();
    const s2 = session();
    s1.conn.readCurrent(cell(s1, 'b'));
    cell(s1, 'a').value = 0;
    s2.conn.readCurrent(cell(s2, 'a'));
    cell(s2, 'b').value = 0;
    await s1.tm.commit();
    await expect(s2.tm.commit()).rejects.toBeInstanceOf(ReadConflictError);
  });

  it('checks readCurrent even when the connection writes nothing else, and writes no transaction for it', async () => {
    const checker = session();
    const writer = session();
    checker.conn.readCurrent(cell(checker, 'a'));
    cell(writer, 'a').value = 3;
    await writer.tm.commit();
    const last = db.lastTransaction();
    await expect(checker.tm.commit()).rejects.toBeInstanceOf(ReadConflictError);
    await checker.tm.abort();
    checker.conn.readCurrent(cell(checker, 'a'));
    await checker.tm.commit();
    expect(db.lastTransaction()).toBe(last);
  });

  it.each([
    ['tally', 'a Proxy-tracked class'],
    ['declaredTally', 'a class with declared fields'],
  ])("merges concurrent changes with the class's resolveConflict and reloads the merged state (%s: %s)", async (key) => {
    const s1 = session();
    const s2 = session();
    const t1 = s1.conn.root().get(key) as Tally;
    const t2 = s2.conn.root().get(key) as Tally;
    t1.count += 1;
    t2.count += 2;
    await s1.tm.commit();
    await s2.tm.commit();
    expect(t2._p_state).toBe('ghost');
    expect(t2.count).toBe(3);
    expect(await db.transact((c) => (c.root().get(key) as Tally).count)).toBe(3);
  });
});

describe('conflict resolution through the class registry', () => {
  class Picky extends Persistent {
    value = 0;
    static resolveConflict(): Record<string, unknown> {
      throw new Error('these changes cannot be merged');
    }
  }
  registerClass('test.mvcc.Picky', Picky);

  class Sloppy extends Persistent {
    value = 0;
    static resolveConflict(): Record<string, unknown> {
      return { value: () => 1 };
    }
  }
  registerClass('test.mvcc.Sloppy', Sloppy);

  it.each([
    ['throws', Picky, 'these changes cannot be merged'],
    ['returns an unstorable state', Sloppy, 'cannot store function'],
  ] as const)('fails the commit with ConflictError when resolveConflict %s', async (_what, Class, reason) => {
    const { db, dispose } = await dbEnv('memory');
    try {
      await db.transact((conn) => conn.root().set('x', new Class()));
      const tm = new TransactionManager();
      const conn = db.open({ transactionManager: tm });
      (conn.root().get('x') as InstanceType<typeof Class>).value = 1;
      await db.transact((c) => {
        (c.root().get('x') as InstanceType<typeof Class>).value = 2;
      });
      const failure = await tm.commit().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ConflictError);
      expect((failure as ConflictError).reason).toContain(reason);
      await tm.abort();
      conn.close();
    } finally {
      await dispose();
    }
  });
});

describe.each(STORAGE_KINDS)('historical connections (%s storage)', (kind) => {
  let db: DB;
  let dispose: () => Promise<void>;
  let tids: Tid[];

  beforeEach(async () => {
    ({ db, dispose } = await dbEnv(kind));
    tids = [];
    for (const value of [1, 2, 3]) {
      await db.transact((conn) => {
        const root = conn.root();
        const c = (root.get('c') as Cell | undefined) ?? new Cell();
        c.value = value;
        root.set('c', c);
      });
      tids.push(db.lastTransaction());
    }
  });
  afterEach(async () => dispose());

  const valueIn = (conn: Connection): number => (conn.root().get('c') as Cell).value;

  it('read the database as of a tid (at) or strictly before one (before)', () => {
    const at = db.open({ at: tids[1] as Tid });
    const before = db.open({ before: tids[1] as Tid });
    expect(valueIn(at)).toBe(2);
    expect(valueIn(before)).toBe(1);
    expect(at.isHistorical).toBe(true);
    at.close();
    before.close();
  });

  it('read the database as of a date', () => {
    const conn = db.open({ at: tidToDate(tids[2] as Tid) });
    expect(valueIn(conn)).toBe(3);
    conn.close();
  });

  it('do not see later commits, even across transaction boundaries', async () => {
    const tm = new TransactionManager();
    const conn = db.open({ at: tids[0] as Tid, transactionManager: tm });
    await db.transact((c) => {
      (c.root().get('c') as Cell).value = 4;
    });
    await tm.abort();
    expect(valueIn(conn)).toBe(1);
    conn.close();
  });

  it('raise ObjectNotFoundError for objects that did not exist yet', async () => {
    const conn = db.open({ before: tids[0] as Tid });
    expect(conn.root().has('c')).toBe(false);
    const oid = await db.transact((c) => (c.root().get('c') as Cell)._p_oid as string);
    expect(() => conn.get(oid)).toThrow(ObjectNotFoundError);
    conn.close();
  });

  it('refuse to commit changes with ReadOnlyHistoryError, and refuse add()', async () => {
    const tm = new TransactionManager();
    const conn = db.open({ at: tids[0] as Tid, transactionManager: tm });
    (conn.root().get('c') as Cell).value = 99;
    await expect(tm.commit()).rejects.toBeInstanceOf(ReadOnlyHistoryError);
    await tm.abort();
    expect(() => conn.add(new Cell())).toThrow(ReadOnlyHistoryError);
    expect(await db.transact((c) => (c.root().get('c') as Cell).value)).toBe(3);
    conn.close();
  });

  it('refuse both at and before, and a time in the future, with InvalidOptionError', () => {
    expect(() => db.open({ at: tids[0] as Tid, before: tids[1] as Tid })).toThrow(InvalidOptionError);
    expect(() => db.open({ at: new Date(Date.now() + 3_600_000) })).toThrow(InvalidOptionError);
  });
});
