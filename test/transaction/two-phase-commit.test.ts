import { describe, expect, it } from 'vitest';
import { TransactionError, TransactionFailedError, TransactionManager } from '@tidaldb/core';
import { KvDataManager, RecordingLogger } from './kv-data-manager.ts';

function setup(names: string[], options: { async?: boolean; onePhase?: boolean } = {}) {
  const logger = new RecordingLogger();
  const tm = new TransactionManager({ logger });
  const log: string[] = [];
  const dms = names.map((n) => new KvDataManager(n, tm, log, options));
  return { tm, log, logger, dms };
}

for (const async of [false, true]) {
  describe(`two-phase commit (${async ? 'async' : 'sync'} data managers)`, () => {
    it('calls tpcBegin, commit, tpcVote, tpcFinish on every manager in sortKey order, each phase on all before the next', async () => {
      const { tm, log, dms } = setup(['c', 'a', 'b'], { async });
      const [c, a, b] = dms as [KvDataManager, KvDataManager, KvDataManager];
      c.set('k', 'c1'); // joins first, sorts last
      a.set('k', 'a1');
      b.set('k', 'b1');
      await tm.commit();
      expect(log).toEqual([
        'a.tpcBegin', 'b.tpcBegin', 'c.tpcBegin',
        'a.commit', 'b.commit', 'c.commit',
        'a.tpcVote', 'b.tpcVote', 'c.tpcVote',
        'a.tpcFinish', 'b.tpcFinish', 'c.tpcFinish',
      ]);
      expect([a.state, b.state, c.state]).toEqual([{ k: 'a1' }, { k: 'b1' }, { k: 'c1' }]);
    });

    it('finishes nothing anywhere when one manager vetoes in tpcVote, and tpcAborts all of them', async () => {
      const { tm, log, dms } = setup(['a', 'b', 'c'], { async });
      const [a, b, c] = dms as [KvDataManager, KvDataManager, KvDataManager];
      for (const dm of dms) dm.set('k', dm.name);
      const veto = b.failIn('tpcVote');
      const outcomes: boolean[] = [];
      tm.get().addAfterCommitHook((ok) => {
        outcomes.push(ok);
      });

      await expect(tm.commit()).rejects.toBe(veto);

      expect(log.filter((l) => l.endsWith('tpcFinish'))).toEqual([]);
      // a voted; b failed while voting and c never voted: they get abort before everyone's tpcAbort
      expect(log.slice(log.indexOf('b.tpcVote') + 1)).toEqual([
        'b.abort', 'c.abort',
        'a.tpcAbort', 'b.tpcAbort', 'c.tpcAbort',
        // after-commit hooks ran: every manager is aborted again to leave it clean (ZODB)
        'a.abort', 'b.abort', 'c.abort',
      ]);
      expect(outcomes).toEqual([false]);
      expect([a.state, b.state, c.state]).toEqual([{}, {}, {}]);
      expect(tm.get().status).toBe('commit-failed');
    });

    it('commits a manager alone in its transaction in one phase when it offers it', async () => {
      const { tm, log, dms } = setup(['a'], { async, onePhase: true });
      const a = dms[0]!;
      a.set('k', 'v');
      await tm.commit();
      expect(log).toEqual(['a.tpcBegin', 'a.commit', 'a.tpcCommitOnePhase']);
      expect(a.state).toEqual({ k: 'v' });
    });

    it('treats a failed one-phase commit as a failed vote: abort, then tpcAbort', async () => {
      const { tm, log, dms } = setup(['a'], { async, onePhase: true });
      const a = dms[0]!;
      a.set('k', 'v');
      const boom = a.failIn('tpcCommitOnePhase');
      await expect(tm.commit()).rejects.toBe(boom);
      expect(log.slice(0, 5)).toEqual(['a.tpcBegin', 'a.commit', 'a.tpcCommitOnePhase', 'a.abort', 'a.tpcAbort']);
      expect(a.state).toEqual({});
    });

    it('runs both phases when several managers take part, even if they offer one-phase commit', async () => {
      const { tm, log, dms } = setup(['a', 'b'], { async, onePhase: true });
      for (const dm of dms) dm.set('k', dm.name);
      await tm.commit();
      expect(log).toEqual(['a.tpcBegin', 'b.tpcBegin', 'a.commit', 'b.commit', 'a.tpcVote', 'b.tpcVote', 'a.tpcFinish', 'b.tpcFinish']);
    });

    it('keeps failing with TransactionFailedError after a failed commit, until abort', async () => {
      const { tm, dms } = setup(['a'], { async });
      const a = dms[0]!;
      a.set('k', 'v');
      const boom = a.failIn('commit', new Error('disk full'), true);
      await expect(tm.commit()).rejects.toBe(boom);

      const txn = tm.get();
      const err = await tm.commit().catch((e: unknown) => e);
      expect(TransactionFailedError.is(err)).toBe(true);
      expect((err as Error).cause).toBe(boom);
      expect((err as Error).message).toContain('disk full');
      expect(() => txn.join(new KvDataManager('late', tm))).toThrow(TransactionFailedError);
      expect(() => tm.savepoint()).toThrow(TransactionFailedError);

      await tm.abort();
      expect(txn.status).toBe('aborted');
      a.set('k', 'v2');
      await tm.commit();
      expect(a.state).toEqual({ k: 'v2' });
    });

    it('aborts every manager (none voted) and tpcAborts all when one fails in commit', async () => {
      const { tm, log, dms } = setup(['a', 'b'], { async });
      for (const dm of dms) dm.set('k', dm.name);
      dms[0]!.failIn('commit');
      await expect(tm.commit()).rejects.toThrow('a fails in commit');
      expect(log).toEqual(['a.tpcBegin', 'b.tpcBegin', 'a.commit', 'a.abort', 'b.abort', 'a.tpcAbort', 'b.tpcAbort']);
      expect(dms.map((d) => d.state)).toEqual([{}, {}]);
    });

    it('aborts and tpcAborts every manager when one fails in tpcBegin', async () => {
      const { tm, log, dms } = setup(['a', 'b'], { async });
      for (const dm of dms) dm.set('k', dm.name);
      dms[1]!.failIn('tpcBegin');
      await expect(tm.commit()).rejects.toThrow('b fails in tpcBegin');
      expect(log).toEqual(['a.tpcBegin', 'b.tpcBegin', 'a.abort', 'b.abort', 'a.tpcAbort', 'b.tpcAbort']);
    });

    it('logs errors of the cleanup without masking the error that failed the commit', async () => {
      const { tm, logger, dms } = setup(['a', 'b'], { async });
      for (const dm of dms) dm.set('k', dm.name);
      const veto = dms[1]!.failIn('tpcVote');
      const abortError = dms[1]!.failIn('abort');
      const tpcAbortError = dms[0]!.failIn('tpcAbort');
      await expect(tm.commit()).rejects.toBe(veto);
      expect(logger.errors.map((e) => e.error)).toEqual([abortError, tpcAbortError]);
      expect(logger.errors[0]!.message).toContain('abort() of data manager b');
    });

    it('logs a failure in tpcFinish as a critical inconsistency and rethrows it', async () => {
      const { tm, log, logger, dms } = setup(['a', 'b', 'c'], { async });
      for (const dm of dms) dm.set('k', dm.name);
      const broken = dms[1]!.failIn('tpcFinish');
      await expect(tm.commit()).rejects.toBe(broken);
      expect(logger.criticals).toHaveLength(1);
      expect(logger.criticals[0]!.error).toBe(broken);
      expect(logger.criticals[0]!.message).toMatch(/finished: \[a\], not finished: \[b, c\]/);
      // everyone voted, so no abort; the finished manager is not asked to abandon its commit
      expect(log.slice(log.indexOf('b.tpcFinish') + 1)).toEqual(['b.tpcAbort', 'c.tpcAbort']);
      expect(dms.map((d) => d.state)).toEqual([{ k: 'a' }, {}, {}]);
      expect(tm.get().status).toBe('commit-failed');
    });
  });
}

describe('two-phase commit ordering errors', () => {
  it('refuses to commit two data managers with the same sortKey, before calling any of them', async () => {
    const { tm, log, dms } = setup(['same', 'same']);
    for (const dm of dms) dm.set('k', 'v');
    const err = await tm.commit().catch((e: unknown) => e);
    expect(TransactionError.is(err)).toBe(true);
    expect((err as Error).message).toContain('same sortKey "same"');
    expect(log).toEqual([]);
    expect(tm.get().status).toBe('commit-failed');
  });

  it('compares sort keys by code unit, not by locale', async () => {
    const { tm, log, dms } = setup(['b', 'B', 'a']);
    for (const dm of dms) dm.set('k', 'v');
    await tm.commit();
    expect(log.slice(0, 3)).toEqual(['B.tpcBegin', 'a.tpcBegin', 'b.tpcBegin']);
  });

  it('commits a transaction without data managers', async () => {
    const tm = new TransactionManager();
    const txn = tm.get();
    await tm.commit();
    expect(txn.status).toBe('committed');
  });
});
