/**
 * The upstream NetworkPolicy cases (`<repo>/../shared/netpol-cases`, format and provenance in
 * its README) played on the dataplane: a case's namespaces with their labels, its pods (labels,
 * container ports, and its addresses when it gives them) and its policies are written to the
 * API server by server-side apply, and each expectation becomes a fresh probe on real packets,
 * judged against what `netfence explain --live` predicts for it and against the case's verdict.
 *
 * Guarantees:
 * - One cluster plays every case in turn. Namespaces are reused (without a controller-manager a
 *   deleted namespace stays Terminating): their labels are applied, so a label an earlier case
 *   applied and this one does not is removed. The earlier case's policies are deleted.
 * - Pods are costly (a network namespace and an agent each), so a staged pod plays the case's
 *   pod of the same namespace and name when it has the case's address, and is relabelled. Its
 *   container ports are the ones it was made with: equal to the case's where a policy of the
 *   case names a port (else the pod is made again), and deciding nothing otherwise. A staged pod
 *   the case does not have stays, as a bystander no probe involves, while a later case can use
 *   it. Every agent serves every port any case probes on its pod.
 * - Nothing is probed before kube-router has synced the case: a sentinel policy, in a namespace
 *   of its own and written last, flips for every case, and its flip is seen on packets first.
 * - Only the final pass counts: each probe is first polled (bounded) until its verdict is the
 *   prediction, then every probe runs once more; a denial there counts only when a control
 *   from the node reaches the same listener, and a connection only when the listener that
 *   answered is the destination's.
 *
 * Assumptions: kube-router's informers see the writes in the order they were made (the
 * sentinel is written after the case's pods, namespaces and policies).
 *
 * Leaves out (counted as skipped, never probed): SCTP (no SCTP sockets on this kernel), outside
 * addresses the dataplane cannot hold, and a pod to itself (never filtered by kube-router, never listed by the cases).
 * Cases the dataplane cannot play as written are left out of the sample with the reason
 * (chooseSample).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IPBlock, Namespace, NetworkPolicy, Protocol } from '../../../src/api/k8s.js';
import { cidrContains, cidrContainsIP, cidrsOverlap, parseCidr, parseIP, type Cidr } from '../../../src/core/cidr.js';
import { resourcePath, RESOURCES } from '../../../src/kube/client.js';
import { parseEndpoint, type Endpoint } from '../../../src/evaluator/endpoint.js';
import { verdictOf, type DataplanePod, type PodSpec } from '../dataplane.js';
import { POD_CIDR, type Agent, type ProbeOptions, type ProbeResult, type Proto } from '../network.js';
import { REPO_ROOT, type DataplaneCluster } from './cluster.js';
import { explainLive, type Verdict } from './predict.js';

export const CASES_DIR = join(REPO_ROOT, '..', 'shared', 'netpol-cases');

interface CasePort {
  name?: string;
  /** Required by the API server; absent in a few converted cases (they are left out). */
  containerPort?: number;
  protocol?: Protocol;
}

interface CasePod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ip?: string;
  containerPorts?: CasePort[];
}

export interface CaseExpectation {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
}

export interface UpstreamCase {
  name: string;
  namespaces: { name: string; labels?: Record<string, string> }[];
  pods: CasePod[];
  policies: NetworkPolicy[];
  expectations: CaseExpectation[];
}

export function loadCases(): UpstreamCase[] {
  return readdirSync(CASES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => Object.freeze(JSON.parse(readFileSync(join(CASES_DIR, f), 'utf8')) as UpstreamCase));
}

export const casesPresent = (): boolean => existsSync(CASES_DIR);

// ---------------------------------------------------------------------------------------------
// The sample

/**
 * What one case may cost, for the suite's time budget: pods are network namespaces and agents,
 * expectations are probes and explain runs. netpol-analyzer's cases of one or two workloads are
 * its synthetic ones, each written for a feature (endPort, ports-only rules, external
 * addresses); its larger ones copy live clusters whose selectors the e2e cases already cover.
 */
const SAMPLE_LIMITS: Readonly<Record<string, { pods: number; expectations: number }>> = {
  default: { pods: 5, expectations: 160 },
  'netpol-analyzer': { pods: 2, expectations: 160 },
};

const podCidr = parseCidr(POD_CIDR) as Cidr;

const ipBlocksOf = (c: UpstreamCase): IPBlock[] =>
  c.policies
    .flatMap((p) => [...(p.spec.ingress ?? []).flatMap((r) => r.from ?? []), ...(p.spec.egress ?? []).flatMap((r) => r.to ?? [])])
    .flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : []));

/** True when the block matches some address of the pod CIDR (where the dataplane puts pods it gives an address). */
function reachesPodCidr(block: IPBlock): boolean {
  const cidr = parseCidr(block.cidr);
  if (!cidr || !cidrsOverlap(cidr, podCidr)) return false;
  return !(block.except ?? []).some((e) => {
    const except = parseCidr(e);
    return except !== null && cidrContains(except, podCidr);
  });
}

/** Why the dataplane cannot play a case as written, or undefined when it can. */
export function whyLeftOut(c: UpstreamCase): string | undefined {
  if (c.pods.some((p) => p.ip !== undefined && !cidrContainsIP(podCidr, parseIP(p.ip)!))) {
    return `a pod address outside the pod CIDR ${POD_CIDR} (the node routes it to the outside namespace)`;
  }
  if (c.pods.some((p) => (p.containerPorts ?? []).some((port) => port.containerPort === undefined))) {
    return 'a container port without a number (the API server rejects the pod)';
  }
  if (c.pods.every((p) => p.ip === undefined) && ipBlocksOf(c).some(reachesPodCidr)) {
    return "an ipBlock over the pod CIDR while the case's pods have no address (its corpus assumes an ipBlock selects no pod; here pods get addresses in that CIDR)";
  }
  if (c.expectations.every((e) => e.protocol === 'SCTP')) return 'every expectation is SCTP (no SCTP sockets on this kernel)';
  const limits = SAMPLE_LIMITS[c.name.split('__')[0] ?? ''] ?? SAMPLE_LIMITS['default']!;
  if (c.pods.length > limits.pods || c.expectations.length > limits.expectations) {
    return `over ${limits.pods} pods or ${limits.expectations} expectations (the suite's time budget)`;
  }
  return undefined;
}

export interface Sample {
  chosen: UpstreamCase[];
  left: { name: string; why: string }[];
}

export function chooseSample(cases: readonly UpstreamCase[]): Sample {
  const sample: Sample = { chosen: [], left: [] };
  for (const c of cases) {
    const why = whyLeftOut(c);
    if (why === undefined) sample.chosen.push(c);
    else sample.left.push({ name: c.name, why });
  }
  return sample;
}

// ---------------------------------------------------------------------------------------------
// Probes that cannot run

export const SKIPS = {
  sctp: 'SCTP: no SCTP sockets on this kernel',
  unplaceable: 'an outside address the outside namespace cannot hold',
  self: 'a pod to itself: never filtered by kube-router',
} as const;
export type Skip = keyof typeof SKIPS;

/** Addresses the outside namespace cannot stand for: the pods' and node's CIDR, "this network", loopback, multicast and above. */
const NOT_OUTSIDE = [POD_CIDR, '0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/3'].map((c) => parseCidr(c) as Cidr);

const outsideAddressOf = (endpoint: Endpoint): string | undefined => (endpoint.kind === 'external' ? endpoint.ip : undefined);

export function skipOf(e: CaseExpectation): Skip | undefined {
  if (e.protocol === 'SCTP') return 'sctp';
  if (e.from === e.to) return 'self';
  const ends = [parseEndpoint(e.from), parseEndpoint(e.to)].map(outsideAddressOf).filter((a): a is string => a !== undefined);
  if (ends.some((a) => NOT_OUTSIDE.some((c) => cidrContainsIP(c, parseIP(a)!)))) return 'unplaceable';
  return undefined;
}

/** The outside addresses the sample's probes use, the ports the outside agent must serve, and the addresses it serves them at on UDP. */
export function outsideNeeds(cases: readonly UpstreamCase[]): { addresses: string[]; ports: number[]; udpAddresses: string[] } {
  const addresses = new Set<string>();
  const ports = new Set<number>();
  const udpAddresses = new Set<string>();
  for (const e of cases.flatMap((c) => c.expectations)) {
    if (skipOf(e) !== undefined) continue;
    const from = outsideAddressOf(parseEndpoint(e.from));
    const to = outsideAddressOf(parseEndpoint(e.to));
    if (from) addresses.add(from);
    if (to) {
      addresses.add(to);
      ports.add(e.port);
      if (e.protocol === 'UDP') udpAddresses.add(to);
    }
  }
  return { addresses: [...addresses].sort(), ports: [...ports].sort((a, b) => a - b), udpAddresses: [...udpAddresses].sort() };
}

// ---------------------------------------------------------------------------------------------
// Results

export type Packets = Verdict | 'broken';

export interface ProbeRecord {
  case: string;
  expectation: CaseExpectation;
  skipped?: Skip;
  explain?: Verdict;
  packets?: Packets;
  detail?: string;
}

const expected = (e: CaseExpectation): Verdict => (e.allowed ? 'allowed' : 'denied');
const describeProbe = (r: ProbeRecord): string => `${r.case}: ${r.expectation.from} -> ${r.expectation.to} ${r.expectation.port}/${r.expectation.protocol}`;

/** Probes whose packets contradict explain (a broken probe contradicts everything). */
export const disagreeing = (records: readonly ProbeRecord[]): ProbeRecord[] => records.filter((r) => !r.skipped && r.packets !== r.explain);

/** Probes where packets and explain agree and the case says otherwise: the evaluator got the case wrong. */
export const evaluatorSuspects = (records: readonly ProbeRecord[]): ProbeRecord[] =>
  records.filter((r) => !r.skipped && r.packets === r.explain && r.explain !== expected(r.expectation));

export function formatDisagreement(r: ProbeRecord): string {
  return `${describeProbe(r)}: explain ${r.explain}, packets ${r.packets}${r.detail ? ` (${r.detail})` : ''}, case ${expected(r.expectation)}`;
}

/** The counts; `documented` tells a disagreement that is a known deviation of the dataplane. */
export function summaryLines(cases: number, records: readonly ProbeRecord[], documented: (r: ProbeRecord) => boolean): string[] {
  const probed = records.filter((r) => !r.skipped);
  const against = disagreeing(records).length;
  const known = disagreeing(records).filter(documented).length;
  const skips = (Object.keys(SKIPS) as Skip[])
    .map((s) => [s, records.filter((r) => r.skipped === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${SKIPS[s]}`);
  const withCase = probed.filter((r) => r.packets === expected(r.expectation)).length;
  return [
    `[dataplane] upstream cases: ${cases} fixtures, ${records.length} probes: ${probed.length - against} agree with explain, ${against} disagree (${known} of them documented deviations), ` +
      `${records.length - probed.length} skipped${skips.length ? ` (${skips.join('; ')})` : ''}`,
    `[dataplane] upstream cases: the packets of ${withCase} of ${probed.length} probes agree with the fixtures' expected verdicts`,
  ];
}

// Playing cases

const FIELD_MANAGER = 'netfence-upstream-cases';
const SENTINEL_NAMESPACE = 'netfence-upstream-sentinel';
/** How long kube-router may take to sync a case (the sentinel's flip). */
const SYNC_MS = 5000;
/** How long a probe may then take to come to its prediction (a documented deviation never does). */
const CONVERGE_MS = 2000;
const PROBE_CHUNK = 32;
const EXPLAIN_CHUNK = 8;

async function inChunks<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return out;
}

const keyOf = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

/** True when a policy of the case names a port: only then do container ports decide anything. */
const namesPorts = (c: UpstreamCase): boolean =>
  c.policies.some((p) => [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])].some((r) => (r.ports ?? []).some((port) => typeof port.port === 'string')));

const containerPortsOf = (p: CasePod): PodSpec['ports'] =>
  (p.containerPorts ?? []).map((port) => ({ ...(port.name ? { name: port.name } : {}), port: port.containerPort!, protocol: port.protocol ?? 'TCP' }));

interface StagedPod {
  /** The case's address, when it gave one (else the dataplane chose). */
  address: string | undefined;
  ports: string;
  labels: Record<string, string>;
  pod: DataplanePod;
}

/**
 * A staged pod can play the case's pod when it has the case's address and, where the case
 * names ports, the case's container ports.
 */
const fits = (staged: StagedPod, p: CasePod, portsMatter: boolean): boolean => staged.address === p.ip && (!portsMatter || staged.ports === JSON.stringify(containerPortsOf(p)));

/** A probe's two ends on the dataplane: who sends (and from which address), where to, and whose listener must answer. */
interface Route {
  source: Agent;
  options: ProbeOptions;
  host: string;
  peer: string;
  proto: Proto;
  port: number;
}

export interface Timings {
  stageMs: number;
  syncMs: number;
  explainMs: number;
  probeMs: number;
  podsMade: number;
}

export class CaseStage {
  private readonly staged = new Map<string, StagedPod>();
  private readonly namespaces = new Set<string>();
  private sentinelDenied = false;
  readonly timings: Timings = { stageMs: 0, syncMs: 0, explainMs: 0, probeMs: 0, podsMade: 0 };

  private constructor(
    private readonly cluster: DataplaneCluster,
    private readonly cases: readonly UpstreamCase[],
    /** Per pod (namespace/name), every port a probe of any case aims at it: an agent serves a fixed set. */
    private readonly served: ReadonlyMap<string, number[]>,
    private readonly outside: Agent,
    private readonly sentinel: { client: DataplanePod; target: DataplanePod },
  ) {}

  /** The outside agent (its addresses and TCP ports for the cases) and the sentinel's two pods. */
  static async start(cluster: DataplaneCluster, cases: readonly UpstreamCase[]): Promise<CaseStage> {
    const dp = cluster.dataplane;
    const needs = outsideNeeds(cases);
    for (const address of needs.addresses) dp.network.addOutsideAddress(address);
    const outside = await dp.outside(needs.ports, needs.udpAddresses);
    const served = new Map<string, number[]>();
    for (const e of cases.flatMap((c) => c.expectations))
      served.set(
        e.to,
        [...new Set([...(served.get(e.to) ?? []), e.port])].sort((a, b) => a - b),
      );
    cluster.kubectl(['create', 'namespace', SENTINEL_NAMESPACE]);
    const [client, target] = await Promise.all([
      dp.addPod({ namespace: SENTINEL_NAMESPACE, name: 'client', labels: { role: 'client' }, ports: [] }),
      dp.addPod({ namespace: SENTINEL_NAMESPACE, name: 'target', labels: { role: 'target' }, ports: [{ port: 80 }] }),
    ]);
    return new CaseStage(cluster, cases, served, outside, { client, target });
  }

  /** Writes the case (see the module comment) and waits for kube-router to have synced it. */
  async stage(c: UpstreamCase): Promise<void> {
    const started = performance.now();
    const api = this.cluster.dataplane.api;
    await Promise.all([...this.namespaces].map((namespace) => api.request({ method: 'DELETE', path: resourcePath(RESOURCES.networkPolicies, { namespace }) })));
    await Promise.all(c.namespaces.map((ns) => this.apply(RESOURCES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: ns.labels ?? {} } })));
    for (const ns of c.namespaces) this.namespaces.add(ns.name);
    await this.placePods(c);
    await Promise.all(c.policies.map((policy) => this.apply(RESOURCES.networkPolicies, policy)));
    this.sentinelDenied = !this.sentinelDenied;
    await this.apply(RESOURCES.networkPolicies, this.sentinelPolicy());
    const written = performance.now();
    this.timings.stageMs += written - started;
    const { client, target } = this.sentinel;
    await this.cluster.dataplane.until(this.sentinelDenied ? 'denied' : 'allowed', client, 'tcp', target.ip, 80, SYNC_MS);
    this.timings.syncMs += performance.now() - written;
  }

  /** Server-side apply, the request `kubectl apply --server-side --force-conflicts` makes for each object. */
  private async apply(resource: (typeof RESOURCES)['namespaces' | 'networkPolicies'], object: Namespace | NetworkPolicy): Promise<void> {
    await this.cluster.dataplane.api.request({
      method: 'PATCH',
      path: resourcePath(resource, { namespace: object.metadata.namespace, name: object.metadata.name }),
      query: { fieldManager: FIELD_MANAGER, force: true },
      contentType: 'application/apply-patch+yaml',
      body: object,
    });
  }

  /**
   * The case's pods: a staged pod that fits is relabelled, any other is made. A staged pod the
   * case has no use for stays (as a bystander, which no probe involves) when a later case can
   * use it, and is deleted otherwise.
   */
  private async placePods(c: UpstreamCase): Promise<void> {
    const dp = this.cluster.dataplane;
    const portsMatter = namesPorts(c);
    const later = this.cases.slice(this.cases.indexOf(c) + 1);
    const wanted = new Map(c.pods.map((p) => [keyOf(p), p] as const));
    const keep = (key: string, s: StagedPod): boolean => {
      const p = wanted.get(key);
      if (p) return fits(s, p, portsMatter);
      return later.some((l) => l.pods.some((lp) => keyOf(lp) === key && fits(s, lp, namesPorts(l))));
    };
    const leaving = [...this.staged].filter(([key, s]) => !keep(key, s));
    for (const [key] of leaving) this.staged.delete(key);
    await Promise.all(leaving.map(([, s]) => dp.deletePod(s.pod)));
    const made: DataplanePod[] = [];
    await Promise.all(
      [...wanted].map(async ([key, p]) => {
        const labels = p.labels ?? {};
        const kept = this.staged.get(key);
        if (kept) {
          const patch: Record<string, string | null> = { ...labels };
          for (const old of Object.keys(kept.labels)) if (!(old in labels)) patch[old] = null;
          if (JSON.stringify(Object.entries(kept.labels).sort()) !== JSON.stringify(Object.entries(labels).sort())) await dp.relabelPod(kept.pod, patch);
          kept.labels = labels;
          return;
        }
        const ports = containerPortsOf(p);
        const pod = await dp.addPod({ namespace: p.namespace, name: p.name, labels, ports, alsoServe: this.served.get(key) ?? [], ...(p.ip ? { ip: p.ip } : {}) });
        this.staged.set(key, { address: p.ip, ports: JSON.stringify(ports), labels, pod });
        made.push(pod);
      }),
    );
    this.timings.podsMade += made.length;
  }

  private sentinelPolicy(): NetworkPolicy {
    const spec = { podSelector: { matchLabels: { role: 'target' } }, policyTypes: ['Ingress' as const] };
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'sentinel', namespace: SENTINEL_NAMESPACE },
      spec: this.sentinelDenied ? spec : { ...spec, ingress: [{}] },
    };
  }

  private route(e: CaseExpectation): Route {
    const from = parseEndpoint(e.from);
    const to = parseEndpoint(e.to);
    const podOf = (end: Endpoint & { kind: 'pod' }): DataplanePod => {
      const staged = this.staged.get(keyOf(end));
      if (!staged) throw new Error(`no pod ${keyOf(end)} on the dataplane`);
      return staged.pod;
    };
    return {
      source: from.kind === 'pod' ? podOf(from).agent : this.outside,
      options: from.kind === 'pod' ? {} : { from: from.ip },
      host: to.kind === 'pod' ? podOf(to).ip : to.ip,
      peer: to.kind === 'pod' ? keyOf(to) : this.outside.name,
      proto: e.protocol === 'UDP' ? 'udp' : 'tcp',
      port: e.port,
    };
  }

  /** One fresh probe's verdict; a connection answered by another listener than the destination's is broken. */
  private async packets(route: Route, timeoutMs: number): Promise<{ packets: Packets; result: ProbeResult }> {
    const result = await route.source.probe(route.proto, route.host, route.port, { ...route.options, timeoutMs });
    if (result.outcome === 'connected') return { packets: result.peer === route.peer ? 'allowed' : 'broken', result };
    if (verdictOf(result) === 'denied') return { packets: 'denied', result };
    return { packets: 'broken', result };
  }

  /** Fresh probes every 25 ms until the verdict is `want` or `boundMs` passed. */
  private async converge(route: Route, want: Verdict, boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs;
    while ((await this.packets(route, 500)).packets !== want && performance.now() < deadline) await sleep(25);
  }

  /** The final pass's verdict: a denial needs the node's control probe to reach the same listener. */
  private async confirm(route: Route): Promise<{ packets: Packets; detail?: string }> {
    const { packets, result } = await this.packets(route, 1000);
    if (packets === 'broken') return { packets, detail: `${result.outcome}${result.peer ? ` from ${result.peer}` : ''}${result.detail ? `: ${result.detail}` : ''}` };
    if (packets === 'allowed') return { packets };
    const control = await this.cluster.dataplane.nodeAgent.probe(route.proto, route.host, route.port);
    if (control.outcome === 'connected' && control.peer === route.peer) return { packets, detail: result.outcome };
    return { packets: 'broken', detail: `denied (${result.outcome}) but the node's control probe got ${control.outcome}${control.peer ? ` from ${control.peer}` : ''}` };
  }

  /** Stages the case, asks explain about every probe, converges, then the final pass. */
  async play(c: UpstreamCase): Promise<ProbeRecord[]> {
    await this.stage(c);
    const records: ProbeRecord[] = c.expectations.map((expectation) => {
      const skipped = skipOf(expectation);
      return { case: c.name, expectation, ...(skipped ? { skipped } : {}) };
    });
    const live = records.filter((r) => !r.skipped);
    const kubeconfig = this.cluster.plane.adminKubeconfig;
    const explained = performance.now();
    await inChunks(live, EXPLAIN_CHUNK, async (r) => {
      const e = r.expectation;
      const end = (text: string): string => (text.startsWith('ip:') ? text.slice(3) : text);
      r.explain = await explainLive(kubeconfig, end(e.from), end(e.to), e.port, e.protocol === 'UDP' ? 'udp' : 'tcp');
    });
    const probed = performance.now();
    this.timings.explainMs += probed - explained;
    await inChunks(live, PROBE_CHUNK, (r) => this.converge(this.route(r.expectation), r.explain!, CONVERGE_MS));
    await inChunks(live, PROBE_CHUNK, async (r) => Object.assign(r, await this.confirm(this.route(r.expectation))));
    this.timings.probeMs += performance.now() - probed;
    return records;
  }
}
