import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BTree, Counter, TidalError, type LmdbStorage, type MemoryStorage, type Tid } from '@tidaldb/core';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../btree/db-env.ts';

describe('Counter', () => {
  it('increments by 1 or by n, and resolves concurrent changes as committed + mine - old', () => {
    const c = new Counter(10);
    expect(c.increment()).toBe(11);
    expect(c.increment(-4)).toBe(7);
    expect(Counter.resolveConflict({ value: 10 }, { value: 13 }, { value: 8 })).toEqual({ value: 11 });
  });

  it('merges set() as a delta: a concurrent set(0) and increment() end at 1', () => {
    const old = { value: 5 };
    expect(Counter.resolveConflict(old, { value: 0 }, { value: 6 })).toEqual({ value: 1 });
  });

  it('refuses states without a finite number, and a missing old revision', () => {
    expect(() => Counter.resolveConflict(null, { value: 1 }, { value: 2 })).toThrow(TidalError);
    expect(() => Counter.resolveConflict({ value: 1 }, { value: Number.NaN }, { value: 2 })).toThrow(/committed state has no finite value/);
  });
});

describe.each(STORAGE_KINDS)('undo through resolvers (%s storage)', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb(kind);
    await t.db.transact((conn) => {
      conn.root().set('count', new Counter());
      conn.root().set('tree', new BTree<string, number>([['m', 0]]));
    });
  });
  afterEach(async () => t.dispose());

  it('undoes one increment and one insert while keeping the later ones', async () => {
    const step = async (n: number, key: string): Promise<Tid> => {
      await t.db.transact((conn) => {
        (conn.root().get('count') as Counter).increment(n);
        (conn.root().get('tree') as BTree<string, number>).set(key, n);
      });
      return t.db.lastTransaction();
    };
    const first = await step(5, 'a');
    await step(3, 'z');
    await t.db.undo(first);
    await t.db.transact((conn) => {
      expect((conn.root().get('count') as Counter).value).toBe(3);
      const tree = conn.root().get('tree') as BTree<string, number>;
      expect([...tree.keys()]).toEqual(['m', 'z']);
      tree.check();
    });
    expect(t.db.conflictStats()['tidal.Counter']?.resolved).toBe(1);
  });
});

describe.each(STORAGE_KINDS)('concurrent transactions on one hot Counter (%s storage)', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb(kind);
    await t.db.transact((conn) => conn.root().set('hits', new Counter()));
  });
  afterEach(async () => t.dispose());

  it('commit each on the first attempt, merged one after the other within shared flushes', async () => {
    const storage = t.db.storage as LmdbStorage | MemoryStorage;
    const before = storage.stats();
    let attempts = 0;
    const committers = 8;
    const perCommitter = 5;
    await Promise.all(
      Array.from({ length: committers }, async () => {
        for (let i = 0; i < perCommitter; i++) {
          await t.db.transact((conn) => {
            attempts++;
            (conn.root().get('hits') as Counter).increment();
          });
        }
      }),
    );
    const after = storage.stats();
    const total = committers * perCommitter;
    expect(attempts).toBe(total);
    expect(await t.db.transact((conn) => (conn.root().get('hits') as Counter).value)).toBe(total);
    expect(after.commits - before.commits).toBe(total);
    // Transactions whose only participant is the storage commit in one phase: no lock is taken
    // and conflicts inside one flush are merged there, so the flushes carry several commits.
    expect(after.flushes - before.flushes).toBeLessThan(total);
    expect(after.lockWaits - before.lockWaits).toBe(0);
    expect(t.db.conflictStats()['tidal.Counter']?.resolved).toBeGreaterThan(0);
  });
});
