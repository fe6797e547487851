// Child of oids.test.ts: allocates `count` oids from the LMDB env at `dir`, yielding to the event
// loop now and then so that processes interleave, and prints them as one JSON array.
import { LmdbStorage } from '@tidaldb/core';

const [dir, countText] = process.argv.slice(2);
if (!dir || !countText) throw new Error('usage: allocate-oids <dir> <count>');
const storage = await LmdbStorage.open(dir);
const oids: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  oids.push(storage.newOid());
  if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await storage.close();
process.stdout.write(`${JSON.stringify(oids)}\n`);
