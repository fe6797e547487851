/**
 * `@tidaldb/core/testing`: the public storage conformance suite. Needs vitest and fast-check
 * (peer dependencies of this entry point only).
 */
export { describeStorageConformance } from './conformance.ts';
export type { StorageConformanceFactory, StorageConformanceOptions } from './factory.ts';
export { counterResolver } from './conflict-resolution.ts';
export { checkResolver, MUST_REFUSE, type ResolverCheck, type ResolverUnderTest } from './resolver-harness.ts';
export {
  TEST_CLASS,
  record,
  valueOf,
  meta,
  commit,
  commitFull,
  votedWrite,
  begin,
  put,
  serialOf,
  settle,
  drainEventLoop,
  expectIncreasing,
  type Settled,
  type TestState,
  type Write,
  type Committed,
} from './harness.ts';
