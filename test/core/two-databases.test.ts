import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Persistent, TransactionManager, registerClass, type DataManager, type DB } from '@tidaldb/core';
import { dbEnv } from './object-env.ts';

class Entry extends Persistent {
  text = '';
}
registerClass('test.twodbs.Entry', Entry);

/** A data manager that records the calls it gets and can veto in tpcVote. */
function vetoingManager(veto: boolean): DataManager & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    sortKey: () => 'zz-vetoing-manager',
    abort: () => void calls.push('abort'),
    tpcBegin: () => void calls.push('tpcBegin'),
    commit: () => void calls.push('commit'),
    tpcVote: () => {
      calls.push('tpcVote');
      if (veto) throw new Error('vetoed');
    },
    tpcFinish: () => void calls.push('tpcFinish'),
    tpcAbort: () => void calls.push('tpcAbort'),
  };
}

describe('one transaction over two databases', () => {
  let one: DB;
  let two: DB;
  const disposers: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    const a = await dbEnv('lmdb');
    const b = await dbEnv('memory');
    one = a.db;
    two = b.db;
    disposers.push(a.dispose, b.dispose);
  });
  afterEach(async () => {
    for (const d of disposers.splice(0)) await d();
  });

  const stored = async (db: DB): Promise<string | undefined> => db.transact((c) => (c.root().get('e') as Entry | undefined)?.text);

  it('commits to both databases together', async () => {
    const tm = new TransactionManager();
    const c1 = one.open({ transactionManager: tm });
    const c2 = two.open({ transactionManager: tm });
    c1.root().set('e', Object.assign(new Entry(), { text: 'one' }));
    c2.root().set('e', Object.assign(new Entry(), { text: 'two' }));
    await tm.commit();
    expect([await stored(one), await stored(two)]).toEqual(['one', 'two']);
    c1.close();
    c2.close();
  });

  it('stores nothing in either database when another data manager fails in vote', async () => {
    const tm = new TransactionManager();
    const c1 = one.open({ transactionManager: tm });
    const c2 = two.open({ transactionManager: tm });
    const last = [one.lastTransaction(), two.lastTransaction()];
    c1.root().set('e', Object.assign(new Entry(), { text: 'one' }));
    c2.root().set('e', Object.assign(new Entry(), { text: 'two' }));
    const veto = vetoingManager(true);
    tm.get().join(veto);
    await expect(tm.commit()).rejects.toThrow('vetoed');
    expect(veto.calls).toEqual(['tpcBegin', 'commit', 'tpcVote', 'abort', 'tpcAbort']);
    await tm.abort();
    expect([one.lastTransaction(), two.lastTransaction()]).toEqual(last);
    expect([await stored(one), await stored(two)]).toEqual([undefined, undefined]);
    // The connections are usable again, and their changes were dropped.
    expect(c1.root().has('e')).toBe(false);
    c1.close();
    c2.close();
  });
});
