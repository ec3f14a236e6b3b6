/**
 * `netfence matrix -o text`: for a terminal. Pure.
 *
 * Each matrix is a grid of two-character cells (symbol + mark, see vocabulary.ts) under column
 * numbers written vertically (so a column stays two characters wide whatever the count) with an
 * extra space every five columns to keep the eye on a column, row labels numbered on the left
 * (cut to 24 characters; the key under the grid gives every full name and its detail). Up to
 * 60 entries a grid is at most ~180 characters wide; past 60 it would wrap in any terminal, so
 * such a matrix is printed as a list instead: per source, every destination it reaches with
 * symbol, mark and ports. Then the legend, the cells that cross a fence (violations first)
 * with their ports, and the notes. Control characters in names are shown as `?`.
 */
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../analysis/matrix-model.js';
import { cellAt, crossings, describeEntry, FENCE_MARK, FENCE_TEXT, plain, REACH_SYMBOL, REACH_TEXT, summaryLine } from './vocabulary.js';

/** Above this many entries the text format lists a matrix instead of drawing a grid. */
const TEXT_GRID_MAX = 60;
const TEXT_LABEL_MAX = 24;
/** The last column of the crossing list; the legend above it says the rest. */
const FENCE_SHORT: Record<CellFence, string> = { violation: 'VIOLATION', audit: 'audit, not enforced', declared: 'declared', same: '', unfenced: '', none: '' };

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
  const prefix = (num: string, label: string, tenant: string): string => `  ${num.padStart(digits)} ${pad(label, labelW)}${showTenant ? `  ${pad(tenant, tenantW)}` : ''}  `;
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

export function formatText(report: MatrixReport): string {
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
