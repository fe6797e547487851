import { registerClass } from './class-registry.ts';
import { mergeMapStates, type PersistentMapState } from './map-merge.ts';
import { Persistent } from './persistent.ts';

function hide(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, configurable: true, enumerable: false, writable: true });
}

/**
 * A persistent mapping from strings to values (ZODB's `PersistentMapping`), registered as
 * `'tidal.PersistentMap'`. Every mutation method marks it changed. The whole map is one record:
 * for large collections use a BTree, whose buckets are stored separately.
 *
 * Values follow the usual rule: a plain object stored as a value is not tracked when mutated in
 * place; set it again (`map.set(k, v)`) or use persistent values.
 *
 * Stored state: `{ entries: [key, value][] }` in insertion order (an array, not an object: any
 * string is a safe key, `__proto__` included).
 *
 * Concurrent changes merge key by key (`resolveConflict`): transactions that change different
 * keys both commit; the same key changed to different values, or deleted on one side and changed
 * on the other, is a conflict. The database root is a PersistentMap, so this applies to it too.
 */
export class PersistentMap<V = unknown> extends Persistent {
  declare private _data: Map<string, V>;

  constructor(entries?: Iterable<readonly [string, V]>) {
    super();
    hide(this, '_data', new Map(entries));
  }

  get size(): number {
    return this._data.size;
  }

  get(key: string): V | undefined {
    return this._data.get(key);
  }

  has(key: string): boolean {
    return this._data.has(key);
  }

  set(key: string, value: V): this {
    this._p_changed = true;
    this._data.set(key, value);
    return this;
  }

  /** @returns true when the key was present (the map is only marked changed then) */
  delete(key: string): boolean {
    if (!this._data.has(key)) return false;
    this._p_changed = true;
    return this._data.delete(key);
  }

  clear(): void {
    if (this._data.size === 0) return;
    this._p_changed = true;
    this._data.clear();
  }

  keys(): IterableIterator<string> {
    return this._data.keys();
  }

  values(): IterableIterator<V> {
    return this._data.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this._data.entries();
  }

  forEach(fn: (value: V, key: string, map: this) => void): void {
    for (const [k, v] of this._data) fn(v, k, this);
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this._data.entries();
  }

  /**
   * Merges concurrent revisions key by key (`mergeMapStates`): a key changed, added or deleted by
   * one side only takes that change; both sides ending with equal values (references compared by
   * oid) agree; anything else refuses. Fields a subclass adds to the state must be equal on both
   * sides. The merged entries keep the committed revision's order, then the keys only this
   * transaction added.
   *
   * Subclasses inherit this resolver. One whose entries carry invariants the key-by-key merge
   * cannot see (a cached count, keys that must change together) must override it: to refuse every
   * concurrent change, as a class without a resolver does,
   * `static override resolveConflict(): never { throw new Error('Settings do not merge'); }`;
   * to extend it, call `mergeMapStates` on the entries and merge the other fields itself.
   * @throws MapConflictError naming the reason (`changed-on-both-sides`, `added-on-both-sides`,
   *   `deleted-and-changed`, `other-state-changed`, `no-common-revision`, `malformed-state`) and
   *   the key; the commit then fails with a ConflictError that has it as `cause`
   */
  static resolveConflict(old: unknown, committed: unknown, mine: unknown): PersistentMapState {
    return mergeMapStates(old, committed, mine);
  }

  override _p_getState(): Record<string, unknown> {
    return { entries: [...this._data] };
  }

  override _p_setState(state: Record<string, unknown>): void {
    hide(this, '_data', new Map(state['entries'] as [string, V][]));
  }
}

registerClass('tidal.PersistentMap', PersistentMap);
