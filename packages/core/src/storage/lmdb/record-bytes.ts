/**
 * The bytes of one revision in LMDB, with its checksum.
 *
 * ```
 * revisions value:  crc32 (4 bytes, big-endian) · kind (1 byte: 0 record, 1 no data) · record bytes
 * current value:    tid (16 ASCII hex bytes) · the revision value above
 * ```
 * The CRC-32 (IEEE, the `crc-32` package) covers the key — oid and tid as 32 ASCII characters —
 * then the kind byte and the record bytes, so a record moved to the wrong key fails its check as
 * surely as a flipped bit. `current` repeats the current revision so that `load` is one lookup.
 */
import CRC32 from 'crc-32';
import { CorruptRecordError } from '../../errors.ts';
import type { Oid, Tid } from '../../ids.ts';
import type { RevisionData } from '../backend.ts';

const HEADER = 5;
const KIND_RECORD = 0;
const KIND_NO_DATA = 1;
/** Length of the tid prefix of a `current` value. */
export const TID_PREFIX = 16;

function checksum(oid: Oid, tid: Tid, body: Uint8Array): number {
  return CRC32.buf(body, CRC32.bstr(oid + tid));
}

/** The `revisions` value of (oid, tid). */
export function encodeRevision(oid: Oid, tid: Tid, data: Uint8Array | null): Buffer {
  const out = Buffer.allocUnsafe(HEADER + (data?.byteLength ?? 0));
  out[4] = data === null ? KIND_NO_DATA : KIND_RECORD;
  if (data !== null) out.set(data, HEADER);
  out.writeInt32BE(checksum(oid, tid, out.subarray(4)), 0);
  return out;
}

/** The `current` value for a revision value made by `encodeRevision`. */
export function encodeCurrent(tid: Tid, revision: Buffer): Buffer {
  const out = Buffer.allocUnsafe(TID_PREFIX + revision.length);
  out.write(tid, 0, TID_PREFIX, 'latin1');
  revision.copy(out, TID_PREFIX);
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
  const actual = checksum(oid, tid, value.subarray(offset + 4, end));
  if (stored !== actual) {
    throw new CorruptRecordError(oid, tid, `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  const kind = value[offset + 4];
  if (kind === KIND_NO_DATA) return { tid, data: null };
  if (kind !== KIND_RECORD) throw new CorruptRecordError(oid, tid, `unknown revision kind ${String(kind)}`);
  return { tid, data: Buffer.from(value.subarray(offset + HEADER, end)) };
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
