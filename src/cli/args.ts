/**
 * A small argument parser: flags with values, repeatable flags, positionals. No dependency.
 *
 * Spellings, as kubectl takes them: `--output json`, `--output=json`; a short flag that takes a
 * value also `-o json`, `-o=json` and `-ojson`. A short switch (`-h`) stands alone: switches are
 * not bundled. `--` ends the flags.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** Long name without dashes, e.g. `output`. */
  name: string;
  /** One letter, e.g. `o`. */
  short?: string;
  /** true: takes a value; false: boolean switch. */
  value: boolean;
  repeatable?: boolean;
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  switches: Set<string>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));
  const out: ParsedArgs = { flags: new Map(), switches: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byLong.get(name);
      if (spec === undefined) throw new UsageError(`unknown flag --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      spec = byShort.get(arg.slice(1, 2));
      const rest = arg.slice(2);
      if (spec === undefined || (!spec.value && rest !== '' && !rest.startsWith('='))) throw new UsageError(`unknown flag ${arg}`);
      // -o=json and -ojson: the value is attached; a bare -o takes the next argument.
      if (rest !== '') inline = rest.startsWith('=') ? rest.slice(1) : rest;
    } else {
      out.positionals.push(arg);
      continue;
    }
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      out.switches.add(spec.name);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${spec.name} needs a value`);
    const list = out.flags.get(spec.name) ?? [];
    if (list.length > 0 && spec.repeatable !== true) throw new UsageError(`--${spec.name} given twice`);
    list.push(value);
    out.flags.set(spec.name, list);
  }
  return out;
}

export function one(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0];
}

export function many(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

/** Refuses positional arguments, for commands that take none. */
export function noPositionals(args: ParsedArgs): void {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
}

/** The value of --output, one of `formats`; the first is the default. */
export function outputFormat<T extends string>(args: ParsedArgs, formats: readonly [T, ...T[]]): T {
  const format = one(args, 'output') ?? formats[0];
  if ((formats as readonly string[]).includes(format)) return format as T;
  const allowed = formats.length === 2 ? formats.join(' or ') : `one of ${formats.join(', ')}`;
  throw new UsageError(`--output must be ${allowed}, not ${JSON.stringify(format)}`);
}
