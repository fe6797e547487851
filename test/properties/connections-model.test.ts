/**
 * Model-based test of connections: several connections do random reads, writes, readCurrent
 * registrations, commits and aborts; a simple model of the store predicts every result.
 *
 * Invariants checked:
 * - snapshot consistency: every read equals the model's committed state as of that connection's
 *   last transaction boundary, overlaid with its own uncommitted writes;
 * - first committer wins: a commit conflicts exactly when an object it writes, or registered
 *   with readCurrent, was committed by someone else since its snapshot;
 * - all-or-nothing: a conflicting commit changes nothing (a fresh reader sees the model);
 * - no lost committed write: a fresh reader always sees every successful commit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, Persistent, TransactionManager, registerClass, type Connection, type DB } from '@tidaldb/core';
import { dbEnv, type StorageKind } from '../core/object-env.ts';

class Cell extends Persistent {
  value = 0;
}
registerClass('test.model.Cell', Cell);

const KEYS = ['k0', 'k1', 'k2', 'k3'] as const;
type Key = (typeof KEYS)[number];
const CONNECTIONS = 3;

interface Committed {
  value: number;
  version: number;
}

interface ConnModel {
  snapshot: Map<Key, Committed>;
  writes: Map<Key, number>;
  readCurrent: Set<Key>;
}

interface Model {
  committed: Map<Key, Committed>;
  conns: ConnModel[];
}

interface Real {
  db: DB;
  conns: Array<{ conn: Connection; tm: TransactionManager }>;
}

const fresh = (m: Model): ConnModel => ({ snapshot: new Map(m.committed), writes: new Map(), readCurrent: new Set() });
const cellOf = (r: Real, c: number, k: Key): Cell => (r.conns[c] as { conn: Connection }).conn.root().get(k) as Cell;

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: number,
    readonly k: Key,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const cm = m.conns[this.c] as ConnModel;
    const expected = cm.writes.get(this.k) ?? (cm.snapshot.get(this.k) as Committed).value;
    expect(cellOf(r, this.c, this.k).value).toBe(expected);
    await Promise.resolve();
  }
  toString = (): string => `read(c${this.c}, ${this.k})`;
}

class Write implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: number,
    readonly k: Key,
    readonly v: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    cellOf(r, this.c, this.k).value = this.v;
    (m.conns[this.c] as ConnModel).writes.set(this.k, this.v);
    await Promise.resolve();
  }
  toString = (): string => `write(c${this.c}, ${this.k}, ${this.v})`;
}

class ReadCurrent implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: number,
    readonly k: Key,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const { conn } = r.conns[this.c] as { conn: Connection };
    conn.readCurrent(cellOf(r, this.c, this.k));
    (m.conns[this.c] as ConnModel).readCurrent.add(this.k);
    await Promise.resolve();
  }
  toString = (): string => `readCurrent(c${this.c}, ${this.k})`;
}

class Commit implements fc.AsyncCommand<Model, Real> {
  constructor(readonly c: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const cm = m.conns[this.c] as ConnModel;
    const { tm } = r.conns[this.c] as { tm: TransactionManager };
    const changedSince = (k: Key): boolean => (m.committed.get(k) as Committed).version !== (cm.snapshot.get(k) as Committed).version;
    const conflicts = [...cm.writes.keys(), ...cm.readCurrent].some(changedSince);
    const outcome = await tm.commit().then(
      () => 'committed',
      (e: unknown) => (ConflictError.is(e) ? 'conflict' : e),
    );
    expect(outcome).toBe(conflicts ? 'conflict' : 'committed');
    if (conflicts) {
      await tm.abort();
    } else {
      for (const [k, value] of cm.writes) m.committed.set(k, { value, version: (m.committed.get(k) as Committed).version + 1 });
    }
    m.conns[this.c] = fresh(m);
  }
  toString = (): string => `commit(c${this.c})`;
}

class Abort implements fc.AsyncCommand<Model, Real> {
  constructor(readonly c: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    await (r.conns[this.c] as { tm: TransactionManager }).tm.abort();
    m.conns[this.c] = fresh(m);
  }
  toString = (): string => `abort(c${this.c})`;
}

/** A fresh connection sees exactly the committed model: nothing lost, nothing half-written. */
class CheckStore implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const values = await r.db.transact((conn) => KEYS.map((k) => (conn.root().get(k) as Cell).value));
    expect(values).toEqual(KEYS.map((k) => (m.committed.get(k) as Committed).value));
  }
  toString = (): string => 'checkStore';
}

const conn = fc.nat({ max: CONNECTIONS - 1 });
const key = fc.constantFrom(...KEYS);
const commands = [
  fc.tuple(conn, key).map(([c, k]) => new Read(c, k)),
  fc.tuple(conn, key, fc.integer({ min: 1, max: 99 })).map(([c, k, v]) => new Write(c, k, v)),
  fc.tuple(conn, key).map(([c, k]) => new ReadCurrent(c, k)),
  conn.map((c) => new Commit(c)),
  conn.map((c) => new Abort(c)),
  fc.constant(new CheckStore()),
];

describe.each<[StorageKind, number]>([
  ['memory', 60],
  ['lmdb', 10],
])('connections against a model of the store (%s storage)', (kind, numRuns) => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const d of disposers.splice(0)) await d();
  });

  it('keep snapshot consistency, all-or-nothing commits, no lost writes and first-committer-wins', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const env = await dbEnv(kind);
        try {
          await env.db.transact((c) => {
            for (const k of KEYS) c.root().set(k, new Cell());
          });
          const model: Model = { committed: new Map(KEYS.map((k) => [k, { value: 0, version: 0 }])), conns: [] };
          const real: Real = { db: env.db, conns: [] };
          for (let i = 0; i < CONNECTIONS; i++) {
            const tm = new TransactionManager();
            real.conns.push({ tm, conn: env.db.open({ transactionManager: tm }) });
            model.conns.push(fresh(model));
          }
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          await new CheckStore().run(model, real);
          for (const { tm } of real.conns) await tm.abort();
        } finally {
          await env.dispose();
        }
      }),
      { numRuns },
    );
  });
});
