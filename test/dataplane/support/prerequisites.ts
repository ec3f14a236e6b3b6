/**
 * What the dataplane needs of the machine (root, the tools kube-router and the harness drive, a
 * kernel that makes a namespace with a bridge, iptables and ipsets), and what happens when it
 * lacks a piece: with CI=true the run fails, elsewhere every suite skips after one loud line.
 */
import { spawnSync } from 'node:child_process';
import { isCi } from '../../integration/support/env.js';
import { imageToolsMissing } from '../../integration/support/image.js';
import { DATAPLANE_SKIP_ENV } from './env.js';

const TOOLS = ['ip', 'iptables', 'ipset', 'socat', 'sysctl'];

/** The first of `tools` not on PATH, said as the reason to skip. */
export function missingTool(tools: readonly string[] = TOOLS): string | undefined {
  const absent = tools.find((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  return absent === undefined ? undefined : `no ${absent} on PATH (Debian: apt-get install iproute2 iptables ipset socat procps util-linux)`;
}

/** Why this machine cannot run the dataplane, or undefined when it can. */
export function missing(): string | undefined {
  const why = imageToolsMissing() ?? missingTool();
  if (why) return why;
  const probe = spawnSync(
    'unshare',
    ['--net', 'sh', '-c', 'ip link add nfprobe0 type bridge && sysctl -q -w net.bridge.bridge-nf-call-iptables=1 && iptables -S >/dev/null && ipset list >/dev/null'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return `this machine cannot make a network namespace with a bridge, br_netfilter, iptables and ipset: ${probe.stderr.trim()}`;
  return undefined;
}

/** With CI=true a dataplane that cannot start fails the run; elsewhere every suite skips, after one loud line. */
export function skipOrFail(why: string, env: NodeJS.ProcessEnv = process.env): void {
  if (isCi(env)) throw new Error(`CI=true and the dataplane cannot start: ${why}`);
  process.stderr.write(`\n!!! SKIPPING every dataplane suite: ${why} !!!\n`);
  env[DATAPLANE_SKIP_ENV] = why;
}
