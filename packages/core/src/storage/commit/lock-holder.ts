/**
 * Commit-lock ownership across processes: who holds a lock, whether that holder is dead (its
 * lock is stale and may be broken), and how a waiting vote learns that locks were released.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Tid } from '../../ids.ts';
import type { LockHolder } from '../backend.ts';

/** Stands for a boot that cannot be identified exactly. */
const UNKNOWN_BOOT = '?';

/**
 * This boot of the machine: the Linux boot id, or UNKNOWN_BOOT elsewhere — a boot time derived
 * from the clock and the uptime can differ between two live processes (rounding, clock steps),
 * and a wrong "other boot" would break the locks of a live process.
 */
const BOOT = ((): string => {
  try {
    // The first 48 bits are plenty to tell boots apart, and keep lock entries small.
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 12);
  } catch {
    return UNKNOWN_BOOT;
  }
})();

/** When process `pid` started (Linux: clock ticks since boot), or null where that is unknown. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Identifies this process instance: boot, start time and a random part. A holder with another
 * boot, or whose pid now belongs to a process started at another time, is dead.
 */
export const PROCESS_NONCE = `${BOOT}/${startTimeOf(process.pid) ?? '-'}/${randomBytes(4).toString('hex')}`;

let counter = 0;

/** A token unique to one storage transaction across processes and restarts: `<nonce>.<counter>`. */
export function newLockToken(): string {
  counter += 1;
  return `${PROCESS_NONCE}.${counter.toString(36)}`;
}

/** The holder record for a transaction of this process locking an object currently at `at`. */
export function holderFor(token: string, at: Tid | null): LockHolder {
  return { token, pid: process.pid, nonce: PROCESS_NONCE, at };
}

/**
 * True when the holder's process is gone: its locks can never be released by their owner.
 * A holder of this process instance is always alive; one of another boot, or whose pid is now
 * used by a process that started at another time (or by us), is dead.
 */
export function isStaleHolder(holder: LockHolder): boolean {
  if (holder.nonce === PROCESS_NONCE) return false;
  if (holder.pid === process.pid) return true;
  const [boot, started] = holder.nonce.split('/');
  if (boot !== BOOT && boot !== UNKNOWN_BOOT && BOOT !== UNKNOWN_BOOT) return true;
  if (started !== undefined && started !== '-') {
    const now = startTimeOf(holder.pid);
    if (now !== null) return now !== started;
  }
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * True while `holder` still holds its lock: its owner has not committed the object yet (the
 * object is still at the tid it had when locked) and the owner's process is alive.
 */
export function isLockHeld(holder: LockHolder, currentTid: Tid | undefined): boolean {
  return (currentTid ?? null) === holder.at && !isStaleHolder(holder);
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
