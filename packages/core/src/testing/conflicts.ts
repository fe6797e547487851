// Serial checks and commit locks (ZODB's BasicStorage serial tests and ReadVerifyingStorage):
// a stale readTid fails the vote with ConflictError, checkCurrent with ReadConflictError, and a
// successful vote keeps its objects current until finish or abort.
import { describe, expect, it } from 'vitest';
import { ConflictError, ObjectNotFoundError, ReadConflictError, TransientError } from '../errors.ts';
import { begin, commit, commitFull, expectIncreasing, expectRejects, expectThrows, meta, oids, put, record, settle, valueOf, votedWrite, type Harness } from './harness.ts';

export function conflictTests(h: Harness): void {
  describe('serial checks', () => {
    it('fails the vote with ConflictError naming oid, both tids and who committed, and writes nothing', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const t2 = await put(s, a, 'v2', [], meta('second write', '/ alice'));
      const txn = begin(s, 'stale');
      s.store(txn, a, t1, record('stale'));
      const err = await expectRejects(s.tpcVote(txn), ConflictError);
      await s.tpcAbort(txn);
      expect(ReadConflictError.is(err)).toBe(false);
      expect(TransientError.is(err)).toBe(true);
      expect(err.oid).toBe(a);
      expect(err.readTid).toBe(t1);
      expect(err.committedTid).toBe(t2);
      expect(err.committedBy).toEqual({ user: '/ alice', description: 'second write' });
      expect(s.lastTransaction()).toBe(t2);
      expect(valueOf(s.load(a).data)).toBe('v2');
    });

    it('treats a new object whose oid already exists as a conflict with readTid null', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'exists', [], meta('creator', '/ carol'));
      const err = await expectRejects(commit(s, [{ oid: a, readTid: null, data: record('dup') }]), ConflictError);
      expect(err.oid).toBe(a);
      expect(err.readTid).toBeNull();
      expect(err.committedTid).toBe(t1);
      expect(err.committedBy).toEqual({ user: '/ carol', description: 'creator' });
      expect(valueOf(s.load(a).data)).toBe('exists');
    });

    it('fails the whole transaction when one of its objects conflicts', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const ta = await put(s, a!, 'a1');
      const tb = await put(s, b!, 'b1');
      await put(s, b!, 'b2');
      await expectRejects(
        commit(s, [
          { oid: a!, readTid: ta, data: record('a-new') },
          { oid: b!, readTid: tb, data: record('b-stale') },
        ]),
        ConflictError,
      );
      expect(s.load(a!).tid).toBe(ta);
      expect(valueOf(s.load(b!).data)).toBe('b2');
    });

    it('checks serials at vote time: an object changed between store and vote conflicts', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const txn = begin(s);
      s.store(txn, a, t1, record('mine'));
      await put(s, a, 'theirs');
      await expectRejects(s.tpcVote(txn), ConflictError);
      await s.tpcAbort(txn);
      expect(valueOf(s.load(a).data)).toBe('theirs');
    });
  });

  describe('checkCurrent', { timeout: 20_000 }, () => {
    it('fails the vote with ReadConflictError when the checked object changed, and writes nothing', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await put(s, a!, 'read');
      const t2 = await put(s, a!, 'changed');
      const txn = begin(s);
      s.checkCurrent(txn, a!, t1);
      s.store(txn, b!, null, record('depends on a'));
      const err = await expectRejects(s.tpcVote(txn), ReadConflictError);
      await s.tpcAbort(txn);
      expect(ConflictError.is(err)).toBe(true);
      expect(err.oid).toBe(a);
      expect(err.readTid).toBe(t1);
      expect(err.committedTid).toBe(t2);
      expectThrows(() => s.load(b!), ObjectNotFoundError);
    });

    it('commits when the checked object is current, without writing a revision of it', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t1 = await put(s, a!, 'read');
      const { tid } = await commitFull(s, [{ oid: b!, readTid: null, data: record('b') }], meta(), [{ oid: a!, readTid: t1 }]);
      expect(s.load(a!).tid).toBe(t1);
      expect(s.history(a!, 10)).toHaveLength(1);
      expect([...s.iterator(tid, tid)][0]?.records.map((r) => r.oid)).toEqual([b]);
    });

    it('keeps a checked object current from a successful vote until finish', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const reader = begin(s, 'reader');
      s.checkCurrent(reader, a, t1);
      s.store(reader, s.newOid(), null, record('x'));
      await s.tpcVote(reader);
      // A writer of a now must wait for the reader: it cannot commit before the reader finishes.
      const writer = settle(commit(s, [{ oid: a, readTid: t1, data: record('v2') }], meta('writer')));
      const readerTid = await s.tpcFinish(reader);
      const w = await writer;
      if (!w.ok) throw w.error;
      expectIncreasing([readerTid, w.value]);
      expect(valueOf(s.loadBefore(a, readerTid)!.data)).toBe('v1');
    });
  });

  // A storage that deadlocks fails these in seconds rather than at the run's global timeout.
  describe('commit locks', { timeout: 20_000 }, () => {
    it('a second committer of a voted object fails once the first finishes (first committer wins)', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const first = await votedWrite(s, a, t1, 'first', 'first');
      const second = begin(s, 'second');
      s.store(second, a, t1, record('second'));
      const secondVote = settle(s.tpcVote(second));
      const firstTid = await s.tpcFinish(first);
      const outcome = await secondVote;
      await s.tpcAbort(second);
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        const err = await expectRejects(Promise.reject(outcome.error), ConflictError);
        expect(err.committedTid).toBe(firstTid);
      }
      expect(valueOf(s.load(a).data)).toBe('first');
      expect(s.lastTransaction()).toBe(firstTid);
    });

    it('tpcAbort after a vote releases its locks to a waiting committer', async () => {
      const s = await h.create();
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const first = await votedWrite(s, a, t1, 'first', 'first');
      const second = settle(commit(s, [{ oid: a, readTid: t1, data: record('second') }]));
      await s.tpcAbort(first);
      const outcome = await second;
      if (!outcome.ok) throw outcome.error;
      expect(s.load(a).tid).toBe(outcome.value);
      expect(valueOf(s.load(a).data)).toBe('second');
    });

    it('two transactions writing the same objects in opposite orders do not deadlock: one wins', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const t0 = await commit(s, [
        { oid: a!, readTid: null, data: record('a0') },
        { oid: b!, readTid: null, data: record('b0') },
      ]);
      const results = await Promise.all([
        settle(commit(s, [{ oid: a!, readTid: t0, data: record('a-x') }, { oid: b!, readTid: t0, data: record('b-x') }], meta('x'))),
        settle(commit(s, [{ oid: b!, readTid: t0, data: record('b-y') }, { oid: a!, readTid: t0, data: record('a-y') }], meta('y'))),
      ]);
      const won = results.filter((r) => r.ok);
      expect(won).toHaveLength(1);
      for (const r of results) if (!r.ok) await expectRejects(Promise.reject(r.error), ConflictError);
      const winner = results[0]!.ok ? 'x' : 'y';
      expect([valueOf(s.load(a!).data), valueOf(s.load(b!).data)]).toEqual([`a-${winner}`, `b-${winner}`]);
    });

    it('lets a transaction on other objects commit while a vote holds its locks', async () => {
      const s = await h.create();
      const [a, b] = oids(s, 2);
      const first = await votedWrite(s, a!, null, 'a', 'holds a');
      const tb = await commit(s, [{ oid: b!, readTid: null, data: record('b') }]);
      const ta = await s.tpcFinish(first);
      expectIncreasing([tb, ta]);
      expect(s.lastTransaction()).toBe(ta);
    });
  });
}
