/**
 * The order of BTree keys: one total order over every supported key type, so a tree may mix them
 * (`['user', 42]` next to `['user', 'x']`) and conflict resolution can compare keys of decoded
 * states without knowing the tree.
 *
 * Supported keys: strings, numbers, bigints, Dates and arrays of these (nested to any depth).
 * The order:
 * - numbers and bigints are one numeric domain, compared exactly (`1 < 2n < 2.5`); a number and a
 *   bigint of equal value are different keys, the number first (`1` before `1n`);
 * - then strings, by UTF-16 code units (`'B' < 'a'`; no locale, so every process agrees);
 * - then Dates, by time;
 * - then arrays, element by element, a prefix first (`[] < ['a'] < ['a', 1] < ['b']`).
 *
 * Refused, with `InvalidKeyError`: NaN, invalid Dates, bigints outside the 64-bit range the codec
 * stores, and anything else (booleans, null, undefined, plain objects, persistent objects and
 * `PersistentRef`s — persistent objects have no stable order, as in ZODB where comparing
 * persistent references inside a conflict resolver is refused).
 */
import { PersistentRef } from '../codec/persistent-ref.ts';
import { InvalidKeyError } from '../errors.ts';

/** A key a BTree accepts. */
export type BTreeKey = string | number | bigint | Date | readonly BTreeKey[];

const NUMERIC = 0;
const STRING = 1;
const DATE = 2;
const ARRAY = 3;

const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

/** A short printable form of any value, for error messages. */
export function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key);
  if (typeof key === 'bigint') return `${key}n`;
  if (typeof key === 'number') return Object.is(key, -0) ? '-0' : String(key);
  if (key instanceof Date) return Number.isNaN(key.getTime()) ? 'Invalid Date' : `Date(${key.toISOString()})`;
  if (Array.isArray(key)) return `[${key.map(describeKey).join(', ')}]`;
  if (key instanceof PersistentRef) return key.toString();
  if (key === null) return 'null';
  if (typeof key === 'object') {
    const name = (key as { constructor?: { name?: string } }).constructor?.name;
    return name && name !== 'Object' ? `instance of ${name}` : 'object';
  }
  return typeof key === 'undefined' ? 'undefined' : `${typeof key} ${String(key)}`;
}

function refuse(key: unknown, detail: string): never {
  throw new InvalidKeyError(describeKey(key), detail);
}

function rankOf(key: unknown): number {
  switch (typeof key) {
    case 'number':
      if (Number.isNaN(key)) refuse(key, 'NaN has no place in an order');
      return NUMERIC;
    case 'bigint':
      return NUMERIC;
    case 'string':
      return STRING;
    case 'object':
      if (key instanceof Date) {
        if (Number.isNaN(key.getTime())) refuse(key, 'an invalid Date has no place in an order');
        return DATE;
      }
      if (Array.isArray(key)) return ARRAY;
      if (key instanceof PersistentRef) refuse(key, 'persistent references cannot be compared as keys (they have no stable order)');
      break;
  }
  return refuse(key, 'keys must be strings, numbers, bigints, Dates or arrays of these');
}

function compareNumeric(a: number | bigint, b: number | bigint): number {
  if (a < b) return -1;
  if (a > b) return 1;
  // Equal values: a number sorts before the bigint of the same value; 0 and -0 are one key.
  const ta = typeof a;
  const tb = typeof b;
  if (ta === tb) return 0;
  return ta === 'number' ? -1 : 1;
}

/**
 * Compares two keys in the BTree order.
 * @returns negative when `a` sorts first, 0 when they are the same key, positive otherwise
 * @throws InvalidKeyError when either is not a supported key (see the module comment)
 */
export function compareKeys(a: unknown, b: unknown): number {
  // Fast paths for the common homogeneous trees; `a === b` also rejects NaN below.
  if (typeof a === 'string' && typeof b === 'string') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') {
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
    return refuse(Number.isNaN(a) ? a : b, 'NaN has no place in an order');
  }
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case NUMERIC:
      return compareNumeric(a as number | bigint, b as number | bigint);
    case STRING:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case DATE: {
      const d = (a as Date).getTime() - (b as Date).getTime();
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    default: {
      const xa = a as readonly unknown[];
      const xb = b as readonly unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareKeys(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return xa.length - xb.length;
    }
  }
}

/**
 * Validates a key and returns the copy a tree stores: Dates and arrays are copied (so a caller
 * mutating its own Date or array later cannot reorder the tree behind its back) and `-0`
 * becomes `0` (the codec stores them alike).
 * @throws InvalidKeyError for an unsupported or unorderable key
 */
export function normalizeKey<K extends BTreeKey>(key: K): K {
  return normalize(key, 0) as K;
}

function normalize(key: unknown, depth: number): unknown {
  if (depth > 64) refuse(key, 'arrays nested deeper than 64 levels (a cycle?)');
  switch (rankOf(key)) {
    case NUMERIC:
      if (typeof key === 'bigint' && (key < MIN_I64 || key > MAX_U64)) refuse(key, 'bigints must fit in 64 bits to be stored');
      return Object.is(key, -0) ? 0 : key;
    case STRING:
      return key;
    case DATE:
      return new Date((key as Date).getTime());
    default:
      return (key as readonly unknown[]).map((item) => normalize(item, depth + 1));
  }
}

/**
 * Index of the first position in sorted `keys` whose key is ≥ `key` (`keys.length` if none):
 * where `key` is or would be inserted.
 */
export function lowerBound(keys: readonly unknown[], key: unknown): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first position in sorted `keys` whose key is > `key`. */
export function upperBound(keys: readonly unknown[], key: unknown): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid], key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
