// Objects benchmark (issue 3), in the manner of zodbshootout: OBJECTS persistent objects of about
// 300 bytes of state per transaction, on LmdbStorage (durable commits, temp dir), through the
// public API only. Objects per second for:
//   add      db.transact: add OBJECTS new objects to an empty container and commit
//            (a PersistentMap, or a BTree with CONTAINER=btree)
//   update   db.transact: change one property of each object and commit (connection cache intact)
//   cold     DB and storage closed and reopened (untimed); then open a connection, read one
//            property of every object, close it
//   hot      the same read after cacheMinimize() (every object a ghost, storage warm)
//   steamin  the same read with every object cached
// and the cost of an empty transaction (tm.begin() + await tm.commit() on a connection's manager).
// As in zodbshootout, a read includes db.open() and close(). Baselines in the same run:
//   cold_vs_raw       cold ÷ raw lmdb-js get() + msgpackr unpack() of the same record bytes
//                     (copied into a binary lmdb db), same order                        target ≥ 0.5
//   steamin_vs_plain  steamin ÷ the same read over plain class instances in plain Maps   target ≥ 0.3
// Also printed, to show where the time goes: the steamin loop alone on an open connection, the
// same loop over bare Proxies with no traps (the floor of any Proxy-based design), and raw
// lmdb-js putting the add's 1000 records in one durable transactionSync (a floor for add).
// Python ZODB on FileStorage, measured on this machine (issue 3), for the ×python column.
// WARMUP_ROUNDS (3) rounds first: the JIT needs them. Each figure is the median of its samples over
// ROUNDS (21) rounds; a run takes a few seconds. OBJECTS (1000) per transaction. Ends with one
// JSON line. Profiling findings: docs/performance.md, "Objects".
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { unpack } from 'msgpackr';
import {
  BTree,
  DB,
  LmdbStorage,
  Persistent,
  PersistentMap,
  ROOT_OID,
  TransactionManager,
  classNameOf,
  encodeRecord,
  referencesOf,
  registerClass,
  type Oid,
} from '@tidaldb/core';
import { formatRate, machineLine, printJsonLine, printTable } from './lib/report.ts';
import { median, perSecond, round, timeNs, timeNsAsync } from './lib/stats.ts';
import { withTempDir } from './lib/temp-dir.ts';

const OBJECTS = Number(process.env['OBJECTS'] ?? 1000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 21);
const WARMUP_ROUNDS = Number(process.env['WARMUP_ROUNDS'] ?? 3);
const CONTAINER = process.env['CONTAINER'] === 'btree' ? 'btree' : 'map';
/** Reads per sample for the fast tests, so a sample lasts well above timer and scheduling noise. */
const STEAMIN_READS = 50;
const HOT_SAMPLES = 3;
const COLD_SAMPLES = 2;
const EMPTY_TXNS = 2000;
const PYTHON = { add: 47_000, update: 61_000, cold: 81_000, hot: 85_000, steamin: 4_000_000 };
const OBJECT_BYTES = 300;

/**
 * The stored object: a counter and a payload, ~300 bytes as a record (zodbshootout's default
 * size). By default a class with declared fields (no Proxy, the recommended kind); ITEM=proxy
 * measures the same object as a Proxy-tracked class.
 */
class DeclaredItem extends Persistent.withFields({ n: 0, data: '' }) {
  constructor(n: number, data: string) {
    super();
    this.n = n;
    this.data = data;
  }
}
class ProxyItem extends Persistent {
  n: number;
  data: string;
  constructor(n: number, data: string) {
    super();
    this.n = n;
    this.data = data;
  }
}
const ITEM_KIND = process.env['ITEM'] === 'proxy' ? 'proxy' : 'declared';
const Item = ITEM_KIND === 'proxy' ? ProxyItem : DeclaredItem;
type Item = DeclaredItem | ProxyItem;
registerClass('bench.Item', Item);

/** The same shape as a plain class, for the steamin baseline. */
class PlainItem {
  n: number;
  data: string;
  constructor(n: number, data: string) {
    this.n = n;
    this.data = data;
  }
}

/** The payload that makes an Item record OBJECT_BYTES long. */
function payload(): string {
  const overhead = encodeRecord('bench.Item', { n: 100_000, data: '' }).byteLength;
  const length = Math.max(0, OBJECT_BYTES - overhead - 2); // msgpack str8/str16 header
  let s = '';
  for (let i = 0; s.length < length; i++) s += String.fromCharCode(97 + ((i * 7) % 26));
  return s;
}
const PAYLOAD = payload();
const RECORD_BYTES = encodeRecord('bench.Item', { n: 100_000, data: PAYLOAD }).byteLength;

interface Container {
  values(): Iterable<Item>;
}
const newContainer = (): PersistentMap<Item> | BTree<number, Item> => (CONTAINER === 'btree' ? new BTree<number, Item>() : new PersistentMap<Item>());
function put(container: Container, i: number, item: Item): void {
  if (container instanceof BTree) (container as BTree<number, Item>).set(i, item);
  else (container as PersistentMap<Item>).set(String(i), item);
}

/** What every read must sum to after one update (n = i + 1). */
const EXPECTED = (OBJECTS * (OBJECTS + 1)) / 2;
/** Keeps every read's result observable, so no loop can be optimized away. */
let sink = 0;

function check(got: number, what: string): void {
  if (got !== EXPECTED) throw new Error(`${what}: read ${got}, expected ${EXPECTED}`);
  sink += got;
}

/**
 * The loop of a read, in a function of its own as an application would write it: inlined into
 * the caller together with db.open() and close(), V8 ran out of inlining budget before it got to
 * the field getter, and the read cost a call per object (5.4 µs per read instead of 3.4).
 */
function sumItems(container: Container): number {
  let got = 0;
  for (const item of container.values()) got += item.n;
  return got;
}

/** zodbshootout's read: open a connection, read one property of every object, close. */
function readAll(db: DB, key: string): number {
  const conn = db.open();
  const got = sumItems(conn.root().get(key) as Container);
  conn.close();
  return got;
}

/** sumItems's twin for plain objects: its own copy, so that neither makes the other polymorphic. */
function sumPlain(container: Map<string, PlainItem>): number {
  let got = 0;
  for (const item of container.values()) got += item.n;
  return got;
}

/** The same read over plain objects in plain Maps (the root and the container). */
function readPlain(root: Map<string, Map<string, PlainItem>>, key: string): number {
  return sumPlain(root.get(key) as Map<string, PlainItem>);
}

/**
 * readPlain's twin for bare Proxies: a separate function so that each keeps its own monomorphic
 * property access (sharing one would slow the plain baseline down).
 */
function readBareProxies(root: Map<string, Map<string, PlainItem>>, key: string): number {
  const container = root.get(key) as Map<string, PlainItem>;
  let got = 0;
  for (const item of container.values()) got += item.n;
  return got;
}

/** Raw baseline: the same records as bytes in a plain binary lmdb db, read with get() + unpack(). */
class RawCopy {
  #env: RootDatabase<Buffer, string>;
  #db: Database<Buffer, string>;
  constructor(private readonly path: string) {
    this.#env = open<Buffer, string>({ path, encoding: 'binary', overlappingSync: false });
    this.#db = this.#env.openDB<Buffer, string>({ name: 'raw', encoding: 'binary' });
  }

  async put(records: readonly [Oid, Uint8Array][]): Promise<void> {
    await this.#env.transaction(() => {
      for (const [oid, data] of records) void this.#db.put(oid, Buffer.from(data));
    });
  }

  /** Raw commit floor: `records` put in one durable transactionSync; nanoseconds. */
  commit(records: readonly [Oid, Uint8Array][]): number {
    const db = this.#env.openDB<Buffer, string>({ name: 'commit', encoding: 'binary' });
    const buffers = records.map(([oid, data]) => [oid, Buffer.from(data)] as const);
    return timeNs(() => {
      // Block body: a returned promise would defer the commit (node-ecosystem.md §0.1).
      this.#env.transactionSync(() => {
        for (const [oid, data] of buffers) void db.put(oid, data);
      });
    });
  }

  /** Closed and opened again, as the cold read reopens the storage. */
  async reopen(): Promise<void> {
    await this.#env.close();
    this.#env = open<Buffer, string>({ path: this.path, encoding: 'binary', overlappingSync: false });
    this.#db = this.#env.openDB<Buffer, string>({ name: 'raw', encoding: 'binary' });
  }

  /** get() + unpack() of each record; sums the `n` of item records. */
  read(oids: readonly Oid[]): number {
    let got = 0;
    for (const oid of oids) {
      const record = unpack(this.#db.get(oid) as Buffer) as [number, string, { n?: number }];
      got += record[2].n ?? 0;
    }
    return got;
  }

  async close(): Promise<void> {
    await this.#env.close();
  }
}

/** Every record a read of the container loads, in load order: the root, then depth first from the container. */
function recordsRead(db: DB, containerOid: Oid): [Oid, Uint8Array][] {
  const out: [Oid, Uint8Array][] = [[ROOT_OID, db.storage.load(ROOT_OID).data]];
  const seen = new Set<Oid>([ROOT_OID]);
  const visit = (oid: Oid): void => {
    if (seen.has(oid)) return;
    seen.add(oid);
    const data = db.storage.load(oid).data;
    out.push([oid, data]);
    for (const ref of referencesOf(data)) visit(ref);
  };
  visit(containerOid);
  return out;
}

type Test = 'add' | 'rawCommit' | 'update' | 'cold' | 'rawCold' | 'hot' | 'steamin' | 'plain' | 'steaminLoop' | 'proxyFloor' | 'emptyTxn';
const noSamples = (): Samples => ({
  add: [], rawCommit: [], update: [], cold: [], rawCold: [], hot: [], steamin: [], plain: [], steaminLoop: [], proxyFloor: [], emptyTxn: [],
});
type Samples = Record<Test, number[]>;

const openDb = async (path: string): Promise<DB> => DB.open(await LmdbStorage.open(path));

/** One round on a fresh container under root[key]: every test once (reads several times). */
async function runRound(state: { db: DB; path: string; raw: RawCopy }, key: string, samples: Samples): Promise<void> {
  const { path, raw } = state;
  let db = state.db;
  await db.transact((conn) => {
    conn.root().set(key, newContainer());
  });

  samples.add.push(
    perSecond(
      OBJECTS,
      await timeNsAsync(() =>
        db.transact((conn) => {
          const container = conn.root().get(key) as Container;
          for (let i = 0; i < OBJECTS; i++) put(container, i, new Item(i, PAYLOAD));
        }),
      ),
    ),
  );

  samples.update.push(
    perSecond(
      OBJECTS,
      await timeNsAsync(() =>
        db.transact((conn) => {
          for (const item of (conn.root().get(key) as Container).values()) item.n += 1;
        }),
      ),
    ),
  );

  const containerOid = await db.transact((conn) => (conn.root().get(key) as Persistent)._p_oid as Oid);
  const records = recordsRead(db, containerOid);
  const oids = records.map(([oid]) => oid);
  await raw.put(records);
  samples.rawCommit.push(perSecond(OBJECTS, raw.commit(records.filter(([, data]) => classNameOf(data) === 'bench.Item'))));

  for (let s = 0; s < COLD_SAMPLES; s++) {
    await db.close();
    db = state.db = await openDb(path);
    let got = 0;
    samples.cold.push(perSecond(OBJECTS, timeNs(() => (got = readAll(db, key)))));
    check(got, 'cold read');

    await raw.reopen();
    samples.rawCold.push(perSecond(OBJECTS, timeNs(() => (got = raw.read(oids)))));
    check(got, 'raw read');
  }

  for (let s = 0; s < HOT_SAMPLES; s++) {
    const conn = db.open();
    conn.cacheMinimize();
    conn.close();
    let got = 0;
    samples.hot.push(perSecond(OBJECTS, timeNs(() => (got = readAll(db, key)))));
    check(got, 'hot read');
  }

  // steamin, the same loop over plain objects, and over bare Proxies, interleaved.
  const plainRoot = new Map([[key, new Map(Array.from({ length: OBJECTS }, (_, i) => [String(i), new PlainItem(i + 1, PAYLOAD)]))]]);
  const proxyRoot = new Map([[key, new Map(Array.from({ length: OBJECTS }, (_, i) => [String(i), new Proxy(new PlainItem(i + 1, PAYLOAD), {})]))]]);
  /** One sample of STEAMIN_READS passes of `read` over the OBJECTS objects, checked. */
  const sampleReads = (into: number[], read: () => number, what: string): void => {
    let got = 0;
    into.push(perSecond(OBJECTS * STEAMIN_READS, timeNs(() => {
      for (let r = 0; r < STEAMIN_READS; r++) got += read();
    })));
    check(got / STEAMIN_READS, what);
  };
  for (let s = 0; s < 3; s++) {
    sampleReads(samples.steamin, () => readAll(db, key), 'steamin read');
    sampleReads(samples.plain, () => readPlain(plainRoot, key), 'plain read');
    sampleReads(samples.proxyFloor, () => readBareProxies(proxyRoot, key), 'bare proxy read');
  }

  // The loop alone, on one open connection (no open/close per read): where steamin's time goes.
  {
    const conn = db.open();
    const container = conn.root().get(key) as Container;
    let got = 0;
    samples.steaminLoop.push(
      perSecond(
        OBJECTS * STEAMIN_READS,
        timeNs(() => {
          for (let r = 0; r < STEAMIN_READS; r++) for (const item of container.values()) got += item.n;
        }),
      ),
    );
    conn.close();
    check(got / STEAMIN_READS, 'steamin loop');
  }

  {
    const tm = new TransactionManager();
    const conn = db.open({ transactionManager: tm });
    conn.root(); // a connection with something loaded, as an application's would be
    const ns = await timeNsAsync(async () => {
      for (let i = 0; i < EMPTY_TXNS; i++) {
        tm.begin();
        await tm.commit();
      }
    });
    samples.emptyTxn.push(ns / EMPTY_TXNS / 1000);
    conn.close();
  }
}

async function main(): Promise<void> {
  await withTempDir('tidal-objects-bench-', async (dir) => {
    const path = join(dir, 'db');
    const state = { db: await openDb(path), path, raw: new RawCopy(join(dir, 'raw')) };
    const samples = noSamples();
    // The JIT needs a few rounds: the first ones run add and update at half speed.
    for (let r = 0; r < WARMUP_ROUNDS; r++) await runRound(state, `warm-up-${r}`, noSamples());
    for (let r = 0; r < ROUNDS; r++) await runRound(state, `speedtest-${r}`, samples);
    await state.db.close();
    await state.raw.close();
    report(samples);
  });
}

function report(samples: Samples): void {
  const m = (t: Test): number => median(samples[t]);
  const figures = {
    add_per_s: m('add'),
    update_per_s: m('update'),
    cold_per_s: m('cold'),
    hot_per_s: m('hot'),
    steamin_per_s: m('steamin'),
    cold_vs_raw: round(m('cold') / m('rawCold')),
    steamin_vs_plain: round(m('steamin') / m('plain')),
    empty_txn_us: round(m('emptyTxn'), 2),
    empty_txn_per_s: Math.round(1e6 / m('emptyTxn')),
    raw_cold_per_s: m('rawCold'),
    plain_per_s: m('plain'),
    steamin_loop_per_s: m('steaminLoop'),
    bare_proxy_per_s: m('proxyFloor'),
    raw_commit_per_s: m('rawCommit'),
    add_vs_python: round(m('add') / PYTHON.add, 2),
    update_vs_python: round(m('update') / PYTHON.update, 2),
    cold_vs_python: round(m('cold') / PYTHON.cold, 2),
    hot_vs_python: round(m('hot') / PYTHON.hot, 2),
    steamin_vs_python: round(m('steamin') / PYTHON.steamin, 2),
    objects: OBJECTS,
    record_bytes: RECORD_BYTES,
    container: CONTAINER,
    item: ITEM_KIND,
    rounds: ROUNDS,
  };
  const x = (v: number, base: number): string => `${(v / base).toFixed(2)}×`;
  console.log(`TidalDB objects benchmark — ${machineLine()}`);
  console.log(
    `${OBJECTS} objects of ${RECORD_BYTES}-byte records per transaction in a ${CONTAINER === 'btree' ? 'BTree' : 'PersistentMap'}, ` +
      `LmdbStorage (durable), median of ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up rounds\n`,
  );
  printTable(
    ['test', 'objects/s', 'Python ZODB', '×python', 'baseline/s', 'ratio', 'target'],
    [
      ['add', formatRate(figures.add_per_s), formatRate(PYTHON.add), x(figures.add_per_s, PYTHON.add), '', '', ''],
      ['update', formatRate(figures.update_per_s), formatRate(PYTHON.update), x(figures.update_per_s, PYTHON.update), '', '', ''],
      ['cold (vs raw get+unpack)', formatRate(figures.cold_per_s), formatRate(PYTHON.cold), x(figures.cold_per_s, PYTHON.cold), formatRate(figures.raw_cold_per_s), String(figures.cold_vs_raw), '≥ 0.5'],
      ['hot', formatRate(figures.hot_per_s), formatRate(PYTHON.hot), x(figures.hot_per_s, PYTHON.hot), '', '', ''],
      ['steamin (vs plain objects)', formatRate(figures.steamin_per_s), formatRate(PYTHON.steamin), x(figures.steamin_per_s, PYTHON.steamin), formatRate(figures.plain_per_s), String(figures.steamin_vs_plain), '≥ 0.3'],
      ['steamin loop, connection open', formatRate(figures.steamin_loop_per_s), '', '', '', '', ''],
      ['  same loop, bare Proxies (floor)', formatRate(figures.bare_proxy_per_s), '', '', formatRate(figures.plain_per_s), String(round(figures.bare_proxy_per_s / figures.plain_per_s)), ''],
      ['  raw lmdb: 1000 records, 1 commit', formatRate(figures.raw_commit_per_s), '', '', '', '', ''],
    ],
  );
  console.log(`\nempty transaction (begin + commit): ${figures.empty_txn_us} µs, ${formatRate(figures.empty_txn_per_s)} txn/s`);
  if (sink === 0) throw new Error('nothing was read');
  console.log(`(checksum ${sink})`);
  printJsonLine(figures);
}

await main();
