/**
 * What `check` reports besides paths: problems in the input that no path shows, or shows
 * only as a symptom, each with a category a person (or a script) can act on. Pure.
 *
 * Categories:
 * - `conflict`: a namespace claimed by several tenants; it keeps only the deny policies (an
 *   outage for its pods). Severity `error`: it fails the check whatever the flags.
 * - `incomplete`: a namespace whose pod selectors tell apart more kinds of pod than the
 *   analysis follows (reachability.ts cuts its possible pods): nothing is proven there, so it
 *   is an `error` too.
 * - `unknown-peer`: a peer `{tenant: X}` naming a tenant that does not exist.
 * - `empty-peer`: a peer `{tenant: X}` whose tenant has no member namespace.
 * - `empty-selector`: a membership `namespaceSelector`, or a peer's, that matches no
 *   namespace of the input.
 * - `metadata-cidr`: a CIDR peer inside cloud metadata, dropped unless allowCloudMetadata.
 * - `excluded-namespace`: a namespace that asks to join a tenant (its tenant label, or the
 *   tenant's selector) but is excluded by the settings, with the reason; or one a tenant
 *   names although the settings exclude it, which joins by name all the same.
 * - `host-network`: a member pod or workload with `hostNetwork: true`; NetworkPolicy does not
 *   govern it, so it is outside the fence whatever the policies say.
 * - `exposure-label`: a pod opting into an exposure its tenant does not declare, or with a
 *   value other than "true".
 * - `missing-namespace`: a namespace a tenant names that the input does not hold (analysed
 *   as it will be fenced when created; the name may be a typo).
 * - `no-members`: a tenant with no member namespace.
 * - `other`: a compiler warning none of the above describes.
 * Everything but `conflict` and `incomplete` is a `warning`: it fails the check only with --strict.
 *
 * Reuses the compiler's own diagnostics (CompileResult: conflicts and each tenant's
 * warnings) instead of computing them again; only what the compiler does not report
 * (membership selectors matching nothing, exclusions, hostNetwork) is computed here.
 * Output order: errors first, then by category, tenant, namespace and message.
 */
import { MEMBER_LABEL, NAMESPACE_NAME_LABEL, SYSTEM_NAMESPACES, TENANT_LABEL } from '../api/constants.js';
import type { DeepReadonly, LabelSelector, Namespace, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import type { CompileResult } from '../compiler/compile.js';
import { compareStrings, matchesSelector } from '../core/labels.js';
import { isWorkloadPodName } from '../io/workloads.js';
import { describePod } from './pod-names.js';
import { DEFAULT_LIMITS } from './reachability.js';

const REACHABILITY_LIMIT = DEFAULT_LIMITS.possiblePods;

export const FINDING_CATEGORIES = [
  'conflict',
  'incomplete',
  'unknown-peer',
  'empty-peer',
  'empty-selector',
  'metadata-cidr',
  'excluded-namespace',
  'host-network',
  'exposure-label',
  'missing-namespace',
  'no-members',
  'other',
] as const;

export type FindingCategory = (typeof FINDING_CATEGORIES)[number];

export interface Finding {
  category: FindingCategory;
  /** `error` fails the check always; `warning` only with --strict. */
  severity: 'error' | 'warning';
  /** The tenant concerned, when one is. */
  tenant?: string;
  /** The namespace concerned, when one is. */
  namespace?: string;
  /** One sentence saying what is wrong and what it does. */
  message: string;
}

export interface FindingsInput {
  tenants: readonly DeepReadonly<TenantIsolation>[];
  /** The namespaces analysed (the scene's). */
  namespaces: readonly DeepReadonly<Namespace>[];
  /** The pods analysed: Pods and workloads' pods (the scene's). */
  pods: readonly DeepReadonly<Pod>[];
  compiled: DeepReadonly<CompileResult>;
  /** Every namespace the settings exclude from selectors and labels, with why (see exclusionReasons). */
  exclusions: ReadonlyMap<string, string>;
  /** Namespaces a tenant names that the input lacks, analysed as created (Scene.addedNamespaces). */
  added?: readonly string[];
  /** Namespaces whose possible pods were cut (Reachability.cutNamespaces). */
  cut?: readonly string[];
}

/** Why each excluded namespace is excluded, for the settings `defaultSettings(operatorNamespace, extra)` makes. */
export function exclusionReasons(operatorNamespace: string, extra: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of extra) out.set(n, 'given to --exclude-namespace');
  out.set(operatorNamespace, 'the operator\u2019s own namespace');
  for (const n of SYSTEM_NAMESPACES) out.set(n, 'a system namespace');
  return out;
}

/** The compiler's warning texts by category; `conflict` comes from CompileResult.conflicts instead. */
const WARNING_CATEGORIES: readonly [RegExp, FindingCategory | null][] = [
  [/: peer tenant "[^"]*" does not exist;/, 'unknown-peer'],
  [/: peer tenant "[^"]*" has no member namespaces;/, 'empty-peer'],
  [/: namespaceSelector .* matches no namespace;/, 'empty-selector'],
  [/: cidr .* lies inside cloud metadata /, 'metadata-cidr'],
  [/^pod .* has label /, 'exposure-label'],
  [/^spec\.namespaces: namespace "[^"]*" does not exist$/, 'missing-namespace'],
  [/^tenant has no member namespaces$/, 'no-members'],
  // Reported once per namespace from CompileResult.conflicts.
  [/^namespace .* is claimed by tenants /, null],
];

function categoryOf(warning: string): FindingCategory | null {
  for (const [pattern, category] of WARNING_CATEGORIES) if (pattern.test(warning)) return category;
  return 'other';
}

function conflictFindings(compiled: DeepReadonly<CompileResult>): Finding[] {
  const modeOf = new Map(compiled.tenants.map((t) => [t.name, t.mode]));
  return compiled.conflicts.map((c) => {
    const enforcing = c.tenants.some((t) => modeOf.get(t) === 'Enforce');
    const effect = enforcing
      ? 'it belongs to no tenant and keeps only the deny policies: its pods reach no other pod and no other pod reaches them'
      : 'it belongs to no tenant (all its claimants are in Audit, so netfence writes nothing there)';
    return { category: 'conflict', severity: 'error', namespace: c.namespace, message: `namespace ${c.namespace} is claimed by tenants ${c.tenants.join(', ')}: ${effect}` };
  });
}

function compilerFindings(compiled: DeepReadonly<CompileResult>): Finding[] {
  const out: Finding[] = [];
  for (const t of compiled.tenants) {
    for (const w of t.warnings) {
      const category = categoryOf(w);
      if (category !== null) out.push({ category, severity: 'warning', tenant: t.name, message: `tenant ${t.name}: ${w}` });
    }
  }
  return out;
}

/** A namespace's labels as membership reads them: its name label set, the member label (netfence's output) left out, as the compiler does. */
const labelsOf = (ns: DeepReadonly<Namespace>): Record<string, string> => {
  const labels: Record<string, string> = { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name };
  delete labels[MEMBER_LABEL];
  return labels;
};

/** Membership selectors that match no namespace (the compiler reports only a tenant left with no members). */
function membershipFindings(input: FindingsInput): Finding[] {
  const out: Finding[] = [];
  for (const t of input.tenants) {
    const sel = t.spec?.namespaceSelector as LabelSelector | undefined;
    if (sel === undefined || input.namespaces.some((ns) => matchesSelector(sel, labelsOf(ns)))) continue;
    const name = t.metadata.name;
    out.push({
      category: 'empty-selector',
      severity: 'warning',
      tenant: name,
      message: `tenant ${name}: spec.namespaceSelector ${JSON.stringify(sel)} matches no namespace of the input: it brings in no member`,
    });
  }
  return out;
}

/**
 * Namespaces the settings exclude that ask to join a tenant: by its tenant label or the
 * tenant's selector (they do not join), or by being named (they join all the same).
 */
function exclusionFindings(input: FindingsInput): Finding[] {
  const out: Finding[] = [];
  const membersOf = new Map(input.compiled.tenants.map((t) => [t.name, new Set(t.members)]));
  for (const ns of input.namespaces) {
    const n = ns.metadata.name;
    const why = input.exclusions.get(n);
    if (why === undefined) continue;
    const labels = labelsOf(ns);
    for (const t of input.tenants) {
      const name = t.metadata.name;
      const asks: string[] = [];
      if (labels[TENANT_LABEL] === name) asks.push(`has the label ${TENANT_LABEL}=${name}`);
      const sel = t.spec?.namespaceSelector as LabelSelector | undefined;
      if (sel !== undefined && matchesSelector(sel, labels)) asks.push(`matches the namespaceSelector of tenant ${name}`);
      const named = t.spec?.namespaces?.includes(n) === true;
      let message: string | undefined;
      if (named && membersOf.get(name)?.has(n) === true)
        message = `namespace ${n} is named by tenant ${name} and joins it, although the settings keep it from joining by selector or label (${why})`;
      else if (!named && asks.length > 0)
        message = `namespace ${n} ${asks.join(' and ')} but does not join tenant ${name}: the settings keep it from joining by selector or label (${why})`;
      if (message !== undefined) out.push({ category: 'excluded-namespace', severity: 'warning', tenant: name, namespace: n, message });
    }
  }
  return out;
}

/** Member pods and workloads with hostNetwork: NetworkPolicy does not apply to them. */
function hostNetworkFindings(input: FindingsInput): Finding[] {
  const tenantOf = new Map<string, string>();
  for (const t of input.compiled.tenants) for (const m of t.members) tenantOf.set(m, t.name);
  const out: Finding[] = [];
  for (const p of input.pods) {
    const { namespace, name } = p.metadata;
    const tenant = tenantOf.get(namespace);
    if (p.spec?.hostNetwork !== true || tenant === undefined) continue;
    const shown = describePod({ namespace, name, origin: isWorkloadPodName(name) ? 'workload' : 'pod' });
    out.push({
      category: 'host-network',
      severity: 'warning',
      tenant,
      namespace,
      message: `${shown} (tenant ${tenant}) uses hostNetwork: NetworkPolicy does not apply to it, so it is outside the fence whatever the policies say`,
    });
  }
  return out;
}

/** What the analysis could not follow, and the named namespaces it had to assume. */
function coverageFindings(input: FindingsInput): Finding[] {
  const out: Finding[] = [];
  for (const namespace of input.cut ?? []) {
    out.push({
      category: 'incomplete',
      severity: 'error',
      namespace,
      message: `namespace ${namespace}: its pod selectors tell apart more kinds of pod than the analysis follows (over ${REACHABILITY_LIMIT}), so no pass is proven there; fewer distinct pod selectors in the namespace make it provable`,
    });
  }
  for (const namespace of input.added ?? []) {
    const tenants = input.tenants.filter((t) => t.spec?.namespaces?.includes(namespace) === true).map((t) => t.metadata.name);
    for (const tenant of tenants) {
      out.push({
        category: 'missing-namespace',
        severity: 'warning',
        tenant,
        namespace,
        message: `tenant ${tenant} names namespace ${namespace}, which the input does not hold: it is analysed as the operator will fence it when it is created (is the name right?)`,
      });
    }
  }
  return out;
}

const RANK = new Map<FindingCategory, number>(FINDING_CATEGORIES.map((c, i) => [c, i]));

export function findings(input: FindingsInput): Finding[] {
  const all = [
    ...conflictFindings(input.compiled),
    ...coverageFindings(input),
    ...compilerFindings(input.compiled),
    ...membershipFindings(input),
    ...exclusionFindings(input),
    ...hostNetworkFindings(input),
  ];
  return all.sort(
    (a, b) =>
      Number(b.severity === 'error') - Number(a.severity === 'error') ||
      (RANK.get(a.category) ?? 0) - (RANK.get(b.category) ?? 0) ||
      compareStrings(a.tenant ?? '', b.tenant ?? '') ||
      compareStrings(a.namespace ?? '', b.namespace ?? '') ||
      compareStrings(a.message, b.message),
  );
}
