/**
 * What the e2e suite sends through the network, and how it tells the outcomes apart.
 *
 * Workloads:
 * - probe pods (`server` and `client` in each namespace under test): agnhost serving HTTP on
 *   8080, Ready once the port accepts connections. Connections are tried from inside `client`
 *   with `kubectl exec ... /agnhost connect`, so the traffic leaves a real pod interface and
 *   meets the CNI's policy enforcement;
 * - a fake cloud: a host-network DaemonSet that puts the cloud metadata address
 *   (169.254.169.254) and a public address (93.184.216.34; the internet peer leaves the
 *   documentation ranges out, so a TEST-NET address would not do) on each node's
 *   loopback and listens on 80 and 443 there. kind has no metadata server; without a listener a
 *   refused connection would prove nothing. Pods reach node-local addresses through the node,
 *   so every node must carry them, hence a DaemonSet.
 *
 * Outcomes of one attempt: `connected` (agnhost exited 0), `timed-out` (agnhost said TIMEOUT:
 * the packets were dropped, which is how Calico enforces a deny), `refused` (something
 * answered with a reset: the path is open, or the listener is missing), `broken` (kubectl or
 * the probe itself failed; says nothing about the network). Only `timed-out` counts as blocked
 * and only `connected` as reachable, so a broken probe can never make an assertion pass.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { describeResult, kubectl, sleep } from './cluster.js';

/** Kubernetes' own e2e test image: agnhost (netexec, connect), sh, ip, dig, curl. */
export const AGNHOST_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53';
/** The port the probe pods serve HTTP on. */
export const PROBE_PORT = 8080;
/** The cloud metadata endpoint: every generated CIDR allow excludes it unless a peer opts in. */
export const METADATA_ADDRESS = '169.254.169.254';
/** A public address the fake cloud also answers on (a documentation range would be outside the internet peer). */
export const PUBLIC_ADDRESS = '93.184.216.34';
/** The probe pods' container name, for kubectl exec. */
export const PROBE_CONTAINER = 'agnhost';
export const PROBE_LABELS = { 'app.kubernetes.io/name': 'netfence-e2e-probe' } as const;

/** A Pod the suite applies: apiVersion, kind, metadata and a spec. */
export type Manifest = KubernetesObject & { spec: Record<string, unknown> };

/** A probe pod: agnhost netexec on 8080 (HTTP) and 8081 (UDP), unprivileged, no capabilities. */
export function probePod(namespace: string, name: 'server' | 'client'): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { ...PROBE_LABELS, 'netfence-e2e/role': name } },
    spec: {
      terminationGracePeriodSeconds: 1,
      enableServiceLinks: false,
      containers: [
        {
          name: PROBE_CONTAINER,
          image: AGNHOST_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          args: ['netexec', `--http-port=${PROBE_PORT}`, '--udp-port=8081'],
          ports: [{ name: 'http', containerPort: PROBE_PORT, protocol: 'TCP' }],
          // A TCP check: netexec's /healthz follows its UDP server, not the HTTP one.
          readinessProbe: { tcpSocket: { port: PROBE_PORT }, periodSeconds: 2, failureThreshold: 3 },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
    },
  };
}

export const FAKE_CLOUD_NAME = 'fake-cloud';

/**
 * The fake cloud DaemonSet. An init container adds the two addresses to the node's loopback
 * (`ip addr replace` is idempotent, so a rerun on the same cluster is fine); two netexec
 * servers share the node's network namespace, one on 80 and one on 443, with their UDP
 * servers off so they do not both claim 8081. The first one's preStop hook removes the
 * addresses again when the DaemonSet or its namespace is deleted.
 */
export function fakeCloudDaemonSet(namespace: string): Manifest {
  const addresses = [`${METADATA_ADDRESS}/32`, `${PUBLIC_ADDRESS}/32`];
  const add = `set -e; for a in ${addresses.join(' ')}; do ip addr replace "$a" dev lo; done; ip -o addr show dev lo`;
  const remove = `for a in ${addresses.join(' ')}; do ip addr del "$a" dev lo 2>/dev/null; done; true`;
  const labels = { 'app.kubernetes.io/name': FAKE_CLOUD_NAME };
  const server = (port: number): Record<string, unknown> => ({
    name: `http-${port}`,
    image: AGNHOST_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    args: ['netexec', `--http-port=${port}`, '--udp-port=-1'],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 3 },
    // Privileged for the preStop hook's `ip addr del` in the node's network namespace.
    securityContext: { privileged: true },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: FAKE_CLOUD_NAME, namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          terminationGracePeriodSeconds: 5,
          enableServiceLinks: false,
          // Every node, control plane included: pods reach these addresses on their own node.
          tolerations: [{ operator: 'Exists' }],
          initContainers: [{ name: 'addresses', image: AGNHOST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', add], securityContext: { privileged: true } }],
          containers: [{ ...server(80), lifecycle: { preStop: { exec: { command: ['sh', '-c', remove] } } } }, server(443)],
        },
      },
    },
  };
}

/** Where a connection starts: a probe pod's container. */
export interface Client {
  namespace: string;
  pod: string;
}

/** Where a connection goes, with a name for messages. */
export interface Target {
  name: string;
  host: string;
  port: number;
}

export type Verdict = 'connected' | 'timed-out' | 'refused' | 'broken';

export interface Attempt {
  verdict: Verdict;
  /** How kubectl and agnhost ended, for messages. */
  detail: string;
}

const label = (client: Client, target: Target): string => `${client.namespace}/${client.pod} -> ${target.name} (${target.host}:${target.port})`;

/** One TCP connection attempt from `client` to `target`, with a 3 s connect timeout. */
export async function tryConnect(context: string, client: Client, target: Target): Promise<Attempt> {
  const result = await kubectl(
    context,
    ['exec', '-n', client.namespace, client.pod, '-c', PROBE_CONTAINER, '--', '/agnhost', 'connect', `${target.host}:${target.port}`, '--timeout=3s', '--protocol=tcp'],
    { timeoutMs: 30_000 },
  );
  const detail = describeResult(result);
  if (result.timedOut) return { verdict: 'broken', detail };
  if (result.code === 0) return { verdict: 'connected', detail };
  // agnhost prints one of TIMEOUT, REFUSED, DNS, OTHER, UNKNOWN at the start of a line; kubectl
  // adds "command terminated with exit code 1". Anything else means kubectl itself failed.
  if (/^TIMEOUT\b/m.test(result.stderr)) return { verdict: 'timed-out', detail };
  if (/^REFUSED\b/m.test(result.stderr)) return { verdict: 'refused', detail };
  return { verdict: 'broken', detail };
}

/**
 * Asserts that `client` reaches `target`: retries for a while, because a CNI programs policy
 * asynchronously and a server may still be starting. Fails with every attempt's outcome.
 */
export async function expectConnects(context: string, client: Client, target: Target, options: { attempts?: number; delayMs?: number } = {}): Promise<void> {
  const attempts = options.attempts ?? 10;
  const delayMs = options.delayMs ?? 2_000;
  const seen: Attempt[] = [];
  for (let i = 0; i < attempts; i++) {
    const attempt = await tryConnect(context, client, target);
    if (attempt.verdict === 'connected') return;
    seen.push(attempt);
    if (i < attempts - 1) await sleep(delayMs);
  }
  throw new Error(`expected ${label(client, target)} to connect, but ${attempts} attempts failed:\n${seen.map((a, i) => `#${i + 1} ${a.verdict}: ${a.detail}`).join('\n')}`);
}

/**
 * Asserts that `client` cannot reach `target`: `times` attempts in a row must time out (the
 * packets dropped). A connection or a refusal fails at once; a broken probe (kubectl could not
 * exec) is retried a few times and then fails, never counting as blocked.
 */
export async function expectBlocked(context: string, client: Client, target: Target, options: { times?: number } = {}): Promise<void> {
  const times = options.times ?? 2;
  let blocked = 0;
  let broken = 0;
  const seen: Attempt[] = [];
  while (blocked < times) {
    const attempt = await tryConnect(context, client, target);
    seen.push(attempt);
    switch (attempt.verdict) {
      case 'timed-out':
        blocked++;
        break;
      case 'connected':
        throw new Error(`expected ${label(client, target)} to be blocked, but it connected:\n${attempt.detail}`);
      case 'refused':
        throw new Error(
          `expected ${label(client, target)} to be blocked (dropped), but the connection was refused, so the packets got through to a host without that listener:\n${attempt.detail}`,
        );
      case 'broken':
        if (++broken > 3) throw new Error(`could not probe ${label(client, target)}; the probe itself failed:\n${seen.map((a) => `${a.verdict}: ${a.detail}`).join('\n')}`);
        await sleep(1_000);
        break;
    }
  }
}
