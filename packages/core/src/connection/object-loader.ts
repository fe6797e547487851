import { decodeRecord } from '../codec/record.ts';
import type { Oid } from '../ids.ts';
import { Broken } from '../persistent/broken.ts';
import type { ClassRegistry } from '../persistent/class-registry.ts';
import { metaOf, newGhost, setGhostClass, type Jar, type PersistentMeta } from '../persistent/persistent-meta.ts';
import type { MvccView } from './mvcc.ts';
import type { ObjectCache } from './object-cache.ts';

/**
 * Turns records of a connection's snapshot into objects (ZODB's ObjectReader): references become
 * the connection's object for that oid or a new ghost of the named class; a class that is not
 * registered gives a `Broken` object.
 */
export class ObjectLoader {
  constructor(
    private readonly jar: Jar,
    private readonly registry: ClassRegistry,
    private readonly cache: ObjectCache,
    private readonly view: MvccView,
  ) {}

  /** The RefReader used while decoding records. */
  readonly refReader = (oid: Oid, className: string): unknown => this.cache.get(oid) ?? this.newGhost(oid, className).proxy;

  /** A new ghost for `oid`, entered in the cache. */
  newGhost(oid: Oid, className: string): PersistentMeta {
    const Class = this.registry.classFor(className);
    const meta = newGhost((Class ?? Broken).prototype, oid, this.jar);
    if (Class === undefined) meta.brokenClassName = className;
    this.cache.add(meta);
    return meta;
  }

  /** Loads the snapshot's revision into a ghost. */
  load(meta: PersistentMeta): void {
    const rev = this.view.load(meta.oid as Oid);
    const { className, state } = decodeRecord(rev.data, this.refReader);
    this.setClass(meta, className);
    meta.install(state as Record<string, unknown>, rev.tid, rev.data.length);
  }

  /** Loads an object the cache does not have. */
  loadNew(oid: Oid): object {
    const rev = this.view.load(oid);
    const { className, state } = decodeRecord(rev.data, this.refReader);
    // Decoding may already have made a ghost of this very oid (an object referring to itself).
    const meta = metaOf(this.cache.get(oid)) ?? this.newGhost(oid, className);
    this.setClass(meta, className);
    meta.install(state as Record<string, unknown>, rev.tid, rev.data.length);
    return meta.proxy;
  }

  /** Makes a ghost's class the one its record names (Broken when that class is not registered). */
  private setClass(meta: PersistentMeta, className: string): void {
    const Class = this.registry.classFor(className);
    const proto = (Class ?? Broken).prototype;
    meta.brokenClassName = Class === undefined ? className : null;
    if (Object.getPrototypeOf(meta.shell) !== proto) setGhostClass(meta, proto);
  }
}
