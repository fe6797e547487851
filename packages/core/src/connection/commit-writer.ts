import { PersistentRef } from '../codec/persistent-ref.ts';
import { assertStorable, encodeRecord } from '../codec/record.ts';
import { InvalidObjectReferenceError, UnstorableValueError } from '../errors.ts';
import type { Oid, Tid } from '../ids.ts';
import type { ClassRegistry, PersistentClass } from '../persistent/class-registry.ts';
import { metaOf, type Jar, type PersistentMeta } from '../persistent/persistent-meta.ts';
import { findPath } from './find-path.ts';

/** One object revision ready to be stored. */
export interface PreparedRecord {
  readonly meta: PersistentMeta;
  readonly oid: Oid;
  /** The serial the object was read at; null for a new object. */
  readonly readTid: Tid | null;
  readonly data: Uint8Array;
}

/** What the writer needs from its connection. */
export interface WriterHost {
  readonly jar: Jar;
  readonly registry: ClassRegistry;
  /** Implicit add: gives a new object an oid and this connection, so it is stored too. */
  adopt(meta: PersistentMeta): void;
}

function constructorOf(meta: PersistentMeta): PersistentClass {
  return (Object.getPrototypeOf(meta.shell) as { constructor: PersistentClass }).constructor;
}

/** The registered class name of an object, or undefined when its class is not registered. */
export function classNameOf(registry: ClassRegistry, meta: PersistentMeta): string | undefined {
  return meta.brokenClassName ?? registry.nameOf(constructorOf(meta));
}

/** How errors name an object: `shop.Cart oid 0000000000000003`. */
export function describeObject(registry: ClassRegistry, meta: PersistentMeta): string {
  const name = classNameOf(registry, meta) ?? `${constructorOf(meta).name || '(anonymous class)'} (unregistered)`;
  return meta.oid === null ? `new ${name}` : `${name} oid ${meta.oid}`;
}

function unregistered(meta: PersistentMeta): string {
  return `instance of unregistered persistent class ${constructorOf(meta).name || '(anonymous)'} (register it with registerClass)`;
}

/**
 * Serializes the objects a commit stores (ZODB's ObjectWriter): each changed or unsaved object in
 * `start`, plus every new object reachable from them (implicit add by reachability), which the
 * host adopts as it is found. Nothing is sent to the storage here, so a refused value leaves
 * nothing half-written.
 * @throws UnstorableValueError naming the object, the property path and the type (functions,
 *   symbols, instances of unregistered classes, persistent objects of unregistered classes)
 * @throws InvalidObjectReferenceError when a state refers to a persistent object of another connection
 */
export function serializeObjects(host: WriterHost, start: Iterable<PersistentMeta>): PreparedRecord[] {
  return new ObjectWriter(host).write(start);
}

/** One commit's serialization: the queue of objects to store and the reference writer of the record being encoded. */
class ObjectWriter {
  readonly #queue: PersistentMeta[] = [];
  readonly #queued = new Set<PersistentMeta>();
  /** The object being encoded, for the reference writer's errors. */
  #where = '';
  #state: Record<string, unknown> = {};

  constructor(readonly host: WriterHost) {}

  write(start: Iterable<PersistentMeta>): PreparedRecord[] {
    const { registry } = this.host;
    for (const meta of start) if (meta.state === 'changed' || meta.state === 'unsaved') this.#enqueue(meta);
    const records: PreparedRecord[] = [];
    const queue = this.#queue;
    for (let i = 0; i < queue.length; i++) {
      const meta = queue[i] as PersistentMeta;
      const className = classNameOf(registry, meta);
      if (className === undefined) throw new UnstorableValueError(describeObject(registry, meta), '', unregistered(meta));
      const where = `${className} oid ${meta.oid as Oid}`;
      const state = (meta.d as unknown as { _p_getState(): Record<string, unknown> })._p_getState();
      assertStorable(state, where);
      this.#where = where;
      this.#state = state;
      const data = encodeRecord(className, state, this.#refOf);
      records.push({ meta, oid: meta.oid as Oid, readTid: meta.state === 'unsaved' ? null : meta.serial, data });
    }
    return records;
  }

  #enqueue(meta: PersistentMeta): void {
    if (this.#queued.has(meta)) return;
    this.#queued.add(meta);
    this.#queue.push(meta);
  }

  /** The RefWriter: made once per commit, not once per object. */
  readonly #refOf = (obj: object): PersistentRef => {
    const { host } = this;
    const target = metaOf(obj);
    if (target === undefined) throw new UnstorableValueError(this.#where, findPath(this.#state, obj), 'persistent object without bookkeeping');
    const targetName = classNameOf(host.registry, target);
    if (targetName === undefined) throw new UnstorableValueError(this.#where, findPath(this.#state, obj), unregistered(target));
    if (target.jar === null) {
      host.adopt(target);
      this.#enqueue(target);
    } else if (target.jar !== host.jar) {
      throw new InvalidObjectReferenceError(
        `${this.#where} refers at ${findPath(this.#state, obj) || '(state)'} to ${describeObject(host.registry, target)}, which belongs to another connection; ` +
          'persistent objects cannot be shared between connections (load it in this connection with get(oid))',
      );
    }
    return new PersistentRef(target.oid as Oid, targetName);
  };
}
