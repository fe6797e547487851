/**
 * Race test: concurrent `db.transact` calls increment shared and private objects while
 * fast-check's scheduler chooses how their steps interleave (between reading and writing, and
 * around the commit). Invariant: no lost update — every increment of every successful call is in
 * the final state, for plain objects (conflict and retry) and for objects whose class resolves
 * conflicts (merge).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Persistent, registerClass } from '@tidaldb/core';
import { dbEnv, type StorageKind } from '../core/object-env.ts';

class Cell extends Persistent {
  value = 0;
}
registerClass('test.race.Cell', Cell);

class Tally extends Persistent {
  count = 0;
  static resolveConflict(old: Record<string, unknown> | null, committed: Record<string, unknown>, mine: Record<string, unknown>) {
    const base = (old?.['count'] as number | undefined) ?? 0;
    return { count: (committed['count'] as number) + (mine['count'] as number) - base };
  }
}
registerClass('test.race.Tally', Tally);

interface Task {
  /** Which private cell it increments (its own), and whether it touches the shared ones. */
  own: number;
  shared: boolean;
  tally: boolean;
}

const tasks = fc.array(
  fc.record({ own: fc.nat({ max: 3 }), shared: fc.boolean(), tally: fc.boolean() }),
  { minLength: 2, maxLength: 6 },
);

describe.each<[StorageKind, number]>([
  ['memory', 80],
  ['lmdb', 15],
])('concurrent commits (%s storage)', (kind, numRuns) => {
  it('lose no update whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), tasks, async (s, work: Task[]) => {
        const env = await dbEnv(kind);
        try {
          const db = env.db;
          await db.transact((conn) => {
            const root = conn.root();
            root.set('shared', new Cell());
            root.set('tally', new Tally());
            for (let i = 0; i < 4; i++) root.set(`own${i}`, new Cell());
          });
          const runs = work.map((task) =>
            db.transact(
              async (conn) => {
                const root = conn.root();
                const own = root.get(`own${task.own}`) as Cell;
                const before = own.value;
                await s.schedule(Promise.resolve('read'));
                own.value = before + 1;
                if (task.shared) (root.get('shared') as Cell).value += 1;
                if (task.tally) (root.get('tally') as Tally).count += 1;
                await s.schedule(Promise.resolve('wrote'));
              },
              // Each failed attempt means another task committed; more attempts than tasks always suffice.
              { attempts: work.length + 1 },
            ),
          );
          await s.waitFor(Promise.all(runs));
          const final = await db.transact((conn) => {
            const root = conn.root();
            return {
              own: [0, 1, 2, 3].map((i) => (root.get(`own${i}`) as Cell).value),
              shared: (root.get('shared') as Cell).value,
              tally: (root.get('tally') as Tally).count,
            };
          });
          expect(final).toEqual({
            own: [0, 1, 2, 3].map((i) => work.filter((t) => t.own === i).length),
            shared: work.filter((t) => t.shared).length,
            tally: work.filter((t) => t.tally).length,
          });
        } finally {
          await env.dispose();
        }
      }),
      { numRuns },
    );
  });
});
