/**
 * Ending a dataplane, from wherever: the process that made it (`destroy`), its exit handler,
 * or the watchdog when that process died without cleaning up (`node support/run-ts.mjs
 * cleanup.ts --watchdog OWNER_PID DIR`). Node runs this TypeScript source as it is, so it uses
 * only erasable syntax and imports only Node's own modules and the control plane's supervisor.
 *
 * Everything starts from one record, `<dir>/state.json`: the network namespaces the run made
 * and the processes it started in the root namespace. Every process inside a recorded
 * namespace is found with `ip netns pids` and killed, whoever started it, then the namespace
 * is deleted (its veths, bridge, routes, iptables rules and ipsets go with it), then the
 * recorded root processes are killed (with their process groups), then the folder goes. A pid
 * is only signalled while /proc shows the start time recorded for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isRunning } from '../control-plane/supervisor.js';

export const STATE_FILE = 'state.json';
export const CLEANUP_SCRIPT = fileURLToPath(import.meta.url);
/** Runs CLEANUP_SCRIPT with Node alone (see its header). */
export const RUN_TS = fileURLToPath(new URL('./support/run-ts.mjs', import.meta.url));

export interface RootProcess {
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat, the start time in clock ticks: it survives exec (unshare -> sh -> setpriv -> node), unlike argv[0], and tells a reused pid apart. */
  startTime: string;
}

export interface DataplaneState {
  version: 1;
  dir: string;
  /** Network namespaces (names under /run/netns) this run made. */
  namespaces: string[];
  processes: RootProcess[];
  watchdogPid?: number;
}

export function readState(dir: string): DataplaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as DataplaneState;
  } catch {
    return undefined;
  }
}

/** Atomic: a reader sees the previous or the next state, never half of one. */
export function writeState(state: DataplaneState): void {
  const path = join(state.dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** The start time of a running pid, or undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function stillRuns(record: RootProcess): boolean {
  return isRunning(record.pid) && startTimeOf(record.pid) === record.startTime;
}

function kill(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      // not a group leader, or gone
    }
  }
}

/** The pids of every process whose network namespace is `name` (none when it is gone). */
export function pidsIn(name: string): number[] {
  const result = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 5000 });
  if (result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function waitGone(pids: readonly number[], ms: number): void {
  const deadline = Date.now() + ms;
  while (pids.some((pid) => isRunning(pid)) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
}

/** Kills every process in the namespaces, then deletes them (synchronous). */
export function removeNamespaces(names: readonly string[]): void {
  for (const name of names) {
    const pids = pidsIn(name);
    for (const pid of pids) kill(pid);
    waitGone(pids, 3000);
  }
  for (const name of names) spawnSync('ip', ['netns', 'delete', name], { timeout: 5000 });
}

/** Synchronous, so that exit handlers can run it: everything `state` records goes. */
export function cleanUp(state: DataplaneState): void {
  removeNamespaces(state.namespaces);
  const roots = state.processes.filter(stillRuns);
  for (const record of roots) kill(record.pid);
  waitGone(
    roots.map((r) => r.pid),
    3000,
  );
  rmSync(state.dir, { recursive: true, force: true });
}

/** Cleans up what `dir` records; false when it records nothing. */
export function cleanUpDir(dir: string): boolean {
  const state = readState(dir);
  if (!state) return false;
  cleanUp(state);
  if (state.watchdogPid !== undefined && state.watchdogPid !== process.pid && isRunning(state.watchdogPid)) {
    try {
      process.kill(state.watchdogPid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  return true;
}

const WATCHDOG_POLL_MS = 500;

async function watchdog(ownerPid: number, dir: string): Promise<void> {
  for (;;) {
    if (!existsSync(join(dir, STATE_FILE))) return;
    if (!isRunning(ownerPid)) {
      cleanUpDir(dir);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, WATCHDOG_POLL_MS));
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href && process.argv[2] === '--watchdog') {
  const ownerPid = Number(process.argv[3]);
  const dir = process.argv[4] ?? '';
  if (!Number.isInteger(ownerPid) || !dir || !existsSync(dir)) {
    process.stderr.write('usage: cleanup --watchdog OWNER_PID DIR\n');
    process.exit(2);
  }
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  void watchdog(ownerPid, dir).then(() => process.exit(0));
}
