/**
 * What an unquoted YAML scalar means, as kubectl reads it. kubectl decodes YAML with
 * sigs.k8s.io/yaml on top of go-yaml v2, which follows YAML 1.1: `yes`/`on` are booleans,
 * `010` is octal (8), `0x35` is hex, `1_000` is 1000. Timestamps stay strings (go-yaml v2
 * keeps them as text when decoding into an untyped value) and sexagesimal numbers (`1:20`)
 * are strings too, so neither is recognised here.
 *
 * Both YAML readers of src/io (the fast one and the full one) resolve plain scalars and
 * mapping keys through these two functions, so they cannot disagree on a value.
 */

const BOOL_NULL = new Map<string, unknown>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s) => [s, false] as const),
  ...['', '~', 'null', 'Null', 'NULL'].map((s) => [s, null] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, Number.NaN] as const),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Number.POSITIVE_INFINITY] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, Number.NEGATIVE_INFINITY] as const),
]);

/** Go's strconv.ParseInt(s, 0, 64) after underscores are removed, as a JavaScript number. */
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]*|0[bB][01]+|[1-9][0-9]*)$/;
/** go-yaml v2's yamlStyleFloat. */
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

function parseGoInt(s: string): number {
  const negative = s.startsWith('-');
  const body = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  return negative ? -n : n;
}

/** The value of a plain (unquoted, untagged) scalar. */
export function resolvePlain(text: string): unknown {
  const fixed = BOOL_NULL.get(text);
  if (fixed !== undefined || BOOL_NULL.has(text)) return fixed;
  const c = text.charCodeAt(0);
  // Only a digit, a sign or a dot can start a number (go-yaml's resolve table).
  const digit = c >= 48 && c <= 57;
  if (!(digit || c === 43 || c === 45 || c === 46)) return text;
  if (c === 46) return GO_FLOAT.test(text) ? Number(text) : text;
  const plain = text.includes('_') ? text.replace(/_/g, '') : text;
  if (GO_INT.test(plain) && plain !== '-' && plain !== '+') {
    // `0o` alone or `-0` and the like: Go accepts `0`, rejects a bare prefix.
    if (!/^[-+]?0[oO]$/.test(plain)) return parseGoInt(plain);
  }
  if (GO_FLOAT.test(plain)) return Number(plain);
  return text;
}

/**
 * A mapping key as JSON text: sigs.k8s.io/yaml turns non-string keys into their text
 * (`true`, `8`), so `yes: 1` becomes `{"true": 1}`.
 */
export function keyOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'null';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- callers pass scalars only (both readers reject a mapping or list as a key)
  return String(value);
}
