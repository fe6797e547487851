/**
 * The error family of @tidaldb/core.
 *
 * Every error has a stable `code` (switch on it, never on the message) and structured fields; the
 * message is built from the fields. Apps can end up with two copies of this package, so each class
 * carries a `Symbol.for` brand and a static `is(err)` guard that works across copies, where
 * `instanceof` would not.
 */
import type { Oid, Tid } from './ids.ts';

const brands = Symbol.for('tidaldb.error.brands');

type Branded = { [brands]?: ReadonlySet<string> };

/** Root of every error thrown by TidalDB. */
export class TidalError extends Error {
  static readonly code: string = 'TIDAL_ERROR';
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    const ctor = new.target as unknown as { code: string; name: string };
    this.code = ctor.code;
    this.name = ctor.name;
    const names = new Set<string>();
    for (let c: unknown = new.target; c && c !== Error; c = Object.getPrototypeOf(c)) {
      names.add((c as { code: string }).code);
    }
    Object.defineProperty(this, brands, { value: names, enumerable: false });
  }

  /** True when `err` is this class (or a subclass), even if thrown by another copy of the package. */
  static is<T extends abstract new (...args: any[]) => TidalError>(this: T & { code: string }, err: unknown): err is InstanceType<T> {
    const set = (err as Branded | null | undefined)?.[brands];
    return set !== undefined && set.has(this.code);
  }
}

/** A failure that may go away if the transaction is retried (`db.transact` retries these). */
export class TransientError extends TidalError {
  static override readonly code: string = 'TRANSIENT';
}

/** Who wrote the revision a conflict collided with. */
export interface CommittedBy {
  user: string;
  description: string;
}

/** Structured fields of a write conflict. */
export interface ConflictDetails {
  oid: Oid;
  className?: string | undefined;
  /** The tid the committer read the object at (null for an object it believed new). */
  readTid: Tid | null;
  /** The tid currently committed for the object. */
  committedTid: Tid;
  committedBy?: CommittedBy | undefined;
  /** Why resolution did not help (no resolver, resolver threw, …). */
  reason?: string | undefined;
}

/**
 * Two transactions wrote the same object and its class could not merge them.
 * Retryable: run the transaction again on a fresh snapshot.
 */
export class ConflictError extends TransientError {
  static override readonly code: string = 'CONFLICT';
  readonly oid: Oid;
  readonly className: string | undefined;
  readonly readTid: Tid | null;
  readonly committedTid: Tid;
  readonly committedBy: CommittedBy | undefined;
  readonly reason: string | undefined;

  constructor(details: ConflictDetails, options?: { cause?: unknown }) {
    super(ConflictError.describe(details, 'database conflict'), options);
    this.oid = details.oid;
    this.className = details.className;
    this.readTid = details.readTid;
    this.committedTid = details.committedTid;
    this.committedBy = details.committedBy;
    this.reason = details.reason;
  }

  protected static describe(d: ConflictDetails, what: string): string {
    const parts = [`oid ${d.oid}`];
    if (d.className) parts.push(`class ${d.className}`);
    parts.push(`read at tid ${d.readTid ?? 'none (new object)'}`, `committed tid ${d.committedTid}`);
    if (d.committedBy) {
      parts.push(`committed by ${JSON.stringify(d.committedBy.user)} (${JSON.stringify(d.committedBy.description)})`);
    }
    return `${what}: ${parts.join(', ')}${d.reason ? `: ${d.reason}` : ''}`;
  }
}

/** An object registered with `readCurrent` changed after it was read, or vanished from the snapshot. */
export class ReadConflictError extends ConflictError {
  static override readonly code: string = 'READ_CONFLICT';
}

/** A commit waited too long for another transaction's commit locks on the same objects. */
export class CommitLockTimeoutError extends ConflictError {
  static override readonly code: string = 'COMMIT_LOCK_TIMEOUT';
}

/** No record exists for the oid (or for the requested revision of it). */
export class ObjectNotFoundError extends TidalError {
  static override readonly code: string = 'OBJECT_NOT_FOUND';
  constructor(
    readonly oid: Oid,
    readonly tid?: Tid,
  ) {
    super(tid ? `no revision ${tid} of object ${oid}` : `no object with oid ${oid}`);
  }
}

/** A string is not a well-formed 16-digit hex oid or tid. */
export class InvalidIdError extends TidalError {
  static override readonly code: string = 'INVALID_ID';
  constructor(
    readonly kind: 'oid' | 'tid',
    readonly value: string,
  ) {
    super(`invalid ${kind} ${JSON.stringify(value)}: expected 16 hex digits`);
  }
}

/** The two-phase-commit protocol was not followed (store after vote, finish without vote, …). */
export class StorageTransactionError extends TidalError {
  static override readonly code: string = 'STORAGE_TRANSACTION';
}

/** A write was attempted on a storage opened read-only. */
export class ReadOnlyError extends TidalError {
  static override readonly code: string = 'READ_ONLY';
  constructor(readonly operation: string) {
    super(`cannot ${operation}: the storage is read-only`);
  }
}

/** The storage was used after `close()`. */
export class StorageClosedError extends TidalError {
  static override readonly code: string = 'STORAGE_CLOSED';
  constructor(readonly storageName: string) {
    super(`storage ${storageName} is closed`);
  }
}

/** Stored bytes fail their checksum or cannot be decoded. Nothing is repaired silently. */
export class CorruptRecordError extends TidalError {
  static override readonly code: string = 'CORRUPT_RECORD';
  constructor(
    readonly oid: Oid,
    readonly tid: Tid,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`corrupt record for oid ${oid} at tid ${tid}: ${detail}`, options);
  }
}

/** The database was written in a format this version cannot read. */
export class UnsupportedFormatError extends TidalError {
  static override readonly code: string = 'UNSUPPORTED_FORMAT';
  constructor(
    readonly found: number | string,
    readonly supported: number,
    readonly where: string,
  ) {
    super(`${where} has format version ${String(found)}; this TidalDB reads format ${supported}`);
  }
}

/** A transaction cannot be undone (unknown or packed tid, or later changes that cannot be merged). */
export class UndoError extends TidalError {
  static override readonly code: string = 'UNDO';
  constructor(
    message: string,
    readonly tid: Tid,
    readonly oid?: Oid,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A value in an object's state cannot be stored faithfully (function, symbol, unregistered class). */
export class UnstorableValueError extends TidalError {
  static override readonly code: string = 'UNSTORABLE_VALUE';
  constructor(
    /** Description of the object being stored, e.g. `app.Cart oid 000…01`. */
    readonly object: string,
    /** Property path inside the state, e.g. `items[2].price`. */
    readonly path: string,
    /** The offending value's type, e.g. `function`, `symbol`, `class Foo`. */
    readonly valueType: string,
  ) {
    super(`cannot store ${valueType} at ${path || '(state)'} of ${object}`);
  }
}

/** A record names a class that is not registered (it loads as a Broken object; writing it fails). */
export class BrokenObjectError extends TidalError {
  static override readonly code: string = 'BROKEN_OBJECT';
  constructor(
    readonly oid: Oid,
    readonly className: string,
  ) {
    super(`object ${oid} is of unregistered class ${className} and is read-only`);
  }
}

/** A class name or class was registered twice with different meanings. */
export class ClassRegistrationError extends TidalError {
  static override readonly code: string = 'CLASS_REGISTRATION';
}

/** A persistent object belongs to another connection or database. */
export class InvalidObjectReferenceError extends TidalError {
  static override readonly code: string = 'INVALID_OBJECT_REFERENCE';
}

/** A connection was used after close, or closed while it had uncommitted changes. */
export class ConnectionStateError extends TidalError {
  static override readonly code: string = 'CONNECTION_STATE';
}

/** A historical (read-only, past-tid) connection was asked to commit changes. */
export class ReadOnlyHistoryError extends TidalError {
  static override readonly code: string = 'READ_ONLY_HISTORY';
}

/** Transaction-manager state errors (transaction package's TransactionError). */
export class TransactionError extends TidalError {
  static override readonly code: string = 'TRANSACTION';
}

/** A commit failed earlier in this transaction; only abort (or begin) is allowed now. */
export class TransactionFailedError extends TransactionError {
  static override readonly code: string = 'TRANSACTION_FAILED';
}

/** The transaction was doomed and cannot commit. */
export class DoomedTransactionError extends TransactionError {
  static override readonly code: string = 'DOOMED_TRANSACTION';
}

/** Explicit mode: there is no current transaction. */
export class NoTransactionError extends TransactionError {
  static override readonly code: string = 'NO_TRANSACTION';
}

/** Explicit mode: begin() while a transaction is active. */
export class AlreadyInTransactionError extends TransactionError {
  static override readonly code: string = 'ALREADY_IN_TRANSACTION';
}

/** A savepoint is no longer valid (its transaction ended or an earlier savepoint was rolled back). */
export class InvalidSavepointRollbackError extends TransactionError {
  static override readonly code: string = 'INVALID_SAVEPOINT_ROLLBACK';
}

/** Bytes are not a record this version of the codec can read (malformed msgpack, wrong shape). */
export class InvalidRecordError extends TidalError {
  static override readonly code: string = 'INVALID_RECORD';
}

/**
 * A savepoint was requested (or an optimistic one rolled back) while a joined data manager has no
 * `savepoint()` (the transaction package's TypeError "Savepoints unsupported").
 */
export class SavepointNotSupportedError extends TransactionError {
  static override readonly code: string = 'SAVEPOINT_NOT_SUPPORTED';
  constructor(
    /** The data manager's `sortKey()`. */
    readonly dataManager: string,
    readonly operation: 'savepoint' | 'rollback',
  ) {
    super(
      operation === 'savepoint'
        ? `data manager ${dataManager} does not support savepoints (take an optimistic savepoint to defer the error to rollback)`
        : `cannot roll back data manager ${dataManager}: it does not support savepoints`,
    );
  }
}

/** An option or argument is out of its allowed range (`attempts: 0`, …). Nothing was done. */
export class InvalidOptionError extends TidalError {
  static override readonly code: string = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`invalid ${option}: ${String(value)} (expected ${expected})`);
  }
}

/** A value that must be a persistent object is not one (`connection.add(plainObject)`). */
export class NotPersistentError extends TidalError {
  static override readonly code: string = 'NOT_PERSISTENT';
  constructor(readonly valueType: string) {
    super(`expected a persistent object (an instance of a Persistent subclass), got ${valueType}`);
  }
}

/** The storage lacks an optional capability (undo, pack) that the operation needs (ZODB's Unsupported). */
export class UnsupportedOperationError extends TidalError {
  static override readonly code: string = 'UNSUPPORTED_OPERATION';
  constructor(
    readonly operation: string,
    readonly storageName: string,
  ) {
    super(`storage ${storageName} does not support ${operation}`);
  }
}

/**
 * A BTree key is not of a supported type (string, number, bigint, Date, arrays of these) or not
 * comparable (NaN, an invalid Date, a persistent object or reference). Nothing was changed.
 */
export class InvalidKeyError extends TidalError {
  static override readonly code: string = 'INVALID_KEY';
  constructor(
    /** A printable description of the key (or of the part of it that is refused). */
    readonly key: string,
    readonly detail: string,
  ) {
    super(`invalid BTree key ${key}: ${detail}`);
  }
}

/** `BTree.check()` found a structural violation; `path` says where in the tree. */
export class BTreeCheckError extends TidalError {
  static override readonly code: string = 'BTREE_CHECK';
  constructor(
    /** Where: e.g. `top > child 3 > bucket`. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`BTree check failed at ${path}: ${detail}`);
  }
}

/**
 * A BTree bucket or node refused to merge concurrent changes. `reasonNumber` follows ZODB's
 * `BTreesConflictError` numbering (0–13; TidalDB adds 14), `reason` is the matching text.
 * Raised inside a resolver, which does not know the object: `oid` is then `''` and the tids are
 * placeholders — the `ConflictError` the storage raises around it (with this error as `cause`)
 * names the object and both tids.
 */
export class BucketConflictError extends ConflictError {
  static override readonly code: string = 'BTREE_CONFLICT';
  constructor(
    readonly reasonNumber: number,
    reasonText: string,
    /** The key the conflict is about, when there is one. */
    readonly key?: unknown,
  ) {
    super({ oid: '' as Oid, readTid: null, committedTid: '0000000000000000' as Tid, reason: reasonText });
    this.message = `BTree conflict, reason ${reasonNumber}: ${reasonText}`;
  }
}

/**
 * The storage's underlying engine failed (I/O error, disk full, environment or encoding failure):
 * the operation did not happen. The storage maps engine errors to this class in one place;
 * `cause` keeps the engine's error.
 */
export class StorageIOError extends TidalError {
  static override readonly code: string = 'STORAGE_IO';
  constructor(
    /** What the storage was doing, e.g. `commit`, `load`, `open`. */
    readonly operation: string,
    readonly storageName: string,
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`storage ${storageName} failed to ${operation}${detail}`, options);
  }
}

/**
 * A stored record refers to an object that no longer exists (pack's garbage collection removed
 * it while the committer still held a reference, from a snapshot older than the pack). Nothing
 * was written. Checked by the built-in storages while a pack runs (ZODB's DanglingReferenceError).
 */
export class DanglingReferenceError extends TidalError {
  static override readonly code: string = 'DANGLING_REFERENCE';
  constructor(
    /** The object whose new revision holds the reference. */
    readonly oid: Oid,
    /** The object it refers to, which does not exist. */
    readonly missing: Oid,
  ) {
    super(`object ${oid} refers to object ${missing}, which no longer exists (removed by pack)`);
  }
}

/** Why a `PersistentMap` refused to merge concurrent changes (stable codes; see `MapConflictError`). */
export type MapConflictReason =
  /** Both sides changed the key, to different values. */
  | 'changed-on-both-sides'
  /** Both sides added the key (absent in the common revision), with different values. */
  | 'added-on-both-sides'
  /** One side deleted the key, the other changed it. */
  | 'deleted-and-changed'
  /** A state field other than `entries` (stored by a subclass) differs between the two sides. */
  | 'other-state-changed'
  /** There is no common revision to merge from. */
  | 'no-common-revision'
  /** A revision is not a map state (`entries` is not a list of `[string, value]` pairs). */
  | 'malformed-state';

/**
 * A `PersistentMap` (or a subclass that kept its resolver) refused to merge concurrent changes.
 * Raised inside the resolver, which does not know the object: the storage wraps it, as `cause`,
 * in the `ConflictError` that names the oid, the class and both tids.
 */
export class MapConflictError extends TidalError {
  static override readonly code: string = 'MAP_CONFLICT';
  constructor(
    readonly reason: MapConflictReason,
    /** What went wrong, in words (also the end of the message). */
    readonly detail: string,
    /** The map key the conflict is about, when there is one. */
    readonly key?: string,
    /** The state field the conflict is about, for `other-state-changed` and `malformed-state`. */
    readonly field?: string,
  ) {
    super(`PersistentMap merge refused: ${detail}`);
  }
}
