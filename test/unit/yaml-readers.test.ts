/**
 * The fast YAML reader, the full one and the emitter agree: on every YAML file of this
 * repository, on random documents written in the many layouts tools use, and on random
 * values written by the emitter and read back by kubectl's rules and by the `yaml` package.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { resolvePlain } from '../../src/io/scalars.js';
import { toYaml } from '../../src/io/yaml-emit.js';
import { GiveUp, readFast } from '../../src/io/yaml-fast.js';
import { readFull } from '../../src/io/yaml-full.js';

function fast(text: string): unknown {
  return readFast(text, 0, text.length, 1, { maxScalar: 1e9 }).value;
}

function full(text: string): unknown {
  const { docs, problems } = readFull(text, 0, text.length, 1, { maxNodes: 1e6 });
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return docs[0]?.value;
}

/** The fast reader's value, or `gave up` when it leaves the document to the full reader. */
function fastOrGiveUp(text: string): unknown {
  try {
    return fast(text);
  } catch (e) {
    if (e instanceof GiveUp) return 'gave up';
    throw e;
  }
}

describe('on the YAML files of this repository', () => {
  // Helm templates (charts/*/templates) are Go templates that render to YAML, not YAML.
  const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((f) => !/^charts\/[^/]+\/templates\//.test(f));
  const documents = files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split(/^---[^\n]*\n/m)
      .map((text, i) => ({ name: `${f}#${i}`, text })),
  );

  test('there are YAML files to compare', () => {
    expect(documents.length).toBeGreaterThan(50);
  });

  test('the fast reader reads each document as the full reader does', () => {
    for (const d of documents) {
      const v = fastOrGiveUp(d.text);
      if (v !== 'gave up') expect({ name: d.name, value: v ?? undefined }).toEqual({ name: d.name, value: full(d.text) });
    }
  });

  test('the fast reader takes every document but those with folded block scalars', () => {
    const left = documents.filter((d) => fastOrGiveUp(d.text) === 'gave up').map((d) => d.name);
    expect(left).toEqual(['config/admission/guard_policy.yaml#0', 'config/prometheus/prometheus_rule.yaml#0']);
  });
});

const TRICKY_STRINGS = [
  'yes',
  'no',
  'y',
  'n',
  'on',
  'Off',
  'true',
  'False',
  'null',
  '~',
  '',
  ' ',
  '010',
  '0x35',
  '0o7',
  '1_000',
  '1e3',
  '.5',
  '.inf',
  '-.Inf',
  '.NaN',
  '1:20',
  '2024-01-02',
  '2024-01-02T03:04:05Z',
  '<<',
  '=',
  '-',
  '- a',
  '-a',
  '?',
  '? x',
  ':',
  'a: b',
  'a:b',
  'a #b',
  'a#b',
  '#a',
  '@a',
  '`a',
  '!a',
  '&a',
  '*a',
  '%a',
  '|',
  '>',
  "'",
  '"',
  "it's",
  'say "hi"',
  '[a]',
  '{a}',
  'a, b',
  'a,b',
  'line\nbreak',
  'tab\there',
  'trailing ',
  ' leading',
  'é',
  '日本',
  'a\u2028b',
  'a\u0085b',
  '\u007f',
  '10.0.0.0/8',
  'fd00::/8',
  'kubernetes.io/metadata.name',
  'netfence.dev/tenant',
  '8080',
  '-1',
  '+1',
  '0',
  '00',
  '08',
  '0b1',
  '1.',
  '1.0',
  'Infinity',
  'NaN',
  'E0',
  'e5',
  '-0x1',
  '+0b1',
  '.e1',
];

const scalarArb = fc.oneof(
  fc.constantFrom(...TRICKY_STRINGS),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
);
const keyArb = fc.oneof(
  fc.constantFrom(...TRICKY_STRINGS.filter((s) => s !== '<<')),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '<<' && s !== '__proto__'),
);
const { value: valueArb } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalarArb, tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 4 }),
  map: fc.dictionary(keyArb, tie('value'), { maxKeys: 4 }),
}));

describe('the emitter', () => {
  test('every value it writes reads back as itself: with kubectl rules (both readers) and with the yaml package, 1.1 and 1.2', () => {
    fc.assert(
      fc.property(fc.dictionary(keyArb, valueArb, { maxKeys: 5 }), (value) => {
        const text = toYaml(value);
        expect(full(text) ?? {}).toEqual(value);
        const f = fastOrGiveUp(text);
        if (f !== 'gave up') expect(f ?? {}).toEqual(value);
        expect(parse(text, { version: '1.1', schema: 'yaml-1.1' }) ?? {}).toEqual(value);
        expect(parse(text) ?? {}).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  test('the fast reader takes what the emitter writes unless a string needs more than one line', () => {
    fc.assert(
      fc.property(fc.dictionary(keyArb, valueArb, { maxKeys: 5 }), (value) => {
        const text = toYaml(value);
        if (!text.includes('\\u2028') && !text.includes('\\u0085')) expect(fastOrGiveUp(text)).not.toBe('gave up');
      }),
      { numRuns: 300 },
    );
  });

  test('it quotes what YAML 1.1 would read as something else', () => {
    expect(toYaml({ namespace: 'n', on: 'yes', port: '010', time: '1:20', date: '2024-01-02', name: 'web' })).toBe(
      'namespace: "n"\n"on": "yes"\nport: "010"\ntime: "1:20"\ndate: "2024-01-02"\nname: web\n',
    );
  });
});

/** Writes a value as YAML in a random layout, the way different tools and people do. */
function layoutArb(value: unknown): fc.Arbitrary<string> {
  return fc
    .record({
      seqIndent: fc.boolean(),
      flowScalars: fc.boolean(),
      quote: fc.constantFrom('double', 'single', 'plain'),
      comments: fc.boolean(),
      extra: fc.integer({ min: 2, max: 4 }),
    })
    .map((o) => {
      const scalar = (v: unknown): string => {
        // scalarArb draws strings, numbers, booleans and null: nothing else is a scalar here.
        if (typeof v !== 'string') return v === null ? 'null' : JSON.stringify(v);
        const safe = /^[a-z][a-z0-9./-]*$/.test(v) && typeof resolvePlain(v) === 'string';
        if (o.quote === 'plain' && safe) return v;
        if (o.quote === 'single' && !/[\n\u0085\u2028\u2029\t]/.test(v)) return `'${v.replace(/'/g, "''")}'`;
        return JSON.stringify(v).replace(/[\u007f\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      };
      const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';
      const comment = o.comments ? '  # note' : '';
      const lines: string[] = [];
      const emit = (v: unknown, indent: number, first: string | undefined): void => {
        const pad = ' '.repeat(indent);
        let lead = first ?? pad;
        if (Array.isArray(v)) {
          if (o.flowScalars && v.every(isScalar)) {
            lines.push(`${lead}[${v.map(scalar).join(', ')}]`);
            return;
          }
          for (const item of v) {
            if (isScalar(item) || (Array.isArray(item) && item.length === 0) || (!Array.isArray(item) && Object.keys(item as object).length === 0))
              lines.push(`${lead}- ${isScalar(item) ? scalar(item) : Array.isArray(item) ? '[]' : '{}'}${comment}`);
            else if (Array.isArray(item)) {
              lines.push(`${lead}-`);
              emit(item, indent + o.extra, undefined);
            } else emit(item, indent + 2, `${lead}- `);
            lead = pad;
          }
          return;
        }
        const entries = Object.entries(v as Record<string, unknown>);
        for (const [k, val] of entries) {
          const key = scalar(k);
          if (isScalar(val)) lines.push(`${lead}${key}: ${scalar(val)}${comment}`);
          else if (Array.isArray(val) && val.length === 0) lines.push(`${lead}${key}: []`);
          else if (!Array.isArray(val) && Object.keys(val as object).length === 0) lines.push(`${lead}${key}: {}`);
          else if (Array.isArray(val)) {
            if (o.flowScalars && val.every(isScalar)) lines.push(`${lead}${key}: [${val.map(scalar).join(', ')}]`);
            else {
              lines.push(`${lead}${key}:${o.comments ? ' # list' : ''}`);
              emit(val, o.seqIndent ? indent + o.extra : indent, undefined);
            }
          } else {
            lines.push(`${lead}${key}:`);
            if (o.comments) lines.push(`${pad}# inside`);
            emit(val, indent + o.extra, undefined);
          }
          lead = pad;
        }
      };
      emit(value, 0, undefined);
      return `${lines.join('\n')}\n`;
    });
}

describe('the fast reader and the full reader', () => {
  const docArb = fc
    .dictionary(
      keyArb.filter((k) => !/[\n\u0085\u2028\u2029]/.test(k)),
      valueArb,
      { minKeys: 1, maxKeys: 5 },
    )
    .chain((v) => fc.tuple(fc.constant(v), layoutArb(v)));

  test('agree on random documents in random layouts, and read the value written', () => {
    let taken = 0;
    fc.assert(
      fc.property(docArb, ([value, text]) => {
        const f = fastOrGiveUp(text);
        expect(full(text)).toEqual(value);
        if (f !== 'gave up') {
          taken++;
          expect(f).toEqual(value);
        }
      }),
      { numRuns: 500 },
    );
    expect(taken).toBeGreaterThan(250);
  });
});
