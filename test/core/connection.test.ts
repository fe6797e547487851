import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionStateError,
  InvalidObjectReferenceError,
  NotPersistentError,
  ObjectNotFoundError,
  Persistent,
  PersistentMap,
  ROOT_OID,
  TransactionManager,
  registerClass,
  type DB,
} from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv, type StorageEnv } from './object-env.ts';

class Box extends Persistent {
  content: unknown = null;
}
registerClass('test.connection.Box', Box);

describe.each(STORAGE_KINDS)('Connection (%s storage)', (kind) => {
  let db: DB;
  let env: StorageEnv;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ db, env, dispose } = await dbEnv(kind));
  });
  afterEach(async () => dispose());

  it('finds a root mapping created on first open by a transaction noted "initial database creation"', () => {
    const [first] = [...env.storage.iterator()];
    expect(first?.description).toBe('initial database creation');
    expect(first?.records.map((r) => r.oid)).toEqual([ROOT_OID]);
    const conn = db.open();
    expect(conn.root()).toBeInstanceOf(PersistentMap);
    expect(conn.root()._p_oid).toBe(ROOT_OID);
    conn.close();
  });

  it('returns the same object for the same oid within a connection, and different objects in different connections', async () => {
    const oid = await db.transact((conn) => {
      const box = new Box();
      conn.root().set('box', box);
      conn.add(box);
      return box._p_oid;
    });
    const a = db.open();
    const b = db.open();
    expect(a.get(oid as string)).toBe(a.root().get('box'));
    expect(a.get(oid as string)).toBe(a.get(oid as string));
    expect(b.get(oid as string)).not.toBe(a.get(oid as string));
    a.close();
    b.close();
  });

  it('throws ObjectNotFoundError from get() for an oid the database does not have', () => {
    const conn = db.open();
    expect(() => conn.get('00000000000f4240')).toThrow(ObjectNotFoundError);
    conn.close();
  });

  it('stores objects reachable from stored objects without any add() (implicit add by reachability)', async () => {
    await db.transact((conn) => {
      const outer = new Box();
      const inner = new Box();
      inner.content = 'deep';
      outer.content = { nested: [inner] };
      conn.root().set('outer', outer);
    });
    const content = await db.transact((conn) => {
      const outer = conn.root().get('outer') as Box;
      const inner = (outer.content as { nested: Box[] }).nested[0] as Box;
      return [inner._p_oid !== null, inner.content];
    });
    expect(content).toEqual([true, 'deep']);
  });

  it('gives an added object its oid at once and stores it at commit even when unreachable', async () => {
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const box = new Box();
    box.content = 'alone';
    conn.add(box);
    const oid = box._p_oid as string;
    expect(oid).toMatch(/^[0-9a-f]{16}$/);
    expect(box._p_jar).toBe(conn);
    conn.add(box); // again: no effect
    expect(box._p_oid).toBe(oid);
    expect(conn.get(oid)).toBe(box);
    await tm.commit();
    conn.close();
    expect(await db.transact((c) => c.get<Box>(oid).content)).toBe('alone');
  });

  it('un-adds added objects when the transaction aborts: no oid, no connection, state kept', async () => {
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const box = new Box();
    box.content = 'kept';
    conn.add(box);
    await tm.abort();
    expect(box._p_oid).toBeNull();
    expect(box._p_jar).toBeNull();
    expect(box._p_state).toBe('unsaved');
    expect(box.content).toBe('kept');
    conn.close();
  });

  it('refuses to add a non-persistent value with NotPersistentError', () => {
    const conn = db.open();
    expect(() => conn.add({ plain: true })).toThrow(NotPersistentError);
    conn.close();
  });

  it("refuses to add another connection's object with InvalidObjectReferenceError", async () => {
    const tmA = new TransactionManager();
    const a = db.open({ transactionManager: tmA });
    const b = db.open();
    const box = new Box();
    a.add(box);
    expect(() => b.add(box)).toThrow(InvalidObjectReferenceError);
    await tmA.abort();
    a.close();
    b.close();
  });

  it('refuses to close with uncommitted changes, with ConnectionStateError, and closes after abort', async () => {
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    conn.root().set('x', 1);
    expect(() => conn.close()).toThrow(ConnectionStateError);
    await tm.abort();
    conn.close();
    expect(conn.closed).toBe(true);
  });

  it('refuses every use of a closed connection with ConnectionStateError, including loading a ghost', async () => {
    await db.transact((conn) => conn.root().set('box', new Box()));
    const conn = db.open();
    const box = conn.root().get('box') as Box;
    box._p_deactivate();
    conn.close();
    expect(() => conn.root()).toThrow(ConnectionStateError);
    expect(() => conn.get(ROOT_OID)).toThrow(ConnectionStateError);
    expect(() => conn.add(new Box())).toThrow(ConnectionStateError);
    expect(() => box.content).toThrow(ConnectionStateError);
    expect(() => conn.readCurrent(box)).toThrow(ConnectionStateError);
  });

  it('returns closed connections to the pool with their cache, and reuses them', () => {
    const first = db.open();
    const root = first.root();
    first.close();
    const second = db.open();
    expect(second).toBe(first);
    expect(second.root()).toBe(root);
    second.close();
  });

  it('keeps at most poolSize idle connections', async () => {
    const small = await dbEnv(kind, { poolSize: 1 });
    const a = small.db.open();
    const b = small.db.open();
    a.close();
    b.close();
    expect(small.db.open()).toBe(a);
    expect(small.db.open()).not.toBe(b);
    await small.dispose();
  });

  it('makes every connection unusable when the DB closes', async () => {
    const conn = db.open();
    await db.close();
    expect(() => conn.root()).toThrow(ConnectionStateError);
    expect(() => db.open()).toThrow(ConnectionStateError);
  });
});
