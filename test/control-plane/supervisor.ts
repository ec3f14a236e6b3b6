/**
 * Ending a control plane, from wherever: the process that started it (`stop`), a later
 * `control-plane down`, an exit or signal handler, or the watchdog when the starting
 * process died without stopping it.
 *
 * All of them work from one record, `<dir>/state.json`, written as each process starts.
 * This file is also the watchdog's entry point (`node supervisor.{ts,js} --watchdog PID DIR`),
 * so it imports nothing but Node's own modules: Node runs the TypeScript source as it is.
 *
 * Guarantees: a pid is only signalled while /proc shows it still runs the recorded
 * executable (no stray kill after pid reuse); every process is signalled as a group
 * (each was started as a group leader); the folder, or the entries made in a folder the
 * user gave, are removed last.
 * Caveats: the watchdog polls, so cleanup after a crash takes up to a second; a SIGKILL of
 * the watchdog itself (with its owner) is the one way to leave processes behind, and the
 * next `control-plane down --dir` still ends them.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const STATE_FILE = 'state.json';

export interface ProcessRecord {
  name: string;
  pid: number;
  /** Absolute path of the executable, checked against /proc/<pid>/cmdline before any signal. */
  exe: string;
}

export interface Identity {
  user: string;
  groups: string[];
  kubeconfig: string;
}

export interface ControlPlaneState {
  version: 1;
  dir: string;
  /** The folder was made for this control plane and goes as a whole on stop. */
  ownsDir: boolean;
  /** Entries of `dir` this control plane made (removed on stop when `ownsDir` is false). */
  entries: string[];
  /** https://127.0.0.1:PORT, once known. */
  server?: string;
  etcd?: string;
  caFile?: string;
  admin?: Identity;
  operator?: Identity & { namespace: string; serviceAccount: string };
  processes: ProcessRecord[];
  watchdogPid?: number;
  /** Keep the folder on stop (logs for debugging); processes still end. */
  keepDir?: boolean;
}

/** The path of this module, for spawning the watchdog with `node`. */
export const SUPERVISOR_SCRIPT = fileURLToPath(import.meta.url);

export function readState(dir: string): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/** Atomic: a reader sees the previous or the next state, never half of one. */
export function writeState(state: ControlPlaneState): void {
  const path = join(state.dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** True while the pid exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (killError) {
      return (killError as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** The pid still runs `exe` (guards against signalling a reused pid). */
export function runs(record: ProcessRecord): boolean {
  if (!isRunning(record.pid)) return false;
  try {
    const argv0 = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === record.exe;
  } catch {
    return !existsSync('/proc/self'); // no /proc: trust the record
  }
}

function signalGroup(record: ProcessRecord, signal: NodeJS.Signals): void {
  if (!runs(record)) return;
  for (const target of [-record.pid, record.pid]) {
    try {
      process.kill(target, signal);
      return;
    } catch {
      // not a group leader (or already gone): try the pid alone
    }
  }
}

/** SIGTERM, then SIGKILL for whatever still runs after `graceMs`; resolves once all are gone. */
export async function terminate(records: readonly ProcessRecord[], graceMs = 5000): Promise<void> {
  for (const record of records) signalGroup(record, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (records.some(runs) && Date.now() < deadline) await pause(50);
  for (const record of records) signalGroup(record, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (records.some(runs) && Date.now() < killDeadline) await pause(50);
}

/** For exit handlers, where nothing asynchronous runs any more: SIGKILL at once. */
export function killNow(records: readonly ProcessRecord[]): void {
  for (const record of records) signalGroup(record, 'SIGKILL');
}

export function removeFiles(state: ControlPlaneState): void {
  if (state.keepDir) return;
  if (state.ownsDir) {
    rmSync(state.dir, { recursive: true, force: true });
    return;
  }
  for (const entry of [...state.entries, STATE_FILE]) rmSync(join(state.dir, entry), { recursive: true, force: true });
}

/** Stops what `dir` records, from any process. Resolves false when `dir` records nothing. */
export async function stopFromState(dir: string, graceMs?: number): Promise<boolean> {
  const state = readState(dir);
  if (!state) return false;
  await terminate(state.processes, graceMs);
  removeFiles(state);
  // The watchdog ends by itself once the state is gone; signalling it only saves it a poll.
  if (state.watchdogPid !== undefined && state.watchdogPid !== process.pid && isRunning(state.watchdogPid)) {
    try {
      process.kill(state.watchdogPid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  return true;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- watchdog ---------------------------------------------------------------------------

const WATCHDOG_POLL_MS = 500;

/**
 * Runs until the owner dies (then ends what `dir/state.json` records and removes the files)
 * or until the folder's state goes away (the owner stopped the control plane itself).
 */
async function watchdog(ownerPid: number, dir: string): Promise<void> {
  for (;;) {
    if (!isRunning(ownerPid)) {
      await stopFromState(dir, 2000);
      return;
    }
    if (!existsSync(join(dir, STATE_FILE))) return;
    await pause(WATCHDOG_POLL_MS);
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(entry).href;
}

if (isMain() && process.argv[2] === '--watchdog') {
  const ownerPid = Number(process.argv[3]);
  const dir = process.argv[4] ?? '';
  if (!Number.isInteger(ownerPid) || !dir || !existsSync(dir)) {
    process.stderr.write('usage: supervisor --watchdog OWNER_PID DIR\n');
    process.exit(2);
  }
  // Ignore the signals a terminal sends to its foreground group: the owner decides.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  void watchdog(ownerPid, dir).then(() => process.exit(0));
}

/** Lists a folder's entries, for recording what a start adds to a folder the user gave. */
export function entriesOf(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir));
  } catch {
    return new Set();
  }
}
