/**
 * bench/matrix: the size of `netfence matrix -o html` and the time headless Chromium takes to
 * show it, against a floor measured in the same run.
 *
 * Scenes: bench/cluster.ts's cluster at 1,000 namespaces of 100 tenants and of 1,000 tenants
 * (10,000 pods, with container ports), plus the ingress, monitoring and DNS namespaces the
 * tenants name, and an allow-everything ingress policy in 1% of the namespaces so that the
 * matrices hold violations. Each goes through the analysis and the html formatter as the CLI
 * does (buildScene, buildMatrix, formatMatrix).
 *
 * Time: the wall time of one `chromium --headless --screenshot` run on the page (start, load,
 * script, layout, paint, capture, exit), median of BENCH_RUNS; the floor is the same run on a
 * one-line page, interleaved with the others so both see the same machine.
 * Goals (issue 13): under 5 MB and under 5 s at 1,000 namespaces of 100 tenants. Prints a line
 * per scene and MET or MISSED.
 * Run: `npm run bench:matrix` (BENCH_TENANTS=100,1000 to choose scenes, BENCH_RUNS, CHROMIUM=path).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Namespace, NetworkPolicy, Pod } from '../src/api/k8s.js';
import { buildMatrix } from '../src/analysis/matrix.js';
import { buildScene } from '../src/analysis/scene.js';
import { formatMatrix } from '../src/cli/matrix/index.js';
import { findChromium, headlessFlags } from './chromium.js';
import { generateCluster } from './cluster.js';

const NAMESPACES = 1_000;
const TENANTS = (process.env.BENCH_TENANTS ?? '100,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GOAL_MB = 5;
const GOAL_S = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function sceneInput(nTenants: number): Parameters<typeof buildScene>[0] {
  const c = generateCluster(NAMESPACES, nTenants, NAMESPACES * 10);
  const namespaces: Namespace[] = [...(c.namespaces as Namespace[]), ...['ingress-nginx', 'monitoring', 'kube-system'].map((name) => ({ metadata: { name } }))];
  const pods: Pod[] = (c.pods ?? []).map((p) => ({
    metadata: { namespace: p.namespace, name: p.name, labels: { ...p.labels } },
    spec: {
      containers: [
        {
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ],
        },
      ],
    },
  }));
  const policies: NetworkPolicy[] = Array.from({ length: NAMESPACES / 100 }, (_, k) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: `ns-${k * 100 + 42}`, name: 'allow-everything' },
    spec: { podSelector: {}, ingress: [{}] },
  }));
  return { tenants: c.tenants, namespaces, pods, policies, settings: c.settings };
}

/** Seconds one headless screenshot of the page takes, start to exit. */
function chromiumSeconds(chromium: string, dir: string, page: string, run: number): number {
  const t0 = performance.now();
  const r = spawnSync(
    chromium,
    [...headlessFlags(join(dir, `profile-${run}`)), '--window-size=1280,900', '--hide-scrollbars', `--screenshot=${join(dir, 'shot.png')}`, pathToFileURL(page).href],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.error !== undefined || r.status !== 0) throw new Error(`${chromium} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.slice(-1000)}`);
  return seconds;
}

const chromium = findChromium();
if (chromium === undefined) throw new Error('bench/matrix: no Chromium: set CHROMIUM or put chromium on PATH');
const dir = mkdtempSync(join(tmpdir(), 'netfence-bench-matrix-'));
try {
  const floorPage = join(dir, 'floor.html');
  writeFileSync(floorPage, '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body><p>floor</p></body></html>\n');
  console.log(`bench/matrix: ${NAMESPACES} namespaces, 10,000 pods; tenants ${TENANTS.join(', ')}; ${RUNS} Chromium runs each (${chromium})`);
  let met = true;
  for (const nTenants of TENANTS) {
    const t0 = performance.now();
    const report = buildMatrix(buildScene(sceneInput(nTenants), 'planned'), `bench (${nTenants} tenants, ${NAMESPACES} namespaces)`);
    const t1 = performance.now();
    const html = formatMatrix(report, 'html');
    const t2 = performance.now();
    const page = join(dir, `matrix-${nTenants}.html`);
    writeFileSync(page, html);
    const mb = Buffer.byteLength(html) / 1024 / 1024;
    const floor: number[] = [];
    const shown: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      floor.push(chromiumSeconds(chromium, dir, floorPage, 2 * r));
      shown.push(chromiumSeconds(chromium, dir, page, 2 * r + 1));
    }
    const [f, s] = [median(floor), median(shown)];
    const goal = nTenants === 100 ? (mb < GOAL_MB && s < GOAL_S ? ' MET' : ' MISSED') : '';
    if (goal === ' MISSED') met = false;
    console.log(
      `${nTenants} tenants: ${report.tenants.entries.length} x ${report.tenants.entries.length} tenant cells, ${report.namespaces.entries.length} x ${report.namespaces.entries.length} namespace cells, ${report.violations} violating paths; ` +
        `analysis ${((t1 - t0) / 1000).toFixed(1)} s, html ${((t2 - t1) / 1000).toFixed(2)} s, ${mb.toFixed(2)} MB; ` +
        `Chromium ${s.toFixed(2)} s (median; floor, a one-line page: ${f.toFixed(2)} s; ${(s / f).toFixed(2)}x, +${(s - f).toFixed(2)} s)${goal}`,
    );
  }
  console.log(met ? `goal: under ${GOAL_MB} MB and ${GOAL_S} s at 100 tenants: MET` : `goal: under ${GOAL_MB} MB and ${GOAL_S} s at 100 tenants: MISSED`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
