/**
 * Opening an LMDB environment for TidalDB: the named databases of the layout, and the format
 * check that refuses what this version cannot read (or initializes a new database).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { StorageIOError, UnsupportedFormatError } from '../../errors.ts';
import { ZERO_TID, oidFromBigInt } from '../../ids.ts';
import { mapLmdbError } from './lmdb-errors.ts';
import { DB_NAMES, FORMAT_VERSION, META, ascii, type DbName } from './lmdb-layout.ts';
import { OpenGate } from './open-gate.ts';

export type Db = Database<Buffer, string>;

/**
 * Address space reserved for the map up front (the file itself grows as data is written).
 * lmdb-js otherwise starts at 128 KB and grows the map as the data grows; with several processes
 * on one environment, a map grown by one process while another writes is LMDB's known hazard
 * (intermittent MDB_BAD_TXN and wrong reads were seen here under load), so reserve generously —
 * except on Windows, where LMDB makes the file as large as the map.
 */
const DEFAULT_MAP_SIZE = process.platform === 'win32' ? undefined : 64 * 1024 ** 3;

/**
 * LMDB's page size for a new environment (an existing one keeps its own). 16 KiB rather than the
 * OS's 4: a commit of 1000 objects of 300 bytes dirties a third as many pages, which cut its
 * durable commit by a third; random reads measured the same (docs/performance.md, "Objects").
 */
const PAGE_SIZE = 16 * 1024;

/** An open environment and its named databases. */
export interface LmdbEnvironment {
  readonly env: RootDatabase<Buffer, string>;
  readonly dbs: Readonly<Record<DbName, Db>>;
  /** Every write transaction on `env` must pass it (see open-gate.ts). */
  readonly gate: OpenGate;
}

/** Engine settings of one environment. */
export interface LmdbEnvironmentOptions {
  readonly readOnly: boolean;
  readonly mapSize?: number | undefined;
}

/**
 * Opens the environment at `path` and checks (when writable and new: writes) its format version,
 * holding the database's open gate.
 * `overlappingSync` is off: with it, lmdb-js flushes every write transaction, even one flagged
 * NO_SYNC_FLUSH, and the non-durable writes of commit locks would cost a flush each.
 * @throws UnsupportedFormatError naming the version found, for a database of another format
 * @throws StorageIOError when the environment cannot be opened or holds no TidalDB database
 */
export function openEnvironment(path: string, options: LmdbEnvironmentOptions): LmdbEnvironment {
  const gate = OpenGate.open(path, options.readOnly);
  try {
    return { ...gate.pass(() => openGated(path, options)), gate };
  } catch (err) {
    void gate.close();
    throw err;
  }
}

/** Opens the environment and checks its format; only while holding the gate. */
function openGated(path: string, options: LmdbEnvironmentOptions): Omit<LmdbEnvironment, 'gate'> {
  const mapSize = options.mapSize ?? DEFAULT_MAP_SIZE;
  let env: RootDatabase<Buffer, string>;
  try {
    env = open<Buffer, string>({
      path,
      readOnly: options.readOnly,
      maxDbs: 8,
      overlappingSync: false,
      pageSize: PAGE_SIZE,
      encoding: 'binary',
      ...(mapSize === undefined ? {} : { mapSize }),
    });
  } catch (err) {
    throw mapLmdbError(err, 'open', path);
  }
  try {
    const dbs = {} as Record<DbName, Db>;
    for (const name of DB_NAMES) {
      const db = env.openDB<Buffer, string>({ name, encoding: 'binary' }) as Db | undefined;
      if (db === undefined) throw new StorageIOError('open', path, { cause: new Error(`no TidalDB database (missing ${name})`) });
      dbs[name] = db;
    }
    checkFormat(path, env, dbs, !options.readOnly);
    return { env, dbs };
  } catch (err) {
    void env.close();
    throw mapLmdbError(err, 'open', path);
  }
}

function checkFormat(path: string, env: RootDatabase<Buffer, string>, dbs: Record<DbName, Db>, initialize: boolean): void {
  const read = (): string | undefined => dbs.meta.getBinaryFast(META.formatVersion)?.toString('latin1');
  let found = read();
  if (found === undefined && initialize) {
    env.transactionSync(() => {
      if (read() !== undefined) return; // another process initialized it first
      if (dbs.current.getKeysCount({ limit: 1 }) > 0) return; // data without a version: refused below
      dbs.meta.putSync(META.formatVersion, ascii(String(FORMAT_VERSION)));
      dbs.meta.putSync(META.packTid, ascii(ZERO_TID));
      dbs.meta.putSync(META.nextOid, ascii(oidFromBigInt(1)));
    });
    found = read();
  }
  if (found === undefined) throw new UnsupportedFormatError('none', FORMAT_VERSION, `LMDB database ${path}`);
  if (found !== String(FORMAT_VERSION)) {
    const n = Number(found);
    throw new UnsupportedFormatError(Number.isInteger(n) ? n : found, FORMAT_VERSION, `LMDB database ${path}`);
  }
}
