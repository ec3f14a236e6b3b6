/** The `netfence matrix` formatters on small hand-built reports: every format, parsed back. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../src/analysis/matrix-model.js';
import { formatMatrix, MATRIX_FORMATS, type MatrixFormat } from '../../src/cli/matrix/index.js';
import { largeReport, OPEN_TENANT } from '../fixtures/matrix-reports.js';

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
const EXTERNAL_REF =
  /\b(?:src|href|srcset|action|poster|data|formaction|background)\s*=|url\s*\(|@import|https?:|\/\/|<(?:link|img|iframe|object|embed|video|audio|source|base)\b/i;
/** What a script could fetch with or navigate away by. */
const FETCHING_CODE =
  /\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|\bimport\s*\(|importScripts|new\s+(?:Image|Worker)\b|\.(?:src|href|action)\s*=|location\s*=|location\.(?:assign|replace|href)|window\.open|document\.write/;

/** The page's two scripts: the JSON data block and the code. */
function pageScripts(html: string): { data: string; code: string; tags: string[] } {
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  const data = scripts.find((m) => m[1] === ' type="application/json" id="netfence-data"')?.[2];
  const code = scripts.find((m) => m[1] === '')?.[2];
  if (data === undefined || code === undefined) throw new Error('the page lacks its data block or its script');
  return { data, code, tags: scripts.map((m) => `<script${m[1] ?? ''}>`) };
}

interface PageKindJson {
  cls: string;
  symbol: string;
  ports: string;
}
interface PageMatrixJson {
  entries: [string, number, string, string][];
  groups: string[];
  rows: number[][];
  rowOf: number[];
}
interface PageDataJson {
  kinds: PageKindJson[];
  tenants: PageMatrixJson & { ids: string[] };
  namespaces: PageMatrixJson;
  members: number[][];
}

/** The cells of an embedded matrix, run-length rows expanded. */
function decodeCells(m: PageMatrixJson): number[][] {
  return m.rowOf.map((r) => {
    const runs = m.rows[r] ?? [];
    const out: number[] = [];
    for (let k = 0; k < runs.length; k += 2) for (let c = 0; c < (runs[k + 1] ?? 0); c++) out.push(runs[k] ?? -1);
    return out;
  });
}

/** The cells the embedded matrix gets wrong (class, symbol, ports), and rows of the wrong length. */
function misread(m: Matrix, pm: PageMatrixJson, kinds: PageKindJson[]): string[] {
  const cells = decodeCells(pm);
  const wrong = cells.flatMap((row, i) => (row.length === m.entries.length ? [] : [`row ${i} has ${row.length} cells`]));
  m.cells.forEach((row, i) =>
    row.forEach((c, j) => {
      const kind = kinds[cells[i]?.[j] ?? -1];
      const got = `${kind?.cls} ${kind?.symbol} ${kind?.ports}`;
      const want = `${c.reach === 'none' ? 'none' : c.fence} ${SYMBOL[c.reach]}${MARK[c.fence].trim()} ${c.reach === 'none' ? '' : c.ports}`;
      if (got !== want) wrong.push(`${i},${j}: ${got} for ${want}`);
    }),
  );
  return wrong;
}

interface FakeTarget {
  tagName: string;
  cellIndex: number;
  classList: { contains(c: string): boolean };
  dataset: Record<string, string>;
  parentElement: { sectionRowIndex: number };
  closest(selector: string): unknown;
}

/** A click target in a drawn view: a cell (TD), a row or column name (TH), a button. */
function target(tagName: 'TD' | 'TH' | 'BUTTON', classes: string[], cellIndex: number, sectionRowIndex: number): FakeTarget {
  const el: FakeTarget = {
    tagName,
    cellIndex,
    classList: { contains: (c) => classes.includes(c) },
    dataset: {},
    parentElement: { sectionRowIndex },
    closest: (selector) => (selector === 'table.matrix' || selector === 'td, th, button' ? el : null),
  };
  return el;
}

interface FakeView {
  innerHTML: string;
  click?: (ev: { target: FakeTarget }) => void;
  /** The scroll box of a virtual table, when one is mounted. */
  box?: FakeBox;
}
interface FakeBox {
  scrollTop: number;
  scrollLeft: number;
  clientHeight: number;
  clientWidth: number;
  readonly scrollHeight: number;
  readonly scrollWidth: number;
  table: string;
  scroll?: () => void;
}

/**
 * The page's script run in a stand-in for the browser: a document of the elements it asks
 * for, a location whose fragment the test sets, a scroll box of 1200 x 600 px for virtual
 * tables, and animation frames run when the test says. Enough to see what it draws where.
 */
function runPage(
  html: string,
  hash = '',
): {
  view(name: 'tenants' | 'namespaces'): string;
  page(): string;
  click(name: 'tenants' | 'namespaces', t: FakeTarget): void;
  hash(): string;
  navigate(hash: string): void;
  box(name: 'tenants' | 'namespaces'): FakeBox | undefined;
  frame(): void;
  scrolledToNamespaces: number;
} {
  const { data, code } = pageScripts(html);
  const views: Record<string, FakeView> = { 'tenants-view': { innerHTML: '' }, 'namespaces-view': { innerHTML: '' } };
  let frames: (() => void)[] = [];
  let fragment = hash === '' ? '' : `#${hash}`;
  const state = { scrolled: 0 };
  const mountBox = (view: FakeView): FakeBox => {
    const extent = { style: { width: '', height: '' } };
    const win = { innerHTML: '', firstChild: { style: {}, tHead: { offsetHeight: 150 } } };
    const box: FakeBox & Record<string, unknown> = {
      scrollTop: 0,
      scrollLeft: 0,
      clientHeight: 600,
      clientWidth: 1200,
      get scrollHeight() {
        return Math.max(600, parseInt(extent.style.height, 10));
      },
      get scrollWidth() {
        return Math.max(1200, parseInt(extent.style.width, 10));
      },
      get table() {
        return win.innerHTML;
      },
      classList: { add: () => undefined },
      innerHTML: '',
      firstChild: Object.assign(extent, { firstChild: win }),
      addEventListener: (type: string, fn: () => void) => {
        if (type === 'scroll') box.scroll = fn;
      },
    };
    view.box = box;
    return box;
  };
  const element = (id: string): unknown => {
    if (id === 'netfence-data') return { textContent: data };
    if (id === 'namespaces') return { scrollIntoView: () => state.scrolled++ };
    const view = views[id];
    if (view === undefined) return null;
    return {
      set innerHTML(v: string) {
        view.innerHTML = v;
        delete view.box;
      },
      get innerHTML() {
        return view.innerHTML;
      },
      addEventListener: (type: string, fn: (ev: { target: FakeTarget }) => void) => {
        if (type === 'click') view.click = fn;
      },
      querySelector: (sel: string) => (sel === '.scroll' ? mountBox(view) : null),
    };
  };
  let onHashChange = (): void => undefined;
  const location = {
    get hash() {
      return fragment;
    },
    set hash(v: string) {
      fragment = v === '' ? '' : `#${v.replace(/^#/, '')}`;
    },
  };
  runInNewContext(code, {
    document: { getElementById: element },
    location,
    window: { addEventListener: (type: string, fn: () => void) => type === 'hashchange' && (onHashChange = fn) },
    URLSearchParams,
    requestAnimationFrame: (fn: () => void) => frames.push(fn),
  });
  const shown = (name: string): string => {
    const view = views[`${name}-view`] as FakeView;
    return view.box === undefined ? view.innerHTML : view.innerHTML.replace('<div class="scroll"></div>', `<div class="scroll">${view.box.table}</div>`);
  };
  return {
    view: shown,
    page: () =>
      html
        .replace(/<script[\s\S]*?<\/script>\n/g, '')
        .replace('<div class="view" id="tenants-view"></div>', `<div class="view" id="tenants-view">${shown('tenants')}</div>`)
        .replace('<div class="view" id="namespaces-view"></div>', `<div class="view" id="namespaces-view">${shown('namespaces')}</div>`),
    click: (name, t) => views[`${name}-view`]?.click?.({ target: t }),
    hash: () => fragment,
    navigate: (h) => {
      location.hash = h;
      onHashChange();
    },
    box: (name) => views[`${name}-view`]?.box,
    frame: () => {
      const run = frames;
      frames = [];
      for (const f of run) f();
    },
    get scrolledToNamespaces() {
      return state.scrolled;
    },
  };
}

/** Rows of the table in a drawn view: the row names and the cells' classes and titles. */
function drawnRows(view: string): { name: string; cells: { cls: string; title: string; text: string }[] }[] {
  const table = view.slice(view.indexOf('<table class="matrix'), view.indexOf('</table>'));
  return table
    .split('<tr')
    .slice(3)
    .map((row) => ({
      name: /<th class="row"[^>]*>([^<]*)/.exec(row)?.[1] ?? '',
      cells: [...row.matchAll(/<td class="([^"]*)" title="([^"]*)">(.*?)<\/td>/g)].map((m) => ({ cls: m[1] ?? '', title: m[2] ?? '', text: m[3] ?? '' })),
    }));
}

/** The column names of the table in a drawn view. */
function drawnColumns(view: string): string[] {
  return [...view.matchAll(/<th class="col[^"]*" scope="col" title="[^"]*"><span>([^<]*)<\/span>/g)].map((m) => m[1] ?? '');
}

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
        expect(runPage(s).view('tenants')).toContain(
          '<td class="violation" title="from alpha to beta: some pairs reach, TCP 8080; violation: crosses an Enforce fence undeclared">◐!<small>TCP 8080</small></td>',
        ),
    ],
  ];
  it.each(violationMarks)('%s marks the violation with its ports', (format, check) => check(out[format]));

  /** How each format shows the tenant with `|`, `<`, `"` and `&` in its name. */
  const escapes: [MatrixFormat, string, RegExp][] = [
    // eslint-disable-next-line no-control-regex -- the text format must not pass ESC (a terminal escape) through
    ['text', `4 ${WEIRD}`, /\u001b/],
    ['markdown', '**we\\|rd &lt;t&gt; "q" &amp; co**', /<t>|we\|rd/],
    ['mermaid', 'n3["we#124;rd #60;t#62; #34;q#34; #38; co<br/>', /<t>|"q"|we\|rd/],
    ['dot', 'label="tenant we|rd <t> \\"q\\" &amp; co\\n1 namespace, 1 pod"', /[^\\]"q\\?"|& co/],
    ['html', '<span>we|rd &#60;t&#62; &#34;q&#34; &#38; co</span>', /<t>|"q"|& co|<demo>|<nothing>/],
  ];
  it.each(escapes)('%s escapes labels', (format, escaped, raw) => {
    /** For html: the page as its script draws it, scripts left out. */
    const shown = format === 'html' ? runPage(out.html).page() : out[format];
    expect(shown).toContain(escaped);
    if (format !== 'text') expect(shown).not.toMatch(raw);
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
    const drawn = runPage(html);
    const page = drawn.page();

    it('is one page that cannot fetch anything and runs only its own script', () => {
      expect(html.startsWith('<!doctype html>\n')).toBe(true);
      const { code, tags } = pageScripts(html);
      expect(tags).toEqual(['<script type="application/json" id="netfence-data">', '<script>']);
      const hash = createHash('sha256').update(code).digest('base64');
      expect(html).toContain(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'">`,
      );
      expect(html).not.toMatch(EXTERNAL_REF);
      expect(code).not.toMatch(FETCHING_CODE);
      expect(page).not.toMatch(EXTERNAL_REF);
      expect(html.match(/<html|<head>|<body>|<\/html>/g)).toEqual(['<html', '<head>', '<body>', '</html>']);
      expect(html).toMatch(
        /<noscript><p class="hint">This page draws its matrices with JavaScript, which is off here\. <code>netfence matrix -o text<\/code> or <code>-o markdown<\/code> prints the same picture\.<\/p><\/noscript>/,
      );
    });

    it('the external-reference and fetching-code detectors catch what they should', () => {
      for (const bad of [
        '<img src="x.png">',
        '<link rel="stylesheet" href="s.css">',
        '<style>@import "x.css";</style>',
        '<div style="background: url(x.png)">',
        '<a href="https://cdn.example/">',
        '<script>fetch("//cdn.example/x")</script>',
        '<script src="x.js"></script>',
      ])
        expect(bad).toMatch(EXTERNAL_REF);
      for (const bad of [
        'fetch(u)',
        'new XMLHttpRequest()',
        'import("x")',
        'img.src = u',
        'a.href = u',
        'location = u',
        'location.assign(u)',
        'new Image()',
        'navigator.sendBeacon(u)',
        'window.open(u)',
      ])
        expect(bad).toMatch(FETCHING_CODE);
    });

    it("embeds every cell once, run-length encoded, with the entries and the tenants' namespaces", () => {
      const model = JSON.parse(pageScripts(html).data) as PageDataJson;
      for (const [m, pm] of [
        [report.tenants, model.tenants],
        [report.namespaces, model.namespaces],
      ] as const) {
        expect(pm.entries.map((e) => e[0])).toEqual(m.entries.map((e) => e.label));
        expect(pm.entries.map((e) => pm.groups[e[1]])).toEqual(
          m.entries.map((e) => (e.kind === 'external' ? 'outside the cluster' : e.kind === 'tenant' ? 'tenants' : e.tenant === undefined ? 'no tenant' : `tenant ${e.tenant}`)),
        );
        expect(misread(m, pm, model.kinds)).toEqual([]);
      }
      expect(model.tenants.ids).toEqual(report.tenants.entries.map((e) => e.id));
      const label = (k: number): string => report.namespaces.entries[k]?.label ?? '?';
      expect(model.members.map((ks) => ks.map(label))).toEqual([['a1', 'a2'], ['b1'], ['g1'], ['w1'], ['default'], ['outside the cluster'], ['cloud metadata']]);
    });

    it('keeps no name in the data block that could end it', () => {
      const r = smallReport();
      (r.tenants.entries[0] as MatrixEntry).label = '</script><script>alert(1)</script><!--';
      const page2 = formatMatrix(r, 'html');
      expect(pageScripts(page2).tags).toHaveLength(2);
      expect(page2).not.toContain('alert(1)</script>');
      expect(runPage(page2).view('tenants')).toContain('&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!--');
    });

    it('draws the title, the summary, the legend and both matrices at load', () => {
      expect(page).toContain('<title>netfence matrix: examples/&#60;demo&#62; &#38; &#34;friends&#34; (4 tenants, 6 namespaces, 12 pods)</title>');
      expect(page).toContain(`<p class="summary bad" id="summary">1 violation: a path crosses an Enforce tenant&#39;s fence undeclared (red cells)</p>`);
      for (const cls of ['violation', 'audit', 'declared', 'same', 'unfenced', 'none']) expect(page).toContain(`<span class="sw ${cls}">`);
      for (const [id, m] of [
        ['tenants', report.tenants],
        ['namespaces', report.namespaces],
      ] as const) {
        const section = page.slice(page.indexOf(`<section id="${id}">`), page.indexOf('</section>', page.indexOf(`<section id="${id}">`)));
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
      expect(page).toContain('title="from outside the cluster to default: some pairs reach, TCP 80; unfenced: no tenant on either end"');
      expect(page).toContain('title="from g1 to b1: every pair reaches, TCP 9090; audit: crosses an Audit fence undeclared (not enforced)">●?<small>TCP 9090</small></td>');
      expect(report.namespaces.entries.some((e) => e.id === 'metadata')).toBe(true);
      expect(cellOf(report.namespaces, 'namespace:w1', 'metadata').fence).toBe('declared');
      expect(page).toContain(`title="from w1 to cloud metadata: every pair reaches, TCP 80; crosses a fence, declared">●+<small>TCP 80</small></td>`);
    });

    it('lists the crossings with ports and the notes, escaped', () => {
      expect(page).toContain(
        '<tr class="violation"><td><span class="badge violation" title="violation: crosses an Enforce fence undeclared">violation</span></td><td>alpha</td><td>beta</td><td>◐ some</td><td>TCP 8080</td></tr>',
      );
      expect(page).toContain('<details class="crossings" open><summary>Crossing a fence (5)</summary>');
      expect(page).toContain('<li>gamma is in Audit mode: &#60;nothing&#62; is enforced</li>');
    });

    it('keeps large matrices compact: ports in tooltips, not in cells', () => {
      const big = runPage(formatMatrix(wideReport(40), 'html')).view('namespaces');
      expect(big).toContain('<table class="matrix compact">');
      expect(big).not.toMatch(/<td[^>]*>[^<]*<small>/);
      expect(big).toContain('<td class="violation');
      expect(page).toContain('<table class="matrix detailed">');
    });

    it('draws a namespace matrix of up to 150 entries at load, virtual past 40 rows or columns', () => {
      const view = (n: number): string => runPage(formatMatrix(wideReport(n), 'html')).view('namespaces');
      expect(view(40)).toContain('<table class="matrix compact">');
      expect(view(41)).toContain('<table class="matrix compact virtual">');
      expect(view(150)).toContain('<table class="matrix compact virtual">');
      expect(view(151)).not.toContain('<table');
      expect(view(151)).toContain('151 namespaces: drawn when asked.');
    });

    it('a click on a tenant cell, row or column name asks the fragment for those namespaces, which it then draws', () => {
      const p = runPage(html);
      // Row 1 (alpha), cell 2 (beta): the violation.
      p.click('tenants', target('TD', ['violation'], 2, 0));
      expect(p.hash()).toBe('#from=tenant%3Aalpha&to=tenant%3Abeta');
      p.navigate(p.hash());
      expect(p.scrolledToNamespaces).toBe(1);
      const block = p.view('namespaces');
      expect(block).toContain('From <b>alpha</b> (2) to <b>beta</b> (1)');
      expect(drawnColumns(block)).toEqual(['b1']);
      expect(drawnRows(block).map((r) => [r.name, r.cells.map((c) => c.cls)])).toEqual([
        ['a1', ['violation']],
        ['a2', ['none']],
      ]);
      p.click('tenants', target('TH', ['row'], 0, 2));
      expect(p.hash()).toBe('#from=tenant%3Agamma');
      p.click('tenants', target('TH', ['col'], 5, 0));
      expect(p.hash()).toBe('#to=external');
      p.navigate(p.hash());
      expect(drawnColumns(p.view('namespaces'))).toEqual(['outside the cluster']);
      expect(drawnRows(p.view('namespaces'))).toHaveLength(report.namespaces.entries.length);
    });

    it('says so when the fragment names no entry', () => {
      expect(runPage(html, 'from=tenant:nope').view('namespaces')).toContain('No entry &#34;tenant:nope&#34; in the tenant matrix.');
    });

    describe('at 1,000 namespaces', () => {
      const big = largeReport(1000, 100);
      const bigHtml = formatMatrix(big, 'html');

      it('stays under 5 MB, for 100 tenants and for 1,000', () => {
        expect(Buffer.byteLength(bigHtml)).toBeLessThan(5 * 1024 * 1024);
        expect(Buffer.byteLength(formatMatrix(largeReport(1000, 1000), 'html'))).toBeLessThan(5 * 1024 * 1024);
      });

      it('embeds every cell of both matrices, each distinct row once', () => {
        const model = JSON.parse(pageScripts(bigHtml).data) as PageDataJson;
        for (const [m, pm] of [
          [big.tenants, model.tenants],
          [big.namespaces, model.namespaces],
        ] as const) {
          expect(misread(m, pm, model.kinds).slice(0, 5)).toEqual([]);
          // The two outside entries reach nothing: one row, stored once, like every other.
          expect(pm.rowOf[pm.rowOf.length - 1]).toBe(pm.rowOf[pm.rowOf.length - 2]);
          expect(new Set(pm.rows.map(String)).size).toBe(pm.rows.length);
        }
      });

      it('draws the tenant matrix as a virtual table of the cells in sight, and namespaces only when asked', () => {
        const p = runPage(bigHtml);
        const tenantsView = p.view('tenants');
        expect(tenantsView).toContain('<table class="matrix compact virtual">');
        // 600 px: 20 rows of 30 px (the 150 px head included: more than fit, never the 102).
        expect(drawnRows(tenantsView)).toHaveLength(20);
        expect(drawnColumns(tenantsView)).toHaveLength(34);
        expect(drawnRows(tenantsView)[0]?.cells[7]?.title).toBe(
          `from tenant-0 to tenant-7: some pairs reach, ${cellOf(big.tenants, 'tenant:tenant-0', 'tenant:tenant-7').ports}; violation: crosses an Enforce fence undeclared`,
        );
        expect(p.box('tenants')?.scrollHeight).toBe(150 + 102 * 30);
        const namespacesView = p.view('namespaces');
        expect(namespacesView).not.toContain('<table');
        expect(namespacesView).toContain('1002 namespaces: drawn when asked.');
      });

      it('scrolls its virtual table: the scroll range covers every row and column', () => {
        const p = runPage(bigHtml);
        const box = p.box('tenants') as FakeBox;
        box.scrollTop = box.scrollHeight - box.clientHeight;
        box.scrollLeft = box.scrollWidth - box.clientWidth;
        box.scroll?.();
        p.frame();
        const view = p.view('tenants');
        const rows = drawnRows(view);
        // (600 - 150) / 30 = 15 rows and (1200 - 220) / 30 = 32 columns fit below and right of the names.
        expect(rows.map((r) => r.name)).toEqual([...big.tenants.entries.slice(102 - 15).map((e) => e.label)]);
        expect(drawnColumns(view).slice(0, 32)).toEqual(big.tenants.entries.slice(102 - 32).map((e) => e.label));
        const open = big.tenants.entries.findIndex((e) => e.id === `tenant:tenant-${OPEN_TENANT}`);
        box.scrollTop = Math.round(((box.scrollHeight - box.clientHeight) * open) / (102 - 15));
        box.scroll?.();
        p.frame();
        expect(drawnRows(p.view('tenants'))[0]?.name).toBe(`tenant-${OPEN_TENANT}`);
      });

      it('folds a long crossing list away, lists the first 300 and all of them when asked', () => {
        const p = runPage(bigHtml);
        const listed = (): number => (p.view('tenants').match(/<tr class="(?:violation|audit|declared)">/g) ?? []).length;
        const crossing = big.tenants.cells.flat().filter((c) => c.reach !== 'none' && ['violation', 'audit', 'declared'].includes(c.fence)).length;
        expect(crossing).toBeGreaterThan(300);
        expect(p.view('tenants')).toContain(`<details class="crossings"><summary>Crossing a fence (${crossing})</summary>`);
        expect(listed()).toBe(300);
        expect(p.view('tenants')).toContain(`The first 300 of ${crossing}.`);
        p.click('tenants', target('BUTTON', ['more'], 0, 0));
        expect(listed()).toBe(crossing);
        p.navigate('from=tenant:tenant-1');
        expect(listed()).toBe(crossing);
      });

      it('draws the namespaces of one tenant cell when the fragment asks', () => {
        const p = runPage(bigHtml, 'from=tenant:tenant-3&to=tenant:tenant-10');
        const block = p.view('namespaces');
        expect(block).toContain('<table class="matrix detailed">');
        const names = (t: number): string[] => Array.from({ length: 10 }, (_, k) => `ns-${t + 100 * k}`);
        expect(drawnColumns(block)).toEqual(names(10));
        const rows = drawnRows(block);
        expect(rows.map((r) => r.name)).toEqual(names(3));
        // ns-i reaches ns-(i + 7) on its own port; nothing else from tenant-3 to tenant-10.
        expect(rows.map((r) => r.cells.map((c) => (c.cls === 'none' ? '.' : `${c.cls} ${c.text}`)).join(' | '))).toEqual(
          names(3).map((_, k) =>
            names(10)
              .map((__, kk) => (kk === k ? `violation ◐!<small>TCP ${20_003 + 100 * k}</small>` : '.'))
              .join(' | '),
          ),
        );
        p.navigate('namespaces=all');
        expect(p.view('namespaces')).toContain('<table class="matrix compact virtual">');
        expect(drawnRows(p.view('namespaces'))).toHaveLength(20);
      });
    });
  });

  it('handles an empty report', () => {
    const empty: MatrixReport = { title: 'nothing', tenants: { entries: [], cells: [] }, namespaces: { entries: [], cells: [] }, notes: [], violations: 0 };
    for (const format of MATRIX_FORMATS) expect(formatMatrix(empty, format)).toContain(format === 'html' ? 'No violations' : 'no violations');
  });
});
