// The 2PC state machine (ZODB's BasicStorage mixin): the order tpcBegin → store/checkCurrent →
// tpcVote → tpcFinish, tpcAbort at any point, and StorageTransactionError for every call out of order.
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError, StorageTransactionError } from '../errors.ts';
import { ZERO_TID, idToBigInt } from '../ids.ts';
import type { StorageTransaction } from '../interfaces.ts';
import { begin, commit, expectIncreasing, expectRejects, expectThrows, meta, record, valueOf, type Harness } from './harness.ts';

export function twoPhaseCommitTests(h: Harness): void {
  describe('two-phase commit', () => {
    it('commits begin → store → vote → finish and returns the new tid', async () => {
      const s = await h.create();
      const oid = s.newOid();
      const txn = s.tpcBegin(meta('first', '/ alice', { n: 1 }));
      expect(txn.metadata).toEqual(meta('first', '/ alice', { n: 1 }));
      s.store(txn, oid, null, record('a'));
      expect(await s.tpcVote(txn)).toEqual([]);
      const tid = await s.tpcFinish(txn);
      expect(idToBigInt(tid)).toBeGreaterThan(0n);
      expect(s.lastTransaction()).toBe(tid);
      const loaded = s.load(oid);
      expect(loaded.tid).toBe(tid);
      expect(valueOf(loaded.data)).toBe('a');
    });

    it('makes nothing visible before tpcFinish, neither after store nor after vote', async () => {
      const s = await h.create();
      const oid = s.newOid();
      const txn = begin(s);
      s.store(txn, oid, null, record('hidden'));
      expectThrows(() => s.load(oid), ObjectNotFoundError);
      await s.tpcVote(txn);
      expectThrows(() => s.load(oid), ObjectNotFoundError);
      expect(s.lastTransaction()).toBe(ZERO_TID);
      expect([...s.iterator()]).toEqual([]);
      expect(s.poll(ZERO_TID).oids).toEqual(new Set());
      const tid = await s.tpcFinish(txn);
      expect(s.load(oid).tid).toBe(tid);
    });

    it('returns the record bytes exactly as stored', async () => {
      const s = await h.create();
      const oid = s.newOid();
      const data = record({ nested: [1, 'two', null], big: 2n ** 60n });
      await commit(s, [{ oid, readTid: null, data }]);
      expect(s.load(oid).data).toEqual(data);
    });

    describe('out-of-order calls raise StorageTransactionError', () => {
      it('store after vote', async () => {
        const s = await h.create();
        const [a, b] = [s.newOid(), s.newOid()];
        const txn = begin(s);
        s.store(txn, a, null, record(1));
        await s.tpcVote(txn);
        expectThrows(() => s.store(txn, b, null, record(2)), StorageTransactionError);
        await s.tpcAbort(txn);
        expectThrows(() => s.load(b), ObjectNotFoundError);
      });

      it('checkCurrent after vote', async () => {
        const s = await h.create();
        const a = s.newOid();
        const t1 = await commit(s, [{ oid: a, readTid: null, data: record(1) }]);
        const txn = begin(s);
        await s.tpcVote(txn);
        expectThrows(() => s.checkCurrent(txn, a, t1), StorageTransactionError);
        await s.tpcAbort(txn);
      });

      it('finish without vote, leaving nothing written', async () => {
        const s = await h.create();
        const a = s.newOid();
        const txn = begin(s);
        s.store(txn, a, null, record(1));
        await expectRejects(s.tpcFinish(txn), StorageTransactionError);
        await s.tpcAbort(txn);
        expectThrows(() => s.load(a), ObjectNotFoundError);
        expect(s.lastTransaction()).toBe(ZERO_TID);
      });

      it('a second vote', async () => {
        const s = await h.create();
        const txn = begin(s);
        s.store(txn, s.newOid(), null, record(1));
        await s.tpcVote(txn);
        await expectRejects(s.tpcVote(txn), StorageTransactionError);
        await s.tpcAbort(txn);
      });

      it('any call but abort with a handle the storage never issued', async () => {
        const s = await h.create();
        const forged: StorageTransaction = { metadata: meta() };
        expectThrows(() => s.store(forged, s.newOid(), null, record(1)), StorageTransactionError);
        expectThrows(() => s.checkCurrent(forged, s.newOid(), ZERO_TID), StorageTransactionError);
        await expectRejects(s.tpcVote(forged), StorageTransactionError);
        await expectRejects(s.tpcFinish(forged), StorageTransactionError);
        await s.tpcAbort(forged); // a no-op, as for every unknown transaction
      });

      it('a handle issued by another storage', async () => {
        const s = await h.create();
        const other = await h.create();
        const foreign = begin(other);
        expectThrows(() => s.store(foreign, s.newOid(), null, record(1)), StorageTransactionError);
        await expectRejects(s.tpcVote(foreign), StorageTransactionError);
        await other.tpcAbort(foreign);
      });

      it('store, vote or finish after the transaction finished', async () => {
        const s = await h.create();
        const a = s.newOid();
        const txn = begin(s);
        s.store(txn, a, null, record(1));
        await s.tpcVote(txn);
        const tid = await s.tpcFinish(txn);
        expectThrows(() => s.store(txn, a, tid, record(2)), StorageTransactionError);
        await expectRejects(s.tpcVote(txn), StorageTransactionError);
        await expectRejects(s.tpcFinish(txn), StorageTransactionError);
        await s.tpcAbort(txn); // no-op after finish: the commit stays
        expect(s.load(a).tid).toBe(tid);
        expect(valueOf(s.load(a).data)).toBe(1);
        expect(s.lastTransaction()).toBe(tid);
      });

      it('store, vote or finish after the transaction was aborted', async () => {
        const s = await h.create();
        const a = s.newOid();
        const txn = begin(s);
        s.store(txn, a, null, record(1));
        await s.tpcAbort(txn);
        expectThrows(() => s.store(txn, a, null, record(2)), StorageTransactionError);
        await expectRejects(s.tpcVote(txn), StorageTransactionError);
        await expectRejects(s.tpcFinish(txn), StorageTransactionError);
        await s.tpcAbort(txn);
        expectThrows(() => s.load(a), ObjectNotFoundError);
      });
    });

    describe('tpcAbort', () => {
      for (const phase of ['begin', 'store', 'vote'] as const) {
        it(`discards everything when called after ${phase} and frees the objects for the next commit`, async () => {
          const s = await h.create();
          const a = s.newOid();
          const t1 = await commit(s, [{ oid: a, readTid: null, data: record('v1') }]);
          const txn = begin(s, 'aborted');
          if (phase !== 'begin') s.store(txn, a, t1, record('lost'));
          if (phase === 'vote') await s.tpcVote(txn);
          await s.tpcAbort(txn);
          expect(s.lastTransaction()).toBe(t1);
          expect(valueOf(s.load(a).data)).toBe('v1');
          expect([...s.iterator()].map((t) => t.description)).toEqual(['test']);
          // The aborted transaction held a's lock after its vote; the next commit must get it.
          const t2 = await commit(s, [{ oid: a, readTid: t1, data: record('v2') }]);
          expect(s.load(a).tid).toBe(t2);
        });
      }

      it('is a no-op when repeated', async () => {
        const s = await h.create();
        const txn = begin(s);
        s.store(txn, s.newOid(), null, record(1));
        await s.tpcAbort(txn);
        await s.tpcAbort(txn);
        expect(s.lastTransaction()).toBe(ZERO_TID);
      });
    });

    describe('several transactions in flight', () => {
      it('commits interleaved transactions on distinct objects, tids in finish order', async () => {
        const s = await h.create();
        const [a, b] = [s.newOid(), s.newOid()];
        const ta = s.tpcBegin(meta('A'));
        const tb = s.tpcBegin(meta('B'));
        s.store(ta, a, null, record('a'));
        s.store(tb, b, null, record('b'));
        await s.tpcVote(tb);
        await s.tpcVote(ta);
        const tidB = await s.tpcFinish(tb);
        const tidA = await s.tpcFinish(ta);
        expectIncreasing([tidB, tidA]);
        expect(s.load(a).tid).toBe(tidA);
        expect(s.load(b).tid).toBe(tidB);
        expect([...s.iterator()].map((t) => [t.description, t.tid])).toEqual([
          ['B', tidB],
          ['A', tidA],
        ]);
      });

      it('aborting one transaction leaves another in the same storage untouched', async () => {
        const s = await h.create();
        const [a, b] = [s.newOid(), s.newOid()];
        const ta = begin(s, 'A');
        const tb = begin(s, 'B');
        s.store(ta, a, null, record('a'));
        s.store(tb, b, null, record('b'));
        await s.tpcVote(ta);
        await s.tpcAbort(ta);
        await s.tpcVote(tb);
        const tid = await s.tpcFinish(tb);
        expectThrows(() => s.load(a), ObjectNotFoundError);
        expect(s.load(b).tid).toBe(tid);
      });
    });
  });
}
