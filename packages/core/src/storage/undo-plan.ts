/**
 * What undoing a transaction writes (ZODB's transactional undo): for every object the undone
 * transaction wrote, the state it had before — computed at vote time under the commit locks, so
 * the plan cannot be invalidated before it is written.
 */
import { UndoError } from '../errors.ts';
import type { Oid, Tid } from '../ids.ts';
import type { ConflictResolver } from '../interfaces.ts';
import type { BackendReader } from './backend.ts';

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.compare(a, b) === 0;
}

/**
 * The oids `tid` wrote (the commit locks an undo needs).
 * @throws UndoError for an unknown tid or one at or before the last pack
 */
export function undoTargets(r: BackendReader, tid: Tid): readonly Oid[] {
  if (tid <= r.packTid()) throw new UndoError(`cannot undo transaction ${tid}: it was packed`, tid);
  const info = r.transaction(tid);
  if (info === undefined) throw new UndoError(`cannot undo transaction ${tid}: no such transaction`, tid);
  return info.oids;
}

/**
 * The revisions that undo `tid`: per object, the data before `tid` (null when `tid` created it:
 * the object then has no data). An object changed again since `tid` is merged by `resolver`
 * (old = the undone revision, committed = current, mine = the state before `tid`), unless its
 * current data equals the undone data.
 * @throws UndoError naming the oid when a later change cannot be merged; nothing is written
 */
export function planUndo(r: BackendReader, tid: Tid, resolver: ConflictResolver | null): Map<Oid, Uint8Array | null> {
  const plan = new Map<Oid, Uint8Array | null>();
  for (const oid of undoTargets(r, tid)) {
    const undone = r.revision(oid, tid);
    const current = r.current(oid);
    if (undone === undefined || current === undefined) {
      throw new UndoError(`cannot undo transaction ${tid}: object ${oid} was removed by pack`, tid, oid);
    }
    const before = r.revisionBefore(oid, tid)?.data ?? null;
    if (current.tid === tid || sameBytes(current.data, undone.data)) {
      plan.set(oid, before);
      continue;
    }
    if (resolver === null || current.data === null || undone.data === null || before === null) {
      throw new UndoError(`cannot undo transaction ${tid}: object ${oid} was modified by a later transaction`, tid, oid);
    }
    try {
      const merged = resolver.resolve({ oid, old: undone.data, committed: current.data, mine: before, readTid: tid, committedTid: current.tid });
      if (!(merged instanceof Uint8Array)) throw new TypeError('the conflict resolver did not return record bytes');
      plan.set(oid, Buffer.from(merged));
    } catch (err) {
      throw new UndoError(
        `cannot undo transaction ${tid}: object ${oid} was modified by a later transaction and the changes cannot be merged`,
        tid,
        oid,
        { cause: err },
      );
    }
  }
  return plan;
}
