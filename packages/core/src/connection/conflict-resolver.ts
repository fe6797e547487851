import { assertStorable, decodeRecord, encodeRecord } from '../codec/record.ts';
import type { ConflictInput, ConflictResolver } from '../interfaces.ts';
import type { ClassRegistry } from '../persistent/class-registry.ts';

/** The optional static hook of a persistent class that merges concurrent changes. */
export type ResolveConflict = (old: Record<string, unknown> | null, committed: Record<string, unknown>, mine: Record<string, unknown>) => Record<string, unknown>;

/**
 * The resolver a DB installs in its storage: decodes the three revisions (references stay
 * `PersistentRef`s), finds the class by the name the records carry and calls its static
 * `resolveConflict(old, committed, mine)`; the merged state is encoded under the same class name.
 * It throws — so the storage raises `ConflictError` — when the class is unknown, has no
 * `resolveConflict`, the revisions disagree on the class, or the hook throws.
 */
export function registryConflictResolver(registry: ClassRegistry): ConflictResolver {
  return {
    resolve(input: ConflictInput): Uint8Array {
      const mine = decodeRecord(input.mine);
      const committed = decodeRecord(input.committed);
      const old = input.old === null ? null : decodeRecord(input.old);
      const className = mine.className;
      if (committed.className !== className || (old !== null && old.className !== className)) {
        throw new Error(`the revisions disagree on the class (${old?.className ?? '-'}, ${committed.className}, ${className})`);
      }
      const Class = registry.classFor(className) as unknown as { resolveConflict?: ResolveConflict } | undefined;
      if (Class === undefined) throw new Error(`class ${className} is not registered in this process`);
      if (typeof Class.resolveConflict !== 'function') throw new Error(`class ${className} has no static resolveConflict`);
      const merged = Class.resolveConflict(
        (old?.state ?? null) as Record<string, unknown> | null,
        committed.state as Record<string, unknown>,
        mine.state as Record<string, unknown>,
      );
      assertStorable(merged, `merged state of ${className} oid ${input.oid}`);
      return encodeRecord(className, merged);
    },
  };
}
