/**
 * The full YAML reader, for documents the fast reader (src/io/yaml-fast.ts) leaves to it:
 * the `yaml` package parses the syntax, and values are built here so that they mean what
 * kubectl reads (go-yaml v2, YAML 1.1: src/io/scalars.ts).
 *
 * Guarantees: merge keys (`<<: *base`, `<<: [*a, *b]`) are honoured, explicit keys winning
 * and earlier merged mappings winning over later ones. A key given explicitly before a `<<`
 * that also brings it is refused: YAML readers disagree on which one wins. Aliases resolve
 * within their document only (as kubectl reads each document alone); an alias to a missing
 * anchor, a recursive alias, or aliases that expand to more than `maxNodes` values (an alias
 * bomb) are errors with a line, never a crash. Duplicate keys, complex keys and tags other
 * than the standard scalar and collection tags are errors.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Scalar, type Document, type Node } from 'yaml';
import { setOwn } from '../core/objects.js';
import { keyOf, resolvePlain } from './scalars.js';

export interface FullProblem {
  line: number;
  message: string;
}

export interface FullDocument {
  /** undefined for an empty document. */
  value: unknown;
  /** The line a document's content starts on. */
  line: number;
  /** Line of the value at `path` (nearest ancestor present). */
  lineOf: (path: readonly (string | number)[]) => number;
}

export interface FullOptions {
  /** Values that aliases may expand to in one document, in all. */
  maxNodes: number;
}

class Problem extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const TAG = 'tag:yaml.org,2002:';

function offsetOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : 0;
}

function scalarValue(node: Scalar): unknown {
  // The failsafe schema (see parseAllDocuments below) leaves every scalar a string; an empty one may be null.
  const text = typeof node.value === 'string' ? node.value : '';
  const tag = node.tag;
  if (tag === undefined) return node.type === 'PLAIN' ? resolvePlain(text) : text;
  switch (tag) {
    case `${TAG}str`:
      return text;
    case `${TAG}null`:
      if (resolvePlain(text) !== null) throw new Problem(`!!null with a value: ${JSON.stringify(text)}`, offsetOf(node));
      return null;
    case `${TAG}bool`:
    case `${TAG}int`:
    case `${TAG}float`: {
      const v = resolvePlain(text);
      const want = tag.slice(TAG.length);
      const ok = want === 'bool' ? typeof v === 'boolean' : want === 'int' ? Number.isInteger(v) : typeof v === 'number';
      if (!ok) throw new Problem(`!!${want} ${JSON.stringify(text)} is not a ${want}`, offsetOf(node));
      return v;
    }
    default:
      throw new Problem(`the tag ${tag.startsWith(TAG) ? `!!${tag.slice(TAG.length)}` : tag} is not supported here`, offsetOf(node));
  }
}

function checkCollectionTag(node: Node, want: 'map' | 'seq'): void {
  const tag = (node as { tag?: string }).tag;
  if (tag !== undefined && tag !== `${TAG}${want}`) throw new Problem(`the tag ${tag} is not supported here`, offsetOf(node));
}

class Converter {
  private count = 0;
  private readonly active = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly maxNodes: number,
  ) {}

  value(node: unknown): unknown {
    if (node === null || node === undefined) return null;
    if (++this.count > this.maxNodes) {
      throw new Problem(`aliases expand this document to more than ${this.maxNodes} values (an alias bomb?)`, offsetOf(node));
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined) {
        throw new Problem(`alias *${node.source} has no anchor &${node.source} in this document (each document is read alone)`, offsetOf(node));
      }
      if (this.active.has(target)) throw new Problem(`alias *${node.source} refers to a node that contains it`, offsetOf(node));
      this.active.add(target);
      try {
        return this.value(target);
      } finally {
        this.active.delete(target);
      }
    }
    if (isScalar(node)) return scalarValue(node);
    if (isSeq(node)) {
      checkCollectionTag(node, 'seq');
      this.active.add(node);
      try {
        return node.items.map((item) => this.value(item));
      } finally {
        this.active.delete(node);
      }
    }
    if (isMap(node)) {
      checkCollectionTag(node, 'map');
      this.active.add(node);
      try {
        return this.mapping(node);
      } finally {
        this.active.delete(node);
      }
    }
    throw new Problem('a node of an unknown kind', offsetOf(node));
  }

  /** A mapping (merged mappings are mappings too) as a plain object, its keys tracked for merge conflicts. */
  private mapping(node: Node & { items: { key: unknown; value: unknown }[] }): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const explicit = new Set<string>();
    const merged: { source: Record<string, unknown>; offset: number }[] = [];
    for (const pair of node.items) {
      const k = pair.key;
      if (isScalar(k) && k.type === 'PLAIN' && k.tag === undefined && k.value === '<<') {
        const at = offsetOf(k);
        for (const source of this.mergeSources(pair.value, at)) {
          for (const key of Object.keys(source)) {
            if (explicit.has(key)) {
              throw new Problem(`key ${JSON.stringify(key)} is given before a << merge that brings it too: YAML readers disagree on which wins; put << first`, at);
            }
          }
          merged.push({ source, offset: at });
        }
        continue;
      }
      let key: string;
      if (isScalar(k) || isAlias(k)) {
        const v = this.value(k);
        if (v !== null && typeof v === 'object') throw new Problem('a mapping or list used as a key', offsetOf(k));
        key = keyOf(v);
      } else if (k === null || k === undefined) {
        key = 'null';
      } else {
        throw new Problem('a mapping or list used as a key', offsetOf(k));
      }
      if (explicit.has(key)) throw new Problem(`duplicate key ${JSON.stringify(key)}`, offsetOf(k));
      explicit.add(key);
      setOwn(out, key, this.value(pair.value));
    }
    for (const { source } of merged) {
      for (const [key, value] of Object.entries(source)) if (!Object.prototype.hasOwnProperty.call(out, key)) setOwn(out, key, value);
    }
    return out;
  }

  private mergeSources(value: unknown, at: number): Record<string, unknown>[] {
    const one = (v: unknown): Record<string, unknown> => {
      const target = isAlias(v) ? v.resolve(this.doc) : v;
      if (!isMap(target)) throw new Problem('<< takes a mapping or a list of mappings', isAlias(v) || isMap(v) ? offsetOf(v) : at);
      return this.value(v) as Record<string, unknown>;
    };
    const target = isAlias(value) ? value.resolve(this.doc) : value;
    if (isSeq(target) && !isAlias(value)) return target.items.map(one);
    return [one(value)];
  }
}

/**
 * The line of the value at `path`: for a mapping entry the line of its key, for a list entry
 * the line it starts on, as the fast reader reports them; the nearest ancestor's when absent.
 */
function locate(doc: Document, root: unknown, path: readonly (string | number)[], docLine: number, lineAt: (offset: number) => number): number {
  let node: unknown = root;
  let line = docLine;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node) && typeof seg === 'string') {
      const pair = node.items.find((p) =>
        isScalar(p.key) ? keyOf(p.key.type === 'PLAIN' && p.key.tag === undefined ? resolvePlain(String(p.key.value)) : p.key.value) === seg : false,
      );
      if (pair === undefined) return line;
      line = lineAt(offsetOf(pair.key));
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return line;
      line = lineAt(offsetOf(item));
      node = item;
    } else {
      return line;
    }
  }
  return line;
}

/**
 * Reads every document of `text[start, end)` (whose first line is `firstLine`). Returns the
 * documents read and the problems found; a document with a problem is left out.
 */
export function readFull(text: string, start: number, end: number, firstLine: number, options: FullOptions): { docs: FullDocument[]; problems: FullProblem[] } {
  const source = start === 0 && end === text.length ? text : text.slice(start, end);
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line + firstLine - 1;
  const parsed = parseAllDocuments(source, { lineCounter, prettyErrors: false, uniqueKeys: false, schema: 'failsafe', version: '1.1', strict: false });
  const docs: FullDocument[] = [];
  const problems: FullProblem[] = [];
  const list = Array.isArray(parsed) ? parsed : [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) problems.push({ line: lineAt(err.pos[0]), message: `YAML syntax: ${err.message.split('\n')[0]}` });
      continue;
    }
    const contents = doc.contents;
    const line = contents && contents.range ? lineAt(contents.range[0]) : lineAt(0);
    let value: unknown;
    try {
      value = new Converter(doc, options.maxNodes).value(contents);
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      problems.push({ line: lineAt(e.offset), message: e.message });
      continue;
    }
    const lineOf = (path: readonly (string | number)[]): number => locate(doc, contents, path, line, lineAt);
    docs.push({ value: value === null ? undefined : value, line, lineOf });
  }
  return { docs, problems };
}
