import { registerReferenceClass } from '../codec/record.ts';
import type { Oid, Tid } from '../ids.ts';
import { defineFieldsClass, type FieldDefaults, type WithFields } from './declared-fields.ts';
import { FIELDS, isSpecialName, metaOf, PersistentMeta, takeGhostConstruction, type DirectSlots, type Jar } from './persistent-meta.ts';
import type { PersistentState } from './state-table.ts';

function requireMeta(obj: object): PersistentMeta {
  const meta = metaOf(obj);
  if (meta === undefined) throw new TypeError('not a persistent object (was its constructor bypassed?)');
  return meta;
}

/**
 * Base class of objects that persist themselves (ZODB's `persistent.Persistent`).
 *
 * Subclass it and register the subclass under a stable name:
 * ```ts no-run
 * class Cart extends Persistent { items: string[] = []; owner = ''; }
 * registerClass('shop.Cart', Cart);
 * ```
 * Assigning, defining or deleting a property of a stored object marks it changed and joins its
 * connection to the current transaction; reading a property of a ghost loads it. Methods run
 * with the tracked object as `this`, so their writes are tracked too.
 *
 * Not tracked: mutations inside plain nested objects, arrays, Sets and Dates
 * (`cart.items.push(x)`): assign a new value, use PersistentMap / PersistentList, or set
 * `cart._p_changed = true`. Properties named `_v_*` are volatile (never stored, dropped when the
 * object becomes a ghost) and `_p_*` are bookkeeping; neither marks the object changed.
 * Symbol-keyed properties are volatile too. Private fields (`#x`) are not supported.
 *
 * Lifecycle: see `TRANSITIONS` (state-table.ts) and docs/guide/persistent-classes.md.
 */
export class Persistent {
  constructor() {
    const slots = (new.target as { [FIELDS]?: DirectSlots })[FIELDS];
    if (slots !== undefined) {
      // A direct object: no Proxy; the classes withFields generated finish it (slotsReady).
      new PersistentMeta(this, takeGhostConstruction(new.target) ? 'ghost' : 'unsaved', slots);
      return;
    }
    // The constructor returns the proxy: subclass field initializers and constructor bodies
    // already run on it, so they land in the state object.
    return new PersistentMeta(this, 'unsaved').proxy as this;
  }

  /**
   * A subclass of this class with declared fields, whose objects need no Proxy: the fast kind of
   * persistent object. Extend it and register the result as usual:
   * ```ts no-run
   * class Cart extends Persistent.withFields({ owner: '', total: 0, items: () => [] as string[] }) {
   *   add(item: string, price: number) { this.items = [...this.items, item]; this.total += price; }
   * }
   * registerClass('shop.Cart', Cart);
   * const cart = new Cart({ owner: 'ann' });
   * ```
   * Each field becomes a getter and setter on a class `withFields` generates, over a private field
   * of that class: reading one loads a ghost, assigning one marks the object changed. Property
   * reads run at about two thirds of the speed of a plain object's, against a twentieth through
   * the Proxy of a class without declared fields.
   *
   * The price: the declared fields are the only properties an object has, and exactly they are
   * stored. Objects are not extensible once constructed: assigning an undeclared property (`_v_*`
   * and `_p_*` names, symbols included) throws TypeError at once, and so does constructing an
   * object of a subclass with class fields (`extra = 1` in the class body). Declare more fields
   * with `Cart.withFields({...})`. Volatile data is declared too, under a `_v_` name
   * (`_v_view: undefined as string | undefined`): never stored, never marking the object changed,
   * never loading a ghost, and back to its default (a factory runs again) whenever the object
   * becomes a ghost.
   * `Object.keys`, spread and `Object.assign` from such an object see nothing; `Object.assign`
   * into one goes through the setters; `Object.freeze` leaves the fields writable and tracked;
   * `delete` does nothing to a field (assign `undefined`). `JSON.stringify` gives what
   * `_p_getState` stores.
   *
   * Loading runs no constructor of the registered class (its private fields and class field
   * initializers do not exist on loaded objects). The constructor of a class between two
   * `withFields` levels (`Cart` in `Cart.withFields({...})`) runs, with no arguments, for every
   * object, ghosts included; what it writes to a ghost is discarded.
   *
   * @param defaults each field's default: a primitive, or a factory called once per new object
   *   (so no two objects share a mutable default). A record stored before a field was declared
   *   reads the primitive default (undefined for a factory field).
   * @returns a class whose constructor takes optional initial values of its fields
   * @throws ClassRegistrationError for a field named `_p_*`, `constructor`, `then`, `toJSON` or
   *   `__proto__`, declared twice, hiding a property or method, or with an object or symbol as
   *   its default
   */
  static withFields<B extends new () => Persistent, F extends FieldDefaults>(this: B, defaults: F): WithFields<B, F> {
    return defineFieldsClass(this, defaults) as unknown as WithFields<B, F>;
  }

  /** The object id: null until the object is added to a connection (explicitly or by reachability). */
  get _p_oid(): Oid | null {
    return requireMeta(this).oid;
  }

  /** The connection managing the object, or null while unsaved and not added. */
  get _p_jar(): Jar | null {
    return requireMeta(this).jar;
  }

  /** The tid of the revision in memory (null until first committed). */
  get _p_serial(): Tid | null {
    return requireMeta(this).serial;
  }

  /** The lifecycle state (reading it never loads a ghost). */
  get _p_state(): PersistentState {
    return requireMeta(this).state;
  }

  /** Estimated size of the stored state in bytes (0 until loaded or stored). */
  get _p_estimatedSize(): number {
    return requireMeta(this).size;
  }

  /**
   * True when the object was changed in the current transaction. Set `true` to mark it changed
   * (after mutating a nested plain value), `false` to forget the changes were made (they stay in
   * memory but are not stored), `null` to turn a saved object back into a ghost.
   */
  get _p_changed(): boolean {
    return requireMeta(this).state === 'changed';
  }
  set _p_changed(value: boolean | null) {
    requireMeta(this).setChanged(value);
  }

  /** Loads the state of a ghost now. */
  _p_activate(): void {
    requireMeta(this).activate();
  }

  /** Advisory: turns a saved object back into a ghost (no effect on changed or unsaved objects). */
  _p_deactivate(): void {
    requireMeta(this).deactivate();
  }

  /** Drops the state in memory, even changes, and turns the object into a ghost (no effect while unsaved). */
  _p_invalidate(): void {
    requireMeta(this).invalidate();
  }

  /**
   * How `console.log` / `util.inspect` show the object: class, state, oid and (unless a ghost)
   * the stored state. Never loads a ghost.
   */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    const meta = requireMeta(this);
    const name = (Object.getPrototypeOf(meta.shell) as { constructor: { name: string } }).constructor.name;
    const header = `${name} <${meta.state}${meta.oid === null ? '' : ` oid ${meta.oid}`}>`;
    if (meta.d === null) return header;
    return `${header} ${inspect((meta.d as unknown as Persistent)._p_getState(), options)}`;
  }

  /**
   * The state to store: by default the own enumerable properties except `_p_*` and `_v_*`.
   * Override it (with `_p_setState`) to store a different representation. It runs on the raw
   * state object: writes made here are not tracked.
   */
  _p_getState(): Record<string, unknown> {
    const state: Record<string, unknown> = {};
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(this)) {
      if (!isSpecialName(key)) state[key] = self[key];
    }
    return state;
  }

  /**
   * Installs a loaded state on a fresh, empty object (no constructor ran): by default copies the
   * state's properties. Runs on the raw state object: writes made here are not tracked.
   */
  _p_setState(state: Record<string, unknown>): void {
    Object.assign(this, state);
  }
}

registerReferenceClass(Persistent);

/** True when `value` is a persistent object. */
export function isPersistent(value: unknown): value is Persistent {
  return value instanceof Persistent && metaOf(value) !== undefined;
}
