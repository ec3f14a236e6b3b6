/**
 * Every name netfence writes or reads on the cluster: API group, labels, annotations,
 * field manager, policy names and Event reasons. Other modules import from here; no other
 * module spells these strings.
 */

export const GROUP = 'netfence.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'TenantIsolation';
export const PLURAL = 'tenantisolations';
export const SINGULAR = 'tenantisolation';
export const SHORT_NAMES = ['ti', 'tenant'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Namespace label that opts a namespace into the tenant named by its value. */
export const TENANT_LABEL = `${GROUP}/tenant`;
/** Prefix of the pod label that opts a pod into a named exposure: `netfence.dev/expose-<name>=true`. */
export const EXPOSE_LABEL_PREFIX = `${GROUP}/expose-`;
export const EXPOSE_LABEL_VALUE = 'true';
/** Immutable namespace label set by the API server; peers named by namespace are resolved by it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/**
 * Namespace label the operator keeps on every member namespace, valued with its tenant's name,
 * and removes from every other namespace (setting `memberLabel`). Generated rules select a
 * tenant's members by it, so a namespace joining costs no write to the others' policies. The
 * admission guard lets only the operator (and cluster admins) write it; membership never
 * follows it.
 */
export const MEMBER_LABEL = `${GROUP}/member`;

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'netfence';
/** On generated policies: the tenant the policy belongs to (absent when several tenants claim the namespace). */
export const POLICY_TENANT_LABEL = `${GROUP}/tenant`;
/** On generated policies: what the policy does (deny, tenant, dns, ingress, egress, expose). */
export const POLICY_ROLE_LABEL = `${GROUP}/role`;
/** On generated policies of a conflicted namespace: the claiming tenants, comma separated. */
export const CONFLICT_ANNOTATION = `${GROUP}/conflicting-tenants`;

export const FIELD_MANAGER = 'netfence';

/** Deterministic names of the generated policies. */
export const POLICY_PREFIX = 'netfence-';
export const POLICY_NAMES = {
  defaultDeny: `${POLICY_PREFIX}default-deny`,
  sameTenant: `${POLICY_PREFIX}allow-same-tenant`,
  dns: `${POLICY_PREFIX}allow-dns`,
  ingress: `${POLICY_PREFIX}allow-ingress`,
  egress: `${POLICY_PREFIX}allow-egress`,
  exposurePrefix: `${POLICY_PREFIX}expose-`,
} as const;

export type PolicyRole = 'default-deny' | 'same-tenant' | 'dns' | 'ingress' | 'egress' | 'exposure';

/** Namespaces that never join a tenant through a selector or a label, only by explicit name. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;
export const DEFAULT_OPERATOR_NAMESPACE = 'netfence-system';

/** Cloud metadata endpoints excluded from every generated CIDR allow (P3). */
export const CLOUD_METADATA_CIDRS = ['169.254.169.254/32', 'fd00:ec2::254/128'] as const;

export const DEFAULT_DNS_TARGET = {
  namespace: 'kube-system',
  podLabels: { 'k8s-app': 'kube-dns' } as Readonly<Record<string, string>>,
  port: 53,
} as const;

/** Condition types on TenantIsolation status (kstatus-compatible: Ready is the summary). */
export const CONDITION = {
  ready: 'Ready',
  degraded: 'Degraded',
  conflict: 'Conflict',
  /** kstatus's abnormal-true condition: True when only a change to the spec or the claims can help. */
  stalled: 'Stalled',
} as const;

/** Reasons used in conditions and Events. */
export const REASON = {
  reconciled: 'Reconciled',
  audit: 'AuditOnly',
  invalidSpec: 'InvalidSpec',
  namespaceConflict: 'NamespaceConflict',
  noConflict: 'NoConflict',
  notStalled: 'NotStalled',
  unresolvedPeer: 'UnresolvedPeer',
  missingNamespace: 'MissingNamespace',
  policyCreated: 'PolicyCreated',
  policyUpdated: 'PolicyUpdated',
  policyPruned: 'PolicyPruned',
  driftCorrected: 'DriftCorrected',
  applyFailed: 'ApplyFailed',
  progressing: 'Progressing',
  compileWarning: 'CompileWarning',
} as const;

/** The Lease replicas of the operator elect their leader on, in the operator's namespace. */
export const DEFAULT_LEASE_NAME = 'netfence-leader';
