/**
 * A property-based check for conflict resolvers (`static resolveConflict(old, committed, mine)`),
 * built on fast-check: it generates a common state and two concurrent sequences of operations,
 * applies each sequence to its own copy, runs the resolver on the three states exactly as a
 * commit would (every state goes through the record codec first) and checks that
 * - the merge is the documented one: for a commutative type, equal to applying both sequences in
 *   either order — and when the two orders disagree, the resolver must refuse (merging would lose
 *   a write); otherwise equal to `expected(...)`;
 * - the resolver refuses only where `mayRefuse` says it may;
 * - the resolver is deterministic (same inputs, same merge or same refusal), and its merge is
 *   storable.
 *
 * Needs fast-check (a peer dependency of `@tidaldb/core/testing`); does not need a test runner.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { assertStorable, decodeRecord, encodeRecord } from '../codec/record.ts';

/** Returned by an `expected` function for inputs the resolver must refuse. */
export const MUST_REFUSE: unique symbol = Symbol('tidaldb.mustRefuse');

/** The resolver under test: a class with a static `resolveConflict`, or the function itself. */
export type ResolverUnderTest<S> =
  | { readonly Class: { resolveConflict(old: S, committed: S, mine: S): unknown }; readonly resolve?: undefined }
  | { readonly resolve: (old: S, committed: S, mine: S) => unknown; readonly Class?: undefined };

/** What `checkResolver` needs to know about the type. */
export type ResolverCheck<S, Op> = ResolverUnderTest<S> & {
  /** Common starting states. */
  readonly initial: fc.Arbitrary<S>;
  /** One operation of a transaction. */
  readonly operation: fc.Arbitrary<Op>;
  /** Applies one operation; may mutate `state` (it always gets a fresh copy) and returns the result. */
  readonly apply: (state: S, op: Op) => S;
  /**
   * The documented merge. `'commutative'` (default): applying both sequences in either order.
   * A function returns the expected merged state, or `MUST_REFUSE`.
   */
  readonly expected?: 'commutative' | ((old: S, committed: S, mine: S, opsCommitted: readonly Op[], opsMine: readonly Op[]) => S | typeof MUST_REFUSE);
  /** The documented cases where refusing is allowed. @defaultValue never */
  readonly mayRefuse?: (old: S, opsCommitted: readonly Op[], opsMine: readonly Op[], committed: S, mine: S) => boolean;
  /** Most operations per side. @defaultValue 6 */
  readonly maxOperations?: number;
  /** fast-check runs. @defaultValue 200 */
  readonly numRuns?: number;
  /** fast-check seed, to replay a failure it printed. */
  readonly seed?: number;
};

type Outcome = { merged: unknown } | { refused: unknown };

const STATE_CLASS = 'tidal.testing.ResolverState';

/** A state as a resolver sees it: encoded and decoded by the record codec (a fresh copy). */
function viaCodec<S>(state: S): S {
  return decodeRecord(encodeRecord(STATE_CLASS, state)).state as S;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    return String(value);
  }
}

function fail(message: string): never {
  throw new Error(`resolver check: ${message}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Checks a resolver against its documented merge; throws (with fast-check's counterexample and
 * seed) on the first violation.
 * @example
 * checkResolver({
 *   Class: Counter,
 *   initial: fc.integer().map((value) => ({ value })),
 *   operation: fc.integer({ min: -5, max: 5 }),
 *   apply: (s, n) => ({ value: s.value + n }),
 * });
 */
export function checkResolver<S, Op>(check: ResolverCheck<S, Op>): void {
  const resolve = (o: S, c: S, m: S): unknown => (check.Class ? check.Class.resolveConflict(o, c, m) : (check.resolve as (o: S, c: S, m: S) => unknown)(o, c, m));
  // A merge is returned as stored and read back, as the next load would see it.
  const run = (old: S, committed: S, mine: S): Outcome => {
    let merged: unknown;
    try {
      merged = resolve(viaCodec(old), viaCodec(committed), viaCodec(mine));
    } catch (refused) {
      return { refused };
    }
    try {
      assertStorable(merged, 'the merged state');
      return { merged: viaCodec(merged) };
    } catch (err) {
      return fail(`the merged state cannot be stored: ${errorText(err)}`);
    }
  };
  const applyAll = (start: S, ops: readonly Op[]): S => viaCodec(ops.reduce((s, op) => check.apply(s, op), viaCodec(start)));
  const ops = fc.array(check.operation, { maxLength: check.maxOperations ?? 6 });

  const property = fc.property(check.initial, ops, ops, (initial, opsCommitted, opsMine) => {
    const old = viaCodec(initial);
    const committed = applyAll(old, opsCommitted);
    const mine = applyAll(old, opsMine);
    const outcome = run(old, committed, mine);
    const again = run(old, committed, mine);
    checkDeterministic(outcome, again);

    let expected: unknown;
    let refuseRequired = false;
    if (check.expected === undefined || check.expected === 'commutative') {
      const minesAfter = applyAll(committed, opsMine);
      const committedAfter = applyAll(mine, opsCommitted);
      expected = minesAfter;
      refuseRequired = !isDeepStrictEqual(minesAfter, committedAfter);
    } else {
      const result = check.expected(viaCodec(old), viaCodec(committed), viaCodec(mine), opsCommitted, opsMine);
      refuseRequired = result === MUST_REFUSE;
      expected = refuseRequired ? undefined : viaCodec(result);
    }

    if ('refused' in outcome) {
      if (refuseRequired || check.mayRefuse?.(viaCodec(old), opsCommitted, opsMine, viaCodec(committed), viaCodec(mine))) return;
      fail(`refused a merge it is documented to make (${errorText(outcome.refused)}); expected ${describe(expected)}`);
    }
    if (refuseRequired) {
      fail(
        expected === undefined
          ? `merged where it must refuse: got ${describe(outcome.merged)}`
          : `merged although applying the two sides in either order disagrees (a write would be lost): got ${describe(outcome.merged)}`,
      );
    }
    if (!isDeepStrictEqual(outcome.merged, expected)) fail(`merged ${describe(outcome.merged)}, expected ${describe(expected)}`);
  });
  const params: fc.Parameters<[S, Op[], Op[]]> = { numRuns: check.numRuns ?? 200, includeErrorInReport: true };
  if (check.seed !== undefined) params.seed = check.seed;
  fc.assert(property, params);
}

function checkDeterministic(a: Outcome, b: Outcome): void {
  if ('merged' in a && 'merged' in b) {
    if (!isDeepStrictEqual(a.merged, b.merged)) fail(`not deterministic: merged ${describe(a.merged)}, then ${describe(b.merged)}`);
  } else if ('refused' in a && 'refused' in b) {
    if (errorText(a.refused) !== errorText(b.refused)) fail(`not deterministic: refused with ${errorText(a.refused)}, then ${errorText(b.refused)}`);
  } else {
    fail(`not deterministic: ${'merged' in a ? 'merged' : 'refused'}, then ${'merged' in b ? 'merged' : 'refused'} the same inputs`);
  }
}
