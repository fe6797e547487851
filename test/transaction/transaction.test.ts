import { describe, expect, it } from 'vitest';
import {
  DoomedTransactionError,
  Transaction,
  TransactionError,
  TransactionManager,
  type Synchronizer,
  type TransactionHandle,
} from '@tidaldb/core';
import { KvDataManager, RecordingLogger } from './kv-data-manager.ts';

describe('Transaction metadata and data', () => {
  it('appends notes as trimmed lines and builds the user from path and name', () => {
    const txn = new Transaction();
    txn.note('  first  ');
    txn.note('second\n');
    txn.setUser('alice');
    txn.setExtendedInfo('request', '/cart/add');
    expect(txn.description).toBe('first\nsecond');
    expect(txn.user).toBe('/ alice');
    txn.setUser('bob', '/acl_users');
    expect(txn.user).toBe('/acl_users bob');
    expect(txn.extension).toEqual({ request: '/cart/add' });
  });

  it('keys data by object identity and forgets it when the transaction ends', async () => {
    const txn = new Transaction();
    const k1 = {};
    const k2 = {};
    txn.setData(k1, 'one');
    expect(txn.getData(k1)).toBe('one');
    expect(txn.getData(k2)).toBeUndefined();
    expect(txn.getData({})).toBeUndefined();
    await txn.commit();
    expect(txn.getData(k1)).toBeUndefined();
  });
});

describe('Transaction status machine', () => {
  it('goes active → committing → committed, and a data manager sees committing during 2PC', async () => {
    const tm = new TransactionManager();
    const txn = tm.get();
    const seen: string[] = [];
    const dm = new KvDataManager('a', tm);
    dm.tpcVote = (t: TransactionHandle) => {
      seen.push(t.status);
    };
    dm.set('k', 'v');
    expect(txn.status).toBe('active');
    await txn.commit();
    expect(seen).toEqual(['committing']);
    expect(txn.status).toBe('committed');
  });

  it('refuses a second commit, join and savepoint after commit; abort after commit does nothing', async () => {
    const txn = new Transaction();
    await txn.commit();
    await expect(txn.commit()).rejects.toThrow(/already committed/);
    expect(() => txn.join(new KvDataManager('a', new TransactionManager()))).toThrow(TransactionError);
    expect(() => txn.savepoint()).toThrow(/transaction is committed/);
    await txn.abort();
    expect(txn.status).toBe('committed');
  });

  it('refuses commit, abort and doom while a commit is in progress', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('a', tm);
    let release!: () => void;
    dm.tpcVote = () => new Promise<void>((resolve) => (release = resolve));
    dm.set('k', 'v');
    const txn = tm.get();
    const committing = txn.commit();
    await Promise.resolve();
    await expect(txn.commit()).rejects.toThrow(/commit already in progress/);
    await expect(txn.abort()).rejects.toThrow(/cannot abort: commit in progress/);
    expect(() => txn.doom()).toThrow(TransactionError);
    expect(() => txn.join(new KvDataManager('b', tm))).toThrow(/transaction is committing/);
    while (!release) await Promise.resolve();
    release();
    await committing;
    expect(dm.state).toEqual({ k: 'v' });
  });

  it('joins a data manager once however often it joins', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    tm.get().join(dm);
    tm.get().join(dm);
    await tm.commit();
    expect(log).toEqual(['a.tpcBegin', 'a.commit', 'a.tpcVote', 'a.tpcFinish']);
  });
});

describe('doom', () => {
  it('lets work continue but makes commit throw DoomedTransactionError; abort still works', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    dm.set('k', 'v');
    tm.doom();
    expect(tm.isDoomed()).toBe(true);
    tm.doom(); // idempotent
    dm.set('k2', 'v2'); // joining and changing stay allowed
    const sp = tm.savepoint();
    sp.rollback();
    const err = await tm.commit().catch((e: unknown) => e);
    expect(DoomedTransactionError.is(err)).toBe(true);
    expect(tm.get().status).toBe('doomed');
    expect(log).not.toContain('a.tpcBegin');
    await tm.abort();
    expect(dm.state).toEqual({});
    expect(log).toContain('a.abort');
  });

  it('cannot doom a transaction that failed to commit', async () => {
    const tm = new TransactionManager({ logger: new RecordingLogger() });
    const dm = new KvDataManager('a', tm);
    dm.set('k', 'v');
    dm.failIn('tpcVote');
    await expect(tm.commit()).rejects.toThrow();
    expect(() => tm.doom()).toThrow(/cannot doom a transaction that is commit-failed/);
  });
});

describe('hooks', () => {
  it('runs before-commit hooks in order with their arguments, including hooks added by hooks, before 2PC', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const txn = tm.get();
    txn.addBeforeCommitHook((x: number, y: string) => {
      log.push(`h1 ${x} ${y}`);
      txn.addBeforeCommitHook(() => {
        log.push('h3 added by h1');
      });
    }, 1, 'a');
    txn.addBeforeCommitHook(async () => {
      await Promise.resolve();
      log.push('h2 async');
    });
    expect(txn.getBeforeCommitHooks()).toHaveLength(2);
    const dm = new KvDataManager('dm', tm, log);
    dm.set('k', 'v');
    await tm.commit();
    expect(log).toEqual(['h1 1 a', 'h2 async', 'h3 added by h1', 'dm.tpcBegin', 'dm.commit', 'dm.tpcVote', 'dm.tpcFinish']);
  });

  it('lets a before-commit hook join a data manager that then commits', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('dm', tm);
    tm.get().addBeforeCommitHook(() => dm.set('from-hook', 'yes'));
    await tm.commit();
    expect(dm.state).toEqual({ 'from-hook': 'yes' });
  });

  it('fails the commit when a before-commit hook throws: nothing reaches the data managers, after-commit hooks get false', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('dm', tm, log);
    dm.set('k', 'v');
    const txn = tm.get();
    const veto = new Error('validation failed');
    txn.addBeforeCommitHook(() => {
      throw veto;
    });
    txn.addBeforeCommitHook(() => {
      log.push('second hook');
    });
    txn.addAfterCommitHook((ok, tag: string) => {
      log.push(`after ${ok} ${tag}`);
    }, 'x');
    await expect(tm.commit()).rejects.toBe(veto);
    expect(log).toEqual(['after false x', 'dm.abort']);
    expect(txn.status).toBe('commit-failed');
  });

  it('calls after-commit hooks with true after success, logs their errors, and resolves commit', async () => {
    const logger = new RecordingLogger();
    const tm = new TransactionManager({ logger });
    const calls: unknown[][] = [];
    const hookError = new Error('hook broke');
    const txn = tm.get();
    txn.addAfterCommitHook((ok, a: number, b: number) => {
      calls.push([ok, a, b]);
      throw hookError;
    }, 1, 2);
    txn.addAfterCommitHook((ok) => {
      calls.push([ok]);
    });
    await tm.commit();
    expect(calls).toEqual([[true, 1, 2], [true]]);
    expect(logger.errors.map((e) => e.error)).toEqual([hookError]);
    expect(txn.status).toBe('committed');
  });

  it('runs abort hooks around the data managers abort and drops commit hooks', async () => {
    const logger = new RecordingLogger();
    const tm = new TransactionManager({ logger });
    const log: string[] = [];
    const dm = new KvDataManager('dm', tm, log);
    dm.set('k', 'v');
    const txn = tm.get();
    txn.addBeforeCommitHook(() => {
      log.push('before commit');
    });
    txn.addAfterCommitHook(() => {
      log.push('after commit');
    });
    txn.addBeforeAbortHook((n: number) => {
      log.push(`before abort ${n}`);
      throw new Error('logged, not thrown');
    }, 7);
    txn.addAfterAbortHook(() => {
      log.push('after abort');
    });
    await tm.abort();
    // after the after-abort hooks every data manager is aborted once more (ZODB's cleanup)
    expect(log).toEqual(['before abort 7', 'dm.abort', 'after abort', 'dm.abort']);
    expect(logger.errors.map((e) => (e.error as Error).message)).toEqual(['logged, not thrown']);
    expect(txn.getBeforeCommitHooks()).toEqual([]);
    expect(txn.getAfterCommitHooks()).toEqual([]);
  });
});

describe('abort', () => {
  it.each([false, true])('aborts every data manager even if one fails, then rethrows the first error (async: %s)', async (async) => {
    const logger = new RecordingLogger();
    const tm = new TransactionManager({ logger });
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new KvDataManager(n, tm, log, { async })) as [KvDataManager, KvDataManager, KvDataManager];
    for (const dm of [a, b, c]) dm.set('k', 'v');
    const first = a.failIn('abort');
    b.failIn('abort');
    const txn = tm.get();
    await expect(tm.abort()).rejects.toBe(first);
    expect(log).toEqual(['a.abort', 'b.abort', 'c.abort']);
    expect(txn.status).toBe('aborted');
    expect(logger.errors).toHaveLength(2);
    expect(tm.get()).not.toBe(txn);
  });

  it('completes synchronously when every data manager aborts synchronously', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('s', tm);
    dm.set('k', 'v');
    const txn = tm.get();
    const done = txn.abort();
    expect(txn.status).toBe('aborted');
    expect(dm.pending).toEqual({});
    await done;
  });

  it('waits for a data manager whose abort returns a promise before running the after-abort hooks', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    dm.abort = async () => {
      log.push('a.abort started');
      await gate;
      log.push('a.abort done');
    };
    dm.set('k', 'v');
    const txn = tm.get();
    txn.addAfterAbortHook(() => {
      log.push('after abort');
    });
    const done = txn.abort();
    expect(txn.status).not.toBe('aborted');
    release!();
    await done;
    expect(txn.status).toBe('aborted');
    expect(log).toEqual(['a.abort started', 'a.abort done', 'after abort', 'a.abort started', 'a.abort done']);
  });
});

describe('synchronizers', () => {
  function recorder(log: string[], name: string): Synchronizer {
    return {
      newTransaction: (t) => log.push(`${name}.new ${t.status}`),
      beforeCompletion: (t) => log.push(`${name}.before ${t.status}`),
      afterCompletion: (t) => log.push(`${name}.after ${t.status}`),
    };
  }

  it('are told about begin, commit and abort, in order around the data managers', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    tm.registerSynch(recorder(log, 's'));
    tm.begin();
    const dm = new KvDataManager('dm', tm, log);
    dm.set('k', 'v');
    await tm.commit();
    expect(log).toEqual(['s.new active', 's.before active', 'dm.tpcBegin', 'dm.commit', 'dm.tpcVote', 'dm.tpcFinish', 's.after committed']);

    log.length = 0;
    tm.begin();
    dm.set('k', 'w');
    await tm.abort();
    expect(log).toEqual(['s.new active', 's.before active', 'dm.abort', 's.after aborted']);
  });

  it('get afterCompletion after a failed commit too', async () => {
    const tm = new TransactionManager({ logger: new RecordingLogger() });
    const log: string[] = [];
    tm.registerSynch(recorder(log, 's'));
    const dm = new KvDataManager('dm', tm, log);
    dm.set('k', 'v');
    dm.failIn('tpcVote');
    await expect(tm.commit()).rejects.toThrow();
    expect(log.at(-1)).toBe('s.after committing');
    expect(log).toContain('s.before active');
  });

  it('get newTransaction at registration when a transaction is current, and nothing after unregistering', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const s = recorder(log, 's');
    tm.registerSynch(s);
    expect(log).toEqual([]);
    tm.begin();
    const late = recorder(log, 'late');
    tm.registerSynch(late);
    expect(log).toEqual(['s.new active', 'late.new active']);
    tm.unregisterSynch(s);
    await tm.commit();
    expect(log.slice(2)).toEqual(['late.before active', 'late.after committed']);
  });

  it('are not told when get() creates a transaction implicitly', () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    tm.registerSynch(recorder(log, 's'));
    tm.get();
    expect(log).toEqual([]);
  });
});
