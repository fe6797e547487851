/**
 * Chunks of superseded revisions (format 3): when a commit at tid T replaces objects' current
 * revisions, the replaced current values move, byte for byte, into chunks of `revisions` keyed
 * T ‖ chunk number, up to `CHUNK_BYTES` each. One put per chunk instead of one per object is
 * what makes an update cheap: LMDB stores a chunk as a run of contiguous overflow pages, where
 * one small entry per object cost a `put` and a share of a B-tree leaf each (measured in
 * docs/performance.md, "Objects").
 *
 * ```
 * chunk value:  entries (each a current value: tid · revision value)
 *               · slot table: per entry, oid (16 ASCII bytes) · end offset of the entry (u32 BE)
 *               · entry count (u16 BE)
 * ```
 * The newer revision's link (record-bytes.ts) names the chunk and slot; the slot's oid, the
 * entry's tid and the entry's own checksum must all agree with what the link promised. Pack
 * removes whole chunks: every revision in the chunks of T was superseded at T.
 */
import { CorruptRecordError } from '../../errors.ts';
import type { Oid, Tid } from '../../ids.ts';
import { MIN_CURRENT_BYTES, TID_PREFIX, currentTidOf } from './record-bytes.ts';

/** A chunk's size goal. Entries are added while the chunk stays within it (a larger one gets a chunk of its own). */
const CHUNK_BYTES = 32 * 1024;
const ROW = 20;
const COUNT = 2;
/** Fewer entries than fit in a u16 count: each is at least MIN_CURRENT_BYTES + ROW. */
const MAX_SLOTS = 0xffff;

/** The `revisions` key of chunk `chunk` of the revisions superseded at `tid`. */
export const chunkKey = (tid: Tid, chunk: number): string => tid + chunk.toString(16).padStart(8, '0');

/** The bounds of one entry in a chunk value. */
export interface ChunkEntry {
  readonly start: number;
  readonly end: number;
}

/**
 * The entry in `slot` of `chunk`, checked against the link that led there: the slot must exist,
 * belong to `oid` and hold a revision of `tid`. The entry's checksum is the caller's to verify.
 * @throws CorruptRecordError naming oid and tid when the chunk does not hold what the link promised
 */
export function chunkEntry(chunk: Buffer, slot: number, oid: Oid, tid: Tid): ChunkEntry {
  const corrupt = (why: string): CorruptRecordError => new CorruptRecordError(oid, tid, `revision chunk ${why}`);
  const length = chunk.length;
  if (length < COUNT) throw corrupt(`truncated to ${length} bytes`);
  const count = chunk.readUInt16BE(length - COUNT);
  const table = length - COUNT - count * ROW;
  if (table < 0) throw corrupt(`slot table of ${count} entries overruns its ${length} bytes`);
  if (slot >= count) throw corrupt(`has ${count} slots, the link names slot ${slot}`);
  const row = table + slot * ROW;
  const owner = chunk.toString('latin1', row, row + 16);
  if (owner !== oid) throw corrupt(`slot ${slot} belongs to ${JSON.stringify(owner)}`);
  const start = slot === 0 ? 0 : chunk.readUInt32BE(row - 4);
  const end = chunk.readUInt32BE(row + 16);
  if (end > table || end - start < MIN_CURRENT_BYTES) throw corrupt(`slot ${slot} has bad bounds ${start}..${end}`);
  const found = currentTidOf(chunk, start);
  if (found !== tid) throw corrupt(`slot ${slot} holds tid ${JSON.stringify(found)}`);
  return { start, end };
}

/**
 * The tids of the revisions in a chunk value, as far as its slot table can be read (pack counts
 * what it removes; a damaged chunk is removed all the same).
 */
export function chunkTids(chunk: Buffer): Tid[] {
  const length = chunk.length;
  if (length < COUNT) return [];
  const count = chunk.readUInt16BE(length - COUNT);
  const table = length - COUNT - count * ROW;
  const tids: Tid[] = [];
  for (let slot = 0, start = 0; table >= 0 && slot < count; slot++) {
    const end = chunk.readUInt32BE(table + slot * ROW + 16);
    if (end > table || end - start < TID_PREFIX) break;
    tids.push(currentTidOf(chunk, start));
    start = end;
  }
  return tids;
}

/**
 * Builds the chunks of one write transaction: `add` places a replaced current value and says
 * where it went; `take` hands the finished chunk over to be stored. One buffer is reused from
 * chunk to chunk: a synchronous LMDB put copies the value before it returns.
 */
export class ChunkBuilder {
  #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #at = 0;
  readonly #oids: Oid[] = [];
  readonly #ends: number[] = [];
  /** The superseding tid of the chunk being built, and its number. */
  tid: Tid | null = null;
  chunk = 0;

  get isEmpty(): boolean {
    return this.#oids.length === 0;
  }

  /** True when an entry of `size` bytes fits in the chunk being built (an empty one takes anything). */
  fits(size: number): boolean {
    const slots = this.#oids.length;
    return slots === 0 || (slots < MAX_SLOTS && this.#at + size + (slots + 1) * ROW + COUNT <= CHUNK_BYTES);
  }

  /** Appends `value` (a current value) for `oid`; returns its slot. */
  add(oid: Oid, value: Buffer): number {
    // A chunk that needed a larger buffer does not keep it for the ones after it.
    if (this.#at === 0 && this.#buffer.length > CHUNK_BYTES) this.#buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const need = this.#at + value.length + (this.#oids.length + 1) * ROW + COUNT;
    if (need > this.#buffer.length) this.#grow(need);
    // lmdb-js's read buffers are larger than their own `length` says: copy a view of it.
    this.#buffer.set(value.subarray(0, value.length), this.#at);
    this.#at += value.length;
    this.#oids.push(oid);
    this.#ends.push(this.#at);
    return this.#oids.length - 1;
  }

  /** The chunk value built so far (valid until the next `add`); the builder starts its next chunk. */
  take(): Buffer {
    let at = this.#at;
    const count = this.#oids.length;
    for (let i = 0; i < count; i++) {
      this.#buffer.write(this.#oids[i] as string, at, 16, 'latin1');
      this.#buffer.writeUInt32BE(this.#ends[i] as number, at + 16);
      at += ROW;
    }
    this.#buffer.writeUInt16BE(count, at);
    const value = this.#buffer.subarray(0, at + COUNT);
    this.#at = 0;
    this.#oids.length = 0;
    this.#ends.length = 0;
    this.chunk += 1;
    return value;
  }

  /** Forgets the chunk being built (its write transaction was rolled back). */
  reset(): void {
    this.#at = 0;
    this.#oids.length = 0;
    this.#ends.length = 0;
    this.tid = null;
    this.chunk = 0;
  }

  #grow(need: number): void {
    const next = Buffer.allocUnsafe(need);
    this.#buffer.copy(next, 0, 0, this.#at);
    this.#buffer = next;
  }
}
