/**
 * The persistent-object lifecycle: one state type and one transition table (ZODB's
 * `IPersistent` states). Every state change of a persistent object goes through `nextState`, so
 * this table is the whole truth about what can happen to an object; the docs
 * (docs/guide/persistent-classes.md) print it and the tests walk it entry by entry.
 */

/**
 * - `unsaved`: never committed. May already have an oid and a connection (after `add()`, or once
 *   a commit reached it), but no stored revision yet.
 * - `ghost`: stored; its state is not in memory. Reading any property loads it.
 * - `saved`: stored; its state is in memory and equal to the revision it was loaded at.
 * - `changed`: stored; its state in memory was modified in the current transaction.
 */
export type PersistentState = 'unsaved' | 'ghost' | 'saved' | 'changed';

/**
 * What can happen to a persistent object:
 * - `access`: a property of the object is read (a ghost is loaded from its connection's snapshot).
 * - `write`: a property is assigned, defined or deleted, or `_p_changed = true`.
 * - `deactivate`: `_p_deactivate()` or the object cache wants the memory back (advisory).
 * - `invalidate`: `_p_invalidate()`, another transaction changed it, or the transaction that
 *   changed it aborted (mandatory: the state in memory is dropped).
 * - `commit`: the transaction that stored the object finished.
 * - `markSaved`: `_p_changed = false` (keeps the modifications in memory, forgets they exist).
 * - `unadd`: the transaction that would have stored a new object for the first time aborted; the
 *   object loses its oid and connection.
 */
export type PersistentEvent = 'access' | 'write' | 'deactivate' | 'invalidate' | 'commit' | 'markSaved' | 'unadd';

/** `null` marks an event that cannot happen in that state: reaching it is a bug in TidalDB. */
export const TRANSITIONS: Readonly<Record<PersistentState, Readonly<Record<PersistentEvent, PersistentState | null>>>> = {
  unsaved: {
    access: 'unsaved',
    write: 'unsaved',
    deactivate: 'unsaved',
    invalidate: 'unsaved',
    commit: 'saved',
    markSaved: 'unsaved',
    unadd: 'unsaved',
  },
  ghost: {
    access: 'saved',
    write: 'changed',
    deactivate: 'ghost',
    invalidate: 'ghost',
    commit: null,
    markSaved: 'ghost',
    unadd: null,
  },
  saved: {
    access: 'saved',
    write: 'changed',
    deactivate: 'ghost',
    invalidate: 'ghost',
    commit: 'saved',
    markSaved: 'saved',
    unadd: null,
  },
  changed: {
    access: 'changed',
    write: 'changed',
    deactivate: 'changed',
    invalidate: 'ghost',
    commit: 'saved',
    markSaved: 'saved',
    unadd: null,
  },
};

/** The states, in the order the docs list them. */
export const PERSISTENT_STATES: readonly PersistentState[] = ['unsaved', 'ghost', 'saved', 'changed'];
/** The events, in the order the docs list them. */
export const PERSISTENT_EVENTS: readonly PersistentEvent[] = ['access', 'write', 'deactivate', 'invalidate', 'commit', 'markSaved', 'unadd'];

/**
 * The state after `event` in `state`.
 * @throws Error when the table has no transition (an internal invariant was broken)
 */
export function nextState(state: PersistentState, event: PersistentEvent): PersistentState {
  const next = TRANSITIONS[state][event];
  if (next === null) throw new Error(`TidalDB internal error: persistent object cannot ${event} while ${state}`);
  return next;
}
