import { describe } from 'vitest';
import { concurrencyTests } from './concurrency.ts';
import { conflictResolutionTests } from './conflict-resolution.ts';
import { conflictTests } from './conflicts.ts';
import { durabilityTests } from './durability.ts';
import type { StorageConformanceFactory, StorageConformanceOptions } from './factory.ts';
import { Harness } from './harness.ts';
import { historyTests } from './history.ts';
import { iterationTests } from './iteration.ts';
import { lifecycleTests } from './lifecycle.ts';
import { modelTests } from './model.ts';
import { onePhaseCommitTests } from './one-phase-commit.ts';
import { packTests } from './pack.ts';
import { readOnlyTests } from './read-only.ts';
import { revisionTests } from './revisions.ts';
import { twoPhaseCommitTests } from './two-phase-commit.ts';
import { undoTests } from './undo.ts';

/**
 * Declares the storage conformance suite (vitest `describe`/`it`) for the storages `factory`
 * makes: the ground ZODB's storage test mixins cover — the 2PC state machine and its errors,
 * serial checks and commit locks, one-phase commit (when offered), conflict resolution,
 * revisions and loadBefore, history, iteration and polling, pack with garbage collection, undo,
 * close, read-only mode, restart durability and concurrent writers (with fast-check schedulers). Call it at the top level of a
 * test file; every storage it creates is closed after each test.
 *
 * The storage must implement the whole `FullStorage` contract of `@tidaldb/core`, including
 * `StorageTransactionError` for calls out of 2PC order (wrap it in `guardStorage()` if it does
 * not enforce that itself). Records are written with `encodeRecord` and pack is given
 * `referencesOf`, so a storage that inspects records must accept the real record format.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from '@tidaldb/core';
 * import { describeStorageConformance } from '@tidaldb/core/testing';
 *
 * describeStorageConformance({ name: 'MemoryStorage', create: async () => new MemoryStorage() });
 * ```
 */
export function describeStorageConformance(factory: StorageConformanceFactory, options: StorageConformanceOptions = {}): void {
  describe(`storage conformance: ${factory.name}`, () => {
    const h = new Harness(factory, options);
    h.install();
    twoPhaseCommitTests(h);
    onePhaseCommitTests(h);
    revisionTests(h);
    historyTests(h);
    iterationTests(h);
    conflictTests(h);
    conflictResolutionTests(h);
    undoTests(h);
    packTests(h);
    lifecycleTests(h);
    readOnlyTests(h);
    durabilityTests(h);
    concurrencyTests(h);
    modelTests(h);
  });
}
