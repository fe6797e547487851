/**
 * MemoryStorage: a complete storage in RAM — for RAM-backed session containers, tests of the
 * layers above, and the CLI's replay target. Same contract, commit path, undo and pack as
 * LmdbStorage; nothing survives the process.
 */
import { BaseStorage, type CommonStorageOptions } from '../base-storage.ts';
import { MemoryBackend } from './memory-backend.ts';

/** Options of `new MemoryStorage()`. */
export interface MemoryStorageOptions extends CommonStorageOptions {
  /**
   * Label in the storage's name, `memory:<name>`.
   * @defaultValue a number unique in this process
   */
  readonly name?: string;
}

let instances = 0;

/**
 * A storage that keeps every revision in memory.
 * @example
 * ```ts
 * const storage = new MemoryStorage({ name: 'sessions' });
 * const txn = storage.tpcBegin({ user: '', description: 'create', extension: {} });
 * storage.store(txn, storage.newOid(), null, encodeRecord('app.Note', { text: 'hi' }));
 * await storage.tpcVote(txn);
 * const tid = await storage.tpcFinish(txn);
 * ```
 */
export class MemoryStorage extends BaseStorage {
  constructor(options: MemoryStorageOptions = {}) {
    instances += 1;
    const name = `memory:${options.name ?? String(instances)}`;
    // Two storages may share a label; the sort key must still tell them apart.
    super(new MemoryBackend(name), `${name}#${instances}`, options);
  }
}
