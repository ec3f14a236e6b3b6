/**
 * One measured run for bench/cli.ts, in a process of its own: either the CLI's own entry
 * point (stdout discarded, as `> /dev/null`) or, with `--floor render|check FILE`, the work
 * no implementation can skip. Prints `{"ms", "rssMB", "code"}` as its last line on stderr.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Namespace, NetworkPolicy, Pod } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { findViolations } from '../src/analysis/check.js';
import { buildScene } from '../src/analysis/scene.js';
import { runCli } from '../src/cli/main.js';
import { compile } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';

function floor(command: string, file: string): number {
  const items = (JSON.parse(readFileSync(file, 'utf8')) as { items: { kind: string }[] }).items;
  const of = <T>(kind: string): T[] => items.filter((o) => o.kind === kind) as unknown as T[];
  const tenants = of<TenantIsolation>('TenantIsolation');
  const namespaces = of<Namespace>('Namespace');
  const pods = of<Pod>('Pod');
  const settings = defaultSettings();
  if (command === 'render') {
    const result = compile({ tenants, namespaces, pods: pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} })), settings });
    return JSON.stringify(result.policies).length;
  }
  const scene = buildScene({ tenants, namespaces, pods, policies: of<NetworkPolicy>('NetworkPolicy'), settings }, 'planned');
  return findViolations(scene.reach, scene.fences).length;
}

const argv = process.argv.slice(2);
const t0 = performance.now();
let code = 0;
if (argv[0] === '--floor') {
  floor(argv[1] as string, argv[2] as string);
} else {
  let err = '';
  code = await runCli(argv, { stdout: () => {}, stderr: (t) => (err += t), readStdin: () => '' });
  if (code > 1) process.stderr.write(err.slice(0, 2000));
}
const ms = performance.now() - t0;
process.stderr.write(`\n${JSON.stringify({ ms, rssMB: process.resourceUsage().maxRSS / 1024, code })}\n`);
