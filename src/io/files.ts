/**
 * The files behind `-f PATH`, as kubectl finds them: a directory is read recursively
 * (`.yaml`, `.yml`, `.json`, in name order, hidden entries skipped, symbolic links followed);
 * any other path that can be read is read as it is, whatever it is: a file, `/dev/stdin`, a
 * FIFO such as `<(kustomize build ...)`.
 *
 * Guarantees: a missing path, a broken link, a link loop, a file that cannot be read, a file
 * over `maxBytes`, or text that is not UTF-8 is a problem naming the path (and the line, for
 * bad bytes), never an exception with a stack. Reading is bounded: a FIFO or stdin that
 * never ends stops at `maxBytes` plus one chunk.
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export class FileProblem extends Error {}

function why(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links (a link loop)';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code !== undefined ? `cannot be read (${code})` : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
  }
}

export interface Listing {
  files: string[];
  problems: string[];
}

/** Expands one `-f` path into the files to read, with every problem found on the way. */
export function listPath(path: string): Listing {
  const out: Listing = { files: [], problems: [] };
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    out.problems.push(`${path}: ${brokenLink(path) ? 'a broken symbolic link (its target does not exist)' : why(e)}`);
    return out;
  }
  if (!st.isDirectory()) {
    out.files.push(path);
    return out;
  }
  walk(path, new Set(), out);
  return out;
}

function brokenLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function walk(dir: string, visiting: Set<string>, out: Listing): void {
  let real: string;
  let entries: string[];
  try {
    real = realpathSync(dir);
    entries = readdirSync(dir).sort();
  } catch (e) {
    out.problems.push(`${dir}: ${why(e)}`);
    return;
  }
  if (visiting.has(real)) {
    out.problems.push(`${dir}: a symbolic link loop (it leads back to ${real})`);
    return;
  }
  visiting.add(real);
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const full = join(dir, entry);
    let st;
    try {
      st = statSync(full);
    } catch (e) {
      out.problems.push(`${full}: ${brokenLink(full) ? 'a broken symbolic link (its target does not exist)' : why(e)}`);
      continue;
    }
    if (st.isDirectory()) walk(full, visiting, out);
    else if (MANIFEST_EXTENSIONS.some((ext) => entry.endsWith(ext))) out.files.push(full);
  }
  visiting.delete(real);
}

const CHUNK = 1 << 20;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reads a file descriptor to its end, refusing more than `maxBytes`. */
export function readBounded(fd: number, name: string, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    let n: number;
    try {
      n = readSync(fd, buf, 0, CHUNK, null);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EAGAIN') {
        sleep(5);
        continue;
      }
      if (code === 'EOF') break;
      throw new FileProblem(`${name}: ${why(e)}`);
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new FileProblem(`${name}: larger than ${formatBytes(maxBytes)}: too large to be manifests`);
    chunks.push(n === CHUNK ? buf : buf.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

/** Reads a path (file, device, FIFO) to its end. */
export function readPath(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FileProblem(`${path}: ${why(e)}`);
  }
  try {
    return readBounded(fd, path, maxBytes);
  } finally {
    closeSync(fd);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) === 0 ? 0 : 1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % (1 << 10) === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

/**
 * The text of a file's bytes, which must be UTF-8 (a UTF-8 byte order mark is dropped).
 * Throws FileProblem naming the encoding it looks like and the line of the first bad byte.
 */
export function decodeText(bytes: Uint8Array, name: string): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    throw new FileProblem(`${name}: the text is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8`);
  }
  let start = 0;
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = start === 0 ? bytes : bytes.subarray(start);
  const nul = body.indexOf(0);
  if (nul >= 0) {
    const utf16 = body.length > 1 && (body[1] === 0 || body[0] === 0);
    throw new FileProblem(`${name}:${lineAt(body, nul)}: a NUL byte: ${utf16 ? 'the text looks like UTF-16; save it as UTF-8' : 'this is not text'}`);
  }
  if (!isUtf8(body)) {
    const bad = firstInvalidUtf8(body);
    throw new FileProblem(
      `${name}:${lineAt(body, bad)}: not UTF-8 (byte 0x${(body[bad] ?? 0).toString(16).padStart(2, '0')}); the file is probably Latin-1 or another 8-bit encoding: convert it, e.g. iconv -f latin1 -t utf-8`,
    );
  }
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let n = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return b.length;
}
