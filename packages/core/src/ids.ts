/**
 * Object ids and transaction ids.
 *
 * Both are unsigned 64-bit integers carried as 16-character lowercase hex strings: fixed width,
 * so string order is numeric order (LMDB keys sort the same way), cheap to use as Map keys, and
 * readable in error messages and CLI output. The brands keep an oid from being passed where a tid
 * is expected.
 *
 * A tid is the commit time in microseconds since the Unix epoch. The storage assigns it inside the
 * commit as `max(now, lastTid + 1)`, so tids stay strictly increasing across processes and across
 * clock steps, while still reading as a timestamp.
 */
import { InvalidIdError } from './errors.ts';

declare const oidBrand: unique symbol;
declare const tidBrand: unique symbol;

/** A persistent object's id. `ROOT_OID` is the root mapping. */
export type Oid = string & { readonly [oidBrand]: true };
/** A transaction id: commit time in microseconds since the epoch, strictly increasing per database. */
export type Tid = string & { readonly [tidBrand]: true };

const HEX16 = /^[0-9a-f]{16}$/;
const MAX_U64 = (1n << 64n) - 1n;

/** The root object's oid. */
export const ROOT_OID = '0000000000000000' as Oid;
/** The tid before every transaction: what `lastTransaction()` returns for an empty database. */
export const ZERO_TID = '0000000000000000' as Tid;

function toHex(n: bigint, kind: 'oid' | 'tid'): string {
  if (n < 0n || n > MAX_U64) throw new InvalidIdError(kind, String(n));
  return n.toString(16).padStart(16, '0');
}

/** Parses and validates a 16-digit hex oid (as printed by the CLI and in errors). */
export function parseOid(text: string): Oid {
  const lower = text.toLowerCase();
  if (!HEX16.test(lower)) throw new InvalidIdError('oid', text);
  return lower as Oid;
}

/** Parses and validates a 16-digit hex tid. */
export function parseTid(text: string): Tid {
  const lower = text.toLowerCase();
  if (!HEX16.test(lower)) throw new InvalidIdError('tid', text);
  return lower as Tid;
}

/** True when `value` is a well-formed id string (either kind). */
export function isIdString(value: unknown): value is string {
  return typeof value === 'string' && HEX16.test(value);
}

export function oidFromBigInt(n: bigint | number): Oid {
  return toHex(BigInt(n), 'oid') as Oid;
}

export function tidFromBigInt(n: bigint | number): Tid {
  return toHex(BigInt(n), 'tid') as Tid;
}

export function idToBigInt(id: Oid | Tid): bigint {
  return BigInt('0x' + id);
}

/** The oid that follows `oid`. */
export function nextOid(oid: Oid): Oid {
  return oidFromBigInt(idToBigInt(oid) + 1n);
}

/** The tid right after `tid`: `loadBefore(oid, tidAfter(t))` reads the state as of `t`. */
export function tidAfter(tid: Tid): Tid {
  return tidFromBigInt(idToBigInt(tid) + 1n);
}

/** The tid right before `tid` (ZERO_TID stays ZERO_TID). */
export function tidBefore(tid: Tid): Tid {
  const n = idToBigInt(tid);
  return n === 0n ? ZERO_TID : tidFromBigInt(n - 1n);
}

/** The smallest tid committed at or after `date`. */
export function tidFromDate(date: Date | number): Tid {
  const ms = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidIdError('tid', String(date));
  return tidFromBigInt(BigInt(Math.floor(ms)) * 1000n);
}

/** The commit time a tid stands for (millisecond precision). */
export function tidToDate(tid: Tid): Date {
  return new Date(Number(idToBigInt(tid) / 1000n));
}

/**
 * The tid for a commit happening now: `max(now, last + 1)`.
 * @param last the database's last committed tid (read inside the commit, under the writer lock)
 * @param nowMicros injectable clock for tests
 */
export function newTid(last: Tid, nowMicros: bigint = nowInMicros()): Tid {
  const next = idToBigInt(last) + 1n;
  return tidFromBigInt(nowMicros > next ? nowMicros : next);
}

/** Microseconds since the epoch, from the high-resolution clock anchored at the wall clock. */
export function nowInMicros(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}
