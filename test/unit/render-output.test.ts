/**
 * render writes its output in pieces: the pieces add up to exactly what one string would be,
 * in YAML and in JSON.
 */
import { compile } from '../../src/compiler/compile.js';
import { formatPolicies, writePolicies } from '../../src/cli/render.js';
import { toYamlStream, writeYamlStream } from '../../src/io/yaml-emit.js';
import { generateCluster } from '../../bench/cluster.js';

const result = compile(generateCluster(40, 4, 200));

test('the JSON output is byte for byte JSON.stringify of the List, indented by two', () => {
  expect(result.policies.length).toBeGreaterThan(100);
  expect(formatPolicies(result, 'json')).toBe(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: result.policies }, null, 2)}\n`);
  expect(formatPolicies({ ...result, policies: [] }, 'json')).toBe(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }, null, 2)}\n`);
});

test('the output comes in pieces of about a mebibyte, not as one string', () => {
  const pieces: string[] = [];
  writePolicies(compile(generateCluster(2000, 200, 0)), 'yaml', (t) => pieces.push(t));
  expect(pieces.length).toBeGreaterThan(2);
  for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(1 << 20);
});

test('YAML written in small pieces joins to the YAML written at once', () => {
  const whole = toYamlStream(result.policies);
  for (const chunk of [1, 100, 5000]) {
    const pieces: string[] = [];
    writeYamlStream(result.policies, (t) => pieces.push(t), chunk);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(whole);
  }
});
