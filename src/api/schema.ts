/**
 * The TenantIsolation CRD: the one source of truth for its OpenAPI schema and CEL rules.
 *
 * Guarantees: `scripts/gen-crd.ts` writes exactly `tenantIsolationCrd()` to crds/, and the
 * offline validator (src/api/validate.ts) walks `openAPIV3Schema` below and evaluates the
 * same rule strings, so the CLI and the API server accept and reject the same objects.
 *
 * Assumptions: Kubernetes 1.33 or later (the CEL CIDR library, `fieldPath` on rules and
 * `selectableFields` are all GA there). Every list and string a rule iterates or parses has
 * a static bound, so the API server's cost estimate stays far inside its budget.
 *
 * Leaves out: checks that need other objects (does a named tenant exist, is a namespace
 * claimed twice); the controller reports those in status (P6).
 */
import { CRD_NAME, EXPOSE_LABEL_PREFIX, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, TENANT_LABEL, VERSION } from './constants.js';
import { formatCidr } from '../core/cidr.js';
import { INTERNET_IP_BLOCKS } from './internet.js';
import { PROTOCOLS } from './k8s.js';
import { deepFreeze } from '../core/objects.js';

/** One `x-kubernetes-validations` entry. */
export interface ValidationRule {
  rule: string;
  message: string;
  /** Where the API server reports the failure, relative to the schema node (e.g. `.endPort`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this CRD uses (and the validator understands). */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  format?: 'int32' | 'int64' | 'date-time';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: string[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
  /** Any fields are allowed below this node, unchecked (status of the built-in kinds, managedFields). */
  'x-kubernetes-preserve-unknown-fields'?: true;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Cluster' | 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields: { jsonPath: string }[];
    }[];
  };
}

/**
 * Static bounds. The list bounds also cap the CEL cost estimate, which multiplies a rule's
 * cost by how many times it can run (a peer rule runs once per peer of every list). With
 * these numbers the Kubernetes 1.34 estimator puts the whole schema at about 21.5M of its 100M
 * budget, and the costliest rule (an internet peer's except entries inside its blocks, per
 * exposure peer) at about 5.1M of the 10M allowed per rule: doubling exposures, exposurePeers
 * or except would exceed it (measured on kube-apiserver 1.34.4 with copies of that rule added).
 */
export const LIMITS = {
  /** Planned changes an Audit status lists (the count has the total). */
  plannedChanges: 200,
  /** Namespaces named in spec.namespaces. Not iterated by any rule, so generous. */
  tenantNamespaces: 1000,
  /** Peers in spec.ingress.from or spec.egress.to. */
  peers: 64,
  exposures: 32,
  /** Peers of one exposure. */
  exposurePeers: 32,
  /** Namespaces named by one peer. */
  peerNamespaces: 64,
  /** `except` entries of one CIDR peer. */
  except: 32,
  /** Ports of one peer or exposure. */
  ports: 32,
  /** `matchLabels` entries and `matchExpressions` of one selector. */
  selectorTerms: 32,
  /** Values of one selector requirement. */
  selectorValues: 64,
  /** Longest CIDR text: a full IPv6 address with an embedded IPv4 tail and `/128`, rounded up. */
  cidrLength: 64,
  /** Namespace, tenant and label-value names: a DNS label. */
  nameLength: 63,
  /** Label keys: a DNS subdomain prefix (253), a slash and a name (63). */
  labelKeyLength: 317,
  /** IANA service names, as Kubernetes container port names. */
  portNameLength: 15,
} as const;

const EXPOSE_KEY_NAME_PART = EXPOSE_LABEL_PREFIX.slice(EXPOSE_LABEL_PREFIX.indexOf('/') + 1);
/** An exposure name is the tail of the label key name `expose-<name>`, which is at most 63 characters. */
export const MAX_EXPOSURE_NAME_LENGTH = LIMITS.nameLength - EXPOSE_KEY_NAME_PART.length;

/** RFC 1123 label: namespace names, tenant names, exposure names. Patterns are anchored: Go and JavaScript agree on them. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: DNS labels joined by dots (names of most objects; at most 253 characters, which the pattern does not say). */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

function namespaceName(description: string): JSONSchemaProps {
  return { type: 'string', description, minLength: 1, maxLength: LIMITS.nameLength, pattern: DNS_LABEL_PATTERN };
}

function labelSelector(description: string): JSONSchemaProps {
  return {
    type: 'object',
    description,
    'x-kubernetes-map-type': 'atomic',
    properties: {
      matchLabels: {
        type: 'object',
        description: 'Labels that must all be present with these values.',
        maxProperties: LIMITS.selectorTerms,
        additionalProperties: { type: 'string', maxLength: LIMITS.nameLength, pattern: LABEL_VALUE_PATTERN },
        'x-kubernetes-validations': [
          {
            rule: `self.all(k, k.size() <= ${LIMITS.labelKeyLength} && k.matches('${LABEL_KEY_PATTERN}'))`,
            message: 'keys must be label keys: an optional DNS subdomain prefix and "/", then a name of at most 63 characters',
          },
        ],
      },
      matchExpressions: {
        type: 'array',
        description: 'Requirements that must all hold.',
        maxItems: LIMITS.selectorTerms,
        'x-kubernetes-list-type': 'atomic',
        items: {
          type: 'object',
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string', description: 'The label key.', maxLength: LIMITS.labelKeyLength, pattern: LABEL_KEY_PATTERN },
            operator: { type: 'string', description: 'How the key relates to the values.', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
            values: {
              type: 'array',
              description: 'Values for In and NotIn; none for Exists and DoesNotExist.',
              maxItems: LIMITS.selectorValues,
              'x-kubernetes-list-type': 'atomic',
              items: { type: 'string', maxLength: LIMITS.nameLength, pattern: LABEL_VALUE_PATTERN },
            },
          },
          'x-kubernetes-validations': [
            {
              rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
              message: 'operators In and NotIn need at least one value; Exists and DoesNotExist take none',
              fieldPath: '.values',
            },
          ],
        },
      },
    },
  };
}

function portList(description: string): JSONSchemaProps {
  return {
    type: 'array',
    description,
    maxItems: LIMITS.ports,
    'x-kubernetes-list-type': 'atomic',
    items: {
      type: 'object',
      properties: {
        port: {
          'x-kubernetes-int-or-string': true,
          description: 'A port number (1-65535) or a named container port of the destination pod. Absent: every port.',
          // Applies to the string form only; also bounds the CEL cost estimate of the rules below.
          maxLength: LIMITS.portNameLength,
          'x-kubernetes-validations': [
            {
              rule: 'type(self) != int || (self >= 1 && self <= 65535)',
              message: 'a numeric port must be between 1 and 65535',
            },
            {
              rule: "type(self) != string || (self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && self.matches('[a-z]') && !self.contains('--'))",
              message: `a named port must be at most ${LIMITS.portNameLength} lowercase letters, digits and single inner hyphens, with at least one letter`,
            },
          ],
        },
        endPort: {
          type: 'integer',
          format: 'int32',
          description: 'Last port of a range that starts at a numeric port.',
          minimum: 1,
          maximum: 65535,
        },
        protocol: { type: 'string', description: 'Default TCP.', enum: [...PROTOCOLS] },
      },
      'x-kubernetes-validations': [
        {
          rule: '!has(self.endPort) || (has(self.port) && type(self.port) == int)',
          message: 'endPort needs a numeric port',
          fieldPath: '.endPort',
        },
        {
          rule: '!has(self.endPort) || !has(self.port) || type(self.port) != int || self.endPort >= self.port',
          message: 'endPort must be greater than or equal to port',
          fieldPath: '.endPort',
        },
      ],
    },
  };
}

function cidrString(description: string): JSONSchemaProps {
  return {
    type: 'string',
    description,
    maxLength: LIMITS.cidrLength,
    'x-kubernetes-validations': [{ rule: 'isCIDR(self)', message: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8' }],
  };
}

/** `0.0.0.0/0 or 2000::/3`, with the conjunction asked for. */
const internetBlocks = (conjunction: 'and' | 'or'): string => INTERNET_IP_BLOCKS.map((b) => formatCidr(b.cidr)).join(` ${conjunction} `);

/**
 * CEL: `e` lies strictly inside one of the internet peer's blocks. Written with containsIP on
 * the entry's address and a longer prefix, which is the same test for a block.
 */
function insideInternetBlock(e: string): string {
  return INTERNET_IP_BLOCKS.map((b) => `(cidr('${formatCidr(b.cidr)}').containsIP(cidr(${e}).ip()) && cidr(${e}).prefixLength() > ${b.cidr.prefix})`).join(' || ');
}

function peer(): JSONSchemaProps {
  return {
    type: 'object',
    description:
      'One allowed peer: exactly one of tenant, namespaces, namespaceSelector, cidr or internet. podSelector narrows the first three to some pods; except goes with cidr and internet, allowCloudMetadata with cidr.',
    properties: {
      tenant: namespaceName('Every member namespace of the TenantIsolation with this name.'),
      namespaces: {
        type: 'array',
        description: 'These namespaces, by name.',
        minItems: 1,
        maxItems: LIMITS.peerNamespaces,
        'x-kubernetes-list-type': 'set',
        items: namespaceName('A namespace name.'),
      },
      namespaceSelector: labelSelector('Namespaces whose labels match. {} selects every namespace.'),
      podSelector: labelSelector('Only pods whose labels match, in the namespaces the peer names.'),
      cidr: cidrString('Addresses outside the cluster, e.g. 10.0.0.0/8. Cloud metadata endpoints stay excluded unless allowCloudMetadata is true.'),
      internet: {
        type: 'boolean',
        description: `The public internet: ${internetBlocks('and')}, without the private and special-purpose ranges (RFC 1918, shared address space, loopback, link-local, unique-local, documentation, benchmarking, multicast, reserved, and the prefixes that embed an IPv4 address). Cloud metadata is never included. Only true.`,
        'x-kubernetes-validations': [{ rule: 'self', message: 'must be true when set; leave internet out for any other peer' }],
      },
      except: {
        type: 'array',
        description: `Prefixes to leave out: strictly inside cidr, or with internet strictly inside ${internetBlocks('or')}.`,
        maxItems: LIMITS.except,
        'x-kubernetes-list-type': 'set',
        items: cidrString('A prefix inside cidr, or inside the public internet.'),
      },
      allowCloudMetadata: {
        type: 'boolean',
        description: 'Lets this CIDR reach the cloud metadata endpoints (169.254.169.254, fd00:ec2::254). Default false.',
      },
      ports: portList('Ports on the peer (egress) or on the tenant pods (ingress). Absent: every port and protocol.'),
    },
    'x-kubernetes-validations': [
      {
        rule: '(has(self.tenant) ? 1 : 0) + (has(self.namespaces) ? 1 : 0) + (has(self.namespaceSelector) ? 1 : 0) + (has(self.cidr) ? 1 : 0) + (has(self.internet) ? 1 : 0) == 1',
        message: 'a peer must set exactly one of tenant, namespaces, namespaceSelector, cidr or internet',
      },
      {
        rule: '!has(self.podSelector) || !(has(self.cidr) || has(self.internet))',
        message: 'podSelector cannot be combined with cidr or internet',
        fieldPath: '.podSelector',
      },
      {
        rule: '!has(self.except) || has(self.cidr) || has(self.internet)',
        message: 'except is only allowed with cidr or internet',
        fieldPath: '.except',
      },
      {
        rule: '!has(self.allowCloudMetadata) || has(self.cidr) || has(self.internet)',
        message: 'allowCloudMetadata is only allowed with cidr',
        fieldPath: '.allowCloudMetadata',
      },
      {
        rule: '!has(self.allowCloudMetadata) || !has(self.internet)',
        message:
          'allowCloudMetadata cannot be combined with internet: the public internet never includes the cloud metadata endpoints; allow them with a separate cidr peer such as 169.254.169.254/32',
        fieldPath: '.allowCloudMetadata',
      },
      {
        rule: '!has(self.cidr) || !has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))',
        message: 'every except entry must be strictly inside cidr (same address family, longer prefix)',
        fieldPath: '.except',
      },
      {
        rule: `!has(self.internet) || !has(self.except) || self.except.all(e, !isCIDR(e) || ${insideInternetBlock('e')})`,
        message: `every except entry of an internet peer must be strictly inside ${internetBlocks('or')}: the rest is never part of the public internet`,
        fieldPath: '.except',
      },
    ],
  };
}

function peerList(description: string, maxItems: number): JSONSchemaProps {
  return { type: 'array', description, maxItems, 'x-kubernetes-list-type': 'atomic', items: peer() };
}

function specSchema(): JSONSchemaProps {
  return {
    type: 'object',
    description: 'Which namespaces form the tenant and what may cross its boundary.',
    properties: {
      namespaces: {
        type: 'array',
        description: 'Namespaces that belong to the tenant, by name.',
        maxItems: LIMITS.tenantNamespaces,
        'x-kubernetes-list-type': 'set',
        items: namespaceName('A namespace name.'),
      },
      namespaceSelector: labelSelector('Namespaces whose labels match belong to the tenant (system namespaces only by name).'),
      labelMembership: {
        type: 'boolean',
        description: `Namespaces labelled ${TENANT_LABEL}=<metadata.name> join the tenant. Default: true when neither namespaces nor namespaceSelector is set, false otherwise.`,
      },
      mode: {
        type: 'string',
        description: 'Enforce writes the policies; Audit computes them and reports the planned changes in status and Events only.',
        enum: ['Enforce', 'Audit'],
        default: 'Enforce',
      },
      ingress: {
        type: 'object',
        description: 'Traffic allowed into member namespaces beyond the tenant itself.',
        properties: { from: peerList('Peers allowed to connect to every pod of the tenant.', LIMITS.peers) },
      },
      egress: {
        type: 'object',
        description: 'Traffic allowed out of member namespaces beyond the tenant itself.',
        default: {},
        properties: {
          to: peerList('Peers every pod of the tenant may connect to.', LIMITS.peers),
          dns: {
            type: 'boolean',
            description: 'Allow the cluster DNS pods on 53/UDP and 53/TCP. Default true.',
            default: true,
          },
        },
      },
      exposures: {
        type: 'array',
        description: `Named openings: pods labelled ${EXPOSE_LABEL_PREFIX}<name>=true in member namespaces accept traffic from the exposure's peers.`,
        maxItems: LIMITS.exposures,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: {
          type: 'object',
          required: ['name', 'from'],
          properties: {
            name: {
              type: 'string',
              description: `Completes the pod label key ${EXPOSE_LABEL_PREFIX}<name>.`,
              minLength: 1,
              maxLength: MAX_EXPOSURE_NAME_LENGTH,
              pattern: DNS_LABEL_PATTERN,
            },
            from: { ...peerList('Peers allowed to connect to the exposed pods.', LIMITS.exposurePeers), minItems: 1 },
            ports: portList('Ports for the peers that name none. Absent: every port.'),
          },
        },
      },
    },
  };
}

function statusSchema(): JSONSchemaProps {
  const names = (description: string): JSONSchemaProps => ({
    type: 'array',
    description,
    'x-kubernetes-list-type': 'atomic',
    items: { type: 'string' },
  });
  return {
    type: 'object',
    description: 'Written by the controller.',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'The metadata.generation this status describes.' },
      conditions: {
        type: 'array',
        description: 'Ready (the summary), Degraded and Conflict.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: {
          type: 'object',
          required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
          properties: {
            type: { type: 'string', maxLength: 316 },
            status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
            reason: { type: 'string', maxLength: 1024 },
            message: { type: 'string', maxLength: 32768 },
            observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
            lastTransitionTime: { type: 'string', format: 'date-time' },
          },
        },
      },
      memberNamespaces: names('Namespaces that belong to this tenant alone.'),
      conflictingNamespaces: names('Namespaces this tenant claims together with another tenant: they keep only deny policies.'),
      policyCount: { type: 'integer', format: 'int32', minimum: 0, description: 'NetworkPolicies maintained (Enforce) or planned (Audit).' },
      plannedChangeCount: { type: 'integer', format: 'int32', minimum: 0, description: 'In Audit mode: how many changes Enforce would make in all.' },
      plannedChanges: {
        type: 'array',
        description: `In Audit mode: what Enforce would create, update and delete (the first ${LIMITS.plannedChanges}).`,
        maxItems: LIMITS.plannedChanges,
        'x-kubernetes-list-type': 'atomic',
        items: {
          type: 'object',
          required: ['action', 'namespace', 'name'],
          properties: {
            action: { type: 'string', enum: ['create', 'update', 'delete'] },
            namespace: { type: 'string' },
            name: { type: 'string' },
          },
        },
      },
    },
  };
}

function rootSchema(): JSONSchemaProps {
  return {
    type: 'object',
    description: 'A tenant: a set of namespaces kept apart from the rest of the cluster by NetworkPolicies.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // Only name may be described here; declaring it lets the root rules report at metadata.name.
      metadata: { type: 'object', properties: { name: { type: 'string' } } },
      spec: specSchema(),
      status: statusSchema(),
    },
    'x-kubernetes-validations': [
      {
        rule: `self.metadata.name.size() <= ${LIMITS.nameLength}`,
        message: `must be at most ${LIMITS.nameLength} characters: the name is the value of the ${TENANT_LABEL} namespace label`,
        fieldPath: '.metadata.name',
      },
      {
        rule: "!self.metadata.name.contains('.')",
        message: `must not contain dots: the name is a DNS label, as peers and the ${TENANT_LABEL} namespace label refer to it`,
        fieldPath: '.metadata.name',
      },
    ],
  };
}

/** The schema of TenantIsolation as the API server sees it. Frozen: read it, never change it. */
export const openAPIV3Schema: Readonly<JSONSchemaProps> = deepFreeze(rootSchema());

/** The CustomResourceDefinition for TenantIsolation: a fresh, mutable object on every call. */
export function tenantIsolationCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ['netfence'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: structuredClone(openAPIV3Schema) },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'Enforce or Audit.' },
            { name: 'Members', type: 'string', jsonPath: '.status.memberNamespaces', description: 'Member namespaces.' },
            { name: 'Policies', type: 'integer', jsonPath: '.status.policyCount', description: 'NetworkPolicies maintained or planned.' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'The Ready condition.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          selectableFields: [{ jsonPath: '.spec.mode' }],
        },
      ],
    },
  };
}
