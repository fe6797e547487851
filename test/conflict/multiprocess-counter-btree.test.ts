import { describe, expect, it } from 'vitest';
import { BTree, Counter, DB, LmdbStorage } from '@tidaldb/core';
import { startChild, tempDir } from '../support/processes.ts';

const WORKERS = 4;
const TRANSACTIONS = 500;
const ATTEMPTS = 1000;
const workerFile = new URL('./children/counter-btree-worker.ts', import.meta.url);

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
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  let last = '';
  const child = startChild(workerFile, [dir, String(id), String(TRANSACTIONS), String(ATTEMPTS)], (line) => (line === 'ready' ? onReady() : (last = line)));
  const result = child.exited.then(({ code, stderr }) => {
    if (code === 0 && last) return JSON.parse(last) as WorkerResult;
    throw new Error(`worker ${id} exited with ${code}: ${stderr}`);
  });
  result.catch(() => onReady()); // a worker that dies before "ready" must not hang the barrier
  return { ready, go: () => child.proc.stdin?.end('go\n'), result };
}

describe('Counter and BTree under 4 processes committing at once (LMDB)', () => {
  it(`counts ${WORKERS * TRANSACTIONS} increments exactly and keeps every key, with no ConflictError escaping db.transact`, async () => {
    const dir = await tempDir('tidal-multiprocess-');
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
