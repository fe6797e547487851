/** A registered hook and the extra arguments it is called with (ZODB's `(hook, args, kws)`). */
export interface HookEntry {
  // `never[]` parameters: entries of any signature are storable; callHooks supplies the arguments.
  readonly hook: (...args: never[]) => unknown;
  readonly args: readonly unknown[];
}

/**
 * Calls `hooks` in registration order, each with `prefix` followed by its own arguments, then
 * empties the list (hooks are consumed when called). A hook may register more hooks of the same
 * kind while the list runs: they run in the same pass.
 *
 * A generator for `runMaybeAsync`: each hook's result is yielded, so a hook returning a promise is
 * awaited before the next one runs.
 *
 * @param onError called with a hook's error; when absent the first error propagates and the
 *   remaining hooks are dropped unrun (before-commit semantics).
 */
export function* callHooks(
  hooks: HookEntry[],
  prefix: readonly unknown[],
  onError?: (error: unknown, entry: HookEntry) => void,
): Generator<unknown, void, unknown> {
  try {
    for (let i = 0; i < hooks.length; i++) {
      const entry = hooks[i]!;
      try {
        yield (entry.hook as (...args: unknown[]) => unknown)(...prefix, ...entry.args);
      } catch (error) {
        if (!onError) throw error;
        onError(error, entry);
      }
    }
  } finally {
    hooks.length = 0;
  }
}
