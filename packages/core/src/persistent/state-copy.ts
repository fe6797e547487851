import { metaOf } from './persistent-meta.ts';

/**
 * A deep copy of a state for savepoints: plain objects, arrays, Sets, Dates and byte arrays are
 * copied; persistent objects (and anything else) are kept by identity, since they are stored on
 * their own. Cycles are preserved.
 */
export function copyState<T>(state: T): T {
  const copies = new Map<object, unknown>();
  const copy = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const done = copies.get(value);
    if (done !== undefined) return done;
    if (metaOf(value) !== undefined) return value;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      copies.set(value, out);
      for (const item of value) out.push(copy(item));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      copies.set(value, out);
      for (const item of value) out.add(copy(item));
      return out;
    }
    if (value instanceof Date) return new Date(value.getTime());
    if (value instanceof Uint8Array) return value.slice();
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    const out = Object.create(proto as object | null) as Record<string, unknown>;
    copies.set(value, out);
    for (const key of Object.keys(value)) {
      // defineProperty: a `__proto__` key must stay a key, not change the copy's prototype.
      Object.defineProperty(out, key, { value: copy((value as Record<string, unknown>)[key]), writable: true, enumerable: true, configurable: true });
    }
    return out;
  };
  return copy(state) as T;
}
