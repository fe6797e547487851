/**
 * The storage-side state of one storage transaction: what it stores and checks, and after its
 * vote, exactly what its finish will write and which commit locks it holds.
 */
import { InvalidOptionError } from '../../errors.ts';
import type { Oid, Tid } from '../../ids.ts';
import type { StorageTransaction, TransactionMetadata } from '../../interfaces.ts';
import { assertStorable } from '../../codec/record.ts';
import { newLockToken } from './lock-holder.ts';

/** One `store` call: the serial the caller read and its new state (null: a "no data" revision, undo only). */
export interface PendingStore {
  readonly readTid: Tid | null;
  readonly data: Uint8Array | null;
}

/** Where a transaction is in the commit core (the public protocol phases live in TpcProtocol). */
export type CommitState = 'open' | 'voting' | 'voted' | 'finishing' | 'finished' | 'aborted';

/** A storage transaction handle as issued by the commit core. */
export class CommitTxn implements StorageTransaction {
  /** The metadata as given to `tpcBegin` (the handle exposes it unchanged). */
  readonly metadata: TransactionMetadata;
  /** The metadata as it will be recorded: copied and checked at begin, so finish cannot fail on it. */
  readonly record: TransactionMetadata;
  /** Identifies this transaction as the owner of its commit locks. */
  readonly token = newLockToken();
  readonly stores = new Map<Oid, PendingStore>();
  readonly checks = new Map<Oid, Tid>();
  /** For an undo transaction: the tid being undone (the stores are planned at vote). */
  readonly undoOf: Tid | null;
  state: CommitState = 'open';
  /** Set by abort; a vote waiting for locks gives up when it sees it. */
  cancelled = false;
  /** After a successful vote: the revisions finish writes (resolved conflicts merged in). */
  final: ReadonlyMap<Oid, Uint8Array | null> = new Map();
  /** After a successful vote: the sorted oids of `final`. */
  writtenOids: readonly Oid[] = [];
  /** After a successful vote: the oids whose commit locks this transaction holds. */
  locked: readonly Oid[] = [];
  /** The backend write id of the vote that took them. */
  voteWriteId = -1;
  /** True for a one-phase commit: validated and written in one backend write, without locks. */
  onePhase = false;
  /** After validation: the oids whose revisions the conflict resolver merged. */
  resolved: readonly Oid[] = [];
  /** After validation: the current tid of each written or checked object (undefined: none yet). */
  currentTids: ReadonlyMap<Oid, Tid | undefined> = new Map();

  constructor(metadata: TransactionMetadata, undoOf: Tid | null) {
    this.metadata = metadata;
    this.undoOf = undoOf;
    const { user, description, extension } = metadata;
    if (typeof user !== 'string') throw new InvalidOptionError('transaction user', user, 'a string');
    if (typeof description !== 'string') throw new InvalidOptionError('transaction description', description, 'a string');
    if (extension === null || typeof extension !== 'object') {
      throw new InvalidOptionError('transaction extension', extension, 'a plain object');
    }
    assertStorable(extension, 'transaction extension');
    this.record = { user, description, extension: { ...extension } };
  }

  /**
   * The oids whose commit locks the vote must take: written and checked objects, sorted (votes
   * take locks in one order) unless `sorted` is false (a one-phase commit takes none).
   */
  lockSet(extra: readonly Oid[] = [], sorted = true): Oid[] {
    const all = new Set<Oid>(extra);
    for (const oid of this.stores.keys()) all.add(oid);
    for (const oid of this.checks.keys()) all.add(oid);
    return sorted ? [...all].sort() : [...all];
  }
}
