/**
 * The formatters of `netfence matrix`: a MatrixReport as text, markdown, mermaid, dot or html,
 * one module per format over a shared vocabulary (vocabulary.ts). Pure and deterministic: no
 * I/O, no clock, output a function of the report alone.
 */
import type { MatrixReport } from '../../analysis/matrix-model.js';
import { formatDot } from './dot.js';
import { formatHtml } from './html.js';
import { formatMarkdown } from './markdown.js';
import { formatMermaid } from './mermaid.js';
import { formatText } from './text.js';

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
