// Conflict-resolution benchmark (issue 4): one hot counter, 8 concurrent committers.
//   resolved_increments_per_s  increments/s on a Counter (its resolver merges concurrent commits)
//   retry_increments_per_s     the same workload on a persistent class without a resolver: every
//                              collision fails the commit and db.transact retries it
//   resolver_speedup           resolved ÷ retry                                   target ≥ 5
// Workload: COMMITTERS async loops in one process, each running db.transact(increment) until
// INCREMENTS increments are done in total. The headline figures use LmdbStorage with durable
// commits (its default) in a temporary directory; the same run measures the workload on
// LmdbStorage without fsync (nosync_*), on MemoryStorage (memory_*) and with COMMITTERS processes
// (one committer each) on one durable LMDB environment (multiprocess_*). Each figure is the
// median of ROUNDS rounds (PROCESS_ROUNDS for processes), after a warm-up round of each kind (so
// the JIT favours neither), with the two kinds' rounds interleaved (so load drift hits both);
// every round checks that every increment landed. Ends with one JSON line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Counter, DB, LmdbStorage, MemoryStorage, Persistent, registerClass, type Connection } from '@tidaldb/core';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const PROCESS_ROUNDS = Number(process.env['PROCESS_ROUNDS'] ?? 3);
const COMMITTERS = Number(process.env['COMMITTERS'] ?? 8);
const INCREMENTS = Number(process.env['INCREMENTS'] ?? 800);

/** A counter without a resolver: concurrent increments conflict and are retried. */
class PlainCounter extends Persistent {
  value = 0;
}
registerClass('bench.PlainCounter', PlainCounter);

type Kind = 'resolved' | 'retry';
type Setup = 'durable' | 'nosync' | 'memory';
interface Round {
  rate: number;
  attempts: number;
}
interface Figure {
  rate: number;
  attemptsPerIncrement: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const openLmdb = async (dir: string, setup: Setup): Promise<DB> =>
  DB.open(await LmdbStorage.open(dir, { durability: setup === 'nosync' ? 'none' : 'sync' }));

let attempts = 0;
function increment(conn: Connection): void {
  attempts++;
  const hot = conn.root().get('hot') as Counter | PlainCounter;
  if (hot instanceof Counter) hot.increment();
  else hot.value += 1;
}

async function committer(db: DB, next: () => boolean): Promise<void> {
  while (next()) await db.transact(increment, { attempts: 1_000_000 });
}

const newHot = (kind: Kind): Counter | PlainCounter => (kind === 'resolved' ? new Counter() : new PlainCounter());

async function finalValue(db: DB, kind: Kind): Promise<void> {
  const final = await db.transact((conn) => (conn.root().get('hot') as Counter | PlainCounter).value);
  if (final !== INCREMENTS) throw new Error(`${kind}: counted ${final}, expected ${INCREMENTS}`);
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tidal-bench-conflicts-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** COMMITTERS async committers in this process. */
function inProcessRound(setup: Setup): (kind: Kind) => Promise<Round> {
  const run = async (db: DB, kind: Kind): Promise<Round> => {
    try {
      await db.transact((conn) => conn.root().set('hot', newHot(kind)));
      attempts = 0;
      let started = 0;
      const next = (): boolean => started++ < INCREMENTS;
      const t = performance.now();
      await Promise.all(Array.from({ length: COMMITTERS }, () => committer(db, next)));
      const ms = performance.now() - t;
      await finalValue(db, kind);
      return { rate: Math.round((INCREMENTS * 1000) / ms), attempts };
    } finally {
      await db.close();
    }
  };
  return async (kind) => (setup === 'memory' ? run(await DB.open(new MemoryStorage()), kind) : withDir(async (dir) => run(await openLmdb(dir, setup), kind)));
}

/** COMMITTERS processes with one committer each, on durable LMDB; timed from "go" to the last "done". */
function multiProcessRound(kind: Kind): Promise<Round> {
  return withDir(async (dir) => {
    const setup = await openLmdb(dir, 'durable');
    await setup.transact((conn) => conn.root().set('hot', newHot(kind)));
    await setup.close();
    const self = fileURLToPath(import.meta.url);
    const share = Math.ceil(INCREMENTS / COMMITTERS);
    const children = Array.from({ length: COMMITTERS }, (_, i) => {
      const n = Math.max(0, Math.min(share, INCREMENTS - i * share));
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
    const check = await openLmdb(dir, 'durable');
    try {
      await finalValue(check, kind);
    } finally {
      await check.close();
    }
    return { rate: Math.round((INCREMENTS * 1000) / ms), attempts: counts.reduce((a, b) => a + b, 0) };
  });
}

/** Child process of `multiProcessRound`. */
async function worker(dir: string, n: number): Promise<void> {
  const db = await openLmdb(dir, 'durable');
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  let left = n;
  await committer(db, () => left-- > 0);
  process.stdout.write(`done ${attempts}\n`);
  await db.close();
  process.exit(0);
}

/** Both kinds, warmed up first, their rounds interleaved. */
async function measurePair(round: (kind: Kind) => Promise<Round>, rounds: number): Promise<Record<Kind, Figure>> {
  await round('resolved');
  await round('retry');
  const results: Record<Kind, Round[]> = { resolved: [], retry: [] };
  for (let i = 0; i < rounds; i++) {
    results.resolved.push(await round('resolved'));
    results.retry.push(await round('retry'));
  }
  const figure = (rs: Round[]): Figure => {
    const rate = median(rs.map((r) => r.rate));
    const mid = rs.find((r) => r.rate === rate) ?? (rs[0] as Round);
    return { rate, attemptsPerIncrement: Math.round((mid.attempts / INCREMENTS) * 100) / 100 };
  };
  return { resolved: figure(results.resolved), retry: figure(results.retry) };
}

async function main(): Promise<void> {
  console.log(
    `TidalDB conflict benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, one hot counter, ` +
      `${COMMITTERS} committers, ${INCREMENTS} increments per round, median of ${ROUNDS} rounds (${PROCESS_ROUNDS} with processes)`,
  );
  const figures: Record<string, number> = {};
  const report = (prefix: string, label: string, pair: Record<Kind, Figure>): void => {
    for (const [kind, name] of [['resolved', 'Counter (resolver)'], ['retry', 'PlainCounter (retries)']] as const) {
      const f = pair[kind];
      console.log(`  ${`${label}, ${name}`.padEnd(58)} ${String(f.rate).padStart(6)} increments/s  (${f.attemptsPerIncrement} attempts per increment)`);
    }
    figures[`${prefix}resolved_increments_per_s`] = pair.resolved.rate;
    figures[`${prefix}retry_increments_per_s`] = pair.retry.rate;
    figures[`${prefix}resolver_speedup`] = Math.round((pair.resolved.rate / pair.retry.rate) * 100) / 100;
    figures[`${prefix}retry_attempts_per_increment`] = pair.retry.attemptsPerIncrement;
  };
  report('', 'one process, LMDB durable', await measurePair(inProcessRound('durable'), ROUNDS));
  report('nosync_', 'one process, LMDB without fsync', await measurePair(inProcessRound('nosync'), ROUNDS));
  report('memory_', 'one process, MemoryStorage', await measurePair(inProcessRound('memory'), ROUNDS));
  if (PROCESS_ROUNDS > 0) report('multiprocess_', `${COMMITTERS} processes, LMDB durable`, await measurePair(multiProcessRound, PROCESS_ROUNDS));
  console.log(JSON.stringify(figures));
}

if (process.argv[2] === '--worker') await worker(process.argv[3] as string, Number(process.argv[4]));
else await main();
