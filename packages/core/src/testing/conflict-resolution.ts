// Conflict resolution inside the commit (ZODB's ConflictResolution mixin): a stale store is
// merged by the installed ConflictResolver, the merged bytes are stored and the oid is reported by
// the vote; a resolver that throws fails the vote with ConflictError carrying the cause.
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../errors.ts';
import type { ConflictInput, ConflictResolver } from '../interfaces.ts';
import { begin, commit, commitFull, expectRejects, meta, oids, put, record, valueOf, type Harness } from './harness.ts';

/** A resolver with counter semantics (BTrees.Length): merged = committed + (mine − old). */
export function counterResolver(log: ConflictInput[] = []): ConflictResolver {
  return {
    resolve(input) {
      log.push(input);
      const old = input.old ? (valueOf(input.old) as number) : 0;
      return record((valueOf(input.committed) as number) + (valueOf(input.mine) as number) - old);
    },
  };
}

export function conflictResolutionTests(h: Harness): void {
  describe('conflict resolution', () => {
    it('stores the merged state of a stale store and reports its oid from the vote', async () => {
      const s = await h.create();
      const log: ConflictInput[] = [];
      s.setConflictResolver(counterResolver(log));
      const a = s.newOid();
      const t1 = await put(s, a, 10);
      const t2 = await put(s, a, 15); // +5 by someone else
      const { tid, resolved } = await commitFull(s, [{ oid: a, readTid: t1, data: record(12) }]); // +2 from 10
      expect(resolved).toEqual([a]);
      expect(valueOf(s.load(a).data)).toBe(17);
      expect(s.load(a).tid).toBe(tid);
      expect(log).toHaveLength(1);
      const input = log[0]!;
      expect(input.oid).toBe(a);
      expect(input.readTid).toBe(t1);
      expect(input.committedTid).toBe(t2);
      expect([input.old, input.committed, input.mine].map((b) => b && valueOf(b))).toEqual([10, 15, 12]);
    });

    it('does not call the resolver when the serial is current', async () => {
      const s = await h.create();
      const log: ConflictInput[] = [];
      s.setConflictResolver(counterResolver(log));
      const a = s.newOid();
      const t1 = await put(s, a, 1);
      const { resolved } = await commitFull(s, [{ oid: a, readTid: t1, data: record(2) }]);
      expect(resolved).toEqual([]);
      expect(log).toEqual([]);
    });

    it('resolves a new object whose oid exists with old = null', async () => {
      const s = await h.create();
      const log: ConflictInput[] = [];
      s.setConflictResolver(counterResolver(log));
      const a = s.newOid();
      const t1 = await put(s, a, 3);
      const { resolved } = await commitFull(s, [{ oid: a, readTid: null, data: record(4) }]);
      expect(resolved).toEqual([a]);
      expect(valueOf(s.load(a).data)).toBe(7);
      expect(log.map((i) => [i.old, i.readTid, i.committedTid])).toEqual([[null, null, t1]]);
    });

    it('resolves several objects of one transaction and reports all of them', async () => {
      const s = await h.create();
      s.setConflictResolver(counterResolver());
      const [a, b, c] = oids(s, 3);
      const t0 = await commit(s, [a!, b!, c!].map((oid) => ({ oid, readTid: null, data: record(0) })));
      await commit(s, [a!, b!].map((oid) => ({ oid, readTid: t0, data: record(1) })));
      const { resolved } = await commitFull(s, [a!, b!, c!].map((oid) => ({ oid, readTid: t0, data: record(10) })));
      expect([...resolved].sort()).toEqual([a!, b!].sort());
      expect([a!, b!, c!].map((o) => valueOf(s.load(o).data))).toEqual([11, 11, 10]);
    });

    it('fails the vote with ConflictError whose cause is what the resolver threw, and writes nothing', async () => {
      const s = await h.create();
      const refusal = new Error('cannot merge these');
      s.setConflictResolver({
        resolve() {
          throw refusal;
        },
      });
      const a = s.newOid();
      const t1 = await put(s, a, 'v1');
      const t2 = await put(s, a, 'v2', [], meta('theirs', '/ dave'));
      const txn = begin(s);
      s.store(txn, a, t1, record('mine'));
      const err = await expectRejects(s.tpcVote(txn), ConflictError);
      await s.tpcAbort(txn);
      expect(err.cause).toBe(refusal);
      expect(err.reason).toBe('cannot merge these');
      expect([err.oid, err.readTid, err.committedTid]).toEqual([a, t1, t2]);
      expect(err.committedBy).toEqual({ user: '/ dave', description: 'theirs' });
      expect(s.lastTransaction()).toBe(t2);
      expect(valueOf(s.load(a).data)).toBe('v2');
    });

    it('stops resolving once the resolver is removed', async () => {
      const s = await h.create();
      s.setConflictResolver(counterResolver());
      s.setConflictResolver(null);
      const a = s.newOid();
      const t1 = await put(s, a, 1);
      await put(s, a, 2);
      await expectRejects(commit(s, [{ oid: a, readTid: t1, data: record(5) }]), ConflictError);
    });

    it('merges concurrent increments that all read the same revision', async () => {
      const s = await h.create();
      s.setConflictResolver(counterResolver());
      const a = s.newOid();
      const t0 = await put(s, a, 0);
      const results = await Promise.all(Array.from({ length: 10 }, () => commitFull(s, [{ oid: a, readTid: t0, data: record(1) }])));
      expect(valueOf(s.load(a).data)).toBe(10);
      expect(results.filter((r) => r.resolved.length === 1)).toHaveLength(9);
      expect(s.history(a, 100)).toHaveLength(11);
    });
  });
}
