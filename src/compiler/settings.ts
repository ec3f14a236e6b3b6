/** Operator-wide settings the compiler needs; plain data, set from flags, environment or the CLI. */
import { DEFAULT_DNS_TARGET, DEFAULT_OPERATOR_NAMESPACE, SYSTEM_NAMESPACES } from '../api/constants.js';

export interface DnsTarget {
  /** Namespace of the cluster DNS pods. */
  namespace: string;
  /** Labels of the cluster DNS pods. */
  podLabels: Readonly<Record<string, string>>;
  /** Port served on UDP and TCP. */
  port: number;
}

export interface CompilerSettings {
  /**
   * Namespaces that never join a tenant through a selector or the tenant label; a tenant can
   * still name them in `spec.namespaces`. Holds the system namespaces and the operator's own.
   */
  excludedNamespaces: readonly string[];
  dns: Readonly<DnsTarget>;
  /**
   * true: rules select a tenant's members by MEMBER_LABEL, which the operator writes and the
   * admission guard protects (one join writes the joining namespace only). false: by name, for
   * clusters without the guard (one join rewrites every member's policies; sizes grow with the
   * square of the tenant's size).
   */
  memberLabel: boolean;
}

export function defaultSettings(operatorNamespace: string = DEFAULT_OPERATOR_NAMESPACE, extraExcluded: readonly string[] = []): CompilerSettings {
  const excluded = new Set<string>([...SYSTEM_NAMESPACES, operatorNamespace, ...extraExcluded]);
  return {
    excludedNamespaces: [...excluded].sort(),
    dns: { namespace: DEFAULT_DNS_TARGET.namespace, podLabels: { ...DEFAULT_DNS_TARGET.podLabels }, port: DEFAULT_DNS_TARGET.port },
    memberLabel: true,
  };
}
