/**
 * The Helm chart charts/netfence is what scripts/gen-chart.ts makes of config/ (the freshness
 * check `npm run chart:check` runs too), and its values are documented: each has a comment
 * in values.yaml and a row in docs/helm.md, each is used by a template, and the templates
 * use no other. test/integration/helm.test.ts renders and installs it with the real helm.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { RUN_FLAGS } from '../../src/cli/run.js';
import { CHART_DIR, ChartSourceError, generateChart, settingEnv, staleChartFiles } from '../../scripts/gen-chart.js';

const ROOT = process.cwd();
const chart = generateChart(ROOT);
const templates = readdirSync(join(CHART_DIR, 'templates')).map((f) => readFileSync(join(CHART_DIR, 'templates', f), 'utf8'));

describe('the Helm chart', () => {
  test('the committed chart is what the generator makes of config/ (npm run chart:gen)', () => {
    expect(staleChartFiles(ROOT)).toEqual([]);
  });

  test('every value has a comment above it in values.yaml, its groups too, and values.yaml holds no other', () => {
    const doc = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    const found: string[] = [];
    const walk = (node: unknown, prefix: string): void => {
      if (!isMap(node)) return;
      node.items.forEach((pair, index) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        const path = `${prefix}${key}`;
        // The parser gives the comment above a nested map's first key to the map itself.
        const comment = (pair.key as { commentBefore?: string | null }).commentBefore ?? (index === 0 ? node.commentBefore : undefined);
        // The last paragraph: the header's paragraphs come before the first value's.
        const own = comment?.split('\n\n').at(-1)?.trim();
        if (!own || own.includes('DO NOT EDIT')) throw new Error(`values.yaml: ${path} has no comment`);
        if (chart.values.includes(path)) found.push(path);
        else walk(pair.value, `${path}.`);
      });
    };
    walk(doc.contents, '');
    expect(found).toEqual(chart.values);
  });

  test('every value is used by a template, and the templates use no value values.yaml lacks', () => {
    const used = new Set(templates.flatMap((t) => [...t.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1] ?? '')));
    expect([...used].filter((path) => !chart.values.includes(path))).toEqual([]);
    expect(chart.values.filter((path) => !used.has(path))).toEqual([]);
  });

  test('docs/helm.md has one row for each value, in the order of values.yaml', () => {
    const rows = readFileSync('docs/helm.md', 'utf8')
      .split('\n')
      .map((line) => /^\| `([A-Za-z0-9_.]+)` \|/.exec(line)?.[1])
      .filter((path): path is string => path !== undefined);
    expect(rows).toEqual(chart.values);
  });

  test('the variables the Deployment sets are ones `netfence run` reads', () => {
    const variables = templates.flatMap((t) => [...t.matchAll(/- name: (NETFENCE_[A-Z_]+)/g)].map((m) => m[1]));
    expect(variables.length).toBeGreaterThanOrEqual(9);
    const read = RUN_FLAGS.filter((f) => f.value).map((f) => settingEnv(f.name));
    expect(variables.filter((v) => !read.includes(v ?? ''))).toEqual([]);
  });

  test('a component of config/default the chart has no place for is an error naming it', () => {
    const root = mkdtempSync(join(tmpdir(), 'netfence-chart-'));
    try {
      cpSync('config', join(root, 'config'), { recursive: true });
      cpSync('crds', join(root, 'crds'), { recursive: true });
      cpSync('package.json', join(root, 'package.json'));
      expect(generateChart(root).files.map((f) => f.path)).toEqual(chart.files.map((f) => f.path));
      const file = join(root, 'config/default/kustomization.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('  - ../flowcontrol\n', '  - ../flowcontrol\n  - ../samples\n'));
      expect(() => generateChart(root)).toThrow(ChartSourceError);
      expect(() => generateChart(root)).toThrow('config/default/kustomization.yaml: ../samples has no place in the chart');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
