/**
 * An exclusive lock between processes on one machine: a file created with O_EXCL that
 * holds the owner's pid.
 *
 * Guarantees: while `withLock` runs `fn`, no other process holding the same path through
 * `withLock` runs its own; a lock left by a process that died is taken over.
 * Assumptions: every party is on this machine (pids are compared, not hosts).
 * Caveats: two waiters that find the same dead owner at the same instant could both take
 * over; a build that collides this way still ends well, because the finished result is
 * moved into place with an atomic rename.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** Called once when the lock is busy, and again every `waitNoticeMs` while it stays busy. */
  onWait?: (ownerPid: number | undefined) => void;
  waitNoticeMs?: number;
  pollMs?: number;
}

export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await acquire(path, options);
  try {
    return await fn();
  } finally {
    release(path);
  }
}

async function acquire(path: string, options: LockOptions): Promise<void> {
  const pollMs = options.pollMs ?? 1000;
  const waitNoticeMs = options.waitNoticeMs ?? 30_000;
  let lastNotice = -Infinity;
  for (;;) {
    if (tryCreate(path)) return;
    const owner = readOwner(path);
    const abandoned = owner === undefined ? olderThan(path, 10_000) : !isAlive(owner);
    if (abandoned) {
      unlinkQuietly(path);
      continue;
    }
    if (Date.now() - lastNotice >= waitNoticeMs) {
      options.onWait?.(owner);
      lastNotice = Date.now();
    }
    await sleep(pollMs);
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function release(path: string): void {
  if (readOwner(path) === process.pid) unlinkQuietly(path);
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file with no readable pid is only abandoned once it is old: its owner may be writing it. */
function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
