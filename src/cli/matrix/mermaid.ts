/**
 * `netfence matrix -o mermaid`: a `flowchart LR` of the tenant matrix. Pure.
 *
 * One node per entry (tenants boxes, namespaces outside tenants stadiums, outside addresses
 * hexagons), one edge per cell between two different entries that allows something, labelled
 * with its ports; violation edges thick and red, audit dotted and amber, declared green,
 * unfenced grey.
 */
import type { CellFence, MatrixEntry, MatrixReport } from '../../analysis/matrix-model.js';
import { COLOR, describeEntry, edgeLabel, edges, plain, summaryLine } from './vocabulary.js';

/** Text inside a quoted mermaid label: quotes, markup and mermaid's own `#` as entity codes. */
function mmd(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[#"&<>|`;{}[\]()]/g, (c) => `#${c.codePointAt(0)};`);
}

export function formatMermaid(report: MatrixReport): string {
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
