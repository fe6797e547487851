/**
 * Runs a generator-based procedure synchronously for as long as every step it yields is a plain
 * value, and switches to asynchronous execution at the first step that yields a promise.
 *
 * Why: `abort()` must be usable from the synchronous `TransactionManager.begin()` (the agreed API,
 * and ZODB's semantics: beginning a transaction aborts the current one), while the DataManager
 * contract lets `abort` return a promise. Writing abort once as a generator (`yield dm.abort(txn)`)
 * keeps a single code path: it completes synchronously with synchronous data managers (the normal
 * case: a Connection's abort only invalidates cached objects) and still awaits asynchronous ones.
 *
 * Inside the generator, `yield x` evaluates to `x` (sync) or to the awaited value of `x` (async); a
 * rejected promise is thrown at the `yield`, so ordinary try/catch works in both modes.
 */
export function runMaybeAsync(gen: Generator<unknown, void, unknown>): Promise<void> | undefined {
  let step = gen.next();
  while (!step.done) {
    if (isPromiseLike(step.value)) return continueAsync(gen, step.value);
    step = gen.next(step.value);
  }
  return undefined;
}

async function continueAsync(gen: Generator<unknown, void, unknown>, first: PromiseLike<unknown>): Promise<void> {
  let pending: PromiseLike<unknown> = first;
  for (;;) {
    let step: IteratorResult<unknown, void>;
    let settled: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      settled = { ok: true, value: await pending };
    } catch (error) {
      settled = { ok: false, error };
    }
    // Outside the try: an error thrown by the generator itself must propagate, not be fed back in.
    step = settled.ok ? gen.next(settled.value) : gen.throw(settled.error);
    while (!step.done && !isPromiseLike(step.value)) step = gen.next(step.value);
    if (step.done) return;
    pending = step.value as PromiseLike<unknown>;
  }
}

/** True for promises and other thenables. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
