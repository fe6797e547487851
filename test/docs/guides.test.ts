/**
 * Every guide in docs/guide is a program: its ```ts blocks, concatenated in order, must run to
 * completion. A block fenced as ```ts no-run is shown but not executed (for fragments that cannot
 * run alone). Blocks import from the public entry points, exactly as a reader would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const guideDir = join(root, 'docs/guide');
// Inside the repo so that `@tidaldb/*` imports resolve through the workspace.
const scratch = mkdtempSync(join(root, 'test/docs/.tmp-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

export function runnableBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const fence = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm;
  for (const match of markdown.matchAll(fence)) {
    if (!/\bno-run\b/.test(match[2] ?? '')) blocks.push(match[3] ?? '');
  }
  return blocks;
}

const guides = readdirSync(guideDir).filter((f) => f.endsWith('.md'));

describe('docs/guide code blocks', () => {
  it('finds guides to check', () => {
    expect(guides.length).toBeGreaterThan(0);
  });

  for (const guide of guides) {
    const blocks = runnableBlocks(readFileSync(join(guideDir, guide), 'utf8'));
    it.skipIf(blocks.length === 0)(`${guide}: its code blocks run to completion`, async () => {
      const file = join(scratch, guide.replace(/\.md$/, '.ts'));
      // Each guide runs in a fresh working directory so ./data paths in examples stay isolated.
      const cwd = mkdtempSync(join(scratch, 'cwd-'));
      writeFileSync(file, blocks.join('\n'));
      const { stderr } = await run(process.execPath, ['--import', 'tsx', file], { cwd, timeout: 60_000 });
      expect(stderr).toBe('');
    });
  }
});
