import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Persistent, TransactionManager, registerClass, type Connection, type DB } from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv } from './object-env.ts';

class Doc extends Persistent {
  title = '';
  tags: string[] = [];
}
registerClass('test.savepoints.Doc', Doc);

describe.each(STORAGE_KINDS)('savepoints of a connection (%s storage)', (kind) => {
  let db: DB;
  let dispose: () => Promise<void>;
  let tm: TransactionManager;
  let conn: Connection;
  let a: Doc;
  let b: Doc;

  beforeEach(async () => {
    ({ db, dispose } = await dbEnv(kind));
    tm = new TransactionManager();
    conn = db.open({ transactionManager: tm });
    conn.root().set('a', Object.assign(new Doc(), { title: 'a0' }));
    conn.root().set('b', Object.assign(new Doc(), { title: 'b0' }));
    await tm.commit();
    a = conn.root().get('a') as Doc;
    b = conn.root().get('b') as Doc;
  });
  afterEach(async () => {
    await tm.abort();
    conn.close();
    await dispose();
  });

  const stored = (): Promise<string[]> => db.transact((c) => ['a', 'b', 'c'].map((k) => (c.root().get(k) as Doc | undefined)?.title ?? '-'));

  it('restores the states of objects changed before the savepoint, which stay changed and are committed', async () => {
    a.title = 'a1';
    a.tags = ['x'];
    const sp = tm.savepoint();
    a.title = 'a2';
    a.tags.push('y'); // nested mutation after the savepoint: rolled back too (the savepoint copied the state)
    sp.rollback();
    expect([a.title, a.tags, a._p_state]).toEqual(['a1', ['x'], 'changed']);
    await tm.commit();
    expect(await stored()).toEqual(['a1', 'b0', '-']);
  });

  it('turns objects first changed after the savepoint back to their stored state', async () => {
    a.title = 'a1';
    const sp = tm.savepoint();
    b.title = 'b1';
    sp.rollback();
    expect(b.title).toBe('b0');
    expect(b._p_changed).toBe(false);
    await tm.commit();
    expect(await stored()).toEqual(['a1', 'b0', '-']);
  });

  it('un-adds objects added after the savepoint', async () => {
    a.title = 'a1';
    const sp = tm.savepoint();
    const c = Object.assign(new Doc(), { title: 'c1' });
    conn.root().set('c', c);
    conn.add(c);
    sp.rollback();
    expect(c._p_oid).toBeNull();
    expect(conn.root().has('c')).toBe(false);
    await tm.commit();
    expect(await stored()).toEqual(['a1', 'b0', '-']);
  });

  it('can be rolled back to repeatedly', async () => {
    a.title = 'a1';
    const sp = tm.savepoint();
    for (const t of ['a2', 'a3']) {
      a.title = t;
      sp.rollback();
      expect(a.title).toBe('a1');
    }
  });

  it('rolls back a connection that joined only after the savepoint (it aborts)', async () => {
    const sp = tm.savepoint();
    a.title = 'late';
    sp.rollback();
    expect(a.title).toBe('a0');
    b.title = 'b1';
    await tm.commit();
    expect(await stored()).toEqual(['a0', 'b1', '-']);
  });
});
