/**
 * Starting what the image holds the way a kubelet starts it with config/manager's
 * securityContext, on machines that cannot build images: the tree scripts/image-root.sh
 * assembles, run as uid/gid 65532 with every filesystem of the machine mounted read-only (a
 * private mount namespace) and an empty environment. Used by the image rehearsal and by the
 * dataplane suite. Needs root, `unshare`, `setpriv` and `mount`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { OPERATOR_NAMESPACE, REPO_ROOT } from './repo.js';

export const IMAGE_USER = '65532';

/** Why the image cannot be started as it would run here, or undefined when it can. */
export function imageToolsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const tool of ['unshare', 'setpriv', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `no ${tool} on PATH`;
  }
  return undefined;
}

/** `argv` run as 65532:65532 with / (and every mount under it) read-only, in an environment holding `env` alone. */
export function asImageWould(argv: readonly string[], env: Record<string, string>): [string, string[]] {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const inner = [
    'set -e',
    // Mounts made private, then each one remounted read-only, the root first.
    'mount --make-rprivate /',
    'for m in $(awk \'{print $2}\' /proc/self/mounts | sort -u); do mount -o remount,bind,ro "$m" 2>/dev/null || true; done',
    'mount --bind / /',
    'mount -o remount,bind,ro /',
    `exec setpriv --reuid=${IMAGE_USER} --regid=${IMAGE_USER} --clear-groups env -i ${envArgs.map(quote).join(' ')} ${argv.map(quote).join(' ')}`,
  ].join('\n');
  return ['unshare', ['--mount', 'sh', '-c', inner]];
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** NODE_OPTIONS as config/manager's Deployment sets them (the heap cap), read from there. */
export function deploymentNodeOptions(root: string = REPO_ROOT): string {
  type Env = { name: string; value?: string }[];
  const manifest = parse(readFileSync(join(root, 'config', 'manager', 'manager.yaml'), 'utf8')) as { spec: { template: { spec: { containers: { env?: Env }[] } } } };
  const value = manifest.spec.template.spec.containers.flatMap((c) => c.env ?? []).find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (value === undefined) throw new Error('config/manager/manager.yaml sets no NODE_OPTIONS');
  return value;
}

export interface ImageRun {
  /** The image tree's /app. */
  app: string;
  kubeconfig: string;
  health: number;
  metrics: number;
  /** POD_NAME, the replica's identity. */
  identity: string;
  flags?: readonly string[];
}

/** `netfence run` from the image tree as the Deployment starts it: its env (POD_NAME, POD_NAMESPACE, NODE_OPTIONS) and HTTP on loopback. */
export function imageRunCommand(run: ImageRun): [string, string[]] {
  return asImageWould(
    [
      process.execPath,
      join(run.app, 'bin', 'netfence.js'),
      'run',
      '--kubeconfig',
      run.kubeconfig,
      '--bind-address',
      '127.0.0.1',
      '--health-port',
      String(run.health),
      '--metrics-port',
      String(run.metrics),
      ...(run.flags ?? []),
    ],
    { NODE_ENV: 'production', POD_NAME: run.identity, POD_NAMESPACE: OPERATOR_NAMESPACE, NODE_OPTIONS: deploymentNodeOptions() },
  );
}
