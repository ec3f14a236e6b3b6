/**
 * src/api/validate.ts: the offline validator applies the CRD's structural schema and CEL rules.
 * Each case is an object and the issues it must produce: a path and a fragment of the message.
 * The tables are exported so the same cases can be run against a real kube-apiserver.
 */
import { API_VERSION, KIND } from '../../src/api/constants.js';
import type { JSONSchemaProps } from '../../src/api/schema.js';
import { formatPath, validateStatus, validateTenantIsolation, validateValue } from '../../src/api/validate.js';

export interface Case {
  name: string;
  object: unknown;
}

export interface RejectedCase extends Case {
  /** [formatted path, fragment of its message], one per expected issue. */
  issues: [string, string][];
}

function tenant(spec: unknown, name = 'team-a'): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec };
}

const withIngress = (...from: unknown[]): Record<string, unknown> => tenant({ ingress: { from } });
const withEgress = (...to: unknown[]): Record<string, unknown> => tenant({ egress: { to } });
const withPorts = (...ports: unknown[]): Record<string, unknown> => withIngress({ tenant: 'team-b', ports });
const nsSelector = (selector: unknown): Record<string, unknown> => withIngress({ namespaceSelector: selector });
const FROM0 = 'spec.ingress.from[0]';
const TO0 = 'spec.egress.to[0]';
const PORT0 = `${FROM0}.ports[0]`;

export const acceptedCases: Case[] = [
  { name: 'a tenant with an empty spec (label membership)', object: tenant({}) },
  { name: 'a tenant named by 63 characters', object: tenant({}, 'a'.repeat(63)) },
  {
    name: 'explicit namespaces, a selector and label membership together',
    object: tenant({ namespaces: ['a', 'b-2'], namespaceSelector: { matchLabels: { team: 'a' } }, labelMembership: true }),
  },
  { name: 'Audit mode', object: tenant({ mode: 'Audit' }) },
  { name: 'a null field, dropped as the API server drops it', object: tenant({ mode: null, egress: null }) },
  { name: 'a tenant peer narrowed by a podSelector', object: withIngress({ tenant: 'team-b', podSelector: { matchLabels: { app: 'web' } } }) },
  { name: 'a namespaces peer', object: withEgress({ namespaces: ['monitoring', 'logging'] }) },
  { name: 'a namespaceSelector peer selecting every namespace', object: nsSelector({}) },
  {
    name: 'a selector with every operator',
    object: nsSelector({
      matchLabels: { 'example.com/team': 'a', tier: '' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
        { key: 'kubernetes.io/metadata.name', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist', values: [] },
      ],
    }),
  },
  { name: 'an IPv4 CIDR with excepts strictly inside', object: withEgress({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.169.254/32'] }) },
  { name: 'an IPv6 CIDR with an except strictly inside', object: withEgress({ cidr: 'fd00::/8', except: ['fd00:ec2::254/128'] }) },
  { name: 'a CIDR with host bits set, as Kubernetes accepts', object: withEgress({ cidr: '10.1.2.3/8', except: ['10.1.0.0/16'] }) },
  { name: 'a CIDR peer that allows cloud metadata', object: withEgress({ cidr: '169.254.169.254/32', allowCloudMetadata: true }) },
  { name: 'an internet peer on 443', object: withEgress({ internet: true, ports: [{ port: 443 }] }) },
  {
    name: 'an internet peer with public excepts of both families',
    object: withEgress({ internet: true, except: ['8.8.8.0/24', '0.0.0.0/1', '2606:4700::/32', '2000::/4', '3fff:ffff::/32'] }),
  },
  { name: 'an internet peer in ingress', object: withIngress({ internet: true, ports: [{ port: 8443 }] }) },
  { name: 'an internet peer in an exposure, as behind a LoadBalancer', object: tenant({ exposures: [{ name: 'web', from: [{ internet: true }], ports: [{ port: 8443 }] }] }) },
  { name: 'an internet peer next to a CIDR peer that allows cloud metadata', object: withEgress({ internet: true }, { cidr: '169.254.169.254/32', allowCloudMetadata: true }) },
  { name: 'a numeric port with a protocol', object: withPorts({ port: 443, protocol: 'TCP' }) },
  { name: 'a port range', object: withPorts({ port: 8000, endPort: 9000, protocol: 'UDP' }) },
  { name: 'a port range of one port', object: withPorts({ port: 53, endPort: 53 }) },
  { name: 'the edges of the port range', object: withPorts({ port: 1 }, { port: 65535, protocol: 'SCTP' }) },
  { name: 'named ports', object: withPorts({ port: 'http' }, { port: 'metrics-9090' }, { port: 'a'.repeat(15) }) },
  { name: 'a protocol without a port', object: withPorts({ protocol: 'UDP' }) },
  {
    name: 'exposures with distinct names, one of 56 characters',
    object: tenant({
      exposures: [
        { name: 'web', from: [{ namespaces: ['ingress-nginx'] }], ports: [{ port: 8080 }] },
        { name: 'x'.repeat(56), from: [{ namespaceSelector: { matchLabels: { monitoring: 'true' } }, ports: [{ port: 'metrics' }] }] },
      ],
    }),
  },
  {
    name: 'a status with invalid values, which the API server discards on create',
    object: { ...tenant({}), status: { policyCount: -1, conditions: 'none', plannedChanges: [{ action: 'rename' }] } },
  },
  {
    name: 'a status written by the controller',
    object: {
      ...tenant({}),
      status: {
        observedGeneration: 3,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', observedGeneration: 3, lastTransitionTime: '2025-01-02T03:04:05Z' }],
        memberNamespaces: ['a'],
        conflictingNamespaces: [],
        policyCount: 5,
        plannedChanges: [{ action: 'create', namespace: 'a', name: 'netfence-default-deny' }],
      },
    },
  },
];

export const rejectedCases: RejectedCase[] = [
  // The object itself.
  { name: 'a list instead of an object', object: [], issues: [['', 'must be an object, found a list']] },
  { name: 'a wrong apiVersion', object: { ...tenant({}), apiVersion: 'netfence.dev/v1' }, issues: [['apiVersion', `must be ${API_VERSION}, found "netfence.dev/v1"`]] },
  { name: 'a wrong kind', object: { ...tenant({}), kind: 'Tenant' }, issues: [['kind', `must be ${KIND}, found "Tenant"`]] },
  { name: 'a missing metadata', object: { apiVersion: API_VERSION, kind: KIND, spec: {} }, issues: [['metadata.name', 'required field is missing']] },
  { name: 'a name that is not a DNS subdomain', object: tenant({}, 'Team_A'), issues: [['metadata.name', '"Team_A" is not a DNS subdomain']] },
  { name: 'a name longer than a label value', object: tenant({}, 'a'.repeat(64)), issues: [['metadata.name', 'must be at most 63 characters']] },
  { name: 'a name with dots', object: tenant({}, 'team.a'), issues: [['metadata.name', 'must not contain dots']] },
  { name: 'a missing spec', object: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'a' } }, issues: [['spec', 'required field is missing']] },

  // Unknown fields.
  { name: 'a misspelt spec field', object: tenant({ ingres: {} }), issues: [['spec.ingres', 'unknown field "spec.ingres"']] },
  { name: 'an unknown top-level field', object: { ...tenant({}), extra: 1 }, issues: [['extra', 'unknown field "extra"']] },
  {
    name: 'a misspelt peer field, which leaves the peer without a kind',
    object: withIngress({ namespace: ['a'] }),
    issues: [
      [`${FROM0}.namespace`, `unknown field "${FROM0}.namespace"`],
      [FROM0, 'exactly one of tenant, namespaces, namespaceSelector, cidr or internet'],
    ],
  },
  {
    name: 'a field named like an Object property',
    object: tenant({ constructor: 1, toString: 'x' }),
    issues: [
      ['spec.constructor', 'unknown field'],
      ['spec.toString', 'unknown field'],
    ],
  },
  {
    name: 'a matchLabels key named __proto__, which rules must still see',
    object: nsSelector(JSON.parse('{"matchLabels": {"__proto__": "x"}}')),
    issues: [[`${FROM0}.namespaceSelector.matchLabels`, 'keys must be label keys']],
  },
  { name: 'an unknown field in a port', object: withPorts({ port: 80, proto: 'TCP' }), issues: [[`${PORT0}.proto`, 'unknown field']] },
  {
    name: 'an unknown field in a status condition',
    object: { ...tenant({}), status: { conditions: [{ type: 'Ready', status: 'True', reason: 'R', message: '', lastTransitionTime: '2025-01-02T03:04:05Z', severity: 'x' }] } },
    issues: [['status.conditions[0].severity', 'unknown field']],
  },

  // Types, enums and bounds.
  { name: 'an unknown mode', object: tenant({ mode: 'Enforced' }), issues: [['spec.mode', 'must be one of "Enforce", "Audit", found "Enforced"']] },
  { name: 'dns as a string', object: tenant({ egress: { dns: 'yes' } }), issues: [['spec.egress.dns', 'must be a boolean, found a string']] },
  { name: 'namespaces as a string', object: tenant({ namespaces: 'a' }), issues: [['spec.namespaces', 'must be a list, found a string']] },
  { name: 'a namespace name with capitals', object: tenant({ namespaces: ['Team-A'] }), issues: [['spec.namespaces[0]', '"Team-A" is not a DNS label']] },
  { name: 'a namespace name of 64 characters', object: tenant({ namespaces: ['n'.repeat(64)] }), issues: [['spec.namespaces[0]', 'must be at most 63 characters, found 64']] },
  { name: 'a namespace named twice', object: tenant({ namespaces: ['a', 'b', 'a'] }), issues: [['spec.namespaces[2]', 'duplicate value "a"']] },
  {
    name: 'more peers than the bound',
    object: withIngress(...Array.from({ length: 65 }, () => ({ tenant: 'b' }))),
    issues: [['spec.ingress.from', 'must have at most 64 items, found 65']],
  },
  { name: 'a namespaces peer with no namespace', object: withIngress({ namespaces: [] }), issues: [[`${FROM0}.namespaces`, 'must have at least 1 item, found 0']] },
  { name: 'a tenant peer that is not a DNS label', object: withIngress({ tenant: 'Team B' }), issues: [[`${FROM0}.tenant`, 'is not a DNS label']] },
  { name: 'a peer that is a string', object: withIngress('team-b'), issues: [[FROM0, 'must be an object, found a string']] },
  { name: 'a peer that is null', object: withIngress(null), issues: [[FROM0, 'must be an object, found null']] },

  // Exposures.
  { name: 'an exposure without a name', object: tenant({ exposures: [{ from: [{ tenant: 'b' }] }] }), issues: [['spec.exposures[0].name', 'required field is missing']] },
  { name: 'an exposure without peers', object: tenant({ exposures: [{ name: 'web', from: [] }] }), issues: [['spec.exposures[0].from', 'must have at least 1 item, found 0']] },
  {
    name: 'an exposure name of 57 characters',
    object: tenant({ exposures: [{ name: 'x'.repeat(57), from: [{ tenant: 'b' }] }] }),
    issues: [['spec.exposures[0].name', 'must be at most 56 characters, found 57']],
  },
  {
    name: 'an exposure name that is not a DNS label',
    object: tenant({ exposures: [{ name: 'Web_1', from: [{ tenant: 'b' }] }] }),
    issues: [['spec.exposures[0].name', 'is not a DNS label']],
  },
  {
    name: 'two exposures with one name',
    object: tenant({
      exposures: [
        { name: 'web', from: [{ tenant: 'b' }] },
        { name: 'web', from: [{ tenant: 'c' }] },
      ],
    }),
    issues: [['spec.exposures[1]', 'duplicate entry with name "web"']],
  },
  { name: 'a bad peer inside an exposure', object: tenant({ exposures: [{ name: 'web', from: [{}] }] }), issues: [['spec.exposures[0].from[0]', 'exactly one of']] },

  // Peers: exactly one kind, and what goes with what.
  { name: 'an empty peer', object: withIngress({}), issues: [[FROM0, 'a peer must set exactly one of tenant, namespaces, namespaceSelector, cidr or internet']] },
  { name: 'a peer with a tenant and a CIDR', object: withEgress({ tenant: 'b', cidr: '10.0.0.0/8' }), issues: [[TO0, 'exactly one of']] },
  { name: 'a peer with namespaces and a namespaceSelector', object: withEgress({ namespaces: ['a'], namespaceSelector: {} }), issues: [[TO0, 'exactly one of']] },
  { name: 'a peer with only a podSelector', object: withEgress({ podSelector: {} }), issues: [[TO0, 'exactly one of']] },
  {
    name: 'a podSelector with a CIDR',
    object: withEgress({ cidr: '10.0.0.0/8', podSelector: {} }),
    issues: [[`${TO0}.podSelector`, 'podSelector cannot be combined with cidr or internet']],
  },
  { name: 'except without a CIDR', object: withEgress({ namespaces: ['a'], except: ['10.0.0.0/8'] }), issues: [[`${TO0}.except`, 'except is only allowed with cidr or internet']] },
  {
    name: 'allowCloudMetadata without a CIDR',
    object: withEgress({ tenant: 'b', allowCloudMetadata: false }),
    issues: [[`${TO0}.allowCloudMetadata`, 'allowCloudMetadata is only allowed with cidr']],
  },

  // The internet peer.
  { name: 'internet: false', object: withEgress({ internet: false }), issues: [[`${TO0}.internet`, 'must be true when set']] },
  { name: 'internet as a string', object: withEgress({ internet: 'yes' }), issues: [[`${TO0}.internet`, 'must be a boolean, found a string']] },
  {
    name: 'internet with a CIDR',
    object: withEgress({ internet: true, cidr: '0.0.0.0/0' }),
    issues: [[TO0, 'exactly one of tenant, namespaces, namespaceSelector, cidr or internet']],
  },
  { name: 'internet with a tenant', object: withIngress({ internet: true, tenant: 'b' }), issues: [[FROM0, 'exactly one of']] },
  {
    name: 'internet with a podSelector',
    object: withEgress({ internet: true, podSelector: {} }),
    issues: [[`${TO0}.podSelector`, 'podSelector cannot be combined with cidr or internet']],
  },
  {
    name: 'internet with allowCloudMetadata',
    object: withEgress({ internet: true, allowCloudMetadata: true }),
    issues: [[`${TO0}.allowCloudMetadata`, 'allowCloudMetadata cannot be combined with internet: the public internet never includes the cloud metadata endpoints']],
  },
  {
    name: 'internet with allowCloudMetadata false',
    object: withEgress({ internet: true, allowCloudMetadata: false }),
    issues: [[`${TO0}.allowCloudMetadata`, 'cannot be combined with internet']],
  },
  {
    name: 'an internet except in unique-local space',
    object: withEgress({ internet: true, except: ['fd00::/8'] }),
    issues: [[`${TO0}.except`, 'every except entry of an internet peer must be strictly inside 0.0.0.0/0 or 2000::/3']],
  },
  {
    name: 'an internet except that is all of IPv4',
    object: withEgress({ internet: true, except: ['0.0.0.0/0'] }),
    issues: [[`${TO0}.except`, 'strictly inside 0.0.0.0/0 or 2000::/3']],
  },
  {
    name: 'an internet except that is the whole IPv6 block',
    object: withEgress({ internet: true, except: ['2000::/3'] }),
    issues: [[`${TO0}.except`, 'strictly inside 0.0.0.0/0 or 2000::/3']],
  },
  {
    name: 'an internet except wider than the IPv6 block',
    object: withEgress({ internet: true, except: ['2000::/2'] }),
    issues: [[`${TO0}.except`, 'strictly inside 0.0.0.0/0 or 2000::/3']],
  },
  { name: 'an internet except of all IPv6', object: withEgress({ internet: true, except: ['::/0'] }), issues: [[`${TO0}.except`, 'strictly inside 0.0.0.0/0 or 2000::/3']] },
  {
    name: 'an internet except in link-local IPv6, among good ones',
    object: withEgress({ internet: true, except: ['8.8.8.0/24', 'fe80::/64'] }),
    issues: [[`${TO0}.except`, 'strictly inside 0.0.0.0/0 or 2000::/3']],
  },
  { name: 'an internet except that is not a CIDR', object: withEgress({ internet: true, except: ['8.8.8.8'] }), issues: [[`${TO0}.except[0]`, 'must be a CIDR']] },
  {
    name: 'a bad internet peer in an exposure',
    object: tenant({ exposures: [{ name: 'web', from: [{ internet: true, except: ['fc00::/7'] }] }] }),
    issues: [['spec.exposures[0].from[0].except', 'strictly inside 0.0.0.0/0 or 2000::/3']],
  },

  // CIDRs.
  { name: 'a CIDR that is not one', object: withEgress({ cidr: 'not-a-cidr' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  { name: 'an address without a prefix length', object: withEgress({ cidr: '10.0.0.1' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  { name: 'an IPv4 prefix longer than 32', object: withEgress({ cidr: '10.0.0.0/33' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  { name: 'an IPv4 octet with a leading zero', object: withEgress({ cidr: '010.0.0.0/8' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  { name: 'an IPv4-mapped IPv6 CIDR', object: withEgress({ cidr: '::ffff:10.0.0.0/104' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  { name: 'an IPv6 CIDR with a zone', object: withEgress({ cidr: 'fe80::1%eth0/64' }), issues: [[`${TO0}.cidr`, 'must be a CIDR']] },
  {
    name: 'a CIDR longer than the bound',
    object: withEgress({ cidr: `${'0:'.repeat(40)}/8` }),
    issues: [
      [`${TO0}.cidr`, 'must be at most 64 characters'],
      [`${TO0}.cidr`, 'must be a CIDR'],
    ],
  },
  {
    name: 'an except entry that is not a CIDR',
    object: withEgress({ cidr: '10.0.0.0/8', except: ['10.1.0.0'] }),
    issues: [[`${TO0}.except[0]`, 'must be a CIDR']],
  },
  {
    name: 'an except entry outside the CIDR',
    object: withEgress({ cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] }),
    issues: [[`${TO0}.except`, 'every except entry must be strictly inside cidr']],
  },
  { name: 'an except entry equal to the CIDR', object: withEgress({ cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] }), issues: [[`${TO0}.except`, 'strictly inside']] },
  { name: 'an except entry wider than the CIDR', object: withEgress({ cidr: '10.1.0.0/16', except: ['10.0.0.0/8'] }), issues: [[`${TO0}.except`, 'strictly inside']] },
  { name: 'an IPv6 except entry in an IPv4 CIDR', object: withEgress({ cidr: '0.0.0.0/0', except: ['fd00::/8'] }), issues: [[`${TO0}.except`, 'strictly inside']] },
  {
    name: 'an except entry listed twice',
    object: withEgress({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.1.0.0/16'] }),
    issues: [[`${TO0}.except[1]`, 'duplicate value "10.1.0.0/16"']],
  },

  // Ports.
  { name: 'port 0', object: withPorts({ port: 0 }), issues: [[`${PORT0}.port`, 'a numeric port must be between 1 and 65535']] },
  { name: 'port 65536', object: withPorts({ port: 65536 }), issues: [[`${PORT0}.port`, 'between 1 and 65535']] },
  { name: 'a fractional port', object: withPorts({ port: 80.5 }), issues: [[`${PORT0}.port`, 'must be an integer or a string, found a number']] },
  { name: 'a named port with capitals', object: withPorts({ port: 'HTTP' }), issues: [[`${PORT0}.port`, 'a named port must be']] },
  { name: 'a port number written as a string', object: withPorts({ port: '8080' }), issues: [[`${PORT0}.port`, 'with at least one letter']] },
  { name: 'a named port with a double hyphen', object: withPorts({ port: 'a--b' }), issues: [[`${PORT0}.port`, 'a named port must be']] },
  { name: 'a named port ending in a hyphen', object: withPorts({ port: 'http-' }), issues: [[`${PORT0}.port`, 'a named port must be']] },
  { name: 'a named port of 16 characters', object: withPorts({ port: 'a'.repeat(16) }), issues: [[`${PORT0}.port`, 'must be at most 15 characters, found 16']] },
  { name: 'an endPort with a named port', object: withPorts({ port: 'http', endPort: 90 }), issues: [[`${PORT0}.endPort`, 'endPort needs a numeric port']] },
  { name: 'an endPort without a port', object: withPorts({ endPort: 90 }), issues: [[`${PORT0}.endPort`, 'endPort needs a numeric port']] },
  { name: 'an endPort below the port', object: withPorts({ port: 90, endPort: 80 }), issues: [[`${PORT0}.endPort`, 'endPort must be greater than or equal to port']] },
  { name: 'an endPort above 65535', object: withPorts({ port: 90, endPort: 65536 }), issues: [[`${PORT0}.endPort`, 'must be at most 65535, found 65536']] },
  { name: 'an unknown protocol', object: withPorts({ port: 1, protocol: 'ICMP' }), issues: [[`${PORT0}.protocol`, 'must be one of "TCP", "UDP", "SCTP", found "ICMP"']] },
  {
    name: 'a bad port in an exposure',
    object: tenant({ exposures: [{ name: 'web', from: [{ tenant: 'b' }], ports: [{ port: 0 }] }] }),
    issues: [['spec.exposures[0].ports[0].port', 'between 1 and 65535']],
  },

  // Label selectors.
  {
    name: 'In without values',
    object: nsSelector({ matchExpressions: [{ key: 'env', operator: 'In' }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].values`, 'operators In and NotIn need at least one value']],
  },
  {
    name: 'NotIn with an empty list',
    object: nsSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: [] }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].values`, 'In and NotIn need at least one value']],
  },
  {
    name: 'Exists with values',
    object: nsSelector({ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].values`, 'Exists and DoesNotExist take none']],
  },
  {
    name: 'an unknown operator',
    object: nsSelector({ matchExpressions: [{ key: 'env', operator: 'Has' }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].operator`, 'must be one of "In", "NotIn", "Exists", "DoesNotExist"']],
  },
  {
    name: 'a requirement without an operator',
    object: nsSelector({ matchExpressions: [{ key: 'env' }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].operator`, 'required field is missing']],
  },
  {
    name: 'a requirement key that is not a label key',
    object: nsSelector({ matchExpressions: [{ key: 'bad key', operator: 'Exists' }] }),
    issues: [[`${FROM0}.namespaceSelector.matchExpressions[0].key`, '"bad key" is not a label key']],
  },
  {
    name: 'a matchLabels key that is not a label key',
    object: nsSelector({ matchLabels: { 'bad key': 'x' } }),
    issues: [[`${FROM0}.namespaceSelector.matchLabels`, 'keys must be label keys']],
  },
  {
    name: 'a matchLabels key with a name over 63 characters',
    object: nsSelector({ matchLabels: { ['k'.repeat(64)]: 'x' } }),
    issues: [[`${FROM0}.namespaceSelector.matchLabels`, 'keys must be label keys']],
  },
  {
    name: 'a matchLabels value that is not a label value',
    object: nsSelector({ matchLabels: { app: 'a b' } }),
    issues: [[`${FROM0}.namespaceSelector.matchLabels.app`, '"a b" is not a label value']],
  },
  {
    name: 'a matchLabels value of 64 characters',
    object: tenant({ namespaceSelector: { matchLabels: { app: 'v'.repeat(64) } } }),
    issues: [['spec.namespaceSelector.matchLabels.app', 'must be at most 63 characters']],
  },
  {
    name: 'more matchLabels than the bound',
    object: tenant({ namespaceSelector: { matchLabels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) } }),
    issues: [['spec.namespaceSelector.matchLabels', 'must have at most 32 entries, found 33']],
  },
];

function byPath<T extends { path: string }>(list: T[]): T[] {
  return [...list].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

describe('validateTenantIsolation', () => {
  test.each(acceptedCases.map((c) => [c.name, c] as const))('accepts %s', (_, c) => {
    expect(validateTenantIsolation(c.object)).toEqual([]);
  });

  test.each(rejectedCases.map((c) => [c.name, c] as const))('rejects %s', (_, c) => {
    const got = validateTenantIsolation(c.object).map((i) => ({ path: formatPath(i.path), message: i.message }));
    const want = c.issues.map(([path, fragment]) => ({ path, message: expect.stringContaining(fragment) as unknown }));
    expect(byPath(got)).toEqual(byPath(want));
  });

  test('every message names the field it is about', () => {
    for (const c of rejectedCases) {
      for (const issue of validateTenantIsolation(c.object)) {
        const where = issue.path.length === 0 ? 'a TenantIsolation' : formatPath(issue.path);
        expect(issue.message).toContain(where);
      }
    }
  });

  test('reports issues at paths into the object, with indexes as numbers', () => {
    const issues = validateTenantIsolation(withEgress({ tenant: 'b' }, { cidr: 'x' }));
    expect(issues.map((i) => i.path)).toEqual([['spec', 'egress', 'to', 1, 'cidr']]);
  });

  test('does not evaluate the rules of a node whose subtree has the wrong type', () => {
    // The endPort rule would otherwise report that a boolean port is not numeric; only the type error is useful.
    const issues = validateTenantIsolation(withPorts({ port: true, endPort: 5 }));
    expect(issues.map((i) => i.message)).toEqual([`${PORT0}.port: must be an integer or a string, found a boolean`]);
  });

  test('still evaluates the rules of sibling nodes when one subtree is broken', () => {
    const issues = validateTenantIsolation(withIngress({ tenant: 'b', ports: [{ port: 'x', endPort: 'y' }] }, { cidr: 'nope' }));
    expect(issues.map((i) => formatPath(i.path))).toEqual([`${PORT0}.endPort`, 'spec.ingress.from[1].cidr']);
  });

  test('does not change the object it validates', () => {
    const obj = withEgress({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] });
    const copy = structuredClone(obj);
    Object.freeze(obj);
    validateTenantIsolation(obj);
    expect(obj).toEqual(copy);
  });
});

describe('validateValue, the engine behind it', () => {
  const schema: JSONSchemaProps = {
    type: 'object',
    properties: {
      egress: { type: 'object', default: {}, properties: { dns: { type: 'boolean', default: true } } },
      port: { 'x-kubernetes-int-or-string': true },
    },
    'x-kubernetes-validations': [
      { rule: 'self.egress.dns', message: 'dns must stay on' },
      { rule: '!has(self.extra)', message: 'extra must have been pruned' },
      { rule: '!has(self.port) || self.port > 1', message: 'port must be above 1' },
    ],
  };

  test('applies nested defaults before evaluating rules, as the API server does', () => {
    expect(validateValue({}, schema)).toEqual([]);
    expect(validateValue({ egress: null }, schema)).toEqual([]);
    expect(validateValue({ egress: { dns: false } }, schema)).toEqual([{ path: [], message: 'dns must stay on' }]);
  });

  test('prunes unknown fields before evaluating rules', () => {
    expect(validateValue({ extra: 1 }, schema)).toEqual([{ path: ['extra'], message: 'unknown field "extra"' }]);
  });

  test('reports a rule that cannot be evaluated, naming the rule', () => {
    expect(validateValue({ port: 'http' }, schema)).toEqual([
      { path: [], message: expect.stringContaining('could not evaluate the rule "!has(self.port) || self.port > 1"') as unknown },
    ]);
  });
});

describe('validateStatus, as the status subresource checks what the controller writes', () => {
  const condition = { type: 'Ready', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: '2025-01-02T03:04:05Z' };

  test('accepts a complete status', () => {
    expect(validateStatus({ observedGeneration: 1, conditions: [condition], memberNamespaces: ['a'], conflictingNamespaces: [], policyCount: 4, plannedChanges: [] })).toEqual([]);
  });

  test.each([
    ['a negative policy count', { policyCount: -1 }, 'status.policyCount', 'must be at least 0, found -1'],
    ['a condition with an unknown status', { conditions: [{ ...condition, status: 'Maybe' }] }, 'status.conditions[0].status', 'must be one of "True", "False", "Unknown"'],
    [
      'a condition with a time that is not RFC 3339',
      { conditions: [{ ...condition, lastTransitionTime: 'yesterday' }] },
      'status.conditions[0].lastTransitionTime',
      'is not an RFC 3339 date-time',
    ],
    ['two conditions of one type', { conditions: [condition, condition] }, 'status.conditions[1]', 'duplicate entry with type "Ready"'],
    ['a condition without a reason', { conditions: [{ ...condition, reason: undefined }] }, 'status.conditions[0].reason', 'required field is missing'],
    [
      'a planned change with an unknown action',
      { plannedChanges: [{ action: 'rename', namespace: 'a', name: 'b' }] },
      'status.plannedChanges[0].action',
      'must be one of "create", "update", "delete"',
    ],
  ])('rejects %s', (_, status, path, fragment) => {
    expect(validateStatus(status).map((i) => ({ path: formatPath(i.path), message: i.message }))).toEqual([{ path, message: expect.stringContaining(fragment) as unknown }]);
  });
});
