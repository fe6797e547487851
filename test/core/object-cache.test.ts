import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { Persistent, PersistentList, TransactionManager, registerClass, type DB } from '@tidaldb/core';
import { STORAGE_KINDS, dbEnv } from './object-env.ts';

class Leaf extends Persistent {
  n = 0;
  payload = '';
}
registerClass('test.cache.Leaf', Leaf);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe.each(STORAGE_KINDS)('the object cache (%s storage)', (kind) => {
  let disposeAll: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const d of disposeAll) await d();
    disposeAll = [];
  });

  async function dbWithLeaves(count: number, options: { cacheSize?: number; cacheSizeBytes?: number }, payload = ''): Promise<DB> {
    const env = await dbEnv(kind, options);
    disposeAll.push(env.dispose);
    await env.db.transact((conn) => {
      const list = new PersistentList<Leaf>();
      for (let i = 0; i < count; i++) {
        const leaf = new Leaf();
        leaf.n = i;
        leaf.payload = payload;
        list.push(leaf);
      }
      conn.root().set('leaves', list);
    });
    return env.db;
  }

  it('turns least recently used saved objects back into ghosts at transaction boundaries, down to cacheSize', async () => {
    const db = await dbWithLeaves(200, { cacheSize: 50 });
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const leaves = (conn.root().get('leaves') as PersistentList<Leaf>).toArray();
    let sum = 0;
    for (const leaf of leaves) sum += leaf.n;
    expect(sum).toBe((199 * 200) / 2);
    expect(conn.cacheInfo().nonGhostCount).toBeGreaterThan(200);
    await tm.commit();
    expect(conn.cacheInfo().nonGhostCount).toBeLessThanOrEqual(50);
    expect(leaves.filter((l) => l._p_state === 'ghost').length).toBeGreaterThanOrEqual(150);
    // Ghosts still work: reading loads them again.
    expect(leaves.map((l) => l.n)).toEqual(leaves.map((_, i) => i));
    conn.close();
  });

  it('keeps recently read objects and evicts the others first (second chance)', async () => {
    const db = await dbWithLeaves(100, { cacheSize: 30 });
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const leaves = (conn.root().get('leaves') as PersistentList<Leaf>).toArray();
    for (const leaf of leaves) void leaf.n; // load all
    await tm.commit(); // shrinks to 30
    const hot = leaves.slice(0, 10);
    for (let round = 0; round < 3; round++) {
      for (const leaf of hot) void leaf.n;
      for (const leaf of leaves.slice(10 + round * 25, 35 + round * 25)) void leaf.n; // a scan through cold objects
      await tm.commit();
    }
    for (const leaf of hot) void leaf.n;
    expect(hot.filter((l) => l._p_state === 'ghost')).toEqual([]);
    conn.close();
  });

  it('never ghostifies changed objects, however full the cache', async () => {
    const db = await dbWithLeaves(20, { cacheSize: 0 });
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const leaves = (conn.root().get('leaves') as PersistentList<Leaf>).toArray();
    for (const leaf of leaves) leaf.n += 100;
    conn.cacheGC();
    expect(leaves.every((l) => l._p_state === 'changed')).toBe(true);
    await tm.commit();
    expect(await db.transact((c) => (c.root().get('leaves') as PersistentList<Leaf>).toArray().map((l) => l.n))).toEqual(
      leaves.map((_, i) => i + 100),
    );
    conn.close();
  });

  it('bounds the estimated bytes of loaded objects by cacheSizeBytes', async () => {
    const db = await dbWithLeaves(100, { cacheSize: 10_000, cacheSizeBytes: 20_000 }, 'x'.repeat(1000));
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    for (const leaf of (conn.root().get('leaves') as PersistentList<Leaf>).toArray()) void leaf.payload;
    expect(conn.cacheInfo().estimatedBytes).toBeGreaterThan(100_000);
    await tm.commit();
    expect(conn.cacheInfo().estimatedBytes).toBeLessThanOrEqual(20_000);
    conn.close();
  });

  it('cacheMinimize() turns every saved object into a ghost', async () => {
    const db = await dbWithLeaves(10, {});
    const conn = db.open();
    const leaves = (conn.root().get('leaves') as PersistentList<Leaf>).toArray();
    for (const leaf of leaves) void leaf.n;
    conn.cacheMinimize();
    expect(conn.cacheInfo().nonGhostCount).toBe(0);
    expect(leaves.every((l) => l._p_state === 'ghost')).toBe(true);
    conn.close();
  });

  it('does not keep ghosts alive: ghosts nothing refers to are garbage-collected', async () => {
    const db = await dbWithLeaves(3000, { cacheSize: 10 });
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    const weak: WeakRef<Leaf>[] = [];
    (() => {
      const leaves = (conn.root().get('leaves') as PersistentList<Leaf>).toArray();
      for (const leaf of leaves) {
        void leaf.n;
        weak.push(new WeakRef(leaf));
      }
    })();
    await tm.commit();
    (conn.root().get('leaves') as PersistentList<Leaf>)._p_deactivate(); // nothing refers to the leaves any more
    await tm.commit();
    for (let i = 0; i < 5; i++) {
      collectGarbage();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(weak.filter((w) => w.deref() !== undefined).length).toBeLessThan(100);
    conn.close();
  });
});
