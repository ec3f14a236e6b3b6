/** src/core/labels.ts: label selectors, by table and by property. */
import fc from 'fast-check';
import type { LabelSelector, LabelSelectorRequirement } from '../../src/api/k8s.js';
import { canonicalSelector, compareStrings, isEmptySelector, matchesRequirement, matchesSelector, selectorProblems, type Labels } from '../../src/core/labels.js';

const LABELS: Labels = Object.freeze({ app: 'web', tier: 'front', empty: '' });

describe('a requirement matches labels by its operator', () => {
  test.each([
    ['In with the value', { key: 'app', operator: 'In', values: ['db', 'web'] }, true],
    ['In without the value', { key: 'app', operator: 'In', values: ['db'] }, false],
    ['In on a missing key', { key: 'team', operator: 'In', values: ['web'] }, false],
    ['In on an empty value', { key: 'empty', operator: 'In', values: [''] }, true],
    ['NotIn with the value', { key: 'app', operator: 'NotIn', values: ['web'] }, false],
    ['NotIn without the value', { key: 'app', operator: 'NotIn', values: ['db'] }, true],
    ['NotIn on a missing key', { key: 'team', operator: 'NotIn', values: ['a'] }, true],
    ['Exists on a present key', { key: 'tier', operator: 'Exists' }, true],
    ['Exists on a key with an empty value', { key: 'empty', operator: 'Exists' }, true],
    ['Exists on a missing key', { key: 'team', operator: 'Exists' }, false],
    ['DoesNotExist on a present key', { key: 'tier', operator: 'DoesNotExist' }, false],
    ['DoesNotExist on a missing key', { key: 'team', operator: 'DoesNotExist' }, true],
    ['an unknown operator, which fails closed', { key: 'app', operator: 'Gt', values: ['1'] }, false],
    ['a key inherited from Object.prototype, which is not a label', { key: 'toString', operator: 'Exists' }, false],
  ] as [string, LabelSelectorRequirement, boolean][])('%s: %s', (_name, req, matches) => {
    expect(matchesRequirement(req, LABELS)).toBe(matches);
  });
});

describe('a selector matches when every part holds', () => {
  test.each([
    ['the empty selector matches any labels', {}, LABELS, true],
    ['the empty selector matches a pod without labels', {}, undefined, true],
    ['matchLabels with every pair present', { matchLabels: { app: 'web', tier: 'front' } }, LABELS, true],
    ['matchLabels with one pair different', { matchLabels: { app: 'web', tier: 'back' } }, LABELS, false],
    ['matchLabels against no labels', { matchLabels: { app: 'web' } }, undefined, false],
    ['matchLabels with an empty value needs the empty value', { matchLabels: { empty: '' } }, LABELS, true],
    ['matchLabels with an empty value on a missing key', { matchLabels: { team: '' } }, LABELS, false],
    ['matchLabels and matchExpressions are ANDed', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, LABELS, false],
    [
      'several expressions are ANDed',
      {
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['web'] },
          { key: 'team', operator: 'DoesNotExist' },
        ],
      },
      LABELS,
      true,
    ],
    ['NotIn matches a pod without labels', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, undefined, true],
  ] as [string, LabelSelector, Labels | undefined, boolean][])('%s', (_name, selector, labels, matches) => {
    expect(matchesSelector(selector, labels)).toBe(matches);
  });
});

describe('selector helpers', () => {
  test.each([
    [{}, true],
    [{ matchLabels: {}, matchExpressions: [] }, true],
    [{ matchLabels: { a: 'b' } }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, false],
  ] as [LabelSelector, boolean][])('isEmptySelector(%j) is %s', (selector, empty) => {
    expect(isEmptySelector(selector)).toBe(empty);
  });

  test('an absent selector is not the empty selector', () => {
    expect(isEmptySelector(undefined)).toBe(false);
  });

  test.each([
    ['In without values', { key: 'a', operator: 'In', values: [] }, /operator In needs at least one value/],
    ['NotIn without values', { key: 'a', operator: 'NotIn' }, /operator NotIn needs at least one value/],
    ['Exists with values', { key: 'a', operator: 'Exists', values: ['x'] }, /operator Exists takes no values/],
    ['an unknown operator', { key: 'a', operator: 'Gt', values: ['1'] }, /unknown operator "Gt"/],
  ] as [string, LabelSelectorRequirement, RegExp][])('selectorProblems reports %s', (_name, req, problem) => {
    const problems = selectorProblems({ matchExpressions: [{ key: 'ok', operator: 'Exists' }, req] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^matchExpressions\[1\]: /);
    expect(problems[0]).toMatch(problem);
  });

  test('selectorProblems accepts a valid selector', () => {
    expect(
      selectorProblems({
        matchLabels: { a: 'b' },
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['b'] },
          { key: 'c', operator: 'DoesNotExist' },
        ],
      }),
    ).toEqual([]);
  });

  test('canonicalSelector sorts keys, expressions and values and drops duplicate values', () => {
    const canonical = canonicalSelector({
      matchLabels: { z: '1', a: '2' },
      matchExpressions: [
        { key: 'b', operator: 'In', values: ['y', 'x', 'y'] },
        { key: 'a', operator: 'Exists' },
      ],
    });
    expect(JSON.stringify(canonical)).toBe(
      JSON.stringify({
        matchLabels: { a: '2', z: '1' },
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'In', values: ['x', 'y'] },
        ],
      }),
    );
  });

  test('canonicalSelector leaves out empty parts', () => {
    expect(canonicalSelector({ matchLabels: {}, matchExpressions: [] })).toEqual({});
  });

  test('compareStrings orders by code unit, not by locale', () => {
    expect(['b', 'B', 'a', 'é', 'e'].sort(compareStrings)).toEqual(['B', 'a', 'b', 'e', 'é']);
  });
});

const key = fc.constantFrom('app', 'tier', 'team', 'kubernetes.io/metadata.name');
const value = fc.constantFrom('', 'a', 'b', 'web');
const labels = fc.dictionary(key, value, { maxKeys: 4 });
const values = fc.uniqueArray(value, { minLength: 1, maxLength: 3 });
const requirement: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values }),
  fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const selector: fc.Arbitrary<LabelSelector> = fc.record(
  { matchLabels: fc.dictionary(key, value, { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 3 }) },
  { requiredKeys: [] },
);

describe('properties', () => {
  test('NotIn is the complement of In, and DoesNotExist of Exists', () => {
    fc.assert(
      fc.property(key, values, labels, (k, vs, l) => {
        expect(matchesRequirement({ key: k, operator: 'NotIn', values: vs }, l)).toBe(!matchesRequirement({ key: k, operator: 'In', values: vs }, l));
        expect(matchesRequirement({ key: k, operator: 'DoesNotExist' }, l)).toBe(!matchesRequirement({ key: k, operator: 'Exists' }, l));
      }),
    );
  });

  test('a selector matches exactly when each of its parts matches on its own', () => {
    fc.assert(
      fc.property(selector, labels, (s, l) => {
        const parts = [
          ...Object.entries(s.matchLabels ?? {}).map(([k, v]) => matchesSelector({ matchLabels: { [k]: v } }, l)),
          ...(s.matchExpressions ?? []).map((r) => matchesRequirement(r, l)),
        ];
        expect(matchesSelector(s, l)).toBe(parts.every(Boolean));
      }),
    );
  });

  test('matchLabels built from labels matches those labels and any superset', () => {
    fc.assert(
      fc.property(labels, labels, (own, extra) => {
        expect(matchesSelector({ matchLabels: own }, { ...extra, ...own })).toBe(true);
      }),
    );
  });

  test('canonicalSelector keeps the meaning and is idempotent', () => {
    fc.assert(
      fc.property(selector, labels, (s, l) => {
        const c = canonicalSelector(s);
        expect(matchesSelector(c, l)).toBe(matchesSelector(s, l));
        expect(canonicalSelector(c)).toEqual(c);
        expect(isEmptySelector(c)).toBe(isEmptySelector(s));
      }),
    );
  });
});
