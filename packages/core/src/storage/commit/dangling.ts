/**
 * The reference check a vote makes while a pack runs: every object a stored record refers to
 * must still exist. The vote then holds its commit locks, and pack's sweep waits for held locks,
 * so nothing it checked can be swept before it finishes.
 */
import { referencesOf } from '../../codec/record.ts';
import { DanglingReferenceError } from '../../errors.ts';
import type { Oid } from '../../ids.ts';
import type { BackendReader } from '../backend.ts';
import type { PendingStore } from './commit-txn.ts';

/** @throws DanglingReferenceError naming the referring and the missing object */
export function checkReferences(r: BackendReader, stores: ReadonlyMap<Oid, PendingStore>): void {
  for (const [oid, { data }] of stores) {
    if (data === null) continue;
    let refs: Oid[];
    try {
      refs = referencesOf(data);
    } catch {
      continue; // not a record in our format: pack cannot follow it either
    }
    for (const ref of refs) {
      if (!stores.has(ref) && r.currentTid(ref) === undefined) throw new DanglingReferenceError(oid, ref);
    }
  }
}
