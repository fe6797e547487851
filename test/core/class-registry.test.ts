import { afterEach, describe, expect, it } from 'vitest';
import {
  Broken,
  BrokenObjectError,
  ClassRegistrationError,
  ClassRegistry,
  DB,
  Persistent,
  PersistentMap,
  globalRegistry,
  registerClass,
} from '@tidaldb/core';
import { STORAGE_KINDS, storageEnv, type StorageEnv } from './object-env.ts';

class Gadget extends Persistent {
  name = '';
  size = 0;
}

describe('the class registry', () => {
  it('maps a stable name to a class and back, independently of the JavaScript class name', () => {
    const registry = new ClassRegistry();
    const Minified = class extends Persistent {};
    registry.register('shop.Gadget', Minified);
    expect(registry.classFor('shop.Gadget')).toBe(Minified);
    expect(registry.nameOf(Minified)).toBe('shop.Gadget');
  });

  it('accepts registering the same class under the same name again', () => {
    const registry = new ClassRegistry();
    registry.register('a.Gadget', Gadget);
    expect(() => registry.register('a.Gadget', Gadget)).not.toThrow();
  });

  it('refuses a name already taken by another class, with ClassRegistrationError', () => {
    const registry = new ClassRegistry();
    registry.register('a.Gadget', Gadget);
    class Other extends Persistent {}
    expect(() => registry.register('a.Gadget', Other)).toThrow(ClassRegistrationError);
    expect(registry.classFor('a.Gadget')).toBe(Gadget);
  });

  it('refuses a second name for an already registered class', () => {
    const registry = new ClassRegistry();
    registry.register('a.Gadget', Gadget);
    expect(() => registry.register('b.Gadget', Gadget)).toThrow(ClassRegistrationError);
  });

  it('refuses an empty name', () => {
    expect(() => new ClassRegistry().register('', Gadget)).toThrow(ClassRegistrationError);
  });

  it('falls back to its parent, where the built-in classes are registered', () => {
    const registry = new ClassRegistry(globalRegistry);
    expect(registry.classFor('tidal.PersistentMap')).toBe(PersistentMap);
    expect(registry.nameOf(PersistentMap)).toBe('tidal.PersistentMap');
  });

  it('registerClass registers in the global registry', () => {
    class Global extends Persistent {}
    registerClass('test.registry.Global', Global);
    expect(globalRegistry.classFor('test.registry.Global')).toBe(Global);
  });
});

describe.each(STORAGE_KINDS)('objects of unregistered classes (%s storage)', (kind) => {
  let env: StorageEnv;
  const dbs: DB[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    await env.dispose();
  });

  /** Stores a Gadget under the root key 'g' with a registry that knows it, then reopens without it. */
  async function storeThenForget(): Promise<{ withClass: () => Promise<DB>; withoutClass: DB }> {
    env = await storageEnv(kind);
    const knowing = new ClassRegistry(globalRegistry);
    knowing.register('shop.Gadget', Gadget);
    const first = await DB.open(env.storage, { registry: knowing });
    await first.transact((conn) => {
      const g = new Gadget();
      g.name = 'widget';
      g.size = 3;
      conn.root().set('g', g);
      conn.root().set('count', 1);
    });
    if (kind === 'lmdb') await first.close();
    else dbs.push(first);
    const withoutClass = await DB.open(await env.reopen(), { registry: new ClassRegistry(globalRegistry) });
    dbs.push(withoutClass);
    const withClass = async (): Promise<DB> => {
      if (kind === 'lmdb') await withoutClass.close();
      const db = await DB.open(await env.reopen(), { registry: knowing });
      dbs.push(db);
      return db;
    };
    return { withClass, withoutClass };
  }

  it('load as Broken objects whose state can be read', async () => {
    const { withoutClass } = await storeThenForget();
    await withoutClass.transact((conn) => {
      const g = conn.root().get('g') as Broken & { name: string; size: number };
      expect(g).toBeInstanceOf(Broken);
      expect(g.name).toBe('widget');
      expect(g.size).toBe(3);
      expect(g._p_brokenClassName).toBe('shop.Gadget');
      expect(g._p_getState()).toEqual({ name: 'widget', size: 3 });
    });
  });

  it('refuse every write with BrokenObjectError', async () => {
    const { withoutClass } = await storeThenForget();
    await withoutClass.transact((conn) => {
      const g = conn.root().get('g') as Broken & { name: string };
      expect(() => {
        g.name = 'other';
      }).toThrow(BrokenObjectError);
      expect(() => {
        delete (g as Partial<typeof g>).name;
      }).toThrow(BrokenObjectError);
      expect(() => {
        g._p_changed = true;
      }).toThrow(BrokenObjectError);
      expect(g.name).toBe('widget');
      expect(g._p_changed).toBe(false);
    });
  });

  it('round-trip unchanged when an object referring to them is stored', async () => {
    const { withoutClass, withClass } = await storeThenForget();
    await withoutClass.transact((conn) => {
      const root = conn.root();
      root.set('count', 2);
      root.set('again', root.get('g')); // a second reference to the Broken object
    });
    const db = await withClass();
    await db.transact((conn) => {
      const root = conn.root();
      const g = root.get('g') as Gadget;
      expect(g).toBeInstanceOf(Gadget);
      expect(root.get('again')).toBe(g);
      expect({ name: g.name, size: g.size }).toEqual({ name: 'widget', size: 3 });
      expect(root.get('count')).toBe(2);
    });
  });
});
