/**
 * The three-way merge of `PersistentMap` states, key by key, in the spirit of ZODB's bucket merge
 * (bucket-merge.ts) but for an unordered map and with one difference: two sides that end with
 * the same value for a key (both set it to equal values, or both deleted it) agree, so they merge.
 */
import { MapConflictError } from '../errors.ts';
import { sameStoredValue } from './state-equal.ts';

/**
 * A `PersistentMap`'s stored state as a resolver sees it (references decoded as `PersistentRef`):
 * its entries in insertion order, plus any fields a subclass's `_p_getState` adds.
 */
export interface PersistentMapState {
  readonly entries: readonly (readonly [string, unknown])[];
  readonly [field: string]: unknown;
}

const ABSENT: unique symbol = Symbol('absent');
type Slot = unknown; // a value, or ABSENT

function describeKey(key: string): string {
  const text = JSON.stringify(key);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
}

function asMapState(state: unknown, name: string): Record<string, unknown> & { entries: unknown[] } {
  if (state === null || state === undefined) {
    throw new MapConflictError('no-common-revision', `there is no ${name} revision to merge from`);
  }
  const entries = (state as { entries?: unknown }).entries;
  if (typeof state !== 'object' || !Array.isArray(entries)) {
    throw new MapConflictError('malformed-state', `the ${name} state has no entries list`, undefined, 'entries');
  }
  return state as Record<string, unknown> & { entries: unknown[] };
}

function entriesOf(state: { entries: unknown[] }, name: string): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const entry of state.entries) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || map.has(entry[0])) {
      throw new MapConflictError('malformed-state', `the ${name} state's entries are not distinct [string, value] pairs`, undefined, 'entries');
    }
    map.set(entry[0], entry[1]);
  }
  return map;
}

const slot = (map: Map<string, unknown>, key: string): Slot => (map.has(key) ? map.get(key) : ABSENT);
const same = (a: Slot, b: Slot): boolean => (a === ABSENT || b === ABSENT ? a === b : sameStoredValue(a, b));

function refuse(key: string, old: Slot, committed: Slot, mine: Slot): never {
  const k = describeKey(key);
  if (committed === ABSENT) {
    throw new MapConflictError('deleted-and-changed', `key ${k} was deleted by the committed transaction and changed by this one`, key);
  }
  if (mine === ABSENT) {
    throw new MapConflictError('deleted-and-changed', `key ${k} was changed by the committed transaction and deleted by this one`, key);
  }
  if (old === ABSENT) {
    throw new MapConflictError('added-on-both-sides', `key ${k} was added by both transactions, with different values`, key);
  }
  throw new MapConflictError('changed-on-both-sides', `key ${k} was changed by both transactions, to different values`, key);
}

/**
 * Merges two concurrent revisions of a `PersistentMap`, key by key against the common revision:
 * - a key one side left as it was takes the other side's outcome (its new value, its addition,
 *   its deletion);
 * - a key both sides left with equal values (structurally, references by oid), or both deleted,
 *   takes that outcome;
 * - any other key — changed to different values, added with different values, deleted on one side
 *   and changed on the other — refuses the merge.
 * "Changed" means the value differs from the common revision's: setting a key to the value it
 * already had is no change.
 *
 * Fields other than `entries` (stored by a subclass) must be equal in the two sides (unchanged,
 * or changed identically); they are taken from `mine`.
 *
 * The merged entries keep the committed revision's order, followed by the keys only `mine` has,
 * in its order. (States do not record a delete followed by a re-insert, so a key moved that way
 * keeps its place.)
 *
 * @param old the revision both sides started from (null when there is none: always refused)
 * @param committed the revision already committed by another transaction
 * @param mine the revision being committed
 * @throws MapConflictError naming the reason and the key or field
 */
export function mergeMapStates(old: unknown, committed: unknown, mine: unknown): PersistentMapState {
  const o = asMapState(old, 'old');
  const c = asMapState(committed, 'committed');
  const m = asMapState(mine, 'new');
  for (const field of new Set([...Object.keys(c), ...Object.keys(m)])) {
    if (field === 'entries') continue;
    if (!Object.hasOwn(c, field) || !Object.hasOwn(m, field) || !sameStoredValue(c[field], m[field])) {
      throw new MapConflictError('other-state-changed', `field ${JSON.stringify(field)} differs between the two transactions`, undefined, field);
    }
  }
  const oe = entriesOf(o, 'old');
  const ce = entriesOf(c, 'committed');
  const me = entriesOf(m, 'new');

  const entries: [string, unknown][] = [];
  // Union in committed's order, then mine's, then old's (keys only old has end up deleted or refused).
  for (const key of new Set([...ce.keys(), ...me.keys(), ...oe.keys()])) {
    const was = slot(oe, key);
    const theirs = slot(ce, key);
    const ours = slot(me, key);
    let outcome: Slot;
    if (same(theirs, was)) outcome = ours;
    else if (same(ours, was) || same(ours, theirs)) outcome = theirs;
    else refuse(key, was, theirs, ours);
    if (outcome !== ABSENT) entries.push([key, outcome]);
  }
  return { ...m, entries };
}
