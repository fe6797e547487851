import { ObjectNotFoundError, ReadConflictError } from '../errors.ts';
import { tidAfter, type Oid, type Tid } from '../ids.ts';
import type { RevisionInterval, Storage } from '../interfaces.ts';

/**
 * The snapshot a connection reads (ZODB's MVCCAdapterInstance): every load is
 * `loadBefore(oid, before)`, so one transaction sees the database exactly as of one tid, whatever
 * other connections and processes commit meanwhile.
 *
 * A current view moves forward only in `poll()`, which the connection calls at transaction
 * boundaries; a historical view never moves.
 */
export class MvccView {
  #snapshot: Tid;
  #before: Tid;

  /**
   * @param historicalBefore for a historical view: loads see revisions with tid < this; null for
   *   a current view (which starts at the storage's last transaction)
   */
  constructor(
    private readonly storage: Storage,
    historicalBefore: Tid | null = null,
  ) {
    this.historical = historicalBefore !== null;
    this.#snapshot = historicalBefore ?? storage.lastTransaction();
    this.#before = historicalBefore ?? tidAfter(this.#snapshot);
  }

  /** True for a view fixed at a past tid. */
  readonly historical: boolean;

  /** The newest tid this view sees (for a historical view: the tid it reads before). */
  get snapshot(): Tid {
    return this.#snapshot;
  }

  /**
   * Moves a current view to the newest committed transaction.
   * @returns what changed since the previous snapshot (`oids: null`: anything may have changed)
   */
  poll(): { lastTid: Tid; oids: ReadonlySet<Oid> | null } {
    const inv = this.storage.poll(this.#snapshot);
    // The snapshot is the poll's lastTid, not a later lastTransaction(): a commit landing between
    // the two calls would be visible without having invalidated the cached copies it replaced.
    if (inv.lastTid !== this.#snapshot) {
      this.#snapshot = inv.lastTid;
      this.#before = tidAfter(inv.lastTid);
    }
    return inv;
  }

  /**
   * The revision of `oid` in this snapshot.
   * @throws ReadConflictError (current view) when the snapshot has no revision of the object: it
   *   was created later or its history was packed or undone away — retryable, as in ZODB
   * @throws ObjectNotFoundError when the storage never had the object, or (historical view) had no
   *   revision of it before the view's tid
   */
  load(oid: Oid): RevisionInterval {
    const rev = this.storage.loadBefore(oid, this.#before);
    if (rev !== null) return rev;
    if (this.historical) throw new ObjectNotFoundError(oid, this.#snapshot);
    let committedTid = this.#snapshot;
    try {
      committedTid = this.storage.load(oid).tid;
    } catch {
      // Keep the snapshot tid: the object has no current revision either.
    }
    throw new ReadConflictError({
      oid,
      readTid: this.#snapshot,
      committedTid,
      reason: "the transaction's snapshot has no revision of the object (created later, or removed by pack or undo)",
    });
  }
}
