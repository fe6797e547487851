// Child process of multiprocess.test.ts: commits `count` transactions to the LMDB env at `dir`,
// each writing a new object of its own and incrementing the shared counter at `counterOid` on top
// of the revision it read (serial check, no resolver), retrying on ConflictError. Prints one JSON
// line per acknowledged commit: { tid, oid, value, counter, attempts }.
import { ConflictError, LmdbStorage, encodeRecord, decodeRecord, parseOid, type Oid } from '@tidaldb/core';

const [dir, worker, countText, counterText] = process.argv.slice(2);
if (!dir || !worker || !countText || !counterText) throw new Error('usage: increment-worker <dir> <worker> <count> <counterOid>');
const count = Number(countText);
const counterOid = parseOid(counterText);
const MAX_ATTEMPTS = 10_000;

const storage = await LmdbStorage.open(dir);
const valueOf = (bytes: Uint8Array) => (decodeRecord(bytes).state as { v: unknown }).v;

for (let i = 0; i < count; i++) {
  const oid: Oid = storage.newOid();
  const value = `${worker}:${i}`;
  for (let attempts = 1; ; attempts++) {
    if (attempts > MAX_ATTEMPTS) throw new Error(`${value}: no progress after ${MAX_ATTEMPTS} attempts`);
    // poll as a Connection does at a transaction boundary, then read the counter's current revision
    storage.poll(storage.lastTransaction());
    const current = storage.load(counterOid);
    const counter = (valueOf(current.data) as number) + 1;
    const txn = storage.tpcBegin({ user: `/ worker${worker}`, description: value, extension: { attempts } });
    try {
      storage.store(txn, oid, null, encodeRecord('test.Value', { v: value, refs: [] }));
      storage.store(txn, counterOid, current.tid, encodeRecord('test.Value', { v: counter, refs: [] }));
      await storage.tpcVote(txn);
      const tid = await storage.tpcFinish(txn);
      process.stdout.write(JSON.stringify({ tid, oid, value, counter, attempts }) + '\n');
      break;
    } catch (err) {
      await storage.tpcAbort(txn);
      if (!ConflictError.is(err) || err.oid !== counterOid) throw err;
    }
  }
}
await storage.close();
