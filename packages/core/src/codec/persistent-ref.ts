import type { Oid } from '../ids.ts';

/**
 * A reference to a persistent object, as it appears in a decoded state when no connection is
 * there to turn it into an object: in conflict resolvers, pack's GC, and the CLI. Two refs are
 * equal when their oids are (`equals`); the class name is a hint for making ghosts.
 */
export class PersistentRef {
  constructor(
    readonly oid: Oid,
    readonly className: string,
  ) {}

  equals(other: unknown): boolean {
    return other instanceof PersistentRef && other.oid === this.oid;
  }

  toString(): string {
    return `<ref ${this.className} ${this.oid}>`;
  }
}
