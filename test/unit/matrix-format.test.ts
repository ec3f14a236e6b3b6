/** The `netfence matrix` formatters on small hand-built reports: every format, parsed back. */
import { spawnSync } from 'node:child_process';
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../src/analysis/matrix-model.js';
import { formatMatrix, MATRIX_FORMATS, type MatrixFormat } from '../../src/cli/matrix-format.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

const WEIRD = 'we|rd <t> "q" & co';

const NONE: MatrixCell = { reach: 'none', ports: '', fence: 'none' };
const cell = (reach: MatrixCell['reach'], ports: string, fence: CellFence): MatrixCell => ({ reach, ports, fence });
const tenant = (name: string, detail: string): MatrixEntry => ({ id: `tenant:${name}`, label: name, kind: 'tenant', detail });
const namespace = (name: string, detail: string, tenantName?: string): MatrixEntry => ({
  id: `namespace:${name}`,
  label: name,
  kind: 'namespace',
  detail,
  ...(tenantName === undefined ? {} : { tenant: tenantName }),
});
const EXTERNAL: MatrixEntry = { id: 'external', label: 'outside the cluster', kind: 'external', detail: 'addresses that are not pods' };
const METADATA: MatrixEntry = { id: 'metadata', label: 'cloud metadata', kind: 'external', detail: '169.254.169.254, fd00:ec2::254' };

/** A matrix from entries and the cells that allow something, keyed `fromId -> toId`. */
function matrix(entries: MatrixEntry[], allowed: Record<string, MatrixCell>): Matrix {
  const ids = new Set(entries.map((e) => e.id));
  for (const key of Object.keys(allowed)) {
    for (const id of key.split(' -> ')) if (!ids.has(id)) throw new Error(`fixture: unknown entry ${id} in ${key}`);
  }
  return { entries, cells: entries.map((f) => entries.map((t) => allowed[`${f.id} -> ${t.id}`] ?? NONE)) };
}

/**
 * Four tenants (gamma in Audit, one with markup characters in its name), a namespace outside
 * every tenant, the two outside entries; one violation alpha -> beta, one audit gamma -> beta.
 */
function smallReport(): MatrixReport {
  const tenants = matrix(
    [
      tenant('alpha', '2 namespaces, 4 pods'),
      tenant('beta', '1 namespace, 2 pods'),
      tenant('gamma', 'Audit, 1 namespace, 1 pod'),
      tenant(WEIRD, '1 namespace, 1 pod'),
      namespace('default', '3 pods'),
      EXTERNAL,
      METADATA,
    ],
    {
      'tenant:alpha -> tenant:alpha': cell('all', 'any', 'same'),
      'tenant:alpha -> tenant:beta': cell('some', 'TCP 8080', 'violation'),
      'tenant:alpha -> external': cell('all', 'TCP 443', 'declared'),
      'tenant:beta -> tenant:beta': cell('all', 'any', 'same'),
      'tenant:beta -> tenant:alpha': cell('some', 'TCP 53, UDP 53', 'declared'),
      'tenant:gamma -> tenant:gamma': cell('all', 'any', 'same'),
      'tenant:gamma -> tenant:beta': cell('all', 'TCP 9090', 'audit'),
      [`tenant:${WEIRD} -> tenant:${WEIRD}`]: cell('all', 'any', 'same'),
      [`tenant:${WEIRD} -> metadata`]: cell('all', 'TCP 80', 'declared'),
      'namespace:default -> namespace:default': cell('all', 'any', 'same'),
      'namespace:default -> external': cell('all', 'any', 'unfenced'),
      'namespace:default -> metadata': cell('all', 'any', 'unfenced'),
      'external -> namespace:default': cell('some', 'TCP 80', 'unfenced'),
    },
  );
  const namespaces = matrix(
    [
      namespace('a1', '2 pods', 'alpha'),
      namespace('a2', '2 pods', 'alpha'),
      namespace('b1', '2 pods', 'beta'),
      namespace('g1', 'no pods in the input: one representative pod', 'gamma'),
      namespace('w1', '1 pod', WEIRD),
      namespace('default', '3 pods'),
      EXTERNAL,
      METADATA,
    ],
    {
      'namespace:a1 -> namespace:a1': cell('all', 'any', 'same'),
      'namespace:a1 -> namespace:a2': cell('all', 'any', 'same'),
      'namespace:a2 -> namespace:a1': cell('all', 'any', 'same'),
      'namespace:a2 -> namespace:a2': cell('all', 'any', 'same'),
      'namespace:a1 -> namespace:b1': cell('some', 'TCP 8080', 'violation'),
      'namespace:a1 -> external': cell('all', 'TCP 443', 'declared'),
      'namespace:b1 -> namespace:b1': cell('all', 'any', 'same'),
      'namespace:b1 -> namespace:a2': cell('some', 'TCP 53, UDP 53', 'declared'),
      'namespace:g1 -> namespace:g1': cell('all', 'any', 'same'),
      'namespace:g1 -> namespace:b1': cell('all', 'TCP 9090', 'audit'),
      'namespace:w1 -> namespace:w1': cell('all', 'any', 'same'),
      'namespace:w1 -> metadata': cell('all', 'TCP 80', 'declared'),
      'namespace:default -> namespace:default': cell('all', 'any', 'same'),
      'namespace:default -> external': cell('all', 'any', 'unfenced'),
      'namespace:default -> metadata': cell('all', 'any', 'unfenced'),
      'external -> namespace:default': cell('some', 'TCP 80', 'unfenced'),
    },
  );
  return {
    title: 'examples/<demo> & "friends" (4 tenants, 6 namespaces, 12 pods)',
    tenants,
    namespaces,
    notes: ['g1 has no pods in the input: one representative pod', 'gamma is in Audit mode: <nothing> is enforced'],
    violations: 1,
  };
}

/** A report with one namespace matrix of `n` entries, long names included, and no tenant matrix. */
function wideReport(n: number): MatrixReport {
  const entries: MatrixEntry[] = [];
  for (let i = 0; i < n - 2; i++) {
    const name = i % 7 === 3 ? `payments-processing-backend-${i}-production-eu-west-1` : `ns-${i}`;
    entries.push(namespace(name, `${(i % 5) + 1} pods`, `team-${Math.floor(i / 4)}`));
  }
  entries.push(EXTERNAL, METADATA);
  const allowed: Record<string, MatrixCell> = {};
  entries.forEach((f, i) =>
    entries.forEach((t, j) => {
      if (f.kind === 'external' || t.kind === 'external') return;
      if (f.tenant === t.tenant) allowed[`${f.id} -> ${t.id}`] = cell('all', 'any', 'same');
      else if ((i * 7 + j * 3) % 53 === 0) allowed[`${f.id} -> ${t.id}`] = cell('some', 'TCP 8080', 'violation');
    }),
  );
  return { title: `wide (${n} entries)`, tenants: { entries: [], cells: [] }, namespaces: matrix(entries, allowed), notes: [], violations: 3 };
}

const SYMBOL: Record<MatrixCell['reach'], string> = { all: '●', some: '◐', none: '·' };
const MARK: Record<CellFence, string> = { violation: '!', audit: '?', declared: '+', same: ' ', unfenced: ' ', none: ' ' };

/** Cells between different entries that allow something: what the graph formats draw. */
function expectedEdges(m: Matrix): string[] {
  const out: string[] = [];
  m.cells.forEach((row, i) => row.forEach((c, j) => i !== j && c.reach !== 'none' && out.push(`${i}>${j}`)));
  return out.sort();
}

function cellOf(m: Matrix, fromId: string, toId: string): MatrixCell {
  const i = m.entries.findIndex((e) => e.id === fromId);
  const j = m.entries.findIndex((e) => e.id === toId);
  const c = m.cells[i]?.[j];
  if (c === undefined) throw new Error(`no cell ${fromId} -> ${toId}`);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Parsers: each format read back, so the assertions are about structure, not substrings

/** The text grid of the section `title`: every cell as its two characters (symbol + mark). */
function parseTextGrid(text: string, title: string, n: number): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${title} (row reaches column)`));
  if (start < 0) throw new Error(`no grid ${title}`);
  const digits = String(n).length;
  const headers = lines.slice(start + 1, start + 1 + digits);
  const units = headers[digits - 1] ?? '';
  /** Each column's symbol sits under the units digit of its number. */
  const positions = [...units.matchAll(/\d/g)].map((m) => m.index).filter((p) => p > units.indexOf('from \\ to'));
  expect(positions).toHaveLength(n);
  positions.forEach((p, j) => expect(headers.map((h) => h[p] ?? ' ').join('')).toBe(String(j + 1).padStart(digits)));
  return lines.slice(start + 1 + digits, start + 1 + digits + n).map((row) => positions.map((p) => `${row[p] ?? ' '}${row[p + 1] ?? ' '}`));
}

/** Splits a markdown table row on the pipes that are not escaped. */
function mdCells(row: string): string[] {
  const cells: string[] = [];
  let current = '';
  for (let k = 0; k < row.length; k++) {
    const c = row[k];
    if (c === '\\') {
      current += c + (row[k + 1] ?? '');
      k++;
    } else if (c === '|') {
      cells.push(current.trim());
      current = '';
    } else current += c;
  }
  cells.push(current.trim());
  return cells.slice(1, -1);
}

function mdTable(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l === `### ${heading}`);
  const first = lines.findIndex((l, k) => k > start && l.startsWith('|'));
  const rows: string[][] = [];
  for (let k = first; k < lines.length && (lines[k] ?? '').startsWith('|'); k++) rows.push(mdCells(lines[k] ?? ''));
  return rows;
}

interface ParsedEdge {
  from: number;
  to: number;
  label: string;
  line: string;
  index: number;
}

function mermaidEdges(src: string): ParsedEdge[] {
  const out: ParsedEdge[] = [];
  for (const line of src.split('\n')) {
    const m = /^ {2}n(\d+) (-->|==>|-\.->)\|"([^"]*)"\| n(\d+)$/.exec(line);
    if (m !== null) out.push({ from: Number(m[1]), to: Number(m[4]), label: m[3] ?? '', line, index: out.length });
  }
  return out;
}

/** linkStyle lines: edge index -> style. */
function mermaidLinkStyles(src: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of src.split('\n')) {
    const m = /^ {2}linkStyle ([\d,]+) (.+)$/.exec(line);
    if (m !== null) for (const k of (m[1] ?? '').split(',')) out.set(Number(k), m[2] ?? '');
  }
  return out;
}

/** DOT edges back to entry indexes: a cluster edge names its tenant by ltail/lhead. */
function dotEdges(src: string): ParsedEdge[] {
  const out: ParsedEdge[] = [];
  for (const line of src.split('\n')) {
    const m = /^ {2}(e\d+(?:_\d+)?) -> (e\d+(?:_\d+)?) \[(.*)\];$/.exec(line);
    if (m === null) continue;
    const attrs = m[3] ?? '';
    const end = (node: string, attr: string): number => {
      const cluster = new RegExp(`${attr}=cluster_(\\d+)`).exec(attrs);
      return Number(cluster?.[1] ?? /^e(\d+)$/.exec(node)?.[1] ?? NaN);
    };
    out.push({ from: end(m[1] ?? '', 'ltail'), to: end(m[2] ?? '', 'lhead'), label: /label="((?:[^"\\]|\\.)*)"/.exec(attrs)?.[1] ?? '', line, index: out.length });
  }
  return out;
}

/** Every `"` outside escapes pairs up, on every line: the DOT strings are closed. */
function dotQuotesBalanced(src: string): boolean {
  return src.split('\n').every((line) => (line.replace(/\\./g, '').match(/"/g) ?? []).length % 2 === 0);
}

/** Anything in an html page that could make a browser fetch something. */
const EXTERNAL_REF = /\b(?:src|href|srcset|action|poster|data|formaction|background)\s*=|url\s*\(|@import|https?:|\/\/|<(?:script|link|img|iframe|object|embed|video|audio|source|base)\b/i;

function hasDot(): boolean {
  return spawnSync('dot', ['-V'], { encoding: 'utf8' }).status === 0;
}

// ---------------------------------------------------------------------------------------------

describe('formatMatrix', () => {
  const report = smallReport();
  const out = Object.fromEntries(MATRIX_FORMATS.map((f) => [f, formatMatrix(report, f)])) as Record<MatrixFormat, string>;

  it.each(MATRIX_FORMATS)('%s is deterministic and ends with a newline', (format) => {
    const again = formatMatrix(structuredClone(report), format);
    expect(again).toBe(out[format]);
    expect(out[format].endsWith('\n')).toBe(true);
  });

  it.each(MATRIX_FORMATS)('%s does not change the report', (format) => {
    const r = smallReport();
    const before = JSON.stringify(r);
    formatMatrix(r, format);
    expect(JSON.stringify(r)).toBe(before);
  });

  /** How each format marks the violation alpha -> beta (some pairs, TCP 8080). */
  const violationMarks: [MatrixFormat, (s: string) => void][] = [
    ['text', (s) => expect(s).toMatch(/^ {2}! alpha +→ beta +◐ some +TCP 8080 +VIOLATION$/m)],
    ['markdown', (s) => expect(s).toContain('| **◐\\!** | alpha | beta | some | TCP 8080 | **violation: crosses an Enforce fence undeclared** |')],
    ['mermaid', (s) => expect(s).toContain('  n0 ==>|"VIOLATION TCP 8080 #40;some#41;"| n1')],
    ['dot', (s) => expect(s).toMatch(/^ {2}e0_0 -> e1_0 \[label="VIOLATION TCP 8080 \(some\)", .*color="#d32f2f".*penwidth=2\.5.*ltail=cluster_0, lhead=cluster_1\];$/m)],
    [
      'html',
      (s) =>
        expect(s).toContain(
          '<td class="violation" title="from alpha to beta: some pairs reach, TCP 8080; violation: crosses an Enforce fence undeclared">◐!<small>TCP 8080</small></td>',
        ),
    ],
  ];
  it.each(violationMarks)('%s marks the violation with its ports', (format, check) => check(out[format]));

  /** How each format shows the tenant with `|`, `<`, `"` and `&` in its name. */
  const escapes: [MatrixFormat, string, RegExp][] = [
    ['text', `4 ${WEIRD}`, /\u001b/],
    ['markdown', '**we\\|rd &lt;t&gt; "q" &amp; co**', /<t>|we\|rd/],
    ['mermaid', 'n3["we#124;rd #60;t#62; #34;q#34; #38; co<br/>', /<t>|"q"|we\|rd/],
    ['dot', 'label="tenant we|rd <t> \\"q\\" &amp; co\\n1 namespace, 1 pod"', /[^\\]"q\\?"|& co/],
    ['html', '<span>we|rd &#60;t&#62; &#34;q&#34; &#38; co</span>', /<t>|"q"|& co|<demo>|<nothing>/],
  ];
  it.each(escapes)('%s escapes labels', (format, escaped, raw) => {
    expect(out[format]).toContain(escaped);
    if (format !== 'text') expect(out[format]).not.toMatch(raw);
  });

  describe('text', () => {
    const text = out.text;

    it('draws every cell of both matrices as symbol and fence mark', () => {
      for (const [title, m] of [
        ['Tenants', report.tenants],
        ['Namespaces', report.namespaces],
      ] as const) {
        const expected = m.cells.map((row) => row.map((c) => `${SYMBOL[c.reach]}${MARK[c.fence]}`));
        expect(parseTextGrid(text, title, m.entries.length)).toEqual(expected);
      }
    });

    it('labels rows, keys the columns, gives the legend, the crossings and the notes', () => {
      expect(text).toMatch(/^!! 1 VIOLATION: a path crosses an Enforce tenant's fence undeclared \(marked !\)$/m);
      expect(text).toMatch(/^ {2}5 default +· · · · ● {2}● ●$/m);
      expect(text).toMatch(/^ {2}6 outside the cluster +· · · · ◐ {2}· ·$/m);
      expect(text).toContain('  7 cloud metadata: outside the cluster · 169.254.169.254, fd00:ec2::254');
      expect(text).toContain(`  4 ${WEIRD}: tenant · 1 namespace, 1 pod`);
      expect(text).toContain('  ! violation: crosses an Enforce fence undeclared');
      expect(text).toContain('  ? audit: crosses an Audit fence undeclared (not enforced)');
      const crossings = text.split('\n').filter((l) => /^ {2}[!?+] /.test(l) && l.includes('→'));
      expect(crossings.map((l) => l.replace(/ +/g, ' ').trim())).toEqual([
        '! alpha → beta ◐ some TCP 8080 VIOLATION',
        '? gamma → beta ● all TCP 9090 audit, not enforced',
        '+ alpha → outside the cluster ● all TCP 443 declared',
        '+ beta → alpha ◐ some TCP 53, UDP 53 declared',
        `+ ${WEIRD} → cloud metadata ● all TCP 80 declared`,
        '! a1 (alpha) → b1 (beta) ◐ some TCP 8080 VIOLATION',
        '? g1 (gamma) → b1 (beta) ● all TCP 9090 audit, not enforced',
        '+ a1 (alpha) → outside the cluster ● all TCP 443 declared',
        '+ b1 (beta) → a2 (alpha) ◐ some TCP 53, UDP 53 declared',
        `+ w1 (${WEIRD}) → cloud metadata ● all TCP 80 declared`,
      ]);
      expect(text.trimEnd().split('\n').slice(-3)).toEqual([
        'Notes:',
        '  - g1 has no pods in the input: one representative pod',
        '  - gamma is in Audit mode: <nothing> is enforced',
      ]);
    });

    it('keeps a 50-entry grid aligned and narrow enough, cutting long names and keying them in full', () => {
      const r = wideReport(50);
      const t = formatMatrix(r, 'text');
      const expected = r.namespaces.cells.map((row) => row.map((c) => `${SYMBOL[c.reach]}${MARK[c.fence]}`));
      expect(parseTextGrid(t, 'Namespaces', 50)).toEqual(expected);
      const gridLines = t.split('\n').filter((l) => /^ +\d+ \S/.test(l) && !l.includes(': '));
      expect(gridLines).toHaveLength(50);
      for (const l of gridLines) expect(Array.from(l).length).toBeLessThanOrEqual(170);
      expect(t).toContain('payments-processing-bac…');
      expect(t).toContain('   4 payments-processing-backend-3-production-eu-west-1: namespace of tenant team-0 · 4 pods');
    });

    it('lists instead of drawing a grid past 60 entries', () => {
      const t = formatMatrix(wideReport(70), 'text');
      expect(t).toContain('Namespaces (70 entries, too many for a grid: each source with what it reaches)');
      expect(t).not.toContain('(row reaches column)');
      expect(t).toMatch(/^ {6}→ 54 ns-53 +◐! TCP 8080$/m);
      expect(t).toContain('  69 outside the cluster: reaches nothing');
    });

    it('says so when nothing is violated, and neutralises control characters', () => {
      const r = { ...smallReport(), violations: 0, title: 'evil\u001b[2Jtitle', notes: ['line\nbreak'] };
      const t = formatMatrix(r, 'text');
      expect(t).toContain("no violations: no path crosses an Enforce tenant's fence undeclared");
      expect(t).not.toContain('\u001b');
      expect(t).toContain('evil?[2Jtitle');
      expect(t).toContain('  - line break');
    });
  });

  describe('markdown', () => {
    const markdown = out.markdown;

    it('draws both matrices as tables whose rows keep their column count', () => {
      for (const [heading, m, extra] of [
        ['Tenants', report.tenants, 2],
        ['Namespaces', report.namespaces, 3],
      ] as const) {
        const rows = mdTable(markdown, heading);
        expect(rows).toHaveLength(m.entries.length + 2);
        for (const row of rows) expect(row).toHaveLength(m.entries.length + extra);
        const body = rows.slice(2);
        m.entries.forEach((e, i) => {
          const c = body[i]?.slice(extra) ?? [];
          m.entries.forEach((_, j) => {
            const expectedCell = m.cells[i]?.[j] ?? NONE;
            const symbol = SYMBOL[expectedCell.reach];
            const want = expectedCell.fence === 'violation' ? `**${symbol}\\!**` : `${symbol}${MARK[expectedCell.fence].trim()}`;
            expect(`${e.label} -> ${j}: ${c[j]}`).toBe(`${e.label} -> ${j}: ${want}`);
          });
        });
      }
    });

    it('has a summary, a legend, the crossings with ports and the notes, escaped', () => {
      expect(markdown).toContain('## netfence matrix: examples/&lt;demo&gt; &amp; "friends" (4 tenants, 6 namespaces, 12 pods)');
      expect(markdown).toContain("❌ **1 violation: a path crosses an Enforce tenant's fence undeclared** (cells marked **\\!**)");
      expect(markdown).toContain('**Legend:**');
      const crossings = mdTable(markdown, 'Crossing a fence, between tenants');
      expect(crossings.slice(2).map((r) => r.slice(1, 5).join(' ; '))).toEqual([
        'alpha ; beta ; some ; TCP 8080',
        'gamma ; beta ; all ; TCP 9090',
        'alpha ; outside the cluster ; all ; TCP 443',
        'beta ; alpha ; some ; TCP 53, UDP 53',
        'we\\|rd &lt;t&gt; "q" &amp; co ; cloud metadata ; all ; TCP 80',
      ]);
      expect(markdown).toContain('- gamma is in Audit mode: &lt;nothing&gt; is enforced');
    });

    it('escapes emphasis, code and links too', () => {
      const r = smallReport();
      (r.tenants.entries[0] as MatrixEntry).label = 'a*b_c`d[e](f)';
      expect(formatMatrix(r, 'markdown')).toContain('**a\\*b\\_c\\`d\\[e\\](f)**');
    });
  });

  describe('mermaid', () => {
    const src = out.mermaid;

    it('is a flowchart with one node per tenant-matrix entry, shaped by kind', () => {
      expect(src.split('\n').filter((l) => !l.startsWith('%%'))[0]).toBe('flowchart LR');
      const nodes = src.split('\n').filter((l) => /^ {2}n\d+[[({]/.test(l));
      expect(nodes.map((l) => /^ {2}(n\d+)/.exec(l)?.[1])).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
      expect(nodes[0]).toBe('  n0["alpha<br/><small>tenant · 2 namespaces, 4 pods</small>"]');
      expect(nodes[4]).toBe('  n4(["default<br/><small>namespace, no tenant · 3 pods</small>"])');
      expect(nodes[5]).toBe('  n5{{"outside the cluster<br/><small>addresses that are not pods</small>"}}');
      expect(nodes[6]).toBe('  n6{{"cloud metadata<br/><small>outside the cluster · 169.254.169.254, fd00:ec2::254</small>"}}');
    });

    it('draws an edge per reachable cell between different entries and none for the rest', () => {
      const parsed = mermaidEdges(src);
      expect(parsed.map((e) => `${e.from}>${e.to}`).sort()).toEqual(expectedEdges(report.tenants));
      expect(src.split('\n').filter((l) => /-->|==>|-\.->/.test(l))).toHaveLength(parsed.length);
      const byPair = new Map(parsed.map((e) => [`${e.from}>${e.to}`, e]));
      expect(byPair.get('0>5')?.label).toBe('TCP 443');
      expect(byPair.get('3>6')?.label).toBe('TCP 80');
      expect(byPair.get('5>4')?.label).toBe('TCP 80 #40;some#41;');
      expect(byPair.get('1>0')?.label).toBe('TCP 53, UDP 53 #40;some#41;');
      expect(byPair.get('2>1')?.line).toBe('  n2 -.->|"audit TCP 9090"| n1');
    });

    it('styles the violation red and the audit amber, by edge index', () => {
      const parsed = mermaidEdges(src);
      const styles = mermaidLinkStyles(src);
      expect(styles.size).toBe(parsed.length);
      const violation = parsed.find((e) => e.from === 0 && e.to === 1);
      const audit = parsed.find((e) => e.from === 2 && e.to === 1);
      expect(styles.get(violation?.index ?? -1)).toContain('stroke:#d32f2f');
      expect(styles.get(audit?.index ?? -1)).toContain('stroke:#e69500');
      for (const e of parsed.filter((x) => x !== violation)) expect(styles.get(e.index)).not.toContain('#d32f2f');
    });

    it('keeps quotes and pipes out of labels', () => {
      for (const line of src.split('\n').filter((l) => /^ {2}n\d/.test(l))) {
        const quoted = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
        expect(quoted.length).toBeGreaterThan(0);
        for (const q of quoted) expect(q.replace(/<br\/>|<\/?small>/g, '')).not.toMatch(/[<>|"]/);
      }
    });
  });

  describe('dot', () => {
    const src = out.dot;

    it('is a digraph with closed strings', () => {
      expect(src.startsWith('digraph netfence {\n')).toBe(true);
      expect(src.trimEnd().endsWith('}')).toBe(true);
      expect(dotQuotesBalanced(src)).toBe(true);
      expect((src.match(/{/g) ?? []).length).toBe((src.match(/}/g) ?? []).length);
    });

    it('draws tenants as clusters of their namespaces', () => {
      expect(src).toContain('  subgraph cluster_0 {\n    label="tenant alpha\\n2 namespaces, 4 pods";');
      expect(src).toMatch(/^ {4}e0_0 \[label="a1",/m);
      expect(src).toMatch(/^ {4}e0_1 \[label="a2",/m);
      expect(src).toMatch(/^ {4}e3_0 \[label="w1",/m);
      expect(src).toMatch(/style="rounded,filled,dashed"; .*\n {4}e2_0 \[label="g1"/);
      expect(src).toMatch(/^ {2}e6 \[label="cloud metadata", .*shape=hexagon/m);
    });

    it('draws an edge per reachable cell between different entries, violation red, audit dashed', () => {
      const parsed = dotEdges(src);
      expect(parsed.map((e) => `${e.from}>${e.to}`).sort()).toEqual(expectedEdges(report.tenants));
      const byPair = new Map(parsed.map((e) => [`${e.from}>${e.to}`, e]));
      expect(byPair.get('0>1')?.line).toContain('color="#d32f2f"');
      expect(byPair.get('2>1')?.line).toContain('style=dashed');
      expect(byPair.get('2>1')?.label).toBe('audit TCP 9090');
      expect(byPair.get('0>5')?.label).toBe('TCP 443');
      expect(byPair.get('5>4')?.label).toBe('TCP 80 (some)');
      for (const e of parsed.filter((x) => `${x.from}>${x.to}` !== '0>1')) expect(e.line).not.toContain('#d32f2f');
    });

    (hasDot() ? it : it.skip)('is accepted by graphviz', () => {
      const res = spawnSync('dot', ['-Tsvg'], { input: src, encoding: 'utf8' });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toContain('VIOLATION TCP 8080 (some)');
      expect(res.stdout).toContain('tenant we|rd &lt;t&gt; &quot;q&quot; &amp; co');
    });
  });

  describe('html', () => {
    const html = out.html;

    it('is one page that cannot fetch anything', () => {
      expect(html.startsWith('<!doctype html>\n')).toBe(true);
      expect(html).toContain(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'">`,
      );
      expect(html).not.toMatch(EXTERNAL_REF);
      expect(html.match(/<html|<head>|<body>|<\/html>/g)).toEqual(['<html', '<head>', '<body>', '</html>']);
    });

    it('the external-reference detector catches what it should', () => {
      for (const bad of [
        '<img src="x.png">',
        '<link rel="stylesheet" href="s.css">',
        '<style>@import "x.css";</style>',
        '<div style="background: url(x.png)">',
        '<a href="https://cdn.example/">',
        '<script>fetch("//cdn.example/x")</script>',
      ])
        expect(bad).toMatch(EXTERNAL_REF);
    });

    it('has the title, the summary, the legend and both matrices', () => {
      expect(html).toContain('<title>netfence matrix: examples/&#60;demo&#62; &#38; &#34;friends&#34; (4 tenants, 6 namespaces, 12 pods)</title>');
      expect(html).toContain(`<p class="summary bad" id="summary">1 violation: a path crosses an Enforce tenant&#39;s fence undeclared (red cells)</p>`);
      for (const cls of ['violation', 'audit', 'declared', 'same', 'unfenced', 'none']) expect(html).toContain(`<span class="sw ${cls}">`);
      for (const [id, m] of [
        ['tenants', report.tenants],
        ['namespaces', report.namespaces],
      ] as const) {
        const section = html.slice(html.indexOf(`<section id="${id}">`), html.indexOf('</section>', html.indexOf(`<section id="${id}">`)));
        const table = section.slice(section.indexOf('<table class="matrix'), section.indexOf('</table>'));
        const rows = table.split('<tr').slice(1);
        expect(rows).toHaveLength(m.entries.length + 2);
        m.entries.forEach((from, i) => {
          const tds = [...(rows[i + 2] ?? '').matchAll(/<td class="([^"]*)" title="([^"]*)">/g)];
          expect(tds).toHaveLength(m.entries.length);
          m.entries.forEach((to, j) => {
            const c = m.cells[i]?.[j] ?? NONE;
            const [, classes, title] = tds[j] ?? [];
            expect(classes?.split(' ')[0]).toBe(c.reach === 'none' ? 'none' : c.fence);
            expect(title).toContain(`from ${from.label.replace(/[<>"&']/g, (x) => `&#${x.codePointAt(0)};`)} to `);
            if (c.reach !== 'none') expect(title).toContain(c.ports);
          });
        });
      }
    });

    it('gives the tooltip of an outside cell and of a namespace of the audit tenant', () => {
      expect(html).toContain('title="from outside the cluster to default: some pairs reach, TCP 80; unfenced: no tenant on either end"');
      expect(html).toContain('title="from g1 to b1: every pair reaches, TCP 9090; audit: crosses an Audit fence undeclared (not enforced)">●?<small>TCP 9090</small></td>');
      expect(report.namespaces.entries.some((e) => e.id === 'metadata')).toBe(true);
      expect(cellOf(report.namespaces, 'namespace:w1', 'metadata').fence).toBe('declared');
      expect(html).toContain(`title="from w1 to cloud metadata: every pair reaches, TCP 80; crosses a fence, declared">●+<small>TCP 80</small></td>`);
    });

    it('lists the crossings with ports and the notes, escaped', () => {
      expect(html).toContain(
        '<tr class="violation"><td><span class="badge violation" title="violation: crosses an Enforce fence undeclared">violation</span></td><td>alpha</td><td>beta</td><td>◐ some</td><td>TCP 8080</td></tr>',
      );
      expect(html).toContain('<li>gamma is in Audit mode: &#60;nothing&#62; is enforced</li>');
    });

    it('keeps large matrices compact: ports in tooltips, not in cells', () => {
      const big = formatMatrix(wideReport(40), 'html');
      expect(big).toContain('<table class="matrix compact">');
      expect(big).not.toMatch(/<td[^>]*>[^<]*<small>/);
      expect(big).toContain('<td class="violation');
      expect(html).toContain('<table class="matrix detailed">');
    });
  });

  it('handles an empty report', () => {
    const empty: MatrixReport = { title: 'nothing', tenants: { entries: [], cells: [] }, namespaces: { entries: [], cells: [] }, notes: [], violations: 0 };
    for (const format of MATRIX_FORMATS) expect(formatMatrix(empty, format)).toContain(format === 'html' ? 'No violations' : 'no violations');
  });
});
