// Conflict-resolution benchmark (issue 4): one hot counter, 8 concurrent committers.
//   resolved_increments_per_s  increments/s on a Counter (its resolver merges concurrent commits)
//   retry_increments_per_s     the same workload on a persistent class without a resolver: every
//                              collision fails the commit and db.transact retries it
//   resolver_speedup           resolved ÷ retry                                   target ≥ 5
// Headline workload: COMMITTERS async loops in one process, each running db.transact(increment)
// until INCREMENTS increments are done in total, on LmdbStorage with durable commits (the
// default) in a temporary directory. Also measured: the same with COMMITTERS processes (one
// committer each) on one LMDB environment → multiprocess_* figures. Each figure is the median of
// ROUNDS rounds after a warm-up round; every round checks that every increment landed.
// Ends with one JSON line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Counter, DB, LmdbStorage, Persistent, registerClass, type Connection } from '@tidaldb/core';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const COMMITTERS = Number(process.env['COMMITTERS'] ?? 8);
const INCREMENTS = Number(process.env['INCREMENTS'] ?? 800);
const DURABILITY = process.env['DURABILITY'] === 'none' ? 'none' : 'sync';
const PROCESS_ROUNDS = Number(process.env['PROCESS_ROUNDS'] ?? 3);

/** A counter without a resolver: concurrent increments conflict and are retried. */
class PlainCounter extends Persistent {
  value = 0;
}
registerClass('bench.PlainCounter', PlainCounter);

type Kind = 'resolved' | 'retry';
interface Round {
  rate: number;
  attempts: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const openDb = async (dir: string): Promise<DB> => DB.open(await LmdbStorage.open(dir, { durability: DURABILITY }));

let attempts = 0;
function increment(conn: Connection): void {
  attempts++;
  const hot = conn.root().get('hot') as Counter | PlainCounter;
  if (hot instanceof Counter) hot.increment();
  else hot.value += 1;
}

/** Runs `n` increments one after the other (one committer). */
async function committer(db: DB, next: () => boolean): Promise<void> {
  while (next()) await db.transact(increment, { attempts: 1_000_000 });
}

async function withHotDb<T>(kind: Kind, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tidal-bench-conflicts-'));
  try {
    const db = await openDb(dir);
    await db.transact((conn) => conn.root().set('hot', kind === 'resolved' ? new Counter() : new PlainCounter()));
    await db.close();
    const result = await fn(dir);
    const check = await openDb(dir);
    const final = await check.transact((conn) => (conn.root().get('hot') as Counter | PlainCounter).value);
    await check.close();
    if (final !== INCREMENTS) throw new Error(`${kind}: counted ${final}, expected ${INCREMENTS}`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** COMMITTERS async committers in this process. */
function inProcessRound(kind: Kind): Promise<Round> {
  return withHotDb(kind, async (dir) => {
    const db = await openDb(dir);
    attempts = 0;
    let started = 0;
    const next = (): boolean => started++ < INCREMENTS;
    const t = performance.now();
    await Promise.all(Array.from({ length: COMMITTERS }, () => committer(db, next)));
    const ms = performance.now() - t;
    await db.close();
    return { rate: Math.round((INCREMENTS * 1000) / ms), attempts };
  });
}

/** COMMITTERS processes with one committer each; timed from "go" to the last "done". */
function multiProcessRound(kind: Kind): Promise<Round> {
  return withHotDb(kind, async (dir) => {
    const self = fileURLToPath(import.meta.url);
    const share = Math.ceil(INCREMENTS / COMMITTERS);
    const children = Array.from({ length: COMMITTERS }, (_, i) => {
      const n = Math.min(share, INCREMENTS - i * share);
      const child = spawn(process.execPath, ['--import', 'tsx', self, '--worker', dir, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout });
      const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
      const done = new Promise<number>((resolve) => lines.on('line', (l) => l.startsWith('done') && resolve(Number(l.split(' ')[1]))));
      return { child, ready, done, exited: once(child, 'exit') };
    });
    await Promise.all(children.map((c) => c.ready));
    const t = performance.now();
    for (const c of children) c.child.stdin.end('go\n');
    const counts = await Promise.all(children.map((c) => c.done));
    const ms = performance.now() - t;
    await Promise.all(children.map((c) => c.exited));
    return { rate: Math.round((INCREMENTS * 1000) / ms), attempts: counts.reduce((a, b) => a + b, 0) };
  });
}

async function measure(round: (kind: Kind) => Promise<Round>, kind: Kind, rounds: number): Promise<{ rate: number; attemptsPerIncrement: number }> {
  await round(kind); // warm-up
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) results.push(await round(kind));
  const rate = median(results.map((r) => r.rate));
  const mid = results.find((r) => r.rate === rate) ?? (results[0] as Round);
  return { rate, attemptsPerIncrement: Math.round((mid.attempts / INCREMENTS) * 100) / 100 };
}

async function worker(dir: string, n: number): Promise<void> {
  const db = await openDb(dir);
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  let left = n;
  await committer(db, () => left-- > 0);
  process.stdout.write(`done ${attempts}\n`);
  await db.close();
  process.exit(0);
}

async function main(): Promise<void> {
  console.log(
    `TidalDB conflict benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, one hot counter, ` +
      `${COMMITTERS} committers, ${INCREMENTS} increments per round, LMDB durability '${DURABILITY}', median of ${ROUNDS} (processes: ${PROCESS_ROUNDS})`,
  );
  const line = (label: string, r: { rate: number; attemptsPerIncrement: number }): void =>
    console.log(`  ${label.padEnd(44)} ${String(r.rate).padStart(6)} increments/s  (${r.attemptsPerIncrement} attempts per increment)`);
  const resolved = await measure(inProcessRound, 'resolved', ROUNDS);
  line('one process, Counter (resolver)', resolved);
  const retry = await measure(inProcessRound, 'retry', ROUNDS);
  line('one process, PlainCounter (retries)', retry);
  const figures: Record<string, number> = {
    resolved_increments_per_s: resolved.rate,
    retry_increments_per_s: retry.rate,
    resolver_speedup: Math.round((resolved.rate / retry.rate) * 100) / 100,
    retry_attempts_per_increment: retry.attemptsPerIncrement,
  };
  if (PROCESS_ROUNDS > 0) {
    const pResolved = await measure(multiProcessRound, 'resolved', PROCESS_ROUNDS);
    line(`${COMMITTERS} processes, Counter (resolver)`, pResolved);
    const pRetry = await measure(multiProcessRound, 'retry', PROCESS_ROUNDS);
    line(`${COMMITTERS} processes, PlainCounter (retries)`, pRetry);
    figures['multiprocess_resolved_increments_per_s'] = pResolved.rate;
    figures['multiprocess_retry_increments_per_s'] = pRetry.rate;
    figures['multiprocess_resolver_speedup'] = Math.round((pResolved.rate / pRetry.rate) * 100) / 100;
    figures['multiprocess_retry_attempts_per_increment'] = pRetry.attemptsPerIncrement;
  }
  console.log(JSON.stringify(figures));
}

if (process.argv[2] === '--worker') await worker(process.argv[3] as string, Number(process.argv[4]));
else await main();
