/**
 * The machinery behind every persistent object: its bookkeeping (oid, connection, serial,
 * lifecycle state) and the Proxy handler that turns property writes into change tracking and
 * property reads of a ghost into a load.
 *
 * Shape of one persistent object: the user holds a Proxy; its target is an empty "shell" with the
 * class's prototype (for `instanceof` and the proxy invariants); the state lives in a separate
 * "state object" `meta.d` with the same prototype, or `d === null` for a ghost. Ghostifying
 * drops `d` and loading makes a fresh one, so states never shrink by `delete` (which would
 * push V8 objects into slow dictionary mode) and all loaded objects of a class share a shape.
 *
 * Classes with declared fields (`Persistent.withFields`, declared-fields.ts) have no Proxy: the
 * user holds the shell itself (a "direct" object), which is also its own state object: the field
 * values and the object's status are private fields of the classes `withFields` generates, which
 * the meta reaches through `DirectSlots`. `d` is the object itself while loaded, null for a ghost.
 *
 * The `get` trap is the hot path of every read and does one field check; everything else is off
 * that path. (V8 does not inline Proxy property access: a read through any Proxy costs ~14 ns on
 * this machine against ~0.7 ns for a plain object, whatever the trap does — measured in
 * bench/persistent-read.bench.ts.)
 */
import { BrokenObjectError, ClassRegistrationError } from '../errors.ts';
import type { Oid, Tid } from '../ids.ts';
import { nextState, type PersistentEvent, type PersistentState } from './state-table.ts';

/** Symbol under which the shell, every state object and (through the get trap) the proxy expose their meta. */
export const META: unique symbol = Symbol('tidaldb.persistent');

/**
 * Static property (inherited by subclasses) of classes with declared fields: how to reach their
 * objects' slots. Its presence makes a class's objects direct (no Proxy).
 */
export const FIELDS: unique symbol = Symbol('tidaldb.fields');

/** One declared field. */
export interface FieldSpec {
  readonly name: string;
  /** `_v_*` fields are volatile: never stored, never tracked, back to their default on deactivation. */
  readonly volatile: boolean;
  /** The factory of a function default, called once per new object. */
  readonly initial: (() => unknown) | undefined;
  /** A primitive default; also what the field reads as in a record stored before it was declared. */
  readonly value: unknown;
}

/**
 * How the meta reaches the slots of a direct object: the slots are private fields of the classes
 * `withFields` generates (declared-fields.ts), so nothing the application does to the object's
 * own properties (assign, spread, freeze) can touch them; these functions are the only way in.
 */
export interface DirectSlots {
  /** Every declared field, parents' first. */
  readonly fields: readonly FieldSpec[];
  /** The class ghosts are constructed with: the most derived `withFields` level. */
  readonly Class: abstract new () => object;
  /** GHOST, LOADED or USED_LOADED (a read since the object cache last looked). */
  status(obj: object): number;
  setStatus(obj: object, status: number): void;
  /** Empties the stored fields (undefined). */
  clear(obj: object): void;
  /** Gives the volatile (`_v_`) fields their defaults again (a factory runs again). */
  resetVolatile(obj: object): void;
  /** The values of every slot, and putting them back (after a failed savepoint rollback). */
  stash(obj: object): unknown[];
  unstash(obj: object, values: unknown[]): void;
}

export const GHOST = 0;
export const LOADED = 1;
export const USED_LOADED = 2;

/** The slots of the class whose prototype is `proto`, or undefined for Proxy classes. */
export function directSlotsOf(proto: object): DirectSlots | undefined {
  return (proto as { constructor?: { [FIELDS]?: DirectSlots } }).constructor?.[FIELDS];
}

/**
 * The class `newGhost` is constructing a direct ghost of, until the Persistent constructor takes
 * it: an object a constructor makes meanwhile (a class between two `withFields` levels may) is a
 * new object, not a ghost.
 */
let ghostTarget: object | null = null;

/** For the Persistent constructor: is this construction `newGhost`'s? (Answers true once.) */
export function takeGhostConstruction(target: object): boolean {
  if (ghostTarget !== target) return false;
  ghostTarget = null;
  return true;
}

/** What a persistent object needs from the connection that manages it (ZODB's "jar"). */
export interface Jar {
  /**
   * Loads the state of a ghost: calls `meta.install(...)`. Called on the first read of a ghost.
   * @throws ConnectionStateError when the connection is closed; ReadConflictError / ObjectNotFoundError
   */
  setstate(meta: PersistentMeta): void;
  /**
   * Called once per transaction when a saved object is about to become changed (before the state
   * changes): joins the connection to the current transaction and remembers the object.
   * @throws ConnectionStateError when the connection is closed; NoTransactionError in explicit mode
   */
  register(meta: PersistentMeta): void;
  /** Told about every lifecycle transition of its objects (the object cache keeps its LRU with it). */
  stateChanged(meta: PersistentMeta, from: PersistentState, to: PersistentState): void;
}

/** A persistent object's state while loaded: an object with the class's prototype. */
export type StateObject = Record<string | symbol, unknown>;

const UNDERSCORE = 95; // '_'

/** `_p_*` (bookkeeping) or `_v_*` (volatile): never stored, writing them never marks changed. */
export function isSpecialName(key: string): boolean {
  return key.length > 3 && key.charCodeAt(0) === UNDERSCORE && key.charCodeAt(2) === UNDERSCORE && (key[1] === 'p' || key[1] === 'v');
}

function isBookkeeping(key: string | symbol): boolean {
  return typeof key === 'symbol' || key.startsWith('_p_') || key === 'constructor' || key === 'then';
}

/**
 * Own property of the state objects of Proxy-tracked objects: the object cache's second-chance
 * bit, set by every read. It lives on the state rather than the meta because a read touches the
 * state anyway. (A direct object keeps it in its status.)
 */
export const USED: unique symbol = Symbol('tidaldb.used');

function defineMeta(obj: object, meta: PersistentMeta): void {
  // Configurable, so the proxy may hide it from ownKeys without breaking the Proxy invariants.
  Object.defineProperty(obj, META, { value: meta, configurable: true, enumerable: false, writable: false });
}

/**
 * Bookkeeping of one persistent object, and the Proxy handler of that object (one handler per
 * object, so the traps read their state from `this` without any lookup).
 */
export class PersistentMeta implements ProxyHandler<object> {
  /** Lifecycle state; change it only through `transition`. */
  state: PersistentState;
  /** The state object, or null for a ghost. */
  d: StateObject | null;
  oid: Oid | null = null;
  jar: Jar | null = null;
  serial: Tid | null = null;
  /** Estimated size in bytes (the record length), for the cache's byte budget. */
  size = 0;
  /** Set by every read (false for a ghost): the object cache's second-chance bit. */
  get used(): boolean {
    const d = this.d;
    if (d === null) return false;
    return this.slots === null ? d[USED] === true : this.slots.status(d) === USED_LOADED;
  }
  set used(value: boolean) {
    const d = this.d;
    if (d === null) return;
    if (this.slots === null) d[USED] = value;
    else this.slots.setStatus(d, value ? USED_LOADED : LOADED);
  }
  /** Keys of a direct object's loaded record that are not declared fields: written back as they were. */
  extra: Record<string, unknown> | undefined = undefined;
  /** The object cache's LRU ring links (owned by the cache). */
  prev: PersistentMeta | null = null;
  next: PersistentMeta | null = null;
  /** For Broken objects: the class name of the record (writes are refused). */
  brokenClassName: string | null = null;
  /** The object users hold: a Proxy of the shell, or the shell itself for a direct object. */
  readonly proxy: object;
  /**
   * True while a direct object's `_p_setState` runs, or while `newGhost` constructs it: its field
   * writes are not changes, and its reads load nothing.
   */
  #installing: boolean;

  constructor(
    /** The proxy target: an empty object with the class's prototype; a direct object itself. */
    readonly shell: object,
    state: PersistentState,
    /**
     * A direct object's slots. Its constructor is still running: the classes that own the slots
     * call `slotsReady()` once they exist.
     */
    readonly slots: DirectSlots | null = null,
  ) {
    this.state = state;
    this.#installing = slots !== null && state === 'ghost';
    defineMeta(shell, this);
    this.d = null;
    if (slots === null && state !== 'ghost') this.setStateObject(this.newStateObject());
    this.proxy = slots === null ? new Proxy(shell, this) : shell;
  }

  /** A direct object's status slot now exists: an unsaved one is loaded from the start. */
  slotsReady(): void {
    if (this.state === 'ghost') return;
    this.d = this.shell as StateObject;
    (this.slots as DirectSlots).setStatus(this.shell, LOADED);
  }

  /**
   * An empty state object of the object's current class. For a direct object: the object itself,
   * its slots cleared.
   */
  newStateObject(): StateObject {
    if (this.slots !== null) {
      this.slots.clear(this.shell);
      this.extra = undefined;
      return this.shell as StateObject;
    }
    const d = Object.create(Object.getPrototypeOf(this.shell) as object) as StateObject;
    defineMeta(d, this);
    Object.defineProperty(d, USED, { value: false, writable: true, enumerable: false, configurable: true });
    return d;
  }

  /** Replaces the state object (null: the object becomes a ghost, and a direct one drops its values). */
  setStateObject(d: StateObject | null): void {
    const slots = this.slots;
    if (slots !== null) {
      if (d === null && this.d !== null) {
        // A ghost drops its state, volatile fields included (ZODB drops `_v_` attributes).
        this.newStateObject();
        slots.resetVolatile(this.shell);
      }
      if (d === null) slots.setStatus(this.shell, GHOST);
      else if (slots.status(this.shell) === GHOST) slots.setStatus(this.shell, LOADED);
    }
    this.d = d;
  }

  /**
   * Runs the `_p_setState` hook on a fresh state object: returns it, or leaves the object as it
   * was (a ghost stays a ghost) and rethrows.
   */
  #setState(state: Record<string, unknown>): StateObject {
    if (this.slots === null) {
      const d = this.newStateObject();
      (d as unknown as { _p_setState(s: Record<string, unknown>): void })._p_setState(state);
      return d;
    }
    const d = this.shell as StateObject;
    const slots = this.slots;
    // A direct object is its own state object: mark it loaded while the hook runs, so that the
    // hook's own field reads and writes do not try to load or register it.
    const status = slots.status(d);
    // A savepoint rollback replaces a loaded state: keep it, to put it back if the hook fails.
    const before = status !== GHOST ? slots.stash(d) : null;
    const extra = this.extra;
    this.newStateObject();
    slots.setStatus(d, LOADED);
    this.#installing = true;
    try {
      (d as unknown as { _p_setState(s: Record<string, unknown>): void })._p_setState(state);
    } catch (err) {
      this.newStateObject();
      if (before !== null) slots.unstash(d, before);
      this.extra = extra;
      slots.setStatus(d, status);
      throw err;
    } finally {
      this.#installing = false;
    }
    return d;
  }

  /** Moves to the state the transition table gives for `event` and tells the jar. */
  transition(event: PersistentEvent): void {
    const from = this.state;
    const to = nextState(from, event);
    if (to === from) return;
    this.state = to;
    if (to === 'ghost') this.setStateObject(null);
    this.jar?.stateChanged(this, from, to);
  }

  /**
   * Installs a loaded state (`_p_setState` runs on a fresh state object) and moves ghost → saved.
   * If the hook throws the object stays a ghost.
   */
  install(state: Record<string, unknown>, serial: Tid, size: number): void {
    this.setStateObject(this.#setState(state));
    this.used = true;
    this.serial = serial;
    this.size = size;
    this.transition('access');
  }

  /**
   * Replaces the state in memory with `state` and marks the object changed (savepoint rollback:
   * the restored state differs from the stored one). Unsaved objects stay unsaved.
   */
  restore(state: Record<string, unknown>): void {
    this.setStateObject(this.#setState(state));
    if (this.state === 'ghost' || this.state === 'saved') this.transition('write');
  }

  /** Loads a ghost from its jar (no-op when loaded). */
  activate(): void {
    if (this.d !== null) return;
    if (this.jar === null) throw new Error('TidalDB internal error: a ghost without a connection');
    this.jar.setstate(this);
  }

  /** The state object, loaded. */
  loaded(): StateObject {
    this.activate();
    return this.d as StateObject;
  }

  /** A read of a direct object that is a ghost or not marked used: loads it and marks it used. */
  read(): void {
    if (this.#installing) return;
    this.activate();
    this.used = true;
  }

  /** `newGhost` constructed the object: empty it of what constructors wrote, and make it a ghost. */
  ghostConstructed(): void {
    const slots = this.slots as DirectSlots;
    slots.clear(this.shell);
    slots.resetVolatile(this.shell);
    this.#installing = false;
  }

  /** Runs before any tracked write: refuses Broken objects, loads ghosts, registers saved objects. */
  willWrite(): void {
    const state = this.state;
    if (state === 'changed' || state === 'unsaved' || this.#installing) return;
    if (this.brokenClassName !== null) throw new BrokenObjectError(this.oid as Oid, this.brokenClassName);
    if (state === 'ghost') this.activate();
    // Register first: if joining the transaction fails, the object must not look changed.
    this.jar?.register(this);
    this.transition('write');
  }

  /** `_p_changed = value`. */
  setChanged(value: boolean | null | undefined): void {
    if (value === true) this.willWrite();
    else if (value === false) this.transition('markSaved');
    else this.deactivate();
  }

  deactivate(): void {
    if (this.state === 'saved') this.transition('deactivate');
  }

  invalidate(): void {
    this.transition('invalidate');
  }

  // ── Proxy traps ───────────────────────────────────────────────────────────────────────────

  get(shell: object, key: string | symbol): unknown {
    const d = this.d;
    if (d !== null) {
      d[USED] = true;
      return d[key];
    }
    if (isBookkeeping(key)) return (shell as StateObject)[key];
    this.activate();
    return (this.d as unknown as StateObject)[key];
  }

  set(shell: object, key: string | symbol, value: unknown): boolean {
    if (typeof key === 'symbol' || isSpecialName(key)) {
      if (typeof key === 'string' && key.startsWith('_p_')) return Reflect.set(this.d ?? shell, key, value);
      this.activate();
      return Reflect.set(this.d as StateObject, key, value);
    }
    this.willWrite();
    return Reflect.set(this.d as StateObject, key, value);
  }

  deleteProperty(_shell: object, key: string | symbol): boolean {
    if (key === '_p_changed') {
      this.invalidate();
      return true;
    }
    if (typeof key === 'symbol' || isSpecialName(key)) {
      if (typeof key === 'string' && key.startsWith('_p_')) return false;
      this.activate();
      return Reflect.deleteProperty(this.d as StateObject, key);
    }
    this.willWrite();
    return Reflect.deleteProperty(this.d as StateObject, key);
  }

  defineProperty(_shell: object, key: string | symbol, descriptor: PropertyDescriptor): boolean {
    // A non-configurable property on the state object would break the Proxy invariants.
    if (descriptor.configurable === false || key === META || key === USED) return false;
    if (typeof key === 'symbol' || isSpecialName(key)) this.activate();
    else this.willWrite();
    return Reflect.defineProperty(this.d as StateObject, key, descriptor);
  }

  has(shell: object, key: string | symbol): boolean {
    if (this.d === null) {
      if (isBookkeeping(key)) return key in shell;
      this.activate();
    }
    return key in (this.d as StateObject);
  }

  ownKeys(): (string | symbol)[] {
    this.activate();
    return Reflect.ownKeys(this.d as StateObject).filter((k) => k !== META && k !== USED);
  }

  getOwnPropertyDescriptor(_shell: object, key: string | symbol): PropertyDescriptor | undefined {
    if (key === META || key === USED) return undefined;
    this.activate();
    return Reflect.getOwnPropertyDescriptor(this.d as StateObject, key);
  }

  preventExtensions(): boolean {
    return false;
  }

  setPrototypeOf(): boolean {
    return false;
  }
}

/** The meta of a persistent object (proxy, shell or state object), or undefined. */
export function metaOf(obj: unknown): PersistentMeta | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { [META]?: unknown })[META];
  return meta instanceof PersistentMeta ? meta : undefined;
}

/**
 * A direct ghost: private fields exist only on objects their classes constructed, so the object
 * is constructed, through the `withFields` classes alone (the constructors of the application's
 * classes below the most derived level do not run, those between levels do).
 */
function constructGhost(slots: DirectSlots, proto: object): PersistentMeta {
  const Target = (proto as { constructor: new () => object }).constructor;
  ghostTarget = Target;
  let obj: object;
  try {
    obj = Reflect.construct(slots.Class, [], Target) as object;
  } finally {
    ghostTarget = null;
  }
  const meta = metaOf(obj) as PersistentMeta;
  meta.ghostConstructed();
  return meta;
}

/**
 * Makes a ghost of the class whose prototype is `proto`, without running its constructor (for a
 * class with declared fields, see `constructGhost`).
 */
export function newGhost(proto: object, oid: Oid, jar: Jar): PersistentMeta {
  const slots = directSlotsOf(proto);
  const meta = slots === undefined ? new PersistentMeta(Object.create(proto) as object, 'ghost') : constructGhost(slots, proto);
  meta.oid = oid;
  meta.jar = jar;
  return meta;
}

/**
 * Changes the class of an object (a record says another class than the reference it was reached
 * by). Only for ghosts: the next load makes a state object of the new class.
 */
export function setGhostClass(meta: PersistentMeta, proto: object): void {
  if (meta.slots !== null || directSlotsOf(proto) !== undefined) {
    // A direct object has the private fields of the classes that constructed it and cannot take
    // other ones, nor become a Proxy (nor a Proxy's shell a direct object).
    throw new ClassRegistrationError(
      `object ${meta.oid ?? '(new)'} was reached through a reference naming another class than its record does ` +
        `(${(proto as { constructor: { name: string } }).constructor.name}); objects of classes with declared fields cannot change class`,
    );
  }
  Object.setPrototypeOf(meta.shell, proto);
}
