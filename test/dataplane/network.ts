/**
 * The dataplane's network, made of network namespaces and nothing else: no address, link,
 * route or rule is added to the machine's root namespace, and no packet leaves the
 * namespaces made here (the only way out of the node is the `outside` namespace, which
 * routes nowhere).
 *
 *   pod netns (eth0 10.0.x.y/16) ── veth ──┐
 *   pod netns ─────────────────── veth ────┤ bridge nf0 10.0.255.254/16   node netns
 *                                          │ (kube-router's iptables and ipsets live here)
 *                      outside netns ── veth 172.31.255.1/30 ── default route of the node
 *                      (93.184.216.34, 169.254.169.254, 192.168.77.7, and any source
 *                       address a probe asks for)
 *
 * Guarantees: every namespace made is recorded in `<dir>/state.json` before it is made, and a
 * watchdog (cleanup.ts) deletes them and kills what runs in them within a second of the owning
 * process dying, however it dies; `destroy()` does the same at once. Every probe is bounded in
 * time by the agent that runs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CLEANUP_SCRIPT, RUN_TS, cleanUp, startTimeOf, pidsIn, removeNamespaces, writeState, type DataplaneState } from './cleanup.js';

/** Pods get addresses in POD_CIDR; the node's address is the bridge's and its InternalIP. */
export const POD_CIDR = '10.0.0.0/16';
export const POD_PREFIX_LENGTH = 16;
export const NODE_IP = '10.0.255.254';
/** Addresses the outside namespace answers on: a public one, the cloud metadata endpoint, a private one outside the cluster. */
export const PUBLIC_ADDRESS = '93.184.216.34';
export const METADATA_ADDRESS = '169.254.169.254';
export const PRIVATE_OUTSIDE_ADDRESS = '192.168.77.7';
const NODE_OUTSIDE_IP = '172.31.255.1';
const OUTSIDE_IP = '172.31.255.2';

const AGENT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'agent.ts');
const READY_TIMEOUT_MS = 15_000;

export type Proto = 'tcp' | 'udp';
export type Outcome = 'connected' | 'refused' | 'timed-out' | 'unreachable' | 'broken';

export interface Listener {
  proto: Proto;
  /** Default: every address of the namespace (0.0.0.0). */
  host?: string;
  port: number;
}

export interface ProbeResult {
  outcome: Outcome;
  /** The name of the agent whose listener answered (`connected` only). */
  peer?: string;
  detail?: string;
  ms: number;
}

export interface ProbeOptions {
  timeoutMs?: number;
  /** The local address to send from (the outside namespace sends from any address it holds). */
  from?: string;
}

/** `ip ...` in the root namespace or, with `netns`, inside it; throws with its stderr on failure. */
export function ip(args: readonly string[], netns?: string): string {
  const argv = netns ? ['-n', netns, ...args] : [...args];
  const result = spawnSync('ip', argv, { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`ip ${argv.join(' ')}: ${(result.stderr || String(result.error)).trim()}`);
  return result.stdout;
}

/** A command inside a namespace, synchronously; throws with its stderr on failure. */
export function inNetns(netns: string, argv: readonly string[], timeoutMs = 10_000): string {
  const result = spawnSync('ip', ['netns', 'exec', netns, ...argv], { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) throw new Error(`in ${netns}: ${argv.join(' ')}: ${(result.stderr || String(result.error)).trim()}`);
  return result.stdout;
}

/** A process that runs in one namespace and answers probes from there (agent.ts). */
export class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, (result: ProbeResult) => void>();
  private exited = false;

  private constructor(
    readonly name: string,
    readonly netns: string,
    readonly process: ChildProcess,
  ) {}

  static async start(netns: string, name: string, listeners: readonly Listener[]): Promise<Agent> {
    const spec = listeners.map((l) => ({ proto: l.proto, host: l.host ?? '0.0.0.0', port: l.port }));
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT_SCRIPT, name, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const agent = new Agent(name, netns, child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent ${name} in ${netns}: not ready after ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent ${name} in ${netns} exited (${code}): ${stderr}`));
      });
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { ready?: boolean; error?: string; id?: number } & ProbeResult;
        if (message.ready === true) {
          clearTimeout(timer);
          resolve();
        } else if (message.ready === false) {
          clearTimeout(timer);
          reject(new Error(`agent ${name} in ${netns}: ${message.error}`));
        } else if (message.id !== undefined) {
          const settle = agent.pending.get(message.id);
          agent.pending.delete(message.id);
          const { id: _id, ...result } = message;
          settle?.(result);
        }
      });
    });
    child.once('exit', () => {
      agent.exited = true;
      for (const settle of agent.pending.values()) settle({ outcome: 'broken', detail: `agent ${name} exited`, ms: 0 });
      agent.pending.clear();
    });
    await ready;
    return agent;
  }

  /** One fresh connection (TCP) or datagram (UDP) to host:port, bounded by timeoutMs. */
  probe(proto: Proto, host: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult> {
    if (this.exited) return Promise.resolve({ outcome: 'broken', detail: `agent ${this.name} is gone`, ms: 0 });
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? 1000;
    return new Promise((resolve) => {
      // The agent bounds the probe; this bounds the agent (a wedged agent is `broken`).
      const guard = setTimeout(() => {
        this.pending.delete(id);
        resolve({ outcome: 'broken', detail: `agent ${this.name} did not answer within ${timeoutMs + 2000} ms`, ms: timeoutMs + 2000 });
      }, timeoutMs + 2000);
      this.pending.set(id, (result) => {
        clearTimeout(guard);
        resolve(result);
      });
      this.process.stdin?.write(JSON.stringify({ id, proto, host, port, timeoutMs, ...(options.from ? { from: options.from } : {}) }) + '\n');
    });
  }

  stop(): void {
    this.process.stdin?.end();
    this.process.kill('SIGKILL');
  }
}

export interface PodInterface {
  netns: string;
  ip: string;
}

/**
 * The namespaces and links. `create` makes the node and the outside; `addPod` a pod's
 * namespace with its address; `destroy` removes everything.
 */
export class Network {
  private readonly pods = new Map<string, PodInterface>();
  private nextLink = 0;
  private destroyed = false;
  private readonly onExit = (): void => this.destroy();

  private constructor(
    readonly state: DataplaneState,
    readonly runId: string,
  ) {}

  get dir(): string {
    return this.state.dir;
  }
  get nodeNetns(): string {
    return `nf-${this.runId}-node`;
  }
  get outsideNetns(): string {
    return `nf-${this.runId}-outside`;
  }

  static create(): Network {
    const dir = mkdtempSync(join(tmpdir(), 'netfence-dataplane-'));
    const runId = dir
      .slice(-6)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0');
    const network = new Network({ version: 1, dir, namespaces: [], processes: [] }, runId);
    writeState(network.state);
    const watchdog = spawn(process.execPath, [RUN_TS, CLEANUP_SCRIPT, '--watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' });
    watchdog.unref();
    network.state.watchdogPid = watchdog.pid;
    writeState(network.state);
    process.once('exit', network.onExit);
    try {
      network.makeNode();
      network.makeOutside();
    } catch (error) {
      network.destroy();
      throw error;
    }
    return network;
  }

  /** Records a process of the root namespace, for cleanup after a crash. */
  recordProcess(name: string, child: ChildProcess): void {
    const startTime = child.pid === undefined ? undefined : startTimeOf(child.pid);
    if (child.pid === undefined || startTime === undefined) return;
    this.state.processes.push({ name, pid: child.pid, startTime });
    writeState(this.state);
  }

  private addNetns(name: string): void {
    this.state.namespaces.push(name);
    writeState(this.state);
    ip(['netns', 'add', name]);
    ip(['link', 'set', 'lo', 'up'], name);
  }

  private link(): string {
    return `nf${this.runId}${(this.nextLink++).toString(36)}`;
  }

  private makeNode(): void {
    const node = this.nodeNetns;
    this.addNetns(node);
    ip(['link', 'add', 'nf0', 'type', 'bridge'], node);
    ip(['addr', 'add', `${NODE_IP}/${POD_PREFIX_LENGTH}`, 'dev', 'nf0'], node);
    ip(['link', 'set', 'nf0', 'up'], node);
    // A router whose bridged traffic meets iptables (kube-router's physdev rules expect it),
    // and whose REJECTs are never rate limited into silence: per destination (about 3 in 10
    // rapid ones would time out) nor all together (a burst of 50 by default, which probes run
    // at once exceed).
    inNetns(node, [
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv4.icmp_msgs_per_sec=1000000',
      'net.ipv4.icmp_msgs_burst=1000000',
    ]);
  }

  private makeOutside(): void {
    const node = this.nodeNetns;
    const outside = this.outsideNetns;
    this.addNetns(outside);
    const nodeEnd = this.link();
    ip(['link', 'add', nodeEnd, 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
    ip(['addr', 'add', `${NODE_OUTSIDE_IP}/30`, 'dev', nodeEnd], node);
    ip(['link', 'set', nodeEnd, 'up'], node);
    ip(['addr', 'add', `${OUTSIDE_IP}/30`, 'dev', 'eth0'], outside);
    ip(['link', 'set', 'eth0', 'up'], outside);
    for (const address of [PUBLIC_ADDRESS, METADATA_ADDRESS, PRIVATE_OUTSIDE_ADDRESS]) this.addOutsideAddress(address);
    ip(['route', 'add', POD_CIDR, 'via', NODE_OUTSIDE_IP], outside);
    ip(['route', 'add', 'default', 'via', OUTSIDE_IP], node);
  }

  /** One more address the outside namespace holds (and can send from). */
  addOutsideAddress(address: string): void {
    ip(['addr', 'replace', `${address}/32`, 'dev', 'lo'], this.outsideNetns);
  }

  /** A pod's namespace: eth0 with `address`, on the node's bridge, routed through the node. */
  addPod(key: string, address: string): PodInterface {
    if (this.pods.has(key)) throw new Error(`pod ${key} exists`);
    const netns = `nf-${this.runId}-p${this.pods.size}-${key.replace(/[^a-z0-9-]/gi, '-')}`.slice(0, 60);
    this.addNetns(netns);
    const nodeEnd = this.link();
    ip(['link', 'add', nodeEnd, 'netns', this.nodeNetns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    ip(['link', 'set', nodeEnd, 'master', 'nf0', 'up'], this.nodeNetns);
    ip(['addr', 'add', `${address}/${POD_PREFIX_LENGTH}`, 'dev', 'eth0'], netns);
    // A pod made again at an address another pod had: announce the new MAC when the link comes
    // up, so that the node and the other pods do not keep sending to the old one for seconds.
    inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv4.conf.eth0.arp_notify=1']);
    ip(['link', 'set', 'eth0', 'up'], netns);
    ip(['route', 'add', 'default', 'via', NODE_IP], netns);
    const pod = { netns, ip: address };
    this.pods.set(key, pod);
    return pod;
  }

  /** Ends what runs in a pod's namespace and deletes it. */
  removePod(key: string): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    removeNamespaces([pod.netns]);
    ip(['neigh', 'flush', 'to', pod.ip], this.nodeNetns);
    this.pods.delete(key);
    this.state.namespaces = this.state.namespaces.filter((n) => n !== pod.netns);
    writeState(this.state);
  }

  /** Processes that run in the namespaces made here, for the "nothing left behind" check. */
  processCount(): number {
    return this.state.namespaces.reduce((sum, name) => sum + pidsIn(name).length, 0);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    cleanUp(this.state);
  }
}
