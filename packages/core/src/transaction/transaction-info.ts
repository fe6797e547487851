import type { HookEntry } from './hooks.ts';

/**
 * What a transaction carries besides its data managers: the metadata recorded with the commit
 * (user, description, extension), per-transaction scratch data, and the registered hooks.
 * The base of `Transaction`; the hooks are run by it.
 */
export abstract class TransactionInfo {
  #user = '';
  #description = '';
  readonly #extension: Record<string, unknown> = {};
  readonly #data = new Map<object, unknown>();
  protected readonly beforeCommitHooks: HookEntry[] = [];
  protected readonly afterCommitHooks: HookEntry[] = [];
  protected readonly beforeAbortHooks: HookEntry[] = [];
  protected readonly afterAbortHooks: HookEntry[] = [];

  /** Who commits, e.g. `"/ alice"` (see `setUser`). */
  get user(): string {
    return this.#user;
  }
  set user(value: string) {
    this.#user = String(value);
  }

  /** Free text recorded with the commit; `note()` appends lines. */
  get description(): string {
    return this.#description;
  }
  set description(value: string) {
    this.#description = String(value);
  }

  /** Application metadata recorded with the commit (plain data; see `setExtendedInfo`). */
  get extension(): Readonly<Record<string, unknown>> {
    return this.#extension;
  }

  /** Appends `text`, trimmed, to the description on a new line. */
  note(text: string): void {
    const line = String(text).trim();
    this.#description = this.#description ? `${this.#description}\n${line}` : line;
  }

  /** Sets `user` to `"<path> <name>"` (Zope's user path convention). */
  setUser(name: string, path = '/'): void {
    this.#user = `${path} ${name}`;
  }

  setExtendedInfo(name: string, value: unknown): void {
    this.#extension[name] = value;
  }

  /** Per-transaction scratch data keyed by object identity; dropped when the transaction ends. */
  setData(key: object, value: unknown): void {
    this.#data.set(key, value);
  }

  getData(key: object): unknown {
    return this.#data.get(key);
  }

  /** Runs `hook(...args)` at the start of `commit()`; it may add hooks or join data managers. */
  addBeforeCommitHook<A extends unknown[]>(hook: (...args: A) => void | Promise<void>, ...args: A): void {
    this.beforeCommitHooks.push({ hook, args });
  }
  /** Runs `hook(ok, ...args)` after the commit succeeded (`true`) or failed (`false`); errors are logged. */
  addAfterCommitHook<A extends unknown[]>(hook: (ok: boolean, ...args: A) => void | Promise<void>, ...args: A): void {
    this.afterCommitHooks.push({ hook, args });
  }
  /** Runs `hook(...args)` at the start of `abort()`; errors are logged. */
  addBeforeAbortHook<A extends unknown[]>(hook: (...args: A) => void | Promise<void>, ...args: A): void {
    this.beforeAbortHooks.push({ hook, args });
  }
  /** Runs `hook(...args)` after the data managers aborted; the first error is rethrown by `abort()`. */
  addAfterAbortHook<A extends unknown[]>(hook: (...args: A) => void | Promise<void>, ...args: A): void {
    this.afterAbortHooks.push({ hook, args });
  }

  getBeforeCommitHooks(): readonly HookEntry[] {
    return [...this.beforeCommitHooks];
  }
  getAfterCommitHooks(): readonly HookEntry[] {
    return [...this.afterCommitHooks];
  }
  getBeforeAbortHooks(): readonly HookEntry[] {
    return [...this.beforeAbortHooks];
  }
  getAfterAbortHooks(): readonly HookEntry[] {
    return [...this.afterAbortHooks];
  }

  /** Forgets hooks and scratch data when the transaction ends (metadata stays readable). */
  protected clearHooksAndData(): void {
    this.beforeCommitHooks.length = 0;
    this.afterCommitHooks.length = 0;
    this.beforeAbortHooks.length = 0;
    this.afterAbortHooks.length = 0;
    this.#data.clear();
  }
}
