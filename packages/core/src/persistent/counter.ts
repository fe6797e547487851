import { TidalError } from '../errors.ts';
import { registerClass } from './class-registry.ts';
import { Persistent } from './persistent.ts';

/** The stored state of a Counter. */
export interface CounterState {
  value: number;
}

function valueOf(state: unknown, name: string): number {
  const value = (state as Partial<CounterState> | null)?.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TidalError(`cannot merge Counter revisions: the ${name} state has no finite value`);
  }
  return value;
}

/**
 * A number that concurrent transactions can change without conflicting (ZODB's `BTrees.Length`),
 * registered as `'tidal.Counter'`: when two transactions increment it at once, the second commit
 * merges instead of failing — the result is `committed + mine − old`, so every increment counts.
 *
 * Typical use: the size of a BTree, hit counters, sequence-free statistics. `set(n)` is an
 * increment by `n − value`, so it merges with concurrent increments the same way (the last
 * writer does not win: a concurrent `set(0)` and `increment()` end at 1).
 *
 * @example
 * const hits = new Counter();
 * hits.increment();
 * hits.value; // 1
 */
export class Counter extends Persistent {
  value: number;

  constructor(initial = 0) {
    super();
    this.value = initial;
  }

  /** Adds `n` (may be negative) and returns the new value. */
  increment(n = 1): number {
    this.value += n;
    return this.value;
  }

  /** Sets the value (merged with concurrent changes as a delta, see the class comment). */
  set(n: number): void {
    this.value = n;
  }

  /**
   * `committed + mine − old`.
   * @throws TidalError when a state holds no finite number (or there is no old revision)
   */
  static resolveConflict(old: unknown, committed: unknown, mine: unknown): CounterState {
    return { value: valueOf(committed, 'committed') + valueOf(mine, 'new') - valueOf(old, 'old') };
  }
}

registerClass('tidal.Counter', Counter);
