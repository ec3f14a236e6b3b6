/**
 * Reads Kubernetes manifests for the offline commands, as kubectl reads them: YAML streams
 * (YAML 1.1 values, merge keys, empty documents skipped), JSON objects alone or streamed,
 * `kind: *List` wrappers and `kubectl get -o yaml|json` dumps, from files, directories
 * (src/io/files.ts), FIFOs and standard input.
 *
 * Guarantees: every problem is one `file:line: what is wrong` string, and all problems of a
 * run come together in one InputError; the caller gets every object or that error, never a
 * partial set. Input the API server could never hold is refused before it is built: a
 * scalar or an object larger than the API server's request limit, aliases that expand
 * without bound. Objects are cut to what netfence reads as they are parsed (src/io/slim.ts).
 *
 * How: JSON goes through the engine's JSON.parse, one object or list item at a time. YAML
 * goes through a fast reader for the block YAML tools write (src/io/yaml-fast.ts), and any
 * document it does not take goes to the full reader (src/io/yaml-full.ts). Lines are found
 * only when a message needs one, by reading the object's text again.
 */
import { decodeText, FileProblem, formatBytes, listPath, readBounded, readPath } from './files.js';
import { countLines, duplicateKey, JsonSyntaxError, listElements, locateJson, objectMembers, parseValue, skipWhitespace, valueEnd } from './json-stream.js';
import { slim } from './slim.js';
import { GiveUp, locateFast, readFast, TooLarge, type ItemStart } from './yaml-fast.js';
import { readFull } from './yaml-full.js';
import { isRecord } from '../core/objects.js';
import { API_VERSION, KIND } from '../api/constants.js';
import { formatPath } from '../api/validate.js';

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

/** The bounds of what is read. */
export const READ_LIMITS = {
  /** One file or stream: about the longest string the JavaScript engine can hold. */
  fileBytes: 512 * 1024 * 1024,
  /** One object, and so one scalar: the API server refuses request bodies over 3 MiB. */
  objectBytes: 3 * 1024 * 1024,
  /** One document handed to the full YAML reader, which holds a syntax tree of it. */
  fullReaderBytes: 32 * 1024 * 1024,
  /** Values that aliases may expand one document to. */
  aliasNodes: 100_000,
} as const;

/** Kinds whose JSON text is checked for duplicate keys, as strict field validation does (JSON.parse keeps the last). */
const STRICT_KINDS = new Set([`${API_VERSION}/${KIND}`, 'v1/Namespace', 'networking.k8s.io/v1/NetworkPolicy']);

function found(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}` : `a ${typeof value}`;
}

const NOT_AN_OBJECT = 'expected a Kubernetes object (a mapping with apiVersion and kind), found';

function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

class Collector {
  readonly out: Manifest[] = [];
  readonly problems: string[] = [];
  constructor(readonly file: string) {}

  problem(line: number, message: string): void {
    this.problems.push(`${this.file}:${line}: ${message}`);
  }

  add(value: unknown, line: number, lineOf: (path: Path) => number): void {
    if (!isRecord(value)) {
      this.problem(line, `${NOT_AN_OBJECT} ${found(value)}`);
      return;
    }
    this.out.push({ object: value, source: { file: this.file, line }, lineOf });
  }
}

// ---------------------------------------------------------------- JSON

function readJson(text: string, c: Collector): void {
  let p = skipWhitespace(text, 0);
  let line = 1 + countLines(text, 0, p);
  while (p < text.length) {
    const end = valueEnd(text, p);
    if (text.charCodeAt(p) !== 123) {
      c.problem(line, `${NOT_AN_OBJECT} ${text.charCodeAt(p) === 91 ? 'a JSON list' : 'a JSON value that is not an object'}`);
    } else {
      jsonObject(text, p, end, line, c);
    }
    const next = skipWhitespace(text, end);
    line += countLines(text, p, next);
    p = next;
  }
}

function jsonLineOf(text: string, start: number, end: number, line: number): (path: Path) => number {
  return (path) => line + countLines(text, start, locateJson(text, start, end, path));
}

function strictCheck(text: string, start: number, end: number, line: number, value: unknown, c: Collector): boolean {
  if (!isRecord(value) || !STRICT_KINDS.has(`${String(value.apiVersion)}/${String(value.kind)}`)) return true;
  const dup = duplicateKey(text, start, end);
  if (dup === undefined) return true;
  c.problem(line + countLines(text, start, dup.offset), `duplicate field ${JSON.stringify(formatPath(dup.path))}`);
  return false;
}

/** The object at [start, end): a List's items one at a time, anything else whole. */
function jsonObject(text: string, start: number, end: number, line: number, c: Collector): void {
  const size = end - start;
  if (size <= READ_LIMITS.objectBytes) {
    const value = parseValue(text, start, end);
    if (isRecord(value) && isList(value)) {
      const elements = listElements(text, locateJson(text, start, end, ['items']), end);
      jsonItems(text, elements, line + countLines(text, start, elements[0]?.start ?? start), c);
      return;
    }
    if (strictCheck(text, start, end, line, value, c)) c.add(slim(value), line, jsonLineOf(text, start, end, line));
    return;
  }
  const members = objectMembers(text, start, end, 'items');
  const kindMember = members.find((m) => m.key === 'kind');
  const kind = kindMember !== undefined ? parseValue(text, kindMember.start, kindMember.end) : undefined;
  const elements = members.find((m) => m.key === 'items')?.elements;
  if (typeof kind === 'string' && kind.endsWith('List') && elements !== undefined) {
    jsonItems(text, elements, line + countLines(text, start, elements[0]?.start ?? start), c);
    return;
  }
  c.problem(line, `an object of ${formatBytes(size)}: larger than the API server accepts (${formatBytes(READ_LIMITS.objectBytes)})`);
}

function jsonItems(text: string, elements: readonly { start: number; end: number }[], firstLine: number, c: Collector): void {
  let line = firstLine;
  let prev = elements[0]?.start ?? 0;
  for (const [i, el] of elements.entries()) {
    line += countLines(text, prev, el.start);
    prev = el.start;
    if (el.end - el.start > READ_LIMITS.objectBytes) {
      c.problem(line, `items[${i}] is ${formatBytes(el.end - el.start)}: larger than the API server accepts (${formatBytes(READ_LIMITS.objectBytes)})`);
      continue;
    }
    const value = parseValue(text, el.start, el.end);
    if (!isRecord(value)) {
      c.problem(line, `items[${i}] is not a Kubernetes object`);
      continue;
    }
    if (strictCheck(text, el.start, el.end, line, value, c)) c.add(slim(value), line, jsonLineOf(text, el.start, el.end, line));
  }
}

// ---------------------------------------------------------------- YAML

const MARKER = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/gm;

interface Chunk {
  /** Where the chunk starts (its marker line, if any) and ends (the next marker line). */
  start: number;
  end: number;
  line: number;
  /** Where the content starts: after a marker line that holds nothing else. */
  content: number;
  contentLine: number;
  /** The marker line holds content (`--- |`, `--- {a: 1}`): only the full reader takes that. */
  inlineContent: boolean;
}

function chunks(text: string): Chunk[] {
  const starts: number[] = [0];
  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) if (m.index > 0) starts.push(m.index);
  const out: Chunk[] = [];
  let line = 1;
  for (const [i, start] of starts.entries()) {
    const end = starts[i + 1] ?? text.length;
    if (i > 0) line += countLines(text, starts[i - 1] as number, start);
    let content = start;
    let contentLine = line;
    let inlineContent = false;
    if (text.startsWith('---', start) || text.startsWith('...', start)) {
      let nl = text.indexOf('\n', start);
      if (nl < 0 || nl > end) nl = end;
      const rest = text.slice(start + 3, nl).trim();
      if (rest !== '' && !rest.startsWith('#')) inlineContent = true;
      content = Math.min(nl + 1, end);
      contentLine = line + 1;
    }
    out.push({ start, end, line, content, contentLine, inlineContent });
  }
  return out;
}

function yamlFull(text: string, start: number, end: number, line: number, c: Collector): void {
  if (end - start > READ_LIMITS.fullReaderBytes) {
    c.problem(
      line,
      `a YAML document of ${formatBytes(end - start)} that only the full YAML reader can read, which takes at most ${formatBytes(READ_LIMITS.fullReaderBytes)}: split it, or give it as JSON`,
    );
    return;
  }
  const longest = longestLine(text, start, end);
  if (longest.length > READ_LIMITS.objectBytes) {
    c.problem(longest.line + line - 1, `a line of ${formatBytes(longest.length)}: larger than the API server accepts for a whole object (${formatBytes(READ_LIMITS.objectBytes)})`);
    return;
  }
  const { docs, problems } = readFull(text, start, end, line, { maxNodes: READ_LIMITS.aliasNodes });
  for (const p of problems) c.problem(p.line, p.message);
  for (const doc of docs) {
    if (doc.value === undefined) continue;
    const value = doc.value;
    if (isRecord(value) && isList(value)) {
      for (const [i, item] of (value.items as unknown[]).entries()) {
        const itemLine = doc.lineOf(['items', i]);
        if (!isRecord(item)) c.problem(itemLine, `items[${i}] is not a Kubernetes object`);
        else c.add(slim(item), itemLine, (path) => doc.lineOf(['items', i, ...path]));
      }
      continue;
    }
    c.add(slim(value), doc.line, doc.lineOf);
  }
}

function longestLine(text: string, start: number, end: number): { length: number; line: number } {
  let best = { length: 0, line: 1 };
  let line = 1;
  for (let p = start; p < end; line++) {
    let nl = text.indexOf('\n', p);
    if (nl < 0 || nl > end) nl = end;
    if (nl - p > best.length) best = { length: nl - p, line };
    p = nl + 1;
  }
  return best;
}

function yamlChunk(text: string, ch: Chunk, c: Collector): void {
  if (ch.inlineContent) {
    yamlFull(text, ch.start, ch.end, ch.line, c);
    return;
  }
  let doc;
  try {
    doc = readFast(text, ch.content, ch.end, ch.contentLine, { maxScalar: READ_LIMITS.objectBytes, transformItem: slim });
  } catch (e) {
    if (e instanceof TooLarge) {
      c.problem(
        e.line,
        `${e.what} of ${e.what === 'a line' ? '' : 'more than '}${formatBytes(e.size)}: larger than the API server accepts for a whole object (${formatBytes(READ_LIMITS.objectBytes)})`,
      );
      return;
    }
    if (!(e instanceof GiveUp)) throw e;
    yamlFull(text, ch.start, ch.end, ch.line, c);
    return;
  }
  const value = doc.value;
  if (value === undefined || value === null) return;
  const docLine = doc.line;
  if (isRecord(value) && isList(value)) {
    const items = value.items as unknown[];
    for (const [i, item] of items.entries()) {
      const at: ItemStart | undefined = doc.items[i];
      const itemLine = at?.line ?? docLine;
      const next = doc.items[i + 1]?.offset ?? ch.end;
      if (at !== undefined && next - at.offset > READ_LIMITS.objectBytes) {
        c.problem(itemLine, `items[${i}] is ${formatBytes(next - at.offset)}: larger than the API server accepts (${formatBytes(READ_LIMITS.objectBytes)})`);
        continue;
      }
      if (!isRecord(item)) {
        c.problem(itemLine, `items[${i}] is not a Kubernetes object`);
        continue;
      }
      c.add(item, itemLine, (path) => (at === undefined ? docLine : locateFast(text, ch.content, ch.end, ch.contentLine, path, at)));
    }
    return;
  }
  if (ch.end - ch.start > READ_LIMITS.objectBytes) {
    c.problem(docLine, `an object of ${formatBytes(ch.end - ch.start)}: larger than the API server accepts (${formatBytes(READ_LIMITS.objectBytes)})`);
    return;
  }
  c.add(slim(value), docLine, (path) => locateFast(text, ch.content, ch.end, ch.contentLine, path));
}

function readYaml(text: string, c: Collector): void {
  // Directives (%YAML, %TAG) span documents: the full reader takes the whole stream.
  if (/^%/m.test(text)) {
    yamlFull(text, 0, text.length, 1, c);
    return;
  }
  for (const ch of chunks(text)) yamlChunk(text, ch, c);
}

// ---------------------------------------------------------------- entry points

/** Parses one file's text into manifests; `List` kinds are unwrapped into their items. */
export function parseManifests(text: string, file: string): Manifest[] {
  const c = new Collector(file);
  const first = text.charCodeAt(skipWhitespace(text, 0));
  if (first === 123 || first === 91) {
    try {
      readJson(text, c);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      // `{a: 1}` is YAML, not JSON: read it as YAML when that reads without a problem.
      const asYaml = new Collector(file);
      readYaml(text, asYaml);
      if (asYaml.problems.length > 0) throw new InputError([`${file}:${1 + countLines(text, 0, e.offset)}: JSON syntax: ${e.message}`]);
      return asYaml.out;
    }
  } else {
    readYaml(text, c);
  }
  if (c.problems.length > 0) throw new InputError(c.problems);
  return c.out;
}

/** Standard input as the CLI gives it: bytes, or text already decoded (tests). */
export type StdinReader = () => string | Uint8Array;

export function readStdinBounded(): Buffer {
  return readBounded(0, '<stdin>', READ_LIMITS.fileBytes);
}

const STDIN_PATHS = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Reads every path (`-` is standard input, read once). Throws InputError with every problem found. */
export function readManifests(paths: readonly string[], readStdin: StdinReader = readStdinBounded): Manifest[] {
  const problems: string[] = [];
  const out: Manifest[] = [];
  let stdin: string | undefined;
  const parse = (text: string, name: string): void => {
    try {
      // One at a time: spreading 150,000 objects into push() overflows the stack.
      for (const m of parseManifests(text, name)) out.push(m);
    } catch (e) {
      if (e instanceof InputError) for (const problem of e.problems) problems.push(problem);
      else throw e;
    }
  };
  for (const p of paths) {
    try {
      if (p === '-' || STDIN_PATHS.has(p)) {
        // Read from the descriptor: opening /dev/stdin fails (ENXIO) when it is a socket.
        const name = p === '-' ? '<stdin>' : p;
        if (stdin === undefined) {
          const input = readStdin();
          stdin = typeof input === 'string' ? input : decodeText(input, name);
        }
        parse(stdin, name);
        continue;
      }
      const listing = listPath(p);
      problems.push(...listing.problems);
      for (const f of listing.files) parse(decodeText(readPath(f, READ_LIMITS.fileBytes), f), f);
    } catch (e) {
      if (e instanceof FileProblem) problems.push(e.message);
      else throw e;
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}
