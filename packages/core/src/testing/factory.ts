import type { FullStorage } from '../interfaces.ts';

/**
 * How the conformance suite gets storages to test. Every storage must be a `FullStorage` (undo
 * and pack included); the groups that need `reopen` (durability, read-only) are skipped without
 * it, and the one-phase-commit group is skipped for a storage without `tpcCommitOnePhase`.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from '@tidaldb/core';
 * import { describeStorageConformance } from '@tidaldb/core/testing';
 *
 * describeStorageConformance({ name: 'MemoryStorage', create: async () => new MemoryStorage() });
 * ```
 */
export interface StorageConformanceFactory {
  /** Shown in the test names. */
  readonly name: string;
  /**
   * A new, empty, writable storage, independent of every other one this factory made. The suite
   * closes every storage it gets; removing files afterwards is the factory's business.
   */
  create(): Promise<FullStorage>;
  /**
   * Closes `storage` and opens the same data again (read-only when asked). Provide it when data
   * outlives a storage object: it enables the durability and read-only groups.
   */
  reopen?(storage: FullStorage, options: { readOnly: boolean }): Promise<FullStorage>;
}

/** Tuning of the suite's property-based tests. */
export interface StorageConformanceOptions {
  /**
   * Runs per fast-check property (each run creates at least one storage).
   * @defaultValue 25
   */
  readonly numRuns?: number;
  /** Fixes fast-check's seed, to replay a failure it printed. */
  readonly seed?: number;
}
