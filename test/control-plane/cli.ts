/**
 * `npm run control-plane -- <command>`: a real kube-apiserver and etcd on loopback for
 * working by hand (kubectl, `netfence run`) and for warming the binary cache in CI.
 *
 *   up --dir DIR [--keep]   start in the background; writes DIR/admin.kubeconfig and
 *                           DIR/operator.kubeconfig, and DIR/state.json for `down`
 *   down --dir DIR          stop both processes and remove what `up` wrote
 *   status --dir DIR        server, pids and resident memory of the two processes
 *   binaries                find or build the binaries and print where they are
 *   helm                    find or build helm (./helm.ts) and print where it is
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isUnavailable, provideBinaries, HOW_TO_PROVIDE, type Binaries } from './binaries.js';
import { HOW_TO_PROVIDE_HELM, provideHelm } from './helm.js';
import { runningControlPlane, startControlPlane, stopControlPlane } from './control-plane.js';
import { readState } from './supervisor.js';

const USAGE = `usage: npm run control-plane -- up --dir DIR [--keep]
       npm run control-plane -- down --dir DIR
       npm run control-plane -- status --dir DIR
       npm run control-plane -- binaries
       npm run control-plane -- helm`;

class UsageError extends Error {}

interface Args {
  command: string;
  dir?: string;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') throw new UsageError('');
  const args: Args = { command, keep: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--dir') args.dir = rest[++i];
    else if (arg.startsWith('--dir=')) args.dir = arg.slice('--dir='.length);
    else if (arg === '--keep') args.keep = true;
    else throw new UsageError(`unknown argument: ${arg}`);
  }
  if (['up', 'down', 'status'].includes(command) && !args.dir) throw new UsageError(`${command} needs --dir DIR`);
  return args;
}

async function binariesOrFail(): Promise<Binaries> {
  const found = await provideBinaries();
  if (isUnavailable(found)) throw new Error(`no control-plane binaries: ${found.unavailable}; ${HOW_TO_PROVIDE}`);
  return found;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const dir = args.dir ? resolve(args.dir) : '';
  switch (args.command) {
    case 'up': {
      const binaries = await binariesOrFail();
      const plane = await startControlPlane({ binaries, dir, detached: true, keepDir: args.keep });
      process.stdout.write(
        [
          `server:   ${plane.server}`,
          `admin:    ${plane.adminKubeconfig}`,
          `operator: ${plane.operatorKubeconfig} (${plane.state.operator?.user})`,
          `ready in: ${(plane.startupMs / 1000).toFixed(1)}s`,
          `try:      KUBECONFIG=${plane.adminKubeconfig} kubectl get --raw /readyz`,
          `stop:     npm run control-plane -- down --dir ${args.dir}`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'down': {
      const stopped = await stopControlPlane(dir);
      process.stdout.write(stopped ? `stopped the control plane in ${dir}\n` : `nothing recorded in ${dir}: nothing to stop\n`);
      return 0;
    }
    case 'status': {
      const state = readState(dir);
      if (!state) {
        process.stdout.write(`no control plane recorded in ${dir}\n`);
        return 1;
      }
      const running = runningControlPlane(dir) !== undefined;
      process.stdout.write(`server: ${state.server ?? '(not ready)'} ${running ? 'running' : 'NOT running'}\n`);
      for (const proc of state.processes) process.stdout.write(`${proc.name}: pid ${proc.pid}, RSS ${residentMemory(proc.pid)}\n`);
      return running ? 0 : 1;
    }
    case 'binaries': {
      const binaries = await binariesOrFail();
      process.stdout.write(`kube-apiserver: ${binaries.kubeApiserver}\netcd: ${binaries.etcd}\nkubectl: ${binaries.kubectl}\n(${binaries.origin})\n`);
      return 0;
    }
    case 'helm': {
      const helm = await provideHelm();
      if ('unavailable' in helm) throw new Error(`no helm: ${helm.unavailable}; ${HOW_TO_PROVIDE_HELM}`);
      process.stdout.write(`helm: ${helm.path}\n(${helm.origin})\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${args.command}`);
  }
}

function residentMemory(pid: number): string {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? `${(Number(match[1]) / 1024).toFixed(0)} MiB` : 'unknown';
  } catch {
    return 'gone';
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      if (error.message) process.stderr.write(`${error.message}\n`);
      process.stderr.write(`${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`control-plane: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
