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
  // Brackets are only counted: a mismatch inside is left to JSON.parse, which reports it.
  let depth = 0;
  for (let q = p; q < end; q++) {
    const ch = text.charCodeAt(q);
    if (ch === 34) q = stringEnd(text, q, end) - 1;
    else if (ch === 123 || ch === 91) depth++;
    else if ((ch === 125 || ch === 93) && --depth === 0) return q + 1;
  }
  throw new JsonSyntaxError(`${c === 123 ? 'an object' : 'a list'} that never closes`, p);
}

/** Counts line breaks in [from, to). */
export function countLines(text: string, from: number, to: number): number {
  // Never past `to`: indexOf would scan on to the end of a one-line file for every item.
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
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
  /** For the member named by `listKey`, when its value is a list: its elements. */
  elements?: { start: number; end: number }[];
}

/**
 * The members of the object at `p`: keys and the ranges of their values. The elements of
 * the list under `listKey` are found in the same pass (a List's `items` is read once).
 */
export function objectMembers(text: string, p: number, end: number, listKey?: string): Member[] {
  const out: Member[] = [];
  let q = skipWhitespace(text, p + 1, end);
  if (text.charCodeAt(q) === 125) return out;
  for (;;) {
    if (text.charCodeAt(q) !== 34) throw new JsonSyntaxError('expected a quoted key', q);
    const ke = stringEnd(text, q, end);
    const raw = text.slice(q + 1, ke - 1);
    const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    q = skipWhitespace(text, ke, end);
    if (text.charCodeAt(q) !== 58) throw new JsonSyntaxError('expected ":" after a key', q);
    const vs = skipWhitespace(text, q + 1, end);
    if (key === listKey && text.charCodeAt(vs) === 91) {
      const elements = listElements(text, vs, end);
      const ve = skipWhitespace(text, elements[elements.length - 1]?.end ?? vs + 1, end) + 1;
      out.push({ key, start: vs, end: ve, elements });
      q = skipWhitespace(text, ve, end);
    } else {
      const ve = valueEnd(text, vs, end);
      out.push({ key, start: vs, end: ve });
      q = skipWhitespace(text, ve, end);
    }
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

/**
 * The first key given twice in one object anywhere inside the value at `p`: its path and
 * the offset of the second one. One pass over the text.
 */
export function duplicateKey(text: string, p: number, end: number): { path: (string | number)[]; offset: number } | undefined {
  // One entry per open container: the keys seen (objects) or null (lists); `path` holds the
  // key or index under which each level sits.
  const keys: (Set<string> | null)[] = [];
  const path: (string | number)[] = [];
  let expectKey = false;
  for (let q = p; q < end; q++) {
    const ch = text.charCodeAt(q);
    if (ch === 34) {
      const e = stringEnd(text, q, end);
      const level = keys[keys.length - 1];
      if (expectKey && level) {
        const raw = text.slice(q + 1, e - 1);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (level.has(key)) return { path: [...path.slice(0, keys.length - 1), key], offset: q };
        level.add(key);
        path[keys.length - 1] = key;
        expectKey = false;
      }
      q = e - 1;
    } else if (ch === 123) {
      keys.push(new Set());
      expectKey = true;
    } else if (ch === 91) {
      keys.push(null);
      path[keys.length - 1] = 0;
    } else if (ch === 125 || ch === 93) {
      keys.pop();
      path.length = keys.length;
      if (keys.length === 0) return undefined;
    } else if (ch === 44) {
      if (keys[keys.length - 1] === null) path[keys.length - 1] = (path[keys.length - 1] as number) + 1;
      else expectKey = true;
    }
  }
  return undefined;
}
