/**
 * Pack with garbage collection, shared by the built-in storages, in bounded batches of backend
 * write transactions so commits continue while it runs (ZODB's FileStorage pack semantics).
 *
 * 1. Per object, drop every revision older than its newest revision at or before the pack tid
 *    (what was current at the pack tid stays, and everything after it).
 * 2. Mark: objects reachable from the root through the remaining revisions, plus every object
 *    written after the pack tid (and what it references), are live.
 * 3. Sweep the rest entirely. Before each sweep batch, transactions committed since the pack
 *    started are folded into the mark (a new revision may refer to an object that was
 *    unreachable); the batch's write transaction re-checks that nothing committed in between
 *    and that no commit is between vote and finish (in memory under the commit lease, or by lock
 *    entries) — such a transaction may refer to anything, and its data is not visible yet — else
 *    it waits for them to finish (and, should that never happen within `SWEEP_WAIT_MS`, leaves
 *    that batch for the next pack).
 * 4. Remove transaction records none of whose revisions remain; record the pack tid.
 *
 * A storage without a root object is not garbage-collected (nothing would be reachable).
 * A vote during the pack that refers to a swept object (from a snapshot older than the pack
 * tid) fails with DanglingReferenceError instead of leaving a dangling reference; pack to a tid
 * older than any snapshot in use to avoid that.
 */
import { ROOT_OID, tidAfter, type Oid, type Tid } from '../ids.ts';
import type { PackResult, ReferenceFinder } from '../interfaces.ts';
import type { Backend, BackendWriter, TransactionEntry } from './backend.ts';
import { holderFor, newLockToken, waitForLockRelease } from './commit/lock-holder.ts';

const BATCH = 256;
const SWEEP_WAIT_MS = 10_000;
const MAX_BACKOFF_MS = 50;
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Packs `backend` at `packTid` (clamped to the last transaction). While it runs, a pack marker
 * in the database makes every vote check its references (see commit/dangling.ts).
 */
export async function packBackend(
  backend: Backend,
  packTid: Tid,
  references: ReferenceFinder,
  commitsInFlight: (w: BackendWriter) => boolean,
): Promise<PackResult> {
  const marker = holderFor(newLockToken(), null);
  backend.write((w) => w.setPackMarker(marker), 'commit');
  try {
    return await packMarked(backend, packTid, references, commitsInFlight);
  } finally {
    backend.write((w) => {
      if (w.packMarker()?.token === marker.token) w.setPackMarker(null);
    }, 'commit');
  }
}

async function packMarked(
  backend: Backend,
  packTid: Tid,
  references: ReferenceFinder,
  commitsInFlight: (w: BackendWriter) => boolean,
): Promise<PackResult> {
  backend.refresh();
  const start = backend.reader.lastTid();
  const effective = packTid < start ? packTid : start;
  const affected = new Set<Tid>();
  const roots: Oid[] = [];
  let revisionsRemoved = 0;

  // 1. Old revisions.
  for (let done = false; !done; ) {
    const batch = backend.write((w) => w.pruneSuperseded(effective, BATCH), 'commit');
    for (const tid of batch.tids) affected.add(tid);
    revisionsRemoved += batch.tids.length;
    done = batch.done;
    await yieldTurn();
  }
  // Objects with a revision after the pack tid are live whether reachable or not.
  for (let after: Oid | null = null; ; ) {
    const batch = backend.reader.oids(after, BATCH);
    if (batch.length === 0) break;
    after = batch[batch.length - 1] as Oid;
    for (const oid of batch) if ((backend.reader.currentTid(oid) as Tid) > effective) roots.push(oid);
    await yieldTurn();
  }

  // 2. Mark.
  let objectsRemoved = 0;
  if (backend.reader.currentTid(ROOT_OID) !== undefined) {
    const live = new Set<Oid>();
    const mark = (from: Oid): void => {
      const stack = [from];
      while (stack.length > 0) {
        const oid = stack.pop() as Oid;
        if (live.has(oid)) continue;
        let hasData = false;
        const refs: Oid[] = [];
        for (const { data } of backend.reader.revisionsNewestFirst(oid, Number.MAX_SAFE_INTEGER)) {
          if (data === null) continue;
          hasData = true;
          for (const ref of references(data)) refs.push(ref);
        }
        // An object whose remaining revisions hold no data (undone creation) is dead.
        if (!hasData) continue;
        live.add(oid);
        for (const ref of refs) if (!live.has(ref)) stack.push(ref);
      }
    };
    mark(ROOT_OID);
    for (const [i, oid] of roots.entries()) {
      mark(oid);
      if (i % BATCH === BATCH - 1) await yieldTurn();
    }

    // 3. Sweep.
    let seen = start;
    for (let after: Oid | null = null; ; ) {
      const batch = backend.reader.oids(after, BATCH);
      if (batch.length === 0) break;
      after = batch[batch.length - 1] as Oid;
      const deadline = Date.now() + SWEEP_WAIT_MS;
      for (let delay = 1; ; delay = Math.min(delay * 2, MAX_BACKOFF_MS)) {
        backend.refresh();
        const last = backend.reader.lastTid();
        if (last > seen) {
          // Follow the new revisions themselves: their objects may be live already (the root).
          for (const txn of allTransactions(backend, tidAfter(seen), last)) {
            for (const oid of txn.oids) {
              const data = backend.reader.revision(oid, txn.tid)?.data;
              if (data) for (const ref of references(data)) mark(ref);
            }
          }
          seen = last;
        }
        const outcome = backend.write((w) => {
          if (w.lastTid() !== seen) return 'moved'; // someone committed since the mark: fold it in first
          if (commitsInFlight(w)) return 'locked';
          for (const oid of batch) {
            if (live.has(oid)) continue;
            const tids = w.revisionTids(oid);
            // Everything written after the pack tid stays, reachable or not (ZODB's rule).
            if (tids.length === 0 || (tids[tids.length - 1] as Tid) > effective) continue;
            for (const tid of tids) affected.add(tid);
            w.deleteObject(oid);
            // No lock is held (checked above), so an entry left for this object is a released
            // one; with the object gone, one taken at its creation (at = null) would look held.
            w.deleteLock(oid);
            objectsRemoved += 1;
          }
          return 'swept';
        }, 'commit');
        if (outcome === 'swept') break;
        if (outcome === 'locked') {
          if (Date.now() >= deadline) break; // never idle: keep this batch, stay correct
          await waitForLockRelease(delay);
        }
      }
      await yieldTurn();
    }
  }

  // 4. Empty transaction records, then the pack tid.
  let transactionsRemoved = 0;
  const tids = [...affected].sort();
  for (let i = 0; i < tids.length; i += BATCH) {
    const slice = tids.slice(i, i + BATCH);
    backend.write((w) => {
      for (const tid of slice) {
        const info = w.transaction(tid);
        if (info === undefined || info.oids.some((oid) => w.revision(oid, tid) !== undefined)) continue;
        // The newest record stays even when empty: it is what the last tid is read from.
        if (tid === w.lastTid()) continue;
        w.deleteTransaction(tid);
        transactionsRemoved += 1;
      }
    }, 'commit');
    await yieldTurn();
  }
  backend.write((w) => {
    if (effective > w.packTid()) w.setPackTid(effective);
  }, 'commit');
  return { revisionsRemoved, objectsRemoved, transactionsRemoved };
}

/** The transaction records in [from, to], read in pages. */
function* allTransactions(backend: Backend, from: Tid, to: Tid): Generator<TransactionEntry> {
  for (let cursor = from; cursor <= to; ) {
    const page = backend.reader.transactions(cursor, to, BATCH);
    if (page.length === 0) return;
    yield* page;
    cursor = tidAfter((page[page.length - 1] as { tid: Tid }).tid);
  }
}
