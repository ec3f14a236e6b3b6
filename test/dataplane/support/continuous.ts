/**
 * Watching one flow without pause: `probeContinuously` opens a fresh connection (or sends a
 * fresh datagram) back to back, every result stamped with performance.now() at its start and
 * end, until `stop()`; the functions below it read the record. `watchPolicies` logs every
 * state the cluster's NetworkPolicies go through meanwhile (`statesOf` replays them), for
 * judging the states a probe may have fallen between.
 *
 * Guarantees: a denial is recorded as `denied` only when a control probe from the node, sent
 * right after it, reached the same listener (Kubernetes and kube-router always let the node
 * reach its pods); otherwise, and for `unreachable` or `broken` outcomes, or a connection
 * answered by a listener other than the destination pod's, the record is `broken` and proves
 * nothing. Each probe is bounded by PROBE_TIMEOUT_MS.
 * Assumes: the caller's event loop stays free while the loop runs (a synchronous kubectl
 * would freeze it and hide what happened meanwhile; use `kubectlAsync`).
 * Leaves out: what happens between two probes (PAUSE_MS plus a probe's duration: a
 * window shorter than that can be missed, which the suites say where it matters).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { verdictOf, type Dataplane, type DataplanePod } from '../dataplane.js';
import type { Proto, ProbeResult } from '../network.js';
import type { NetworkPolicy } from '../../../src/api/k8s.js';
import { RESOURCES, resourcePath, type KubeClient } from '../../../src/kube/client.js';
import type { DataplaneCluster } from './cluster.js';

export interface ProbeRecord {
  start: number;
  end: number;
  verdict: 'allowed' | 'denied' | 'broken';
  result: ProbeResult;
  /** The node's probe of the same listener, after a denial. */
  control?: ProbeResult;
}

export interface Flow {
  from: DataplanePod;
  proto: Proto;
  to: DataplanePod;
  port: number;
}

export const describeFlow = (f: Flow): string => `${f.from.namespace}/${f.from.name} -> ${f.proto} ${f.to.namespace}/${f.to.name}:${f.port}`;

export interface ContinuousProbe {
  readonly flow: Flow;
  readonly records: readonly ProbeRecord[];
  /** Ends the loop after the probe in flight. */
  stop(): Promise<void>;
}

/** A denial is a REJECT here (refused at once); a drop would time out after this. */
const PROBE_TIMEOUT_MS = 1000;
const PAUSE_MS = 20;

export function probeContinuously(dp: Dataplane, flow: Flow): ContinuousProbe {
  const records: ProbeRecord[] = [];
  const expectPeer = `${flow.to.namespace}/${flow.to.name}`;
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      const result = await dp.probe(flow.from, flow.proto, flow.to.ip, flow.port, { timeoutMs: PROBE_TIMEOUT_MS });
      const end = performance.now();
      let verdict = verdictOf(result);
      let control: ProbeResult | undefined;
      if (verdict === 'allowed' && result.peer !== expectPeer) verdict = 'broken';
      if (verdict === 'denied') {
        control = await dp.probe(dp.nodeAgent, flow.proto, flow.to.ip, flow.port, { timeoutMs: PROBE_TIMEOUT_MS });
        if (control.outcome !== 'connected' || control.peer !== expectPeer) verdict = 'broken';
      }
      records.push({ start, end, verdict, result, ...(control ? { control } : {}) });
      await sleep(PAUSE_MS);
    }
  })();
  return {
    flow,
    records,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const show = (r: ProbeRecord, origin: number): string =>
  `${r.verdict} at +${Math.round(r.start - origin)} ms (${JSON.stringify(r.result)}${r.control ? `, control ${JSON.stringify(r.control)}` : ''})`;

/** Throws when any record is `broken`, or none was taken. */
export function expectUnbroken(probe: ContinuousProbe, origin: number): void {
  const broken = probe.records.filter((r) => r.verdict === 'broken');
  if (probe.records.length === 0) throw new Error(`${describeFlow(probe.flow)}: no probe ran`);
  if (broken.length > 0) throw new Error(`${describeFlow(probe.flow)}: ${broken.length} of ${probe.records.length} probes prove nothing, first: ${show(broken[0]!, origin)}`);
}

/** The records whose verdict is not `want`. */
export const notAs = (records: readonly ProbeRecord[], want: ProbeRecord['verdict']): ProbeRecord[] => records.filter((r) => r.verdict !== want);

/** A stretch of consecutive records with one verdict. */
export interface Run {
  verdict: ProbeRecord['verdict'];
  records: ProbeRecord[];
}

/** The records as runs of one verdict, in order: `denied allowed denied` is a flow that opened once and closed again. */
export function runsOf(records: readonly ProbeRecord[]): Run[] {
  const runs: Run[] = [];
  for (const r of records) {
    const last = runs[runs.length - 1];
    if (last && last.verdict === r.verdict) last.records.push(r);
    else runs.push({ verdict: r.verdict, records: [r] });
  }
  return runs;
}

/** The first record of the last run when that run is denied: the moment the flow closed for good. */
export function closedFor(runs: readonly Run[]): ProbeRecord | undefined {
  const last = runs[runs.length - 1];
  return last?.verdict === 'denied' ? last.records[0] : undefined;
}

/** `deniedx12 allowedx3 deniedx40`: the runs, for a printed line or a failure message. */
export const describeRuns = (runs: readonly Run[]): string => runs.map((r) => `${r.verdict}x${r.records.length}`).join(' ');

/** The verdicts of the runs, space separated (`denied allowed denied`), for matching a shape. */
export const shapeOf = (runs: readonly Run[]): string => runs.map((r) => r.verdict).join(' ');

export interface PolicyEvent {
  /** performance.now() when the event reached this process (a few ms after the write). */
  at: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  policy: NetworkPolicy;
}

export interface PolicyLog {
  /** The NetworkPolicies of every namespace when the watch began. */
  readonly initial: readonly NetworkPolicy[];
  /** Every change since, in the order the API server made them. */
  readonly events: readonly PolicyEvent[];
  stop(): Promise<void>;
}

/**
 * Lists every NetworkPolicy, then watches from that list's resourceVersion: the log holds
 * each state the cluster's policies went through, none skipped. Throws (at `stop`) when the
 * watch ended early or broke, since the log would then miss states.
 */
export async function watchPolicies(api: KubeClient): Promise<PolicyLog> {
  const path = resourcePath(RESOURCES.networkPolicies);
  const list = await api.request<{ metadata: { resourceVersion: string }; items: NetworkPolicy[] }>({ method: 'GET', path });
  const events: PolicyEvent[] = [];
  const abort = new AbortController();
  let ended = false;
  const loop = (async () => {
    for await (const event of api.watch<NetworkPolicy>({ path, query: { watch: true, resourceVersion: list.metadata.resourceVersion }, signal: abort.signal })) {
      if (event.type === 'ERROR' || event.type === 'BOOKMARK') throw new Error(`the NetworkPolicy watch sent ${event.type}: ${JSON.stringify(event.object)}`);
      events.push({ at: performance.now(), type: event.type, policy: event.object });
    }
    ended = !abort.signal.aborted;
  })();
  loop.catch(() => undefined);
  return {
    initial: list.items,
    events,
    stop: async () => {
      abort.abort();
      await loop;
      if (ended) throw new Error('the NetworkPolicy watch ended before it was stopped: the log misses changes');
    },
  };
}

export interface PolicyState {
  /** The change that made this state; undefined for the state the watch began in. */
  after?: PolicyEvent;
  policies: NetworkPolicy[];
}

const policyKey = (p: NetworkPolicy): string => `${p.metadata.namespace}/${p.metadata.name}`;

/** The states of a log: where the watch began, then one after each event. */
export function statesOf(log: Pick<PolicyLog, 'initial' | 'events'>): PolicyState[] {
  const current = new Map(log.initial.map((p) => [policyKey(p), p]));
  const states: PolicyState[] = [{ policies: [...current.values()] }];
  for (const event of log.events) {
    if (event.type === 'DELETED') current.delete(policyKey(event.policy));
    else current.set(policyKey(event.policy), event.policy);
    states.push({ after: event, policies: [...current.values()] });
  }
  return states;
}

/** Runs `body` while `loops` run, and stops every one of them however `body` ends. */
export async function whileRunning<T>(loops: readonly { stop(): Promise<void> }[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(loops.map((l) => l.stop()));
  }
}

/** Polls `done` every `everyMs` until it holds; returns performance.now() of the poll that saw it, or throws after timeoutMs. */
export async function pollUntil(what: string, done: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await done()) return performance.now();
    if (performance.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/**
 * kubectl with the admin identity, like `cluster.kubectl` but without blocking the event loop
 * (the probe loops keep running and stamping while it works). Rejects on a non-zero exit.
 */
export function kubectlAsync(cluster: DataplaneCluster, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cluster.started.binaries.kubectl, ['--kubeconfig', cluster.plane.adminKubeconfig, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}
