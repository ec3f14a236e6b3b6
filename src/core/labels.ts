/** Label selector matching, with the semantics of metav1.LabelSelectorAsSelector. Pure. */
import type { DeepReadonly, LabelSelector, LabelSelectorRequirement } from '../api/k8s.js';

export type Labels = Readonly<Record<string, string>>;

export function matchesRequirement(req: DeepReadonly<LabelSelectorRequirement>, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return has && (req.values ?? []).includes(value as string);
    case 'NotIn':
      return !has || !(req.values ?? []).includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // An unknown operator matches nothing: callers validate selectors first, and failing closed is safe.
      return false;
  }
}

/**
 * True when every matchLabels entry and every matchExpressions requirement holds; `{}`
 * matches everything. `undefined` means "no constraint" and matches too: callers where a
 * missing selector must match nothing (a NetworkPolicy peer) decide that themselves.
 */
export function matchesSelector(selector: DeepReadonly<LabelSelector> | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined) return true;
  const l = labels ?? {};
  const ml = selector.matchLabels;
  if (ml !== undefined) {
    for (const k in ml) {
      if (!Object.prototype.hasOwnProperty.call(l, k) || l[k] !== ml[k]) return false;
    }
  }
  const exprs = selector.matchExpressions;
  if (exprs !== undefined) {
    for (const req of exprs) if (!matchesRequirement(req, l)) return false;
  }
  return true;
}

export function isEmptySelector(selector: DeepReadonly<LabelSelector> | undefined): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/** Problems that make the API server reject a selector; empty when it is valid. */
export function selectorProblems(selector: DeepReadonly<LabelSelector>): string[] {
  const problems: string[] = [];
  for (const [i, req] of (selector.matchExpressions ?? []).entries()) {
    const n = req.values?.length ?? 0;
    if ((req.operator === 'In' || req.operator === 'NotIn') && n === 0) {
      problems.push(`matchExpressions[${i}]: operator ${req.operator} needs at least one value`);
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && n > 0) {
      problems.push(`matchExpressions[${i}]: operator ${req.operator} takes no values`);
    } else if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(req.operator)) {
      problems.push(`matchExpressions[${i}]: unknown operator ${JSON.stringify(req.operator)}`);
    }
  }
  return problems;
}

/** A canonical copy: keys sorted, expressions sorted, values sorted and deduplicated. */
export function canonicalSelector(selector: DeepReadonly<LabelSelector>): LabelSelector {
  const out: LabelSelector = {};
  const ml = Object.keys(selector.matchLabels ?? {}).sort();
  if (ml.length > 0) {
    out.matchLabels = {};
    for (const k of ml) out.matchLabels[k] = (selector.matchLabels as Record<string, string>)[k] as string;
  }
  const exprs = (selector.matchExpressions ?? []).map((r) => {
    const c: LabelSelectorRequirement = { key: r.key, operator: r.operator };
    if (r.values !== undefined) c.values = [...new Set(r.values)].sort();
    return c;
  });
  if (exprs.length > 0) {
    out.matchExpressions = exprs.sort((a, b) => compareStrings(JSON.stringify(a), JSON.stringify(b)));
  }
  return out;
}

/** Code-unit order, independent of locale: the one string order used for every sorted output. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
