/**
 * bench/render: the compile step on a generated cluster of 10,000 namespaces, 1,000 tenants
 * and 100,000 pods. Prints the median compile time over several runs and the heap the
 * result holds. Goal: under 1 s and under 300 MB. Run: `npm run bench:render`.
 */
import { performance } from 'node:perf_hooks';
import { compile } from '../src/compiler/compile.js';
import { generateCluster } from './cluster.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1_000);
const PODS = Number(process.env.BENCH_PODS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc (npm run bench:render does)');
  g();
  g();
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const input = generateCluster(NAMESPACES, TENANTS, PODS);
compile(input); // warm-up: JIT and inline caches
gc();
const heapBefore = process.memoryUsage().heapUsed;
const times: number[] = [];
let result = compile(input);
for (let i = 0; i < RUNS; i++) {
  gc();
  const t0 = performance.now();
  result = compile(input);
  times.push(performance.now() - t0);
}
gc();
const heapHeld = process.memoryUsage().heapUsed - heapBefore;
// Peak during one compile: heap right after a compile, before any collection.
gc();
const base = process.memoryUsage().heapUsed;
const probe = compile(input);
const peak = process.memoryUsage().heapUsed - base;
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] as number;
console.log(
  `bench/render: ${NAMESPACES} namespaces, ${TENANTS} tenants, ${PODS} pods -> ${result.policies.length} policies (${probe.policies.length === result.policies.length ? 'stable' : 'UNSTABLE'})`,
);
console.log(
  `compile time: median ${median.toFixed(0)} ms, min ${(times[0] as number).toFixed(0)} ms, max ${(times[times.length - 1] as number).toFixed(0)} ms over ${RUNS} runs (goal < 1000 ms)`,
);
console.log(`heap: result held ${mb(heapHeld)}, allocated by one compile before collection ${mb(peak)} (goal < 300 MB); rss ${mb(process.memoryUsage().rss)}`);
