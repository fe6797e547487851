// Shared plumbing of the storage tests: temporary directories and TypeScript child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Storage, StorageTransaction } from '@tidaldb/core';

const repoRoot = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidal-storage-'));
  dirs.push(dir);
  return dir;
}

/** A running child process with line-wise stdout. */
export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the next stdout line (lines are queued, none is lost). */
  nextLine(): Promise<string>;
  /** Resolves when the child has exited and its output is drained. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  send(line: string): void;
}

/** Starts `test/storage/children/<name>` under tsx; killed after the test if still running. */
export function startChild(name: string, args: readonly string[]): Child {
  const file = new URL(`./children/${name}`, import.meta.url).pathname;
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let pending = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return {
    proc,
    exited,
    nextLine: () =>
      new Promise<string>((resolve, reject) => {
        const line = lines.shift();
        if (line !== undefined) return resolve(line);
        waiting.push(resolve);
        void exited.then((e) => reject(new Error(`child ${name} exited (${e.code ?? e.signal}) before printing a line: ${e.stderr}`)));
      }),
    send: (line) => proc.stdin.write(`${line}\n`),
  };
}

/** Begins a storage transaction with plain metadata. */
export function begin(storage: Storage, description = 'test'): StorageTransaction {
  return storage.tpcBegin({ user: '/ tester', description, extension: {} });
}

// Shared with the public conformance harness: one implementation.
export { settle, drainEventLoop, expectIncreasing, type Settled } from '@tidaldb/core/testing';
