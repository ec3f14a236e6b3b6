/**
 * The vocabulary every `netfence matrix` format shares, so a cell reads the same in a terminal,
 * on GitHub, in a graph and in a browser. Pure.
 *
 * Reach: `●` every source pod (or address) reaches every destination, `◐` some pairs do,
 * `·` nothing is allowed. Fence mark after the reach symbol: `!` violation (crosses an
 * Enforce tenant's fence undeclared), `?` audit (crosses an Audit tenant's fence undeclared,
 * nothing enforced), `+` crosses a fence and every fence on the way declares it; no mark inside
 * one tenant (or one namespace outside tenants) and between entries that are in no tenant at
 * all. Colours where there are colours: red violation, amber audit, green declared, grey
 * same/unfenced, white nothing.
 */
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../analysis/matrix-model.js';

export const REACH_SYMBOL: Record<MatrixCell['reach'], string> = { all: '●', some: '◐', none: '·' };
export const REACH_TEXT: Record<MatrixCell['reach'], string> = { all: 'all', some: 'some', none: 'none' };
const REACH_LONG: Record<MatrixCell['reach'], string> = {
  all: 'every pair reaches',
  some: 'some pairs reach',
  none: 'nothing allowed',
};
export const FENCE_MARK: Record<CellFence, string> = { violation: '!', audit: '?', declared: '+', same: '', unfenced: '', none: '' };
export const FENCE_TEXT: Record<CellFence, string> = {
  violation: 'violation: crosses an Enforce fence undeclared',
  audit: 'audit: crosses an Audit fence undeclared (not enforced)',
  declared: 'crosses a fence, declared',
  same: 'inside one tenant',
  unfenced: 'unfenced: no tenant on either end',
  none: 'nothing allowed',
};
/** Most severe first: the order fence-crossing lists use. */
export const CROSSING_ORDER: readonly CellFence[] = ['violation', 'audit', 'declared'];
export const COLOR: Record<CellFence, string> = {
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

export function cellAt(m: Matrix, i: number, j: number): MatrixCell {
  return m.cells[i]?.[j] ?? { reach: 'none', ports: '', fence: 'none' };
}

/** Cells that allow something across a fence, violations first, then audit, then declared. */
export function crossings(m: Matrix): Crossing[] {
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
export function edges(m: Matrix): { i: number; j: number; cell: MatrixCell }[] {
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
export function describeEntry(e: MatrixEntry): string {
  const kind = kindText(e);
  const parts = [...(kind === e.label ? [] : [kind]), ...(e.detail === '' ? [] : [e.detail])];
  return parts.join(' · ');
}

/** What a cell allows, without its ends: `some pairs reach, TCP 443; crosses a fence, declared`. */
export function cellText(cell: MatrixCell): string {
  if (cell.reach === 'none') return 'nothing allowed';
  return `${REACH_LONG[cell.reach]}, ${cell.ports === '' ? 'no ports' : cell.ports}; ${FENCE_TEXT[cell.fence]}`;
}

export function describeCell(from: MatrixEntry, to: MatrixEntry, cell: MatrixCell): string {
  return `from ${from.label} to ${to.label}: ${cellText(cell)}`;
}

export function summaryLine(report: MatrixReport): string {
  const v = report.violations;
  return v === 0
    ? "no violations: no path crosses an Enforce tenant's fence undeclared"
    : `${v} violation${v === 1 ? '' : 's'}: ${v === 1 ? 'a path crosses' : 'paths cross'} an Enforce tenant's fence undeclared`;
}

/** Control characters would move a terminal's cursor or worse: shown as `?`. */
export function plain(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' || c === '\t' ? ' ' : '?'));
}

/** The label of a graph edge (mermaid, dot): `VIOLATION TCP 8080 (some)`. */
export function edgeLabel(cell: MatrixCell): string {
  const ports = cell.ports === '' ? 'no ports' : cell.ports;
  const prefix = cell.fence === 'violation' ? 'VIOLATION ' : cell.fence === 'audit' ? 'audit ' : '';
  return `${prefix}${ports}${cell.reach === 'some' ? ' (some)' : ''}`;
}

/** The small line under a row label: what the group header does not already say. */
export function rowDetail(e: MatrixEntry): string {
  if (e.kind !== 'namespace') return e.detail;
  return [e.tenant === undefined ? 'no tenant' : `tenant ${e.tenant}`, ...(e.detail === '' ? [] : [e.detail])].join(' · ');
}
