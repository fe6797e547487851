// Storage benchmark (issue 2): LmdbStorage against raw lmdb-js, measured in the same run.
//   commit_vs_raw        durable single-object commits/s (~100 B; tpcBegin/store/tpcCommitOnePhase,
//                        the path of every transaction whose only participant is the storage)
//                        ÷ raw `transactionSync(() => { db.put(k, v); })` commits/s      target ≥ 0.7
//   two_phase_commit_vs_raw  the same through tpcBegin/store/tpcVote/tpcFinish (the path of a
//                        transaction with several participants; reference, no target)
//   group_commit_speedup 16 concurrent committers (distinct oids) ÷ our single rate       target ≥ 4
//   load_vs_raw          load() of current ~100-byte states ÷ raw binary get()            target ≥ 0.5
// The machine is shared and noisy, so the series are measured in short alternating bursts after
// a warm-up: each round runs one burst of every series back to back, a ratio is taken per round,
// and the figures are the medians over the rounds. Ends with one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbStorage, encodeRecord, type Oid, type Tid, type TransactionMetadata } from '@tidaldb/core';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const BURST = Number(process.env.BURST ?? 200);
const CONCURRENT = 16;
const LOAD_OBJECTS = 10_000;
const LOAD_BURST = 200_000;

const state = (i: number): Uint8Array => encodeRecord('bench.Item', { i, title: `item number ${i}`, tags: ['a', 'b'], note: 'x'.repeat(40) });
const STATE_SIZE = state(0).byteLength;
const meta = (): TransactionMetadata => ({ user: '/ bench', description: 'bench', extension: {} });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const timed = async (n: number, fn: () => unknown): Promise<number> => {
  const t = performance.now();
  await fn();
  return (n * 1000) / (performance.now() - t);
};

type Phases = 'one' | 'two';

/** One committer: `n` single-object commits over its own oids. */
async function committer(s: LmdbStorage, oids: readonly Oid[], serials: Map<Oid, Tid | null>, n: number, data: Uint8Array, start: number, phases: Phases = 'one'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const oid = oids[(start + i) % oids.length] as Oid;
    const txn = s.tpcBegin(meta());
    s.store(txn, oid, serials.get(oid) ?? null, data);
    if (phases === 'one') {
      serials.set(oid, (await s.tpcCommitOnePhase(txn)).tid);
    } else {
      await s.tpcVote(txn);
      serials.set(oid, await s.tpcFinish(txn));
    }
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tidal-bench-'));
  try {
    const data = state(1);
    // Raw baseline: lmdb-js defaults, one durable transactionSync with one put per commit.
    const env = open({ path: join(dir, 'raw') });
    const raw = env.openDB<Uint8Array, string>({ name: 'raw', encoding: 'binary' });
    let rawI = 0;
    const rawBurst = (n: number): void => {
      for (let i = 0; i < n; i++, rawI++) {
        env.transactionSync(() => {
          void raw.put(`k${rawI % 1000}`, data);
        });
      }
    };
    // Reference (not a target): raw lmdb-js doing our write pattern per commit — one durable write
    // to three databases — to show what the design costs apart from our code.
    const patternEnv = open({ path: join(dir, 'pattern'), overlappingSync: false, maxDbs: 8 });
    const pdb = Object.fromEntries(
      ['revisions', 'current', 'transactions', 'locks'].map((name) => [name, patternEnv.openDB<Uint8Array, string>({ name, encoding: 'binary' })]),
    ) as Record<'revisions' | 'current' | 'transactions' | 'locks', ReturnType<typeof patternEnv.openDB<Uint8Array, string>>>;
    let patternTid = 1n << 50n;
    const patternBurst = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const oid = (i % 1000).toString(16).padStart(16, '0');
        const tid = (patternTid++).toString(16).padStart(16, '0');
        patternEnv.transactionSync(() => {
          void pdb.revisions.put(oid + tid, data);
          void pdb.current.put(oid, data);
          void pdb.transactions.put(tid, data.subarray(0, 30));
        });
      }
    };
    const s = await LmdbStorage.open(join(dir, 'ours'));
    const serials = new Map<Oid, Tid | null>();
    const single = Array.from({ length: 1000 }, () => s.newOid());
    const groups = Array.from({ length: CONCURRENT }, () => Array.from({ length: 100 }, () => s.newOid()));
    let singleI = 0;
    let groupI = 0;
    const singleBurst = async (n: number, phases: Phases = 'one'): Promise<void> => {
      await committer(s, single, serials, n, data, singleI, phases);
      singleI += n;
    };
    const groupBurst = async (n: number): Promise<void> => {
      const per = Math.ceil(n / CONCURRENT);
      await Promise.all(groups.map((oids) => committer(s, oids, serials, per, data, groupI)));
      groupI += per;
    };

    rawBurst(300);
    patternBurst(300);
    await singleBurst(300);
    await singleBurst(300, 'two');
    await groupBurst(1600);
    const rates = { raw: [] as number[], pattern: [] as number[], single: [] as number[], twoPhase: [] as number[], group: [] as number[] };
    const ratios = { commit: [] as number[], twoPhase: [] as number[], pattern: [] as number[], group: [] as number[] };
    let groupCommits = 0;
    let groupFlushes = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const rr = await timed(BURST, () => rawBurst(BURST));
      const pr = await timed(BURST, () => patternBurst(BURST));
      const sr = await timed(BURST, () => singleBurst(BURST));
      const tr = await timed(BURST, () => singleBurst(BURST, 'two'));
      const before = s.stats();
      const gr = await timed(BURST * 4, () => groupBurst(BURST * 4));
      const after = s.stats();
      groupCommits += after.commits - before.commits;
      groupFlushes += after.flushes - before.flushes;
      rates.raw.push(rr);
      rates.pattern.push(pr);
      rates.single.push(sr);
      ratios.pattern.push(pr / rr);
      rates.group.push(gr);
      ratios.commit.push(sr / rr);
      rates.twoPhase.push(tr);
      ratios.twoPhase.push(tr / rr);
      ratios.group.push(gr / sr);
    }

    // Loads: the same bytes under the same keys, read in the same order.
    const loadOids: Oid[] = [];
    const txn = s.tpcBegin(meta());
    for (let i = 0; i < LOAD_OBJECTS; i++) {
      const oid = s.newOid();
      loadOids.push(oid);
      s.store(txn, oid, null, state(i));
    }
    await s.tpcCommitOnePhase(txn);
    env.transactionSync(() => {
      for (let i = 0; i < LOAD_OBJECTS; i++) void raw.put(loadOids[i] as string, state(i));
    });
    let sink = 0;
    const ourLoads = (n: number): void => {
      for (let i = 0; i < n; i++) sink += s.load(loadOids[(i * 7919) % LOAD_OBJECTS] as Oid).data.length;
    };
    const rawGets = (n: number): void => {
      for (let i = 0; i < n; i++) sink += (raw.get(loadOids[(i * 7919) % LOAD_OBJECTS] as string) as Uint8Array).length;
    };
    ourLoads(LOAD_BURST);
    rawGets(LOAD_BURST);
    const loadRates = { raw: [] as number[], ours: [] as number[], ratio: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const g = await timed(LOAD_BURST, () => rawGets(LOAD_BURST));
      const l = await timed(LOAD_BURST, () => ourLoads(LOAD_BURST));
      loadRates.raw.push(g);
      loadRates.ours.push(l);
      loadRates.ratio.push(l / g);
    }
    if (sink === 0) throw new Error('nothing was loaded');
    await s.close();
    await env.close();
    await patternEnv.close();

    const figures = {
      commit_vs_raw: +median(ratios.commit).toFixed(3),
      group_commit_speedup: +median(ratios.group).toFixed(3),
      load_vs_raw: +median(loadRates.ratio).toFixed(3),
      raw_commits_per_s: Math.round(median(rates.raw)),
      raw_pattern_vs_raw: +median(ratios.pattern).toFixed(3),
      commits_per_s: Math.round(median(rates.single)),
      two_phase_commit_vs_raw: +median(ratios.twoPhase).toFixed(3),
      two_phase_commits_per_s: Math.round(median(rates.twoPhase)),
      group_commits_per_s: Math.round(median(rates.group)),
      group_commits_per_flush: +(groupCommits / Math.max(1, groupFlushes)).toFixed(1),
      raw_gets_per_s: Math.round(median(loadRates.raw)),
      loads_per_s: Math.round(median(loadRates.ours)),
      state_bytes: STATE_SIZE,
      rounds: ROUNDS,
    };
    const row = (what: string, ours: string, base: string, ratio: string, target: string): string =>
      `${what.padEnd(46)} ${ours.padStart(10)} ${base.padStart(11)} ${ratio.padStart(7)} ${target.padStart(7)}`;
    console.log(`TidalDB storage benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
    console.log(`${ROUNDS} rounds of alternating bursts (${BURST} commits, ${LOAD_BURST} loads); medians; ratios per round`);
    console.log(row('figure', 'ours/s', 'baseline/s', 'ratio', 'target'));
    console.log(row('durable 1-object commits vs raw lmdb-js', String(figures.commits_per_s), String(figures.raw_commits_per_s), String(figures.commit_vs_raw), '≥ 0.7'));
    console.log(row('  reference: the same in two phases', String(figures.two_phase_commits_per_s), String(figures.raw_commits_per_s), String(figures.two_phase_commit_vs_raw), ''));
    console.log(row('  reference: raw lmdb-js with our write pattern', String(Math.round(median(rates.pattern))), String(figures.raw_commits_per_s), String(figures.raw_pattern_vs_raw), ''));
    console.log(
      row(`${CONCURRENT} concurrent committers vs our single`, String(figures.group_commits_per_s), String(figures.commits_per_s), String(figures.group_commit_speedup), '≥ 4'),
    );
    console.log(row(`load of ${STATE_SIZE}-byte states vs raw get`, String(figures.loads_per_s), String(figures.raw_gets_per_s), String(figures.load_vs_raw), '≥ 0.5'));
    console.log(`group commit: ${figures.group_commits_per_flush} commits per durable flush`);
    console.log(JSON.stringify(figures));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
