/**
 * The demo behind `pnpm demo`: opens (or creates) an LMDB database under ./data/demo, commits a few
 * transactions the way an application would — persistent classes, a BTree, a Counter, a merged
 * conflict — and prints the transaction log with what each transaction wrote.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { BTree, Counter, DB, Persistent, UnsupportedFormatError, classNameOf, registerClass, tidAfter, tidToDate } from '@tidaldb/core';

/** A class with declared fields: no Proxy, reads as fast as a getter. */
class Account extends Persistent.withFields({ owner: '', balance: 0 }) {}
registerClass('demo.Account', Account);

/** The demo's own database; one left by an older TidalDB with another on-disk format is started afresh. */
async function openDemoDb(path: string): Promise<DB> {
  try {
    return await DB.open(path);
  } catch (err) {
    if (!UnsupportedFormatError.is(err)) throw err;
    console.log(`${path} holds a database of format ${String(err.found)}, which this version does not read: starting a new one.\n`);
    rmSync(path, { recursive: true, force: true });
    return DB.open(path);
  }
}

mkdirSync('data', { recursive: true });
const db = await openDemoDb('data/demo');
const startTid = db.lastTransaction();

await db.transact(
  (conn) => {
    const root = conn.root();
    if (!root.has('accounts')) root.set('accounts', new BTree<string, Account>());
    if (!root.has('transfers')) root.set('transfers', new Counter());
  },
  { user: 'demo', description: 'set up accounts and the transfer counter' },
);

await db.transact(
  (conn) => {
    const accounts = conn.root().get('accounts') as BTree<string, Account>;
    for (const owner of ['alice', 'bob']) if (!accounts.has(owner)) accounts.set(owner, new Account({ owner, balance: 100 }));
  },
  { user: 'demo', description: 'open accounts for alice and bob' },
);

// Two transfers run concurrently. Both write the same two accounts, so the later commit gets a
// ConflictError and db.transact retries it on a fresh snapshot; the shared Counter alone would
// have merged (its class resolves concurrent increments).
async function transfer(from: string, to: string, amount: number): Promise<void> {
  await db.transact(
    (conn) => {
      const accounts = conn.root().get('accounts') as BTree<string, Account>;
      const a = accounts.get(from)!;
      const b = accounts.get(to)!;
      a.balance -= amount;
      b.balance += amount;
      (conn.root().get('transfers') as Counter).increment();
    },
    { user: 'demo', description: `transfer ${amount} from ${from} to ${to}` },
  );
}
await Promise.all([transfer('alice', 'bob', 10), transfer('bob', 'alice', 5)]);

const summary = await db.transact((conn) => {
  const accounts = conn.root().get('accounts') as BTree<string, Account>;
  const balances = [...accounts.entries()].map(([owner, acct]) => `${owner}=${acct.balance}`).join(' ');
  return `${balances}; transfers so far: ${(conn.root().get('transfers') as Counter).value}`;
});

console.log(`TidalDB demo — database ${db.storage.name}\n`);
console.log('Transactions committed by this run:');
for (const txn of db.storage.iterator(tidAfter(startTid))) {
  console.log(`  ${txn.tid}  ${tidToDate(txn.tid).toISOString()}  ${txn.user || '-'}  ${txn.description}`);
  for (const record of txn.records) {
    console.log(`      ${record.oid}  ${record.data ? classNameOf(record.data) : '(removed)'}  ${record.data?.length ?? 0} B`);
  }
}
console.log(`\nNow: ${summary}`);
await db.close();
