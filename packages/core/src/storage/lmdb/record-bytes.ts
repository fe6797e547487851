/**
 * The bytes of one revision in LMDB, with its checksum and a link to the object's previous
 * revision (format 2).
 *
 * ```
 * revision value:  crc32 (4 bytes, big-endian) · kind (1 byte: 0 record, 1 no data)
 *                  · previous tid (16 ASCII hex bytes; all zeros for the first revision) · record bytes
 * current value:   tid (16 ASCII hex bytes) · the revision value above
 * ```
 * The CRC-32 (IEEE, the `crc-32` package) covers the revision's oid and tid as 32 ASCII
 * characters, then the kind byte, the previous tid and the record bytes, so a record moved to the
 * wrong key fails its check as surely as a flipped bit, and a damaged link is never followed.
 * When an object gets a new revision, its current value minus the tid prefix moves unchanged to
 * `revisions`: a revision's bytes never change once written.
 */
import CRC32 from 'crc-32';
import { CorruptRecordError } from '../../errors.ts';
import { ZERO_TID, type Oid, type Tid } from '../../ids.ts';
import type { RevisionData } from '../backend.ts';

const KIND = 4;
const PREV = 5;
const HEADER = PREV + 16;
const KIND_RECORD = 0;
const KIND_NO_DATA = 1;
/** Length of the tid prefix of a `current` value. */
export const TID_PREFIX = 16;

function checksum(oid: Oid, tid: Tid, body: Uint8Array): number {
  return CRC32.buf(body, CRC32.bstr(oid + tid));
}

/** The revision value of (oid, tid), linked to the revision `prev` it replaces. */
function encodeRevision(oid: Oid, tid: Tid, prev: Tid | null, data: Uint8Array | null, out: Buffer, at: number): void {
  out[at + KIND] = data === null ? KIND_NO_DATA : KIND_RECORD;
  out.write(prev ?? ZERO_TID, at + PREV, 16, 'latin1');
  if (data !== null) out.set(data, at + HEADER);
  out.writeInt32BE(checksum(oid, tid, out.subarray(at + KIND)), at);
}

/** The `current` value of a new revision (oid, tid) replacing revision `prev`. */
export function encodeCurrent(oid: Oid, tid: Tid, prev: Tid | null, data: Uint8Array | null): Buffer {
  const out = Buffer.allocUnsafe(TID_PREFIX + HEADER + (data?.byteLength ?? 0));
  out.write(tid, 0, TID_PREFIX, 'latin1');
  encodeRevision(oid, tid, prev, data, out, TID_PREFIX);
  return out;
}

/** The tid a `current` value starts with. */
export function currentTidOf(value: Buffer): Tid {
  return value.toString('latin1', 0, TID_PREFIX) as Tid;
}

/**
 * Verifies and decodes a revision value found at `offset` of `value` (which may be a reused
 * read buffer: the data is copied out, as a Buffer like the codec's own output).
 * @throws CorruptRecordError naming oid and tid when the bytes fail their checksum
 */
export function decodeRevision(oid: Oid, tid: Tid, value: Buffer, offset: number): RevisionData {
  const end = value.length;
  if (end - offset < HEADER) throw new CorruptRecordError(oid, tid, `record truncated to ${end - offset} bytes`);
  const stored = value.readInt32BE(offset);
  const actual = checksum(oid, tid, value.subarray(offset + KIND, end));
  if (stored !== actual) {
    throw new CorruptRecordError(oid, tid, `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  const kind = value[offset + KIND];
  if (kind === KIND_NO_DATA) return { tid, data: null };
  if (kind !== KIND_RECORD) throw new CorruptRecordError(oid, tid, `unknown revision kind ${String(kind)}`);
  return { tid, data: Buffer.from(value.subarray(offset + HEADER, end)) };
}

/**
 * The tid of the revision before the one at `offset` of `value` (null: it is the first). Only
 * for a value `decodeRevision` has just verified: a link is followed only under its checksum.
 */
export function previousTidOf(value: Buffer, offset: number): Tid | null {
  const prev = value.toString('latin1', offset + PREV, offset + HEADER) as Tid;
  return prev === ZERO_TID ? null : prev;
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
