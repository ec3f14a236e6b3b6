/**
 * bench/check-report: `netfence check`'s report on the day before netfence is installed, when
 * every namespace has a hand-written allow-all policy (bench/allow-all-cluster.ts): N
 * namespaces in N/10 tenants, about N x N paths crossing a fence undeclared.
 *
 * Each run is a fresh process (this file with `--child`), which prints its wall time, CPU
 * time and peak RSS (getrusage). Measured in the same run, as floors:
 * - `scene`: read the file, JSON.parse it, build the scene (compile and the class index),
 *   without validation: what any report needs before its first line;
 * - `scene + pairs`: the same, then every allowed pair visited once with nothing done (the
 *   analysis's own pass, which the report cannot skip).
 * Then `check` (text, the default) and `check -o json` through the CLI's own entry point,
 * their output counted and discarded (as `> /dev/null`).
 * Goal (issue 13): 1,000 namespaces, text report under 5 s and under 600 MB peak RSS on a
 * 2-core machine. Prints one line per run and MET or MISSED.
 * Run: `npm run bench:check-report` (BENCH_SIZES=100,200,1000 to choose sizes, BENCH_JSON=0
 * to skip the JSON runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Namespace, NetworkPolicy, Pod } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { buildScene } from '../src/analysis/scene.js';
import { runCli } from '../src/cli/main.js';
import { defaultSettings } from '../src/compiler/settings.js';
import { allowAllManifest } from './allow-all-cluster.js';

interface Measured {
  ms: number;
  cpuMs: number;
  rssMB: number;
  code: number;
  outputMB: number;
}

const SELF = fileURLToPath(import.meta.url);

function sceneOf(file: string): ReturnType<typeof buildScene> {
  const items = (JSON.parse(readFileSync(file, 'utf8')) as { items: { kind: string }[] }).items;
  const of = <T>(kind: string): T[] => items.filter((o) => o.kind === kind) as unknown as T[];
  return buildScene(
    {
      tenants: of<TenantIsolation>('TenantIsolation'),
      namespaces: of<Namespace>('Namespace'),
      pods: of<Pod>('Pod'),
      policies: of<NetworkPolicy>('NetworkPolicy'),
      settings: defaultSettings(),
    },
    'planned',
  );
}

/** One measured run, in this process: the child side. */
async function child(mode: string, file: string): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let code = 0;
  let output = 0;
  if (mode === 'scene') sceneOf(file);
  else if (mode === 'pairs') sceneOf(file).reach.forEachAllowed(() => {});
  else {
    let err = '';
    const argv = ['check', '-f', file, ...(mode === 'json' ? ['-o', 'json'] : [])];
    code = await runCli(argv, { stdout: (t) => void (output += t.length), stderr: (t) => void (err += t), readStdin: () => '' });
    if (code > 1) process.stderr.write(err.slice(0, 2000));
  }
  const cpu = process.cpuUsage(c0);
  const m: Measured = { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, rssMB: process.resourceUsage().maxRSS / 1024, code, outputMB: output / 1024 / 1024 };
  process.stderr.write(`\n${JSON.stringify(m)}\n`);
}

function run(mode: string, file: string): Measured {
  const r = spawnSync(process.execPath, [SELF, '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`bench child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Measured;
}

function main(): void {
  const sizes = (process.env.BENCH_SIZES ?? '100,200,1000').split(',').map(Number);
  const withJson = process.env.BENCH_JSON !== '0';
  const dir = mkdtempSync(join(tmpdir(), 'netfence-bench-check-report-'));
  const goals: string[] = [];
  const show = (label: string, m: Measured, floor: Measured): string =>
    `  ${label.padEnd(22)} ${m.ms.toFixed(0).padStart(6)} ms (cpu ${m.cpuMs.toFixed(0).padStart(6)} ms) = ${(m.ms / floor.ms).toFixed(2).padStart(5)}x the scene floor, peak RSS ${m.rssMB.toFixed(0).padStart(4)} MB` +
    (m.outputMB > 0 ? `, ${m.outputMB.toFixed(1)} MB of output, exit ${m.code}` : '');
  try {
    for (const n of sizes) {
      const file = join(dir, `allow-all-${n}.json`);
      writeFileSync(file, allowAllManifest(n));
      console.log(`bench/check-report: ${n} namespaces, ${Math.max(1, Math.floor(n / 10))} tenants, each namespace with an allow-all policy and 3 pods`);
      const scene = run('scene', file);
      console.log(show('floor: scene', scene, scene));
      console.log(show('floor: scene + pairs', run('pairs', file), scene));
      const text = run('text', file);
      console.log(show('check (text)', text, scene));
      if (withJson) console.log(show('check -o json', run('json', file), scene));
      if (n === 1000)
        goals.push(
          `text report at ${n} namespaces: ${text.ms < 5000 && text.rssMB < 600 ? 'MET' : 'MISSED'} (${(text.ms / 1000).toFixed(1)} s, ${text.rssMB.toFixed(0)} MB; goal: under 5 s and 600 MB)`,
        );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const g of goals) console.log(`goal ${g}`);
}

if (process.argv[2] === '--child') await child(process.argv[3] as string, process.argv[4] as string);
else main();
