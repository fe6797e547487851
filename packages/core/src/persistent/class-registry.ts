import { ClassRegistrationError } from '../errors.ts';
import type { Persistent } from './persistent.ts';

/** A persistent class as the registry sees it (any constructor of Persistent objects). */
export type PersistentClass = abstract new (...args: never[]) => Persistent;

/**
 * Maps stable class names (`'shop.Cart'`) to persistent classes and back. Records store the name,
 * never the JavaScript class name, so minification and renames do not break stored data.
 *
 * A registry may have a parent: lookups that miss fall back to it (a DB's private registry sees
 * the global one, where the built-in classes are registered).
 */
export class ClassRegistry {
  readonly #byName = new Map<string, PersistentClass>();
  readonly #byClass = new Map<PersistentClass, string>();

  /** @param parent registry consulted when a lookup misses here; null for none */
  constructor(readonly parent: ClassRegistry | null = null) {}

  /**
   * Registers `Class` under `name`. Registering the same pair again does nothing.
   * @throws ClassRegistrationError when `name` is already taken by another class, or `Class`
   *   already has another name (in this registry or its parents)
   */
  register(name: string, Class: PersistentClass): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ClassRegistrationError(`a persistent class needs a non-empty name (got ${JSON.stringify(name)})`);
    }
    if (typeof Class !== 'function') {
      throw new ClassRegistrationError(`cannot register ${String(Class)} as ${JSON.stringify(name)}: not a class`);
    }
    const existing = this.classFor(name);
    if (existing !== undefined && existing !== Class) {
      throw new ClassRegistrationError(
        `class name ${JSON.stringify(name)} is already registered for class ${existing.name || '(anonymous)'}; cannot register ${Class.name || '(anonymous)'} under it`,
      );
    }
    const existingName = this.nameOf(Class);
    if (existingName !== undefined && existingName !== name) {
      throw new ClassRegistrationError(
        `class ${Class.name || '(anonymous)'} is already registered as ${JSON.stringify(existingName)}; cannot also register it as ${JSON.stringify(name)}`,
      );
    }
    this.#byName.set(name, Class);
    this.#byClass.set(Class, name);
  }

  /** The class registered under `name`, or undefined. */
  classFor(name: string): PersistentClass | undefined {
    return this.#byName.get(name) ?? this.parent?.classFor(name);
  }

  /** The name `Class` is registered under (exactly that class, not a superclass), or undefined. */
  nameOf(Class: PersistentClass): string | undefined {
    return this.#byClass.get(Class) ?? this.parent?.nameOf(Class);
  }
}

/** The global registry: `registerClass` adds to it and DBs use it unless given another. */
export const globalRegistry = new ClassRegistry();

/**
 * Registers a persistent class under a stable name in the global registry.
 * @example
 * class Cart extends Persistent { items: string[] = [] }
 * registerClass('shop.Cart', Cart);
 * @throws ClassRegistrationError when the name is taken by another class or the class has another name
 */
export function registerClass(name: string, Class: PersistentClass): void {
  globalRegistry.register(name, Class);
}
