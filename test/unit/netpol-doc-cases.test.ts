/**
 * The NetworkPolicy semantics of the API reference and the documentation's examples
 * (test/fixtures/netpol-doc-cases.ts), through both the point evaluator behind `explain` and
 * the class-based analysis behind `check` and `matrix`.
 */
import { buildReachability, classOfEndpoint } from '../../src/analysis/reachability.js';
import { buildEvaluator, parseEndpoint } from '../../src/evaluator/index.js';
import { DOC_CASES, probeOf, SUBTLETIES, WORLD, type DocCase } from '../fixtures/netpol-doc-cases.js';

const NO_FENCES = { tenants: new Map(), tenantOf: new Map() };

function modelOf(c: DocCase) {
  return { ...WORLD, policies: c.policies };
}

describe('NetworkPolicy semantics from the API reference and the documentation', () => {
  test.each(DOC_CASES.map((c) => [c.name, c] as const))('evaluator: %s', (_name, c) => {
    const evaluator = buildEvaluator(modelOf(c));
    const wrong = c.expectations.filter((line) => {
      const p = probeOf(line);
      return evaluator.evaluate(parseEndpoint(p.from), parseEndpoint(p.to), p.port, p.protocol).allowed !== p.allowed;
    });
    expect(wrong).toEqual([]);
  });

  test.each(DOC_CASES.map((c) => [c.name, c] as const))('analysis: %s', (_name, c) => {
    const reach = buildReachability(modelOf(c), NO_FENCES);
    const wrong = c.expectations.filter((line) => {
      const p = probeOf(line);
      const pair = reach.pair(classOfEndpoint(reach, parseEndpoint(p.from)), classOfEndpoint(reach, parseEndpoint(p.to)));
      return pair.allowed.has(p.protocol, p.port) !== p.allowed;
    });
    expect(wrong).toEqual([]);
  });

  test('covers every subtlety with allowed and denied verdicts', () => {
    for (const s of SUBTLETIES) {
      const lines = DOC_CASES.filter((c) => c.covers.includes(s)).flatMap((c) => c.expectations);
      expect([s, lines.some((l) => l.endsWith(' allowed')), lines.some((l) => l.endsWith(' denied'))]).toEqual([s, true, true]);
    }
    expect(DOC_CASES.reduce((n, c) => n + c.expectations.length, 0)).toBeGreaterThanOrEqual(100);
  });
});
