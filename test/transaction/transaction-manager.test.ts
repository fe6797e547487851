import { describe, expect, it } from 'vitest';
import {
  AlreadyInTransactionError,
  ConflictError,
  InvalidOptionError,
  NoTransactionError,
  TransactionError,
  TransactionManager,
  TransientError,
  ZERO_TID,
  parseOid,
} from '@tidaldb/core';
import { KvDataManager, RecordingLogger } from './kv-data-manager.ts';

describe('TransactionManager in implicit mode', () => {
  it('creates a transaction on get() and returns the same one until it ends', async () => {
    const tm = new TransactionManager();
    const t1 = tm.get();
    expect(tm.get()).toBe(t1);
    await tm.commit();
    const t2 = tm.get();
    expect(t2).not.toBe(t1);
    await tm.abort();
    expect(tm.get()).not.toBe(t2);
  });

  it('aborts the current transaction on begin()', () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    dm.set('k', 'v');
    const old = tm.get();
    const fresh = tm.begin();
    expect(old.status).toBe('aborted');
    expect(log).toEqual(['a.abort']);
    expect(dm.pending).toEqual({});
    expect(tm.get()).toBe(fresh);
  });

  it('aborts a transaction whose commit failed on begin() and starts a usable one', async () => {
    const tm = new TransactionManager({ logger: new RecordingLogger() });
    const dm = new KvDataManager('a', tm);
    dm.set('k', 'v1');
    dm.failIn('tpcVote', new Error('veto'), true);
    await expect(tm.commit()).rejects.toThrow('veto');
    const failed = tm.get();
    const fresh = tm.begin();
    expect([failed.status, fresh.status]).toEqual(['aborted', 'active']);
    dm.set('k', 'v2');
    await tm.commit();
    expect(dm.state).toEqual({ k: 'v2' });
  });

  it('makes the next commit wait for an asynchronous abort that begin() started', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    dm.abort = async () => {
      await gate;
      log.push('a.abort done');
    };
    dm.set('k', 'v');
    tm.begin();
    const other = new KvDataManager('b', tm, log);
    other.set('k', 'v');
    const committing = tm.commit();
    await Promise.resolve();
    expect(log).toEqual([]);
    release!();
    await committing;
    expect(log[0]).toBe('a.abort done');
    expect(log.slice(1)).toEqual(['b.tpcBegin', 'b.commit', 'b.tpcVote', 'b.tpcFinish']);
  });

  it('throws from begin() while the current transaction is committing, leaving it alone', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('a', tm);
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    dm.tpcVote = () => gate;
    dm.set('k', 'v');
    const committing = tm.commit();
    await Promise.resolve();
    expect(() => tm.begin()).toThrow(TransactionError);
    release!();
    await committing;
    expect(dm.state).toEqual({ k: 'v' });
  });
});

describe('TransactionManager in explicit mode', () => {
  it('requires begin() before get(), commit(), abort(), doom() and savepoint()', async () => {
    const tm = new TransactionManager({ explicit: true });
    expect(() => tm.get()).toThrow(NoTransactionError);
    expect(() => tm.doom()).toThrow(NoTransactionError);
    expect(() => tm.savepoint()).toThrow(NoTransactionError);
    await expect(tm.commit()).rejects.toThrow(NoTransactionError);
    await expect(tm.abort()).rejects.toThrow(NoTransactionError);
    const txn = tm.begin();
    expect(tm.get()).toBe(txn);
  });

  it('refuses begin() while a transaction is current, also after a failed commit, until it ends', async () => {
    const tm = new TransactionManager({ explicit: true, logger: new RecordingLogger() });
    const txn = tm.begin();
    expect(() => tm.begin()).toThrow(AlreadyInTransactionError);
    expect(txn.status).toBe('active');
    const dm = new KvDataManager('a', tm);
    dm.set('k', 'v');
    dm.failIn('tpcVote', new Error('veto'), true);
    await expect(tm.commit()).rejects.toThrow('veto');
    expect(() => tm.begin()).toThrow(AlreadyInTransactionError);
    await tm.abort();
    expect(() => tm.get()).toThrow(NoTransactionError);
    tm.begin();
  });
});

describe('TransactionManager.run', () => {
  const conflict = () =>
    new ConflictError({ oid: parseOid('0000000000000001'), readTid: ZERO_TID, committedTid: ZERO_TID, reason: 'test' });

  it('runs the function in a new transaction, commits, and returns its result', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('a', tm);
    const result = await tm.run(
      (txn) => {
        dm.set('k', 'v');
        expect(txn.user).toBe('alice');
        expect(txn.description).toBe('set k');
        return 42;
      },
      { user: 'alice', description: 'set k' },
    );
    expect(result).toBe(42);
    expect(dm.state).toEqual({ k: 'v' });
  });

  it('retries a transient error raised at commit, aborting the failed attempt first', async () => {
    const tm = new TransactionManager();
    const log: string[] = [];
    const dm = new KvDataManager('a', tm, log);
    dm.failIn('tpcVote', conflict(), true);
    let calls = 0;
    const result = await tm.run(async () => {
      calls++;
      dm.set('k', `attempt ${calls}`);
      return calls;
    });
    expect(result).toBe(2);
    expect(dm.state).toEqual({ k: 'attempt 2' });
    // the first attempt's cleanup, then the explicit abort of the failed attempt, then attempt 2
    expect(log.slice(0, 6)).toEqual(['a.tpcBegin', 'a.commit', 'a.tpcVote', 'a.abort', 'a.tpcAbort', 'a.abort']);
  });

  it('gives up after `attempts` tries and rethrows the last error', async () => {
    const tm = new TransactionManager();
    let calls = 0;
    const errors: unknown[] = [];
    const err = await tm
      .run(
        () => {
          calls++;
          const e = new TransientError(`try ${calls}`);
          errors.push(e);
          throw e;
        },
        { attempts: 4 },
      )
      .catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toBe(errors[3]);
  });

  it('does not retry an error that is not transient', async () => {
    const tm = new TransactionManager();
    const dm = new KvDataManager('a', tm);
    let calls = 0;
    const bug = new TypeError('bug');
    await expect(
      tm.run(() => {
        calls++;
        dm.set('k', 'v');
        throw bug;
      }),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
    expect(dm.pending).toEqual({});
    expect(dm.state).toEqual({});
  });

  it('retries an error a joined data manager says is worth retrying', async () => {
    const tm = new TransactionManager();
    const flaky = new Error('connection reset');
    const dm = new KvDataManager('a', tm, [], { shouldRetry: (e) => e === flaky });
    let calls = 0;
    await tm.run(() => {
      calls++;
      dm.set('k', 'v');
      if (calls === 1) throw flaky;
    });
    expect(calls).toBe(2);
    expect(dm.state).toEqual({ k: 'v' });
  });

  it('rejects attempts that are not a positive integer without running anything', async () => {
    const tm = new TransactionManager();
    let calls = 0;
    for (const attempts of [0, -1, 1.5, Number.NaN]) {
      const err = await tm.run(() => calls++, { attempts }).catch((e: unknown) => e);
      expect(InvalidOptionError.is(err)).toBe(true);
      expect(err).toMatchObject({ option: 'attempts' });
    }
    expect(calls).toBe(0);
  });

  it('refuses to start in explicit mode while a transaction is current', async () => {
    const tm = new TransactionManager({ explicit: true });
    tm.begin();
    await expect(tm.run(() => 1)).rejects.toThrow(AlreadyInTransactionError);
  });
});
