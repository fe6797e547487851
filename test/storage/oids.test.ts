// newOid hands out oids that are unique per database — across storage objects on one
// environment in one process and across processes — while reserving them in blocks.
import { describe, expect, it } from 'vitest';
import { LmdbStorage, ROOT_OID, oidFromBigInt } from '@tidaldb/core';
import { commit, record } from '@tidaldb/core/testing';
import { startChild, tempDir } from './helpers.ts';

describe('LmdbStorage.newOid', () => {
  it('never hands the same oid to two handles on one environment, interleaved', async () => {
    const dir = await tempDir();
    const one = await LmdbStorage.open(dir);
    const two = await LmdbStorage.open(dir);
    try {
      const got: string[] = [];
      for (let i = 0; i < 300; i++) got.push(one.newOid(), two.newOid());
      expect(new Set(got).size).toBe(600);
      expect(got).not.toContain(ROOT_OID);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('never hands the same oid to two processes allocating at the same time', async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir);
    try {
      const children = [startChild('allocate-oids.ts', [dir, '500']), startChild('allocate-oids.ts', [dir, '500'])];
      const mine: string[] = [];
      for (let i = 0; i < 500; i++) {
        mine.push(s.newOid());
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const theirs = (await Promise.all(children.map((c) => c.nextLine()))).flatMap((line) => JSON.parse(line) as string[]);
      for (const c of children) expect((await c.exited).code).toBe(0);
      expect(theirs).toHaveLength(1000);
      expect(new Set([...mine, ...theirs]).size).toBe(1500);
    } finally {
      await s.close();
    }
  });

  it('continues after the oids of a previous run, and after oids a commit chose itself', async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir);
    const before = Array.from({ length: 10 }, () => s.newOid());
    // An oid far above every block handed out so far, stored directly.
    const chosen = oidFromBigInt(1_000_000n);
    await commit(s, [{ oid: chosen, readTid: null, data: record('chosen') }]);
    await s.close();
    const again = await LmdbStorage.open(dir);
    try {
      const after = again.newOid();
      expect(before).not.toContain(after);
      expect(after > chosen).toBe(true);
    } finally {
      await again.close();
    }
  });
});
