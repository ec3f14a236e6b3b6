/**
 * A fast reader for the block YAML that kubectl, Helm, kustomize and people write: block
 * mappings and sequences (compact `- key:` entries included), plain and quoted one-line
 * scalars, literal block scalars (`|`, `|-`, `|+`), one-line flow collections and comments.
 *
 * Guarantees: for a document it accepts, the value equals what the full reader
 * (src/io/yaml-full.ts, on the `yaml` package) produces: scalars resolve through the same
 * src/io/scalars.ts. Anything else (anchors, aliases, tags, merge keys, folded or indented
 * block scalars, multi-line plain or quoted scalars, multi-line flow collections, complex
 * keys, duplicate keys, tabs in indentation, any syntax error) makes it give up on that
 * document with a reason, and the caller hands the document to the full reader, which
 * either reads it or reports the exact error. It never reports a YAML error itself.
 *
 * It exists for speed: on 16 MB of manifests it is about 30 times faster than building
 * `yaml` documents, and it allocates only the values it returns.
 */
import { setOwn } from '../core/objects.js';
import { keyOf, resolvePlain } from './scalars.js';

export type Path = readonly (string | number)[];

/** Thrown inside the reader when a document needs the full reader. */
export class GiveUp {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {}
}

/** Thrown for input refused outright, whichever reader reads it (e.g. a scalar the API server could never store). */
export class TooLarge extends Error {
  constructor(
    /** What is too large: `a line`, `a block scalar`. */
    readonly what: string,
    /** Its size in characters (at least). */
    readonly size: number,
    readonly line: number,
  ) {
    super(`${what} of ${size} characters`);
  }
}

/** Where one entry of the root `items` sequence starts, so its lines can be found later without reading the whole list again. */
export interface ItemStart {
  offset: number;
  line: number;
  indent: number;
}

export interface FastDocument {
  /** undefined for an empty document (comments and blank lines only). */
  value: unknown;
  /** Entries of a root mapping's `items` sequence, when there is one. */
  items: ItemStart[];
  /** The line the document's content starts on. */
  line: number;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const DASH = 45;
const COLON = 58;

const PLAIN_START_FORBIDDEN = new Set('[]{},#&*!|>\'"%@`');

class Reader {
  /** Current line: its indentation, where its content starts and ends (without CR), its number. */
  ind = 0;
  cs = 0;
  le = 0;
  line = 0;
  eof = false;
  /** Offset of the next line to read. */
  private nextPos: number;
  private nextLine: number;
  readonly items: ItemStart[] = [];
  /** With `locate`: the path sought and the deepest line found on the way. */
  private stack: (string | number)[] = [];
  found: { depth: number; line: number } = { depth: -1, line: 0 };
  /** The line a document's content starts on. */
  docLine = 0;

  constructor(
    readonly text: string,
    start: number,
    readonly end: number,
    firstLine: number,
    readonly maxScalar: number,
    readonly locate?: Path,
    readonly transformItem?: (item: unknown) => unknown,
  ) {
    this.nextPos = start;
    this.nextLine = firstLine;
  }

  fail(reason: string, line = this.line): never {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- GiveUp is a signal caught in this module, not an error: no stack to capture
    throw new GiveUp(reason, line);
  }

  /** Moves to the next line that holds something other than a comment. */
  next(): void {
    const t = this.text;
    for (;;) {
      if (this.nextPos >= this.end) {
        this.eof = true;
        this.ind = -1;
        this.line = this.nextLine;
        return;
      }
      const start = this.nextPos;
      let nl = t.indexOf('\n', start);
      if (nl < 0 || nl >= this.end) nl = this.end;
      this.nextPos = nl + 1;
      this.line = this.nextLine++;
      let le = nl;
      if (le > start && t.charCodeAt(le - 1) === CR) le--;
      let p = start;
      while (p < le && t.charCodeAt(p) === SPACE) p++;
      if (p === le) continue;
      const c = t.charCodeAt(p);
      if (c === HASH) continue;
      if (c === TAB) this.fail('a tab in indentation');
      if (le - p > this.maxScalar) throw new TooLarge('a line', le - p, this.line);
      this.ind = p - start;
      this.cs = p;
      this.le = le;
      return;
    }
  }

  private mark(seg: string | number): void {
    if (this.locate === undefined) return;
    this.stack.push(seg);
    const d = this.stack.length;
    if (d > this.locate.length || d <= this.found.depth) return;
    for (let i = 0; i < d; i++) if (this.stack[i] !== this.locate[i]) return;
    this.found = { depth: d, line: this.line };
  }

  private unmark(): void {
    if (this.locate !== undefined) this.stack.pop();
  }

  isSeqItem(): boolean {
    if (this.eof || this.text.charCodeAt(this.cs) !== DASH) return false;
    const n = this.cs + 1;
    return n === this.le || this.text.charCodeAt(n) === SPACE || this.text.charCodeAt(n) === TAB;
  }

  /** A document: an empty one, a block collection, or one scalar on one line. */
  document(): unknown {
    this.next();
    this.docLine = this.line;
    if (this.eof) return undefined;
    if (this.ind !== 0) this.fail('a document that starts indented');
    let value: unknown;
    if (this.isSeqItem()) value = this.sequence(0, false);
    else if (this.keyEnd(this.cs) >= 0) value = this.mapping(0, true);
    else value = this.inlineValue(this.cs, -1);
    if (!this.eof) this.fail('content after the end of the document');
    return value;
  }

  /** The value after `key:` or `-` with nothing else on the line. */
  private blockValue(parentIndent: number, inMapping: boolean): unknown {
    this.next();
    if (this.eof || this.ind < parentIndent) return null;
    if (this.ind === parentIndent) return inMapping && this.isSeqItem() ? this.sequence(this.ind, false) : null;
    if (this.isSeqItem()) return this.sequence(this.ind, false);
    if (this.keyEnd(this.cs) >= 0) return this.mapping(this.ind, false);
    return this.fail('a scalar on its own line');
  }

  /**
   * Where the key of a `key: value` entry starting at `p` ends (the offset of its colon), or
   * -1 when the line is not a mapping entry. Quoted keys are found by their closing quote.
   */
  keyEnd(p: number): number {
    const t = this.text;
    const le = this.le;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const close = c === 34 ? this.doubleQuoteEnd(p) : this.singleQuoteEnd(p);
      if (close < 0) return -1;
      let q = close + 1;
      while (q < le && t.charCodeAt(q) === SPACE) q++;
      if (q < le && t.charCodeAt(q) === COLON && (q + 1 === le || t.charCodeAt(q + 1) === SPACE)) return q;
      return -1;
    }
    for (let q = t.indexOf(':', p); q >= 0 && q < le; q = t.indexOf(':', q + 1)) {
      const n = q + 1 === le ? SPACE : t.charCodeAt(q + 1);
      if (n === SPACE || n === TAB) return this.commentStart(p, q) < q ? -1 : q;
    }
    return -1;
  }

  /** The first `#` in [p, stop) that starts a comment (after a blank), or `stop`. */
  commentStart(p: number, stop: number): number {
    const t = this.text;
    for (let q = p + 1; q < stop; q++) {
      if (t.charCodeAt(q) !== HASH) continue;
      const b = t.charCodeAt(q - 1);
      if (b === SPACE || b === TAB) return q - 1;
    }
    return stop;
  }

  private key(p: number, colon: number): string {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) return this.quoted(p).value;
    const raw = t.slice(p, colon).trimEnd();
    if (raw === '' || PLAIN_START_FORBIDDEN.has(raw[0] as string) || ((c === 63 || c === DASH) && (raw.length === 1 || raw[1] === ' '))) {
      this.fail('a key that is not a plain or quoted scalar');
    }
    if (raw === '<<') this.fail('a merge key');
    if (raw.includes('\t')) this.fail('a tab in a key');
    return keyOf(resolvePlain(raw));
  }

  mapping(indent: number, root: boolean): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    for (;;) {
      if (this.isSeqItem()) this.fail('a sequence entry inside a mapping');
      const colon = this.keyEnd(this.cs);
      if (colon < 0) this.fail('a line that is neither a key nor a list entry');
      const key = this.key(this.cs, colon);
      if (Object.prototype.hasOwnProperty.call(obj, key)) this.fail('a duplicate key');
      let p = colon + 1;
      while (p < this.le && (this.text.charCodeAt(p) === SPACE || this.text.charCodeAt(p) === TAB)) p++;
      this.mark(key);
      let value: unknown;
      if (p === this.le || this.text.charCodeAt(p) === HASH) {
        value = root && key === 'items' ? this.itemsValue(indent) : this.blockValue(indent, true);
      } else {
        value = this.inlineValue(p, indent);
      }
      this.unmark();
      setOwn(obj, key, value);
      if (this.eof || this.ind < indent) return obj;
      if (this.ind > indent) this.fail('a line indented deeper than its mapping');
    }
  }

  /** The root `items` list, recording where each entry starts. */
  private itemsValue(indent: number): unknown {
    this.next();
    if (this.eof || this.ind < indent || !this.isSeqItem()) {
      if (!this.eof && this.ind > indent) this.fail('items that are not a block sequence');
      return null;
    }
    return this.sequence(this.ind, true);
  }

  sequence(indent: number, record: boolean): unknown[] {
    const out: unknown[] = [];
    while (!this.eof && this.ind === indent && this.isSeqItem()) {
      if (record) this.items.push({ offset: this.cs - indent, line: this.line, indent });
      this.mark(out.length);
      const value = this.entry(indent);
      out.push(record && this.transformItem !== undefined ? this.transformItem(value) : value);
      this.unmark();
      if (!this.eof && this.ind > indent) this.fail('a line indented deeper than its list entry');
    }
    return out;
  }

  /** One `- ...` entry of a block sequence at `indent`; the current line starts it. */
  entry(indent: number): unknown {
    const t = this.text;
    let p = this.cs + 1;
    while (p < this.le && t.charCodeAt(p) === SPACE) p++;
    if (p < this.le && t.charCodeAt(p) === TAB) this.fail('a tab after a list dash');
    if (p === this.le || t.charCodeAt(p) === HASH) return this.blockValue(indent, false);
    const compactSequence = t.charCodeAt(p) === DASH && (p + 1 === this.le || t.charCodeAt(p + 1) === SPACE);
    if (compactSequence || this.keyEnd(p) >= 0) {
      // A compact collection (`- - a`, `- key: v`): its entries sit at the column of the first one.
      const column = this.ind + (p - this.cs);
      this.ind = column;
      this.cs = p;
      return compactSequence ? this.sequence(column, false) : this.mapping(column, false);
    }
    return this.inlineValue(p, indent);
  }

  /** A value that starts at `p` on the current line; leaves the reader on the next line. */
  inlineValue(p: number, parentIndent: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(p);
    let value: unknown;
    let end: number;
    switch (c) {
      case 34:
      case 39:
        ({ value, end } = this.quoted(p));
        break;
      case 91:
      case 123: {
        const r = this.flow(p);
        value = r.value;
        end = r.end;
        break;
      }
      case 124:
        return this.literal(p, parentIndent);
      default: {
        if (PLAIN_START_FORBIDDEN.has(t[p] as string)) this.fail(`a value starting with ${JSON.stringify(t[p])}`);
        if ((c === DASH || c === 63 || c === COLON) && (p + 1 === this.le || t.charCodeAt(p + 1) === SPACE)) this.fail('a value starting with an indicator');
        const stop = this.commentStart(p, this.le);
        const raw = t.slice(p, stop).replace(/[ \t]+$/, '');
        if (raw.endsWith(':') || /:[ \t]/.test(raw)) this.fail('a mapping inside a plain value');
        value = resolvePlain(raw);
        end = stop;
      }
    }
    this.rest(end);
    this.next();
    if (!this.eof && this.ind > parentIndent) this.fail('a value that continues on the next line');
    return value;
  }

  /** Only blanks and a comment may follow a value on its line. */
  private rest(p: number): void {
    const t = this.text;
    while (p < this.le && (t.charCodeAt(p) === SPACE || t.charCodeAt(p) === TAB)) p++;
    if (p < this.le && t.charCodeAt(p) !== HASH) this.fail('more after a value on its line');
    if (p < this.le && p > 0 && t.charCodeAt(p - 1) !== SPACE && t.charCodeAt(p - 1) !== TAB) this.fail('a comment not preceded by a blank');
  }

  /** The quoted scalar at `p` (its opening quote) and where it ends; one that goes past its line goes to the full reader. */
  quoted(p: number): { value: string; end: number } {
    const double = this.text.charCodeAt(p) === 34;
    const close = double ? this.doubleQuoteEnd(p) : this.singleQuoteEnd(p);
    if (close < 0) this.fail(`a multi-line ${double ? 'double' : 'single'}-quoted scalar`);
    return { value: double ? this.doubleQuoted(p, close) : this.singleQuoted(p, close), end: close + 1 };
  }

  doubleQuoteEnd(p: number): number {
    const t = this.text;
    for (let q = t.indexOf('"', p + 1); q >= 0 && q < this.le; q = t.indexOf('"', q + 1)) {
      let b = 0;
      while (t.charCodeAt(q - 1 - b) === 92) b++;
      if (b % 2 === 0) return q;
    }
    return -1;
  }

  singleQuoteEnd(p: number): number {
    const t = this.text;
    for (let q = t.indexOf("'", p + 1); q >= 0 && q < this.le; q = t.indexOf("'", q + 1)) {
      if (t.charCodeAt(q + 1) === 39) {
        q++;
        continue;
      }
      return q;
    }
    return -1;
  }

  doubleQuoted(p: number, close: number): string {
    const raw = this.text.slice(p + 1, close);
    // The escapes JSON shares with YAML; any other (\x, \e, \N, \L...) or a raw control character goes to the full reader.
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f\u0085\u2028\u2029]/.test(raw)) this.fail('a control character in a double-quoted scalar');
    if (raw.includes('\\')) {
      if (!/^(?:[^\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/.test(raw)) this.fail('a YAML-only escape');
      return JSON.parse(`"${raw}"`) as string;
    }
    return raw;
  }

  singleQuoted(p: number, close: number): string {
    const raw = this.text.slice(p + 1, close);
    return raw.includes("''") ? raw.replace(/''/g, "'") : raw;
  }

  /** A flow collection that opens and closes on this line. */
  private flow(p: number): { value: unknown; end: number } {
    const t = this.text;
    const le = this.le;
    const skip = (q: number): number => {
      while (q < le && t.charCodeAt(q) === SPACE) q++;
      return q;
    };
    const scalar = (q: number, inKey: boolean): { value: unknown; end: number; quoted: boolean } => {
      const c = t.charCodeAt(q);
      if (c === 34 || c === 39) return { ...this.quoted(q), quoted: true };
      if (PLAIN_START_FORBIDDEN.has(t[q] as string) || ((c === DASH || c === 63 || c === COLON) && (t.charCodeAt(q + 1) === SPACE || q + 1 === le))) {
        this.fail('a flow scalar starting with an indicator');
      }
      let e = q;
      while (e < le) {
        const d = t.charCodeAt(e);
        if (d === 44 || d === 91 || d === 93 || d === 123 || d === 125) break;
        if (d === COLON) {
          const n = e + 1 < le ? t.charCodeAt(e + 1) : SPACE;
          if (n === SPACE || n === 44 || n === 93 || n === 125) break;
        }
        if (d === HASH && t.charCodeAt(e - 1) === SPACE) this.fail('a comment inside a flow collection');
        if (d === TAB) this.fail('a tab inside a flow collection');
        e++;
      }
      const raw = t.slice(q, e).trimEnd();
      if (raw === '') this.fail('an empty flow entry');
      return { value: inKey ? keyOf(resolvePlain(raw)) : resolvePlain(raw), end: e, quoted: false };
    };
    const value = (q: number): { value: unknown; end: number } => {
      q = skip(q);
      const c = t.charCodeAt(q);
      if (c === 91) {
        const arr: unknown[] = [];
        q = skip(q + 1);
        while (t.charCodeAt(q) !== 93) {
          if (q >= le) this.fail('a multi-line flow collection');
          const item = value(q);
          q = skip(item.end);
          if (t.charCodeAt(q) === COLON) this.fail('a mapping inside a flow sequence');
          arr.push(item.value);
          if (t.charCodeAt(q) === 44) q = skip(q + 1);
          else if (t.charCodeAt(q) !== 93) this.fail('a flow sequence without a comma');
        }
        return { value: arr, end: q + 1 };
      }
      if (c === 123) {
        const obj: Record<string, unknown> = {};
        q = skip(q + 1);
        while (t.charCodeAt(q) !== 125) {
          if (q >= le) this.fail('a multi-line flow collection');
          const k = scalar(q, true);
          if (!k.quoted && k.value === '<<') this.fail('a merge key');
          q = skip(k.end);
          if (t.charCodeAt(q) !== COLON) this.fail('a flow mapping entry without a value');
          q = skip(q + 1);
          if (q >= le || t.charCodeAt(q) === 44 || t.charCodeAt(q) === 125) this.fail('a flow mapping entry with an empty value');
          const v = value(q);
          const key = String(k.value);
          if (Object.prototype.hasOwnProperty.call(obj, key)) this.fail('a duplicate key');
          setOwn(obj, key, v.value);
          q = skip(v.end);
          if (t.charCodeAt(q) === 44) q = skip(q + 1);
          else if (t.charCodeAt(q) !== 125) this.fail('a flow mapping without a comma');
        }
        return { value: obj, end: q + 1 };
      }
      if (q >= le) this.fail('a multi-line flow collection');
      return scalar(q, false);
    };
    return value(p);
  }

  /** A literal block scalar: `|`, `|-` or `|+`, its lines indented deeper than its parent. */
  private literal(p: number, parentIndent: number): string {
    const t = this.text;
    let q = p + 1;
    let chomp: 'clip' | 'strip' | 'keep' = 'clip';
    if (t.charCodeAt(q) === DASH) {
      chomp = 'strip';
      q++;
    } else if (t.charCodeAt(q) === 43) {
      chomp = 'keep';
      q++;
    }
    if (q < this.le && t.charCodeAt(q) !== SPACE && t.charCodeAt(q) !== TAB) this.fail('a block scalar header with an indentation indicator');
    this.rest(q);
    const headerLine = this.line;
    // Raw lines from here: blank lines belong to the scalar, comments do not end it.
    const lines: string[] = [];
    let contentIndent = -1;
    let pos = this.nextPos;
    let lineNo = headerLine + 1;
    let size = 0;
    let leadingBlankMax = 0;
    while (pos < this.end) {
      const nl = t.indexOf('\n', pos);
      if (nl < 0 || nl >= this.end) this.fail('a block scalar at the end of the input without a line break');
      let le = nl;
      if (le > pos && t.charCodeAt(le - 1) === CR) le--;
      let s = pos;
      while (s < le && t.charCodeAt(s) === SPACE) s++;
      const blank = s === le;
      if (!blank && t.charCodeAt(s) === TAB && contentIndent < 0) this.fail('a tab in indentation');
      if (contentIndent < 0) {
        if (blank) {
          leadingBlankMax = Math.max(leadingBlankMax, s - pos);
          lines.push('');
          pos = nl + 1;
          lineNo++;
          continue;
        }
        if (s - pos <= parentIndent) break;
        contentIndent = s - pos;
        if (leadingBlankMax > contentIndent) this.fail('a block scalar whose leading blank lines are indented deeper than its text');
      } else if (!blank && s - pos < contentIndent) {
        if (s - pos > parentIndent) this.fail('a block scalar line indented less than its text');
        break;
      }
      const textLine = blank ? (s - pos > contentIndent ? t.slice(pos + contentIndent, le) : '') : t.slice(pos + contentIndent, le);
      size += textLine.length + 1;
      if (size > this.maxScalar) throw new TooLarge('a block scalar', size, headerLine);
      lines.push(textLine);
      pos = nl + 1;
      lineNo++;
    }
    let last = lines.length;
    while (last > 0 && lines[last - 1] === '') last--;
    const body = lines.slice(0, last).join('\n');
    let value: string;
    if (last === 0) value = chomp === 'keep' ? '\n'.repeat(lines.length) : '';
    else if (chomp === 'strip') value = body;
    else if (chomp === 'clip') value = `${body}\n`;
    else value = `${body}\n${'\n'.repeat(lines.length - last)}`;
    this.seek(pos, lineNo);
    this.next();
    return value;
  }

  private seek(pos: number, line: number): void {
    this.nextPos = pos;
    this.nextLine = line;
  }

  /** Positions the reader on the line at `offset` (a list entry recorded earlier). */
  startAt(offset: number, line: number): void {
    this.seek(offset, line);
    this.next();
  }
}

export interface FastOptions {
  /** Longest line or block scalar accepted, in characters. */
  maxScalar: number;
  /** Applied to each entry of the root `items` list as soon as it is read. */
  transformItem?: (item: unknown) => unknown;
}

/**
 * Reads one document spanning `text[start, end)` whose first line is `firstLine`. Throws
 * GiveUp when the full reader must read it, TooLarge when nobody should.
 */
export function readFast(text: string, start: number, end: number, firstLine: number, options: FastOptions): FastDocument {
  const r = new Reader(text, start, end, firstLine, options.maxScalar, undefined, options.transformItem);
  const value = r.document();
  return { value, items: r.items, line: r.docLine };
}

/**
 * The line of the value at `path` in a document the fast reader accepted (the nearest
 * ancestor present when the path is absent). With `item`, the search starts at that entry of
 * the root `items` list and `path` is relative to it.
 */
export function locateFast(text: string, start: number, end: number, firstLine: number, path: Path, item?: ItemStart): number {
  if (item === undefined) {
    const r = new Reader(text, start, end, firstLine, Number.MAX_SAFE_INTEGER, path);
    try {
      r.document();
    } catch (e) {
      if (!(e instanceof GiveUp)) throw e;
    }
    return r.found.depth > 0 ? r.found.line : r.docLine;
  }
  const r = new Reader(text, item.offset, end, item.line, Number.MAX_SAFE_INTEGER, path);
  r.startAt(item.offset, item.line);
  const itemLine = r.line;
  try {
    r.entry(item.indent);
  } catch (e) {
    if (!(e instanceof GiveUp)) throw e;
  }
  return r.found.depth > 0 ? r.found.line : itemLine;
}
