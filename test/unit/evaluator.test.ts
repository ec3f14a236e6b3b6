/**
 * Hand-written cases for the evaluator, from the networking.k8s.io/v1 API reference and the
 * Kubernetes NetworkPolicy concept page. Each case names the rule it pins down; every check
 * states a verdict a plausible misreading of the rule would get wrong.
 */
import type { ContainerPort, Namespace, NetworkPolicy, NetworkPolicySpec, Pod, Protocol } from '../../src/api/k8s.js';
import { buildEvaluator, effectivePolicyTypes, formatEndpoint, parseEndpoint, type ClusterModel, type Endpoint, type PolicyRef } from '../../src/evaluator/index.js';
import { deepFreeze } from '../../src/core/objects.js';

function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function pod(key: string, labels: Record<string, string>, opts: { ip?: string; ips?: string[]; ports?: ContainerPort[] } = {}): Pod {
  const [namespace, name] = key.split('/') as [string, string];
  const p: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels },
    spec: { containers: [{ name: 'main', ports: opts.ports ?? [] }] },
  };
  if (opts.ip !== undefined) p.status = { podIP: opts.ip, podIPs: (opts.ips ?? [opts.ip]).map((ip) => ({ ip })) };
  return p;
}

function policy(key: string, spec: NetworkPolicySpec): NetworkPolicy {
  const [namespace, name] = key.split('/') as [string, string];
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

/**
 * The cluster every case starts from:
 * - prod {team: a}: web (10.0.1.1; http 80/TCP, metrics 9090/TCP, dns 53/UDP, diameter 3868/SCTP), db (10.0.1.2; pg 5432/TCP)
 * - dev {team: b}: web (10.0.2.1; http 8080/TCP, dual stack fd00::21), client (10.0.2.2)
 * - ops (no labels): mon (no address)
 */
const NAMESPACES = [ns('prod', { team: 'a' }), ns('dev', { team: 'b' }), ns('ops')];
const PODS = [
  pod(
    'prod/web',
    { app: 'web', tier: 'front' },
    {
      ip: '10.0.1.1',
      ports: [
        { name: 'http', containerPort: 80, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090 },
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'diameter', containerPort: 3868, protocol: 'SCTP' },
      ],
    },
  ),
  pod('prod/db', { app: 'db', tier: 'back' }, { ip: '10.0.1.2', ports: [{ name: 'pg', containerPort: 5432 }] }),
  pod(
    'dev/web',
    { app: 'web' },
    {
      ip: '10.0.2.1',
      ips: ['10.0.2.1', 'fd00::21'],
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
  ),
  pod('dev/client', { app: 'client' }, { ip: '10.0.2.2' }),
  pod('ops/mon', { app: 'mon' }),
];

interface Check {
  from: string;
  to: string;
  port: number;
  protocol?: Protocol;
  allowed: boolean;
}

interface Case {
  name: string;
  policies: NetworkPolicy[];
  checks: Check[];
}

const denyAllIngress = (namespace: string): NetworkPolicy => policy(`${namespace}/deny-all-ingress`, { podSelector: {}, policyTypes: ['Ingress'] });

const CASES: Case[] = [
  {
    name: 'without policies every pod reaches every pod and address',
    policies: [],
    checks: [
      { from: 'prod/web', to: 'dev/web', port: 1, allowed: true },
      { from: 'ops/mon', to: 'prod/db', port: 65535, protocol: 'SCTP', allowed: true },
      { from: '8.8.8.8', to: 'prod/web', port: 443, allowed: true },
      { from: 'prod/web', to: '8.8.8.8', port: 443, protocol: 'UDP', allowed: true },
    ],
  },
  {
    name: 'an ingress policy with no rules denies all ingress to the pods it selects and only to them',
    policies: [policy('prod/web-deny', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [] })],
    checks: [
      { from: 'prod/db', to: 'prod/web', port: 80, allowed: false },
      { from: '8.8.8.8', to: 'prod/web', port: 80, allowed: false },
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'prod/web', to: 'dev/web', port: 8080, allowed: true },
    ],
  },
  {
    name: 'an ingress rule that is an empty object allows everything, from pods and addresses alike',
    policies: [policy('prod/web-open', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{}] })],
    checks: [
      { from: 'ops/mon', to: 'prod/web', port: 12345, protocol: 'UDP', allowed: true },
      { from: '203.0.113.9', to: 'prod/web', port: 22, allowed: true },
    ],
  },
  {
    name: 'omitted policyTypes with an empty egress list isolate ingress only',
    policies: [policy('prod/default', { podSelector: {}, egress: [] })],
    checks: [
      { from: 'prod/web', to: 'dev/web', port: 8080, allowed: true },
      { from: 'prod/web', to: '8.8.8.8', port: 53, protocol: 'UDP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'omitted policyTypes with an egress rule isolate both directions, so absent ingress rules deny ingress',
    policies: [policy('prod/egress-dns', { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })],
    checks: [
      { from: 'prod/web', to: '8.8.8.8', port: 53, protocol: 'UDP', allowed: true },
      { from: 'prod/web', to: '8.8.8.8', port: 53, protocol: 'TCP', allowed: false },
      { from: 'prod/web', to: 'dev/web', port: 8080, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'an empty policyTypes list defaults like an omitted one',
    policies: [policy('prod/empty-types', { podSelector: {}, policyTypes: [], egress: [{}] })],
    checks: [
      { from: 'prod/web', to: 'dev/client', port: 80, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'an explicit Egress type with no egress rules denies all egress and leaves ingress open',
    policies: [policy('dev/deny-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [] })],
    checks: [
      { from: 'dev/client', to: 'dev/web', port: 8080, allowed: false },
      { from: 'dev/client', to: '1.1.1.1', port: 443, allowed: false },
      { from: 'prod/web', to: 'dev/client', port: 80, allowed: true },
    ],
  },
  {
    name: 'a podSelector peer alone matches pods of the policy namespace only',
    policies: [policy('prod/same-ns', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] })],
    checks: [
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'dev/web', to: 'prod/db', port: 5432, allowed: false },
      { from: '10.0.1.9', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'a namespaceSelector peer alone matches every pod of the matching namespaces',
    policies: [
      policy('prod/from-team-b', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
      }),
    ],
    checks: [
      { from: 'dev/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: true },
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: false },
      { from: 'ops/mon', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'an empty namespaceSelector matches pods in all namespaces but no external address',
    policies: [policy('prod/from-cluster', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    checks: [
      { from: 'ops/mon', to: 'prod/web', port: 80, allowed: true },
      { from: 'prod/db', to: 'prod/web', port: 80, allowed: true },
      { from: '10.0.2.2', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'namespaceSelector and podSelector in one peer must both match',
    policies: [
      policy('prod/and', {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }] }],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: true },
      { from: 'dev/web', to: 'prod/db', port: 5432, allowed: false },
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'namespaceSelector and podSelector in two peers match either',
    policies: [
      policy('prod/or', {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'web' } } }] }],
      }),
    ],
    checks: [
      { from: 'dev/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'ops/mon', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'every namespace carries its kubernetes.io/metadata.name label even when the model lists none',
    policies: [
      policy('prod/by-name', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }] }],
      }),
      policy('dev/not-prod', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['prod'] }] } }],
          },
        ],
      }),
    ],
    checks: [
      { from: 'ops/mon', to: 'prod/web', port: 80, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
      { from: 'ops/mon', to: 'dev/web', port: 8080, allowed: true },
      { from: 'dev/client', to: 'dev/web', port: 8080, allowed: true },
      { from: 'prod/web', to: 'dev/web', port: 8080, allowed: false },
    ],
  },
  {
    name: 'the target podSelector uses matchExpressions like any label selector',
    policies: [
      policy('prod/not-front', {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] },
        policyTypes: ['Ingress'],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
    ],
  },
  {
    name: 'a named ingress port resolves on the destination pod, name and protocol together',
    policies: [
      policy('prod/named', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: 'http' }, { port: 'metrics' }, { port: 'dns', protocol: 'TCP' }, { port: 'diameter', protocol: 'SCTP' }] }],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 9090, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 8080, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 53, protocol: 'UDP', allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 53, protocol: 'TCP', allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 3868, protocol: 'SCTP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 3868, protocol: 'TCP', allowed: false },
      { from: 'dev/client', to: 'prod/db', port: 80, allowed: false },
    ],
  },
  {
    name: 'a named egress port resolves on the destination pod, not on the source',
    policies: [policy('dev/egress-http', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })],
    checks: [
      { from: 'dev/client', to: 'dev/web', port: 8080, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
      { from: 'dev/web', to: 'prod/web', port: 80, allowed: true },
      { from: 'dev/web', to: 'prod/web', port: 8080, allowed: false },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
      { from: 'dev/client', to: '93.184.216.34', port: 80, allowed: false },
    ],
  },
  {
    name: 'a named port no container declares matches nothing but still isolates the pod',
    policies: [policy('prod/ghost', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'ghost' }] }] })],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
      { from: 'dev/client', to: 'dev/web', port: 8080, allowed: true },
    ],
  },
  {
    name: 'endPort makes an inclusive range on its protocol only',
    policies: [policy('prod/range', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 7999, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 8000, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 8042, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 8080, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 8081, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 8000, protocol: 'UDP', allowed: false },
    ],
  },
  {
    name: 'a port without protocol is TCP and SCTP is a protocol of its own',
    policies: [
      policy('prod/ports', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: 80 }, { port: 3868, protocol: 'SCTP' }] }],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, protocol: 'TCP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, protocol: 'UDP', allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 80, protocol: 'SCTP', allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 3868, protocol: 'SCTP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 3868, protocol: 'TCP', allowed: false },
    ],
  },
  {
    name: 'a protocol without a port allows every port of that protocol and isolates the others',
    policies: [policy('prod/udp', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 1, protocol: 'UDP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 65535, protocol: 'UDP', allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 53, protocol: 'TCP', allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 53, protocol: 'SCTP', allowed: false },
    ],
  },
  {
    name: 'ports and peers of one rule must both match, while separate rules add up',
    policies: [
      policy('prod/rules', {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] },
          { from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }], ports: [{ port: 6432 }] },
        ],
      }),
    ],
    checks: [
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'prod/web', to: 'prod/db', port: 6432, allowed: false },
      { from: 'dev/client', to: 'prod/db', port: 6432, allowed: true },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'an ipBlock matches pod and external addresses inside the CIDR and outside every except',
    policies: [
      policy('prod/cidr', {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.2.0/24'] } }] }],
      }),
    ],
    checks: [
      { from: 'prod/web', to: 'prod/db', port: 5432, allowed: true },
      { from: '10.0.3.3', to: 'prod/db', port: 5432, allowed: true },
      { from: 'ip:10.0.255.255', to: 'prod/db', port: 5432, allowed: true },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
      { from: '10.0.2.200', to: 'prod/db', port: 5432, allowed: false },
      { from: '10.1.0.1', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'a CIDR with host bits set covers its whole network',
    policies: [
      policy('dev/egress-cidr', {
        podSelector: { matchLabels: { app: 'client' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.1.77/24' } }] }],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
      { from: 'dev/client', to: '10.0.1.254', port: 80, allowed: true },
      { from: 'dev/client', to: '10.0.2.1', port: 80, allowed: false },
      { from: 'dev/client', to: 'dev/web', port: 8080, allowed: false },
    ],
  },
  {
    name: 'a pod without an address never matches an ipBlock, not even 0.0.0.0/0',
    policies: [policy('prod/any-ip', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })],
    checks: [
      { from: 'ops/mon', to: 'prod/web', port: 80, allowed: false },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
      { from: '2001:db8::1', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'an IPv6 ipBlock matches the IPv6 address of a dual-stack pod and external IPv6 addresses',
    policies: [policy('prod/v6', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/64', except: ['fd00::ff/128'] } }] }] })],
    checks: [
      { from: 'dev/web', to: 'prod/db', port: 5432, allowed: true },
      { from: 'dev/client', to: 'prod/db', port: 5432, allowed: false },
      { from: 'fd00::1:2', to: 'prod/db', port: 5432, allowed: true },
      { from: 'fd00:0:0:0::ff', to: 'prod/db', port: 5432, allowed: false },
      { from: 'fd00:0:0:1::1', to: 'prod/db', port: 5432, allowed: false },
    ],
  },
  {
    name: 'an excepted address admitted by another policy is allowed, because policies add up',
    policies: [
      policy('prod/a-cidr', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.2.2/32'] } }] }],
      }),
      policy('prod/b-client', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'client' } } }] }],
      }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: true },
      { from: '10.0.2.2', to: 'prod/web', port: 80, allowed: false },
      { from: 'dev/web', to: 'prod/web', port: 80, allowed: true },
    ],
  },
  {
    name: 'an egress rule with ports and no peers reaches any pod and any address',
    policies: [policy('dev/https-out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 443 }] }] })],
    checks: [
      { from: 'dev/client', to: '1.1.1.1', port: 443, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 443, allowed: true },
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
    ],
  },
  {
    name: 'the client egress side and the server ingress side must both allow',
    policies: [
      policy('dev/client-deny-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'] }),
      policy('prod/web-allow-all', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{}] }),
      denyAllIngress('ops'),
      policy('prod/db-egress-all', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], egress: [{}] }),
    ],
    checks: [
      { from: 'dev/client', to: 'prod/web', port: 80, allowed: false },
      { from: 'dev/web', to: 'prod/web', port: 80, allowed: true },
      { from: 'prod/db', to: 'ops/mon', port: 80, allowed: false },
      { from: 'prod/db', to: 'dev/client', port: 80, allowed: true },
    ],
  },
  {
    name: 'a peer with neither selector nor ipBlock, which the API server rejects, matches nothing',
    policies: [policy('prod/bad-peer', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{}] }] })],
    checks: [{ from: 'prod/db', to: 'prod/web', port: 80, allowed: false }],
  },
];

function endpointOf(text: string): Endpoint {
  return parseEndpoint(text);
}

describe('the evaluator follows the networking.k8s.io/v1 rules', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const model: ClusterModel = deepFreeze({ namespaces: NAMESPACES, pods: PODS, policies: c.policies });
    const evaluator = buildEvaluator(model);
    const got = c.checks.map((k) => ({
      ...k,
      allowed: evaluator.evaluate(endpointOf(k.from), endpointOf(k.to), k.port, k.protocol ?? 'TCP').allowed,
    }));
    expect(got).toEqual(c.checks);
  });
});

describe('verdicts explain themselves', () => {
  const refs = (...keys: string[]): PolicyRef[] =>
    keys.map((k) => {
      const [namespace, name] = k.split('/') as [string, string];
      return { namespace, name };
    });
  const model: ClusterModel = deepFreeze({
    namespaces: NAMESPACES,
    pods: PODS,
    policies: [
      policy('prod/z-allow-http', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 80 }] }] }),
      policy('prod/a-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      policy('prod/m-allow-dev', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
      }),
      policy('dev/egress-web', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] }] }),
      policy('dev/ingress-only', { podSelector: {}, ingress: [{}] }),
    ],
  });
  const evaluator = buildEvaluator(model);

  test('selecting lists every policy selecting the pod for the direction, sorted by name, and allowing those that admit', () => {
    const v = evaluator.evaluate(parseEndpoint('dev/client'), parseEndpoint('prod/web'), 80, 'TCP');
    expect(v).toEqual({
      allowed: true,
      egress: { isolated: true, selecting: refs('dev/egress-web'), allowing: refs('dev/egress-web'), allowed: true },
      ingress: {
        isolated: true,
        selecting: refs('prod/a-deny-all', 'prod/m-allow-dev', 'prod/z-allow-http'),
        allowing: refs('prod/m-allow-dev', 'prod/z-allow-http'),
        allowed: true,
      },
    });
  });

  test('a denied side has selecting policies and no allowing ones', () => {
    const v = evaluator.evaluate(parseEndpoint('dev/client'), parseEndpoint('prod/db'), 5432, 'TCP');
    expect(v.allowed).toBe(false);
    expect(v.egress).toEqual({ isolated: true, selecting: refs('dev/egress-web'), allowing: [], allowed: false });
    expect(v.ingress.allowing).toEqual(refs('prod/m-allow-dev'));
    expect(v.ingress.allowed).toBe(true);
  });

  test('a policy of one direction is not listed for the other', () => {
    const v = evaluator.evaluate(parseEndpoint('prod/web'), parseEndpoint('8.8.8.8'), 80, 'TCP');
    expect(v.egress).toEqual({ isolated: true, selecting: refs('prod/a-deny-all'), allowing: [], allowed: false });
  });

  test('an external endpoint is never isolated and its side always allows', () => {
    const v = evaluator.evaluate(parseEndpoint('8.8.8.8'), parseEndpoint('dev/web'), 8080, 'TCP');
    expect(v.egress).toEqual({ isolated: false, selecting: [], allowing: [], allowed: true });
    expect(v.ingress).toEqual({ isolated: true, selecting: refs('dev/ingress-only'), allowing: refs('dev/ingress-only'), allowed: true });
    expect(v.allowed).toBe(true);
  });

  test('returned lists belong to the caller and do not change later verdicts', () => {
    const first = evaluator.evaluate(parseEndpoint('dev/client'), parseEndpoint('prod/web'), 80, 'TCP');
    first.ingress.selecting.length = 0;
    first.ingress.allowing.reverse();
    const second = evaluator.evaluate(parseEndpoint('dev/client'), parseEndpoint('prod/web'), 80, 'TCP');
    expect(second.ingress.selecting).toHaveLength(3);
    expect(second.ingress.allowing).toEqual(refs('prod/m-allow-dev', 'prod/z-allow-http'));
  });
});

describe('policyTypes default as the API server defaults them', () => {
  test.each([
    ['no policyTypes and no egress field give Ingress', {}, ['Ingress']],
    ['no policyTypes and an empty egress list give Ingress', { egress: [] }, ['Ingress']],
    ['no policyTypes and one egress rule give Ingress and Egress', { egress: [{}] }, ['Ingress', 'Egress']],
    ['an empty policyTypes list is defaulted too', { policyTypes: [], egress: [{}] }, ['Ingress', 'Egress']],
    ['an explicit Egress stays Egress only, even with ingress rules', { policyTypes: ['Egress'], ingress: [{}] }, ['Egress']],
  ] as [string, Partial<NetworkPolicySpec>, string[]][])('%s', (_name, spec, types) => {
    expect(effectivePolicyTypes({ podSelector: {}, ...spec })).toEqual(types);
  });
});

describe('bad input is reported clearly', () => {
  const model = (policies: NetworkPolicy[] = [], pods: Pod[] = PODS): ClusterModel => ({ namespaces: NAMESPACES, pods, policies });

  test('an endpoint naming an unknown pod throws with its name', () => {
    const evaluator = buildEvaluator(model());
    expect(() => evaluator.evaluate(parseEndpoint('prod/nope'), parseEndpoint('prod/web'), 80, 'TCP')).toThrow(/unknown pod prod\/nope/);
    expect(() => evaluator.evaluate(parseEndpoint('prod/web'), parseEndpoint('nowhere/web'), 80, 'TCP')).toThrow(/unknown pod nowhere\/web/);
  });

  test('a port outside 1-65535 or an unknown protocol throws', () => {
    const evaluator = buildEvaluator(model());
    const [a, b] = [parseEndpoint('prod/web'), parseEndpoint('prod/db')];
    expect(() => evaluator.evaluate(a, b, 0, 'TCP')).toThrow(RangeError);
    expect(() => evaluator.evaluate(a, b, 65536, 'TCP')).toThrow(RangeError);
    expect(() => evaluator.evaluate(a, b, 80.5, 'TCP')).toThrow(RangeError);
    expect(() => evaluator.evaluate(a, b, 80, 'ICMP' as Protocol)).toThrow(/protocol "ICMP"/);
  });

  test('an unparseable CIDR throws naming the policy and the field', () => {
    const bad = policy('prod/bad', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/33'] } }] }] });
    expect(() => buildEvaluator(model([bad]))).toThrow('NetworkPolicy prod/bad: spec.ingress[0].from[0].ipBlock.except[0]: "10.1.0.0/33" is not a valid CIDR');
  });

  test('an unparseable pod address throws naming the pod', () => {
    expect(() => buildEvaluator(model([], [pod('prod/x', {}, { ip: '10.0.0.300' })]))).toThrow('Pod prod/x: status.podIP "10.0.0.300" is not an IP address');
  });

  test('a pod or policy listed twice throws', () => {
    expect(() => buildEvaluator(model([], [...PODS, pod('prod/web', {})]))).toThrow('Pod prod/web is listed twice');
    expect(() => buildEvaluator(model([denyAllIngress('prod'), denyAllIngress('prod')]))).toThrow('NetworkPolicy prod/deny-all-ingress is listed twice');
  });
});

describe('parseEndpoint reads pods and addresses', () => {
  test.each([
    ['prod/web', { kind: 'pod', namespace: 'prod', name: 'web' }],
    // A workload's pods and a possible pod, whose label key holds a slash: the namespace ends at the first.
    ['prod/deployment/web', { kind: 'pod', namespace: 'prod', name: 'deployment/web' }],
    ['prod/*{app.kubernetes.io/name=web}', { kind: 'pod', namespace: 'prod', name: '*{app.kubernetes.io/name=web}' }],
    ['10.0.0.1', { kind: 'external', ip: '10.0.0.1' }],
    ['ip:10.0.0.1', { kind: 'external', ip: '10.0.0.1' }],
    ['ip:FD00:0:0::1', { kind: 'external', ip: 'fd00::1' }],
    ['::', { kind: 'external', ip: '::' }],
    ['::ffff:1.2.3.4', { kind: 'external', ip: '::ffff:102:304' }],
  ] as [string, Endpoint][])('%s', (text, endpoint) => {
    expect(parseEndpoint(text)).toEqual(endpoint);
  });

  test.each(['web', '/web', 'prod/', 'ip:prod/web', 'ip:10.0.0.256', ''])('%j is rejected', (text) => {
    expect(() => parseEndpoint(text)).toThrow(/endpoint/);
  });

  test('formatEndpoint writes what parseEndpoint reads', () => {
    for (const text of ['prod/web', '10.0.0.1', 'fd00::1']) expect(formatEndpoint(parseEndpoint(text))).toBe(text);
  });
});
