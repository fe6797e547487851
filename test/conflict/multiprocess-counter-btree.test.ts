import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { BTree, Counter, DB, LmdbStorage } from '@tidaldb/core';

const WORKERS = 4;
const TRANSACTIONS = 500;
const ATTEMPTS = 1000;
const workerFile = new URL('./children/counter-btree-worker.ts', import.meta.url).pathname;

interface WorkerResult {
  worker: number;
  committed: number;
  escaped: number;
  attempts: number;
  resolved: Record<string, number>;
}

interface Worker {
  ready: Promise<void>;
  go(): void;
  result: Promise<WorkerResult>;
}

function startWorker(dir: string, id: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerFile, dir, String(id), String(TRANSACTIONS), String(ATTEMPTS)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  let last = '';
  lines.on('line', (line) => (line === 'ready' ? onReady() : (last = line)));
  const result = new Promise<WorkerResult>((resolve, reject) => {
    child.on('close', (code) => {
      if (code === 0 && last) resolve(JSON.parse(last) as WorkerResult);
      else reject(new Error(`worker ${id} exited with ${code}: ${stderr}`));
    });
  });
  result.catch(() => onReady()); // a worker that dies before "ready" must not hang the barrier
  return { ready, go: () => child.stdin.end('go\n'), result };
}

describe('Counter and BTree under 4 processes committing at once (LMDB)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(`counts ${WORKERS * TRANSACTIONS} increments exactly and keeps every key, with no ConflictError escaping db.transact`, async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidal-multiprocess-'));
    const setup = await DB.open(await LmdbStorage.open(dir, { durability: 'none' }));
    await setup.transact((conn) => {
      conn.root().set('count', new Counter());
      conn.root().set('tree', new BTree<string, number>());
    });
    await setup.close();

    const workers = Array.from({ length: WORKERS }, (_, id) => startWorker(dir, id));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const results = await Promise.all(workers.map((w) => w.result));

    const escaped = results.reduce((n, r) => n + r.escaped, 0);
    const retries = results.reduce((n, r) => n + r.attempts - r.committed - r.escaped, 0);
    const resolved: Record<string, number> = {};
    for (const r of results) for (const [name, n] of Object.entries(r.resolved)) resolved[name] = (resolved[name] ?? 0) + n;
    console.log(
      `multiprocess counter+btree: ${WORKERS}×${TRANSACTIONS} transactions, ConflictErrors escaped db.transact: ${escaped}, ` +
        `retried attempts: ${retries}, conflicts resolved by class: ${JSON.stringify(resolved)}`,
    );

    const db = await DB.open(await LmdbStorage.open(dir, { durability: 'none' }));
    try {
      await db.transact((conn) => {
        const tree = conn.root().get('tree') as BTree<string, number>;
        tree.check();
        const expected = results.flatMap((r) => Array.from({ length: TRANSACTIONS }, (_, i) => `w${r.worker}-${String(i).padStart(4, '0')}`)).sort();
        expect([...tree.keys()]).toEqual(expected);
        expect((conn.root().get('count') as Counter).value).toBe(WORKERS * TRANSACTIONS);
      });
    } finally {
      await db.close();
    }
    expect(escaped).toBe(0);
    expect(results.every((r) => r.committed === TRANSACTIONS)).toBe(true);
  }, 240_000);
});
