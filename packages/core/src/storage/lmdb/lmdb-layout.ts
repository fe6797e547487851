/**
 * The LMDB environment layout (format version 3). One environment (a directory), named
 * sub-databases, string keys (lmdb-js ordered-binary: fixed-width hex, so key order is numeric
 * order), values always raw bytes (`encoding: 'binary'`; nothing depends on lmdb's encoder):
 *
 * | database       | key                         | value                                                  |
 * |----------------|-----------------------------|--------------------------------------------------------|
 * | `current`      | oid                         | tid ‖ the object's newest revision value               |
 * | `revisions`    | tid ‖ chunk number (8 hex)  | a chunk of the revisions the commit `tid` superseded   |
 * | `transactions` | tid                         | msgpack `[user, description, extension, oids joined]`  |
 * | `meta`         | name                        | ASCII `formatVersion`, `nextOid`, `packTid`; `packing`: msgpack lock holder of a running pack |
 * | `locks`        | oid                         | msgpack `[token, pid, nonce, at, tokenIsNonceRelative]`: a voted transaction's commit lock |
 *
 * A revision value (record-bytes.ts) is checksummed and links to the object's previous revision
 * (its tid, chunk and slot), like FileStorage's back pointers: an object's history is the chain
 * from `current` through `revisions`. A commit moves the current values it replaces into chunks
 * of about 32 KiB (revision-chunks.ts): one put per chunk, not per object (format 2 wrote one
 * entry per superseded revision, at twice the cost of an update's own write), and pack removes
 * whole chunks, since all of a chunk was superseded at its tid.
 *
 * The last tid is the key of the newest `transactions` record (pack never removes that one), so a
 * commit writes `current`, `revisions` (for objects that had a revision) and `transactions`, and
 * besides only deletes the commit locks of objects a two-phase transaction checked without
 * writing, and raises `meta.nextOid` past oids a caller chose outside the reserved blocks.
 */
import { Packr } from 'msgpackr';
import { InvalidRecordError } from '../../errors.ts';
import type { Oid, Tid } from '../../ids.ts';
import type { LockHolder, TransactionInfo } from '../backend.ts';

/** The format this code writes and reads. */
export const FORMAT_VERSION = 3;

export const DB_NAMES = ['revisions', 'current', 'transactions', 'meta', 'locks'] as const;
export type DbName = (typeof DB_NAMES)[number];

export const META = { formatVersion: 'formatVersion', nextOid: 'nextOid', packTid: 'packTid', packing: 'packing' } as const;

// Own Packr (not lmdb's encoder), plain maps and no shared structures: any value decodes alone.
const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true });

export function encodeTransaction(info: TransactionInfo): Buffer {
  return packr.pack([info.user, info.description, info.extension, info.oids.join('')]);
}

export function decodeTransaction(value: Uint8Array): TransactionInfo {
  const decoded = packr.unpack(value) as unknown;
  if (!Array.isArray(decoded) || decoded.length !== 4 || typeof decoded[3] !== 'string') {
    throw new InvalidRecordError('malformed transaction record');
  }
  const [user, description, extension, joined] = decoded as [string, string, Record<string, unknown>, string];
  const oids: Oid[] = [];
  for (let i = 0; i < joined.length; i += 16) oids.push(joined.slice(i, i + 16) as Oid);
  return { user, description, extension, oids };
}

// A token is `<nonce>.<counter>`; when it starts with the holder's nonce only the counter is stored.
export function encodeLock(holder: LockHolder): Buffer {
  const own = holder.token.startsWith(`${holder.nonce}.`);
  return packr.pack([own ? holder.token.slice(holder.nonce.length + 1) : holder.token, holder.pid, holder.nonce, holder.at, own]);
}

export function decodeLock(value: Uint8Array): LockHolder {
  const [token, pid, nonce, at, own] = packr.unpack(value) as [string, number, string, Tid | null, boolean];
  return { token: own ? `${nonce}.${token}` : token, pid, nonce, at };
}

export const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
