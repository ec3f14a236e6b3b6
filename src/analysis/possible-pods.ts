/**
 * The pods that could exist in a namespace, as few as the selectors allow. Pure.
 *
 * A check that looked only at the Pods of its input would never judge a policy that selects
 * `app=web` in a namespace where nothing carries `app=web` today, though a Deployment may
 * create such a pod tomorrow. Every policy and declaration sees a pod only through label
 * selectors, so what any of them can tell about a pod of a namespace is the set of the
 * namespace's selectors it matches. Two pods matching the same set are alike to every rule;
 * one witness per set that some labels can produce stands for every pod there could be.
 *
 * How: a selector is a conjunction of requirements, each on one key. For each key the values
 * that matter are those the requirements name, one value none of them names, and no value
 * at all. Keys are taken one at a time; a state is the set of selectors still matched by the
 * labels chosen so far. Two states with the same set behave alike on every later key, so
 * only one is kept: the number of states never exceeds the number of distinct final sets,
 * which is the size of the partition itself. Selectors that match every pod (`{}`) tell no
 * pods apart and are left out.
 *
 * Guarantees: `complete` means every set of these selectors that some labels match is the
 * set of exactly one witness, and no two witnesses match the same set. When the partition
 * would exceed `limit` witnesses, the result is cut: one witness with no labels and, for
 * each selector, one that matches it (`complete` false; callers say so).
 * Caveats: a label value the requirements do not name is spelled `other` (or `other-2` ...
 * when that is named); reports show it as `<any value>` or `<other than ...>`.
 */
import type { DeepReadonly, LabelSelector } from '../api/k8s.js';
import { compareStrings, type Labels } from '../core/labels.js';

export interface PossiblePod {
  /** Concrete labels of the witness. */
  labels: Labels;
  /** For reports, sorted by key: `app=web`, `tier=<other than db>`, `!team` for a key it lacks. */
  description: string[];
}

export interface PossiblePods {
  pods: PossiblePod[];
  complete: boolean;
}

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: readonly string[];
}

function requirements(s: DeepReadonly<LabelSelector>): Requirement[] {
  const out: Requirement[] = Object.entries(s.matchLabels ?? {}).map(([key, v]) => ({ key, operator: 'In', values: [v] }));
  for (const e of s.matchExpressions ?? []) out.push({ key: e.key, operator: e.operator, values: e.values ?? [] });
  return out;
}

/** Does `value` (undefined: the key is absent) meet the requirement? As matchesSelector reads it. */
function meets(r: Requirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

/** A label value none of `named` is. */
function freshValue(named: ReadonlySet<string>): string {
  if (!named.has('other')) return 'other';
  for (let i = 2; ; i++) if (!named.has(`other-${i}`)) return `other-${i}`;
}

interface KeyChoice {
  key: string;
  /** undefined first (no label), then the named values sorted, then the fresh one. */
  candidates: (string | undefined)[];
  fresh: string;
  named: readonly string[];
  /** Per selector index, its requirements on this key. */
  bySelector: Map<number, Requirement[]>;
}

function describe(labels: Labels, choices: readonly KeyChoice[]): string[] {
  return choices.map((c) => {
    const v = labels[c.key];
    if (v === undefined) return `!${c.key}`;
    if (v !== c.fresh) return `${c.key}=${v}`;
    return c.named.length === 0 ? `${c.key}=<any value>` : `${c.key}=<other than ${c.named.join(', ')}>`;
  });
}

/** The witness of one selector alone: labels that match it, choosing the first candidate that meets each key's requirements. */
function witnessOf(reqs: readonly Requirement[], choices: readonly KeyChoice[]): Labels {
  const labels: Record<string, string> = {};
  for (const c of choices) {
    const own = reqs.filter((r) => r.key === c.key);
    if (own.length === 0) continue;
    const v = c.candidates.find((x) => own.every((r) => meets(r, x)));
    if (v !== undefined) labels[c.key] = v;
  }
  return labels;
}

export function possiblePods(selectors: readonly DeepReadonly<LabelSelector>[], limit: number): PossiblePods {
  const reqs = selectors.map(requirements).filter((r) => r.length > 0);
  const keys = new Map<string, KeyChoice>();
  reqs.forEach((list, i) => {
    for (const r of list) {
      let c = keys.get(r.key);
      if (c === undefined) keys.set(r.key, (c = { key: r.key, candidates: [], fresh: '', named: [], bySelector: new Map() }));
      const own = c.bySelector.get(i) ?? [];
      own.push(r);
      c.bySelector.set(i, own);
    }
  });
  const choices = [...keys.values()].sort((a, b) => compareStrings(a.key, b.key));
  for (const c of choices) {
    const named = new Set<string>();
    for (const list of c.bySelector.values()) for (const r of list) for (const v of r.values) named.add(v);
    c.named = [...named].sort(compareStrings);
    c.fresh = freshValue(named);
    c.candidates = [undefined, ...c.named, c.fresh];
  }

  // States: the selectors still matched (sorted indices) -> the labels chosen so far.
  let states = new Map<string, { alive: number[]; labels: Record<string, string> }>();
  const all = reqs.map((_, i) => i);
  states.set(all.join(','), { alive: all, labels: {} });
  for (const c of choices) {
    const next = new Map<string, { alive: number[]; labels: Record<string, string> }>();
    for (const state of states.values()) {
      for (const v of c.candidates) {
        const alive = state.alive.filter((i) => (c.bySelector.get(i) ?? []).every((r) => meets(r, v)));
        const key = alive.join(',');
        if (next.has(key)) continue;
        const labels = v === undefined ? state.labels : { ...state.labels, [c.key]: v };
        next.set(key, { alive, labels });
        if (next.size > limit) {
          const cut = [{}, ...reqs.map((r) => witnessOf(r, choices))];
          const seen = new Set<string>();
          const pods = cut.filter((l) => {
            const k = JSON.stringify(Object.entries(l).sort(([a], [b]) => compareStrings(a, b)));
            return !seen.has(k) && (seen.add(k), true);
          });
          return { pods: pods.map((labels) => ({ labels, description: describe(labels, choices) })), complete: false };
        }
      }
    }
    states = next;
  }
  return { pods: [...states.values()].map(({ labels }) => ({ labels, description: describe(labels, choices) })), complete: true };
}
