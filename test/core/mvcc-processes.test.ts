import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { DB, Persistent, TransactionManager, registerClass } from '@tidaldb/core';

const run = promisify(execFile);
const child = new URL('./fixtures/commit-child.ts', import.meta.url).pathname;

class Cell extends Persistent {
  value = 0;
}
registerClass('test.mvcc.Cell', Cell);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it("sees another process's commit only after its next transaction boundary, and then invalidates the cached copy", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidal-mvcc-'));
  dirs.push(dir);
  const db = await DB.open(dir);
  await db.transact((conn) => conn.root().set('cell', Object.assign(new Cell(), { value: 1 })));
  const tm = new TransactionManager();
  const conn = db.open({ transactionManager: tm });
  const cell = conn.root().get('cell') as Cell;
  expect(cell.value).toBe(1);

  await run(process.execPath, ['--import', 'tsx', child, dir, '2'], { cwd: process.cwd() });

  expect(cell.value).toBe(1);
  conn.cacheMinimize(); // even a reload reads the transaction's snapshot
  expect(cell.value).toBe(1);
  await tm.abort(); // boundary
  expect(cell._p_state).toBe('ghost');
  expect(cell.value).toBe(2);
  conn.close();
  await db.close();
});
