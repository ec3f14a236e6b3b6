/**
 * The formatters of `netfence matrix`: a MatrixReport as text, markdown, mermaid, dot or html.
 * Pure and deterministic: no I/O, no clock, output a function of the report alone.
 *
 * One vocabulary across formats. Reach: `●` every source pod (or address) reaches every
 * destination, `◐` some pairs do, `·` nothing is allowed. Fence mark after the reach symbol:
 * `!` violation (crosses an Enforce tenant's fence undeclared), `?` audit (crosses an Audit
 * tenant's fence undeclared, nothing enforced), `+` crosses a fence and every fence on the
 * way declares it; no mark inside one tenant (or one namespace outside tenants) and between
 * entries that are in no tenant at all. Colours where there are colours: red violation, amber
 * audit, green declared, grey same/unfenced, white nothing.
 *
 * - text: for a terminal. Each matrix is a grid of two-character cells (symbol + mark) under
 *   column numbers written vertically (so a column stays two characters wide whatever the
 *   count) with an extra space every five columns to keep the eye on a column, row labels
 *   numbered on the left (cut to 24 characters; the key under the grid gives every full name
 *   and its detail). Up to 60 entries a grid is at most ~180 characters wide; past 60 it would
 *   wrap in any terminal, so such a matrix is printed as a list instead: per source, every
 *   destination it reaches with symbol, mark and ports. Then the legend, the cells that
 *   cross a fence (violations first) with their ports, and the notes.
 * - markdown: the same grids as GitHub tables (rows numbered, columns by number), a legend,
 *   the fence-crossing cells as a table, the notes. Labels escaped for tables and inline html.
 * - mermaid: `flowchart LR` of the tenant matrix: one node per entry (tenants boxes,
 *   namespaces outside tenants stadiums, outside addresses hexagons), one edge per cell
 *   between two different entries that allows something, labelled with its ports; violation
 *   edges thick and red, audit dotted and amber, declared green, unfenced grey.
 * - dot: `digraph` of the tenant matrix; each tenant is a cluster holding its namespaces (from
 *   the namespace matrix), tenant-to-tenant edges are drawn between the clusters
 *   (compound=true); violation edges red, audit dashed amber, declared green, unfenced grey.
 * - html: one self-contained page (inline CSS, no script, no external reference of any kind,
 *   a Content-Security-Policy that forbids every fetch): summary, legend, both matrices as
 *   coloured tables with rotated sticky column headers, sticky row headers and a tooltip per
 *   cell, the fence-crossing cells with ports, the notes. Matrices of at most 16 entries show
 *   the ports inside the cells; larger ones keep cells square and give ports in tooltips and
 *   in the list.
 */
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../analysis/matrix-model.js';

export const MATRIX_FORMATS = ['text', 'markdown', 'mermaid', 'dot', 'html'] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

export function formatMatrix(report: MatrixReport, format: MatrixFormat): string {
  switch (format) {
    case 'text':
      return formatText(report);
    case 'markdown':
      return formatMarkdown(report);
    case 'mermaid':
      return formatMermaid(report);
    case 'dot':
      return formatDot(report);
    case 'html':
      return formatHtml(report);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared vocabulary

/** Above this many entries the text format lists a matrix instead of drawing a grid. */
const TEXT_GRID_MAX = 60;
/** Up to this many entries the html cells show their ports. */
const HTML_DETAILED_MAX = 16;
const TEXT_LABEL_MAX = 24;

const REACH_SYMBOL: Record<MatrixCell['reach'], string> = { all: '●', some: '◐', none: '·' };
const REACH_TEXT: Record<MatrixCell['reach'], string> = { all: 'all', some: 'some', none: 'none' };
const REACH_LONG: Record<MatrixCell['reach'], string> = {
  all: 'every pair reaches',
  some: 'some pairs reach',
  none: 'nothing allowed',
};
const FENCE_MARK: Record<CellFence, string> = { violation: '!', audit: '?', declared: '+', same: '', unfenced: '', none: '' };
const FENCE_TEXT: Record<CellFence, string> = {
  violation: 'violation: crosses an Enforce fence undeclared',
  audit: 'audit: crosses an Audit fence undeclared (not enforced)',
  declared: 'crosses a fence, declared',
  same: 'inside one tenant',
  unfenced: 'unfenced: no tenant on either end',
  none: 'nothing allowed',
};
/** The last column of the text crossing list; the legend above it says the rest. */
const FENCE_SHORT: Record<CellFence, string> = { violation: 'VIOLATION', audit: 'audit, not enforced', declared: 'declared', same: '', unfenced: '', none: '' };
/** Most severe first: the order fence-crossing lists use. */
const CROSSING_ORDER: readonly CellFence[] = ['violation', 'audit', 'declared'];
const COLOR: Record<CellFence, string> = {
  violation: '#d32f2f',
  audit: '#e69500',
  declared: '#2e7d32',
  same: '#9e9e9e',
  unfenced: '#9e9e9e',
  none: '#ffffff',
};

interface Crossing {
  from: MatrixEntry;
  to: MatrixEntry;
  cell: MatrixCell;
}

function cellAt(m: Matrix, i: number, j: number): MatrixCell {
  return m.cells[i]?.[j] ?? { reach: 'none', ports: '', fence: 'none' };
}

/** Cells that allow something across a fence, violations first, then audit, then declared. */
function crossings(m: Matrix): Crossing[] {
  const out: Crossing[] = [];
  for (const fence of CROSSING_ORDER) {
    m.entries.forEach((from, i) =>
      m.entries.forEach((to, j) => {
        const cell = cellAt(m, i, j);
        if (cell.fence === fence && cell.reach !== 'none') out.push({ from, to, cell });
      }),
    );
  }
  return out;
}

/** Cells between two different entries that allow something (edges of the graph formats). */
function edges(m: Matrix): { i: number; j: number; cell: MatrixCell }[] {
  const out: { i: number; j: number; cell: MatrixCell }[] = [];
  m.entries.forEach((_, i) =>
    m.entries.forEach((__, j) => {
      const cell = cellAt(m, i, j);
      if (i !== j && cell.reach !== 'none') out.push({ i, j, cell });
    }),
  );
  return out;
}

function kindText(e: MatrixEntry): string {
  if (e.kind === 'tenant') return 'tenant';
  if (e.kind === 'external') return 'outside the cluster';
  return e.tenant === undefined ? 'namespace, no tenant' : `namespace of tenant ${e.tenant}`;
}

/** `tenant · 3 namespaces, 12 pods`; the kind left out where the label already says it. */
function describeEntry(e: MatrixEntry): string {
  const kind = kindText(e);
  const parts = [...(kind === e.label ? [] : [kind]), ...(e.detail === '' ? [] : [e.detail])];
  return parts.join(' · ');
}

function describeCell(from: MatrixEntry, to: MatrixEntry, cell: MatrixCell): string {
  if (cell.reach === 'none') return `from ${from.label} to ${to.label}: nothing allowed`;
  return `from ${from.label} to ${to.label}: ${REACH_LONG[cell.reach]}, ${cell.ports === '' ? 'no ports' : cell.ports}; ${FENCE_TEXT[cell.fence]}`;
}

function summaryLine(report: MatrixReport): string {
  const v = report.violations;
  return v === 0
    ? "no violations: no path crosses an Enforce tenant's fence undeclared"
    : `${v} violation${v === 1 ? '' : 's'}: ${v === 1 ? 'a path crosses' : 'paths cross'} an Enforce tenant's fence undeclared`;
}

/** Groups of consecutive entries: by tenant (namespace matrix) or by kind (tenant matrix). */
interface Group {
  label: string;
  start: number;
  size: number;
}

function groupKey(e: MatrixEntry): string {
  if (e.kind === 'external') return 'outside the cluster';
  if (e.kind === 'tenant') return 'tenants';
  return e.tenant === undefined ? 'no tenant' : `tenant ${e.tenant}`;
}

function groups(m: Matrix): Group[] {
  const out: Group[] = [];
  m.entries.forEach((e, i) => {
    const label = groupKey(e);
    const last = out[out.length - 1];
    if (last !== undefined && last.label === label) last.size++;
    else out.push({ label, start: i, size: 1 });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// text

/** Control characters would move a terminal's cursor or worse: shown as `?`. */
function plain(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' || c === '\t' ? ' ' : '?'));
}

const width = (s: string): number => Array.from(s).length;

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

function cut(s: string, w: number): string {
  const chars = Array.from(s);
  return chars.length <= w ? s : `${chars.slice(0, w - 1).join('')}…`;
}

function textCell(cell: MatrixCell): string {
  return REACH_SYMBOL[cell.reach] + (FENCE_MARK[cell.fence] || ' ');
}

function textGrid(m: Matrix, name: string): string[] {
  const n = m.entries.length;
  if (n === 0) return [`${name}: nothing to show`];
  const showTenant = m.entries.some((e) => e.tenant !== undefined);
  const digits = String(n).length;
  const labels = m.entries.map((e) => cut(plain(e.label), TEXT_LABEL_MAX));
  const labelW = Math.max(...labels.map(width));
  const tenants = m.entries.map((e) => (e.tenant === undefined ? (e.kind === 'external' ? '' : '-') : cut(plain(e.tenant), 16)));
  const tenantW = showTenant ? Math.max(6, ...tenants.map(width)) : 0;
  const prefix = (num: string, label: string, tenant: string): string =>
    `  ${num.padStart(digits)} ${pad(label, labelW)}${showTenant ? `  ${pad(tenant, tenantW)}` : ''}  `;
  const gap = (j: number): string => (j > 0 && j % 5 === 0 ? ' ' : '');
  const out = [`${name} (row reaches column)`];
  for (let d = 0; d < digits; d++) {
    const last = d === digits - 1;
    const head = last ? prefix('#', 'from \\ to', showTenant ? 'tenant' : '') : prefix('', '', '');
    let line = head;
    for (let j = 0; j < n; j++) line += `${gap(j)}${String(j + 1).padStart(digits)[d]} `;
    out.push(line.trimEnd());
  }
  m.entries.forEach((_, i) => {
    let line = prefix(String(i + 1), labels[i] ?? '', tenants[i] ?? '');
    for (let j = 0; j < n; j++) line += gap(j) + textCell(cellAt(m, i, j));
    out.push(line.trimEnd());
  });
  return out;
}

function textList(m: Matrix, name: string): string[] {
  const out = [`${name} (${m.entries.length} entries, too many for a grid: each source with what it reaches)`];
  const labels = m.entries.map((e) => plain(e.label));
  m.entries.forEach((_, i) => {
    const reached = m.entries.map((__, j) => ({ j, cell: cellAt(m, i, j) })).filter((x) => x.cell.reach !== 'none');
    out.push(`  ${i + 1} ${labels[i]}${reached.length === 0 ? ': reaches nothing' : ''}`);
    const w = Math.min(40, Math.max(0, ...reached.map((x) => width(`${x.j + 1} ${labels[x.j]}`))));
    for (const { j, cell } of reached) out.push(`      → ${pad(`${j + 1} ${labels[j]}`, w)}  ${textCell(cell)} ${plain(cell.ports)}`.trimEnd());
  });
  return out;
}

function textKey(m: Matrix): string[] {
  const digits = String(m.entries.length).length;
  return m.entries.map((e, i) => `  ${String(i + 1).padStart(digits)} ${plain(e.label)}: ${plain(describeEntry(e))}`);
}

/** A label with its tenant, for namespace entries: `web (alpha)`. */
function withTenant(e: MatrixEntry): string {
  return e.kind === 'namespace' && e.tenant !== undefined ? `${e.label} (${e.tenant})` : e.label;
}

function textCrossings(m: Matrix, name: string): string[] {
  const list = crossings(m);
  const out = [`Crossing a fence, ${name} (violations first):`];
  if (list.length === 0) return [...out, '  none'];
  const from = list.map((c) => plain(withTenant(c.from)));
  const to = list.map((c) => plain(withTenant(c.to)));
  const ports = list.map((c) => plain(c.cell.ports));
  const fromW = Math.min(32, Math.max(...from.map(width)));
  const toW = Math.min(32, Math.max(...to.map(width)));
  const portsW = Math.min(24, Math.max(...ports.map(width)));
  list.forEach(({ cell }, k) => {
    out.push(
      `  ${FENCE_MARK[cell.fence]} ${pad(from[k] ?? '', fromW)} → ${pad(to[k] ?? '', toW)}  ${REACH_SYMBOL[cell.reach]} ${pad(REACH_TEXT[cell.reach], 4)}  ${pad(ports[k] ?? '', portsW)}  ${FENCE_SHORT[cell.fence]}`.trimEnd(),
    );
  });
  return out;
}

function formatText(report: MatrixReport): string {
  const matrix = (m: Matrix, name: string): string[] => [
    ...(m.entries.length > TEXT_GRID_MAX ? textList(m, name) : textGrid(m, name)),
    ...(m.entries.length === 0 ? [] : ['', 'Key:', ...textKey(m)]),
  ];
  const lines = [
    `netfence matrix: ${plain(report.title)}`,
    report.violations === 0 ? summaryLine(report) : `!! ${summaryLine(report).replace(/^\d+ violations?/, (s) => s.toUpperCase())} (marked !)`,
    '',
    ...matrix(report.tenants, 'Tenants'),
    '',
    ...matrix(report.namespaces, 'Namespaces'),
    '',
    'Legend:',
    `  ${REACH_SYMBOL.all} every pair reaches   ${REACH_SYMBOL.some} some pairs reach   ${REACH_SYMBOL.none} nothing allowed`,
    `  ${FENCE_MARK.violation} ${FENCE_TEXT.violation}`,
    `  ${FENCE_MARK.audit} ${FENCE_TEXT.audit}`,
    `  ${FENCE_MARK.declared} ${FENCE_TEXT.declared}`,
    '    no mark: inside one tenant, or no tenant on either end',
    '',
    ...textCrossings(report.tenants, 'between tenants'),
    '',
    ...textCrossings(report.namespaces, 'between namespaces'),
  ];
  if (report.notes.length > 0) lines.push('', 'Notes:', ...report.notes.map((n) => `  - ${plain(n)}`));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// markdown

/** Safe inside a GitHub table cell: no column break, no emphasis, no inline html. */
function md(s: string): string {
  return s
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[\\`*_[\]#~|!]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function mdCell(cell: MatrixCell): string {
  const mark = FENCE_MARK[cell.fence];
  if (cell.fence === 'violation') return `**${REACH_SYMBOL[cell.reach]}\\!**`;
  if (mark === '') return REACH_SYMBOL[cell.reach];
  return `${REACH_SYMBOL[cell.reach]}${md(mark)}`;
}

function mdMatrix(m: Matrix, name: string): string[] {
  if (m.entries.length === 0) return [`### ${name}`, '', 'Nothing to show.'];
  const showTenant = m.entries.some((e) => e.tenant !== undefined);
  const head = ['#', 'from \\\\ to', ...(showTenant ? ['tenant'] : []), ...m.entries.map((_, j) => String(j + 1))];
  const align = ['--:', ':--', ...(showTenant ? [':--'] : []), ...m.entries.map(() => ':-:')];
  const rows = m.entries.map((e, i) => [
    String(i + 1),
    `**${md(e.label)}** <sub>${md(showTenant ? e.detail : rowDetail(e))}</sub>`,
    ...(showTenant ? [e.tenant === undefined ? '' : md(e.tenant)] : []),
    ...m.entries.map((_, j) => mdCell(cellAt(m, i, j))),
  ]);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [`### ${name}`, '', 'Rows reach columns; columns are numbered like the rows.', '', line(head), line(align), ...rows.map(line)];
}

function mdCrossings(m: Matrix, name: string): string[] {
  const list = crossings(m);
  const out = [`### Crossing a fence, ${name}`, ''];
  if (list.length === 0) return [...out, 'None.'];
  out.push('| | from | to | reach | ports | fence |', '|:-:|:--|:--|:--|:--|:--|');
  for (const { from, to, cell } of list) {
    const fence = cell.fence === 'violation' ? `**${md(FENCE_TEXT.violation)}**` : md(FENCE_TEXT[cell.fence]);
    out.push(`| ${mdCell(cell)} | ${md(from.label)} | ${md(to.label)} | ${REACH_TEXT[cell.reach]} | ${md(cell.ports)} | ${fence} |`);
  }
  return out;
}

function formatMarkdown(report: MatrixReport): string {
  const lines = [
    `## netfence matrix: ${md(report.title)}`,
    '',
    report.violations === 0 ? `✅ ${md(summaryLine(report))}` : `❌ **${md(summaryLine(report))}** (cells marked **\\!**)`,
    '',
    `**Legend:** ${REACH_SYMBOL.all} every pair reaches · ${REACH_SYMBOL.some} some pairs reach · ${REACH_SYMBOL.none} nothing allowed · ` +
      `**\\!** ${md(FENCE_TEXT.violation)} · **?** ${md(FENCE_TEXT.audit)} · **+** ${md(FENCE_TEXT.declared)} · ` +
      'no mark: inside one tenant, or no tenant on either end',
    '',
    ...mdMatrix(report.tenants, 'Tenants'),
    '',
    ...mdMatrix(report.namespaces, 'Namespaces'),
    '',
    ...mdCrossings(report.tenants, 'between tenants'),
    '',
    ...mdCrossings(report.namespaces, 'between namespaces'),
  ];
  if (report.notes.length > 0) lines.push('', '### Notes', '', ...report.notes.map((n) => `- ${md(n)}`));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// mermaid

/** Text inside a quoted mermaid label: quotes, markup and mermaid's own `#` as entity codes. */
function mmd(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[#"&<>|`;{}[\]()]/g, (c) => `#${c.codePointAt(0)};`);
}

function edgeLabel(cell: MatrixCell): string {
  const ports = cell.ports === '' ? 'no ports' : cell.ports;
  const prefix = cell.fence === 'violation' ? 'VIOLATION ' : cell.fence === 'audit' ? 'audit ' : '';
  return `${prefix}${ports}${cell.reach === 'some' ? ' (some)' : ''}`;
}

function formatMermaid(report: MatrixReport): string {
  const m = report.tenants;
  const lines = [`%% netfence matrix: ${plain(report.title).replace(/%%/g, '% %')}`, `%% ${plain(summaryLine(report))}`, 'flowchart LR'];
  const byKind: Record<MatrixEntry['kind'], string[]> = { tenant: [], namespace: [], external: [] };
  m.entries.forEach((e, i) => {
    const id = `n${i}`;
    const text = `"${mmd(e.label)}<br/><small>${mmd(describeEntry(e))}</small>"`;
    const shape = e.kind === 'tenant' ? `[${text}]` : e.kind === 'namespace' ? `([${text}])` : `{{${text}}}`;
    lines.push(`  ${id}${shape}`);
    byKind[e.kind].push(id);
  });
  const styled = new Map<CellFence, number[]>();
  edges(m).forEach(({ i, j, cell }, k) => {
    const arrow = cell.fence === 'violation' ? '==>' : cell.fence === 'audit' ? '-.->' : '-->';
    lines.push(`  n${i} ${arrow}|"${mmd(edgeLabel(cell))}"| n${j}`);
    styled.set(cell.fence, [...(styled.get(cell.fence) ?? []), k]);
  });
  lines.push(
    '  classDef tenant fill:#e8f0fe,stroke:#4a6fa5,color:#1a1a1a',
    '  classDef namespace fill:#f5f5f5,stroke:#888888,color:#1a1a1a',
    '  classDef external fill:#fff8e1,stroke:#b08900,color:#1a1a1a',
  );
  for (const kind of ['tenant', 'namespace', 'external'] as const) {
    if (byKind[kind].length > 0) lines.push(`  class ${byKind[kind].join(',')} ${kind}`);
  }
  for (const fence of ['violation', 'audit', 'declared', 'unfenced', 'same'] as const) {
    const ks = styled.get(fence);
    if (ks === undefined) continue;
    const width = fence === 'violation' ? 3 : 1.5;
    lines.push(`  linkStyle ${ks.join(',')} stroke:${COLOR[fence]},stroke-width:${width}px,color:${COLOR[fence]}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// dot

/**
 * A DOT quoted string used as a label, one line per argument: escString backslashes, quotes,
 * and `&` (graphviz reads entities in labels); lines joined by the `\n` escape.
 */
function dq(...lines: string[]): string {
  const body = (s: string): string =>
    s
      .replace(/[\r\n\t]+/g, ' ')
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(/&/g, '&amp;');
  return `"${lines.map(body).join('\\n')}"`;
}

const DOT_LEGEND = 'edges: red violation, dashed amber audit, green declared, grey unfenced; hollow arrowhead: some pairs only';

function formatDot(report: MatrixReport): string {
  const m = report.tenants;
  const lines = [
    'digraph netfence {',
    `  graph [label=${dq(`netfence matrix: ${report.title}`, summaryLine(report), DOT_LEGEND)}, labelloc=t, fontname="Helvetica", fontsize=14, rankdir=LR, compound=true, nodesep=0.35, ranksep=1.1];`,
    '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#888888"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  /** For a tenant drawn as a cluster: the cluster name and the node edges attach to. */
  const anchors = new Map<number, { cluster: string; node: string }>();
  m.entries.forEach((e, i) => {
    const tooltip = `tooltip=${dq(`${e.label}: ${describeEntry(e)}`)}`;
    if (e.kind === 'tenant') {
      const members = report.namespaces.entries.filter((n) => n.kind === 'namespace' && n.tenant !== undefined && `tenant:${n.tenant}` === e.id);
      const cluster = `cluster_${i}`;
      const audit = /\baudit\b/i.test(e.detail);
      lines.push(
        `  subgraph ${cluster} {`,
        `    label=${dq(`tenant ${e.label}`, e.detail)}; ${tooltip};`,
        `    style="rounded,filled${audit ? ',dashed' : ''}"; fillcolor="#eef3fb"; color="#4a6fa5"; fontname="Helvetica-Bold";`,
      );
      if (members.length === 0) {
        lines.push(`    e${i} [label=${dq(e.label)}, ${tooltip}];`);
        anchors.set(i, { cluster, node: `e${i}` });
      } else {
        members.forEach((n, k) => lines.push(`    e${i}_${k} [label=${dq(n.label)}, tooltip=${dq(`${n.label}: ${describeEntry(n)}`)}];`));
        anchors.set(i, { cluster, node: `e${i}_0` });
      }
      lines.push('  }');
    } else if (e.kind === 'namespace') {
      lines.push(`  e${i} [label=${dq(e.label)}, ${tooltip}, fillcolor="#f5f5f5"];`);
    } else {
      lines.push(`  e${i} [label=${dq(e.label)}, ${tooltip}, shape=hexagon, style=filled, fillcolor="#fff8e1", color="#b08900"];`);
    }
  });
  for (const { i, j, cell } of edges(m)) {
    const from = anchors.get(i);
    const to = anchors.get(j);
    const attrs = [
      `label=${dq(edgeLabel(cell))}`,
      `tooltip=${dq(describeCell(m.entries[i] as MatrixEntry, m.entries[j] as MatrixEntry, cell))}`,
      `color="${COLOR[cell.fence]}"`,
      `fontcolor="${COLOR[cell.fence]}"`,
    ];
    if (cell.fence === 'violation') attrs.push('penwidth=2.5');
    if (cell.fence === 'audit') attrs.push('style=dashed', 'penwidth=1.5');
    if (cell.reach === 'some' && cell.fence !== 'audit') attrs.push('arrowhead=empty');
    if (from !== undefined) attrs.push(`ltail=${from.cluster}`);
    if (to !== undefined) attrs.push(`lhead=${to.cluster}`);
    lines.push(`  ${from?.node ?? `e${i}`} -> ${to?.node ?? `e${j}`} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// html

/** Text and attribute values: markup characters as entities, control characters dropped. */
function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => `&#${c.codePointAt(0)};`);
}

const HTML_CSS = `
:root { --violation: #e53935; --audit: #ffca28; --declared: #a5d6a7; --same: #d9d9d9; --unfenced: #ececec; --none: #ffffff; --line: #c8c8c8; --ink: #1f2328; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f6f8fa; }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 18px; margin: 28px 0 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle { margin: 2px 0 12px; color: var(--muted); }
.summary { display: inline-block; margin: 0 0 12px; padding: 8px 14px; border-radius: 6px; font-weight: 600; }
.summary.bad { background: #b71c1c; color: #fff; }
.summary.good { background: #2e7d32; color: #fff; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; margin: 0 0 8px; padding: 8px 12px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.legend span.item { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.sw { display: inline-block; min-width: 22px; height: 22px; line-height: 20px; text-align: center; border: 1px solid var(--line); border-radius: 3px; font-weight: 700; }
.hint { margin: 0 0 8px; color: var(--muted); }
.scroll { overflow: auto; max-height: 80vh; max-width: 100%; display: inline-block; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
table.matrix { border-collapse: separate; border-spacing: 0; }
table.matrix th, table.matrix td { border-right: 1px solid var(--line); border-bottom: 1px solid var(--line); }
table.matrix thead { position: sticky; top: 0; z-index: 3; }
table.matrix thead th { background: #f0f3f6; font-weight: 600; }
table.matrix th.corner { position: sticky; left: 0; z-index: 4; text-align: left; vertical-align: bottom; padding: 6px 10px; color: var(--muted); font-weight: 400; }
table.matrix tr.groups th { font-size: 12px; padding: 3px 6px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 4em; }
table.matrix th.col { vertical-align: bottom; padding: 6px 2px; }
table.matrix th.col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; display: inline-block; max-height: 12em; overflow: hidden; text-overflow: ellipsis; }
table.matrix th.row { position: sticky; left: 0; z-index: 2; background: #fff; text-align: left; font-weight: 600; padding: 4px 10px; white-space: nowrap; max-width: 22em; overflow: hidden; text-overflow: ellipsis; }
table.matrix th.row small { display: block; font-weight: 400; color: var(--muted); font-size: 11px; }
table.matrix.compact th.row { max-width: 16em; padding: 2px 10px; }
table.matrix.compact th.row small { display: none; }
table.matrix td { text-align: center; vertical-align: middle; min-width: 30px; height: 30px; padding: 2px 4px; font-size: 15px; }
table.matrix.detailed td { min-width: 5em; height: 42px; }
table.matrix td small { display: block; font-size: 11px; line-height: 1.2; max-width: 9em; margin: 0 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.matrix .gs { border-left: 2px solid #7a8793; }
table.matrix tr.gs > * { border-top: 2px solid #7a8793; }
td.violation, .sw.violation { background: var(--violation); color: #fff; font-weight: 700; }
td.audit, .sw.audit { background: var(--audit); color: #3d2c00; font-weight: 700; }
td.declared, .sw.declared { background: var(--declared); color: #0f3d14; }
td.same, .sw.same { background: var(--same); color: #333; }
td.unfenced, .sw.unfenced { background: repeating-linear-gradient(135deg, #f4f4f4 0 4px, #e1e1e1 4px 8px); color: #333; }
td.none, .sw.none { background: var(--none); color: #b5b5b5; }
td.diag { box-shadow: inset 0 0 0 1px #9aa4ae; }
table.list { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
table.list th, table.list td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); }
table.list th { background: #f0f3f6; }
table.list tr.violation td:first-child { border-left: 6px solid var(--violation); }
table.list tr.audit td:first-child { border-left: 6px solid var(--audit); }
table.list tr.declared td:first-child { border-left: 6px solid var(--declared); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.violation { background: var(--violation); color: #fff; }
.badge.audit { background: var(--audit); color: #3d2c00; }
.badge.declared { background: var(--declared); color: #0f3d14; }
.notes li { margin: 2px 0; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
`;

function htmlCell(m: Matrix, i: number, j: number, detailed: boolean, groupStart: boolean): string {
  const cell = cellAt(m, i, j);
  const from = m.entries[i] as MatrixEntry;
  const to = m.entries[j] as MatrixEntry;
  const classes = [cell.reach === 'none' ? 'none' : cell.fence, ...(i === j ? ['diag'] : []), ...(groupStart ? ['gs'] : [])];
  const symbol = `${REACH_SYMBOL[cell.reach]}${FENCE_MARK[cell.fence]}`;
  const ports = detailed && cell.reach !== 'none' && cell.ports !== '' ? `<small>${esc(cell.ports)}</small>` : '';
  return `<td class="${classes.join(' ')}" title="${esc(describeCell(from, to, cell))}">${esc(symbol)}${ports}</td>`;
}

/** The small line under a row label: what the group header does not already say. */
function rowDetail(e: MatrixEntry): string {
  if (e.kind !== 'namespace') return e.detail;
  return [e.tenant === undefined ? 'no tenant' : `tenant ${e.tenant}`, ...(e.detail === '' ? [] : [e.detail])].join(' · ');
}

function htmlMatrix(m: Matrix, name: string, id: string): string {
  if (m.entries.length === 0) return `<section id="${id}"><h2>${esc(name)}</h2><p class="hint">Nothing to show.</p></section>`;
  const detailed = m.entries.length <= HTML_DETAILED_MAX;
  const gs = groups(m);
  const starts = new Set(gs.filter((g) => g.start > 0).map((g) => g.start));
  const out: string[] = [`<section id="${id}">`, `<h2>${esc(name)}</h2>`, '<p class="hint">Rows reach columns. Hover a cell for its ports and fence.</p>'];
  out.push(`<div class="scroll"><table class="matrix ${detailed ? 'detailed' : 'compact'}">`, '<thead>');
  out.push(
    `<tr class="groups"><th class="corner" rowspan="2">from \u2193 to \u2192</th>${gs
      .map((g) => `<th colspan="${g.size}"${g.start > 0 ? ' class="gs"' : ''} title="${esc(g.label)}">${esc(g.label)}</th>`)
      .join('')}</tr>`,
  );
  out.push(
    `<tr>${m.entries
      .map((e, j) => `<th class="col${starts.has(j) ? ' gs' : ''}" scope="col" title="${esc(`${e.label}: ${describeEntry(e)}`)}"><span>${esc(e.label)}</span></th>`)
      .join('')}</tr>`,
  );
  out.push('</thead>', '<tbody>');
  m.entries.forEach((e, i) => {
    const cells = m.entries.map((_, j) => htmlCell(m, i, j, detailed, starts.has(j))).join('');
    out.push(
      `<tr${starts.has(i) ? ' class="gs"' : ''}><th class="row" scope="row" title="${esc(`${e.label}: ${describeEntry(e)}`)}">${esc(e.label)}<small>${esc(rowDetail(e))}</small></th>${cells}</tr>`,
    );
  });
  out.push('</tbody></table></div>');
  const list = crossings(m);
  out.push(`<h3>Crossing a fence (${list.length})</h3>`);
  if (list.length === 0) out.push('<p class="hint">No cell crosses a fence.</p>');
  else {
    out.push('<table class="list"><thead><tr><th>fence</th><th>from</th><th>to</th><th>reach</th><th>ports</th></tr></thead><tbody>');
    for (const { from, to, cell } of list) {
      out.push(
        `<tr class="${cell.fence}"><td><span class="badge ${cell.fence}" title="${esc(FENCE_TEXT[cell.fence])}">${esc(
          cell.fence === 'declared' ? 'declared' : cell.fence,
        )}</span></td><td>${esc(from.label)}</td><td>${esc(to.label)}</td><td>${esc(`${REACH_SYMBOL[cell.reach]} ${REACH_TEXT[cell.reach]}`)}</td><td>${esc(cell.ports)}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  }
  out.push('</section>');
  return out.join('\n');
}

function formatHtml(report: MatrixReport): string {
  const v = report.violations;
  const legend: [string, string, string][] = [
    ['violation', `${REACH_SYMBOL.all}${FENCE_MARK.violation}`, FENCE_TEXT.violation],
    ['audit', `${REACH_SYMBOL.all}${FENCE_MARK.audit}`, FENCE_TEXT.audit],
    ['declared', `${REACH_SYMBOL.all}${FENCE_MARK.declared}`, FENCE_TEXT.declared],
    ['same', REACH_SYMBOL.all, 'inside one tenant or one namespace'],
    ['unfenced', REACH_SYMBOL.all, FENCE_TEXT.unfenced],
    ['none', REACH_SYMBOL.none, FENCE_TEXT.none],
  ];
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`netfence matrix: ${report.title}`)}</title>`,
    `<style>${HTML_CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>netfence matrix</h1>',
    `<p class="subtitle">${esc(report.title)}</p>`,
    `<p class="summary ${v === 0 ? 'good' : 'bad'}" id="summary">${esc(
      v === 0 ? "No violations: no path crosses an Enforce tenant's fence undeclared" : `${v} violation${v === 1 ? '' : 's'}: ${v === 1 ? 'a path crosses' : 'paths cross'} an Enforce tenant's fence undeclared (red cells)`,
    )}</p>`,
    '</header>',
    `<div class="legend"><span class="item">${esc(`${REACH_SYMBOL.all} every pair reaches · ${REACH_SYMBOL.some} some pairs reach`)}</span>${legend
      .map(([cls, sym, text]) => `<span class="item"><span class="sw ${cls}">${esc(sym)}</span>${esc(text)}</span>`)
      .join('')}</div>`,
    htmlMatrix(report.tenants, 'Tenants', 'tenants'),
    htmlMatrix(report.namespaces, 'Namespaces', 'namespaces'),
  ];
  if (report.notes.length > 0) parts.push(`<section class="notes"><h2>Notes</h2><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`);
  parts.push('<footer>Generated by netfence matrix. A self-contained page: no scripts, nothing fetched.</footer>', '</body>', '</html>');
  return `${parts.join('\n')}\n`;
}
