// close(): idempotent, aborts pending transactions, and every later operation throws
// StorageClosedError.
import { describe, expect, it } from 'vitest';
import { referencesOf } from '../codec/record.ts';
import { ObjectNotFoundError, StorageClosedError } from '../errors.ts';
import { ZERO_TID } from '../ids.ts';
import { begin, expectRejects, expectThrows, meta, put, record, settle, votedWrite, type Harness } from './harness.ts';

export function lifecycleTests(h: Harness): void {
  describe('close', () => {
    it('marks the storage closed and is idempotent', async () => {
      const s = await h.create();
      await s.close();
      expect(s.closed).toBe(true);
      await s.close();
      expect(s.closed).toBe(true);
    });

    it('makes every later operation throw StorageClosedError', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 1);
      const pending = begin(s);
      await s.close();
      expectThrows(() => s.load(a), StorageClosedError);
      expectThrows(() => s.loadBefore(a, t1), StorageClosedError);
      expectThrows(() => s.loadSerial(a, t1), StorageClosedError);
      expectThrows(() => s.newOid(), StorageClosedError);
      expectThrows(() => s.lastTransaction(), StorageClosedError);
      expectThrows(() => s.poll(ZERO_TID), StorageClosedError);
      expectThrows(() => s.history(a), StorageClosedError);
      expectThrows(() => [...s.iterator()], StorageClosedError);
      expectThrows(() => s.tpcBegin(meta()), StorageClosedError);
      expectThrows(() => s.store(pending, a, t1, record(2)), StorageClosedError);
      expectThrows(() => s.checkCurrent(pending, a, t1), StorageClosedError);
      await expectRejects(s.tpcVote(pending), StorageClosedError);
      await expectRejects(s.tpcFinish(pending), StorageClosedError);
      await expectRejects(s.undo(t1, meta()), StorageClosedError);
      await expectRejects(s.pack(t1, referencesOf), StorageClosedError);
    });

    it('closes with transactions pending in every phase', async () => {
      const s = await h.create();
      const stored = begin(s);
      s.store(stored, s.newOid(), null, record('stored'));
      const voted = begin(s);
      s.store(voted, s.newOid(), null, record('voted'));
      await s.tpcVote(voted);
      begin(s);
      await s.close();
      expect(s.closed).toBe(true);
    });

    it('settles a vote that was waiting for another transaction\'s locks', { timeout: 20_000 }, async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      await votedWrite(s, a, t1, 'holder', 'holder'); // holds a's lock until close
      const waiter = begin(s, 'waiter');
      s.store(waiter, a, t1, record('waiter'));
      const vote = settle(s.tpcVote(waiter));
      await s.close();
      const outcome = await vote;
      if (outcome.ok) await expectRejects(s.tpcFinish(waiter), StorageClosedError);
    });

    it('lets a finish already in flight complete or fail cleanly, and keeps it if it completed', async () => {
      const s = await h.create();
      const a = s.newOid();
      const txn = await votedWrite(s, a, null, 'in flight', 'in flight');
      const finishing = settle(s.tpcFinish(txn));
      await s.close();
      const outcome = await finishing;
      if (h.factory.reopen) {
        const r = await h.reopen(s);
        if (outcome.ok) expect(r.load(a).tid).toBe(outcome.value);
        else expectThrows(() => r.load(a), ObjectNotFoundError);
      }
    });
  });
}
