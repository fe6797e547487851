/**
 * The bytes of one revision in LMDB, with its checksum and a link to the object's previous
 * revision (format 3).
 *
 * ```
 * revision value:  crc32 (4 bytes, big-endian) · kind (1 byte: 0 record, 1 no data)
 *                  · previous tid (16 ASCII hex bytes; all zeros for the first revision)
 *                  · previous place: chunk (u32, big-endian) · slot (u16, big-endian)
 *                  · record bytes
 * current value:   tid (16 ASCII hex bytes) · the revision value above
 * ```
 * The CRC-32 (IEEE, the `crc-32` package) covers the revision's oid and tid as 32 ASCII
 * characters, then everything after the checksum, so a record moved to the wrong key or slot
 * fails its check as surely as a flipped bit, and a damaged link is never followed.
 * When an object gets a new revision, its current value moves unchanged into a chunk of
 * `revisions` (revision-chunks.ts); the previous place says where: a revision's bytes never
 * change once written.
 */
import CRC32 from 'crc-32';
import { CorruptRecordError } from '../../errors.ts';
import { ZERO_TID, type Oid, type Tid } from '../../ids.ts';
import type { RevisionData } from '../backend.ts';

const KIND = 4;
const PREV = 5;
const PREV_CHUNK = PREV + 16;
const PREV_SLOT = PREV_CHUNK + 4;
const HEADER = PREV_SLOT + 2;
const KIND_RECORD = 0;
const KIND_NO_DATA = 1;
/** Length of the tid prefix of a `current` value. */
export const TID_PREFIX = 16;
/** The shortest current value: a tid and a revision without record bytes. */
export const MIN_CURRENT_BYTES = TID_PREFIX + HEADER;

/** Where an object's previous revision is: its tid, and its chunk and slot under the newer revision's tid. */
export interface PreviousRevision {
  readonly tid: Tid;
  readonly chunk: number;
  readonly slot: number;
}

/** The checksum's seed: the CRC of oid and tid as 32 ASCII characters (without joining them). */
const seedOf = (oid: Oid, tid: Tid): number => CRC32.bstr(tid, CRC32.bstr(oid));

function checksum(oid: Oid, tid: Tid, body: Uint8Array): number {
  return CRC32.buf(body, seedOf(oid, tid));
}

/**
 * Writes a 16-character id's ASCII bytes at `at`. A commit writes the same tid (and mostly the
 * same previous tid) into every value: the bytes of the last id are kept, and copying them is
 * cheaper than encoding the string again.
 */
class IdWriter {
  #id = '';
  readonly #bytes = Buffer.alloc(16);

  write(out: Buffer, at: number, id: string): void {
    if (id !== this.#id) {
      this.#bytes.write(id, 0, 16, 'latin1');
      this.#id = id;
    }
    out.set(this.#bytes, at);
  }
}
const tidWriter = new IdWriter();
const prevWriter = new IdWriter();
/** The header after the checksum, built apart so the checksum needs no view of the value. */
const header = Buffer.alloc(HEADER - KIND);
/**
 * Where values are encoded: a synchronous LMDB put copies its value before it returns, so one
 * buffer serves every put, and lmdb-js looks its address up once rather than once per pool slab
 * of `Buffer.allocUnsafe` (together ≈ 0.15 µs per put).
 */
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * The `current` value of a new revision (oid, tid), linked to the revision it replaces: its tid
 * (null for the object's first revision), chunk and slot. The value is valid until the next call:
 * put it, or copy it.
 */
export function encodeCurrent(oid: Oid, tid: Tid, prevTid: Tid | null, prevChunk: number, prevSlot: number, data: Uint8Array | null): Buffer {
  header[0] = data === null ? KIND_NO_DATA : KIND_RECORD;
  prevWriter.write(header, PREV - KIND, prevTid ?? ZERO_TID);
  header.writeUInt32BE(prevChunk, PREV_CHUNK - KIND);
  header.writeUInt16BE(prevSlot, PREV_SLOT - KIND);
  const crc = CRC32.buf(header, seedOf(oid, tid));
  const length = TID_PREFIX + HEADER + (data?.byteLength ?? 0);
  // A larger value gets a buffer of its own, so the scratch does not stay large.
  const out = length <= scratch.length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length);
  tidWriter.write(out, 0, tid);
  out.set(header, TID_PREFIX + KIND);
  if (data !== null) out.set(data, TID_PREFIX + HEADER);
  out.writeInt32BE(data === null ? crc : CRC32.buf(data, crc), TID_PREFIX);
  return out;
}

/** The tid a `current` value (or a chunk entry, which is one) starts with at `offset`. */
export function currentTidOf(value: Buffer, offset = 0): Tid {
  return value.toString('latin1', offset, offset + TID_PREFIX) as Tid;
}

/**
 * Verifies and decodes the current value found in `value` from `offset` to `end` (`value` may
 * be a reused read buffer: the data is copied out, as a Buffer like the codec's own output).
 * @throws CorruptRecordError naming oid and tid when the bytes fail their checksum
 */
export function decodeCurrent(oid: Oid, value: Buffer, offset = 0, end = value.length): RevisionData {
  if (end - offset < MIN_CURRENT_BYTES) {
    const tid = end - offset >= TID_PREFIX ? currentTidOf(value, offset) : ZERO_TID;
    throw new CorruptRecordError(oid, tid, `record truncated to ${end - offset} bytes`);
  }
  const tid = currentTidOf(value, offset);
  const at = offset + TID_PREFIX;
  const stored = value.readInt32BE(at);
  const actual = checksum(oid, tid, value.subarray(at + KIND, end));
  if (stored !== actual) {
    throw new CorruptRecordError(oid, tid, `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  const kind = value[at + KIND];
  if (kind === KIND_NO_DATA) return { tid, data: null };
  if (kind !== KIND_RECORD) throw new CorruptRecordError(oid, tid, `unknown revision kind ${String(kind)}`);
  return { tid, data: Buffer.from(value.subarray(at + HEADER, end)) };
}

/**
 * The link to the revision before the current value at `offset` of `value` (null: it is the
 * first). Only for a value `decodeCurrent` has just verified: a link is followed only under its
 * checksum.
 */
export function previousOf(value: Buffer, offset = 0): PreviousRevision | null {
  const at = offset + TID_PREFIX;
  const tid = value.toString('latin1', at + PREV, at + PREV_CHUNK) as Tid;
  if (tid === ZERO_TID) return null;
  return { tid, chunk: value.readUInt32BE(at + PREV_CHUNK), slot: value.readUInt16BE(at + PREV_SLOT) };
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
