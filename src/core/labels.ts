/** Label selector matching, with the semantics of metav1.LabelSelectorAsSelector. Pure. */
import type { DeepReadonly, LabelSelector, LabelSelectorRequirement } from '../api/k8s.js';
import { labelKeyProblem, labelValueProblem } from '../api/names.js';

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
  return selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** One problem of a selector: where in it (`['matchExpressions', 0, 'values', 1]`) and what is wrong. */
export interface SelectorIssue {
  path: (string | number)[];
  message: string;
}

/**
 * What makes the API server reject a selector (ValidateLabelSelector of
 * k8s.io/apimachinery/pkg/apis/meta/v1/validation, on create): operators and their values,
 * label keys and label values. Empty when it is valid. Parts of the wrong type are skipped:
 * the caller's schema reports those.
 */
export function selectorIssues(selector: DeepReadonly<LabelSelector>): SelectorIssue[] {
  const issues: SelectorIssue[] = [];
  const ml: unknown = selector.matchLabels;
  if (typeof ml === 'object' && ml !== null && !Array.isArray(ml)) {
    for (const [k, v] of Object.entries(ml)) {
      const problem = labelKeyProblem(k) ?? (typeof v === 'string' ? labelValueProblem(v) : undefined);
      if (problem !== undefined) issues.push({ path: ['matchLabels', k], message: problem });
    }
  }
  const exprs: unknown = selector.matchExpressions;
  for (const [i, req] of (Array.isArray(exprs) ? (exprs as DeepReadonly<LabelSelectorRequirement>[]) : []).entries()) {
    if (typeof req !== 'object' || req === null) continue;
    const at = (...rest: (string | number)[]): (string | number)[] => ['matchExpressions', i, ...rest];
    if (typeof req.key === 'string') {
      const problem = labelKeyProblem(req.key);
      if (problem !== undefined) issues.push({ path: at('key'), message: problem });
    }
    const values: unknown = req.values;
    const n = Array.isArray(values) ? values.length : 0;
    if (typeof req.operator !== 'string') continue;
    if ((req.operator === 'In' || req.operator === 'NotIn') && n === 0) {
      issues.push({ path: at('values'), message: `operator ${req.operator} needs at least one value` });
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && n > 0) {
      issues.push({ path: at('values'), message: `operator ${req.operator} takes no values` });
    } else if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(req.operator)) {
      issues.push({ path: at('operator'), message: `unknown operator ${JSON.stringify(req.operator)}: must be In, NotIn, Exists or DoesNotExist` });
    }
    for (const [j, v] of (Array.isArray(values) ? values : []).entries()) {
      const problem = typeof v === 'string' ? labelValueProblem(v) : undefined;
      if (problem !== undefined) issues.push({ path: at('values', j), message: problem });
    }
  }
  return issues;
}

/** `selectorIssues` as text: `matchExpressions[0]: operator In needs at least one value`. */
export function selectorProblems(selector: DeepReadonly<LabelSelector>): string[] {
  return selectorIssues(selector).map(({ path, message }) => {
    const [part, index] = path;
    return `${part as string}[${typeof index === 'number' ? index : JSON.stringify(index)}]: ${message}`;
  });
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
