// Runs a few planned transactions against one storage with fast-check's scheduler deciding the
// order of their steps (read serials, begin + store, vote, finish), then checks the invariants of
// concurrent commits against what every transaction was told.
import type fc from 'fast-check';
import { expect } from 'vitest';
import { ConflictError } from '../errors.ts';
import { tidAfter, type Oid, type Tid } from '../ids.ts';
import type { FullStorage } from '../interfaces.ts';
import { counterResolver } from './conflict-resolution.ts';
import { commit, expectIncreasing, meta, oids, record, valueOf } from './harness.ts';

/** One planned transaction over a pool of three objects. */
export interface TxnPlan {
  /** Indices of the objects it writes. */
  readonly writes: readonly number[];
  /** Index of an object it only reads with checkCurrent (ignored when it also writes it, or when resolving). */
  readonly check: number | null;
  /** With a resolver: what it adds to each object it writes. */
  readonly delta: number;
}

interface Outcome {
  readonly label: string;
  readonly plan: TxnPlan;
  readonly reads: ReadonlyMap<Oid, Tid>;
  readonly checked: { oid: Oid; tid: Tid } | null;
  readonly result: { ok: true; tid: Tid; resolved: Oid[] } | { ok: false; error: unknown };
}

/**
 * Runs `plans` concurrently under `scheduler` and asserts: failures are ConflictErrors (none with
 * `resolve`); at least one commit succeeds; every acknowledged commit is in the log with exactly
 * its objects; tids strictly increase; each acknowledged write replaced the revision it read
 * (or was merged, and then reported by the vote); checked objects did not change before the
 * commit; final states are the last writer's (or the sum of every delta, with `resolve`).
 */
export async function runScheduledTransactions(
  s: FullStorage,
  scheduler: fc.Scheduler,
  plans: readonly TxnPlan[],
  options: { resolve: boolean },
): Promise<void> {
  if (options.resolve) s.setConflictResolver(counterResolver());
  const pool = oids(s, 3);
  const initial = options.resolve ? 0 : 'initial';
  await commit(
    s,
    pool.map((oid) => ({ oid, readTid: null, data: record(initial) })),
  );
  const step = (label: string) => scheduler.schedule(Promise.resolve(), label);

  const run = async (plan: TxnPlan, i: number): Promise<Outcome> => {
    const label = `T${i}`;
    const writes = plan.writes.map((k) => pool[k]!);
    await step(`${label} reads`);
    const reads = new Map(writes.map((oid) => [oid, s.load(oid).tid] as const));
    const before = new Map(writes.map((oid) => [oid, valueOf(s.load(oid).data)] as const));
    const checkOid = !options.resolve && plan.check !== null && !plan.writes.includes(plan.check) ? pool[plan.check]! : null;
    const checked = checkOid ? { oid: checkOid, tid: s.load(checkOid).tid } : null;
    await step(`${label} begins and stores`);
    const txn = s.tpcBegin(meta(label));
    try {
      for (const oid of writes) {
        const data = options.resolve ? record((before.get(oid) as number) + plan.delta) : record(label);
        s.store(txn, oid, reads.get(oid)!, data);
      }
      if (checked) s.checkCurrent(txn, checked.oid, checked.tid);
      await step(`${label} votes`);
      const resolved = await s.tpcVote(txn);
      await step(`${label} finishes`);
      const tid = await s.tpcFinish(txn);
      return { label, plan, reads, checked, result: { ok: true, tid, resolved } };
    } catch (error) {
      await s.tpcAbort(txn);
      return { label, plan, reads, checked, result: { ok: false, error } };
    }
  };

  const outcomes = await scheduler.waitFor(Promise.all(plans.map(run)));

  for (const o of outcomes) {
    if (o.result.ok) continue;
    if (options.resolve || !ConflictError.is(o.result.error)) {
      expect.fail(`${o.label} failed with ${String(o.result.error)}${options.resolve ? ' although a resolver merges everything' : ''}`);
    }
  }
  const acknowledged = outcomes.flatMap((o) => (o.result.ok ? [{ ...o, tid: o.result.tid, resolved: o.result.resolved }] : []));
  expect(acknowledged.length).toBeGreaterThan(0);

  const log = [...s.iterator()];
  expectIncreasing(log.map((t) => t.tid));
  const byTid = new Map(log.map((t) => [t.tid, t]));
  for (const o of acknowledged) {
    const logged = byTid.get(o.tid);
    expect(logged?.description, `${o.label}'s commit ${o.tid} is in the log`).toBe(o.label);
    expect(logged!.records.map((r) => r.oid)).toEqual([...o.reads.keys()].sort());
    for (const [oid, readTid] of o.reads) {
      const replaced = s.loadBefore(oid, o.tid)!.tid;
      if (options.resolve) {
        expect(o.resolved.includes(oid), `${o.label} read ${oid} at ${readTid}, replaced ${replaced}: resolved?`).toBe(replaced !== readTid);
      } else {
        expect(replaced, `${o.label} overwrote ${oid} without having read its current revision`).toBe(readTid);
        expect(valueOf(s.loadSerial(oid, o.tid))).toBe(o.label);
      }
    }
    if (o.checked) {
      expect(s.loadBefore(o.checked.oid, tidAfter(o.tid))!.tid, `${o.label} checked ${o.checked.oid}`).toBe(o.checked.tid);
    }
  }

  for (const [k, oid] of pool.entries()) {
    const writers = acknowledged.filter((o) => o.plan.writes.includes(k));
    const final = valueOf(s.load(oid).data);
    if (options.resolve) {
      expect(final).toBe(writers.reduce((sum, o) => sum + o.plan.delta, 0));
    } else {
      const last = writers.sort((x, y) => (x.tid < y.tid ? -1 : 1)).at(-1);
      expect(final).toBe(last ? last.label : initial);
    }
  }
}
