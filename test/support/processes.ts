// Shared plumbing of the tests that use real files and real processes: temporary directories
// and TypeScript child processes, all cleaned up after each test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const repoRoot = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(prefix = 'tidal-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** How a child process ended, once its output is drained. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** A running child process with line-wise stdout. */
export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the next stdout line (lines are queued, none is lost); only without `onLine`. */
  nextLine(): Promise<string>;
  /** Resolves when the child has exited and its output is drained. */
  readonly exited: Promise<Exit>;
  send(line: string): void;
}

/**
 * Starts the TypeScript file `file` under tsx from the repository root; killed after the test if
 * still running. `onLine`, when given, sees each complete stdout line as it arrives (instead of
 * `nextLine`).
 */
export function startChild(file: URL, args: readonly string[], onLine?: (line: string) => void): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file.pathname, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  const deliver =
    onLine ??
    ((line: string): void => {
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    });
  let pending = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      deliver(line);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close' fires after stdout has been drained, so every printed line has been seen.
  const exited = new Promise<Exit>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return {
    proc,
    exited,
    nextLine: () =>
      new Promise<string>((resolve, reject) => {
        const line = lines.shift();
        if (line !== undefined) return resolve(line);
        waiting.push(resolve);
        void exited.then((e) => reject(new Error(`child ${file.pathname} exited (${e.code ?? e.signal}) before printing a line: ${e.stderr}`)));
      }),
    send: (line) => proc.stdin.write(`${line}\n`),
  };
}
