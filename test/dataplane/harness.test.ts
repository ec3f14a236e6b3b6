/**
 * The dataplane harness itself, and the behaviours of kube-router the other suites rely on or
 * work around:
 * - nothing is added to the machine's root network namespace (links, addresses, routes,
 *   iptables rules, ipsets), and a run killed with SIGKILL leaves nothing behind: its
 *   watchdog deletes its namespaces and kills what ran in them;
 * - a probe is bounded in time, and a probe towards nothing times out instead of leaving
 *   the namespaces;
 * - kube-router's ways, each shown on packets: a denial is a REJECT (refused at once, where
 *   Calico drops), the node always reaches its pods (the control of every denial), a pod's
 *   connection to its own address is never filtered (Kubernetes: "a pod cannot block access to
 *   itself"), and a pod's egress deny also blocks its own node (Kubernetes allows that traffic;
 *   kube-router keeps only the "from the node" half).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, NODE_IP } from './network.js';
import { verdictOf, type DataplanePod } from './dataplane.js';
import { describeDataplane, startCluster, stopCluster, REPO_ROOT, type DataplaneCluster } from './support/cluster.js';
import { expectBlocked, expectReaches } from './support/probes.js';

/** What the root network namespace holds, as text; the harness must leave it unchanged. */
function rootNetworkState(): string {
  const run = (argv: string[]): string => {
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return `$ ${argv.join(' ')}\n${result.stdout}`;
  };
  // iptables-save's counters and comments about the time of the dump change by themselves.
  const rules = run(['iptables-save'])
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, ''))
    .join('\n');
  return [
    run(['ip', '-o', 'link', 'show']).replace(/\s+link\/.*$/gm, ''),
    run(['ip', '-o', 'addr', 'show']),
    run(['ip', 'route', 'show', 'table', 'all']),
    rules,
    run(['ipset', 'list', '-n']),
  ].join('\n');
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout);

describeDataplane('the dataplane harness', () => {
  let cluster: DataplaneCluster | undefined;
  let before = '';
  let a: DataplanePod;
  let b: DataplanePod;

  beforeAll(async () => {
    before = rootNetworkState();
    cluster = await startCluster();
    cluster.kubectl(['create', 'namespace', 'harness']);
    [a, b] = await Promise.all([
      cluster.dataplane.addPod({ namespace: 'harness', name: 'a', labels: { pod: 'a' }, ports: [{ port: 80 }] }),
      cluster.dataplane.addPod({ namespace: 'harness', name: 'b', labels: { pod: 'b' }, ports: [{ port: 80 }] }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await stopCluster(cluster);
  }, 60_000);

  /** Both directions of every pod in `harness` denied (idempotent: server-side apply). */
  const denyAll = (): void =>
    void cluster!.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-all', namespace: 'harness' },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      }),
    );

  test('adds nothing to the root network namespace', () => {
    expect(cluster!.dataplane.network.state.namespaces.length).toBeGreaterThanOrEqual(4);
    expect(rootNetworkState()).toBe(before);
  });

  test('bounds every probe: a probe towards an address nobody holds times out within its bound', async () => {
    const result = await cluster!.dataplane.probe(a, 'tcp', '198.18.0.1', 80, { timeoutMs: 300 });
    expect(result.outcome).toBe('timed-out');
    expect(result.ms).toBeLessThan(1500);
  });

  test("kube-router REJECTs a denial (refused at once), while the node still reaches the pod, and a pod's traffic to its own address is never filtered", async () => {
    const dp = cluster!.dataplane;
    await expectReaches(dp, b, 'tcp', a.ip, 80, 'harness/a');
    denyAll();
    const ms = await dp.until('denied', b, 'tcp', a.ip, 80);
    process.stderr.write(`[dataplane] harness: a deny-all enforced ${ms} ms after kubectl apply returned\n`);
    for (const proto of ['tcp', 'udp'] as const) {
      const denied = await expectBlocked(dp, b, proto, a.ip, 80);
      expect(denied.outcome).toBe('refused');
      expect(denied.ms).toBeLessThan(500);
      // "A pod cannot block access to itself": kube-router never filters it.
      await expectReaches(dp, a, proto, a.ip, 80, 'harness/a');
    }
  });

  test("a pod's egress deny blocks its own node (the half of node traffic kube-router does not exempt)", async () => {
    const dp = cluster!.dataplane;
    const listener = await Agent.start(dp.network.nodeNetns, 'node-listener', [{ proto: 'tcp', host: NODE_IP, port: 9999 }]);
    try {
      denyAll();
      await dp.until('denied', b, 'tcp', a.ip, 80);
      const fromPod = await dp.probe(a, 'tcp', NODE_IP, 9999);
      expect(verdictOf(fromPod)).toBe('denied');
      await expectReaches(dp, dp.nodeAgent, 'tcp', NODE_IP, 9999, 'node-listener');
    } finally {
      listener.stop();
    }
  });
});

describe('a dataplane whose owner is killed', () => {
  const skip = process.env['NETFENCE_DATAPLANE_SKIP'];
  (skip ? test.skip : test)(
    'leaves no namespace, process or folder behind once its watchdog sees the owner die',
    async () => {
      const child = spawn(
        process.execPath,
        ['--experimental-transform-types', '--no-warnings', join(REPO_ROOT, 'test/dataplane/support/run-ts.mjs'), join(REPO_ROOT, 'test/dataplane/support/crash-child.ts')],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`the child exited ${code} before it was ready`)));
      });
      const made = JSON.parse(line) as { dir: string; namespaces: string[]; agentPids: number[]; rootPid: number; chainedPid: number; reached: string };
      expect(made.reached).toBe('connected');
      const listed = (): string => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
      for (const name of made.namespaces) expect(listed()).toContain(name);
      expect([...made.agentPids, made.rootPid, made.chainedPid].every(alive)).toBe(true);

      child.kill('SIGKILL');
      const started = Date.now();
      // SIGKILL is asynchronous: a killed process can outlive the folder's removal by a moment on a busy machine.
      const pids = [...made.agentPids, made.rootPid, made.chainedPid];
      while (Date.now() - started < 10_000 && (existsSync(made.dir) || made.namespaces.some((n) => listed().includes(n)) || pids.some(alive))) await sleep(100);
      process.stderr.write(`[dataplane] harness: cleaned up ${Date.now() - started} ms after the owner's SIGKILL\n`);
      for (const name of made.namespaces) expect(listed()).not.toContain(name);
      expect(existsSync(made.dir)).toBe(false);
      expect(pids.filter(alive)).toEqual([]);
    },
    30_000,
  );
});
