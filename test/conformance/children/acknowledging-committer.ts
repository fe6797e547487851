// Child process of multiprocess.test.ts: commits forever to the LMDB env at `dir` (durable by
// default) and prints "<tid> <oid> <value>" once each tpcFinish has resolved — an acknowledged
// commit — until the parent kills it with SIGKILL. Each transaction creates an object and rewrites
// a log object, so both new and updated revisions are checked. With a third argument "one-phase",
// commits with tpcCommitOnePhase instead of vote and finish.
import { LmdbStorage, encodeRecord, parseOid } from '@tidaldb/core';

const [dir, logOidText, phases = 'two-phase'] = process.argv.slice(2);
if (!dir || !logOidText) throw new Error('usage: acknowledging-committer <dir> <logOid>');
const storage = await LmdbStorage.open(dir);
const logOid = parseOid(logOidText);

for (let i = 0; ; i++) {
  const oid = storage.newOid();
  const value = `ack ${i}`;
  const txn = storage.tpcBegin({ user: '/ committer', description: value, extension: {} });
  storage.store(txn, oid, null, encodeRecord('test.Value', { v: value, refs: [] }));
  storage.store(txn, logOid, storage.load(logOid).tid, encodeRecord('test.Value', { v: i, refs: [] }));
  let tid;
  if (phases === 'one-phase') ({ tid } = await storage.tpcCommitOnePhase(txn));
  else {
    await storage.tpcVote(txn);
    tid = await storage.tpcFinish(txn);
  }
  // a pipe write is synchronous on Linux: the line is out before the next commit starts
  process.stdout.write(`${tid} ${oid} ${value}\n`);
}
