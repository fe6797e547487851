// Several real processes on one LMDB environment: concurrent committers serialize correctly (tids
// strictly increasing, no commit lost, serial checks hold across processes), and every commit a
// process acknowledged survives a SIGKILL of that process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStorage, decodeRecord, parseOid, parseTid, type Oid, type Tid } from '@tidaldb/core';
import { commit, record } from '@tidaldb/core/testing';

const repoRoot = new URL('../..', import.meta.url).pathname;
const child = (name: string) => new URL(`./children/${name}`, import.meta.url).pathname;
const valueOf = (bytes: Uint8Array) => (decodeRecord(bytes).state as { v: unknown }).v;

const dirs: string[] = [];
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidal-multiprocess-'));
  dirs.push(dir);
  return dir;
}

/** Starts a TS child; `onLine` sees each complete stdout line as it arrives. */
function start(file: string, args: string[], onLine: (line: string) => void = () => {}) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child(file), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let pending = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    // 'close' fires after stdout has been drained, so every printed line has been seen.
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { proc, exited };
}

describe('several processes on one LMDB environment', () => {
  it('4 processes × 200 transactions: tids strictly increasing, no commit lost, the shared counter counts every increment', async () => {
    const dir = await tempDir();
    const setup = await LmdbStorage.open(dir);
    const counter = setup.newOid();
    await commit(setup, [{ oid: counter, readTid: null, data: record(0) }]);
    await setup.close();

    const workers = 4;
    const perWorker = 200;
    type Report = { tid: string; oid: string; value: string; counter: number; attempts: number };
    const reports: Report[] = [];
    const runs = Array.from({ length: workers }, (_, w) =>
      start('increment-worker.ts', [dir, String(w), String(perWorker), counter], (line) => reports.push(JSON.parse(line) as Report)),
    );
    for (const { exited } of runs) {
      const { code, stderr } = await exited;
      expect(code, stderr).toBe(0);
    }
    expect(reports).toHaveLength(workers * perWorker);
    // oids handed out concurrently by four processes never collide
    expect(new Set(reports.map((r) => r.oid)).size).toBe(workers * perWorker);

    const s = await LmdbStorage.open(dir, { readOnly: true });
    try {
      const log = [...s.iterator()];
      for (let i = 1; i < log.length; i++) expect(log[i]!.tid > log[i - 1]!.tid, `log position ${i}`).toBe(true);
      expect(log).toHaveLength(workers * perWorker + 1);
      const byTid = new Map(log.map((t) => [t.tid as string, t]));
      for (const r of reports) {
        const txn = byTid.get(r.tid);
        expect(txn?.description, `acknowledged ${r.value} at ${r.tid}`).toBe(r.value);
        expect(txn!.records.map((x) => x.oid).sort()).toEqual([parseOid(r.oid), counter].sort());
        expect(valueOf(s.loadSerial(parseOid(r.oid), parseTid(r.tid)))).toBe(r.value);
        expect(valueOf(s.load(parseOid(r.oid)).data)).toBe(r.value);
      }
      // Serial checks held across processes: in tid order the counter went 1, 2, 3, … with no
      // value written twice and none skipped.
      const counterValues = log.slice(1).map((t) => valueOf(t.records.find((x) => x.oid === counter)!.data!));
      expect(counterValues).toEqual(Array.from({ length: workers * perWorker }, (_, i) => i + 1));
      expect(valueOf(s.load(counter).data)).toBe(workers * perWorker);
      const retried = reports.filter((r) => r.attempts > 1).length;
      console.info(`multiprocess: ${reports.length} commits, ${retried} needed a retry after ConflictError`);
    } finally {
      await s.close();
    }
  });

  it('every commit acknowledged before a SIGKILL is there after reopening', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), async (killAfter) => {
        const dir = await tempDir();
        const setup = await LmdbStorage.open(dir);
        const logOid = setup.newOid();
        await commit(setup, [{ oid: logOid, readTid: null, data: record(-1) }]);
        await setup.close();

        const acked: Array<{ tid: Tid; oid: Oid; value: string }> = [];
        let killed = false;
        const run = start('acknowledging-committer.ts', [dir, logOid], (line) => {
          const [tid, oid, ...value] = line.split(' ');
          acked.push({ tid: parseTid(tid!), oid: parseOid(oid!), value: value.join(' ') });
          if (acked.length >= killAfter && !killed) {
            killed = true;
            run.proc.kill('SIGKILL');
          }
        });
        const { signal, stderr } = await run.exited;
        expect(signal, stderr).toBe('SIGKILL');
        expect(acked.length).toBeGreaterThanOrEqual(killAfter);

        const s = await LmdbStorage.open(dir);
        try {
          for (const a of acked) expect(valueOf(s.loadSerial(a.oid, a.tid)), `acknowledged ${a.value}`).toBe(a.value);
          const last = acked.at(-1)!;
          expect(s.lastTransaction() >= last.tid).toBe(true);
          // The log object is at least as new as the last acknowledgement (one more commit may
          // have landed between the last printed line and the kill).
          const logValue = valueOf(s.load(logOid).data) as number;
          expect(logValue).toBeGreaterThanOrEqual(acked.length - 1);
          expect(logValue).toBeLessThanOrEqual(acked.length);
          const tids = [...s.iterator()].map((t) => t.tid);
          for (let i = 1; i < tids.length; i++) expect(tids[i]! > tids[i - 1]!).toBe(true);
          // and the environment still takes commits
          await commit(s, [{ oid: logOid, readTid: s.load(logOid).tid, data: record('after the crash') }]);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 3 },
    );
  });
});
