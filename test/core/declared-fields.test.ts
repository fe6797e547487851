/**
 * Classes with declared fields (`Persistent.withFields`): objects without a Proxy, whose fields
 * are accessors over private fields of generated classes. They must behave like Proxy-tracked
 * objects everywhere the connection is involved (ghosts, change tracking, abort, savepoints,
 * MVCC, conflicts), store exactly their declared fields, and refuse at once, with the engine's
 * TypeError, any other property, which would silently not be stored.
 */
import { types } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClassRegistrationError,
  ClassRegistry,
  ConflictError,
  DB,
  NoTransactionError,
  Persistent,
  TransactionManager,
  decodeRecord,
  globalRegistry,
  registerClass,
  type Connection,
  type Oid,
  type Savepoint,
} from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv, storageEnv, withConnection, type Session, type StorageEnv, type StorageKind } from './object-env.ts';

class Cart extends Persistent.withFields({ owner: '', total: 0, items: () => [] as string[], _v_view: undefined as string | undefined }) {
  add(item: string, price: number): void {
    this.items = [...this.items, item];
    this.total += price;
  }
}
registerClass('test.fields.Cart', Cart);

/** (Conflict resolution of a class with declared fields is tested beside the Proxy kind's, in mvcc.test.ts.) */
class Tally extends Persistent.withFields({ count: 0 }) {}
registerClass('test.fields.Tally', Tally);

class CouponCart extends Cart.withFields({ coupon: '', discount: 0 }) {
  net(): number {
    return this.total - this.discount;
  }
}
registerClass('test.fields.CouponCart', CouponCart);

class GiftCart extends Cart {}
registerClass('test.fields.GiftCart', GiftCart);

/** The usual way to try to add an undeclared property: a class field in the body of the subclass. */
class Mistake extends Persistent.withFields({ a: 0 }) {
  extra = 1;
}
registerClass('test.fields.Mistake', Mistake);

/** A class field repeating a declared field: its own property would hide the tracked accessor. */
class Repeats extends Persistent.withFields({ a: 0 }) {
  override a = 5;
}
registerClass('test.fields.Repeats', Repeats);

/** Volatile fields with a primitive and a factory default next to a stored field. */
class Page extends Persistent.withFields({ title: '', _v_hits: 0, _v_cache: () => new Map<string, string>() }) {}
registerClass('test.fields.Page', Page);

/** Stamps its records with a format version, which is not a field. */
class Versioned extends Persistent.withFields({ title: '' }) {
  override _p_getState(): Record<string, unknown> {
    return { ...super._p_getState(), v: 2 };
  }
  override _p_setState(state: Record<string, unknown>): void {
    const { v, ...fields } = state;
    if (v !== 2) throw new Error(`unknown format version ${String(v)}`);
    super._p_setState(fields);
  }
}
registerClass('test.fields.Versioned', Versioned);

/** Constructor calls of the two classes below, in order: [class, arguments]. */
const constructed: Array<[string, unknown[]]> = [];

/** A class between two withFields levels, whose constructor writes fields. */
class Ledger extends Persistent.withFields({ owner: '', balance: 0 }) {
  constructor(...args: unknown[]) {
    super();
    constructed.push(['Ledger', args]);
    this.owner = 'set by the constructor';
    this.balance = -1;
  }
}

class NotedLedger extends Ledger.withFields({ note: '' }) {
  constructor(note: string) {
    super();
    constructed.push(['NotedLedger', [note]]);
    this.note = note;
  }
}
registerClass('test.fields.NotedLedger', NotedLedger);

class Customer extends Persistent.withFields({ name: '' }) {}
registerClass('test.fields.Customer', Customer);

const madeByOwner: Customer[] = [];

/** A class between two withFields levels whose constructor makes another persistent object. */
class Owner extends Persistent.withFields({ pet: null as Customer | null }) {
  constructor() {
    super();
    const pet = new Customer({ name: 'made by the constructor' });
    madeByOwner.push(pet);
    this.pet = pet;
  }
}

class NamedOwner extends Owner.withFields({ nick: '' }) {}
registerClass('test.fields.NamedOwner', NamedOwner);

class Order extends Persistent.withFields({ customer: null as Customer | null, lines: 0 }) {}
registerClass('test.fields.Order', Order);

/** The state of the current record of `oid`, straight from the storage. */
function storedState(db: DB, oid: Oid | null): { className: string; state: unknown } {
  return decodeRecord(db.storage.load(oid as Oid).data);
}

describe.each(STORAGE_KINDS)('objects of a class with declared fields (%s storage)', (kind) => {
  let db: DB;
  let tm: TransactionManager;
  let conn: Connection;
  const session = withConnection(kind, (env) => ({ db, tm, conn } = env));

  /** A Cart committed under the root key 'cart', loaded in `conn`. */
  async function savedCart(): Promise<Cart> {
    const cart = new Cart({ owner: 'ann', total: 3, items: ['pen'] });
    conn.root().set('cart', cart);
    await tm.commit();
    return cart;
  }

  /** The cart's fields as a fresh connection reads them. */
  const readBack = (): Promise<{ owner: string; total: number; items: string[] }> =>
    db.transact((c) => {
      const cart = c.root().get('cart') as Cart;
      return { owner: cart.owner, total: cart.total, items: [...cart.items] };
    });

  it('are plain objects, not Proxies: the fields are accessors on the prototype, and the object has no own enumerable properties', () => {
    const cart = new Cart({ owner: 'ann', _v_view: '<cart>' });
    expect(types.isProxy(cart)).toBe(false);
    expect(cart).toBeInstanceOf(Cart);
    expect(cart).toBeInstanceOf(Persistent);
    expect(Object.keys(cart)).toEqual([]);
    expect(Object.keys(new Tally())).toEqual([]);
    expect({ ...cart }).toEqual({});
    expect('owner' in cart).toBe(true);
    expect(Object.hasOwn(cart, 'owner')).toBe(false);
    expect(Object.hasOwn(cart, '_v_view')).toBe(false);
  });

  it('are not extensible once constructed', () => {
    expect(Object.isExtensible(new Cart())).toBe(false);
    expect(Object.isExtensible(new CouponCart())).toBe(false);
    expect(Object.isExtensible(new GiftCart())).toBe(false);
  });

  it('take initial field values in the constructor and give every other field its default', () => {
    const cart = new Cart({ owner: 'ann' });
    expect([cart.owner, cart.total, cart.items]).toEqual(['ann', 0, []]);
    expect(cart._p_state).toBe('unsaved');
  });

  it('refuse an initial value for a field that is not declared, with TypeError', () => {
    expect(() => new Cart({ colour: 'red' } as never)).toThrow(TypeError);
    expect(() => new Cart({ colour: 'red' } as never)).toThrow(/"colour"/);
  });

  it('get a fresh value from a factory default for every new object, so no two objects share an array', () => {
    let calls = 0;
    class Bag extends Persistent.withFields({ things: () => (calls++, [] as string[]) }) {}
    const a = new Bag();
    const b = new Bag();
    a.things.push('x');
    expect(b.things).toEqual([]);
    expect(a.things).not.toBe(b.things);
    expect(calls).toBe(2);
    // An initial value replaces the factory's result; the factory still runs once.
    const given = ['y'];
    expect(new Bag({ things: given }).things).toBe(given);
    expect(calls).toBe(3);
  });

  it('store exactly the declared fields, never _v_ fields', async () => {
    const cart = await savedCart();
    cart._v_view = '<cart>';
    cart.total = 4;
    await tm.commit();
    expect(storedState(db, cart._p_oid)).toEqual({ className: 'test.fields.Cart', state: { owner: 'ann', total: 4, items: ['pen'] } });
  });

  it('load a ghost when a field is read, and not when bookkeeping is read', async () => {
    const cart = await savedCart();
    cart._p_deactivate();
    expect(cart._p_state).toBe('ghost');
    expect(cart._p_oid).not.toBeNull();
    expect(cart._p_state).toBe('ghost');
    expect(cart.total).toBe(3);
    expect(cart._p_state).toBe('saved');
    expect([cart.owner, cart.items]).toEqual(['ann', ['pen']]);
  });

  it('load a ghost reached through a reference on its first field read, in a new connection', async () => {
    await savedCart();
    await db.transact((c) => {
      const cart = c.root().get('cart') as Cart;
      expect(cart._p_state).toBe('ghost');
      expect(cart.owner).toBe('ann');
      expect(cart._p_state).toBe('saved');
    });
  });

  it('mark a stored object changed and store it at commit when a field is assigned', async () => {
    const cart = await savedCart();
    cart.total = 5;
    expect(cart._p_state).toBe('changed');
    expect(cart._p_changed).toBe(true);
    await tm.commit();
    expect(cart._p_state).toBe('saved');
    expect(await readBack()).toEqual({ owner: 'ann', total: 5, items: ['pen'] });
  });

  it('load a ghost before an assignment, keeping its other fields', async () => {
    const cart = await savedCart();
    cart._p_deactivate();
    cart.owner = 'bob';
    expect(cart._p_state).toBe('changed');
    expect([cart.owner, cart.total, cart.items]).toEqual(['bob', 3, ['pen']]);
    await tm.commit();
    expect(await readBack()).toEqual({ owner: 'bob', total: 3, items: ['pen'] });
  });

  it('track the writes of methods, which run on the object itself', async () => {
    const cart = await savedCart();
    cart.add('ink', 2);
    expect(cart._p_state).toBe('changed');
    await tm.commit();
    expect(await readBack()).toEqual({ owner: 'ann', total: 5, items: ['pen', 'ink'] });
  });

  it('do not see mutations inside a field value, like Proxy-tracked objects', async () => {
    const cart = await savedCart();
    cart.items.push('ink');
    expect(cart._p_state).toBe('saved');
    cart._p_changed = true;
    await tm.commit();
    expect((await readBack()).items).toEqual(['pen', 'ink']);
  });

  it('join the transaction on the first write: in explicit mode a write outside one is refused and changes nothing', async () => {
    const explicit = new TransactionManager({ explicit: true });
    const c = db.open({ transactionManager: explicit });
    explicit.begin();
    const cart = new Cart({ owner: 'ann' });
    c.root().set('cart', cart);
    await explicit.commit();
    expect(() => {
      cart.total = 9;
    }).toThrow(NoTransactionError);
    expect(cart._p_state).toBe('saved');
    expect(cart.total).toBe(0);
    explicit.begin();
    cart.total = 9;
    await explicit.commit();
    c.close();
    expect((await readBack()).total).toBe(9);
  });

  it('drop their changes on abort and read their stored state again', async () => {
    const cart = await savedCart();
    cart.add('ink', 2);
    await tm.abort();
    expect(cart._p_state).toBe('ghost');
    expect([cart.owner, cart.total, cart.items]).toEqual(['ann', 3, ['pen']]);
    expect(await readBack()).toEqual({ owner: 'ann', total: 3, items: ['pen'] });
  });

  it('go back to their state at a savepoint on rollback, staying changed when they were changed before it', async () => {
    const cart = await savedCart();
    cart.owner = 'bob';
    const sp = tm.savepoint();
    cart.owner = 'cy';
    cart.total = 7;
    sp.rollback();
    expect([cart.owner, cart.total, cart._p_state]).toEqual(['bob', 3, 'changed']);
    await tm.commit();
    expect(await readBack()).toEqual({ owner: 'bob', total: 3, items: ['pen'] });
  });

  it('go back to their stored state on rollback when first changed after the savepoint', async () => {
    const cart = await savedCart();
    const sp = tm.savepoint();
    cart.total = 7;
    sp.rollback();
    expect(cart.total).toBe(3);
    expect(cart._p_changed).toBe(false);
    await tm.commit();
    expect((await readBack()).total).toBe(3);
  });

  it('keep declared _v_ fields in memory only: assigning one never marks the object changed, and reading one never loads a ghost', async () => {
    const cart = await savedCart();
    cart._v_view = '<cart>';
    expect(cart._p_state).toBe('saved');
    expect(cart._v_view).toBe('<cart>');
    expect('_v_view' in cart._p_getState()).toBe(false);
    cart._p_deactivate();
    expect(cart._p_state).toBe('ghost');
    expect(cart._v_view).toBeUndefined();
    expect(cart._p_state).toBe('ghost');
  });

  it('give declared _v_ fields back their default whenever the object becomes a ghost: deactivation, invalidation and abort', async () => {
    const page = new Page({ title: 'home', _v_hits: 7 });
    expect(page._v_hits).toBe(7);
    conn.root().set('page', page);
    await tm.commit();
    expect(storedState(db, page._p_oid)).toEqual({ className: 'test.fields.Page', state: { title: 'home' } });
    expect(page._v_hits).toBe(7); // committing does not unload it

    page._p_deactivate();
    expect([page._v_hits, page._p_state]).toEqual([0, 'ghost']);

    expect(page.title).toBe('home');
    page._v_hits = 1;
    page._p_invalidate();
    expect([page._v_hits, page._p_state]).toEqual([0, 'ghost']);

    page.title = 'index';
    page._v_hits = 2;
    await tm.abort();
    expect([page._v_hits, page._p_state]).toEqual([0, 'ghost']);
    expect(page.title).toBe('home');
  });

  it('never store declared _v_ fields, whatever they hold, on the first store or on a change', async () => {
    const page = new Page({ title: 'home', _v_hits: 3 });
    page._v_cache.set('html', '<h1>home</h1>');
    conn.root().set('page', page);
    await tm.commit();
    page._v_hits = 4;
    expect(page._p_state).toBe('saved');
    page.title = 'index';
    await tm.commit();
    expect(storedState(db, page._p_oid)).toEqual({ className: 'test.fields.Page', state: { title: 'index' } });
    expect(JSON.parse(JSON.stringify(page))).toEqual({ title: 'index' });
  });

  it('keep a _v_ value assigned to a ghost when a field read then loads it', async () => {
    const cart = await savedCart();
    cart._p_deactivate();
    cart._v_view = '<cart>';
    expect(cart.total).toBe(3);
    expect(cart._v_view).toBe('<cart>');
  });

  it('give a _v_ field with a factory default a fresh value from the factory on a loaded object, as on a new one', async () => {
    conn.root().set('page', new Page({ title: 'home' }));
    await tm.commit();
    await db.transact((c) => {
      const page = c.root().get('page') as Page;
      expect(page.title).toBe('home');
      expect(page._v_cache).toBeInstanceOf(Map);
    });
  });

  it('become ghosts on cacheMinimize and read their stored state again', async () => {
    const cart = await savedCart();
    conn.cacheMinimize();
    expect(cart._p_state).toBe('ghost');
    expect(conn.cacheInfo().nonGhostCount).toBe(0);
    expect(cart.items).toEqual(['pen']);
    expect(cart._p_state).toBe('saved');
  });

  it('give their stored state to JSON.stringify, loading a ghost to do so', async () => {
    const cart = await savedCart();
    cart._v_view = 'not stored';
    cart._p_deactivate();
    expect(JSON.parse(JSON.stringify(cart))).toEqual({ owner: 'ann', total: 3, items: ['pen'] });
    expect(JSON.parse(JSON.stringify(new Cart({ owner: 'bo' })))).toEqual({ owner: 'bo', total: 0, items: [] });
  });

  it('store a persistent object held in a field as a reference, which loads as a ghost of its class', async () => {
    const order = new Order({ customer: new Customer({ name: 'ann' }), lines: 2 });
    conn.root().set('order', order);
    await tm.commit();
    const customerOid = (order.customer as Customer)._p_oid;
    expect(customerOid).not.toBeNull();
    expect(storedState(db, customerOid)).toEqual({ className: 'test.fields.Customer', state: { name: 'ann' } });
    await db.transact((c) => {
      const customer = (c.root().get('order') as Order).customer as Customer;
      expect(customer).toBeInstanceOf(Customer);
      expect(customer._p_state).toBe('ghost');
      expect(customer).toBe(c.get(customerOid as Oid));
      expect(customer.name).toBe('ann');
    });
  });

  it('go back to their state at a savepoint on rollback while still unsaved (once added)', async () => {
    const cart = new Cart({ owner: 'ann' });
    conn.add(cart);
    conn.root().set('cart', cart);
    const sp = tm.savepoint();
    cart.add('pen', 3);
    sp.rollback();
    expect([cart.owner, cart.total, cart.items, cart._p_state]).toEqual(['ann', 0, [], 'unsaved']);
    await tm.commit();
    expect(await readBack()).toEqual({ owner: 'ann', total: 0, items: [] });
  });

  it('stay ghosts when their _p_setState hook throws on load, and load once it succeeds', async () => {
    conn.root().set('doc', new Versioned({ title: 'Emma' }));
    await tm.commit();
    const doc = conn.root().get('doc') as Versioned;
    doc._p_deactivate();
    const setState = Versioned.prototype._p_setState;
    Versioned.prototype._p_setState = () => {
      throw new Error('cannot read this record');
    };
    try {
      expect(() => doc.title).toThrow('cannot read this record');
      expect(doc._p_state).toBe('ghost');
    } finally {
      Versioned.prototype._p_setState = setState;
    }
    expect(doc.title).toBe('Emma');
    expect(doc._p_state).toBe('saved');
  });

  it('read their state as of the past through a historical connection', async () => {
    const cart = await savedCart();
    const before = db.lastTransaction();
    cart.total = 30;
    await tm.commit();
    const past = db.open({ at: before });
    expect((past.root().get('cart') as Cart).total).toBe(3);
    past.close();
  });

  it('stay readable, writable and tracked when frozen, since freezing touches only own properties and their fields are not, and abort cleanly', async () => {
    const logged: unknown[] = [];
    const quiet = new TransactionManager({ logger: { error: (_m, e) => logged.push(e), critical: (_m, e) => logged.push(e) } });
    const own = db.open({ transactionManager: quiet });
    const cart = new Cart({ total: 1 });
    own.root().set('frozen', cart);
    await quiet.commit();
    void cart.total;
    Object.freeze(cart);
    expect(Object.isFrozen(cart)).toBe(true);
    expect(() => {
      cart.total = 5;
    }).not.toThrow();
    expect([cart.total, cart._p_state]).toEqual([5, 'changed']);
    await quiet.commit();
    expect(await db.transact((c) => (c.root().get('frozen') as Cart).total)).toBe(5);
    cart.total = 6;
    await quiet.abort();
    expect(logged).toEqual([]);
    expect(cart._p_state).toBe('ghost');
    expect(cart.total).toBe(5);
    own.close();
  });

  it('give Object.assign and spread nothing to copy from them: another object of the class stays as it was', async () => {
    const tally = new Tally();
    conn.root().set('tally', tally);
    await tm.commit();
    void tally.count;
    Object.assign(tally, new Tally({ count: 5 }));
    expect([tally.count, tally._p_state]).toEqual([0, 'saved']);
    expect(Object.assign({}, new Tally({ count: 5 }))).toEqual({});
    expect({ ...new Tally({ count: 5 }) }).toEqual({});
    await tm.commit();
    const stored = await db.transact((c) => (c.root().get('tally') as Tally).count);
    expect(stored).toBe(tally.count);
  });

  it('go through the setters when Object.assign copies into them: a ghost loads, the object is changed, and the values are stored', async () => {
    const cart = await savedCart();
    cart._p_deactivate();
    Object.assign(cart, { owner: 'bob', total: 4 });
    expect(cart._p_state).toBe('changed');
    expect([cart.owner, cart.total, cart.items]).toEqual(['bob', 4, ['pen']]);
    await tm.commit();
    expect(await readBack()).toEqual({ owner: 'bob', total: 4, items: ['pen'] });
  });

  it('ignore delete of a field, which is an accessor on the class rather than an own property: assigning undefined clears it', async () => {
    const cart = await savedCart();
    expect(delete (cart as unknown as Record<string, unknown>)['owner']).toBe(true);
    expect([cart.owner, cart._p_state]).toEqual(['ann', 'saved']);
    (cart as unknown as Record<string, unknown>)['owner'] = undefined;
    expect(cart._p_state).toBe('changed');
    await tm.commit();
    expect(storedState(db, cart._p_oid).state).toEqual({ owner: undefined, total: 3, items: ['pen'] });
  });

  it("are invisible to another connection until its next transaction boundary, which invalidates its cached copy", async () => {
    await savedCart();
    const reader = session();
    const theirs = reader.conn.root().get('cart') as Cart;
    expect(theirs.total).toBe(3);
    const mine = conn.root().get('cart') as Cart;
    mine.total = 8;
    await tm.commit();
    expect(theirs.total).toBe(3);
    reader.conn.cacheMinimize();
    expect(theirs.total).toBe(3); // reloaded from the reader's snapshot
    await reader.tm.abort();
    expect(theirs._p_state).toBe('ghost');
    expect(theirs.total).toBe(8);
  });

  it('conflict when two connections change the same object and its class cannot merge', async () => {
    await savedCart();
    const other = session();
    (other.conn.root().get('cart') as Cart).total = 10;
    (conn.root().get('cart') as Cart).total = 20;
    await other.tm.commit();
    const failure = await tm.commit().catch((e: unknown) => e);
    expect(ConflictError.is(failure)).toBe(true);
    await tm.abort();
    expect((await readBack()).total).toBe(10);
  });

});

describe.each(STORAGE_KINDS)('objects with declared fields in a small object cache (%s storage)', (kind) => {
  it('are unloaded at transaction boundaries beyond the cache size, except changed ones, and reload on their next read', async () => {
    const { db, dispose } = await dbEnv(kind, { cacheSize: 2 });
    try {
      const tm = new TransactionManager();
      const conn = db.open({ transactionManager: tm });
      const carts = Array.from({ length: 6 }, (_, i) => new Cart({ total: i }));
      carts.forEach((cart, i) => conn.root().set(`c${i}`, cart));
      await tm.commit();
      expect(conn.cacheInfo().nonGhostCount).toBe(2);
      expect(carts.filter((c) => c._p_state === 'ghost')).toHaveLength(5);
      const ghost = carts[0] as Cart;
      ghost.total += 100;
      for (const cart of carts) void cart.owner;
      conn.cacheGC();
      expect(ghost._p_state).toBe('changed');
      expect(conn.cacheInfo().nonGhostCount).toBe(2);
      expect(carts.filter((c) => c._p_state === 'ghost')).toHaveLength(4);
      await tm.commit();
      expect(carts.map((c) => c.total)).toEqual([100, 1, 2, 3, 4, 5]);
      conn.close();
    } finally {
      await dispose();
    }
  });
});

describe.each(STORAGE_KINDS)('records stored before a field was declared (%s storage)', (kind) => {
  let env: StorageEnv;
  const dbs: DB[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    await env.dispose();
  });

  /**
   * Stores `make()` under the root key 'book' through a DB whose registry names `Old`
   * 'test.fields.Book', then opens the same data with a registry naming `New` so.
   */
  async function storeThenUpgrade(Old: new () => Persistent, make: () => Persistent, New: new () => Persistent): Promise<DB> {
    env = await storageEnv(kind);
    const before = new ClassRegistry(globalRegistry);
    before.register('test.fields.Book', Old);
    const first = await DB.open(env.storage, { registry: before });
    await first.transact((conn) => conn.root().set('book', make()));
    if (kind === 'lmdb') await first.close();
    else dbs.push(first);
    const after = new ClassRegistry(globalRegistry);
    after.register('test.fields.Book', New);
    const db = await DB.open(await env.reopen(), { registry: after });
    dbs.push(db);
    return db;
  }

  class Book extends Persistent.withFields({ title: '', pages: 100, tags: () => [] as string[] }) {}

  it('read a field missing from a record stored by a Proxy-tracked version of the class as its primitive default, and a factory field as undefined', async () => {
    class ProxyBook extends Persistent {
      title = 'Dune';
    }
    const db = await storeThenUpgrade(ProxyBook, () => new ProxyBook(), Book);
    await db.transact((conn) => {
      const book = conn.root().get('book') as Book;
      expect(book).toBeInstanceOf(Book);
      expect(types.isProxy(book)).toBe(false);
      expect([book.title, book.pages, book.tags]).toEqual(['Dune', 100, undefined]);
    });
  });

  it('read a field missing from a record stored by a class declaring fewer fields as its default', async () => {
    class ShortBook extends Persistent.withFields({ title: '' }) {}
    const db = await storeThenUpgrade(ShortBook, () => new ShortBook({ title: 'Emma' }), Book);
    const read = await db.transact((conn) => {
      const book = conn.root().get('book') as Book;
      return [book.title, book.pages, book.tags];
    });
    expect(read).toEqual(['Emma', 100, undefined]);
  });

  it('keep the keys of a record that the class does not declare, and write them back on the next store', async () => {
    class OldBook extends Persistent {
      title = 'Ulysses';
      isbn = '978-0';
    }
    const db = await storeThenUpgrade(OldBook, () => new OldBook(), Book);
    const oid = await db.transact((conn) => {
      const book = conn.root().get('book') as Book;
      expect('isbn' in book).toBe(false);
      expect(JSON.parse(JSON.stringify(book))).toEqual({ isbn: '978-0', title: 'Ulysses', pages: 100 });
      book.pages = 730;
      return book._p_oid;
    });
    expect(storedState(db, oid).state).toEqual({ isbn: '978-0', title: 'Ulysses', pages: 730 });
    // ...and again after a second load and store.
    await db.transact((conn) => {
      (conn.root().get('book') as Book).title = 'Ulysses (1922)';
    });
    expect(storedState(db, oid).state).toEqual({ isbn: '978-0', title: 'Ulysses (1922)', pages: 730 });
  });

  it('may migrate an old record in an overridden _p_setState: writes made there are not changes', async () => {
    class NamedBook extends Persistent {
      name = 'Emma';
    }
    class RenamedBook extends Persistent.withFields({ title: '', pages: 100 }) {
      override _p_setState(state: Record<string, unknown>): void {
        const { name, ...rest } = state;
        super._p_setState(rest);
        if (typeof name === 'string') this.title = name; // the field was called "name" before
      }
    }
    const db = await storeThenUpgrade(NamedBook, () => new NamedBook(), RenamedBook);
    const oid = await db.transact((conn) => {
      const book = conn.root().get('book') as RenamedBook;
      expect([book.title, book.pages, book._p_state]).toEqual(['Emma', 100, 'saved']);
      book.pages = 400;
      return book._p_oid;
    });
    expect(storedState(db, oid).state).toEqual({ title: 'Emma', pages: 400 });
  });

  it('keep the unknown keys of a record across a savepoint rollback', async () => {
    class OldBook extends Persistent {
      title = 'Ulysses';
      isbn = '978-0';
    }
    const db = await storeThenUpgrade(OldBook, () => new OldBook(), Book);
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const book = conn.root().get('book') as Book;
    book.pages = 1;
    const sp = tm.savepoint();
    book.pages = 2;
    sp.rollback();
    await tm.commit();
    conn.close();
    expect(storedState(db, book._p_oid).state).toEqual({ isbn: '978-0', title: 'Ulysses', pages: 1 });
  });
});

describe.each(STORAGE_KINDS)('properties that are not declared fields (%s storage)', (kind) => {
  let db: DB;
  let tm: TransactionManager;
  let conn: Connection;
  withConnection(kind, (env) => ({ db, tm, conn } = env));

  const rootKeys = (): Promise<string[]> => db.transact((c) => [...c.root().keys()].sort());
  const assignTo = (obj: object, key: string | symbol, value: unknown): void => {
    (obj as Record<string | symbol, unknown>)[key] = value;
  };

  it('are refused at the assignment with TypeError, leaving the object without them, so that a commit stores exactly the declared fields', async () => {
    const cart = new Cart({ owner: 'ann' });
    expect(() => Object.assign(cart, { extra: 1, more: 2 })).toThrow(TypeError);
    expect(() => Object.assign(cart, { extra: 1, more: 2 })).toThrow(/Cannot add property extra, object is not extensible/);
    expect('extra' in cart).toBe(false);
    expect('more' in cart).toBe(false);
    conn.root().set('cart', cart);
    conn.root().set('other', 1);
    await tm.commit();
    expect(await rootKeys()).toEqual(['cart', 'other']);
    expect(storedState(db, cart._p_oid)).toEqual({ className: 'test.fields.Cart', state: { owner: 'ann', total: 0, items: [] } });
  });

  it('are refused on a stored object that is changed, and after abort its stored state is intact', async () => {
    const cart = new Cart({ owner: 'ann', total: 1 });
    conn.root().set('cart', cart);
    await tm.commit();
    const last = db.lastTransaction();
    cart.total = 2;
    expect(() => assignTo(cart, 'extra', 1)).toThrow(TypeError);
    await tm.abort();
    expect(db.lastTransaction()).toBe(last);
    expect(await db.transact((c) => (c.root().get('cart') as Cart).total)).toBe(1);
    expect(cart.total).toBe(1);
  });

  it('are refused on a stored object that has no other change, and leave it unchanged', async () => {
    const cart = new Cart();
    conn.root().set('cart', cart);
    await tm.commit();
    const last = db.lastTransaction();
    expect(() => assignTo(cart, 'extra', 1)).toThrow(TypeError);
    expect(cart._p_state).toBe('saved');
    await tm.commit();
    expect(db.lastTransaction()).toBe(last);
  });

  it('are refused on a ghost without loading it', async () => {
    const cart = new Cart();
    conn.root().set('cart', cart);
    await tm.commit();
    cart._p_deactivate();
    expect(() => assignTo(cart, 'extra', 1)).toThrow(TypeError);
    expect(cart._p_state).toBe('ghost');
  });

  it('catch a class field in the body of a subclass, the usual way to make one by mistake, when an object is constructed', async () => {
    expect(() => new Mistake()).toThrow(TypeError);
    expect(() => new Mistake()).toThrow(/Cannot define property extra, object is not extensible/);
    expect(await rootKeys()).toEqual([]);
  });

  it('catch a class field in a subclass that repeats a declared field, whose own property would hide the tracked accessor', () => {
    expect(() => new Repeats()).toThrow(TypeError);
    expect(() => new Repeats()).toThrow(/Cannot define property a\b/);
  });

  it('catch class fields of a class between two withFields levels in the most derived level, naming them', () => {
    class Middle extends Persistent.withFields({ a: 0 }) {
      extra = 1;
      more = 2;
    }
    class Bottom extends Middle.withFields({ b: 0 }) {}
    expect(() => new Bottom()).toThrow(TypeError);
    expect(() => new Bottom()).toThrow(/extra, more are not declared fields/);
  });

  it('catch a _v_ class field of a class between two withFields levels too, which would be an undeclared volatile property', () => {
    class Middle extends Persistent.withFields({ a: 0 }) {
      _v_cache = 1;
    }
    class Bottom extends Middle.withFields({ b: 0 }) {}
    expect(() => new Bottom()).toThrow(TypeError);
  });

  it('refuse every other own property too: undeclared _v_ and _p_ names, symbol keys and defined properties', async () => {
    const cart = new Cart();
    expect(() => assignTo(cart, '_v_cache', 1)).toThrow(TypeError);
    expect(() => assignTo(cart, '_p_note', 2)).toThrow(TypeError);
    expect(() => assignTo(cart, Symbol('s'), 3)).toThrow(TypeError);
    expect(() => Object.defineProperty(cart, 'hidden', { value: 4, enumerable: false })).toThrow(TypeError);
    expect(Reflect.ownKeys(cart).filter((k) => typeof k === 'string')).toEqual([]);
    conn.root().set('cart', cart);
    await tm.commit();
    expect(storedState(db, cart._p_oid).state).toEqual({ owner: '', total: 0, items: [] });
  });
});

describe('declaring fields', () => {
  class WithMethod extends Persistent {
    describe(): string {
      return 'a method';
    }
  }
  class WithGetter extends Persistent.withFields({ a: 0 }) {
    get doubled(): number {
      return this.a * 2;
    }
  }

  it.each<[string, () => unknown, RegExp]>([
    ['an array default, which every object would share', () => Persistent.withFields({ tags: [] }), /share one array.*tags: \(\) =>/],
    ['an object default', () => Persistent.withFields({ meta: {} }), /share one object/],
    ['a Date default', () => Persistent.withFields({ when: new Date() }), /share one object/],
    ['a symbol default', () => Persistent.withFields({ s: Symbol('s') }), /symbol/],
    ['a _p_ name', () => Persistent.withFields({ _p_total: 0 }), /_p_ names are bookkeeping/],
    ['a _p_ name of existing bookkeeping', () => Persistent.withFields({ _p_oid: 0 }), /_p_ names are bookkeeping/],
    ['constructor', () => Persistent.withFields({ constructor: 0 }), /reserved/],
    ['then', () => Persistent.withFields({ then: 0 }), /reserved/],
    ['toJSON, which would hide the method that gives JSON.stringify the stored state', () => Persistent.withFields({ toJSON: 0 }), /reserved/],
    ['__proto__', () => Persistent.withFields(JSON.parse('{"__proto__": 0}') as Record<string, number>), /reserved/],
    ['a _v_ field its parent declares', () => Cart.withFields({ _v_view: '' }), /parent class already declares/],
    ['a field its parent declares', () => Cart.withFields({ owner: '' }), /parent class already declares/],
    ['a method of the class', () => WithMethod.withFields({ describe: '' }), /already has a property or method/],
    ['a getter of the class', () => WithGetter.withFields({ doubled: 0 }), /already has a property or method/],
    ['a method of every object', () => Persistent.withFields({ toString: '' }), /already has a property or method/],
    ['a method of Persistent', () => Persistent.withFields({ _p_activate: 0 }), /_p_ names are bookkeeping/],
  ])('refuses %s with ClassRegistrationError when the class is made', (_what, declare, message) => {
    expect(declare).toThrow(ClassRegistrationError);
    expect(declare).toThrow(message);
  });

  it('accepts primitive defaults of every storable kind, and factories', () => {
    class All extends Persistent.withFields({ n: 1, s: 'x', b: false, z: null, u: undefined, big: 10n, list: () => [1] }) {}
    const obj = new All();
    expect([obj.n, obj.s, obj.b, obj.z, obj.u, obj.big, obj.list]).toEqual([1, 'x', false, null, undefined, 10n, [1]]);
  });

  it('accepts _v_ names as volatile fields, with their defaults, outside the stored state', () => {
    class Cached extends Persistent.withFields({ title: 't', _v_hits: 0, _v_view: undefined as string | undefined }) {}
    const obj = new Cached({ _v_view: '<t>' });
    expect([obj.title, obj._v_hits, obj._v_view]).toEqual(['t', 0, '<t>']);
    expect(obj._p_getState()).toEqual({ title: 't' });
  });
});

describe.each(STORAGE_KINDS)('subclasses of a class with declared fields (%s storage)', (kind) => {
  let db: DB;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ db, dispose } = await dbEnv(kind));
  });
  afterEach(async () => dispose());

  it('declare more fields with withFields on the subclass, keeping the parent fields and methods', async () => {
    const cart = new CouponCart({ owner: 'bo', coupon: 'SAVE', discount: 2 });
    cart.add('pen', 5);
    expect(cart).toBeInstanceOf(Cart);
    expect(types.isProxy(cart)).toBe(false);
    expect(cart.net()).toBe(3);
    const oid = await db.transact((conn) => {
      conn.root().set('cart', cart);
      return () => cart._p_oid;
    });
    expect(storedState(db, oid())).toEqual({
      className: 'test.fields.CouponCart',
      state: { owner: 'bo', total: 5, items: ['pen'], coupon: 'SAVE', discount: 2 },
    });
    const loaded = await db.transact((conn) => {
      const c = conn.root().get('cart') as CouponCart;
      expect(c).toBeInstanceOf(CouponCart);
      c.discount = 1;
      return { net: c.net(), coupon: c.coupon, items: c.items };
    });
    expect(loaded).toEqual({ net: 4, coupon: 'SAVE', items: ['pen'] });
  });

  it('are direct objects too when they add no fields, and store the parent fields under their own class name', async () => {
    const gift = new GiftCart({ owner: 'cy' });
    expect(types.isProxy(gift)).toBe(false);
    const oid = await db.transact((conn) => {
      conn.root().set('gift', gift);
      return () => gift._p_oid;
    });
    expect(storedState(db, oid())).toEqual({ className: 'test.fields.GiftCart', state: { owner: 'cy', total: 0, items: [] } });
  });

  it('run the constructor of a class between two withFields levels, with no arguments, when a ghost is made, discarding its writes, and not the constructor of the registered class', async () => {
    constructed.length = 0;
    const made = new NotedLedger('first');
    expect(constructed).toEqual([
      ['Ledger', []],
      ['NotedLedger', ['first']],
    ]);
    expect([made.owner, made.balance, made.note]).toEqual(['set by the constructor', -1, 'first']);
    made.owner = 'ann';
    made.balance = 10;
    // Stored through a connection kept open, so that the load below happens in another one.
    const tm = new TransactionManager();
    const writer = db.open({ transactionManager: tm });
    writer.root().set('ledger', made);
    await tm.commit();
    const last = db.lastTransaction();

    constructed.length = 0;
    const loaded = await db.transact((conn) => {
      const ledger = conn.root().get('ledger') as NotedLedger;
      expect(ledger._p_state).toBe('ghost');
      expect(constructed).toEqual([['Ledger', []]]);
      const fields = [ledger.owner, ledger.balance, ledger.note];
      expect(ledger._p_state).toBe('saved');
      return fields;
    });
    expect(loaded).toEqual(['ann', 10, 'first']);
    expect(constructed).toEqual([['Ledger', []]]);
    expect(db.lastTransaction()).toBe(last);
    expect(storedState(db, made._p_oid).state).toEqual({ owner: 'ann', balance: 10, note: 'first' });
    writer.close();
  });

  it('make an object a between-levels constructor creates while a ghost is made a new object, not a ghost', async () => {
    const owner = new NamedOwner({ nick: 'bo' });
    (owner.pet as Customer).name = 'rex';
    // Stored through a connection kept open, so that the load below makes a new ghost elsewhere.
    const tm = new TransactionManager();
    const writer = db.open({ transactionManager: tm });
    writer.root().set('owner', owner);
    await tm.commit();
    madeByOwner.length = 0;
    const [state, name, pet] = await db.transact((conn) => {
      const loaded = conn.root().get('owner') as NamedOwner;
      return [madeByOwner[0]?._p_state, madeByOwner[0]?.name, loaded.pet?.name];
    });
    expect(madeByOwner).toHaveLength(1);
    expect(state).toBe('unsaved');
    expect(name).toBe('made by the constructor');
    expect(pet).toBe('rex');
    writer.close();
  });

  it('may override the state hooks, calling super, to store another representation', async () => {
    await db.transact((conn) => conn.root().set('doc', new Versioned({ title: 'Persuasion' })));
    const oid = await db.transact((conn) => {
      const doc = conn.root().get('doc') as Versioned;
      expect(doc.title).toBe('Persuasion');
      expect(doc._p_state).toBe('saved');
      doc.title = 'Persuasion (1817)';
      return doc._p_oid;
    });
    expect(storedState(db, oid).state).toEqual({ title: 'Persuasion (1817)', v: 2 });
  });

  it('give JSON.stringify the state an overridden _p_getState stores', () => {
    class Stamped extends Persistent.withFields({ title: '' }) {
      override _p_getState(): Record<string, unknown> {
        return { ...super._p_getState(), v: 2 };
      }
    }
    expect(JSON.parse(JSON.stringify(new Stamped({ title: 'x' })))).toEqual({ title: 'x', v: 2 });
  });
});

// ── A model of one object's fields through assignments, commits, aborts and savepoints ──────

class Rec extends Persistent.withFields({ n: 0, s: '', list: () => [] as number[] }) {}
registerClass('test.fields.Rec', Rec);

type Fields = { n: number; s: string; list: number[] };
type Field = keyof Fields;

interface FieldsModel {
  committed: Fields;
  current: Fields;
  /** The lifecycle state the object must be in. */
  state: 'ghost' | 'saved' | 'changed';
  savepoint: { fields: Fields; changed: boolean } | null;
  /** What the reader connection's snapshot holds. */
  readerSees: Fields;
}

interface FieldsReal {
  db: DB;
  tm: TransactionManager;
  obj: Rec;
  savepoint: Savepoint | null;
  reader: Session;
}

const copy = (f: Fields): Fields => ({ n: f.n, s: f.s, list: [...f.list] });
type FieldsCommand = fc.AsyncCommand<FieldsModel, FieldsReal>;

class Assign implements FieldsCommand {
  constructor(
    readonly field: Field,
    readonly value: Fields[Field],
  ) {}
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    (r.obj as unknown as Record<Field, unknown>)[this.field] = Array.isArray(this.value) ? [...this.value] : this.value;
    (m.current as Record<Field, unknown>)[this.field] = Array.isArray(this.value) ? [...this.value] : this.value;
    m.state = 'changed';
    expect(r.obj._p_state).toBe('changed');
    await Promise.resolve();
  }
  toString = (): string => `${this.field} = ${JSON.stringify(this.value)}`;
}

/** Reads every field (and the JSON of the object): a ghost loads. */
class ReadAll implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    expect({ n: r.obj.n, s: r.obj.s, list: r.obj.list }).toEqual(m.current);
    expect(JSON.parse(JSON.stringify(r.obj))).toEqual(m.current);
    if (m.state === 'ghost') m.state = 'saved';
    expect(r.obj._p_state).toBe(m.state);
    await Promise.resolve();
  }
  toString = (): string => 'readAll';
}

class CheckState implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    expect(r.obj._p_state).toBe(m.state);
    await Promise.resolve();
  }
  toString = (): string => 'checkState';
}

class Commit implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    await r.tm.commit();
    m.committed = copy(m.current);
    if (m.state === 'changed') m.state = 'saved';
    m.savepoint = null;
    r.savepoint = null;
  }
  toString = (): string => 'commit';
}

class Abort implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    await r.tm.abort();
    m.current = copy(m.committed);
    if (m.state === 'changed') m.state = 'ghost';
    m.savepoint = null;
    r.savepoint = null;
  }
  toString = (): string => 'abort';
}

class Deactivate implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    r.obj._p_deactivate();
    if (m.state === 'saved') m.state = 'ghost';
    expect(r.obj._p_state).toBe(m.state);
    await Promise.resolve();
  }
  toString = (): string => 'deactivate';
}

class TakeSavepoint implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    r.savepoint = r.tm.savepoint();
    m.savepoint = { fields: copy(m.current), changed: m.state === 'changed' };
    await Promise.resolve();
  }
  toString = (): string => 'savepoint';
}

class Rollback implements FieldsCommand {
  check = (m: Readonly<FieldsModel>): boolean => m.savepoint !== null;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    (r.savepoint as Savepoint).rollback();
    const sp = m.savepoint as { fields: Fields; changed: boolean };
    m.current = copy(sp.fields);
    if (sp.changed) m.state = 'changed';
    else if (m.state === 'changed') m.state = 'ghost'; // first changed after the savepoint: reloads its snapshot
    await Promise.resolve();
  }
  toString = (): string => 'rollback';
}

/** Another connection reads the object: its snapshot, not the newest commit. */
class ReaderReads implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    const theirs = r.reader.conn.root().get('rec') as Rec;
    expect({ n: theirs.n, s: theirs.s, list: theirs.list }).toEqual(m.readerSees);
    await Promise.resolve();
  }
  toString = (): string => 'readerReads';
}

class ReaderBoundary implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    await r.reader.tm.abort();
    m.readerSees = copy(m.committed);
  }
  toString = (): string => 'readerBoundary';
}

/** A fresh connection reads exactly the committed model. */
class CheckStore implements FieldsCommand {
  check = (): boolean => true;
  async run(m: FieldsModel, r: FieldsReal): Promise<void> {
    const stored = await r.db.transact((c) => {
      const rec = c.root().get('rec') as Rec;
      return { n: rec.n, s: rec.s, list: rec.list };
    });
    expect(stored).toEqual(m.committed);
  }
  toString = (): string => 'checkStore';
}

const fieldCommands = [
  fc.integer({ min: -5, max: 5 }).map((v) => new Assign('n', v)),
  fc.string({ maxLength: 3 }).map((v) => new Assign('s', v)),
  fc.array(fc.nat({ max: 9 }), { maxLength: 3 }).map((v) => new Assign('list', v)),
  fc.constant(new ReadAll()),
  fc.constant(new CheckState()),
  fc.constant(new Commit()),
  fc.constant(new Abort()),
  fc.constant(new Deactivate()),
  fc.constant(new TakeSavepoint()),
  fc.constant(new Rollback()),
  fc.constant(new ReaderReads()),
  fc.constant(new ReaderBoundary()),
  fc.constant(new CheckStore()),
];

describe.each<[StorageKind, number]>([
  ['memory', 80],
  ['lmdb', 15],
])('a declared-fields object against a model of its fields (%s storage)', (kind, numRuns) => {
  it('reads, stores, rolls back and shows other connections exactly what the model predicts, in the lifecycle state it predicts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(fieldCommands, { maxCommands: 40 }), async (cmds) => {
        const env = await dbEnv(kind);
        try {
          const tm = new TransactionManager();
          const conn = env.db.open({ transactionManager: tm });
          const obj = new Rec();
          conn.root().set('rec', obj);
          await tm.commit();
          const readerTm = new TransactionManager();
          const reader = { tm: readerTm, conn: env.db.open({ transactionManager: readerTm }) };
          const initial: Fields = { n: 0, s: '', list: [] };
          const model: FieldsModel = { committed: copy(initial), current: copy(initial), state: 'saved', savepoint: null, readerSees: copy(initial) };
          const real: FieldsReal = { db: env.db, tm, obj, savepoint: null, reader };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          await new CheckStore().run(model, real);
          await tm.abort();
          await readerTm.abort();
        } finally {
          await env.dispose();
        }
      }),
      { numRuns },
    );
  });
});
