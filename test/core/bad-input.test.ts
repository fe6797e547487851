import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidObjectReferenceError,
  Persistent,
  PersistentMap,
  TransactionManager,
  UnstorableValueError,
  registerClass,
  type Connection,
  type DB,
  type Storage,
} from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv } from './object-env.ts';

class Order extends Persistent {
  lines: unknown[] = [];
  customer: unknown = null;
}
registerClass('test.bad.Order', Order);

class Unregistered extends Persistent {
  x = 1;
}

class PlainClass {
  y = 2;
}

describe.each(STORAGE_KINDS)('bad input at commit (%s storage)', (kind) => {
  let db: DB;
  let storage: Storage;
  let dispose: () => Promise<void>;
  let tm: TransactionManager;
  let conn: Connection;

  beforeEach(async () => {
    const env = await dbEnv(kind);
    ({ db, dispose } = env);
    storage = env.env.storage;
    tm = new TransactionManager();
    conn = db.open({ transactionManager: tm });
  });
  afterEach(async () => {
    await tm.abort();
    await dispose();
  });

  /** Commits, expecting `error`; then checks that nothing was written and the transaction aborts cleanly. */
  async function expectRefused(error: new (...args: never[]) => Error, fields: Record<string, unknown>): Promise<void> {
    const before = storage.lastTransaction();
    const txn = tm.get();
    const failure = await txn.commit().then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(error);
    expect(failure).toMatchObject(fields);
    expect(storage.lastTransaction()).toBe(before);
    await expect(txn.abort()).resolves.toBeUndefined();
  }

  it('refuses a function with UnstorableValueError naming the object, the path and the type', async () => {
    const order = new Order();
    order.lines = [{ sku: 'a', price: () => 3 }];
    conn.root().set('order', order);
    await expectRefused(UnstorableValueError, { path: 'lines[0].price', valueType: 'function price' });
  });

  it('names the object by class name and oid', async () => {
    const order = new Order();
    conn.root().set('order', order);
    await tm.commit();
    order.customer = Symbol('s');
    const failure = await tm.commit().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnstorableValueError);
    expect((failure as UnstorableValueError).object).toBe(`test.bad.Order oid ${order._p_oid}`);
    expect((failure as UnstorableValueError).valueType).toBe('symbol');
  });

  it('refuses an instance of an unregistered non-persistent class', async () => {
    const order = new Order();
    order.customer = new PlainClass();
    conn.root().set('order', order);
    await expectRefused(UnstorableValueError, { path: 'customer', valueType: 'instance of unregistered class PlainClass' });
  });

  it('refuses a persistent object of an unregistered class, naming where it is referenced', async () => {
    const order = new Order();
    order.lines = [new Unregistered()];
    conn.root().set('order', order);
    await expectRefused(UnstorableValueError, { path: 'lines[0]' });
  });

  it('writes nothing when the bad value is in the last of several objects', async () => {
    for (let i = 0; i < 5; i++) conn.root().set(`ok${i}`, new Order());
    const bad = new Order();
    bad.customer = () => 0;
    conn.root().set('bad', bad);
    await expectRefused(UnstorableValueError, {});
    await tm.abort();
    expect(await db.transact((c) => [...c.root().keys()])).toEqual([]);
  });

  it('leaves objects made reachable in the failed commit new again after the abort', async () => {
    const order = new Order();
    order.customer = () => 0;
    const extra = new Order();
    order.lines = [extra];
    conn.root().set('order', order);
    await expectRefused(UnstorableValueError, {});
    expect(extra._p_oid).toBeNull();
    expect(extra._p_jar).toBeNull();
  });

  it("refuses a reference to another connection's object with InvalidObjectReferenceError", async () => {
    await db.transact((c) => c.root().set('shared', new Order()));
    const other = db.open();
    const foreign = other.root().get('shared') as Order;
    const order = new Order();
    order.customer = foreign;
    conn.root().set('order', order);
    await expectRefused(InvalidObjectReferenceError, {});
    other.close();
  });

  it('needs an abort after a refused commit, after which the connection commits normally', async () => {
    const order = new Order();
    order.customer = () => 0;
    conn.root().set('order', order);
    await expect(tm.commit()).rejects.toBeInstanceOf(UnstorableValueError);
    await tm.abort();
    const fixed = new Order();
    conn.root().set('order', fixed);
    await tm.commit();
    expect(await db.transact((c) => c.root().get('order') instanceof Order)).toBe(true);
  });

  it('accepts the root map as a value holder of plain data', async () => {
    conn.root().set('m', new PersistentMap([['a', { deep: [1, 2n, new Date(0)] }]]));
    await tm.commit();
    expect(await db.transact((c) => (c.root().get('m') as PersistentMap).get('a'))).toEqual({ deep: [1, 2n, new Date(0)] });
  });
});
