import { registerClass } from './class-registry.ts';
import { Persistent } from './persistent.ts';

function hide(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, configurable: true, enumerable: false, writable: true });
}

/**
 * A persistent list (ZODB's `PersistentList`), registered as `'tidal.PersistentList'`. Every
 * mutation method marks it changed; `get(i)` / `set(i, v)` stand in for indexing. The whole list
 * is one record.
 *
 * Stored state: `{ items: T[] }`.
 */
export class PersistentList<T = unknown> extends Persistent {
  declare private _items: T[];

  constructor(items?: Iterable<T>) {
    super();
    hide(this, '_items', items ? [...items] : []);
  }

  get length(): number {
    return this._items.length;
  }

  /** The item at `index` (negative counts from the end, like `Array.prototype.at`). */
  get(index: number): T | undefined {
    return this._items.at(index);
  }

  /**
   * Replaces the item at `index` (negative counts from the end).
   * @throws RangeError when the index is outside the list
   */
  set(index: number, value: T): void {
    const items = this._items;
    const i = index < 0 ? items.length + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= items.length) {
      throw new RangeError(`index ${index} is outside the list (length ${items.length})`);
    }
    this._p_changed = true;
    items[i] = value;
  }

  push(...values: T[]): number {
    this._p_changed = true;
    return this._items.push(...values);
  }

  pop(): T | undefined {
    if (this._items.length === 0) return undefined;
    this._p_changed = true;
    return this._items.pop();
  }

  shift(): T | undefined {
    if (this._items.length === 0) return undefined;
    this._p_changed = true;
    return this._items.shift();
  }

  unshift(...values: T[]): number {
    this._p_changed = true;
    return this._items.unshift(...values);
  }

  splice(start: number, deleteCount?: number, ...values: T[]): T[] {
    this._p_changed = true;
    return deleteCount === undefined ? this._items.splice(start) : this._items.splice(start, deleteCount, ...values);
  }

  clear(): void {
    if (this._items.length === 0) return;
    this._p_changed = true;
    this._items.length = 0;
  }

  indexOf(value: T): number {
    return this._items.indexOf(value);
  }

  includes(value: T): boolean {
    return this._items.includes(value);
  }

  /** A copy of the items as a plain array. */
  toArray(): T[] {
    return [...this._items];
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this._items.values();
  }

  override _p_getState(): Record<string, unknown> {
    return { items: [...this._items] };
  }

  override _p_setState(state: Record<string, unknown>): void {
    hide(this, '_items', [...(state['items'] as T[])]);
  }
}

registerClass('tidal.PersistentList', PersistentList);
