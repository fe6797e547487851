// Child process of multiprocess.test.ts: opens and closes the LMDB env at `dir` over and over —
// alternately read-only and writable, as processes starting and stopping do — until its stdin
// ends. Prints the number of cycles when done.
import { LmdbStorage } from '@tidaldb/core';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: open-close <dir>');
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
let cycles = 0;
while (!stop) {
  const storage = await LmdbStorage.open(dir, { readOnly: cycles % 2 === 0 });
  storage.lastTransaction();
  await storage.close();
  cycles++;
}
process.stdout.write(`${cycles}\n`);
