/**
 * The record format: how an object's state becomes bytes in the storage.
 *
 * A record is one msgpack array `[RECORD_FORMAT, className, state]`. The state is plain data
 * (objects, arrays, strings, numbers, booleans, null, undefined, 64-bit bigints, Date, Set,
 * Uint8Array, RegExp). A persistent object inside a state is never inlined: it is written as a
 * reference — msgpack extension `REF_EXTENSION` carrying `[oid, className]` — so a ghost of the
 * right class can be made without loading the target, and references can be listed without
 * instantiating any user class.
 *
 * Records are self-contained (no shared msgpack structures): any single record decodes on its own,
 * which the CLI, pack and other processes rely on.
 */
import { Packr, addExtension } from 'msgpackr';
import { InvalidRecordError, UnstorableValueError } from '../errors.ts';
import { isIdString, type Oid } from '../ids.ts';
import { PersistentRef } from './persistent-ref.ts';

/** Version of the record layout; bump on incompatible change. */
export const RECORD_FORMAT = 1;
/** msgpack extension type of persistent references. */
export const REF_EXTENSION = 80;

/** How an encoder turns a persistent object found in a state into a reference. */
export type RefWriter = (obj: object) => PersistentRef;
/** How a decoder turns a reference into a value (a ghost, in a connection). */
export type RefReader = (oid: Oid, className: string) => unknown;

// msgpackr extensions have no context argument; encode/decode are synchronous, so the active
// writer/reader is held here for the duration of one call.
let activeWriter: RefWriter | null = null;
let activeReader: RefReader | null = null;
const referenceClasses: Array<abstract new (...args: never[]) => object> = [];

function readRef(data: unknown): unknown {
  if (!Array.isArray(data) || data.length !== 2 || !isIdString(data[0]) || typeof data[1] !== 'string') {
    throw new InvalidRecordError('malformed persistent reference');
  }
  const oid = data[0] as Oid;
  return activeReader ? activeReader(oid, data[1]) : new PersistentRef(oid, data[1]);
}

addExtension({
  Class: PersistentRef,
  type: REF_EXTENSION,
  write: (ref: PersistentRef) => [ref.oid, ref.className],
  read: readRef,
});

/**
 * Declares a base class whose instances are written as references (the persistent layer registers
 * `Persistent` here; the codec does not depend on it).
 */
export function registerReferenceClass(Class: abstract new (...args: never[]) => object): void {
  if (referenceClasses.includes(Class)) return;
  referenceClasses.push(Class);
  addExtension({
    Class: Class as unknown as new (...args: unknown[]) => object,
    type: REF_EXTENSION,
    write(obj: object) {
      if (!activeWriter) throw new InvalidRecordError('a persistent object can only be encoded by a connection');
      const ref = activeWriter(obj);
      return [ref.oid, ref.className];
    },
    read: readRef,
  });
}

const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true, encodeUndefinedAsNil: false });

function isReference(value: object): boolean {
  if (value instanceof PersistentRef) return true;
  for (const C of referenceClasses) if (value instanceof C) return true;
  return false;
}

const describeType = (value: unknown): string => {
  if (typeof value === 'function') return `function ${(value as { name?: string }).name || '(anonymous)'}`;
  if (typeof value === 'symbol') return 'symbol';
  if (typeof value === 'bigint') return 'bigint wider than 64 bits';
  if (value instanceof Map) return 'Map (use PersistentMap or a plain object)';
  if (value instanceof WeakMap || value instanceof WeakSet) return value.constructor.name;
  if (value instanceof Promise) return 'Promise';
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return `instance of unregistered class ${ctor?.name ?? '(unknown)'}`;
};

const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

// assertStorable runs once per stored object: its walk allocates nothing unless it fails. The
// objects being walked (for cycles) and the path to the current value are kept on two stacks and
// the path is only spelled out in the error.
const ancestors: object[] = [];
const pathKinds: number[] = [];
const pathKeys: Array<string | number> = [];
const KEY = 0;
const INDEX = 1;
const MEMBER = 2;

function pathHere(): string {
  let path = '';
  for (let i = 0; i < pathKinds.length; i++) {
    const key = pathKeys[i] as string | number;
    if (pathKinds[i] === KEY) path += path === '' ? String(key) : `.${key}`;
    else path += pathKinds[i] === INDEX ? `[${key}]` : `{${key}}`;
  }
  return path;
}

function walkStorable(value: unknown, objectName: string): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return;
    case 'bigint':
      if (value < MIN_I64 || value > MAX_U64) throw new UnstorableValueError(objectName, pathHere(), describeType(value));
      return;
    case 'function':
    case 'symbol':
      throw new UnstorableValueError(objectName, pathHere(), describeType(value));
  }
  if (value === null) return;
  const obj = value as object;
  if (isReference(obj)) return;
  if (obj instanceof Date || obj instanceof Uint8Array || obj instanceof RegExp) return;
  if (ancestors.includes(obj)) throw new UnstorableValueError(objectName, pathHere(), 'cyclic reference (use persistent objects for shared or cyclic structure)');
  ancestors.push(obj);
  if (Array.isArray(obj)) {
    pathKinds.push(INDEX);
    for (let i = 0; i < obj.length; i++) {
      pathKeys.push(i);
      walkStorable(obj[i], objectName);
      pathKeys.pop();
    }
    pathKinds.pop();
  } else if (obj instanceof Set) {
    pathKinds.push(MEMBER);
    let i = 0;
    for (const item of obj) {
      pathKeys.push(i++);
      walkStorable(item, objectName);
      pathKeys.pop();
    }
    pathKinds.pop();
  } else {
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new UnstorableValueError(objectName, pathHere(), describeType(obj));
    pathKinds.push(KEY);
    for (const key in obj) {
      if (!Object.hasOwn(obj, key)) continue;
      pathKeys.push(key);
      // msgpackr renames this key on decode (prototype-pollution guard): refuse rather than alter.
      if (key === '__proto__') throw new UnstorableValueError(objectName, pathHere(), 'property named __proto__');
      walkStorable((obj as Record<string, unknown>)[key], objectName);
      pathKeys.pop();
    }
    pathKinds.pop();
    if (Object.getOwnPropertySymbols(obj).length > 0) throw new UnstorableValueError(objectName, pathHere(), 'symbol-keyed property');
  }
  ancestors.pop();
}

/**
 * Walks a state and throws `UnstorableValueError` at the first value the codec would not
 * round-trip faithfully. Persistent objects are not entered: they are stored on their own.
 */
export function assertStorable(state: unknown, objectName: string): void {
  // A walk leaves the stacks empty unless it throws; emptying them every time would also free
  // their storage, which every walk would then allocate again.
  try {
    walkStorable(state, objectName);
  } catch (err) {
    ancestors.length = 0;
    pathKinds.length = 0;
    pathKeys.length = 0;
    throw err;
  }
}

/**
 * Encodes one record.
 * @param refOf turns persistent objects in the state into references (assigning oids to new ones);
 *   required when the state can contain persistent objects
 * @throws UnstorableValueError (via `assertStorable`, which callers run first when they need the
 *   object named precisely) or InvalidRecordError for a persistent object without a writer
 */
export function encodeRecord(className: string, state: unknown, refOf?: RefWriter): Uint8Array {
  const previous = activeWriter;
  activeWriter = refOf ?? null;
  try {
    return packr.pack([RECORD_FORMAT, className, state]);
  } finally {
    activeWriter = previous;
  }
}

/** A decoded record. */
export interface DecodedRecord {
  readonly className: string;
  readonly state: unknown;
}

function unpack(bytes: Uint8Array, reader: RefReader | null): unknown {
  const previous = activeReader;
  activeReader = reader;
  try {
    return packr.unpack(bytes);
  } catch (err) {
    if (err instanceof InvalidRecordError) throw err;
    throw new InvalidRecordError(`not a msgpack record: ${(err as Error).message}`, { cause: err });
  } finally {
    activeReader = previous;
  }
}

function checkShape(decoded: unknown): [number, string, unknown] {
  if (!Array.isArray(decoded) || decoded.length !== 3 || typeof decoded[1] !== 'string') {
    throw new InvalidRecordError('record is not [format, className, state]');
  }
  if (decoded[0] !== RECORD_FORMAT) {
    throw new InvalidRecordError(`record format ${String(decoded[0])} is not supported (expected ${RECORD_FORMAT})`);
  }
  return decoded as [number, string, unknown];
}

/**
 * Decodes one record.
 * @param loadRef turns references into values; without it they decode as `PersistentRef`
 * @throws InvalidRecordError for bytes that are not a record
 */
export function decodeRecord(bytes: Uint8Array, loadRef?: RefReader): DecodedRecord {
  const [, className, state] = checkShape(unpack(bytes, loadRef ?? null));
  return { className, state };
}

/** The oids a record refers to, in first-seen order, without instantiating any class. */
export function referencesOf(bytes: Uint8Array): Oid[] {
  const found = new Set<Oid>();
  checkShape(
    unpack(bytes, (oid) => {
      found.add(oid);
      return null;
    }),
  );
  return [...found];
}

/** The class name a record was written with. */
export function classNameOf(bytes: Uint8Array): string {
  return decodeRecord(bytes).className;
}
