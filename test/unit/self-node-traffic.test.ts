/**
 * Kubernetes' two connections no policy can stop: a pod to itself ("a pod cannot block access
 * to itself") and a pod and the node it runs on ("traffic to and from the node where a Pod is
 * running is always allowed"), in the evaluator, the class analysis, the matrix and explain.
 */
import type { NetworkPolicy, Node, Pod } from '../../src/api/k8s.js';
import { PROTOCOLS } from '../../src/api/k8s.js';
import type { Fences } from '../../src/analysis/fences.js';
import { buildMatrix } from '../../src/analysis/matrix.js';
import { PortSet } from '../../src/analysis/ports.js';
import { allowedBetween, buildReachability, type EndpointClass } from '../../src/analysis/reachability.js';
import { buildScene } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { buildEvaluator, NODE_REASON, SELF_REASON, type ClusterModel, type Endpoint } from '../../src/evaluator/index.js';
import { ns, pod } from '../fixtures/builders.js';
import { runNetfence } from '../fixtures/cli.js';

const NO_FENCES: Fences = { tenants: new Map(), tenantOf: new Map() };

function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

const denyAll = (namespace: string): NetworkPolicy => policy(namespace, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

const at = (namespace: string, name: string): Endpoint => ({ kind: 'pod', namespace, name });
const ip = (address: string): Endpoint => ({ kind: 'external', ip: address });

function onNode(p: Pod, nodeName: string): Pod {
  return { ...p, spec: { ...p.spec, nodeName } };
}

function node(name: string, addresses: { type: string; address: string }[]): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses } };
}

describe('the evaluator: a pod to itself', () => {
  const model: ClusterModel = {
    namespaces: [ns('shop')],
    pods: [pod('shop', 'web', { app: 'web' }, '10.0.0.5'), pod('shop', 'db', { app: 'db' }, '10.0.0.6'), pod('shop', 'deployment/api', { app: 'api' }), pod('shop', '*', {})],
    policies: [denyAll('shop')],
  };
  const evaluator = buildEvaluator(model);

  test('is allowed on every port and protocol under a deny-all, saying why; the sides still say what the policies decide', () => {
    for (const protocol of PROTOCOLS) {
      for (const port of [1, 80, 65535]) {
        const v = evaluator.evaluate(at('shop', 'web'), at('shop', 'web'), port, protocol);
        expect(v.allowed).toBe(true);
        expect(v.exempt).toEqual({ kind: 'self', reason: SELF_REASON });
        expect([v.egress.isolated, v.egress.allowed, v.ingress.isolated, v.ingress.allowed]).toEqual([true, false, true, false]);
      }
    }
  });

  test("exempts nothing else: another pod, the pod's own address as an outside endpoint, a workload's or a possible pod to itself", () => {
    for (const [from, to] of [
      [at('shop', 'web'), at('shop', 'db')],
      [at('shop', 'db'), at('shop', 'web')],
      [at('shop', 'web'), ip('10.0.0.5')],
      [at('shop', 'deployment/api'), at('shop', 'deployment/api')],
      [at('shop', '*'), at('shop', '*')],
    ] as [Endpoint, Endpoint][]) {
      const v = evaluator.evaluate(from, to, 80, 'TCP');
      expect({ from, to, allowed: v.allowed, exempt: v.exempt }).toEqual({ from, to, allowed: false, exempt: undefined });
    }
  });
});

describe('the evaluator: a pod and its node', () => {
  const nodes = [
    node('n1', [
      { type: 'Hostname', address: 'n1' },
      { type: 'InternalIP', address: '192.168.0.10' },
      { type: 'ExternalIP', address: '203.0.113.5' },
    ]),
    node('n2', [{ type: 'InternalIP', address: '192.168.0.11' }]),
  ];
  const model: ClusterModel = {
    namespaces: [ns('shop')],
    pods: [
      onNode(pod('shop', 'web', {}, '10.0.0.5'), 'n1'),
      onNode(pod('shop', 'db', {}, '10.0.0.6'), 'n2'),
      onNode(pod('shop', 'lost', {}), 'n9'),
      pod('shop', 'unscheduled', {}),
    ],
    policies: [denyAll('shop')],
    nodes,
  };
  const evaluator = buildEvaluator(model);

  test('traffic between a pod and an InternalIP of its node is allowed both ways under a deny-all, saying why', () => {
    for (const [from, to] of [
      [at('shop', 'web'), ip('192.168.0.10')],
      [ip('192.168.0.10'), at('shop', 'web')],
      [at('shop', 'db'), ip('192.168.0.11')],
      [ip('192.168.0.11'), at('shop', 'db')],
    ] as [Endpoint, Endpoint][]) {
      const v = evaluator.evaluate(from, to, 10250, 'TCP');
      expect(v.allowed).toBe(true);
      expect(v.exempt?.reason).toBe(NODE_REASON);
      expect(v.exempt?.kind === 'node' && v.exempt.node).toBe(from.kind === 'pod' ? (from.name === 'web' ? 'n1' : 'n2') : to.kind === 'pod' && to.name === 'web' ? 'n1' : 'n2');
    }
  });

  test('another node, an address of the node that is not an InternalIP, an unknown node and no node are judged by the policies', () => {
    for (const [from, to] of [
      [at('shop', 'web'), ip('192.168.0.11')],
      [ip('192.168.0.11'), at('shop', 'web')],
      [at('shop', 'web'), ip('203.0.113.5')],
      [at('shop', 'lost'), ip('192.168.0.10')],
      [at('shop', 'unscheduled'), ip('192.168.0.10')],
    ] as [Endpoint, Endpoint][]) {
      const v = evaluator.evaluate(from, to, 80, 'TCP');
      expect({ from, to, allowed: v.allowed }).toEqual({ from, to, allowed: false });
    }
    const withoutNodes = buildEvaluator({ ...model, nodes: [] });
    expect(withoutNodes.evaluate(at('shop', 'web'), ip('192.168.0.10'), 80, 'TCP').allowed).toBe(false);
  });

  test('a Node with a bad InternalIP or listed twice throws naming it', () => {
    expect(() => buildEvaluator({ ...model, nodes: [node('bad', [{ type: 'InternalIP', address: '192.168.0.300' }])] })).toThrow(
      'Node bad: status.addresses[0].address "192.168.0.300" is not an IP address',
    );
    expect(() => buildEvaluator({ ...model, nodes: [...nodes, nodes[0] as Node] })).toThrow('Node n1 is listed twice');
  });
});

describe('the class analysis: pairs are of two different pods', () => {
  // `web` has an address an ipBlock matches, so no possible pod shares its class: a class of one Pod.
  const policies = [
    policy('shop', 'web-from-web', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 80 }] }],
    }),
    policy('shop', 'api-from-office', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.5/32' } }] }] }),
  ];
  const model: ClusterModel = {
    namespaces: [ns('shop')],
    pods: [pod('shop', 'web', { app: 'web' }, '10.0.0.5'), pod('shop', 'w1', { app: 'web', tier: '1' }), pod('shop', 'w2', { app: 'web', tier: '2' })],
    policies,
  };
  const reach = buildReachability(model, NO_FENCES);
  const classOf = (name: string): EndpointClass => reach.classOfPod('shop', name) as EndpointClass;

  test('a class of one Pod allows nothing to itself, whatever the policies say, and forEachAllowed never visits it', () => {
    const web = classOf('web');
    expect(web.pods.map((p) => p.name)).toEqual(['web']);
    expect(web.several).toBe(false);
    // The policies would let such a pod in on TCP 80: a possible pod like it is let in.
    expect(reach.pair(web, classOf('*{app=web}')).allowed.format()).toBe('TCP 80');
    expect(reach.pair(web, web).allowed.isEmpty()).toBe(true);
    const visited: string[] = [];
    reach.forEachAllowed((p) => visited.push(`${p.from.index}>${p.to.index}`));
    expect(visited).toContain(`${web.index}>${classOf('*{app=web}').index}`);
    expect(visited).not.toContain(`${web.index}>${web.index}`);
  });

  test('a class of several pods answers for two different members', () => {
    const ws = classOf('w1');
    expect(ws).toBe(classOf('w2'));
    expect(ws.several).toBe(true);
    expect(reach.pair(ws, ws).allowed.format()).toBe('TCP 80');
    const possible = classOf('*{app=web}');
    expect(possible.several).toBe(true);
    expect(reach.pair(possible, possible).allowed.format()).toBe('TCP 80');
  });

  test('allowedBetween is what the evaluator answers: every port from a pod to itself, the class pair otherwise', () => {
    const self = allowedBetween(reach, at('shop', 'web'), at('shop', 'web'));
    expect([self.self, self.ports.isAll()]).toEqual([true, true]);
    const other = allowedBetween(reach, at('shop', 'w1'), at('shop', 'w2'));
    expect([other.self, other.ports.equals(PortSet.range('TCP', 80))]).toEqual([false, true]);
    const evaluator = buildEvaluator(model);
    expect(evaluator.evaluate(at('shop', 'web'), at('shop', 'web'), 443, 'UDP').allowed).toBe(true);
    expect(self.ports.has('UDP', 443)).toBe(true);
  });
});

describe('the matrix: self-traffic is no pair', () => {
  const sceneOf = (pods: Pod[], policies: NetworkPolicy[]) => buildScene({ tenants: [], namespaces: [ns('shop')], pods, policies, settings: defaultSettings() }, 'planned');
  const cell = (pods: Pod[], policies: NetworkPolicy[]) => {
    const m = buildMatrix(sceneOf(pods, policies), 'test').namespaces;
    const i = m.entries.findIndex((e) => e.id === 'namespace:shop');
    return m.cells[i]?.[i];
  };

  test("a namespace where only a pod's traffic to itself passes the policies has no cell to itself", () => {
    // To and from the pod's own address only: on the policies' terms the pod reaches itself, and no pod another.
    const own = [{ ipBlock: { cidr: '10.0.0.5/32' } }];
    const selfOnly = policy('shop', 'own-address', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: own }], egress: [{ to: own }] });
    expect(cell([pod('shop', 'web', { app: 'web' }, '10.0.0.5')], [selfOnly])).toEqual({ reach: 'none', ports: '', fence: 'none' });
  });

  test('a namespace whose pods all reach each other is `all`, though no pod is a pair with itself', () => {
    // The ipBlock keeps `web` a class of its own, apart from the possible pods.
    const sameNamespace = policy('shop', 'same-namespace', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] });
    const marker = policy('shop', 'marker', { podSelector: { matchLabels: { none: 'x' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.5/32' } }] }] });
    expect(cell([pod('shop', 'web', { app: 'web' }, '10.0.0.5'), pod('shop', 'db', { app: 'db' })], [sameNamespace, marker])).toEqual({
      reach: 'all',
      ports: 'any',
      fence: 'same',
    });
  });
});

describe('netfence explain: a pod to itself', () => {
  const manifests = [ns('shop'), pod('shop', 'web', { app: 'web' }, '10.0.0.5'), denyAll('shop')].map((o) => JSON.stringify(o)).join('\n');

  test.each([[['--port', '8080']], [[]]])('is allowed, says why and still lists the policies (%j)', async (port) => {
    const r = await runNetfence(['explain', '-f', '-', 'shop/web', 'shop/web', ...port], manifests);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`self: ${SELF_REASON}, so it is allowed on any port whatever the policies say`);
    expect(r.stdout).toContain('  shop/deny-all: does not allow');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: allowed');
  });

  test('another pod of the namespace stays denied', async () => {
    const two = `${manifests}\n${JSON.stringify(pod('shop', 'db', { app: 'db' }, '10.0.0.6'))}`;
    const r = await runNetfence(['explain', '-f', '-', 'shop/web', 'shop/db', '--port', '8080'], two);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('self:');
  });
});
