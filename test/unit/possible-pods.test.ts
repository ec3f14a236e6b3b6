/**
 * possible-pods.ts: the witnesses stand for every label set exactly once (property), stay few
 * where selectors exclude each other, and are cut, loudly, past the limit.
 */
import fc from 'fast-check';
import type { LabelSelector } from '../../src/api/k8s.js';
import { possiblePods } from '../../src/analysis/possible-pods.js';
import { matchesSelector, type Labels } from '../../src/core/labels.js';

const KEYS = ['app', 'tier', 'team'];
const VALUES = ['web', 'db', 'other', 'x'];

const requirement = fc.oneof(
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constant('In' as const), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constant('NotIn' as const), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const selector: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 }),
    matchExpressions: fc.array(requirement, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
/** Any labels over the keys, with values the selectors may or may not name. */
const labels: fc.Arbitrary<Labels> = fc.dictionary(fc.constantFrom(...KEYS, 'unrelated'), fc.constantFrom(...VALUES, 'zzz', 'other-2'), { maxKeys: 4 });

const matchedBy = (selectors: readonly LabelSelector[], l: Labels): string =>
  selectors
    .map((s, i) => (matchesSelector(s, l) ? i : -1))
    .filter((i) => i >= 0)
    .join(',');

describe('possiblePods', () => {
  test('every label set matches the same selectors as exactly one witness, and witnesses are all different', () => {
    fc.assert(
      fc.property(fc.array(selector, { maxLength: 6 }), fc.array(labels, { minLength: 1, maxLength: 30 }), (selectors, samples) => {
        const r = possiblePods(selectors, 10_000);
        expect(r.complete).toBe(true);
        const sets = r.pods.map((p) => matchedBy(selectors, p.labels));
        expect(new Set(sets).size).toBe(sets.length);
        for (const l of samples) expect(sets).toContain(matchedBy(selectors, l));
      }),
      { numRuns: 300 },
    );
  });

  test('no selector, or only selectors of every pod, leaves one pod with no labels', () => {
    expect(possiblePods([], 10)).toEqual({ pods: [{ labels: {}, description: [] }], complete: true });
    expect(possiblePods([{}, { matchLabels: {} }], 10).pods).toEqual([{ labels: {}, description: [] }]);
  });

  test('values of one key exclude each other: three apps give four pods, not eight', () => {
    const r = possiblePods([{ matchLabels: { app: 'web' } }, { matchLabels: { app: 'db' } }, { matchLabels: { app: 'cache' } }], 10);
    expect(r.pods.map((p) => p.labels)).toEqual([{}, { app: 'cache' }, { app: 'db' }, { app: 'web' }]);
  });

  test('describes a witness by its labels, an unnamed value and the keys it lacks', () => {
    const r = possiblePods(
      [{ matchLabels: { app: 'web' } }, { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }],
      10,
    );
    expect(r.pods.map((p) => p.description)).toEqual([
      ['!app', '!tier'],
      ['!app', 'tier=<any value>'],
      ['app=web', '!tier'],
      ['app=web', 'tier=<any value>'],
      ['app=<other than web>', '!tier'],
      ['app=<other than web>', 'tier=<any value>'],
    ]);
    // The value standing for "another value" is one no requirement names.
    const other = possiblePods(
      [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['other', 'other-2'] }] }, { matchExpressions: [{ key: 'app', operator: 'Exists' }] }],
      10,
    );
    expect(other.pods.map((p) => p.labels)).toEqual([{}, { app: 'other' }, { app: 'other-3' }]);
  });

  test('past the limit, the result is cut to no labels plus one witness per selector, and says so', () => {
    const selectors = Array.from({ length: 10 }, (_, i): LabelSelector => ({ matchLabels: { [`k${i}`]: 'on' } }));
    const full = possiblePods(selectors, 2_000);
    expect(full).toMatchObject({ complete: true });
    expect(full.pods).toHaveLength(1024);
    const cut = possiblePods(selectors, 100);
    expect(cut.complete).toBe(false);
    expect(cut.pods.map((p) => p.labels)).toEqual([{}, ...selectors.map((s) => s.matchLabels)]);
    for (const [i, s] of selectors.entries()) expect(matchesSelector(s, cut.pods[i + 1]?.labels ?? {})).toBe(true);
  });
});
