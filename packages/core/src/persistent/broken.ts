import { Persistent } from './persistent.ts';
import { metaOf } from './persistent-meta.ts';

const RAW_STATE = Symbol('tidaldb.broken.state');

/**
 * Stands in for a stored object whose class is not registered (ZODB's `Broken`): the state loads
 * and reads work — its properties appear on the object — but every write throws
 * `BrokenObjectError`, so the unknown data is never overwritten. References to it are written back
 * unchanged when other objects are stored.
 */
export class Broken extends Persistent {
  /** The class name the record was written with. */
  get _p_brokenClassName(): string {
    return metaOf(this)?.brokenClassName ?? '(unknown)';
  }

  /** The state exactly as loaded (references as objects of this connection). */
  override _p_getState(): Record<string, unknown> {
    return (this as unknown as { [RAW_STATE]: Record<string, unknown> })[RAW_STATE];
  }

  override _p_setState(state: Record<string, unknown>): void {
    Object.defineProperty(this, RAW_STATE, { value: state, configurable: true });
    if (typeof state === 'object' && state !== null && !Array.isArray(state)) Object.assign(this, state);
  }
}
