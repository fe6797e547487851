/**
 * Serial validation and conflict resolution at vote time, against the latest committed state
 * (inside the backend's write transaction, so nothing can commit in between).
 */
import { classNameOf } from '../../codec/record.ts';
import { ConflictError, ReadConflictError, type CommittedBy } from '../../errors.ts';
import { ZERO_TID, type Oid, type Tid } from '../../ids.ts';
import type { ConflictResolver } from '../../interfaces.ts';
import type { BackendReader } from '../backend.ts';
import type { CommitTxn } from './commit-txn.ts';

/** What a successful validation yields: the revisions to write and the oids merged by the resolver. */
export interface Validated {
  readonly final: Map<Oid, Uint8Array | null>;
  readonly resolved: Oid[];
}

function committedByOf(r: BackendReader, tid: Tid | undefined): CommittedBy | undefined {
  if (tid === undefined) return undefined;
  const info = r.transaction(tid);
  return info && { user: info.user, description: info.description };
}

function classNameOrUndefined(data: Uint8Array | null): string | undefined {
  if (data === null) return undefined;
  try {
    return classNameOf(data);
  } catch {
    return undefined; // not a record in our format: the conflict is still reported
  }
}

/**
 * Checks every `checkCurrent` and `store` of `txn` and merges conflicting stores with `resolver`.
 * `currentTids` holds current tids the caller already read in the same write transaction.
 * @throws ReadConflictError when a checked object is no longer at its read tid
 * @throws ConflictError when a stored object's serial is stale (or a new object's oid exists)
 *   and there is no resolver, the resolver throws, or there is nothing to merge with
 */
export function validate(
  r: BackendReader,
  txn: CommitTxn,
  resolver: ConflictResolver | null,
  currentTids: ReadonlyMap<Oid, Tid | undefined>,
): Validated {
  const currentTidOf = (oid: Oid): Tid | undefined => (currentTids.has(oid) ? currentTids.get(oid) : r.currentTid(oid));
  for (const [oid, readTid] of txn.checks) {
    const current = currentTidOf(oid);
    if (current !== readTid) {
      throw new ReadConflictError({
        oid,
        readTid,
        committedTid: current ?? ZERO_TID,
        committedBy: committedByOf(r, current),
        className: classNameOrUndefined(txn.stores.get(oid)?.data ?? null),
        reason: current === undefined ? 'the object no longer exists' : 'the object changed after it was read',
      });
    }
  }
  const final = new Map<Oid, Uint8Array | null>();
  const resolved: Oid[] = [];
  for (const [oid, { readTid, data }] of txn.stores) {
    const currentTid = currentTidOf(oid);
    if (currentTid === (readTid ?? undefined)) {
      final.set(oid, data);
      continue;
    }
    final.set(oid, resolveOne(r, oid, readTid, data, currentTid, resolver));
    resolved.push(oid);
  }
  return { final, resolved };
}

function resolveOne(
  r: BackendReader,
  oid: Oid,
  readTid: Tid | null,
  mine: Uint8Array | null,
  committedTid: Tid | undefined,
  resolver: ConflictResolver | null,
): Uint8Array {
  const fail = (reason: string, cause?: unknown): ConflictError =>
    new ConflictError(
      {
        oid,
        className: classNameOrUndefined(mine),
        readTid,
        committedTid: committedTid ?? ZERO_TID,
        committedBy: committedByOf(r, committedTid),
        reason,
      },
      cause === undefined ? undefined : { cause },
    );
  if (committedTid === undefined) throw fail('the object no longer exists (removed by pack?)');
  const committed = r.current(oid)?.data ?? null;
  if (committed === null) throw fail('the object was deleted (its creation was undone)');
  if (mine === null) throw fail('a deletion cannot be merged');
  if (resolver === null) throw fail('no conflict resolver is installed');
  const old = readTid === null ? null : (r.revision(oid, readTid)?.data ?? null);
  let merged: unknown;
  try {
    merged = resolver.resolve({ oid, old, committed, mine, readTid, committedTid });
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err), err);
  }
  if (!(merged instanceof Uint8Array)) throw fail('the conflict resolver did not return record bytes');
  return Buffer.from(merged); // it is written at finish: the resolver may reuse its buffer meanwhile
}
