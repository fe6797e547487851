import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  MapConflictError,
  PersistentMap,
  PersistentRef,
  mergeMapStates,
  parseOid,
  registerClass,
  type PersistentMapState,
} from '@tidaldb/core';
import { checkResolver, MUST_REFUSE } from '@tidaldb/core/testing';
import { openTestDb, type Session, type TestDb } from '../btree/db-env.ts';

type Entries = [string, unknown][];
type MapOp = { set: string; value: unknown } | { delete: string };
type Outcome = { present: false } | { present: true; value: unknown };

const ref = (n: number, className = 'test.Thing'): PersistentRef => new PersistentRef(parseOid(n.toString(16).padStart(16, '0')), className);
const state = (entries: Entries, extra: Record<string, unknown> = {}): PersistentMapState => ({ entries, ...extra });

// ---------------------------------------------------------------------------------------------
// The documented merge, written independently of the resolver.

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
// Few distinct values, so that both sides often pick equal ones; structures and references
// check that equality is structural and by oid.
const value = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom(0, 1).map((n) => ({ n, tags: ['x'] })), fc.constantFrom(1, 2).map((n) => ref(n)));
const mapOp: fc.Arbitrary<MapOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ set: key, value }) },
  { weight: 2, arbitrary: fc.record({ delete: key }) },
);

function applyOp(s: PersistentMapState, op: MapOp): PersistentMapState {
  const map = new Map(s.entries);
  if ('set' in op) map.set(op.set, op.value);
  else map.delete(op.delete);
  return { ...s, entries: [...map] };
}

const outcomeIn = (s: PersistentMapState, k: string): Outcome => {
  const entry = s.entries.find(([ek]) => ek === k);
  return entry === undefined ? { present: false } : { present: true, value: entry[1] };
};
const keysOf = (ops: readonly MapOp[]): Set<string> => new Set(ops.map((op) => ('set' in op ? op.set : op.delete)));

/** The documented order: committed's keys in its order, then the keys only mine has, in mine's order. */
function inDocumentedOrder(content: Map<string, unknown>, committed: PersistentMapState, mine: PersistentMapState): PersistentMapState {
  const order = [...new Set([...committed.entries.map(([k]) => k), ...mine.entries.map(([k]) => k)])];
  for (const k of content.keys()) if (!order.includes(k)) throw new Error(`key ${k} appeared from nowhere`);
  return { entries: order.filter((k) => content.has(k)).map((k): [string, unknown] => [k, content.get(k)]) };
}

const tally = { merged: 0, refused: 0, overlappingMerged: 0 };

/**
 * Disjoint key sets: the merge is both sequences applied one after the other (in either order).
 * Overlapping key sets: per key, one side unchanged → the other's outcome; equal outcomes → that
 * outcome; anything else → MUST_REFUSE.
 */
function documentedMerge(
  old: PersistentMapState,
  committed: PersistentMapState,
  mine: PersistentMapState,
  opsCommitted: readonly MapOp[],
  opsMine: readonly MapOp[],
): PersistentMapState | typeof MUST_REFUSE {
  const theirKeys = keysOf(opsCommitted);
  if (![...keysOf(opsMine)].some((k) => theirKeys.has(k))) {
    const oneWay = opsMine.reduce(applyOp, opsCommitted.reduce(applyOp, old));
    const otherWay = opsCommitted.reduce(applyOp, opsMine.reduce(applyOp, old));
    expect(new Map(otherWay.entries)).toEqual(new Map(oneWay.entries));
    tally.merged++;
    return inDocumentedOrder(new Map(oneWay.entries), committed, mine);
  }
  const content = new Map<string, unknown>();
  for (const k of ['a', 'b', 'c', 'd', 'e']) {
    const [o, c, m] = [outcomeIn(old, k), outcomeIn(committed, k), outcomeIn(mine, k)];
    let result: Outcome;
    if (isDeepStrictEqual(c, o)) result = m;
    else if (isDeepStrictEqual(m, o) || isDeepStrictEqual(m, c)) result = c;
    else {
      tally.refused++;
      return MUST_REFUSE;
    }
    if (result.present) content.set(k, result.value);
  }
  tally.merged++;
  tally.overlappingMerged++;
  return inDocumentedOrder(content, committed, mine);
}

const mapCheck = {
  initial: fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 5 }).map((entries) => state(entries)),
  operation: mapOp,
  apply: applyOp,
};

describe('PersistentMap.resolveConflict', () => {
  it('passes checkResolver: disjoint changes merge as both sequences applied, documented conflicts are refused', () => {
    tally.merged = tally.refused = tally.overlappingMerged = 0;
    checkResolver({ Class: PersistentMap, ...mapCheck, expected: documentedMerge, numRuns: 600 });
    // The generated cases reach every branch of the specification.
    expect(tally.refused).toBeGreaterThan(20);
    expect(tally.overlappingMerged).toBeGreaterThan(20);
  });

  it('fails checkResolver for a last-writer-wins map merge (it loses the committed changes)', () => {
    const lastWriterWins = (_o: PersistentMapState, _c: PersistentMapState, m: PersistentMapState) => m;
    expect(() => checkResolver({ resolve: lastWriterWins, ...mapCheck, expected: documentedMerge })).toThrow(/resolver check/);
  });

  it('merges changes to different keys: values, additions and deletions from both sides', () => {
    const old = state([['a', 1], ['b', 2], ['c', 3]]);
    const committed = state([['a', 10], ['c', 3], ['d', 4]]); // changed a, deleted b, added d
    const mine = state([['a', 1], ['b', 2], ['c', 30], ['e', 5]]); // changed c, added e
    expect(PersistentMap.resolveConflict(old, committed, mine)).toEqual(state([['a', 10], ['c', 30], ['d', 4], ['e', 5]]));
  });

  it('merges equal outcomes on both sides: equal structures, references to the same oid, and deletes of the same key', () => {
    const old = state([['a', { n: 1 }], ['b', ref(1)], ['c', 0]]);
    // The class name a reference carries is a hint only: the oid decides.
    const committed = state([['a', { n: 2, at: new Date(5) }], ['b', ref(2, 'test.Old')], ['x', [ref(3)]]]);
    const mine = state([['a', { n: 2, at: new Date(5) }], ['b', ref(2, 'test.New')], ['x', [ref(3, 'other')]]]);
    expect(PersistentMap.resolveConflict(old, committed, mine)).toEqual(committed);
  });

  it('treats setting a key to the value it already had as no change', () => {
    const old = state([['a', { deep: [1, 2] }]]);
    const committed = state([['a', { deep: [1, 3] }]]);
    const mine = state([['a', { deep: [1, 2] }], ['b', 1]]);
    expect(PersistentMap.resolveConflict(old, committed, mine)).toEqual(state([['a', { deep: [1, 3] }], ['b', 1]]));
  });

  it.each([
    ['changed-on-both-sides', state([['a', 2]]), state([['a', 3]]), /key "a" was changed by both transactions, to different values/],
    ['added-on-both-sides', state([['a', 1], ['n', 'x']]), state([['a', 1], ['n', 'y']]), /key "n" was added by both transactions, with different values/],
    ['deleted-and-changed', state([]), state([['a', 3]]), /key "a" was deleted by the committed transaction and changed by this one/],
    ['deleted-and-changed', state([['a', 3]]), state([]), /key "a" was changed by the committed transaction and deleted by this one/],
  ] as const)('refuses with %s (%#)', (reason, committed, mine, message) => {
    const old = state([['a', 1]]);
    const failure = (() => {
      try {
        return PersistentMap.resolveConflict(old, committed, mine);
      } catch (err) {
        return err;
      }
    })();
    expect(MapConflictError.is(failure)).toBe(true);
    const err = failure as MapConflictError;
    expect(err.code).toBe('MAP_CONFLICT');
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
    expect(err.key).toBe(reason === 'added-on-both-sides' ? 'n' : 'a');
  });

  it('merges fields a subclass adds to the state only when both sides hold equal values', () => {
    const old = state([['a', 1]], { title: 'x' });
    expect(mergeMapStates(old, state([['a', 2]], { title: 'y' }), state([['b', 1], ['a', 1]], { title: 'y' }))).toEqual(
      state([['a', 2], ['b', 1]], { title: 'y' }),
    );
    const oneSided = (): unknown => mergeMapStates(old, state([['a', 2]], { title: 'y' }), state([['a', 1], ['b', 1]], { title: 'x' }));
    expect(oneSided).toThrow(MapConflictError);
    expect(oneSided).toThrow(/field "title" differs between the two transactions/);
    expect(() => mergeMapStates(old, state([['a', 1]], { title: 'x' }), state([['a', 1]]))).toThrow(/field "title"/);
  });

  it('refuses without a common revision, and states that are not map states', () => {
    const s = state([['a', 1]]);
    expect(() => PersistentMap.resolveConflict(null, s, s)).toThrow(expect.objectContaining({ reason: 'no-common-revision' }));
    expect(() => PersistentMap.resolveConflict(s, { items: [] }, s)).toThrow(/the committed state has no entries list/);
    expect(() => PersistentMap.resolveConflict(s, s, state([['a', 1], ['a', 2]]))).toThrow(/the new state's entries are not distinct/);
    expect(() => PersistentMap.resolveConflict(s, s, { entries: [[1, 'x']] })).toThrow(expect.objectContaining({ reason: 'malformed-state', field: 'entries' }));
  });
});

// ---------------------------------------------------------------------------------------------
// End to end, on LMDB: the DB's resolver finds the class by name and the storage merges in its commit.

class Tags extends PersistentMap<number> {}
registerClass('test.mapResolver.Tags', Tags);

/** A subclass whose entries must change together: it opts out of the inherited resolver. */
class Ledger extends PersistentMap<number> {
  static override resolveConflict(): never {
    throw new Error('ledger entries never merge');
  }
}
registerClass('test.mapResolver.Ledger', Ledger);

const mapIn = <M extends PersistentMap<number>>(s: Session, name = 'map'): M => s.conn.root().get(name) as M;

async function commitFailure(s: Session): Promise<unknown> {
  const failure = await s.tm.commit().catch((err: unknown) => err);
  await s.tm.abort();
  return failure;
}

describe('PersistentMap conflict resolution in a database (lmdb storage)', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb('lmdb');
    await t.db.transact((conn) => {
      conn.root().set('map', new PersistentMap<number>([['a', 1], ['b', 2], ['c', 3]]));
      conn.root().set('tags', new Tags([['red', 1]]));
      conn.root().set('ledger', new Ledger([['cash', 100]]));
    });
  });
  afterEach(async () => t.dispose());

  const contents = (name: string): Promise<[string, number][]> =>
    t.db.transact((conn) => [...(conn.root().get(name) as PersistentMap<number>)]);

  it('commits two concurrent transactions that change different keys of one map, and keeps both changes', async () => {
    const [x, y] = [t.session(), t.session()];
    mapIn(x).set('a', 10);
    mapIn(x).set('d', 4);
    mapIn(y).delete('b');
    mapIn(y).set('e', 5);
    await x.tm.commit();
    await y.tm.commit(); // conflicts with x's commit, and merges

    const merged: [string, number][] = [['a', 10], ['c', 3], ['d', 4], ['e', 5]];
    expect([...mapIn(y)]).toEqual(merged); // the committer reloaded the merged state
    expect(await contents('map')).toEqual(merged);
    expect(t.db.conflictStats()['tidal.PersistentMap']).toEqual({ resolved: 1, conflicts: 0 });
  });

  it('fails the second commit with a ConflictError naming the oid and class when both change the same key differently', async () => {
    const [x, y] = [t.session(), t.session()];
    const oid = mapIn(x)._p_oid;
    mapIn(x).set('a', 10);
    mapIn(y).set('a', 20);
    await x.tm.commit();
    const failure = await commitFailure(y);

    expect(ConflictError.is(failure)).toBe(true);
    const err = failure as ConflictError;
    expect(err.oid).toBe(oid);
    expect(err.className).toBe('tidal.PersistentMap');
    expect(err.message).toContain(`oid ${oid}`);
    expect(err.message).toContain('class tidal.PersistentMap');
    expect(err.reason).toMatch(/key "a" was changed by both transactions, to different values/);
    expect(MapConflictError.is(err.cause) && err.cause.reason).toBe('changed-on-both-sides');
    expect(await contents('map')).toEqual([['a', 10], ['b', 2], ['c', 3]]);
  });

  it('fails the second commit when one transaction deletes a key the other changed', async () => {
    const [x, y] = [t.session(), t.session()];
    mapIn(x).set('b', 20);
    mapIn(y).delete('b');
    mapIn(y).set('z', 26); // a mergeable change alongside does not save it
    await x.tm.commit();
    const failure = await commitFailure(y);
    expect(ConflictError.is(failure) && MapConflictError.is(failure.cause) && failure.cause.reason).toBe('deleted-and-changed');
    expect(await contents('map')).toEqual([['a', 1], ['b', 20], ['c', 3]]);
  });

  it('merges a registered subclass with the inherited resolver, and refuses for one that opts out', async () => {
    const [x, y] = [t.session(), t.session()];
    mapIn<Tags>(x, 'tags').set('green', 2);
    mapIn<Tags>(y, 'tags').set('blue', 3);
    mapIn<Ledger>(x, 'ledger').set('cash', 90);
    mapIn<Ledger>(y, 'ledger').set('bank', 10);
    await x.tm.commit();
    const failure = await commitFailure(y);
    expect(ConflictError.is(failure) && failure.className).toBe('test.mapResolver.Ledger');
    expect((failure as ConflictError).reason).toBe('ledger entries never merge');

    // Without the ledger change, the Tags change merges.
    const z = t.session();
    mapIn<Tags>(z, 'tags').set('blue', 3);
    const w = t.session();
    mapIn<Tags>(w, 'tags').set('white', 4);
    await z.tm.commit();
    await w.tm.commit();
    expect(await contents('tags')).toEqual([['red', 1], ['green', 2], ['blue', 3], ['white', 4]]);
  });

  it('lets concurrent transactions add different names to the database root', async () => {
    const [x, y] = [t.session(), t.session()];
    x.conn.root().set('fromX', new Tags());
    y.conn.root().set('fromY', new Tags());
    await x.tm.commit();
    await y.tm.commit();
    expect(await t.db.transact((conn) => [...conn.root().keys()])).toEqual(['map', 'tags', 'ledger', 'fromX', 'fromY']);
  });

  it('undoes a change to one key while keeping a later change to another key of the same map', async () => {
    await t.db.transact((conn) => (conn.root().get('map') as PersistentMap<number>).set('a', 10));
    const first = t.db.lastTransaction();
    await t.db.transact((conn) => (conn.root().get('map') as PersistentMap<number>).set('c', 30));
    await t.db.undo(first);
    expect(await contents('map')).toEqual([['a', 1], ['b', 2], ['c', 30]]);
  });
});
