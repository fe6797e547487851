/**
 * Commit-lock ownership across processes: who holds a lock, whether that holder is dead (its
 * lock is stale and may be broken), and how a waiting vote learns that locks were released.
 */
import { randomBytes } from 'node:crypto';
import type { Tid } from '../../ids.ts';
import type { LockHolder } from '../backend.ts';

/** Identifies this process instance; a reused pid with another nonce is a different (dead) process. */
export const PROCESS_NONCE = randomBytes(8).toString('hex');

let counter = 0;

/** A token unique to one storage transaction across processes and restarts. */
export function newLockToken(): string {
  counter += 1;
  return `${PROCESS_NONCE}.${counter.toString(36)}`;
}

/** The holder record for a transaction of this process locking an object currently at `at`. */
export function holderFor(token: string, at: Tid | null): LockHolder {
  return { token, pid: process.pid, nonce: PROCESS_NONCE, at };
}

/**
 * True while `holder` still holds its lock: its owner has not committed the object yet (the
 * object is still at the tid it had when locked) and the owner's process is alive.
 */
export function isLockHeld(holder: LockHolder, currentTid: Tid | undefined): boolean {
  return (currentTid ?? null) === holder.at && !isStaleHolder(holder);
}

/**
 * True when the holder's process is gone: its locks can never be released by their owner.
 * A holder of this process instance is always alive; one with our pid but another nonce is an
 * earlier process whose pid was reused.
 */
export function isStaleHolder(holder: LockHolder): boolean {
  if (holder.nonce === PROCESS_NONCE) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const waiters = new Set<() => void>();

/** Wakes every vote of this process that waits for a commit lock (they retry). */
export function notifyLockRelease(): void {
  if (waiters.size === 0) return;
  const woken = [...waiters];
  waiters.clear();
  for (const wake of woken) wake();
}

/**
 * Resolves on the next lock release in this process, or after `ms` (locks of other processes
 * are noticed by polling with backoff).
 */
export function waitForLockRelease(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      waiters.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    waiters.add(wake);
  });
}
