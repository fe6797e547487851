import type { Oid } from '../ids.ts';
import { metaOf, type PersistentMeta } from '../persistent/persistent-meta.ts';
import type { PersistentState } from '../persistent/state-table.ts';

/** Limits of one connection's object cache. */
export interface CacheLimits {
  /** Target number of non-ghost objects kept between transactions. */
  readonly size: number;
  /** Target estimated bytes of non-ghost objects (record lengths); 0 = no byte limit. */
  readonly bytes: number;
}

// Dead WeakRefs are swept from the identity map once it grows past twice its size after the last
// sweep (and at least this many entries), so sweeping is amortized O(1) per object.
const MIN_SWEEP = 1024;

/**
 * A connection's identity map and object cache (ZODB's PickleCache).
 *
 * Invariants:
 * - at most one object per oid (identity within a connection);
 * - every non-ghost object with an oid is in the LRU ring and counted in `nonGhostCount` /
 *   `estimatedBytes`; ghosts are not in the ring and are held only weakly, so a ghost nobody
 *   references is garbage-collected and memory stays bounded by the limits plus what the
 *   application holds;
 * - the identity map holds an object strongly until it first becomes a ghost, then through a
 *   WeakRef for good: objects added by this connection need no WeakRef until the cache lets them
 *   go (a WeakRef per new object was 6 % of an add), and objects that come and go as ghosts do
 *   not trade one WeakRef for another at every load (which cost hot reads a quarter);
 * - `gc()` (run at transaction boundaries, never in the middle of one) turns least recently used
 *   saved objects into ghosts until the limits hold; it never touches changed or unsaved objects.
 *
 * Recency is approximated CLOCK-style: every read of a loaded object sets its `used` bit (a
 * single store on the read path, which cannot afford to relink a list), and `gc` gives objects
 * with the bit set a second chance before evicting them.
 */
function deref(entry: object | WeakRef<object> | undefined): object | undefined {
  return entry instanceof WeakRef ? (entry.deref() as object | undefined) : entry;
}

export class ObjectCache {
  readonly #map = new Map<Oid, object | WeakRef<object>>();
  // Sentinel of the circular LRU ring: `next` is the most recently used end.
  readonly #ring = { prev: null, next: null } as unknown as PersistentMeta;
  #count = 0;
  #bytes = 0;
  #sweepAt = MIN_SWEEP;

  constructor(public limits: CacheLimits) {
    this.#ring.prev = this.#ring;
    this.#ring.next = this.#ring;
  }

  /** Number of non-ghost objects held. */
  get nonGhostCount(): number {
    return this.#count;
  }

  /** Estimated bytes of the non-ghost objects held. */
  get estimatedBytes(): number {
    return this.#bytes;
  }

  /** Entries of the identity map (live or not yet swept). */
  get mapSize(): number {
    return this.#map.size;
  }

  /** The object with this oid, if the connection has it (ghost or not). */
  get(oid: Oid): object | undefined {
    return deref(this.#map.get(oid));
  }

  /** Adds an object that just got its oid (a new ghost, a loaded object or an added one). */
  add(meta: PersistentMeta): void {
    this.#map.set(meta.oid as Oid, meta.state === 'ghost' ? new WeakRef(meta.proxy) : meta.proxy);
    if (meta.state !== 'ghost') this.#link(meta);
    if (this.#map.size > this.#sweepAt) this.#sweep();
  }

  /** Forgets an object (an added object whose transaction aborted). */
  remove(meta: PersistentMeta): void {
    const oid = meta.oid;
    if (oid !== null && deref(this.#map.get(oid)) === meta.proxy) this.#map.delete(oid);
    if (meta.next !== null) this.#unlink(meta);
  }

  /** Keeps the ring in step with a lifecycle transition of one of the cache's objects. */
  stateChanged(meta: PersistentMeta, from: PersistentState, to: PersistentState): void {
    const oid = meta.oid;
    if (oid === null) return;
    if (to === 'ghost') {
      if (meta.next !== null) this.#unlink(meta);
      // From now on the application alone decides how long the object lives.
      if (this.#map.get(oid) === meta.proxy) this.#map.set(oid, new WeakRef(meta.proxy));
    } else if (from === 'ghost') {
      this.#link(meta);
    }
  }

  /** Marks an object most recently used (on writes; reads only set the `used` bit). */
  touch(meta: PersistentMeta): void {
    if (meta.next === null) return;
    this.#detach(meta);
    this.#attach(meta);
  }

  /** Updates the estimated size of an object (after it was stored). */
  resize(meta: PersistentMeta, size: number): void {
    if (meta.next !== null) this.#bytes += size - meta.size;
    meta.size = size;
  }

  /** Turns least recently used saved objects into ghosts until the limits hold. */
  gc(): void {
    if (!this.#over()) return;
    // Each object is visited at most twice: once to clear its used bit, once to evict it.
    let budget = this.#count * 2 + 2;
    let node = this.#ring.prev as PersistentMeta;
    while (budget-- > 0 && this.#over()) {
      if (node === this.#ring) {
        node = this.#ring.prev as PersistentMeta;
        continue;
      }
      const prev = node.prev as PersistentMeta;
      if (node.state === 'saved') {
        if (node.used) {
          node.used = false;
          this.touch(node);
        } else {
          node.deactivate();
        }
      }
      node = prev;
    }
  }

  /** Turns every saved object into a ghost (ZODB's cacheMinimize). */
  minimize(): void {
    for (const meta of this.#nonGhosts()) if (meta.state === 'saved') meta.deactivate();
  }

  /** Invalidates the objects with these oids (changes committed elsewhere). */
  invalidate(oids: Iterable<Oid>, keep?: (meta: PersistentMeta) => boolean): void {
    for (const oid of oids) {
      const obj = this.get(oid);
      if (obj === undefined) continue;
      const meta = metaOf(obj);
      if (meta && !(keep?.(meta) ?? false)) meta.invalidate();
    }
  }

  /** Invalidates every object the cache holds (the storage could not say what changed). */
  invalidateAll(keep?: (meta: PersistentMeta) => boolean): void {
    for (const entry of [...this.#map.values()]) {
      const meta = metaOf(deref(entry));
      if (meta && !(keep?.(meta) ?? false)) meta.invalidate();
    }
  }

  /** Drops every object (the connection is discarded). */
  clear(): void {
    for (const meta of this.#nonGhosts()) this.#unlink(meta);
    this.#map.clear();
  }

  #over(): boolean {
    return this.#count > this.limits.size || (this.limits.bytes > 0 && this.#bytes > this.limits.bytes);
  }

  *#nonGhosts(): Generator<PersistentMeta> {
    const all: PersistentMeta[] = [];
    for (let n = this.#ring.next as PersistentMeta; n !== this.#ring; n = n.next as PersistentMeta) all.push(n);
    yield* all;
  }

  #link(meta: PersistentMeta): void {
    if (meta.next !== null) return;
    this.#attach(meta);
    this.#count++;
    this.#bytes += meta.size;
  }

  #unlink(meta: PersistentMeta): void {
    this.#detach(meta);
    meta.next = null;
    meta.prev = null;
    this.#count--;
    this.#bytes -= meta.size;
  }

  #attach(meta: PersistentMeta): void {
    const head = this.#ring;
    meta.prev = head;
    meta.next = head.next;
    (head.next as PersistentMeta).prev = meta;
    head.next = meta;
  }

  #detach(meta: PersistentMeta): void {
    (meta.prev as PersistentMeta).next = meta.next;
    (meta.next as PersistentMeta).prev = meta.prev;
  }

  #sweep(): void {
    for (const [oid, entry] of this.#map) if (deref(entry) === undefined) this.#map.delete(oid);
    this.#sweepAt = Math.max(MIN_SWEEP, this.#map.size * 2);
  }
}
