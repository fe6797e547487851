/**
 * Persistent classes with declared fields (`Persistent.withFields`): objects without a Proxy.
 *
 * A Proxy cannot be inlined by V8, so every property read of a Proxy-tracked object costs a trap
 * call (~14 ns here, ~20× a plain read). Declaring the fields up front lets each one be a getter
 * and setter on the class prototype instead; V8 inlines those, and a read costs a few loads more
 * than a plain one. The price: only declared fields are stored and tracked (see `withFields`).
 */
import { ClassRegistrationError } from '../errors.ts';
import { FIELDS, isSpecialName, metaOf, META, STATUS, USED_LOADED, type FieldSpec, type PersistentMeta, type StateObject } from './persistent-meta.ts';

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

function metaOfThis(obj: object): PersistentMeta {
  return (obj as { [META]: PersistentMeta })[META];
}

/**
 * The accessor pair of one field: reads load a ghost, writes mark the object changed.
 *
 * Generated code, so that each accessor is a small function of its own with the field's slot as
 * a constant of its context; V8 inlines it into the caller. (A shared accessor taking the slot
 * from a closure measured 1.5x slower: bench/persistent-read.bench.ts.)
 */
function accessor(slot: symbol): PropertyDescriptor {
  const make = new Function(
    'META',
    'STATUS',
    'USED_LOADED',
    'SLOT',
    `return [
      function get() { if (this[STATUS] !== USED_LOADED) this[META].read(); return this[SLOT]; },
      function set(value) { this[META].willWrite(); this[SLOT] = value; },
    ];`,
  ) as (meta: symbol, status: symbol, usedLoaded: number, slot: symbol) => [() => unknown, (value: unknown) => void];
  const [get, set] = make(META, STATUS, USED_LOADED, slot);
  return { get, set, enumerable: false, configurable: true };
}

function fieldSpec(name: string, value: unknown, inherited: readonly FieldSpec[], proto: object): FieldSpec {
  const refuse = (why: string): never => {
    throw new ClassRegistrationError(`cannot declare field "${name}": ${why}`);
  };
  if (isSpecialName(name) || name.startsWith('_p_')) refuse('_p_ and _v_ names are bookkeeping and volatile properties, never stored fields');
  if (name === 'constructor' || name === 'then') refuse('the name is reserved');
  if (inherited.some((f) => f.name === name)) refuse('a parent class already declares it');
  if (name in proto) refuse('the class already has a property or method of that name');
  const slot = Symbol(name);
  if (typeof value === 'function') return { name, slot, initial: value as () => unknown, value: undefined };
  if (typeof value === 'object' && value !== null) {
    refuse(`a default must be a primitive or a factory, or every object would share one ${Array.isArray(value) ? 'array' : 'object'} (write ${name}: () => ...)`);
  }
  if (typeof value === 'symbol') refuse('a symbol cannot be stored');
  return { name, slot, initial: undefined, value };
}

/**
 * Builds the class `Base.withFields(defaults)` returns (see `Persistent.withFields`).
 * @throws ClassRegistrationError for a field named `_p_*` / `_v_*`, `constructor` or `then`, one a
 *   parent class declares, or one that would hide a property or method of Base
 */
export function defineFieldsClass(Base: new () => object, defaults: FieldDefaults): new (init?: Record<string, unknown>) => object {
  const inherited = (Base as { [FIELDS]?: readonly FieldSpec[] })[FIELDS] ?? [];
  const own = Object.keys(defaults).map((name) => fieldSpec(name, defaults[name], inherited, Base.prototype as object));
  const all = [...inherited, ...own];
  const bySlot = new Map(all.map((f) => [f.name, f.slot]));
  const { getState, setState } = stateHooks(all);

  class Fields extends Base {
    constructor(init?: Record<string, unknown>) {
      super();
      // A subclass of a Proxy-tracked class (Broken, or one whose constructor returns a Proxy) cannot be direct.
      if (metaOf(this)?.direct !== true) throw new ClassRegistrationError('withFields is only for classes extending Persistent');
      const obj = this as unknown as StateObject;
      for (const f of own) obj[f.slot] = f.initial === undefined ? f.value : f.initial();
      if (init !== undefined) {
        for (const key of Object.keys(init)) {
          const slot = bySlot.get(key);
          if (slot === undefined) throw new TypeError(`${new.target.name} has no declared field "${key}" (declared: ${[...bySlot.keys()].join(', ')})`);
          obj[slot] = init[key];
        }
      }
    }

    /** The declared fields (and any unknown keys its record had), as stored. */
    _p_getState(): Record<string, unknown> {
      return getState.call(this);
    }

    /** Sets every declared field from the state (its default when the state lacks it); keeps unknown keys. */
    _p_setState(state: Record<string, unknown>): void {
      setState.call(this, state);
    }

    /** JSON of a direct object: its stored state (it has no own enumerable properties to show). */
    toJSON(): Record<string, unknown> {
      return getState.call(metaOfThis(this).loaded());
    }
  }
  for (const f of own) Object.defineProperty(Fields.prototype, f.name, accessor(f.slot));
  Object.defineProperty(Fields, FIELDS, { value: Object.freeze(all) });
  Object.defineProperty(Fields, 'name', { value: `withFields(${all.map((f) => f.name).join(', ')})` });
  return Fields;
}

type GetState = (this: object) => Record<string, unknown>;
type SetState = (this: object, state: Record<string, unknown>) => void;

/**
 * The default get/set-state hooks of a class with these fields, generated so that the state
 * object is built as one literal (one V8 shape for every record of the class, which msgpackr
 * then encodes fast) and each slot is read and written at a constant key.
 */
function stateHooks(fields: readonly FieldSpec[]): { getState: GetState; setState: SetState } {
  // JSON string literals are valid JavaScript string literals; `__proto__` never gets here
  // (it is refused as hiding a property).
  const key = (f: FieldSpec): string => JSON.stringify(f.name);
  const params = fields.map((_, i) => `S${i}`);
  const literal = fields.map((f, i) => `${key(f)}: this[S${i}]`).join(', ');
  const assign = fields
    .map((f, i) => `if (hasOwn(state, ${key(f)})) { this[S${i}] = state[${key(f)}]; found++; } else this[S${i}] = F[${i}].value;`)
    .join('\n');
  const make = new Function(
    'META',
    'F',
    'hasOwn',
    'extraOf',
    ...params,
    `return {
      getState() { const extra = this[META].extra; const s = { ${literal} }; return extra === undefined ? s : { ...extra, ...s }; },
      setState(state) { let found = 0; ${assign}
        this[META].extra = Object.keys(state).length === found ? undefined : extraOf(state); },
    };`,
  ) as (...args: unknown[]) => { getState: GetState; setState: SetState };
  const names = new Set(fields.map((f) => f.name));
  const extraOf = (state: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(state).filter(([k]) => !names.has(k)));
  return make(META, fields, Object.hasOwn, extraOf, ...fields.map((f) => f.slot));
}

/**
 * Own enumerable properties of a direct object that are neither declared fields nor `_v_` / `_p_`
 * names: values that would silently not be stored (a class field initializer in a subclass, or an
 * assignment to an undeclared name).
 */
export function undeclaredProperties(obj: object): string[] {
  return Object.keys(obj).filter((key) => !isSpecialName(key));
}
