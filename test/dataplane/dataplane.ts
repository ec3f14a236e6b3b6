/**
 * A one-node cluster's dataplane beside the test control plane, without Docker or a kubelet:
 * kube-router's network policy controller enforces NetworkPolicies with iptables and ipsets
 * in a network namespace that plays the node, and pods are network namespaces on its bridge
 * (see network.ts for the wiring). This module plays the kubelet: it creates the Node object
 * before kube-router starts, and for each pod the Pod object (bound to the node, with its
 * container ports), the namespace with its address, an agent serving the pod's ports on TCP
 * and UDP, and the status a kubelet would report (podIP, hostIP, phase Running).
 *
 * kube-router reaches the API server, which listens on 127.0.0.1 in the root namespace,
 * through a unix socket bridged by two socat processes (root: UNIX-LISTEN -> the API port;
 * node: 127.0.0.1:the API port -> the socket), so kubeconfigs and the serving certificate stay
 * as they are and no link joins the node namespace to the root one.
 *
 * Guarantees: `start` resolves once kube-router answers its health check and has written its
 * chains; `stop` (or the watchdog, after a crash) leaves nothing behind. Caveats (what this is
 * not): one node, IPv4 only, no Services or kube-proxy, no SCTP (the kernel has no SCTP
 * sockets), and kube-router's own behaviours (see README.md: denials are REJECTs, a pod's
 * traffic to itself is never filtered, node-local sources always reach pods).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { isApiError, kubeClient, resourcePath, type KubeClient } from '../../src/kube/client.js';
import { Agent, inNetns, Network, NODE_IP, type Listener, type Outcome, type ProbeOptions, type ProbeResult, type Proto } from './network.js';

export const NODE_NAME = 'dataplane-node';
/** The control plane's --service-cluster-ip-range. */
const SERVICE_CIDR = '10.0.0.0/24';
const HEALTH_PORT = 20244;
const POD_RESOURCE = { group: '', version: 'v1', plural: 'pods', namespaced: true } as const;
const NODE_RESOURCE = { group: '', version: 'v1', plural: 'nodes', namespaced: false } as const;

export interface PodPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Declared as container ports (named ports resolve against them) and served on TCP and UDP. */
  ports: PodPort[];
  /** Extra ports served but not declared. */
  alsoServe?: number[];
  ip?: string;
}

export interface DataplanePod {
  namespace: string;
  name: string;
  ip: string;
  agent: Agent;
}

export interface StartOptions {
  kubeRouter: string;
  /** An identity that may read nodes, pods, namespaces, networkpolicies, services, endpoints(lices) and write pods/status. */
  admin: KubeConfig;
  adminKubeconfigFile: string;
  /** https://127.0.0.1:PORT of the API server. */
  server: string;
  log?: (line: string) => void;
}

/**
 * `connected` reaches; `refused` is a denial: kube-router REJECTs every packet it denies, and
 * the node never rate-limits the ICMP that says so (network.ts). It never drops one, so a
 * timeout here is the harness's fault (a route, a neighbour), not a denial, and proves
 * nothing, as `unreachable` and `broken` do. (The kind suite, on Calico, counts timeouts.)
 */
export function verdictOf(result: ProbeResult): 'allowed' | 'denied' | 'broken' {
  if (result.outcome === 'connected') return 'allowed';
  if (result.outcome === 'refused') return 'denied';
  return 'broken';
}

export class Dataplane {
  private readonly pods = new Map<string, DataplanePod>();
  private nextAddress = 0;
  private outsideAgent: Agent | undefined;
  /**
   * An agent in the node namespace, without listeners: the control of every denial. Kubernetes
   * lets the node reach its pods whatever the policies say, and kube-router does, so a node probe
   * that connects proves the listener a denied probe aimed at is up.
   */
  nodeAgent!: Agent;

  private constructor(
    readonly network: Network,
    readonly api: KubeClient,
    private readonly kubeRouter: ChildProcess,
    readonly kubeRouterLog: () => string,
  ) {}

  static async start(options: StartOptions): Promise<Dataplane> {
    const log = options.log ?? (() => undefined);
    const started = Date.now();
    const network = Network.create();
    try {
      const api = kubeClient(options.admin);
      const port = new URL(options.server).port;
      const socket = `${network.dir}/apiserver.sock`;
      const rootBridge = spawn('socat', [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' });
      network.recordProcess('socat (root side)', rootBridge);
      spawn('ip', ['netns', 'exec', network.nodeNetns, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`], { stdio: 'ignore' });

      await api
        .request({
          method: 'POST',
          path: resourcePath(NODE_RESOURCE),
          body: { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } },
        })
        .catch((error: unknown) => {
          if (!isApiError(error, 409)) throw error;
        });

      let output = '';
      const kubeRouter = spawn(
        'ip',
        [
          'netns',
          'exec',
          network.nodeNetns,
          options.kubeRouter,
          '--run-firewall=true',
          '--run-router=false',
          '--run-service-proxy=false',
          `--kubeconfig=${options.adminKubeconfigFile}`,
          `--hostname-override=${NODE_NAME}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          `--health-port=${HEALTH_PORT}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-200_000);
      };
      kubeRouter.stdout?.on('data', keep);
      kubeRouter.stderr?.on('data', keep);
      const dataplane = new Dataplane(network, api, kubeRouter, () => output);
      await dataplane.waitHealthy(30_000);
      dataplane.nodeAgent = await Agent.start(network.nodeNetns, 'node', []);
      log(`[dataplane] kube-router healthy in the node namespace ${Math.round((Date.now() - started) / 100) / 10} s after start`);
      return dataplane;
    } catch (error) {
      network.destroy();
      throw error;
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const check = `fetch('http://127.0.0.1:${HEALTH_PORT}/healthz').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))`;
    for (;;) {
      if (this.kubeRouter.exitCode !== null) throw new Error(`kube-router exited (${this.kubeRouter.exitCode}):\n${this.kubeRouterLog().slice(-4000)}`);
      let healthy: boolean;
      try {
        inNetns(this.network.nodeNetns, [process.execPath, '-e', check], 5000);
        healthy = /KUBE-ROUTER-FORWARD/.test(inNetns(this.network.nodeNetns, ['iptables', '-S', 'FORWARD']));
      } catch {
        healthy = false;
      }
      if (healthy) return;
      if (Date.now() > deadline) throw new Error(`kube-router not healthy after ${timeoutMs} ms:\n${this.kubeRouterLog().slice(-4000)}`);
      await sleep(200);
    }
  }

  private allocate(): string {
    const n = this.nextAddress++;
    return `10.0.${100 + Math.floor(n / 250)}.${1 + (n % 250)}`;
  }

  /** The Pod object, its namespace and agent, then the status a kubelet reports; resolves once the agent serves. */
  async addPod(spec: PodSpec): Promise<DataplanePod> {
    const key = `${spec.namespace}/${spec.name}`;
    const address = spec.ip ?? this.allocate();
    const containerPorts = spec.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.port, protocol: p.protocol ?? 'TCP' }));
    await this.api.request({
      method: 'POST',
      path: resourcePath(POD_RESOURCE, { namespace: spec.namespace }),
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels ?? {} },
        spec: { nodeName: NODE_NAME, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'netfence.dev/dataplane-agent', ports: containerPorts }] },
      },
    });
    const iface = this.network.addPod(key, address);
    const served = new Set([...spec.ports.filter((p) => p.protocol !== 'SCTP').map((p) => p.port), ...(spec.alsoServe ?? [])]);
    const listeners: Listener[] = [...served].flatMap((port) => [
      { proto: 'tcp' as const, port },
      // Bound to the pod's address, so that replies come from the address asked.
      { proto: 'udp' as const, port, host: address },
    ]);
    const agent = await Agent.start(iface.netns, key, listeners);
    await this.api.request({
      method: 'PATCH',
      path: resourcePath(POD_RESOURCE, { namespace: spec.namespace, name: spec.name, subresource: 'status' }),
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          hostIP: NODE_IP,
          hostIPs: [{ ip: NODE_IP }],
          podIP: address,
          podIPs: [{ ip: address }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      },
    });
    const pod = { namespace: spec.namespace, name: spec.name, ip: address, agent };
    this.pods.set(key, pod);
    return pod;
  }

  async relabelPod(pod: DataplanePod, labels: Record<string, string | null>): Promise<void> {
    await this.api.request({
      method: 'PATCH',
      path: resourcePath(POD_RESOURCE, { namespace: pod.namespace, name: pod.name }),
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels } },
    });
  }

  /** Force-deletes the Pod object (no kubelet would ever finish a graceful delete) and removes its namespace. */
  async deletePod(pod: DataplanePod): Promise<void> {
    await this.api
      .request({ method: 'DELETE', path: resourcePath(POD_RESOURCE, { namespace: pod.namespace, name: pod.name }), query: { gracePeriodSeconds: 0 } })
      .catch((error: unknown) => {
        if (!isApiError(error, 404)) throw error;
      });
    pod.agent.stop();
    this.network.removePod(`${pod.namespace}/${pod.name}`);
    this.pods.delete(`${pod.namespace}/${pod.name}`);
  }

  /**
   * The agent of the outside namespace, serving `ports` on TCP on every address it holds, and on
   * UDP at each of `udpAddresses` (bound one by one, so that replies come from the address
   * asked; add them with network.addOutsideAddress first, except the three it always holds).
   */
  async outside(ports: readonly number[], udpAddresses: readonly string[] = []): Promise<Agent> {
    if (this.outsideAgent) throw new Error('the outside agent is already running');
    this.outsideAgent = await Agent.start(this.network.outsideNetns, 'outside', [
      ...ports.map((port) => ({ proto: 'tcp' as const, port })),
      ...udpAddresses.flatMap((host) => ports.map((port) => ({ proto: 'udp' as const, host, port }))),
    ]);
    return this.outsideAgent;
  }

  probe(from: DataplanePod | Agent, proto: Proto, host: string, port: number, options?: ProbeOptions): Promise<ProbeResult> {
    const agent = from instanceof Agent ? from : from.agent;
    return agent.probe(proto, host, port, options);
  }

  /** Polls a fresh probe every 25 ms until its verdict is `want`; returns the milliseconds it took, or throws after timeoutMs. */
  async until(
    want: 'allowed' | 'denied',
    from: DataplanePod | Agent,
    proto: Proto,
    host: string,
    port: number,
    timeoutMs = 10_000,
    options: Omit<ProbeOptions, 'timeoutMs'> = {},
  ): Promise<number> {
    const started = performance.now();
    let last: ProbeResult | undefined;
    while (performance.now() - started < timeoutMs) {
      last = await this.probe(from, proto, host, port, { ...options, timeoutMs: 500 });
      if (verdictOf(last) === want) return Math.round(performance.now() - started);
      await sleep(25);
    }
    throw new Error(`${proto} ${host}:${port} not ${want} after ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
  }

  stop(): void {
    this.kubeRouter.kill('SIGKILL');
    this.network.destroy();
  }
}

export type { Outcome, ProbeResult, Proto };
