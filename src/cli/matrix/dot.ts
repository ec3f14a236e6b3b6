/**
 * `netfence matrix -o dot`: a graphviz `digraph` of the tenant matrix. Pure.
 *
 * Each tenant is a cluster holding its namespaces (from the namespace matrix); tenant-to-tenant
 * edges are drawn between the clusters (compound=true); violation edges red, audit dashed
 * amber, declared green, unfenced grey, a hollow arrowhead where only some pairs reach.
 */
import type { MatrixEntry, MatrixReport } from '../../analysis/matrix-model.js';
import { COLOR, describeCell, describeEntry, edgeLabel, edges, summaryLine } from './vocabulary.js';

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

export function formatDot(report: MatrixReport): string {
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
