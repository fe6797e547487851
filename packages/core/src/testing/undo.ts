// undo() (ZODB's TransactionalUndoStorage mixin): restores the state before a transaction in a
// new transaction; a later change is merged by the resolver or the undo fails writing nothing.
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError, UndoError } from '../errors.ts';
import { ZERO_TID, tidAfter } from '../ids.ts';
import type { ConflictInput } from '../interfaces.ts';
import { counterResolver } from './conflict-resolution.ts';
import { commit, expectIncreasing, expectRejects, expectThrows, meta, oids, put, record, settle, valueOf, type Harness } from './harness.ts';

export function undoTests(h: Harness): void {
  describe('undo', () => {
    it('restores the previous state of every object as a new transaction with the given metadata', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await commit(s, [
        { oid: a!, readTid: null, data: record('a1') },
        { oid: b!, readTid: null, data: record('b1') },
      ]);
      const t2 = await commit(s, [
        { oid: a!, readTid: t1, data: record('a2') },
        { oid: b!, readTid: t1, data: record('b2') },
      ]);
      const result = await s.undo(t2, meta('undo t2', '/ admin', { undone: t2 }));
      expectIncreasing([t2, result.tid]);
      expect([...result.oids].sort()).toEqual([a!, b!].sort());
      expect(s.lastTransaction()).toBe(result.tid);
      for (const [oid, v] of [[a!, 'a1'], [b!, 'b1']] as const) {
        expect(s.load(oid).tid).toBe(result.tid);
        expect(valueOf(s.load(oid).data)).toBe(v);
      }
      const undoTxn = [...s.iterator(result.tid, result.tid)][0]!;
      expect([undoTxn.user, undoTxn.description, undoTxn.extension]).toEqual(['/ admin', 'undo t2', { undone: t2 }]);
      expect(undoTxn.records.map((r) => [r.oid, r.data && valueOf(r.data)])).toEqual(
        [[a!, 'a1'], [b!, 'b1']].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
      );
      // history keeps the undone revision; the undo is one more
      expect(s.history(a!, 10).map((e) => e.tid)).toEqual([result.tid, t2, t1]);
      expect(valueOf(s.loadSerial(a!, t2))).toBe('a2');
    });

    it('can be undone in turn (redo)', async () => {
      const s = await h.create();
      const a = s.newOid();
      await put(s, a, 'v1');
      const t2 = await put(s, a, 'v2');
      const undone = await s.undo(t2, meta('undo'));
      const redone = await s.undo(undone.tid, meta('redo'));
      expect(valueOf(s.load(a).data)).toBe('v2');
      expect(s.load(a).tid).toBe(redone.tid);
    });

    it('leaves the object writable at the undo tid', async () => {
      const s = await h.create();
      const a = s.newOid();
      await put(s, a, 'v1');
      const t2 = await put(s, a, 'v2');
      const { tid } = await s.undo(t2, meta('undo'));
      const t4 = await commit(s, [{ oid: a, readTid: tid, data: record('v3') }]);
      expect(s.load(a).tid).toBe(t4);
    });

    it('undoing a creation leaves a revision without data: load throws ObjectNotFoundError', async () => {
      const s = await h.create();
      const [a, other] = oids(s, 2);
      await put(s, other!, 'unrelated');
      const t1 = await put(s, a!, 'created');
      const { tid, oids: restored } = await s.undo(t1, meta('uncreate'));
      expect(restored).toEqual([a]);
      expectThrows(() => s.load(a!), ObjectNotFoundError);
      const [top] = s.history(a!, 10);
      expect([top?.tid, top?.size]).toEqual([tid, 0]);
      const undoTxn = [...s.iterator(tid, tid)][0]!;
      expect(undoTxn.records).toEqual([{ oid: a, tid, data: null }]);
      // the state as of t1 is still there for MVCC readers
      expect(valueOf(s.loadBefore(a!, tidAfter(t1))!.data)).toBe('created');
      expect(valueOf(s.load(other!).data)).toBe('unrelated');
    });

    it('undoing the undo of a creation brings the object back', async () => {
      const s = await h.create();
      const a = s.newOid();
      await put(s, a, 'created');
      const gone = await s.undo(s.lastTransaction(), meta('uncreate'));
      const back = await s.undo(gone.tid, meta('recreate'));
      expect(valueOf(s.load(a).data)).toBe('created');
      expect(s.load(a).tid).toBe(back.tid);
    });

    it('never returns a revision without data from loadBefore after an undone creation', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'created');
      const { tid } = await s.undo(t1, meta('uncreate'));
      // The contract leaves open whether this is "no revision" (null) or "no object" (throws).
      let found: unknown = 'threw';
      try {
        found = s.loadBefore(a, tidAfter(tid));
      } catch (err) {
        if (!ObjectNotFoundError.is(err)) throw err;
      }
      expect(found === null || found === 'threw', `loadBefore returned ${JSON.stringify(found)}`).toBe(true);
    });

    it('waits for the commit locks of a voted transaction instead of slipping in before its finish', { timeout: 20_000 }, async () => {
      const s = await h.create();
      const a = s.newOid();
      await put(s, a, 'v1');
      const t2 = await put(s, a, 'v2');
      const txn = s.tpcBegin(meta('voted'));
      s.store(txn, a, t2, record('v3'));
      await s.tpcVote(txn);
      const undoing = settle(s.undo(t2, meta('undo v2')));
      const t3 = await s.tpcFinish(txn);
      const undone = await undoing;
      // Had the undo written between vote and finish, v3 would have silently replaced it. After
      // the finish, a changed since t2 and there is no resolver: the undo must fail.
      if (undone.ok) expect.fail(`undo committed at ${undone.value.tid} around the voted transaction (finished at ${t3})`);
      await expectRejects(Promise.reject(undone.error), UndoError);
      expect(valueOf(s.load(a).data)).toBe('v3');
      expect(s.lastTransaction()).toBe(t3);
    });

    it('fails with UndoError and writes nothing when an object changed since and there is no resolver', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      await put(s, a!, 'a1');
      await put(s, b!, 'b1');
      const t3 = await commit(s, [
        { oid: a!, readTid: s.load(a!).tid, data: record('a2') },
        { oid: b!, readTid: s.load(b!).tid, data: record('b2') },
      ]);
      const t4 = await put(s, b!, 'b3'); // b changed after t3; a did not
      const err = await expectRejects(s.undo(t3, meta('undo')), UndoError);
      expect(err.tid).toBe(t3);
      expect(s.lastTransaction()).toBe(t4);
      expect([valueOf(s.load(a!).data), valueOf(s.load(b!).data)]).toEqual(['a2', 'b3']);
    });

    it('merges a later change through the conflict resolver (old = undone, committed = current, mine = before)', async () => {
      const s = await h.create();
      const log: ConflictInput[] = [];
      s.setConflictResolver(counterResolver(log));
      const a = s.newOid();
      await put(s, a, 0);
      const t2 = await put(s, a, 5); // +5: to be undone
      const t3 = await put(s, a, 7); // +2: kept
      const { tid, oids: restored } = await s.undo(t2, meta('undo +5'));
      expect(restored).toEqual([a]);
      expect(valueOf(s.load(a).data)).toBe(2);
      expect(s.load(a).tid).toBe(tid);
      expect(log.map((i) => [i.oid, valueOf(i.old!), valueOf(i.committed), valueOf(i.mine), i.committedTid])).toEqual([[a, 5, 7, 0, t3]]);
    });

    it('fails with UndoError for a tid that names no transaction', async () => {
      const s = await h.create();
      const t1 = await put(s, s.newOid(), 1);
      await expectRejects(s.undo(tidAfter(t1), meta('undo')), UndoError);
      await expectRejects(s.undo(ZERO_TID, meta('undo')), UndoError);
      expect(s.lastTransaction()).toBe(t1);
    });
  });
}
