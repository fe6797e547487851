import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BTree, BucketConflictError, ConflictError, Counter, Persistent, registerClass, type ConflictEvent, type ConflictRefusedEvent } from '@tidaldb/core';
import { openTestDb, STORAGE_KINDS, type Session, type TestDb } from '../btree/db-env.ts';

class Note extends Persistent {
  text = '';
}
registerClass('test.conflictStats.Note', Note);

const get = <T>(s: Session, name: string): T => s.conn.root().get(name) as T;

/** Lets the listeners (run after the commit step) see what happened. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe.each(STORAGE_KINDS)('conflict statistics and events (%s storage)', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb(kind);
    await t.db.transact((conn) => {
      conn.root().set('count', new Counter());
      conn.root().set('tree', new BTree<string, number>([['a', 1]]));
      conn.root().set('note', new Note());
    });
  });
  afterEach(async () => t.dispose());

  it('counts resolutions and refusals per class, and reports each through the listeners', async () => {
    const resolved: ConflictEvent[] = [];
    const refused: ConflictRefusedEvent[] = [];
    t.db.on('resolved', (e) => resolved.push(e));
    t.db.on('conflict', (e) => refused.push(e));

    const [a, b] = [t.session(), t.session()];
    get<Counter>(a, 'count').increment();
    get<Counter>(b, 'count').increment();
    get<BTree<string, number>>(a, 'tree').set('a', 2);
    get<BTree<string, number>>(b, 'tree').set('a', 3);
    get<Note>(a, 'note').text = 'a';
    get<Note>(b, 'note').text = 'b';
    await a.tm.commit();
    const failure = await b.tm.commit().catch((e: unknown) => e);
    expect(ConflictError.is(failure)).toBe(true);
    await b.tm.abort();
    await settle();

    // The commit stops at the first refusal: which of the two refusing objects comes first
    // depends on the order of the stores, so check the totals and the events' consistency.
    const stats = t.db.conflictStats();
    expect(stats['tidal.Counter']).toEqual({ resolved: 1, conflicts: 0 });
    const refusals = (stats['tidal.BTreeBucket']?.conflicts ?? 0) + (stats['test.conflictStats.Note']?.conflicts ?? 0);
    expect(refusals).toBe(1);
    expect(resolved.map((e) => e.className)).toEqual(['tidal.Counter']);
    expect(resolved[0]!.oid).toBe(get<Counter>(a, 'count')._p_oid);
    expect(refused).toHaveLength(1);
    const [event] = refused;
    if (event!.className === 'tidal.BTreeBucket') {
      expect(BucketConflictError.is(event!.error) && event!.error.reasonNumber).toBe(1);
    } else {
      expect(event!.reason).toMatch(/has no static resolveConflict/);
    }
    expect(event!.committedTid).toBe(t.db.lastTransaction());
  });

  it('counts each resolution, can be reset, and stops reporting to a removed listener', async () => {
    const seen: string[] = [];
    const off = t.db.on('resolved', (e) => seen.push(e.className));
    const [a, b] = [t.session(), t.session()];
    get<Counter>(a, 'count').increment(5);
    get<Counter>(b, 'count').increment(7);
    await a.tm.commit();
    await b.tm.commit();
    await settle();
    off();
    const [c, d] = [t.session(), t.session()];
    get<Counter>(c, 'count').increment();
    get<Counter>(d, 'count').increment();
    await c.tm.commit();
    await d.tm.commit();
    await settle();
    expect(seen).toEqual(['tidal.Counter']);
    expect(t.db.conflictStats()).toEqual({ 'tidal.Counter': { resolved: 2, conflicts: 0 } });
    t.db.conflicts.reset();
    expect(t.db.conflictStats()).toEqual({});
  });

  it('turns an exception in a listener into a process warning, never into a failed commit', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      t.db.on('resolved', () => {
        throw new Error('listener bug');
      });
      const [a, b] = [t.session(), t.session()];
      get<Counter>(a, 'count').increment();
      get<Counter>(b, 'count').increment();
      await a.tm.commit();
      await expect(b.tm.commit()).resolves.toBeUndefined();
      await settle();
      await settle();
      expect(warnings.some((w) => w.includes('listener bug'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
