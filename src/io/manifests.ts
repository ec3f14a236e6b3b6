/**
 * Reads Kubernetes manifests for the offline commands: YAML or JSON, multi-document files,
 * `kind: List` wrappers, directories (recursively, *.yaml/*.yml/*.json in name order) and
 * `-` for standard input.
 *
 * Guarantees: every problem is an InputError naming the file, the line and the problem; the
 * caller gets either every object or an error, never a partial set.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import { isRecord } from '../core/objects.js';

export interface Source {
  file: string;
  line: number;
}

export class InputError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'InputError';
    this.problems = problems;
  }
}

export type Path = readonly (string | number)[];

/** One object read from the input, with the means to find the line of any field in it. */
export interface Manifest {
  readonly object: Record<string, unknown>;
  readonly source: Source;
  /** Line of the value at `path` inside this object (the nearest existing ancestor if it is absent). */
  lineOf(path: Path): number;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

function listFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError([`${path}: no such file or directory`]);
  }
  if (st.isFile()) return [path];
  if (!st.isDirectory()) throw new InputError([`${path}: not a file or directory`]);
  const out: string[] = [];
  for (const entry of readdirSync(path).sort()) {
    if (entry.startsWith('.')) continue;
    const full = join(path, entry);
    const s = statSync(full);
    if (s.isDirectory()) out.push(...listFiles(full));
    else if (MANIFEST_EXTENSIONS.some((e) => entry.endsWith(e))) out.push(full);
  }
  return out;
}

/** Parses one file's text into manifests; `List` kinds are unwrapped into their items. */
export function parseManifests(text: string, file: string): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const problems: string[] = [];
  const out: Manifest[] = [];
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  for (const doc of list) {
    for (const err of doc.errors) problems.push(`${file}:${lineAt(err.pos[0])}: YAML syntax: ${err.message.split('\n')[0]}`);
    if (doc.errors.length > 0) continue;
    if (doc.contents === null) continue;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    const docLine = doc.contents && isNode(doc.contents) && doc.contents.range ? lineAt(doc.contents.range[0]) : 1;
    const lineOfIn = (d: Document, base: Path, path: Path): number => {
      for (let n = path.length; n >= 0; n--) {
        const node = d.getIn([...base, ...path.slice(0, n)], true);
        if (isNode(node) && node.range) return lineAt(node.range[0]);
      }
      return docLine;
    };
    if (!isRecord(value)) {
      problems.push(`${file}:${docLine}: expected a Kubernetes object (a mapping with apiVersion and kind), found ${Array.isArray(value) ? 'a list' : typeof value}`);
      continue;
    }
    const kind = value.kind;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items)) {
      for (const [i, item] of value.items.entries()) {
        const itemLine = lineOfIn(doc, ['items', i], []);
        if (!isRecord(item)) {
          problems.push(`${file}:${itemLine}: items[${i}] is not a Kubernetes object`);
          continue;
        }
        out.push({ object: item, source: { file, line: itemLine }, lineOf: (p) => lineOfIn(doc, ['items', i], p) });
      }
      continue;
    }
    out.push({ object: value, source: { file, line: docLine }, lineOf: (p) => lineOfIn(doc, [], p) });
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

/** Reads every path (`-` is standard input, read once). Throws InputError with every problem found. */
export function readManifests(paths: readonly string[], readStdin: () => string = () => readFileSync(0, 'utf8')): Manifest[] {
  const problems: string[] = [];
  const out: Manifest[] = [];
  for (const p of paths) {
    try {
      if (p === '-') {
        out.push(...parseManifests(readStdin(), '<stdin>'));
        continue;
      }
      for (const f of listFiles(p)) out.push(...parseManifests(readFileSync(f, 'utf8'), f));
    } catch (e) {
      if (e instanceof InputError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}
