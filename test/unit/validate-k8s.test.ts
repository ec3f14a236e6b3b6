/**
 * src/api/validate-k8s.ts and src/api/names.ts: the built-in kinds netfence reads, validated
 * as the API server validates them on create. One row per rule: a valid object passes, each
 * invalid variant yields exactly the expected messages.
 */
import { API_VERSION, KIND } from '../../src/api/constants.js';
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem, portNameProblem } from '../../src/api/names.js';
import { formatPath, type ValidationIssue } from '../../src/api/validate.js';
import { cidrProblem, MAX_ANNOTATIONS_BYTES, validateNamespace, validateNetworkPolicy, validatePod, validateTenantMetadata } from '../../src/api/validate-k8s.js';
import { deepFreeze } from '../../src/core/objects.js';

type Obj = Record<string, unknown>;
type Validate = (obj: Obj) => ValidationIssue[];

const META = { name: 'web', namespace: 'team-a' };
const policy = (spec: unknown, metadata: unknown = META): Obj => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec });
const from = (...peers: unknown[]): Obj => policy({ podSelector: {}, ingress: [{ from: peers }] });
const to = (...peers: unknown[]): Obj => policy({ podSelector: {}, egress: [{ to: peers }] });
const ports = (...list: unknown[]): Obj => policy({ podSelector: {}, ingress: [{ ports: list }] });
const podSelector = (selector: unknown): Obj => policy({ podSelector: selector });
const namespace = (metadata: unknown, rest: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata, ...rest });
const pod = (spec: unknown, status?: unknown, metadata: unknown = { name: 'web-0', namespace: 'team-a' }): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec,
  ...(status === undefined ? {} : { status }),
});
const portsOfPod = (...list: unknown[]): Obj => pod({ containers: [{ name: 'app', image: 'nginx', ports: list }] });
const tenant = (metadata: Obj): Obj => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'team-a', ...metadata }, spec: {} });

const PEER0 = 'spec.ingress[0].from[0]';
const PORT0 = 'spec.ingress[0].ports[0]';
const PORT_0 = 'spec.containers[0].ports[0]';

const NOT_DNS_LABEL = "is not a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit";
const NOT_SUBDOMAIN = "is not a DNS subdomain: lowercase letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit";
const NOT_LABEL_KEY =
  "is not a label key: an optional DNS subdomain of at most 253 characters and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
const NOT_LABEL_VALUE = "is not a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)";
const NOT_PORT_NAME = "is not a port name: 1 to 15 lowercase letters, digits and '-', with at least one letter, no '-' at either end and no '--'";

/** What `kubectl get -o yaml` prints in metadata: every standard field. */
const FULL_METADATA = {
  name: 'web',
  namespace: 'team-a',
  uid: '6f0d3c0e-1111-2222-3333-444455556666',
  resourceVersion: '123',
  generation: 2,
  creationTimestamp: '2025-01-02T03:04:05Z',
  labels: { 'app.kubernetes.io/name': 'web', tier: '' },
  annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'Example.com/Note': 'x' },
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'abc', controller: true, blockOwnerDeletion: true }],
  finalizers: ['example.com/cleanup'],
  managedFields: [
    { manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2025-01-02T03:04:05Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } },
  ],
};

const accepted: [string, Validate, Obj][] = [
  [
    'a NetworkPolicy using every field',
    validateNetworkPolicy,
    policy(
      {
        podSelector: {
          matchLabels: { app: 'web' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { podSelector: {} },
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-b' } }, podSelector: { matchLabels: { app: 'api' } } },
              { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.169.254/32'] } },
            ],
            ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'UDP', port: 8000, endPort: 9000 }, { port: 'http' }, { protocol: 'SCTP' }],
          },
        ],
        egress: [{ to: [{ ipBlock: { cidr: 'fd00::/8', except: ['fd00:ec2::254/128'] } }], ports: [{ port: 53, endPort: 53 }] }],
      },
      FULL_METADATA,
    ),
  ],
  [
    'a NetworkPolicy with null fields, which the API server drops',
    validateNetworkPolicy,
    policy({ podSelector: {}, ingress: null, egress: [{ to: null, ports: null }], policyTypes: null }),
  ],
  ['a NetworkPolicy without podSelector, which selects every pod', validateNetworkPolicy, policy({ ingress: [] })],
  ['a NetworkPolicy without spec', validateNetworkPolicy, policy(undefined)],
  ['a NetworkPolicy with a status, left unchecked', validateNetworkPolicy, { ...policy({ podSelector: {} }), status: { conditions: [{ anything: 1 }] } }],
  ['a NetworkPolicy naming a policy type twice, as the API server allows', validateNetworkPolicy, policy({ podSelector: {}, policyTypes: ['Ingress', 'Ingress'] })],
  ['a CIDR with host bits set', validateNetworkPolicy, to({ ipBlock: { cidr: '10.1.2.3/8', except: ['10.1.0.0/16'] } })],
  [
    'a NetworkPolicy name of 253 characters with dots',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, namespace: 'team-a' }),
  ],
  ['annotations of exactly 256 KiB', validateNetworkPolicy, policy({ podSelector: {} }, { ...META, annotations: { a: 'x'.repeat(MAX_ANNOTATIONS_BYTES - 1) } })],
  [
    'a Namespace as kubectl prints it',
    validateNamespace,
    namespace({ ...FULL_METADATA, namespace: undefined, name: 'team-a' }, { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }),
  ],
  ['a Namespace name of 63 characters', validateNamespace, namespace({ name: 'n'.repeat(63) })],
  ['a Namespace with a stray namespace, which the API server clears', validateNamespace, namespace({ name: 'team-a', namespace: 'default' })],
  [
    'a Pod with fields netfence does not model',
    validatePod,
    pod(
      {
        hostNetwork: false,
        nodeName: 'node-1',
        containers: [
          {
            name: 'app',
            image: 'nginx',
            env: [],
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP', hostPort: 80 },
              { containerPort: 53, protocol: 'UDP' },
            ],
          },
          { name: 'sidecar', ports: [{ name: 'http', containerPort: 9090 }] },
        ],
      },
      { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }], hostIP: '192.168.0.1' },
      { ...FULL_METADATA, name: 'web-0', somethingNew: true },
    ),
  ],
  ['a pending Pod with an empty podIP', validatePod, pod({ containers: [] }, { podIP: '' })],
  ['a TenantIsolation with labels and annotations', validateTenantMetadata, tenant({ labels: { 'example.com/owner': 'team-a' }, annotations: { note: 'x' } })],
];

const rejected: [string, Validate, Obj, string[]][] = [
  // Strict decoding: unknown fields and types.
  ['an unknown metadata field', validateNetworkPolicy, policy({ podSelector: {} }, { ...META, label: {} }), ['unknown field "metadata.label"']],
  ['an unknown spec field', validateNetworkPolicy, policy({ podSelector: {}, ingres: [] }), ['unknown field "spec.ingres"']],
  ['an unknown rule field', validateNetworkPolicy, policy({ podSelector: {}, egress: [{ too: [] }] }), ['unknown field "spec.egress[0].too"']],
  ['an unknown peer field', validateNetworkPolicy, from({ podSelector: {}, namespace: 'x' }), [`unknown field "${PEER0}.namespace"`]],
  ['an unknown ipBlock field', validateNetworkPolicy, from({ ipBlock: { cidr: '10.0.0.0/8', exclude: [] } }), [`unknown field "${PEER0}.ipBlock.exclude"`]],
  ['an unknown port field', validateNetworkPolicy, ports({ port: 80, proto: 'TCP' }), [`unknown field "${PORT0}.proto"`]],
  ['an unknown selector field', validateNetworkPolicy, podSelector({ matchLabel: { a: 'b' } }), ['unknown field "spec.podSelector.matchLabel"']],
  ['an unknown top-level field', validateNetworkPolicy, { ...policy({ podSelector: {} }), specs: {} }, ['unknown field "specs"']],
  ['an unknown Namespace field', validateNamespace, namespace({ name: 'team-a' }, { spec: { finalizer: [] } }), ['unknown field "spec.finalizer"']],
  ['ingress as an object', validateNetworkPolicy, policy({ podSelector: {}, ingress: {} }), ['spec.ingress: must be a list, found an object']],
  ['a port of the wrong type', validateNetworkPolicy, ports({ port: 80.5 }), [`${PORT0}.port: must be an integer or a string, found a number`]],
  ['labels that are not strings', validateNamespace, namespace({ name: 'team-a', labels: { a: 1 } }), ['metadata.labels.a: must be a string, found an integer']],
  ['an ipBlock without cidr', validateNetworkPolicy, from({ ipBlock: {} }), [`${PEER0}.ipBlock.cidr: required field is missing`]],
  ['an ipBlock with an empty cidr', validateNetworkPolicy, from({ ipBlock: { cidr: '' } }), [`${PEER0}.ipBlock.cidr: must not be empty`]],
  [
    'a requirement without operator',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a' }] }),
    ['spec.podSelector.matchExpressions[0].operator: required field is missing'],
  ],

  // policyTypes.
  [
    'a lowercase policy type',
    validateNetworkPolicy,
    policy({ podSelector: {}, policyTypes: ['ingress'] }),
    ['spec.policyTypes[0]: must be one of "Ingress", "Egress", found "ingress"'],
  ],
  [
    'three policy types',
    validateNetworkPolicy,
    policy({ podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Egress'] }),
    ['spec.policyTypes: must have at most 2 items, found 3'],
  ],

  // Selectors.
  [
    'In without values',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] }),
    ['spec.podSelector.matchExpressions[0].values: operator In needs at least one value'],
  ],
  [
    'NotIn with an empty list',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }),
    ['spec.podSelector.matchExpressions[0].values: operator NotIn needs at least one value'],
  ],
  [
    'Exists with values',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
    ['spec.podSelector.matchExpressions[0].values: operator Exists takes no values'],
  ],
  [
    'an unknown operator',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }),
    ['spec.podSelector.matchExpressions[0].operator: unknown operator "Gt": must be In, NotIn, Exists or DoesNotExist'],
  ],
  [
    'a requirement key that is not a label key',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a b', operator: 'Exists' }] }),
    [`spec.podSelector.matchExpressions[0].key: "a b" ${NOT_LABEL_KEY}`],
  ],
  [
    'a requirement value that is not a label value',
    validateNetworkPolicy,
    podSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] }),
    [`spec.podSelector.matchExpressions[0].values[1]: "not ok" ${NOT_LABEL_VALUE}`],
  ],
  [
    'a matchLabels key that is not a label key',
    validateNetworkPolicy,
    from({ namespaceSelector: { matchLabels: { 'k 8s': 'v' } } }),
    [`${PEER0}.namespaceSelector.matchLabels[k 8s]: "k 8s" ${NOT_LABEL_KEY}`],
  ],
  [
    'a matchLabels value that is not a label value',
    validateNetworkPolicy,
    from({ podSelector: { matchLabels: { app: 'v v' } } }),
    [`${PEER0}.podSelector.matchLabels.app: "v v" ${NOT_LABEL_VALUE}`],
  ],

  // Peers.
  ['an empty peer', validateNetworkPolicy, from({}), [`${PEER0}: must specify a peer: podSelector, namespaceSelector or ipBlock`]],
  ['a peer of nulls', validateNetworkPolicy, to({ podSelector: null, ipBlock: null }), ['spec.egress[0].to[0]: must specify a peer: podSelector, namespaceSelector or ipBlock']],
  [
    'ipBlock with podSelector',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }),
    [`${PEER0}: ipBlock cannot be combined with podSelector or namespaceSelector`],
  ],
  [
    'ipBlock with namespaceSelector',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/8' }, namespaceSelector: {} }),
    [`${PEER0}: ipBlock cannot be combined with podSelector or namespaceSelector`],
  ],

  // CIDRs.
  [
    'a prefix longer than the address',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/33' } }),
    [`${PEER0}.ipBlock.cidr: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8`],
  ],
  [
    'an address without a prefix',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.1' } }),
    [`${PEER0}.ipBlock.cidr: "10.0.0.1" is not a CIDR such as 10.0.0.0/8 or fd00::/8`],
  ],
  [
    'an IPv6 CIDR that does not parse',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: 'fd00:::1/64' } }),
    [`${PEER0}.ipBlock.cidr: "fd00:::1/64" is not a CIDR such as 10.0.0.0/8 or fd00::/8`],
  ],
  [
    'an IPv4 CIDR with leading zeros',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '010.000.0.0/08' } }),
    [`${PEER0}.ipBlock.cidr: "010.000.0.0/08" has leading zeros, which the API server reads as decimal and other software as octal: write 10.0.0.0/8`],
  ],
  [
    'an IPv4-mapped IPv6 CIDR',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '::ffff:10.0.0.0/104' } }),
    [`${PEER0}.ipBlock.cidr: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 prefix, which some implementations read as IPv4 and others as IPv6: write the IPv4 CIDR`],
  ],
  [
    'an except that is not a CIDR',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0'] } }),
    [`${PEER0}.ipBlock.except[0]: "10.1.0.0" is not a CIDR such as 10.0.0.0/8 or fd00::/8`],
  ],
  [
    'an except equal to cidr',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }),
    [`${PEER0}.ipBlock.except[0]: "10.0.0.0/8" is not strictly inside cidr 10.0.0.0/8: an except must be a longer prefix of the same address family inside it`],
  ],
  [
    'an except outside cidr',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }),
    [`${PEER0}.ipBlock.except[0]: "192.168.0.0/16" is not strictly inside cidr 10.0.0.0/8: an except must be a longer prefix of the same address family inside it`],
  ],
  [
    'an except of the other family',
    validateNetworkPolicy,
    from({ ipBlock: { cidr: '0.0.0.0/0', except: ['fd00::/8'] } }),
    [`${PEER0}.ipBlock.except[0]: "fd00::/8" is not strictly inside cidr 0.0.0.0/0: an except must be a longer prefix of the same address family inside it`],
  ],

  // Ports.
  ['port 0', validateNetworkPolicy, ports({ port: 0 }), [`${PORT0}.port: must be between 1 and 65535, found 0`]],
  ['port 70000', validateNetworkPolicy, ports({ port: 70000 }), [`${PORT0}.port: must be between 1 and 65535, found 70000`]],
  ['a port number written as a string', validateNetworkPolicy, ports({ port: '80' }), [`${PORT0}.port: "80" ${NOT_PORT_NAME}`]],
  ['a port name with capitals', validateNetworkPolicy, ports({ port: 'HTTP' }), [`${PORT0}.port: "HTTP" ${NOT_PORT_NAME}`]],
  ['a port name of 16 characters', validateNetworkPolicy, ports({ port: 'a'.repeat(16) }), [`${PORT0}.port: "${'a'.repeat(16)}" ${NOT_PORT_NAME}`]],
  ['a port name with a double hyphen', validateNetworkPolicy, ports({ port: 'web--tls' }), [`${PORT0}.port: "web--tls" ${NOT_PORT_NAME}`]],
  ['a port name ending in a hyphen', validateNetworkPolicy, ports({ port: 'web-' }), [`${PORT0}.port: "web-" ${NOT_PORT_NAME}`]],
  ['a lowercase protocol', validateNetworkPolicy, ports({ protocol: 'tcp', port: 80 }), [`${PORT0}.protocol: must be one of "TCP", "UDP", "SCTP", found "tcp"`]],
  ['endPort without port', validateNetworkPolicy, ports({ endPort: 90 }), [`${PORT0}.endPort: needs a numeric port, found none`]],
  ['endPort with a named port', validateNetworkPolicy, ports({ port: 'http', endPort: 90 }), [`${PORT0}.endPort: needs a numeric port, found the named port "http"`]],
  ['endPort below port', validateNetworkPolicy, ports({ port: 100, endPort: 90 }), [`${PORT0}.endPort: must be at least port 100, found 90`]],
  ['endPort above 65535', validateNetworkPolicy, ports({ port: 100, endPort: 70000 }), [`${PORT0}.endPort: must be at most 65535, found 70000`]],

  // Metadata.
  ['a NetworkPolicy without metadata', validateNetworkPolicy, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', spec: { podSelector: {} } }, ['metadata is required']],
  ['a NetworkPolicy without a name', validateNetworkPolicy, policy({ podSelector: {} }, { namespace: 'team-a' }), ['metadata.name is required']],
  [
    'a NetworkPolicy without a namespace',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { name: 'web' }),
    ['metadata.namespace is required (render takes fully rendered manifests, e.g. the output of `kustomize build`)'],
  ],
  [
    'a NetworkPolicy name that is not a DNS subdomain',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, name: 'Allow_Web' }),
    [`metadata.name: "Allow_Web" ${NOT_SUBDOMAIN}`],
  ],
  [
    'a NetworkPolicy name of 254 characters',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}` }),
    ['metadata.name: must be at most 253 characters, found 254'],
  ],
  ['a namespace that is not a DNS label', validateNetworkPolicy, policy({ podSelector: {} }, { ...META, namespace: 'team.a' }), [`metadata.namespace: "team.a" ${NOT_DNS_LABEL}`]],
  ['a Namespace named Team_A', validateNamespace, namespace({ name: 'Team_A' }), [`metadata.name: "Team_A" ${NOT_DNS_LABEL}`]],
  ['a Namespace name of 64 characters', validateNamespace, namespace({ name: 'n'.repeat(64) }), ['metadata.name: must be at most 63 characters, found 64']],
  ['a Namespace name with a dot', validateNamespace, namespace({ name: 'team.a' }), [`metadata.name: "team.a" ${NOT_DNS_LABEL}`]],
  ['a Namespace without a name', validateNamespace, namespace({ labels: {} }), ['metadata.name is required']],
  ['a label key with two slashes', validateNamespace, namespace({ name: 'a', labels: { 'a/b/c': 'x' } }), [`metadata.labels[a/b/c]: "a/b/c" ${NOT_LABEL_KEY}`]],
  [
    'a label key with a prefix of capitals',
    validateNamespace,
    namespace({ name: 'a', labels: { 'Example.com/team': 'x' } }),
    [`metadata.labels[Example.com/team]: "Example.com/team" ${NOT_LABEL_KEY}`],
  ],
  [
    'a label value of 64 characters',
    validateNamespace,
    namespace({ name: 'a', labels: { team: 'v'.repeat(64) } }),
    ['metadata.labels.team: must be at most 63 characters, found 64'],
  ],
  [
    'an annotation key that is not a qualified name',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, annotations: { 'not ok': 'x' } }),
    [`metadata.annotations[not ok]: "not ok" ${NOT_LABEL_KEY.replace('a label key', 'an annotation key')}`],
  ],
  [
    'annotations over 256 KiB',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, annotations: { a: 'x'.repeat(MAX_ANNOTATIONS_BYTES) } }),
    [`metadata.annotations: must be at most ${MAX_ANNOTATIONS_BYTES} bytes in all (keys and values), found ${MAX_ANNOTATIONS_BYTES + 1}`],
  ],
  [
    'annotations over 256 KiB in bytes but not in characters',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, annotations: { a: 'é'.repeat(MAX_ANNOTATIONS_BYTES / 2) } }),
    [`metadata.annotations: must be at most ${MAX_ANNOTATIONS_BYTES} bytes in all (keys and values), found ${MAX_ANNOTATIONS_BYTES + 1}`],
  ],
  [
    'an ownerReference without uid',
    validateNetworkPolicy,
    policy({ podSelector: {} }, { ...META, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x' }] }),
    ['metadata.ownerReferences[0].uid: required field is missing'],
  ],
  [
    'a creationTimestamp that is not a time',
    validateNamespace,
    namespace({ name: 'a', creationTimestamp: 'yesterday' }),
    ['metadata.creationTimestamp: "yesterday" is not an RFC 3339 date-time'],
  ],
  [
    'a TenantIsolation label value that is not a label value',
    validateTenantMetadata,
    tenant({ labels: { owner: 'team a' } }),
    [`metadata.labels.owner: "team a" ${NOT_LABEL_VALUE}`],
  ],
  [
    'a TenantIsolation annotation key that is not a qualified name',
    validateTenantMetadata,
    tenant({ annotations: { '-x': 'y' } }),
    [`metadata.annotations[-x]: "-x" ${NOT_LABEL_KEY.replace('a label key', 'an annotation key')}`],
  ],
  ['an unknown TenantIsolation metadata field', validateTenantMetadata, tenant({ lables: {} }), ['unknown field "metadata.lables"']],

  // Pods.
  [
    'a Pod without a namespace',
    validatePod,
    pod({}, undefined, { name: 'web-0' }),
    ['metadata.namespace is required (render takes fully rendered manifests, e.g. the output of `kustomize build`)'],
  ],
  ['a Pod name that is not a DNS subdomain', validatePod, pod({}, undefined, { name: 'Web_0', namespace: 'team-a' }), [`metadata.name: "Web_0" ${NOT_SUBDOMAIN}`]],
  ['hostNetwork as a string', validatePod, pod({ hostNetwork: 'true' }), ['spec.hostNetwork: must be a boolean, found a string']],
  ['containers as an object', validatePod, pod({ containers: {} }), ['spec.containers: must be a list, found an object']],
  ['containerPort 0', validatePod, portsOfPod({ containerPort: 0 }), [`${PORT_0}.containerPort: must be between 1 and 65535, found 0`]],
  ['containerPort 65536', validatePod, portsOfPod({ containerPort: 65536 }), [`${PORT_0}.containerPort: must be between 1 and 65535, found 65536`]],
  ['containerPort as a string', validatePod, portsOfPod({ containerPort: '80' }), [`${PORT_0}.containerPort: must be an integer, found a string`]],
  ['a container port without containerPort', validatePod, portsOfPod({ name: 'http' }), [`${PORT_0}.containerPort: required field is missing`]],
  ['a container port name that is not a port name', validatePod, portsOfPod({ containerPort: 80, name: 'Http' }), [`${PORT_0}.name: "Http" ${NOT_PORT_NAME}`]],
  ['a container port name made of digits', validatePod, portsOfPod({ containerPort: 80, name: '8080' }), [`${PORT_0}.name: "8080" ${NOT_PORT_NAME}`]],
  [
    'a port name twice in one container',
    validatePod,
    portsOfPod({ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'http' }),
    ['spec.containers[0].ports[1].name: duplicate port name "http" in this container (first at ports[0])'],
  ],
  [
    'a container port protocol in lowercase',
    validatePod,
    portsOfPod({ containerPort: 80, protocol: 'udp' }),
    [`${PORT_0}.protocol: must be one of "TCP", "UDP", "SCTP", found "udp"`],
  ],
  ['a podIP that is not an IP', validatePod, pod({}, { podIP: '10.0.0.300' }), ['status.podIP: "10.0.0.300" is not an IP address']],
  [
    'a podIPs entry that is not an IP',
    validatePod,
    pod({}, { podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::zz' }] }),
    ['status.podIPs[1].ip: "fd00::zz" is not an IP address'],
  ],
  ['a podIP that is a CIDR', validatePod, pod({}, { podIP: '10.0.0.5/32' }), ['status.podIP: "10.0.0.5/32" is not an IP address']],
];

describe('the built-in kinds are validated as the API server validates them on create', () => {
  test.each(accepted)('accepts %s', (_name, validate, object) => {
    expect(validate(deepFreeze(object))).toEqual([]);
  });

  test.each(rejected)('rejects %s', (_name, validate, object, messages) => {
    expect(validate(deepFreeze(object)).map((i) => i.message)).toEqual(messages);
  });

  test('every issue but a missing metadata, name or namespace starts with the path it is at', () => {
    for (const [, validate, object] of rejected) {
      for (const issue of validate(object)) {
        if (/^metadata(\.name|\.namespace)? is required/.test(issue.message)) continue;
        const where = formatPath(issue.path);
        expect([`${where}: `, `unknown field "${where}"`].some((start) => issue.message.startsWith(start))).toBe(true);
      }
    }
  });

  test('reports every problem of an object at once', () => {
    const issues = validateNetworkPolicy(policy({ podSelector: {}, policyTypes: ['ingress'], ingress: [{ from: [{}], ports: [{ port: 70000 }] }] }, { ...META, name: 'Web' }));
    expect(issues.map((i) => formatPath(i.path))).toEqual(['spec.policyTypes[0]', 'metadata.name', 'spec.ingress[0].from[0]', 'spec.ingress[0].ports[0].port']);
  });
});

describe('the name formats of k8s.io/apimachinery/pkg/util/validation', () => {
  test.each([
    ['a DNS label', dnsLabelProblem, ['a', 'team-a', '0a', 'a'.repeat(63)], ['', 'A', '-a', 'a-', 'a.b', 'a_b', 'a'.repeat(64)]],
    [
      'a DNS subdomain',
      dnsSubdomainProblem,
      ['a', 'a.b', 'a-1.b-2', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
      ['', 'A', 'a..b', '.a', 'a.', 'a_b', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`],
    ],
    [
      'a label key',
      labelKeyProblem,
      ['a', 'A_b.c-D', 'example.com/Team', `${'p'.repeat(253)}/${'n'.repeat(63)}`],
      ['', '/a', 'a/', 'a/b/c', 'Example.com/a', '_a', 'a ', `${'p'.repeat(254)}/n`, 'n'.repeat(64), `p/${'n'.repeat(64)}`],
    ],
    ['a label value', labelValueProblem, ['', 'a', 'A_b.c-D', 'v'.repeat(63)], ['-a', 'a-', 'a b', 'a/b', 'v'.repeat(64)]],
    ['a port name', portNameProblem, ['a', 'http', 'h2c', 'web-tls', '9090-metrics', 'a'.repeat(15)], ['', '80', 'HTTP', '-a', 'a-', 'a--b', 'a_b', 'a'.repeat(16)]],
  ] as [string, (s: string) => string | undefined, string[], string[]][])('%s: the valid ones pass and the invalid ones do not', (_what, problem, valid, invalid) => {
    expect(valid.filter((v) => problem(v) !== undefined)).toEqual([]);
    expect(invalid.filter((v) => problem(v) === undefined)).toEqual([]);
  });

  test.each([
    ['10.0.0.0/8', undefined],
    ['0.0.0.0/0', undefined],
    ['10.1.2.3/8', undefined],
    ['fd00::/8', undefined],
    ['FD00:0:0::1/128', undefined],
    ['10.0.0.0/08', '"10.0.0.0/08" has leading zeros, which the API server reads as decimal and other software as octal: write 10.0.0.0/8'],
    ['10.0.0.0', '"10.0.0.0" is not a CIDR such as 10.0.0.0/8 or fd00::/8'],
    ['fe80::1%eth0/64', '"fe80::1%eth0/64" is not a CIDR such as 10.0.0.0/8 or fd00::/8'],
  ])('cidrProblem(%j) is %j', (text, problem) => {
    expect(cidrProblem(text)).toBe(problem);
  });
});
