/**
 * TenantIsolation, netfence.dev/v1alpha1, cluster-scoped. The CRD schema in
 * src/api/schema.ts describes the same shape for the API server; keep the two in step
 * (test/unit/schema.test.ts checks that every field here is in the schema).
 */
import type { LabelSelector, ObjectMeta, Protocol } from './k8s.js';

export type TenantMode = 'Enforce' | 'Audit';

export interface PortSpec {
  /** A number (1-65535) or a named container port of the destination pod. Absent: every port. */
  port?: number | string;
  /** Last port of a range starting at `port` (numeric `port` only). */
  endPort?: number;
  /** Default TCP. */
  protocol?: Protocol;
}

/**
 * One allowed peer. Exactly one of `tenant`, `namespaces`, `namespaceSelector`, `cidr`,
 * `internet`; `podSelector` narrows the first three to some pods; `except` goes with `cidr`
 * and `internet`, `allowCloudMetadata` with `cidr` only.
 */
export interface Peer {
  tenant?: string;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  cidr?: string;
  /**
   * The public internet, `true` only: every IPv4 address and the IPv6 global unicast block
   * 2000::/3, minus the private and special-purpose ranges of src/api/internet.ts (cloud
   * metadata among them). Compiles to one ipBlock per family.
   */
  internet?: boolean;
  /** Prefixes to leave out: strictly inside `cidr`, or (with `internet`) inside 0.0.0.0/0 or 2000::/3. */
  except?: string[];
  /** Lets this CIDR reach cloud metadata endpoints (169.254.169.254, fd00:ec2::254). Default false. */
  allowCloudMetadata?: boolean;
  /** Absent: every port and protocol. */
  ports?: PortSpec[];
}

export interface Exposure {
  /** Pods labelled `netfence.dev/expose-<name>=true` in member namespaces accept `from` on `ports`. */
  name: string;
  from: Peer[];
  /** Ports for peers that name none. Absent: every port. */
  ports?: PortSpec[];
}

export interface TenantIsolationSpec {
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  /**
   * Namespaces labelled `netfence.dev/tenant=<metadata.name>` join the tenant. Defaults to
   * true when neither `namespaces` nor `namespaceSelector` is set, false otherwise.
   */
  labelMembership?: boolean;
  mode?: TenantMode;
  ingress?: { from?: Peer[] };
  egress?: { to?: Peer[]; dns?: boolean };
  exposures?: Exposure[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface PlannedChange {
  action: 'create' | 'update' | 'delete';
  namespace: string;
  name: string;
}

export interface TenantIsolationStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  memberNamespaces?: string[];
  conflictingNamespaces?: string[];
  policyCount?: number;
  plannedChanges?: PlannedChange[];
  /** How many changes Audit plans in all; `plannedChanges` lists the first LIMITS.plannedChanges. */
  plannedChangeCount?: number;
}

export interface TenantIsolation {
  apiVersion: 'netfence.dev/v1alpha1';
  kind: 'TenantIsolation';
  metadata: ObjectMeta;
  spec: TenantIsolationSpec;
  status?: TenantIsolationStatus;
}
