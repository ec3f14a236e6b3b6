/**
 * `netfence matrix -o markdown`: the text format's grids as GitHub tables (rows numbered,
 * columns by number), a legend, the fence-crossing cells as a table, the notes. Labels are
 * escaped for tables and inline html. Pure.
 */
import type { Matrix, MatrixCell, MatrixReport } from '../../analysis/matrix-model.js';
import { cellAt, crossings, FENCE_MARK, FENCE_TEXT, REACH_SYMBOL, REACH_TEXT, rowDetail, summaryLine } from './vocabulary.js';

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

export function formatMarkdown(report: MatrixReport): string {
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
