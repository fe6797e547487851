// LmdbStorage refuses what it cannot trust: bytes that fail their checksum (CorruptRecordError
// naming oid and tid, on every read path), a database of another format version
// (UnsupportedFormatError naming the version found), and bad options. The damage is done with
// lmdb-js directly on the closed environment, as a disk or another program would.
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import {
  CorruptRecordError,
  InvalidOptionError,
  LmdbStorage,
  StorageIOError,
  UnsupportedFormatError,
  tidAfter,
  type Oid,
  type Tid,
} from '@tidaldb/core';
import { commit, put, record } from '@tidaldb/core/testing';
import { tempDir } from './helpers.ts';

/**
 * Opens the closed environment at `dir` with lmdb-js and flips one byte of a stored value:
 * `at` counts from the start, or from the end when negative.
 */
async function flipByte(dir: string, dbName: string, key: string, at = -1): Promise<void> {
  const env = open({ path: dir, maxDbs: 8, overlappingSync: false });
  const db = env.openDB<Buffer, string>({ name: dbName, encoding: 'binary' });
  const value = Buffer.from(db.getBinary(key) as Buffer);
  const i = at < 0 ? value.length + at : at;
  value[i] = (value[i] as number) ^ 0x5a;
  await db.put(key, value);
  await env.close();
}

/** The key of the first chunk of revisions superseded at `tid`. */
const firstChunk = (tid: Tid): string => `${tid}00000000`;
/** In a chunk of one revision: the slot table (an oid and an end offset) and the count follow it. */
const CHUNK_TRAILER = 16 + 4 + 2;

async function setMeta(dir: string, key: string, value: string | null): Promise<void> {
  const env = open({ path: dir, maxDbs: 8, overlappingSync: false });
  const db = env.openDB<Buffer, string>({ name: 'meta', encoding: 'binary' });
  if (value === null) await db.remove(key);
  else await db.put(key, Buffer.from(value, 'latin1'));
  await env.close();
}

async function twoRevisions(dir: string): Promise<{ oid: Oid; t1: Tid; t2: Tid }> {
  const s = await LmdbStorage.open(dir);
  const oid = s.newOid();
  const t1 = await put(s, oid, 'first');
  const t2 = await put(s, oid, 'second');
  await s.close();
  return { oid, t1, t2 };
}

describe('LmdbStorage record checksums', () => {
  it('reports a flipped byte in an old revision as CorruptRecordError naming oid and tid on loadSerial, loadBefore and iterator', async () => {
    const dir = await tempDir();
    const { oid, t1, t2 } = await twoRevisions(dir);
    // The last record byte of t1's revision, which t2 superseded.
    await flipByte(dir, 'revisions', firstChunk(t2), -CHUNK_TRAILER - 1);
    const s = await LmdbStorage.open(dir);
    try {
      for (const read of [() => s.loadSerial(oid, t1), () => s.loadBefore(oid, t2), () => [...s.iterator()]]) {
        let caught: unknown;
        try {
          read();
        } catch (err) {
          caught = err;
        }
        expect(CorruptRecordError.is(caught)).toBe(true);
        expect(caught).toMatchObject({ oid, tid: t1 });
      }
      // The intact current revision still loads.
      expect(s.load(oid).tid).toBe(t2);
      expect(s.loadSerial(oid, t2)).toEqual(record('second'));
    } finally {
      await s.close();
    }
  });

  it('reports a flipped byte in the current revision as CorruptRecordError on load', async () => {
    const dir = await tempDir();
    const { oid, t2 } = await twoRevisions(dir);
    await flipByte(dir, 'current', oid);
    const s = await LmdbStorage.open(dir);
    try {
      expect(() => s.load(oid)).toThrow(CorruptRecordError);
      try {
        s.load(oid);
      } catch (err) {
        expect(err).toMatchObject({ oid, tid: t2, code: 'CORRUPT_RECORD' });
        expect((err as Error).message).toContain(oid);
      }
      expect(() => s.loadBefore(oid, tidAfter(t2))).toThrow(CorruptRecordError);
    } finally {
      await s.close();
    }
  });

  it('detects a damaged checksum field itself, not only damaged data', async () => {
    const dir = await tempDir();
    const { oid, t1, t2 } = await twoRevisions(dir);
    // A chunk entry is a current value: the tid (16 bytes), then the checksum.
    await flipByte(dir, 'revisions', firstChunk(t2), 16);
    const s = await LmdbStorage.open(dir);
    try {
      expect(() => s.loadSerial(oid, t1)).toThrow(CorruptRecordError);
    } finally {
      await s.close();
    }
  });

  it('reports a chunk whose slot table no longer matches the link (another oid, a bad count) as CorruptRecordError naming oid and tid', async () => {
    for (const [at, why] of [
      [-CHUNK_TRAILER, 'belongs to'],
      [-1, 'slot'],
    ] as const) {
      const dir = await tempDir();
      const { oid, t1, t2 } = await twoRevisions(dir);
      await flipByte(dir, 'revisions', firstChunk(t2), at);
      const s = await LmdbStorage.open(dir);
      try {
        for (const read of [() => s.loadSerial(oid, t1), () => s.loadBefore(oid, t2)]) {
          expect(read).toThrow(CorruptRecordError);
          expect(read).toThrow(why);
          expect(read).toThrow(expect.objectContaining({ oid, tid: t1 }));
        }
        expect(s.load(oid).tid).toBe(t2);
      } finally {
        await s.close();
      }
    }
  });
});

describe('LmdbStorage format version', () => {
  it('refuses to open a database written by an unknown format version, naming the version found', async () => {
    const dir = await tempDir();
    await twoRevisions(dir);
    await setMeta(dir, 'formatVersion', '99');
    const err = await LmdbStorage.open(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(UnsupportedFormatError.is(err)).toBe(true);
    expect(err).toMatchObject({ found: 99, supported: 3 });
    expect((err as Error).message).toContain('99');
    // Read-only tools are refused the same way.
    await expect(LmdbStorage.open(dir, { readOnly: true })).rejects.toThrow(UnsupportedFormatError);
  });

  it('refuses data without a format version rather than adopting it', async () => {
    const dir = await tempDir();
    await twoRevisions(dir);
    await setMeta(dir, 'formatVersion', null);
    await expect(LmdbStorage.open(dir)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', found: 'none' });
  });

  it('opens its own format again after a restart', async () => {
    const dir = await tempDir();
    const { oid, t2 } = await twoRevisions(dir);
    const s = await LmdbStorage.open(dir);
    expect(s.load(oid).tid).toBe(t2);
    await s.close();
  });
});

describe('LmdbStorage options', () => {
  it('rejects an unknown durability mode before touching the disk', async () => {
    const dir = await tempDir();
    await expect(LmdbStorage.open(dir, { durability: 'fsync' as never })).rejects.toThrow(InvalidOptionError);
  });

  it('fails read-only open of a directory without a database with StorageIOError', async () => {
    const dir = await tempDir();
    await expect(LmdbStorage.open(`${dir}/missing`, { readOnly: true })).rejects.toThrow(StorageIOError);
  });

  it("commits with durability 'none' and keeps them across a clean close", async () => {
    const dir = await tempDir();
    const s = await LmdbStorage.open(dir, { durability: 'none' });
    const oid = s.newOid();
    const tid = await commit(s, [{ oid, readTid: null, data: record('fast') }]);
    await s.close();
    const again = await LmdbStorage.open(dir);
    expect(again.load(oid).tid).toBe(tid);
    await again.close();
  });
});
