/**
 * `netfence matrix -o html`: one self-contained page that stays small at any cluster size. Pure
 * and deterministic: no I/O, no clock, the page a function of the report alone.
 *
 * Guarantees:
 * - Nothing is fetched: no external reference of any kind, and a Content-Security-Policy that
 *   forbids every load (`default-src 'none'`, `connect-src 'none'`) and runs no script but the
 *   page's own one, named by its sha256 (inline styles are allowed; they load nothing).
 * - The matrices are written once, as a JSON data block, not as markup: entries as
 *   `[label, group, description, row detail]` (group labels interned), cells as run-length rows
 *   `[kind, count, kind, count, ...]` over interned cell kinds (reach, ports, fence and their
 *   texts; kind 0 is "nothing allowed"), identical rows stored once. So the page grows with
 *   the entries and the runs, not with the square of the entries: 1,000 namespaces of 100
 *   tenants stay far under 5 MB (test/unit/matrix-html.browser.test.ts, bench/matrix.ts).
 * - The script (html-page.ts) draws the tenant matrix at load, and the namespace matrix at
 *   load only when it has at most 150 entries; above that, namespaces are drawn when asked:
 *   those of one tenant-matrix cell, row or column, or all of them. A table of more than 40
 *   rows or columns is virtual: only the cells in sight are in the DOM, redrawn on scrolling.
 * - Every text from the report is escaped where it is inserted; control characters become
 *   U+FFFD; `<` inside the data block is written `\u003c`, so no name can end the block.
 *
 * Caveat: the page needs JavaScript. Without it, it shows the title, the summary, the legend
 * and the notes, and says to use `-o text` or `-o markdown` instead.
 */
import { createHash } from 'node:crypto';
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../analysis/matrix-model.js';
import { PAGE_CSS, PAGE_SCRIPT } from './html-page.js';
import { cellAt, cellText, CROSSING_ORDER, describeEntry, FENCE_MARK, FENCE_TEXT, REACH_SYMBOL, REACH_TEXT, rowDetail } from './vocabulary.js';

/** A cell kind as the page script reads it. */
interface PageKind {
  /** CSS class: the fence, or `none` when nothing is allowed. */
  cls: CellFence;
  /** Reach symbol and fence mark, e.g. `◐!`. */
  symbol: string;
  ports: string;
  /** The tooltip after `from A to B: `. */
  text: string;
  /** Position in the crossing lists (violations first), -1 when the cell crosses no fence. */
  cross: number;
  /** `◐ some`. */
  reach: string;
  /** The fence's legend text. */
  fence: string;
}

/** `[label, group index, description, row detail]`. */
type PageEntry = [string, number, string, string];

interface PageMatrix {
  entries: PageEntry[];
  groups: string[];
  /** Distinct rows, run-length encoded: `[kind, count, kind, count, ...]`, counts summing to the entries. */
  rows: number[][];
  /** For each entry (as source), its row in `rows`. */
  rowOf: number[];
}

interface PageData {
  kinds: PageKind[];
  /** The tenant matrix, with its entry ids (what the URL fragment names). */
  tenants: PageMatrix & { ids: string[] };
  namespaces: PageMatrix;
  /** For each tenant-matrix entry, the namespace-matrix entries it stands for. */
  members: number[][];
}

const NOTHING: MatrixCell = { reach: 'none', ports: '', fence: 'none' };

/** Control characters would be parse errors in the page: U+FFFD instead. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** Text and attribute values: markup characters as entities, control characters replaced. */
function esc(s: string): string {
  return clean(s).replace(/[&<>"']/g, (c) => `&#${c.codePointAt(0)};`);
}

/** Values numbered in order of first appearance, by a string key. */
class Interner<T> {
  readonly values: T[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly key: (t: T) => string) {}
  add(t: T): number {
    const k = this.key(t);
    let i = this.index.get(k);
    if (i === undefined) {
      i = this.values.length;
      this.index.set(k, i);
      this.values.push(t);
    }
    return i;
  }
}

function pageKind(cell: MatrixCell): PageKind {
  const cls: CellFence = cell.reach === 'none' ? 'none' : cell.fence;
  return {
    cls,
    symbol: `${REACH_SYMBOL[cell.reach]}${FENCE_MARK[cell.fence]}`,
    ports: clean(cell.ports),
    text: clean(cellText(cell)),
    cross: CROSSING_ORDER.indexOf(cls),
    reach: `${REACH_SYMBOL[cell.reach]} ${REACH_TEXT[cell.reach]}`,
    fence: FENCE_TEXT[cls],
  };
}

/** Groups of the header row: by tenant (namespace matrix) or by kind (tenant matrix). */
function groupKey(e: MatrixEntry): string {
  if (e.kind === 'external') return 'outside the cluster';
  if (e.kind === 'tenant') return 'tenants';
  return e.tenant === undefined ? 'no tenant' : `tenant ${e.tenant}`;
}

function pageMatrix(m: Matrix, kinds: Interner<MatrixCell>): PageMatrix {
  const groups = new Interner<string>((s) => s);
  const entries = m.entries.map((e): PageEntry => [clean(e.label), groups.add(clean(groupKey(e))), clean(describeEntry(e)), clean(rowDetail(e))]);
  const rows = new Interner<number[]>((r) => r.join(','));
  const rowOf = m.entries.map((_, i) => {
    const runs: number[] = [];
    m.entries.forEach((__, j) => {
      const kind = kinds.add(cellAt(m, i, j));
      if (runs[runs.length - 2] === kind) runs[runs.length - 1] = (runs[runs.length - 1] ?? 0) + 1;
      else runs.push(kind, 1);
    });
    return rows.add(runs);
  });
  return { entries, groups: groups.values, rows: rows.values, rowOf };
}

/** The namespace-matrix entries behind each tenant-matrix entry: a tenant's members, or the same entry. */
function members(report: MatrixReport): number[][] {
  const standsFor = (n: MatrixEntry): string => (n.kind === 'namespace' && n.tenant !== undefined ? `tenant:${n.tenant}` : n.id);
  const byId = new Map<string, number[]>(report.tenants.entries.map((e) => [e.id, []]));
  report.namespaces.entries.forEach((n, k) => byId.get(standsFor(n))?.push(k));
  return report.tenants.entries.map((e) => byId.get(e.id) ?? []);
}

function pageData(report: MatrixReport): PageData {
  const kinds = new Interner<MatrixCell>((c) => (c.reach === 'none' ? 'none' : `${c.reach}\u0000${c.fence}\u0000${c.ports}`));
  kinds.add(NOTHING);
  const tenants = { ...pageMatrix(report.tenants, kinds), ids: report.tenants.entries.map((e) => clean(e.id)) };
  const namespaces = pageMatrix(report.namespaces, kinds);
  return { kinds: kinds.values.map(pageKind), tenants, namespaces, members: members(report) };
}

const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT, 'utf8').digest('base64');
const HTML_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

export function formatHtml(report: MatrixReport): string {
  const v = report.violations;
  const legend: [string, string, string][] = [
    ['violation', `${REACH_SYMBOL.all}${FENCE_MARK.violation}`, FENCE_TEXT.violation],
    ['audit', `${REACH_SYMBOL.all}${FENCE_MARK.audit}`, FENCE_TEXT.audit],
    ['declared', `${REACH_SYMBOL.all}${FENCE_MARK.declared}`, FENCE_TEXT.declared],
    ['same', REACH_SYMBOL.all, 'inside one tenant or one namespace'],
    ['unfenced', REACH_SYMBOL.all, FENCE_TEXT.unfenced],
    ['none', REACH_SYMBOL.none, FENCE_TEXT.none],
  ];
  const json = JSON.stringify(pageData(report)).replace(/</g, '\\u003c');
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`netfence matrix: ${report.title}`)}</title>`,
    `<style>${PAGE_CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>netfence matrix</h1>',
    `<p class="subtitle">${esc(report.title)}</p>`,
    `<p class="summary ${v === 0 ? 'good' : 'bad'}" id="summary">${esc(
      v === 0
        ? "No violations: no path crosses an Enforce tenant's fence undeclared"
        : `${v} violation${v === 1 ? '' : 's'}: ${v === 1 ? 'a path crosses' : 'paths cross'} an Enforce tenant's fence undeclared (red cells)`,
    )}</p>`,
    '</header>',
    '<noscript><p class="hint">This page draws its matrices with JavaScript, which is off here. <code>netfence matrix -o text</code> or <code>-o markdown</code> prints the same picture.</p></noscript>',
    `<div class="legend"><span class="item">${esc(`${REACH_SYMBOL.all} every pair reaches · ${REACH_SYMBOL.some} some pairs reach`)}</span>${legend
      .map(([cls, sym, text]) => `<span class="item"><span class="sw ${cls}">${esc(sym)}</span>${esc(text)}</span>`)
      .join('')}</div>`,
    '<section id="tenants">',
    '<h2>Tenants</h2>',
    '<p class="hint">Rows reach columns. Hover a cell for its ports and fence; click it to draw the namespaces of its row and column below, or click a row or column name for all of its namespaces.</p>',
    '<div class="view" id="tenants-view"></div>',
    '</section>',
    '<section id="namespaces">',
    '<h2>Namespaces</h2>',
    '<div class="view" id="namespaces-view"></div>',
    '</section>',
  ];
  if (report.notes.length > 0) parts.push(`<section class="notes"><h2>Notes</h2><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`);
  parts.push(
    '<footer>Generated by netfence matrix. A self-contained page: one inline script, nothing fetched.</footer>',
    `<script type="application/json" id="netfence-data">${json}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
  );
  return `${parts.join('\n')}\n`;
}
