/**
 * The examples on the dataplane: their manifests split as `kubectl apply` and a kubelet would
 * see them, and a runner for tables of probes that checks each one twice, against the
 * verdict the table expects (on packets) and against what `netfence explain --live` predicts
 * for the same path.
 *
 * Guarantees
 * - `readExamples` takes every Pod the example files declare, once: a pod declared in two files
 *   must carry the same labels there, and the same container ports where both declare some
 *   (a declaration without a spec, as in examples/shared-services, takes the other's), or it throws.
 * - `probeRows` runs a table's rows concurrently; an allow must reach the listener of the pod
 *   (or the outside agent) it names, a denial is paired with the node's control (support/probes.ts).
 *   Every row lands in the ledger with the verdict seen on packets and the one explain gave,
 *   also when its packet assertion fails; then it throws one error listing every failed row.
 *
 * Caveats
 * - A row whose FROM is an IP address is sent by the outside agent from that address, which
 *   the outside namespace must hold.
 * - After a failed packet assertion the verdict recorded is that of one more fresh probe.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { readManifestFolder } from '../../e2e/support/cluster.js';
import { verdictOf, type Dataplane, type DataplanePod, type PodPort, type PodSpec } from '../dataplane.js';
import type { Agent, ProbeOptions, Proto } from '../network.js';
import { readManifests } from '../../integration/support/cluster.js';
import { explainLive, type Verdict } from './predict.js';
import { expectBlocked, expectReaches, type Source } from './probes.js';

export interface Examples {
  /** Namespaces, in file order (kube-system included: every example declares it). */
  namespaces: KubernetesObject[];
  tenants: KubernetesObject[];
  /** The pods the examples declare, without their status: the dataplane gives addresses. */
  pods: PodSpec[];
}

interface ManifestPod extends KubernetesObject {
  spec?: { containers?: { ports?: { name?: string; containerPort: number; protocol?: PodPort['protocol'] }[] }[] };
}

function podOf(object: ManifestPod): PodSpec {
  const ports = (object.spec?.containers ?? [])
    .flatMap((c) => c.ports ?? [])
    .map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
  return { namespace: object.metadata?.namespace ?? 'default', name: object.metadata?.name ?? '', labels: { ...(object.metadata?.labels ?? {}) }, ports };
}

/** The objects of example folders and files, as `kubectl apply -f` reads them. */
export function readExamples(folders: readonly string[], files: readonly string[]): Examples {
  const objects = [...folders.flatMap(readManifestFolder), ...files.flatMap(readManifests)];
  const pods = new Map<string, PodSpec>();
  for (const object of objects.filter((o) => o.kind === 'Pod')) {
    const pod = podOf(object);
    const key = `${pod.namespace}/${pod.name}`;
    const seen = pods.get(key);
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    if (seen && (!same(seen.labels, pod.labels) || (seen.ports.length > 0 && pod.ports.length > 0 && !same(seen.ports, pod.ports)))) {
      throw new Error(`the examples declare pod ${key} twice, differently: ${JSON.stringify(seen)} and ${JSON.stringify(pod)}`);
    }
    if (!seen || seen.ports.length === 0) pods.set(key, pod);
  }
  return { namespaces: objects.filter((o) => o.kind === 'Namespace'), tenants: objects.filter((o) => o.kind === 'TenantIsolation'), pods: [...pods.values()] };
}

/** A multi-document stream for `kubectl apply -f -`. */
export function manifestStream(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

/** One probe and its expected verdict. FROM and TO as explain takes them: ns/pod, or an IP address outside the cluster. */
export interface Row {
  from: string;
  to: string;
  proto: Proto;
  port: number;
  expect: Verdict;
  why: string;
}

export const allow = (from: string, to: string, proto: Proto, port: number, why: string): Row => ({ from, to, proto, port, expect: 'allowed', why });
export const deny = (from: string, to: string, proto: Proto, port: number, why: string): Row => ({ from, to, proto, port, expect: 'denied', why });

export const describeRow = (r: Row): string => `${r.from} -> ${r.to} ${r.proto}/${r.port}`;

export interface Observation {
  row: Row;
  /** On packets. */
  observed: 'allowed' | 'denied' | 'broken';
  /** By `netfence explain --live`, asked while the probe ran. */
  predicted: Verdict;
}

export interface ProbeContext {
  dataplane: Dataplane;
  kubeconfig: string;
  pods: ReadonlyMap<string, DataplanePod>;
  outside: Agent;
  ledger: Observation[];
}

const isAddress = (endpoint: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(endpoint);

function podNamed(c: ProbeContext, key: string): DataplanePod {
  const pod = c.pods.get(key);
  if (!pod) throw new Error(`no dataplane pod ${key}`);
  return pod;
}

const sourceOf = (c: ProbeContext, from: string): Source => (isAddress(from) ? c.outside : podNamed(c, from));
/** A row whose FROM is an address is sent from it. */
const optionsOf = (from: string): ProbeOptions | undefined => (isAddress(from) ? { from } : undefined);
const hostOf = (c: ProbeContext, to: string): string => (isAddress(to) ? to : podNamed(c, to).ip);
/** The agent whose listener must answer an allowed probe. */
const peerOf = (c: ProbeContext, to: string): string => (isAddress(to) ? c.outside.name : to);

/** One row on packets and in explain; resolves to a failure message, or undefined. */
async function probeRow(c: ProbeContext, r: Row): Promise<string | undefined> {
  const source = sourceOf(c, r.from);
  const host = hostOf(c, r.to);
  const options = optionsOf(r.from);
  const onPackets = (
    r.expect === 'allowed'
      ? expectReaches(c.dataplane, source, r.proto, host, r.port, peerOf(c, r.to), options)
      : expectBlocked(c.dataplane, source, r.proto, host, r.port, options, peerOf(c, r.to))
  ).then(
    (result) => ({ observed: verdictOf(result), failure: undefined }),
    async (error: unknown) => ({ observed: verdictOf(await c.dataplane.probe(source, r.proto, host, r.port, options)), failure: (error as Error).message }),
  );
  const [packets, predicted] = await Promise.all([onPackets, explainLive(c.kubeconfig, r.from, r.to, r.port, r.proto)]);
  c.ledger.push({ row: r, observed: packets.observed, predicted });
  return packets.failure === undefined ? undefined : `${describeRow(r)} should be ${r.expect} (${r.why}): ${packets.failure}`;
}

/** Every row at once; throws one error naming each row whose packets disagreed with the table. */
export async function probeRows(c: ProbeContext, rows: readonly Row[]): Promise<void> {
  const failures = (await Promise.all(rows.map((r) => probeRow(c, r)))).filter((f): f is string => f !== undefined);
  if (failures.length > 0) throw new Error(`${failures.length} of ${rows.length} probes went against the table:\n${failures.join('\n')}`);
}
