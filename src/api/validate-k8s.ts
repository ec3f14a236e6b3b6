/**
 * Offline validation of the built-in kinds netfence reads (Namespace, Pod, NetworkPolicy)
 * and of every object's metadata: what the API server checks on create, so the offline
 * commands refuse what `kubectl apply` would refuse, with a path the CLI maps to a line.
 *
 * Each kind has a structural schema (types, enums, required fields and, where the API server
 * decodes strictly, unknown fields) walked by `validateValue` of src/api/validate.ts, and a
 * hand-written part for what a schema cannot say. The rules and where they come from:
 * - metadata (apimachinery pkg/api/validation ValidateObjectMeta): name a DNS subdomain
 *   (Namespace: a DNS label), namespace a DNS label, label keys qualified names, label values
 *   valid, annotation keys qualified names (in lowercase), annotations at most 256 KiB in all;
 * - NetworkPolicy (pkg/apis/networking/validation ValidateNetworkPolicy): selectors
 *   (ValidateLabelSelector, through src/core/labels.ts selectorIssues), peers, ipBlock CIDRs
 *   and excepts, ports, endPort, policyTypes;
 * - Pod (pkg/apis/core/validation validateContainerPorts): container port numbers, names and
 *   protocols; and the pod IPs netfence matches ipBlocks against;
 * - workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 *   ReplicationController): metadata, and their pod template's labels and container ports.
 *
 * Guarantees: a NetworkPolicy or Namespace with a field the API server does not know is
 * refused, as `kubectl apply` (strict field validation) refuses it; `status` is not checked.
 * An object that passes can be handed to the compiler and the evaluator without a crash:
 * ports are in range, CIDRs and pod IPs parse.
 *
 * Differences from the API server, all towards refusing ambiguity: IPv4 CIDRs with leading
 * zeros and IPv4-mapped IPv6 CIDRs are refused here; the API server still accepts both with
 * a warning (they "will be considered invalid in a future Kubernetes release", and are
 * refused with the StrictIPCIDRValidation feature gate), and implementations read them
 * differently, so a verdict of `check` on them would prove nothing.
 *
 * Leaves out: Pods beyond the fields netfence reads (their specs are not modelled, so their
 * unknown fields are allowed); ownerReferences, finalizers and managedFields beyond their
 * types; anything that needs other objects.
 */
import { cidrContains, parseCidr, parseIP, type Cidr } from '../core/cidr.js';
import { selectorIssues } from '../core/labels.js';
import { deepFreeze, isRecord } from '../core/objects.js';
import { kubernetesCIDR } from './cel.js';
import { PROTOCOLS } from './k8s.js';
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem, portNameProblem, portNumberProblem } from './names.js';
import type { JSONSchemaProps } from './schema.js';
import { formatPath, validateValue, type Path, type ValidationIssue } from './validate.js';

/** TotalAnnotationSizeLimitB: keys and values together, in bytes. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const STRING: JSONSchemaProps = { type: 'string' };
const INTEGER: JSONSchemaProps = { type: 'integer' };
const BOOLEAN: JSONSchemaProps = { type: 'boolean' };
const TIME: JSONSchemaProps = { type: 'string', format: 'date-time' };
const STRING_MAP: JSONSchemaProps = { type: 'object', additionalProperties: STRING };
const STRING_LIST: JSONSchemaProps = { type: 'array', items: STRING };
/** An object whose content is not checked. */
const ANY_OBJECT: JSONSchemaProps = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** Lets unknown fields through at this node: for the kinds netfence reads only part of. */
function lenient(schema: JSONSchemaProps): JSONSchemaProps {
  return { ...schema, 'x-kubernetes-preserve-unknown-fields': true };
}

/** metav1.ObjectMeta as the API server decodes it: these fields and no other. */
const OBJECT_META: JSONSchemaProps = {
  type: 'object',
  properties: {
    name: STRING,
    generateName: STRING,
    namespace: STRING,
    selfLink: STRING,
    uid: STRING,
    resourceVersion: STRING,
    generation: INTEGER,
    creationTimestamp: TIME,
    deletionTimestamp: TIME,
    deletionGracePeriodSeconds: INTEGER,
    labels: STRING_MAP,
    annotations: STRING_MAP,
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: { apiVersion: STRING, kind: STRING, name: STRING, uid: STRING, controller: BOOLEAN, blockOwnerDeletion: BOOLEAN },
      },
    },
    finalizers: STRING_LIST,
    managedFields: {
      type: 'array',
      items: {
        type: 'object',
        properties: { manager: STRING, operation: STRING, apiVersion: STRING, time: TIME, fieldsType: STRING, fieldsV1: ANY_OBJECT, subresource: STRING },
      },
    },
  },
};

const LABEL_SELECTOR: JSONSchemaProps = {
  type: 'object',
  properties: {
    matchLabels: STRING_MAP,
    matchExpressions: {
      type: 'array',
      items: { type: 'object', required: ['key', 'operator'], properties: { key: STRING, operator: STRING, values: STRING_LIST } },
    },
  },
};

const NETWORK_POLICY_PORT: JSONSchemaProps = {
  type: 'object',
  properties: {
    protocol: { type: 'string', enum: [...PROTOCOLS] },
    port: { 'x-kubernetes-int-or-string': true },
    endPort: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535 },
  },
};

const NETWORK_POLICY_PEER: JSONSchemaProps = {
  type: 'object',
  properties: {
    podSelector: LABEL_SELECTOR,
    namespaceSelector: LABEL_SELECTOR,
    ipBlock: { type: 'object', required: ['cidr'], properties: { cidr: STRING, except: STRING_LIST } },
  },
};

function rules(peers: 'from' | 'to'): JSONSchemaProps {
  return {
    type: 'array',
    items: { type: 'object', properties: { ports: { type: 'array', items: NETWORK_POLICY_PORT }, [peers]: { type: 'array', items: NETWORK_POLICY_PEER } } },
  };
}

/** networking.k8s.io/v1 NetworkPolicy. It has no status any more; one is let through unchecked. */
export const networkPolicySchema: Readonly<JSONSchemaProps> = deepFreeze({
  type: 'object',
  properties: {
    apiVersion: STRING,
    kind: STRING,
    metadata: OBJECT_META,
    spec: {
      type: 'object',
      properties: {
        podSelector: LABEL_SELECTOR,
        ingress: rules('from'),
        egress: rules('to'),
        policyTypes: { type: 'array', maxItems: 2, items: { type: 'string', enum: ['Ingress', 'Egress'] } },
      },
    },
    status: ANY_OBJECT,
  },
});

/** v1 Namespace. */
export const namespaceSchema: Readonly<JSONSchemaProps> = deepFreeze({
  type: 'object',
  properties: {
    apiVersion: STRING,
    kind: STRING,
    metadata: OBJECT_META,
    spec: { type: 'object', properties: { finalizers: STRING_LIST } },
    status: ANY_OBJECT,
  },
});

/** A pod's spec: only the fields netfence reads, every other field allowed. */
const POD_SPEC: JSONSchemaProps = lenient({
  type: 'object',
  properties: {
    hostNetwork: BOOLEAN,
    containers: {
      type: 'array',
      items: lenient({
        type: 'object',
        properties: {
          name: STRING,
          ports: {
            type: 'array',
            items: lenient({
              type: 'object',
              required: ['containerPort'],
              properties: { name: STRING, containerPort: INTEGER, protocol: { type: 'string', enum: [...PROTOCOLS] } },
            }),
          },
        },
      }),
    },
  },
});

/** v1 Pod: only the fields netfence reads, every other field allowed. */
export const podSchema: Readonly<JSONSchemaProps> = deepFreeze(
  lenient({
    type: 'object',
    properties: {
      apiVersion: STRING,
      kind: STRING,
      metadata: lenient(OBJECT_META),
      spec: POD_SPEC,
      status: lenient({
        type: 'object',
        properties: { podIP: STRING, podIPs: { type: 'array', items: lenient({ type: 'object', properties: { ip: STRING } }) } },
      }),
    },
  }),
);

const workloadSchemas = new Map<string, Readonly<JSONSchemaProps>>();

/** A workload with its pod template at `templatePath`: metadata, and the template's labels and pod spec. */
function workloadSchema(templatePath: readonly string[]): JSONSchemaProps {
  let node: JSONSchemaProps = lenient({ type: 'object', properties: { metadata: lenient(OBJECT_META), spec: POD_SPEC } });
  for (const key of [...templatePath].reverse()) node = lenient({ type: 'object', properties: { [key]: node } });
  return { ...node, properties: { ...node.properties, apiVersion: STRING, kind: STRING, metadata: lenient(OBJECT_META) } };
}

/** The metadata of a TenantIsolation: the CRD schema describes only its name. */
const tenantMetadataSchema: Readonly<JSONSchemaProps> = deepFreeze(lenient({ type: 'object', properties: { metadata: OBJECT_META } }));

class Issues {
  readonly list: ValidationIssue[] = [];

  add(path: Path, problem: string): void {
    this.list.push({ path: [...path], message: `${formatPath(path)}: ${problem}` });
  }

  /** A message that names its field itself. */
  addText(path: Path, message: string): void {
    this.list.push({ path: [...path], message });
  }
}

interface MetadataRules {
  /** The name format of the kind; undefined when the name is checked elsewhere (TenantIsolation). */
  name?: (name: string) => string | undefined;
  namespaced: boolean;
}

/** name, namespace, labels and annotations, as ValidateObjectMeta checks them. Wrong types are the schema's to report. */
function checkMetadata(md: unknown, rules: MetadataRules, out: Issues): void {
  if (md === undefined || md === null) {
    out.addText(['metadata'], 'metadata is required');
    return;
  }
  if (!isRecord(md)) return;
  if (rules.name !== undefined) {
    if (md.name === undefined || md.name === null || md.name === '') out.addText(['metadata', 'name'], 'metadata.name is required');
    else if (typeof md.name === 'string') {
      const problem = rules.name(md.name);
      if (problem !== undefined) out.add(['metadata', 'name'], problem);
    }
  }
  if (rules.namespaced) {
    if (md.namespace === undefined || md.namespace === null || md.namespace === '') {
      out.addText(['metadata'], 'metadata.namespace is required (render takes fully rendered manifests, e.g. the output of `kustomize build`)');
    } else if (typeof md.namespace === 'string') {
      const problem = dnsLabelProblem(md.namespace);
      if (problem !== undefined) out.add(['metadata', 'namespace'], problem);
    }
  }
  checkLabels(md.labels, ['metadata', 'labels'], out);
  if (isRecord(md.annotations)) {
    let bytes = 0;
    for (const [k, v] of Object.entries(md.annotations)) {
      // Annotation keys are qualified names in any case: only lowercase letters are allowed in the prefix.
      if (labelKeyProblem(k.toLowerCase()) !== undefined) out.add(['metadata', 'annotations', k], (labelKeyProblem(k) as string).replace('a label key', 'an annotation key'));
      bytes += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    }
    if (bytes > MAX_ANNOTATIONS_BYTES) out.add(['metadata', 'annotations'], `must be at most ${MAX_ANNOTATIONS_BYTES} bytes in all (keys and values), found ${bytes}`);
  }
}

function checkLabels(labels: unknown, at: Path, out: Issues): void {
  if (!isRecord(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    const problem = labelKeyProblem(k) ?? (typeof v === 'string' ? labelValueProblem(v) : undefined);
    if (problem !== undefined) out.add([...at, k], problem);
  }
}

function checkSelector(selector: unknown, path: Path, out: Issues): void {
  if (!isRecord(selector)) return;
  for (const issue of selectorIssues(selector)) out.add([...path, ...issue.path], issue.message);
}

/** Why a CIDR is refused, or undefined: parsed as the Kubernetes CEL library and strict validation parse it. */
export function cidrProblem(text: string): string | undefined {
  if (kubernetesCIDR(text) !== null) return undefined;
  const q = JSON.stringify(text);
  if (parseCidr(text) !== null) return `${q} is an IPv4-mapped IPv6 prefix, which some implementations read as IPv4 and others as IPv6: write the IPv4 CIDR`;
  const unpadded = text.replace(/(^|[./])0+(?=[0-9])/g, '$1');
  if (unpadded !== text && kubernetesCIDR(unpadded) !== null) {
    return `${q} has leading zeros, which the API server reads as decimal and other software as octal: write ${unpadded}`;
  }
  return `${q} is not a CIDR such as 10.0.0.0/8 or fd00::/8`;
}

function checkIPBlock(ipBlock: Record<string, unknown>, path: Path, out: Issues): void {
  const cidr = ipBlock.cidr;
  if (typeof cidr !== 'string') return;
  if (cidr === '') {
    out.add([...path, 'cidr'], 'must not be empty');
    return;
  }
  const cidrIssue = cidrProblem(cidr);
  if (cidrIssue !== undefined) out.add([...path, 'cidr'], cidrIssue);
  const outer = cidrIssue === undefined ? (parseCidr(cidr) as Cidr) : undefined;
  const except = Array.isArray(ipBlock.except) ? ipBlock.except : [];
  for (const [i, e] of except.entries()) {
    if (typeof e !== 'string') continue;
    const at = [...path, 'except', i];
    const problem = cidrProblem(e);
    if (problem !== undefined) out.add(at, problem);
    else if (outer !== undefined) {
      const inner = parseCidr(e) as Cidr;
      if (!cidrContains(outer, inner) || inner.prefix <= outer.prefix) {
        out.add(at, `${JSON.stringify(e)} is not strictly inside cidr ${cidr}: an except must be a longer prefix of the same address family inside it`);
      }
    }
  }
}

function checkPeer(peer: Record<string, unknown>, path: Path, out: Issues): void {
  const has = (k: string): boolean => peer[k] !== undefined && peer[k] !== null;
  const kinds = ['podSelector', 'namespaceSelector', 'ipBlock'].filter(has);
  if (kinds.length === 0) out.add(path, 'must specify a peer: podSelector, namespaceSelector or ipBlock');
  else if (has('ipBlock') && kinds.length > 1) out.add(path, 'ipBlock cannot be combined with podSelector or namespaceSelector');
  checkSelector(peer.podSelector, [...path, 'podSelector'], out);
  checkSelector(peer.namespaceSelector, [...path, 'namespaceSelector'], out);
  if (isRecord(peer.ipBlock)) checkIPBlock(peer.ipBlock, [...path, 'ipBlock'], out);
}

const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function checkPolicyPort(port: Record<string, unknown>, path: Path, out: Issues): void {
  const p = port.port;
  const problem = isInteger(p) ? portNumberProblem(p) : typeof p === 'string' ? portNameProblem(p) : undefined;
  if (problem !== undefined) out.add([...path, 'port'], problem);
  const end = port.endPort;
  if (!isInteger(end)) return;
  if (p === undefined || p === null) out.add([...path, 'endPort'], 'needs a numeric port, found none');
  else if (typeof p === 'string') out.add([...path, 'endPort'], `needs a numeric port, found the named port ${JSON.stringify(p)}`);
  else if (isInteger(p) && end < p) out.add([...path, 'endPort'], `must be at least port ${p}, found ${end}`);
}

function checkNetworkPolicy(obj: Record<string, unknown>, out: Issues): void {
  checkMetadata(obj.metadata, { namespaced: true, name: dnsSubdomainProblem }, out);
  const spec = obj.spec;
  if (!isRecord(spec)) return;
  checkSelector(spec.podSelector, ['spec', 'podSelector'], out);
  for (const [direction, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    const list = spec[direction];
    if (!Array.isArray(list)) continue;
    for (const [i, rule] of list.entries()) {
      if (!isRecord(rule)) continue;
      const at: Path = ['spec', direction, i];
      for (const [j, peer] of (Array.isArray(rule[peers]) ? rule[peers] : []).entries()) {
        if (isRecord(peer)) checkPeer(peer, [...at, peers, j], out);
      }
      for (const [j, port] of (Array.isArray(rule.ports) ? rule.ports : []).entries()) {
        if (isRecord(port)) checkPolicyPort(port, [...at, 'ports', j], out);
      }
    }
  }
}

/** Container port numbers, names and protocols of a pod spec at `at`. */
function checkContainers(spec: unknown, at: Path, out: Issues): void {
  const containers = isRecord(spec) && Array.isArray(spec.containers) ? spec.containers : [];
  for (const [i, c] of containers.entries()) {
    const ports = isRecord(c) && Array.isArray(c.ports) ? c.ports : [];
    const names = new Map<string, number>();
    for (const [j, p] of ports.entries()) {
      if (!isRecord(p)) continue;
      const path: Path = [...at, 'containers', i, 'ports', j];
      if (isInteger(p.containerPort)) {
        const problem = portNumberProblem(p.containerPort);
        if (problem !== undefined) out.add([...path, 'containerPort'], problem);
      }
      if (typeof p.name === 'string' && p.name !== '') {
        const problem = portNameProblem(p.name);
        const first = names.get(p.name);
        if (problem !== undefined) out.add([...path, 'name'], problem);
        else if (first !== undefined) out.add([...path, 'name'], `duplicate port name ${JSON.stringify(p.name)} in this container (first at ports[${first}])`);
        else names.set(p.name, j);
      }
    }
  }
}

function checkPod(obj: Record<string, unknown>, out: Issues): void {
  checkMetadata(obj.metadata, { namespaced: true, name: dnsSubdomainProblem }, out);
  checkContainers(obj.spec, ['spec'], out);
  const status = obj.status;
  if (!isRecord(status)) return;
  const checkIP = (ip: unknown, path: Path): void => {
    if (typeof ip === 'string' && ip !== '' && parseIP(ip) === null) out.add(path, `${JSON.stringify(ip)} is not an IP address`);
  };
  checkIP(status.podIP, ['status', 'podIP']);
  for (const [i, entry] of (Array.isArray(status.podIPs) ? status.podIPs : []).entries()) {
    if (isRecord(entry)) checkIP(entry.ip, ['status', 'podIPs', i, 'ip']);
  }
}

/** Every problem the API server would report when creating this NetworkPolicy; [] when it would accept it. */
export function validateNetworkPolicy(obj: Record<string, unknown>): ValidationIssue[] {
  const out = new Issues();
  out.list.push(...validateValue(obj, networkPolicySchema));
  checkNetworkPolicy(obj, out);
  return out.list;
}

/** Every problem the API server would report when creating this Namespace. */
export function validateNamespace(obj: Record<string, unknown>): ValidationIssue[] {
  const out = new Issues();
  out.list.push(...validateValue(obj, namespaceSchema));
  checkMetadata(obj.metadata, { namespaced: false, name: dnsLabelProblem }, out);
  return out.list;
}

/** The problems of the fields of a Pod that netfence reads; other fields are not looked at. */
export function validatePod(obj: Record<string, unknown>): ValidationIssue[] {
  const out = new Issues();
  out.list.push(...validateValue(obj, podSchema));
  checkPod(obj, out);
  return out.list;
}

/**
 * The problems of the fields of a workload that netfence reads: its metadata, and its pod
 * template's labels and container ports (the template at `templatePath`, e.g.
 * `['spec', 'template']`). Other fields are not looked at.
 */
export function validateWorkload(obj: Record<string, unknown>, templatePath: readonly string[]): ValidationIssue[] {
  const out = new Issues();
  const key = templatePath.join('.');
  let schema = workloadSchemas.get(key);
  if (schema === undefined) workloadSchemas.set(key, (schema = deepFreeze(workloadSchema(templatePath))));
  out.list.push(...validateValue(obj, schema));
  checkMetadata(obj.metadata, { namespaced: true, name: dnsSubdomainProblem }, out);
  let template: unknown = obj;
  for (const key of templatePath) template = isRecord(template) ? template[key] : undefined;
  if (isRecord(template)) {
    if (isRecord(template.metadata)) checkLabels(template.metadata.labels, [...templatePath, 'metadata', 'labels'], out);
    checkContainers(template.spec, [...templatePath, 'spec'], out);
  }
  return out.list;
}

/**
 * The metadata of a TenantIsolation beyond its name (which src/api/validate.ts checks):
 * fields, labels and annotations. [] when metadata is missing or not an object: the CRD
 * validation reports that.
 */
export function validateTenantMetadata(obj: Record<string, unknown>): ValidationIssue[] {
  if (!isRecord(obj.metadata)) return [];
  const out = new Issues();
  out.list.push(...validateValue({ metadata: obj.metadata }, tenantMetadataSchema));
  checkMetadata(obj.metadata, { namespaced: false }, out);
  return out.list;
}
