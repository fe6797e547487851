// Shared plumbing of the storage tests: the generic process helpers, with children looked up in
// test/storage/children, and the public harness helpers.
import { startChild as start, type Child } from '../support/processes.ts';

export { tempDir, type Child } from '../support/processes.ts';
export { begin, settle, drainEventLoop, expectIncreasing, type Settled } from '@tidaldb/core/testing';

/** Starts `test/storage/children/<name>` under tsx; killed after the test if still running. */
export function startChild(name: string, args: readonly string[]): Child {
  return start(new URL(`./children/${name}`, import.meta.url), args);
}
