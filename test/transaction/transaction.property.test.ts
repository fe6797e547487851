// Model-based property: random transactions over several key-value data managers (writes that
// join managers at any point, savepoints, rollbacks to valid and invalidated savepoints, commit or
// abort, sometimes a manager that vetoes in tpcVote) leave every manager exactly where a simple
// model of all-or-nothing transactions with nested savepoints says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSavepointRollbackError, TransactionManager, type Savepoint } from '@tidaldb/core';
import { KvDataManager, RecordingLogger } from './kv-data-manager.ts';

const DMS = 4;

type Op =
  | { kind: 'set'; dm: number; key: string; value: string }
  | { kind: 'savepoint' }
  | { kind: 'rollback'; pick: number }
  | { kind: 'rollbackInvalid'; pick: number };

interface TxnPlan {
  ops: Op[];
  /** Index of a manager that vetoes in tpcVote (it matters only if it joined), or null. */
  vetoBy: number | null;
  end: 'commit' | 'abort';
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), dm: fc.nat(DMS - 1), key: fc.constantFrom('k0', 'k1', 'k2'), value: fc.string({ maxLength: 2 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'savepoint' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rollback' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollbackInvalid' as const), pick: fc.nat() }) },
);

const planArb: fc.Arbitrary<TxnPlan> = fc.record({
  ops: fc.array(opArb, { maxLength: 25 }),
  vetoBy: fc.option(fc.nat(DMS - 1), { freq: 3 }),
  end: fc.constantFrom('commit' as const, 'commit' as const, 'abort' as const),
});

type KV = Record<string, string>;

interface ModelSavepoint {
  real: Savepoint;
  pending: KV[];
  joined: Set<number>;
}

async function runPlans(asyncFlags: boolean[], plans: TxnPlan[]): Promise<void> {
  const tm = new TransactionManager({ logger: new RecordingLogger() });
  const dms = asyncFlags.map((async, i) => new KvDataManager(`dm${i}`, tm, [], { async }));
  const committed: KV[] = dms.map(() => ({}));

  for (const plan of plans) {
    let pending: KV[] = dms.map(() => ({}));
    let joined = new Set<number>();
    let valid: ModelSavepoint[] = [];
    const invalid: Savepoint[] = [];

    for (const op of plan.ops) {
      switch (op.kind) {
        case 'set':
          dms[op.dm]!.set(op.key, op.value);
          pending[op.dm]![op.key] = op.value;
          joined.add(op.dm);
          break;
        case 'savepoint':
          valid.push({ real: tm.savepoint(), pending: pending.map((p) => ({ ...p })), joined: new Set(joined) });
          break;
        case 'rollback': {
          if (valid.length === 0) break;
          const i = op.pick % valid.length;
          const target = valid[i]!;
          target.real.rollback();
          invalid.push(...valid.splice(i + 1).map((s) => s.real));
          pending = target.pending.map((p) => ({ ...p }));
          joined = new Set(target.joined);
          break;
        }
        case 'rollbackInvalid': {
          if (invalid.length === 0) break;
          expect(() => invalid[op.pick % invalid.length]!.rollback()).toThrow(InvalidSavepointRollbackError);
          break;
        }
      }
      expect(dms.map((dm) => dm.pending)).toEqual(pending);
      expect(valid.every((s) => s.real.valid) && invalid.every((s) => !s.valid)).toBe(true);
    }

    if (plan.vetoBy !== null) dms[plan.vetoBy]!.failIn('tpcVote', new Error('veto'));
    if (plan.end === 'abort') {
      await tm.abort();
    } else if (plan.vetoBy !== null && joined.has(plan.vetoBy)) {
      await expect(tm.commit()).rejects.toThrow('veto');
      await tm.abort();
    } else {
      await tm.commit();
      for (const i of joined) Object.assign(committed[i]!, pending[i]);
    }
    for (const dm of dms) dm.failures.clear();

    expect(dms.map((dm) => dm.state)).toEqual(committed);
    expect(dms.map((dm) => dm.pending)).toEqual(dms.map(() => ({})));
    expect([...valid.map((s) => s.real), ...invalid].some((s) => s.valid)).toBe(false);
  }
}

describe('transactions over several data managers (property)', () => {
  it('commit all-or-nothing, and savepoint rollbacks restore exactly the state at the savepoint', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: DMS, maxLength: DMS }), fc.array(planArb, { minLength: 1, maxLength: 4 }), runPlans),
      { numRuns: 300 },
    );
  });
});
