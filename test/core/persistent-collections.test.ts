import { describe, expect, it } from 'vitest';
import type { TransactionManager} from '@tidaldb/core';
import { PersistentList, PersistentMap, type Connection, type DB } from '@tidaldb/core';
import { STORAGE_KINDS, withConnection } from './object-env.ts';

describe.each(STORAGE_KINDS)('PersistentMap and PersistentList (%s storage)', (kind) => {
  let db: DB;
  let tm: TransactionManager;
  let conn: Connection;
  withConnection(kind, (env) => ({ db, tm, conn } = env));

  const fresh = <T>(fn: (conn: Connection) => T): Promise<T> => db.transact(fn);

  it('store a map with any string keys, __proto__ included, in insertion order', async () => {
    const map = new PersistentMap<number>([['b', 1]]);
    map.set('__proto__', 2).set('a', 3);
    conn.root().set('map', map);
    await tm.commit();
    const entries = await fresh((c) => [...(c.root().get('map') as PersistentMap<number>)]);
    expect(entries).toEqual([
      ['b', 1],
      ['__proto__', 2],
      ['a', 3],
    ]);
  });

  it('track every mutation method of a map', async () => {
    const map = new PersistentMap<number>([
      ['a', 1],
      ['b', 2],
    ]);
    conn.root().set('map', map);
    await tm.commit();
    const mutations: Array<[string, (m: PersistentMap<number>) => unknown, Array<[string, number]>]> = [
      ['set', (m) => m.set('c', 3), [['a', 1], ['b', 2], ['c', 3]]],
      ['delete', (m) => m.delete('a'), [['b', 2], ['c', 3]]],
      ['clear', (m) => m.clear(), []],
    ];
    for (const [name, mutate, expected] of mutations) {
      mutate(map);
      expect(map._p_changed, name).toBe(true);
      await tm.commit();
      expect(await fresh((c) => [...(c.root().get('map') as PersistentMap<number>).entries()]), name).toEqual(expected);
    }
  });

  it('do not mark a map changed when nothing changes (delete of a missing key, clear of an empty map)', async () => {
    const map = new PersistentMap<number>();
    conn.root().set('map', map);
    await tm.commit();
    expect(map.delete('missing')).toBe(false);
    map.clear();
    expect(map._p_changed).toBe(false);
  });

  it('read a map through get, has, keys, values, size and forEach', async () => {
    conn.root().set('map', new PersistentMap([['k', 'v']]));
    await tm.commit();
    const seen = await fresh((c) => {
      const m = c.root().get('map') as PersistentMap<string>;
      const each: string[] = [];
      m.forEach((v, k) => each.push(`${k}=${v}`));
      return { get: m.get('k'), has: m.has('k'), hasNot: m.has('x'), keys: [...m.keys()], values: [...m.values()], size: m.size, each };
    });
    expect(seen).toEqual({ get: 'v', has: true, hasNot: false, keys: ['k'], values: ['v'], size: 1, each: ['k=v'] });
  });

  it('track every mutation method of a list', async () => {
    const list = new PersistentList<number>([1, 2, 3]);
    conn.root().set('list', list);
    await tm.commit();
    const mutations: Array<[string, (l: PersistentList<number>) => unknown, number[]]> = [
      ['push', (l) => l.push(4, 5), [1, 2, 3, 4, 5]],
      ['pop', (l) => l.pop(), [1, 2, 3, 4]],
      ['shift', (l) => l.shift(), [2, 3, 4]],
      ['unshift', (l) => l.unshift(0), [0, 2, 3, 4]],
      ['splice', (l) => l.splice(1, 2, 9), [0, 9, 4]],
      ['set', (l) => l.set(-1, 7), [0, 9, 7]],
      ['clear', (l) => l.clear(), []],
    ];
    for (const [name, mutate, expected] of mutations) {
      mutate(list);
      expect(list._p_changed, name).toBe(true);
      await tm.commit();
      expect(await fresh((c) => (c.root().get('list') as PersistentList<number>).toArray()), name).toEqual(expected);
    }
  });

  it('read a list through get, length, indexOf, includes and iteration, and refuse set outside it', async () => {
    const list = new PersistentList(['a', 'b']);
    conn.root().set('list', list);
    await tm.commit();
    expect([list.get(0), list.get(-1), list.get(5), list.length, list.indexOf('b'), list.includes('c'), [...list]]).toEqual([
      'a',
      'b',
      undefined,
      2,
      1,
      false,
      ['a', 'b'],
    ]);
    expect(() => list.set(2, 'c')).toThrow(RangeError);
    expect(list._p_changed).toBe(false);
  });

  it('store persistent values as references, keeping identity within a connection', async () => {
    const inner = new PersistentList([1]);
    const map = new PersistentMap<PersistentList<number>>([
      ['x', inner],
      ['y', inner],
    ]);
    conn.root().set('map', map);
    await tm.commit();
    const same = await fresh((c) => {
      const m = c.root().get('map') as PersistentMap<PersistentList<number>>;
      return m.get('x') === m.get('y') && m.get('x')?._p_oid === inner._p_oid;
    });
    expect(same).toBe(true);
  });
});
