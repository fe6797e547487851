// Child process of multiprocess.test.ts: writes `value` to `oid` on top of its current revision in
// the LMDB env at `dir`, prints the new tid and exits.
import { LmdbStorage, encodeRecord, parseOid } from '@tidaldb/core';

const [dir, oidText, value] = process.argv.slice(2);
if (!dir || !oidText || value === undefined) throw new Error('usage: put-once <dir> <oid> <value>');
const oid = parseOid(oidText);
const storage = await LmdbStorage.open(dir);
const txn = storage.tpcBegin({ user: '/ other process', description: `put ${value}`, extension: {} });
storage.store(txn, oid, storage.load(oid).tid, encodeRecord('test.Value', { v: value, refs: [] }));
await storage.tpcVote(txn);
const tid = await storage.tpcFinish(txn);
await storage.close();
process.stdout.write(`${tid}\n`);
