import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { DB, Persistent, TransactionManager, registerClass } from '@tidaldb/core';
import { tempDir } from '../support/processes.ts';

const run = promisify(execFile);
const child = new URL('./fixtures/commit-child.ts', import.meta.url).pathname;

class Cell extends Persistent {
  value = 0;
}
registerClass('test.mvcc.Cell', Cell);

it("sees another process's commit only after its next transaction boundary, and then invalidates the cached copy", async () => {
  const dir = await tempDir('tidal-mvcc-');
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
