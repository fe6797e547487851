// LmdbStorage passes the storage conformance suite, each storage in its own temporary directory;
// reopen closes the environment and opens the same directory again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LmdbStorage, type FullStorage } from '@tidaldb/core';
import { describeStorageConformance } from '@tidaldb/core/testing';

const dirs: string[] = [];
const dirOf = new WeakMap<FullStorage, string>();

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeStorageConformance(
  {
    name: 'LmdbStorage',
    async create() {
      const dir = await mkdtemp(join(tmpdir(), 'tidal-conformance-'));
      dirs.push(dir);
      const storage = await LmdbStorage.open(dir);
      dirOf.set(storage, dir);
      return storage;
    },
    async reopen(storage, { readOnly }) {
      const dir = dirOf.get(storage);
      if (!dir) throw new Error('not a storage of this factory');
      await storage.close();
      const reopened = await LmdbStorage.open(dir, { readOnly });
      dirOf.set(reopened, dir);
      return reopened;
    },
  },
  // Every run opens an environment and commits durably: fewer runs than in memory.
  { numRuns: 15 },
);
