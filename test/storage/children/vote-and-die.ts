// Child of commit-locks.test.ts: votes a transaction writing `oid` (so it holds its commit lock),
// says "voted", then dies by SIGKILL without finishing or aborting: its lock is left behind.
import { LmdbStorage, encodeRecord, parseOid, parseTid } from '@tidaldb/core';

const [dir, oidText, readTidText] = process.argv.slice(2);
if (!dir || !oidText || !readTidText) throw new Error('usage: vote-and-die <dir> <oid> <readTid>');
const storage = await LmdbStorage.open(dir);
const txn = storage.tpcBegin({ user: '/ doomed', description: 'never finished', extension: {} });
storage.store(txn, parseOid(oidText), parseTid(readTidText), encodeRecord('test.Value', { v: 'lost', refs: [] }));
await storage.tpcVote(txn);
process.stdout.write('voted\n');
process.kill(process.pid, 'SIGKILL');
