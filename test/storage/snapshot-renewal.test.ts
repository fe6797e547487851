// LmdbStorage renews its read snapshot at most once per synchronous stretch of code, unless this
// process wrote meanwhile (docs/reference/storage-contract.md). The other process's commit is
// made with execFileSync, so that it lands while this process runs without yielding: the one way
// a commit can happen "inside" a stretch.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LmdbStorage, type Storage, type Tid } from '@tidaldb/core';
import { tempDir } from './helpers.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;
const writer = new URL('./children/writer.ts', import.meta.url).pathname;

/** Another process opens `dir`, commits one revision and exits, while this process waits synchronously. */
function commitElsewhereSynchronously(dir: string): Tid {
  const out = execFileSync(process.execPath, ['--import', 'tsx', writer, dir], { cwd: repoRoot, input: 'commit elsewhere\n', encoding: 'utf8' });
  return out.trim().split(' ')[1] as Tid;
}

async function withStorage(run: (storage: Storage, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const storage = await LmdbStorage.open(dir);
  try {
    await run(storage, dir);
  } finally {
    await storage.close();
  }
}

describe('LmdbStorage snapshot renewal', () => {
  it('keeps one snapshot through a synchronous stretch and sees other processes after the next checkpoint', async () => {
    await withStorage(async (storage, dir) => {
      const before = storage.lastTransaction();
      const committed = commitElsewhereSynchronously(dir);
      expect(committed > before).toBe(true);
      // Same stretch: the same snapshot, for lastTransaction and poll alike.
      expect(storage.lastTransaction()).toBe(before);
      expect(storage.poll(before)).toEqual({ lastTid: before, oids: new Set() });
      await Promise.resolve();
      expect(storage.lastTransaction()).toBe(committed);
      expect(storage.poll(before).oids?.size).toBe(1);
    });
  });

  it('renews within the stretch once this process has written', async () => {
    await withStorage(async (storage, dir) => {
      const before = storage.lastTransaction();
      const committed = commitElsewhereSynchronously(dir);
      expect(storage.lastTransaction()).toBe(before);
      storage.newOid(); // reserves a block of oids: a write of this process
      expect(storage.lastTransaction()).toBe(committed);
      await Promise.resolve();
    });
  });
});
