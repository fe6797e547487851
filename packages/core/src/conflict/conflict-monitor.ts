/**
 * Counts and reports what conflict resolution does, per class: how many conflicting stores were
 * merged by the class's resolver (`resolved`) and how many could not be (`conflicts`: no
 * resolver, or it refused). A DB has one (`db.conflicts`, `db.conflictStats()`, `db.on(...)`), fed by
 * the resolver the DB installs in its storage.
 *
 * What is counted: every write-write conflict met by this process's commits (and undos) on an
 * object that still exists. Not counted: read conflicts (`readCurrent`) and stores of objects that
 * were deleted meanwhile, which never reach a resolver. Counts are per process and since the DB
 * was opened; a transaction retried by `db.transact` counts once per attempt.
 */
import { classNameOf } from '../codec/record.ts';
import type { Oid, Tid } from '../ids.ts';
import type { ConflictInput, ConflictResolver } from '../interfaces.ts';

/** Counts for one class. */
export interface ClassConflictStats {
  /** Conflicts merged by the class's resolver. */
  resolved: number;
  /** Conflicts that could not be merged (the commit failed with ConflictError). */
  conflicts: number;
}

/** Counts by registered class name. */
export type ConflictStats = Record<string, ClassConflictStats>;

/** What a listener learns about one conflict. */
export interface ConflictEvent {
  readonly oid: Oid;
  readonly className: string;
  /** The tid the committer had read (null for an object it believed new). */
  readonly readTid: Tid | null;
  /** The tid it collided with. */
  readonly committedTid: Tid;
}

/** A conflict that could not be merged. */
export interface ConflictRefusedEvent extends ConflictEvent {
  /** Why (the resolver's message, or the lack of one). */
  readonly reason: string;
  /** What the resolver threw (a `BucketConflictError` for BTrees, with its reason number). */
  readonly error: unknown;
}

/** Events: 'resolved' after a merge, 'conflict' after a refusal. */
export interface ConflictEvents {
  resolved: ConflictEvent;
  conflict: ConflictRefusedEvent;
}

type Listener<E extends keyof ConflictEvents> = (event: ConflictEvents[E]) => void;

function classOf(data: Uint8Array): string {
  try {
    return classNameOf(data);
  } catch {
    return '(undecodable record)';
  }
}

/** Per-class conflict counters and listeners. */
export class ConflictMonitor {
  readonly #stats = new Map<string, ClassConflictStats>();
  readonly #listeners: { [E in keyof ConflictEvents]: Set<Listener<E>> } = { resolved: new Set(), conflict: new Set() };

  /** A copy of the counts, by class name (classes with no conflict yet are absent). */
  stats(): ConflictStats {
    const out: ConflictStats = {};
    for (const [name, s] of [...this.#stats].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[name] = { ...s };
    return out;
  }

  /** Sets every count back to zero. */
  reset(): void {
    this.#stats.clear();
  }

  /**
   * Calls `listener` after each resolution ('resolved') or refusal ('conflict'). Listeners run
   * after the storage's commit step that met the conflict (never inside it, so a slow listener
   * does not hold commit locks); an exception in a listener becomes a process warning.
   * @returns a function that removes the listener
   */
  on<E extends keyof ConflictEvents>(event: E, listener: Listener<E>): () => void {
    this.#listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof ConflictEvents>(event: E, listener: Listener<E>): void {
    this.#listeners[event].delete(listener);
  }

  /** Wraps a resolver so that everything it does is counted and reported here. */
  observe(resolver: ConflictResolver): ConflictResolver {
    return {
      resolve: (input: ConflictInput): Uint8Array => {
        const base = { oid: input.oid, className: classOf(input.mine), readTid: input.readTid, committedTid: input.committedTid };
        let merged: Uint8Array;
        try {
          merged = resolver.resolve(input);
        } catch (error) {
          this.#count(base.className).conflicts++;
          this.#emit('conflict', { ...base, reason: error instanceof Error ? error.message : String(error), error });
          throw error;
        }
        this.#count(base.className).resolved++;
        this.#emit('resolved', base);
        return merged;
      },
    };
  }

  #count(className: string): ClassConflictStats {
    let s = this.#stats.get(className);
    if (s === undefined) {
      s = { resolved: 0, conflicts: 0 };
      this.#stats.set(className, s);
    }
    return s;
  }

  #emit<E extends keyof ConflictEvents>(event: E, payload: ConflictEvents[E]): void {
    const listeners = this.#listeners[event];
    if (listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of [...listeners]) {
        try {
          listener(payload);
        } catch (err) {
          process.emitWarning(`a TidalDB '${event}' listener threw: ${err instanceof Error ? err.message : String(err)}`, 'TidalDBWarning');
        }
      }
    });
  }
}
