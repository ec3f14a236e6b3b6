/**
 * JSON input: one object, a stream of them (concatenated or one per line, as `jq '.items[]'`
 * or two appended `kubectl get -o json` outputs write), and `kind: *List` objects whose
 * items are parsed one at a time, so a 200 MB dump never becomes one tree.
 *
 * Values come from the engine's own JSON.parse; this module only finds where each value
 * starts and ends, and, on demand, the line of a path inside one (for error messages) or a
 * duplicate key (which JSON.parse would silently resolve to the last one).
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const WS = new Set([32, 9, 10, 13]);

export function skipWhitespace(text: string, p: number, end = text.length): number {
  while (p < end && WS.has(text.charCodeAt(p))) p++;
  return p;
}

function stringEnd(text: string, p: number, end: number): number {
  for (let q = text.indexOf('"', p + 1); q >= 0 && q < end; q = text.indexOf('"', q + 1)) {
    let b = 0;
    while (text.charCodeAt(q - 1 - b) === 92) b++;
    if (b % 2 === 0) return q + 1;
  }
  throw new JsonSyntaxError('a string that never ends', p);
}

const STRUCTURE = /["{}[\]]/g;
const SCALAR_END = /[\s,}\]{["]/g;

/** The end (exclusive) of the JSON value starting at `p`; the value itself is not checked. */
export function valueEnd(text: string, p: number, end = text.length): number {
  const c = text.charCodeAt(p);
  if (c === 34) return stringEnd(text, p, end);
  if (c !== 123 && c !== 91) {
    SCALAR_END.lastIndex = p;
    const m = SCALAR_END.exec(text);
    const e = m === null || m.index >= end ? end : m.index;
    if (e === p) throw new JsonSyntaxError(`unexpected ${JSON.stringify(text[p] ?? 'end of input')}`, p);
    return e;
  }
  const stack: number[] = [];
  STRUCTURE.lastIndex = p;
  for (;;) {
    const m = STRUCTURE.exec(text);
    if (m === null || m.index >= end) throw new JsonSyntaxError(`${c === 123 ? 'an object' : 'a list'} that never closes`, p);
    const q = m.index;
    const ch = text.charCodeAt(q);
    if (ch === 34) {
      STRUCTURE.lastIndex = stringEnd(text, q, end);
      continue;
    }
    if (ch === 123 || ch === 91) {
      stack.push(ch);
      continue;
    }
    const open = stack.pop();
    if (open !== (ch === 125 ? 123 : 91)) throw new JsonSyntaxError(`unexpected ${JSON.stringify(text[q])}`, q);
    if (stack.length === 0) return q + 1;
  }
}

/** Counts line breaks in [from, to). */
export function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let q = text.indexOf('\n', from); q >= 0 && q < to; q = text.indexOf('\n', q + 1)) n++;
  return n;
}

/** JSON.parse of one value, its error turned into an offset. */
export function parseValue(text: string, start: number, end: number): unknown {
  const slice = text.slice(start, end);
  try {
    return JSON.parse(slice);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    throw new JsonSyntaxError(message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, ''), start + (at ? Number(at[1]) : 0));
  }
}

export interface Member {
  key: string;
  start: number;
  end: number;
}

/** The members of the object at `p`: keys and the ranges of their values. */
export function objectMembers(text: string, p: number, end: number): Member[] {
  const out: Member[] = [];
  let q = skipWhitespace(text, p + 1, end);
  if (text.charCodeAt(q) === 125) return out;
  for (;;) {
    if (text.charCodeAt(q) !== 34) throw new JsonSyntaxError('expected a quoted key', q);
    const ke = stringEnd(text, q, end);
    const key = JSON.parse(text.slice(q, ke)) as string;
    q = skipWhitespace(text, ke, end);
    if (text.charCodeAt(q) !== 58) throw new JsonSyntaxError('expected ":" after a key', q);
    const vs = skipWhitespace(text, q + 1, end);
    const ve = valueEnd(text, vs, end);
    out.push({ key, start: vs, end: ve });
    q = skipWhitespace(text, ve, end);
    const c = text.charCodeAt(q);
    if (c === 125) return out;
    if (c !== 44) throw new JsonSyntaxError('expected "," or "}"', q);
    q = skipWhitespace(text, q + 1, end);
  }
}

/** The ranges of the elements of the list at `p`. */
export function listElements(text: string, p: number, end: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let q = skipWhitespace(text, p + 1, end);
  if (text.charCodeAt(q) === 93) return out;
  for (;;) {
    const ve = valueEnd(text, q, end);
    out.push({ start: q, end: ve });
    q = skipWhitespace(text, ve, end);
    const c = text.charCodeAt(q);
    if (c === 93) return out;
    if (c !== 44) throw new JsonSyntaxError('expected "," or "]"', q);
    q = skipWhitespace(text, q + 1, end);
  }
}

/** The offset of the value at `path` inside the value at `p` (the nearest ancestor present). */
export function locateJson(text: string, p: number, end: number, path: readonly (string | number)[]): number {
  let at = p;
  try {
    for (const seg of path) {
      const c = text.charCodeAt(at);
      if (typeof seg === 'number' && c === 91) {
        const el = listElements(text, at, end)[seg];
        if (el === undefined) return at;
        at = el.start;
      } else if (typeof seg === 'string' && c === 123) {
        const m = objectMembers(text, at, end).find((x) => x.key === seg);
        if (m === undefined) return at;
        at = m.start;
      } else {
        return at;
      }
    }
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
  }
  return at;
}

/** The first key given twice in one object anywhere inside the value at `p`, with its offset. */
export function duplicateKey(text: string, p: number, end: number, path: (string | number)[] = []): { path: (string | number)[]; offset: number } | undefined {
  const c = text.charCodeAt(p);
  if (c === 123) {
    const seen = new Set<string>();
    for (const m of objectMembers(text, p, end)) {
      if (seen.has(m.key)) return { path: [...path, m.key], offset: m.start };
      seen.add(m.key);
      const inner = duplicateKey(text, m.start, m.end, [...path, m.key]);
      if (inner !== undefined) return inner;
    }
  } else if (c === 91) {
    for (const [i, el] of listElements(text, p, end).entries()) {
      const inner = duplicateKey(text, el.start, el.end, [...path, i]);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}
