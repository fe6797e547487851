import { isDeepStrictEqual } from 'node:util';
import { PersistentRef } from '../codec/persistent-ref.ts';

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function sameSet(a: Set<unknown>, b: Set<unknown>): boolean {
  if (a.size !== b.size) return false;
  // Members may be structures or references: match each one of `a` to a distinct one of `b`.
  const rest = [...b];
  for (const x of a) {
    const i = b.has(x) ? rest.indexOf(x) : rest.findIndex((y) => sameStoredValue(x, y));
    if (i < 0) return false;
    rest.splice(i, 1);
  }
  return true;
}

function sameObject(a: object, b: object): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) return isDeepStrictEqual(a, b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameStoredValue(ra[k], rb[k]));
}

/**
 * Equality of two values from decoded states, as a conflict resolver needs it: structural over
 * everything the record codec stores (plain objects, arrays, Sets, Dates, byte arrays, RegExps;
 * numbers by `Object.is`), and persistent references (`PersistentRef`) by oid at any depth — the
 * class name a reference carries is only a hint and does not take part.
 */
export function sameStoredValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof PersistentRef || b instanceof PersistentRef) return a instanceof PersistentRef && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameStoredValue(x, b[i]));
  }
  if (a instanceof Set || b instanceof Set) return a instanceof Set && b instanceof Set && sameSet(a, b);
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  return sameObject(a, b);
}
