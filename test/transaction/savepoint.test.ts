import { describe, expect, it } from 'vitest';
import {
  InvalidSavepointRollbackError,
  SavepointNotSupportedError,
  TransactionFailedError,
  TransactionManager,
} from '@tidaldb/core';
import { KvDataManager, RecordingLogger } from './kv-data-manager.ts';

function setup() {
  const tm = new TransactionManager({ logger: new RecordingLogger() });
  const log: string[] = [];
  const a = new KvDataManager('a', tm, log);
  const b = new KvDataManager('b', tm, log);
  return { tm, log, a, b };
}

describe('savepoints', () => {
  it('roll every joined data manager back to its state at the savepoint', async () => {
    const { tm, a, b } = setup();
    a.set('x', '1');
    b.set('y', '1');
    const sp = tm.savepoint();
    a.set('x', '2');
    b.set('y', '2');
    b.set('z', 'new');
    sp.rollback();
    expect([a.pending, b.pending]).toEqual([{ x: '1' }, { y: '1' }]);
    await tm.commit();
    expect([a.state, b.state]).toEqual([{ x: '1' }, { y: '1' }]);
  });

  it('can roll back to the same savepoint repeatedly', () => {
    const { tm, a } = setup();
    a.set('x', '1');
    const sp = tm.savepoint();
    for (const v of ['2', '3']) {
      a.set('x', v);
      sp.rollback();
      expect(a.pending).toEqual({ x: '1' });
      expect(sp.valid).toBe(true);
    }
  });

  it('invalidate the savepoints made after the one rolled back to, and keep earlier ones', () => {
    const { tm, a } = setup();
    a.set('x', '1');
    const s1 = tm.savepoint();
    a.set('x', '2');
    const s2 = tm.savepoint();
    a.set('x', '3');
    const s3 = tm.savepoint();
    s2.rollback();
    expect([s1.valid, s2.valid, s3.valid]).toEqual([true, true, false]);
    a.set('x', 'changed');
    expect(() => s3.rollback()).toThrow(InvalidSavepointRollbackError);
    expect(a.pending).toEqual({ x: 'changed' }); // the refused rollback changed nothing
    s1.rollback();
    expect(s2.valid).toBe(false);
    expect(a.pending).toEqual({ x: '1' });
  });

  it('all become invalid when the transaction commits or aborts', async () => {
    const { tm, a } = setup();
    a.set('x', '1');
    const s1 = tm.savepoint();
    await tm.commit();
    expect(s1.valid).toBe(false);
    expect(() => s1.rollback()).toThrow(InvalidSavepointRollbackError);

    a.set('x', '2');
    const s2 = tm.savepoint();
    await tm.abort();
    expect(s2.valid).toBe(false);
    expect(() => s2.rollback()).toThrow(InvalidSavepointRollbackError);
  });

  it('are invalidated even by a commit that is refused because the transaction failed earlier', async () => {
    const { tm, a } = setup();
    a.set('x', '1');
    a.failIn('tpcVote', new Error('veto'), true);
    const sp = tm.savepoint();
    await expect(tm.commit()).rejects.toThrow('veto');
    expect(sp.valid).toBe(false);
  });

  it('abort and remove a data manager that joined after the savepoint when rolled back', async () => {
    const { tm, log, a, b } = setup();
    a.set('x', '1');
    const sp = tm.savepoint();
    b.set('y', 'late'); // b joins after sp
    a.set('x', '2');
    sp.rollback();
    expect(log).toEqual(['a.savepoint', 'a.rollback', 'b.abort']);
    expect(b.pending).toEqual({});
    log.length = 0;
    await tm.commit();
    expect(log.filter((l) => l.startsWith('b.'))).toEqual([]); // b left the transaction
    expect([a.state, b.state]).toEqual([{ x: '1' }, {}]);
  });

  it('keep a data manager that rejoins after such a rollback', async () => {
    const { tm, a, b } = setup();
    a.set('x', '1');
    const sp = tm.savepoint();
    b.set('y', 'first');
    sp.rollback();
    b.set('y', 'second'); // rejoins: rolling back to sp again would drop it again
    await tm.commit();
    expect(b.state).toEqual({ y: 'second' });
  });

  it('refuse a data manager without savepoint support and leave the transaction commit-failed', async () => {
    const { tm, a } = setup();
    const plain = new KvDataManager('plain', tm, [], { savepoints: false });
    a.set('x', '1');
    plain.set('k', 'v');
    const err = (() => {
      try {
        tm.savepoint();
      } catch (e) {
        return e;
      }
    })();
    expect(SavepointNotSupportedError.is(err)).toBe(true);
    expect(err).toMatchObject({ dataManager: 'plain', operation: 'savepoint' });
    expect(tm.get().status).toBe('commit-failed');
    await expect(tm.commit()).rejects.toThrow(TransactionFailedError);
    await tm.abort();
    expect([a.state, plain.state]).toEqual([{}, {}]);
  });

  it('when optimistic, accept such a data manager and fail only on rollback, leaving the transaction commit-failed', () => {
    const { tm, a } = setup();
    const plain = new KvDataManager('plain', tm, [], { savepoints: false });
    a.set('x', '1');
    plain.set('k', 'v');
    const sp = tm.savepoint(true);
    expect(sp.valid).toBe(true);
    expect(() => sp.rollback()).toThrow(SavepointNotSupportedError);
    expect(tm.get().status).toBe('commit-failed');
  });

  it('leave the transaction commit-failed when a data manager fails to roll back', async () => {
    const { tm, a, b } = setup();
    a.set('x', '1');
    b.set('y', '1');
    const sp = tm.savepoint();
    const broken = b.failIn('rollback');
    expect(() => sp.rollback()).toThrow(broken as Error);
    const err = await tm.commit().catch((e: unknown) => e);
    expect(TransactionFailedError.is(err)).toBe(true);
    expect((err as Error).cause).toBe(broken);
  });

  it('leave the transaction commit-failed when a data manager fails to make its savepoint', () => {
    const { tm, a } = setup();
    a.set('x', '1');
    const broken = a.failIn('savepoint');
    expect(() => tm.savepoint()).toThrow(broken as Error);
    expect(() => tm.get().join(new KvDataManager('c', tm))).toThrow(TransactionFailedError);
  });

  it('make a failing asynchronous abort of a late joiner fail the commit', async () => {
    const { tm, a } = setup();
    const late = new KvDataManager('late', tm, [], { async: true });
    a.set('x', '1');
    const sp = tm.savepoint();
    late.set('y', '1');
    const broken = late.failIn('abort', new Error('async abort failed'), true);
    sp.rollback(); // abort returns a rejected promise: the transaction notices it before committing
    const err = await tm.commit().catch((e: unknown) => e);
    expect(TransactionFailedError.is(err)).toBe(true);
    expect((err as Error).cause).toBe(broken);
    expect(a.state).toEqual({});
  });
});
