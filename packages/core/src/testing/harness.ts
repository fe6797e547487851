/**
 * The suite's plumbing: storage lifecycle per test, record bytes, one-call commits and typed
 * error assertions. Error checks use each class's `is()` guard, so a storage built against another
 * copy of @tidaldb/core still passes.
 */
import { afterEach, expect } from 'vitest';
import { PersistentRef } from '../codec/persistent-ref.ts';
import { decodeRecord, encodeRecord } from '../codec/record.ts';
import { ObjectNotFoundError } from '../errors.ts';
import type { Oid, Tid } from '../ids.ts';
import type { FullStorage, Storage, StorageTransaction, TransactionMetadata } from '../interfaces.ts';
import type { StorageConformanceFactory, StorageConformanceOptions } from './factory.ts';

/** The class name of every record the suite writes. */
export const TEST_CLASS = 'test.Value';

/** State of a suite record: a value and references to other objects (what pack's GC follows). */
export interface TestState {
  readonly v: unknown;
  readonly refs: readonly PersistentRef[];
}

/** Record bytes holding `v` and references to `refs`, in the real record format. */
export function record(v: unknown, refs: readonly Oid[] = []): Uint8Array {
  return encodeRecord(TEST_CLASS, { v, refs: refs.map((oid) => new PersistentRef(oid, TEST_CLASS)) });
}

/** The value held by record bytes written with `record`. */
export function valueOf(bytes: Uint8Array): unknown {
  return (decodeRecord(bytes).state as TestState).v;
}

/** Byte equality, fast for large records (deep `toEqual` walks them element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Transaction metadata with defaults. */
export function meta(description = 'test', user = '/ tester', extension: Record<string, unknown> = {}): TransactionMetadata {
  return { user, description, extension };
}

/** One `store` call. */
export interface Write {
  readonly oid: Oid;
  readonly readTid: Tid | null;
  readonly data: Uint8Array;
}

/** What a successful one-call commit reports. */
export interface Committed {
  readonly tid: Tid;
  readonly resolved: Oid[];
}

/** Runs a whole two-phase commit; aborts and rethrows on any failure. */
export async function commitFull(
  storage: Storage,
  writes: readonly Write[],
  metadata: TransactionMetadata = meta(),
  checks: ReadonlyArray<{ oid: Oid; readTid: Tid }> = [],
): Promise<Committed> {
  const txn = storage.tpcBegin(metadata);
  try {
    for (const w of writes) storage.store(txn, w.oid, w.readTid, w.data);
    for (const c of checks) storage.checkCurrent(txn, c.oid, c.readTid);
    const resolved = await storage.tpcVote(txn);
    const tid = await storage.tpcFinish(txn);
    return { tid, resolved };
  } catch (err) {
    await storage.tpcAbort(txn);
    throw err;
  }
}

/**
 * Begins a transaction, stores `value` over `oid` read at `readTid` and votes: the returned
 * transaction holds the commit lock of `oid` until the caller finishes or aborts it.
 */
export async function votedWrite(storage: Storage, oid: Oid, readTid: Tid | null, value: unknown, description = 'voted'): Promise<StorageTransaction> {
  const txn = begin(storage, description);
  storage.store(txn, oid, readTid, record(value));
  await storage.tpcVote(txn);
  return txn;
}

/** `commitFull` returning only the tid. */
export async function commit(storage: Storage, writes: readonly Write[], metadata?: TransactionMetadata): Promise<Tid> {
  return (await commitFull(storage, writes, metadata)).tid;
}

/** The current serial of `oid`, or null when the storage has no such object. */
export function serialOf(storage: Storage, oid: Oid): Tid | null {
  try {
    return storage.load(oid).tid;
  } catch (err) {
    if (ObjectNotFoundError.is(err)) return null;
    throw err;
  }
}

/** Writes `v` (and references) to `oid` on top of its current revision, in its own transaction. */
export async function put(storage: Storage, oid: Oid, v: unknown, refs: readonly Oid[] = [], metadata?: TransactionMetadata): Promise<Tid> {
  return commit(storage, [{ oid, readTid: serialOf(storage, oid), data: record(v, refs) }], metadata);
}

/** `count` new oids from the storage. */
export function oids(storage: Storage, count: number): Oid[] {
  return Array.from({ length: count }, () => storage.newOid());
}

/** An error class of the family: its instances are recognised with its static `is()` guard. */
export type ErrorClass = (abstract new (...args: any[]) => Error) & { readonly name: string; is(err: unknown): boolean };

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err ? ` (${String(err.code)})` : ''}: ${err.message}`;
  return String(err);
}

/** Asserts that `fn` throws an error of `cls` and returns it for field checks. */
export function expectThrows<C extends ErrorClass>(fn: () => unknown, cls: C): InstanceType<C> {
  try {
    fn();
  } catch (err) {
    if (cls.is(err)) return err as InstanceType<C>;
    expect.fail(`expected ${cls.name}, got ${describeError(err)}`);
  }
  expect.fail(`expected ${cls.name}, but nothing was thrown`);
}

/** Asserts that `promise` rejects with an error of `cls` and returns it for field checks. */
export async function expectRejects<C extends ErrorClass>(promise: Promise<unknown>, cls: C): Promise<InstanceType<C>> {
  try {
    await promise;
  } catch (err) {
    if (cls.is(err)) return err as InstanceType<C>;
    expect.fail(`expected ${cls.name}, got ${describeError(err)}`);
  }
  expect.fail(`expected ${cls.name}, but the promise resolved`);
}

/** Settles a promise into a value that can be inspected without awaiting it twice. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Wraps a promise so it never rejects unobserved. */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Lets every already-queued callback and I/O completion run, a few times over. */
export async function drainEventLoop(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Asserts that `tids` are strictly increasing. */
export function expectIncreasing(tids: readonly Tid[]): void {
  for (let i = 1; i < tids.length; i++) {
    const [prev, next] = [tids[i - 1] as Tid, tids[i] as Tid];
    if (!(next > prev)) expect.fail(`tids not strictly increasing at ${i}: ${prev} then ${next}`);
  }
}

/** Begins a transaction on `storage` with default metadata. */
export function begin(storage: Storage, description = 'test'): StorageTransaction {
  return storage.tpcBegin(meta(description));
}

/**
 * The per-suite context: makes storages through the factory and closes every one of them after
 * each test, whatever the test did.
 */
export class Harness {
  readonly #open = new Set<FullStorage>();

  constructor(
    readonly factory: StorageConformanceFactory,
    readonly options: StorageConformanceOptions,
  ) {}

  /** Registers the after-each cleanup; call once inside the suite's top-level describe. */
  install(): void {
    afterEach(async () => {
      await this.closeAll();
    });
  }

  /** A new empty storage, closed after the test. */
  async create(): Promise<FullStorage> {
    const storage = await this.factory.create();
    this.#open.add(storage);
    return storage;
  }

  /** Closes `storage` and opens its data again; throws if the factory cannot. */
  async reopen(storage: FullStorage, readOnly = false): Promise<FullStorage> {
    if (!this.factory.reopen) throw new Error(`factory ${this.factory.name} has no reopen`);
    this.#open.delete(storage);
    const reopened = await this.factory.reopen(storage, { readOnly });
    this.#open.add(reopened);
    return reopened;
  }

  /** Closes `storage` now (it stays closed; the suite forgets it). */
  async close(storage: FullStorage): Promise<void> {
    this.#open.delete(storage);
    await storage.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.#open];
    this.#open.clear();
    for (const s of all) await s.close();
  }

  /** fast-check parameters for the suite's properties. */
  get fcParams(): { numRuns: number; seed?: number } {
    const numRuns = this.options.numRuns ?? 25;
    return this.options.seed === undefined ? { numRuns } : { numRuns, seed: this.options.seed };
  }
}
