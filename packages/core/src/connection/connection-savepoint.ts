import type { DataManagerSavepoint } from '../interfaces.ts';
import type { PersistentMeta } from '../persistent/persistent-meta.ts';
import { copyState } from '../persistent/state-copy.ts';

/** What a savepoint needs from its connection. */
export interface SavepointHost {
  registered(): ReadonlySet<PersistentMeta>;
  added(): ReadonlySet<PersistentMeta>;
  replace(registered: Set<PersistentMeta>, added: Set<PersistentMeta>): void;
  unadd(meta: PersistentMeta): void;
}

function stateOf(meta: PersistentMeta): Record<string, unknown> {
  return (meta.d as unknown as { _p_getState(): Record<string, unknown> })._p_getState();
}

/**
 * A savepoint of a connection's changes (the data-manager half of `transaction.savepoint()`):
 * copies of the states of the changed and added objects. Rolling back restores those states
 * (the objects stay changed), turns objects changed only after the savepoint back into ghosts
 * (they reload their snapshot state) and un-adds objects added after it. A savepoint can be
 * rolled back to repeatedly.
 */
export function takeSavepoint(host: SavepointHost): DataManagerSavepoint {
  const registered = new Set(host.registered());
  const added = new Set(host.added());
  const states = new Map<PersistentMeta, Record<string, unknown>>();
  for (const meta of [...registered, ...added]) {
    if (meta.d !== null) states.set(meta, copyState(stateOf(meta)));
  }
  return {
    rollback(): void {
      for (const meta of host.added()) if (!added.has(meta)) host.unadd(meta);
      for (const meta of host.registered()) if (!states.has(meta) && meta.state !== 'unsaved') meta.invalidate();
      host.replace(new Set(registered), new Set(added));
      for (const [meta, state] of states) meta.restore(copyState(state));
    },
  };
}
