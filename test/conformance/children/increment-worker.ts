// Child process of multiprocess.test.ts: commits `count` transactions to the LMDB env at `dir`,
// each writing a new object of its own and incrementing the shared counter at `counterOid`.
// mode "retry": on top of the revision it just read (serial check, no resolver), retrying on
// ConflictError. mode "resolve": always on top of the revision it read once at start (stale on
// purpose), with a counter resolver installed, so every commit after the first merges across
// processes. With a sixth argument "one-phase", commits with tpcCommitOnePhase instead of vote and
// finish. Prints one JSON line per acknowledged commit: { tid, oid, value, attempts, resolved }.
import { ConflictError, LmdbStorage, decodeRecord, encodeRecord, parseOid, type ConflictResolver, type Oid } from '@tidaldb/core';

const [dir, worker, countText, counterText, mode, phases = 'two-phase'] = process.argv.slice(2);
if (!dir || !worker || !countText || !counterText || (mode !== 'retry' && mode !== 'resolve')) {
  throw new Error('usage: increment-worker <dir> <worker> <count> <counterOid> retry|resolve');
}
const count = Number(countText);
const counterOid = parseOid(counterText);
const MAX_ATTEMPTS = 10_000;

const valueOf = (bytes: Uint8Array) => (decodeRecord(bytes).state as { v: unknown }).v;
const encode = (v: unknown) => encodeRecord('test.Value', { v, refs: [] });
const counterResolver: ConflictResolver = {
  resolve: ({ old, committed, mine }) =>
    encode((valueOf(committed) as number) + (valueOf(mine) as number) - (old ? (valueOf(old) as number) : 0)),
};

const storage = await LmdbStorage.open(dir);
if (mode === 'resolve') storage.setConflictResolver(counterResolver);
const startedAt = storage.load(counterOid);

for (let i = 0; i < count; i++) {
  const oid: Oid = storage.newOid();
  const value = `${worker}:${i}`;
  for (let attempts = 1; ; attempts++) {
    if (attempts > MAX_ATTEMPTS) throw new Error(`${value}: no progress after ${MAX_ATTEMPTS} attempts`);
    // As a Connection does at each transaction boundary: poll, then read the current revision.
    storage.poll(storage.lastTransaction());
    const read = mode === 'retry' ? storage.load(counterOid) : startedAt;
    const txn = storage.tpcBegin({ user: `/ worker${worker}`, description: value, extension: { attempts } });
    try {
      storage.store(txn, oid, null, encode(value));
      storage.store(txn, counterOid, read.tid, encode((valueOf(read.data) as number) + 1));
      let resolved, tid;
      if (phases === 'one-phase') ({ tid, resolved } = await storage.tpcCommitOnePhase(txn));
      else {
        resolved = await storage.tpcVote(txn);
        tid = await storage.tpcFinish(txn);
      }
      process.stdout.write(JSON.stringify({ tid, oid, value, attempts, resolved }) + '\n');
      break;
    } catch (err) {
      await storage.tpcAbort(txn);
      if (mode === 'resolve' || !ConflictError.is(err) || err.oid !== counterOid) throw err;
    }
  }
}
await storage.close();
