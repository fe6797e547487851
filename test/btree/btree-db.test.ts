import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BTree, type BTreeBucket, BTreeNode, BucketConflictError, classNameOf, ConflictError, Counter, type Oid } from '@tidaldb/core';
import { openTestDb, STORAGE_KINDS, type Session, type TestDb } from './db-env.ts';

const tree = (s: Session): BTree<number, string> => s.conn.root().get('tree') as BTree<number, string>;

/** The keys of each bucket, in order (following `next` from the first bucket). */
function buckets(tr: BTree<number, string>): number[][] {
  let node: BTreeNode<number, string> | BTreeBucket<number, string> = tr.top as BTreeNode<number, string> | BTreeBucket<number, string>;
  while (node instanceof BTreeNode) node = node.children[0] as BTreeNode<number, string> | BTreeBucket<number, string>;
  const out: number[][] = [];
  for (let b: BTreeBucket<number, string> | null = node; b !== null; b = b.next) out.push([...b.keys]);
  return out;
}

/** Three full buckets of 4 under one node. */
const THREE_FULL = [0, 10, 20, 30, 40, 50, 60, 70, 1, 2, 21, 22];
const THREE_FULL_LAYOUT = [
  [0, 1, 2, 10],
  [20, 21, 22, 30],
  [40, 50, 60, 70],
];

/** Fills a tree with 0, 10, 20, … in buckets of 4 (so buckets are easy to aim at). */
async function setup(t: TestDb, keys: number[], sizes = { maxBucketSize: 4, maxNodeSize: 16 }): Promise<void> {
  await t.db.transact((conn) => {
    conn.root().set('tree', new BTree<number, string>(keys.map((k) => [k, `v${k}`]), sizes));
    conn.root().set('count', new Counter());
  });
}

async function conflictOf(s: Session): Promise<ConflictError> {
  const failure = await s.tm.commit().catch((e: unknown) => e);
  expect(ConflictError.is(failure)).toBe(true);
  await s.tm.abort();
  return failure as ConflictError;
}

function bucketReason(err: ConflictError): number | undefined {
  return BucketConflictError.is(err.cause) ? err.cause.reasonNumber : undefined;
}

describe.each(STORAGE_KINDS)('BTree in a database (%s storage)', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await openTestDb(kind);
  });
  afterEach(async () => t.dispose());

  it('stores buckets as separate objects and reads the tree back intact in another connection', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => i);
    await setup(t, keys);
    const s = t.session();
    const tr = tree(s);
    expect([...tr.keys()]).toEqual(keys);
    tr.check();
    const top = tr.top as BTreeNode<number, string>;
    expect(classNameOf(t.db.storage.load(top._p_oid as Oid).data)).toBe('tidal.BTreeNode');
    let node: unknown = top;
    while (node instanceof BTreeNode) node = node.children[0];
    expect(classNameOf(t.db.storage.load((node as BTreeBucket)._p_oid as Oid).data)).toBe('tidal.BTreeBucket');
    expect(buckets(tr).flat()).toEqual(keys);
  });

  it('writes a single bucket when one key changes, and nothing when a key is set to the value it holds', async () => {
    await setup(t, Array.from({ length: 100 }, (_, i) => i));
    const before = t.db.lastTransaction();
    await t.db.transact((conn) => (conn.root().get('tree') as BTree<number, string>).set(50, 'changed'));
    const [txn] = [...t.db.storage.iterator(t.db.lastTransaction())];
    expect(txn!.tid > before).toBe(true);
    expect(txn!.records.map((r) => classNameOf(r.data!))).toEqual(['tidal.BTreeBucket']);
    const last = t.db.lastTransaction();
    await t.db.transact((conn) => (conn.root().get('tree') as BTree<number, string>).set(50, 'changed'));
    expect(t.db.lastTransaction()).toBe(last);
  });

  it('merges concurrent inserts of different keys into the same bucket', async () => {
    await setup(t, [0, 10]);
    const a = t.session();
    const b = t.session();
    tree(a).set(1, 'a');
    tree(b).set(2, 'b');
    await a.tm.commit();
    await b.tm.commit();
    const c = t.session();
    expect([...tree(c).keys()]).toEqual([0, 1, 2, 10]);
    // The committer's copy was reloaded with the merged state.
    expect([...tree(b).keys()]).toEqual([0, 1, 2, 10]);
  });

  it.each([
    ['far apart', 5, 45],
    ['next to each other', 5, 25],
  ])('merges concurrent splits of different buckets under one node (%s)', async (_name, ka, kb) => {
    await setup(t, THREE_FULL);
    expect(buckets(tree(t.session()))).toEqual(THREE_FULL_LAYOUT);
    const a = t.session();
    const b = t.session();
    tree(a).set(ka, 'a');
    tree(b).set(kb, 'b');
    await a.tm.commit();
    await b.tm.commit();
    const c = t.session();
    tree(c).check();
    expect(buckets(tree(c))).toHaveLength(5);
    expect([...tree(c).keys()]).toEqual([...THREE_FULL, ka, kb].sort((x, y) => x - y));
  });

  it('refuses concurrent changes of one key with reason 1, naming the committed transaction', async () => {
    await setup(t, [0, 10]);
    const a = t.session();
    const b = t.session();
    tree(a).set(10, 'a');
    tree(b).set(10, 'b');
    a.tm.get().note('first writer');
    await a.tm.commit();
    const err = await conflictOf(b);
    expect(bucketReason(err)).toBe(1);
    expect(err.className).toBe('tidal.BTreeBucket');
    expect(err.committedBy?.description).toBe('first writer');
    expect(err.message).toMatch(/reason 1: Conflicting changes \(key 10\)/);
  });

  it('refuses two splits of the same bucket (reason 0) and a change in a bucket the other side emptied (reason 12)', async () => {
    await setup(t, THREE_FULL);
    const a = t.session();
    const b = t.session();
    tree(a).set(5, 'a');
    tree(b).set(3, 'b');
    await a.tm.commit();
    expect(bucketReason(await conflictOf(b))).toBe(0);

    const c = t.session();
    const d = t.session();
    for (const k of [40, 50, 60, 70]) tree(c).delete(k);
    tree(d).set(50, 'd');
    await c.tm.commit();
    expect(bucketReason(await conflictOf(d))).toBe(12);
    tree(t.session()).check();
  });

  it('rolls back to a savepoint across splits, and commits what was kept', async () => {
    await setup(t, THREE_FULL);
    const s = t.session();
    tree(s).set(3, 'kept');
    const sp = s.tm.savepoint();
    for (let k = 100; k < 140; k++) tree(s).set(k, 'dropped');
    tree(s).delete(0);
    sp.rollback();
    tree(s).check();
    expect([...tree(s).keys()]).toEqual([...THREE_FULL, 3].sort((x, y) => x - y));
    await s.tm.commit();
    const c = t.session();
    tree(c).check();
    expect(tree(c).get(3)).toBe('kept');
    expect(tree(c).size).toBe(THREE_FULL.length + 1);
  });

  it('adds up concurrent Counter increments', async () => {
    await setup(t, []);
    const sessions = [t.session(), t.session(), t.session()];
    sessions.forEach((s, i) => (s.conn.root().get('count') as Counter).increment(i + 1));
    for (const s of sessions) await s.tm.commit();
    expect((t.session().conn.root().get('count') as Counter).value).toBe(6);
  });
});

describe('BTree under concurrent transactions (property, memory storage)', () => {
  type Op = [key: number, value: string | null];
  const op = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null })) as fc.Arbitrary<Op>;

  function effects(before: Map<number, string>, after: Map<number, string>): Map<number, string | null> {
    const out = new Map<number, string | null>();
    for (const k of new Set([...before.keys(), ...after.keys()])) if (before.get(k) !== after.get(k)) out.set(k, after.get(k) ?? null);
    return out;
  }

  it('either merges two transactions without losing a write, or refuses; the tree stays valid', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }), fc.array(op, { maxLength: 12 }), fc.array(op, { maxLength: 12 }), async (initial, opsA, opsB) => {
        const t = await openTestDb('memory');
        try {
          await setup(t, initial, { maxBucketSize: 3, maxNodeSize: 3 });
          const start = new Map(initial.map((k) => [k, `v${k}`]));
          const a = t.session();
          const b = t.session();
          const run = (s: Session, ops: Op[]): Map<number, string | null> => {
            for (const [k, v] of ops) (v === null ? tree(s).delete(k) : tree(s).set(k, v));
            return effects(start, new Map(tree(s).entries()));
          };
          const ea = run(a, opsA);
          const eb = run(b, opsB);
          await a.tm.commit();
          const committedB = await b.tm.commit().then(
            () => true,
            async (e: unknown) => {
              expect(ConflictError.is(e)).toBe(true);
              await b.tm.abort();
              return false;
            },
          );
          const expected = new Map(start);
          const apply = (eff: Map<number, string | null>): void => eff.forEach((v, k) => (v === null ? expected.delete(k) : expected.set(k, v)));
          apply(ea);
          if (committedB) {
            expect([...eb.keys()].filter((k) => ea.has(k))).toEqual([]);
            apply(eb);
          }
          const check = tree(t.session());
          check.check();
          expect([...check.entries()]).toEqual([...expected].sort((x, y) => x[0] - y[0]));
        } finally {
          await t.dispose();
        }
      }),
      { numRuns: 150 },
    );
  });
});
