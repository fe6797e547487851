// Child of read-only.test.ts: keeps the LMDB env at `dir` open read-write. For each stdin line
// "commit <value>" it writes <value> to one object (created at start) and prints "<oid> <tid>".
import { createInterface } from 'node:readline';
import { LmdbStorage, encodeRecord, type Tid } from '@tidaldb/core';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: writer <dir>');
const storage = await LmdbStorage.open(dir);
const oid = storage.newOid();
let serial: Tid | null = null;
for await (const line of createInterface({ input: process.stdin })) {
  const [command, value] = line.split(' ');
  if (command !== 'commit') continue;
  const txn = storage.tpcBegin({ user: '/ writer', description: `commit ${value}`, extension: {} });
  storage.store(txn, oid, serial, encodeRecord('test.Value', { v: value, refs: [] }));
  await storage.tpcVote(txn);
  serial = await storage.tpcFinish(txn);
  process.stdout.write(`${oid} ${serial}\n`);
}
await storage.close();
