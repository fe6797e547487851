// Child process of multiprocess-counter-btree.test.ts. Opens the LMDB database at <dir>, prints
// "ready", waits for "go" on stdin (so all workers start together), then runs <count>
// transactions through db.transact, each incrementing the shared Counter at root 'count' and
// inserting its own key into the shared BTree at root 'tree'. Prints one JSON line at the end:
// { worker, committed, escaped, attempts, resolved } — escaped = ConflictErrors that db.transact
// gave up on, attempts = every run of the transaction function (retries included).
import { once } from 'node:events';
import { ConflictError, DB, LmdbStorage, type BTree, type Counter } from '@tidaldb/core';

const [dir, worker, countText, attemptsText] = process.argv.slice(2);
if (!dir || !worker || !countText || !attemptsText) throw new Error('usage: counter-btree-worker <dir> <worker> <count> <attempts>');
const count = Number(countText);

const db = await DB.open(await LmdbStorage.open(dir, { durability: 'none' }));
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8');
await once(process.stdin, 'data');
process.stdin.pause();

let committed = 0;
let escaped = 0;
let attempts = 0;
for (let i = 0; i < count; i++) {
  try {
    await db.transact(
      (conn) => {
        attempts++;
        (conn.root().get('count') as Counter).increment();
        (conn.root().get('tree') as BTree<string, number>).set(`w${worker}-${String(i).padStart(4, '0')}`, i);
      },
      { attempts: Number(attemptsText), description: `worker ${worker} #${i}` },
    );
    committed++;
  } catch (err) {
    if (!ConflictError.is(err)) throw err;
    escaped++;
  }
}
const resolved = Object.fromEntries(Object.entries(db.conflictStats()).map(([name, s]) => [name, s.resolved]));
process.stdout.write(JSON.stringify({ worker: Number(worker), committed, escaped, attempts, resolved }) + '\n');
await db.close();
