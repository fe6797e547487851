/**
 * Persistent classes with declared fields (`Persistent.withFields`): objects without a Proxy.
 *
 * A Proxy cannot be inlined by V8, so every property read of a Proxy-tracked object costs a trap
 * call (~14 ns here, ~20× a plain read). Declaring the fields up front lets each one be a getter
 * and setter on a generated class instead, over a private field of that class; V8 inlines those,
 * and a read costs one check more than a plain one. The price: only declared fields exist.
 *
 * Private fields, rather than properties, hold the values and the object's status: the
 * application cannot reach them by `Object.assign`, spread, `Object.freeze` or `delete`, so every
 * change goes through the setters. Each `withFields` call generates one class (a "level"): the
 * first level of a chain owns the status; every level owns the slots of the fields it declares.
 */
import { ClassRegistrationError } from '../errors.ts';
import {
  FIELDS,
  isSpecialName,
  META,
  USED_LOADED,
  type DirectSlots,
  type FieldSpec,
  type PersistentMeta,
} from './persistent-meta.ts';

/**
 * Declared fields: each value is the field's default, a primitive (`0`, `''`, `false`, `null`,
 * `undefined`, a bigint) or a factory called once per new object (`tags: () => [] as string[]`),
 * so that no two objects ever share a mutable default.
 */
export type FieldDefaults = Record<string, unknown>;

/** The instance properties `withFields(defaults)` declares: a factory's field has the factory's result type. */
export type FieldValues<F extends FieldDefaults> = {
  -readonly [K in keyof F]: F[K] extends (...args: never[]) => infer R ? R : F[K];
};

/** Types only: the fields a class made by `withFields` declares, its parents' included. */
declare const declaredFields: unique symbol;

/** The fields `Base` declares (through earlier `withFields` calls), or none. */
type InheritedFields<Base> = Base extends { readonly [declaredFields]?: infer G } ? G : Record<never, never>;

/**
 * The class `Base.withFields(defaults)` returns: constructible with initial values of any of its
 * fields (inherited ones too), with Base's statics.
 */
export type WithFields<Base extends abstract new (...args: never[]) => object, F extends FieldDefaults> = Omit<Base, 'prototype'> & {
  new (init?: Partial<InheritedFields<Base> & FieldValues<F>>): InstanceType<Base> & FieldValues<F>;
  prototype: InstanceType<Base> & FieldValues<F>;
  readonly [declaredFields]?: InheritedFields<Base> & FieldValues<F>;
};

/** Names the generated classes define themselves, or that would change how objects behave. */
const RESERVED = new Set(['constructor', 'then', 'toJSON', '__proto__']);

function fieldSpec(name: string, value: unknown, inherited: readonly FieldSpec[], proto: object): FieldSpec {
  const refuse = (why: string): never => {
    throw new ClassRegistrationError(`cannot declare field "${name}": ${why}`);
  };
  if (name.startsWith('_p_')) refuse('_p_ names are bookkeeping');
  if (RESERVED.has(name)) refuse('the name is reserved');
  if (inherited.some((f) => f.name === name)) refuse('a parent class already declares it');
  if (name in proto) refuse('the class already has a property or method of that name');
  const volatile = isSpecialName(name);
  if (typeof value === 'function') return { name, volatile, initial: value as () => unknown, value: undefined };
  if (typeof value === 'object' && value !== null) {
    refuse(`a default must be a primitive or a factory, or every object would share one ${Array.isArray(value) ? 'array' : 'object'} (write ${name}: () => ...)`);
  }
  if (typeof value === 'symbol') refuse('a symbol cannot be stored');
  return { name, volatile, initial: undefined, value };
}

/**
 * The static functions a generated level has over its own private fields: the `DirectSlots`
 * operations for its fields (status: the first level's), and the state hooks' parts.
 */
interface Level extends Omit<DirectSlots, 'fields' | 'Class'> {
  /** Gives the level's fields their defaults (a new object). */
  init(obj: object): void;
  /** The level's stored fields as one object literal (one V8 shape per class). */
  literal(obj: object): Record<string, unknown>;
  /** Copies the level's stored fields into `state`. */
  copyInto(obj: object, state: Record<string, unknown>): void;
  /** Sets the level's stored fields from `state` (defaults where it has none). @returns how many it had */
  setFrom(obj: object, state: Record<string, unknown>): number;
}

type LevelClass = (abstract new () => object) & Level;

/**
 * Generates one level: a subclass of `Base` with a private field per declared field (and the
 * status, on the first level), the fields' accessors, and static functions over the private
 * fields for the meta (`DirectSlots`) and the state hooks.
 *
 * Generated code, so that each accessor is a small function of its own that V8 inlines into the
 * caller, reading a private field at a constant key; the field names are embedded as JSON string
 * literals, which are always valid JavaScript string literals.
 */
function generateLevel(Base: abstract new () => object, own: readonly FieldSpec[], rootStatus: ((obj: object) => number) | null): LevelClass {
  const lit = (f: FieldSpec): string => JSON.stringify(f.name);
  const status = rootStatus === null ? 'this.#status' : 'STATUS(this)';
  const stored = own.map((f, i) => [f, i] as const).filter(([f]) => !f.volatile);
  const accessors = own.map((f, i) =>
    f.volatile
      ? `get [${lit(f)}]() { return this.#s${i}; }\n set [${lit(f)}](v) { this.#s${i} = v; }`
      : `get [${lit(f)}]() { if (${status} !== USED_LOADED) this[META].read(); return this.#s${i}; }\n` +
        ` set [${lit(f)}](v) { this[META].willWrite(); this.#s${i} = v; }`,
  );
  const initial = (i: number): string => `o.#s${i} = F[${i}].initial === undefined ? F[${i}].value : F[${i}].initial();`;
  const volatile = own.map((f, i) => [f, i] as const).filter(([f]) => f.volatile);
  const source = `"use strict";
    return class extends Base {
      ${rootStatus === null ? '#status = 0;' : ''}
      ${own.map((_, i) => `#s${i};`).join(' ')}
      constructor() { super(); }
      ${accessors.join('\n')}
      ${rootStatus === null ? 'static status(o) { return o.#status; } static setStatus(o, s) { o.#status = s; }' : ''}
      static clear(o) { ${stored.map(([, i]) => `o.#s${i} = undefined;`).join(' ')} }
      static resetVolatile(o) { ${volatile.map(([, i]) => initial(i)).join(' ')} }
      static stash(o) { return [${own.map((_, i) => `o.#s${i}`).join(', ')}]; }
      static unstash(o, a) { ${own.map((_, i) => `o.#s${i} = a[${i}];`).join(' ')} }
      static init(o) { ${own.map((_, i) => initial(i)).join(' ')} }
      static literal(o) { return { ${stored.map(([f, i]) => `${lit(f)}: o.#s${i}`).join(', ')} }; }
      static copyInto(o, s) { ${stored.map(([f, i]) => `s[${lit(f)}] = o.#s${i};`).join(' ')} }
      static setFrom(o, s) {
        let found = 0;
        ${stored.map(([f, i]) => `if (hasOwn(s, ${lit(f)})) { o.#s${i} = s[${lit(f)}]; found++; } else o.#s${i} = F[${i}].value;`).join('\n')}
        return found;
      }
    };`;
  const make = new Function('Base', 'META', 'USED_LOADED', 'STATUS', 'F', 'hasOwn', source) as (...args: unknown[]) => LevelClass;
  return make(Base, META, USED_LOADED, rootStatus, own, Object.hasOwn);
}

function metaOfThis(obj: object): PersistentMeta {
  return (obj as { [META]: PersistentMeta })[META];
}

/**
 * Builds the class `Base.withFields(defaults)` returns (see `Persistent.withFields`).
 * @throws ClassRegistrationError for a field named `_p_*`, `constructor`, `then`, `toJSON` or `__proto__`,
 *   one a parent class declares, one that would hide a property or method of Base, or one with
 *   an object or symbol as its default
 */
export function defineFieldsClass(Base: abstract new () => object, defaults: FieldDefaults): new (init?: Record<string, unknown>) => object {
  const parent = (Base as { [FIELDS]?: DirectSlots & { levels?: readonly LevelClass[] } })[FIELDS];
  const inherited = parent?.fields ?? [];
  const own = Object.keys(defaults).map((name) => fieldSpec(name, defaults[name], inherited, Base.prototype as object));
  const all = [...inherited, ...own];
  const parentLevels = parent?.levels ?? [];
  const root = parentLevels[0];
  // The status accessor does not use `this`: the other levels call it as a plain function.
  const Level = generateLevel(Base, own, root === undefined ? null : root.status);
  const levels = [...parentLevels, Level];
  const first = levels[0] as LevelClass;
  const byName = new Set(all.map((f) => f.name));
  const storedNames = new Set(all.filter((f) => !f.volatile).map((f) => f.name));
  const extraOf = (state: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(state).filter(([k]) => !storedNames.has(k)));

  class Fields extends Level {
    constructor(init?: Record<string, unknown>) {
      super();
      const meta = metaOfThis(this);
      if (root === undefined) meta.slotsReady();
      if (meta.state !== 'ghost') Level.init(this);
      if (init !== undefined) {
        const self = this as unknown as Record<string, unknown>;
        for (const key of Object.keys(init)) {
          if (!byName.has(key)) throw new TypeError(`${new.target.name} has no declared field "${key}" (declared: ${[...byName].join(', ')})`);
          self[key] = init[key];
        }
      }
      if ((new.target as { [FIELDS]?: unknown })[FIELDS] === slots) {
        // The most derived level: the object is complete. Anything else on it would not be
        // stored, or (a `_v_` one) not be dropped with the state: a class field of a class
        // between levels. Refuse it, and refuse more later.
        const undeclared = Object.keys(this);
        if (undeclared.length > 0) {
          throw new TypeError(
            `${new.target.name}: ${undeclared.join(', ')} ${undeclared.length === 1 ? 'is not a declared field' : 'are not declared fields'}; declare fields with withFields`,
          );
        }
        Object.preventExtensions(this);
      }
    }

    /** The declared fields (and any unknown keys its record had), as stored. */
    _p_getState(): Record<string, unknown> {
      let state: Record<string, unknown>;
      if (levels.length === 1) {
        state = first.literal(this);
      } else {
        state = {};
        for (const level of levels) level.copyInto(this, state);
      }
      const extra = metaOfThis(this).extra;
      return extra === undefined ? state : { ...extra, ...state };
    }

    /** Sets every declared field from the state (its default where the state has none); keeps unknown keys. */
    _p_setState(state: Record<string, unknown>): void {
      let found = 0;
      for (const level of levels) found += level.setFrom(this, state);
      metaOfThis(this).extra = Object.keys(state).length === found ? undefined : extraOf(state);
    }

    /** JSON of a direct object: what `_p_getState` stores (it has no own properties to show). */
    toJSON(): Record<string, unknown> {
      return (metaOfThis(this).loaded() as unknown as { _p_getState(): Record<string, unknown> })._p_getState();
    }
  }

  const slots: DirectSlots & { levels: readonly LevelClass[] } = {
    fields: all,
    Class: Fields,
    levels,
    // The first level's status functions do not use `this`.
    status: first.status,
    setStatus: first.setStatus,
    clear: (obj) => {
      for (const level of levels) level.clear(obj);
    },
    resetVolatile: (obj) => {
      for (const level of levels) level.resetVolatile(obj);
    },
    stash: (obj) => levels.map((level) => level.stash(obj)),
    unstash: (obj, values) => {
      levels.forEach((level, i) => level.unstash(obj, values[i] as unknown[]));
    },
  };
  Object.defineProperty(Fields, FIELDS, { value: slots });
  Object.defineProperty(Fields, 'name', { value: `withFields(${all.map((f) => f.name).join(', ')})` });
  return Fields;
}
