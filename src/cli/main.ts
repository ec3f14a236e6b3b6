/**
 * The `netfence` executable: dispatches a command and maps every outcome to an exit code.
 *
 * Guarantees: 0 fine; 1 a violation (`check`) or a denied path (`explain`); 2 bad usage or bad
 * input (UsageError, InputError), with the problems on standard error; 3 anything else thrown,
 * an internal error: one line on standard error, the stack only with NETFENCE_DEBUG=1.
 * `runCli` itself never throws. A reader that stops reading standard output early
 * (`netfence render ... | head -1`) is not an error: the rest of the output is dropped quietly,
 * the command finishes and its exit code stands.
 * Run as the kubectl plugin (an executable named kubectl-netfence, which kubectl runs for
 * `kubectl netfence ...`), help and errors name the program `kubectl netfence`; what a command
 * prints otherwise is the same under either name.
 * Leaves out: errors outside a command's promise (a stray timer, an import that fails);
 * bin/netfence.js turns those into the same one line and exit 3.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, readStdinBounded } from '../io/manifests.js';
import { noPositionals, parseArgs, UsageError } from './args.js';
import { EXIT, type CliIO } from './common.js';
import { check, CHECK_HELP } from './check.js';
import { diff, DIFF_HELP } from './diff.js';
import { explain, EXPLAIN_HELP } from './explain.js';
import { matrix, MATRIX_HELP } from './matrix.js';
import { render, RENDER_HELP } from './render.js';
import { run, RUN_HELP } from './run.js';

/** EXIT plus the code only this boundary gives. */
export const EXIT_CODES = { ...EXIT, internal: 3 } as const;

const USAGE = `Usage: netfence COMMAND [flags]

Commands:
  run       the operator: keep the NetworkPolicies of every tenant namespace on a live cluster
  render    print the NetworkPolicies netfence maintains for the given manifests (offline)
  check     prove that no path crosses a tenant's fence undeclared (exit 1 when one does)
  diff      what a change opens and closes, base against head (exit 1 when it opens a fence undeclared)
  matrix    the reachability picture, tenant by tenant and namespace by namespace
  explain   which policies allow or deny one path, and the verdict (exit 1 when denied)
  version   print the version (also netfence --version)

Run \`netfence COMMAND --help\` for a command's flags.
Exit codes: 0 fine, 1 a violation found (explain: the path is denied), 2 bad usage or bad input,
3 an internal error (one line; NETFENCE_DEBUG=1 shows the stack).`;

export const VERSION_HELP = `Usage: netfence version

Prints \`netfence <version>\`, the version in netfence's package.json. \`netfence --version\`
does the same.`;

/**
 * netfence's version: from the nearest package.json named netfence above this file. That is
 * the checkout's in the development tree (dist/src/cli or, under jest, src/cli) and
 * /app/package.json in the image (scripts/image-root.sh ships it next to dist/src).
 */
export function netfenceVersion(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'netfence' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of netfence above ${start}`);
  }
}

function version(argv: readonly string[], io: CliIO): number {
  const args = parseArgs(argv, [{ name: 'help', short: 'h', value: false }]);
  if (args.switches.has('help')) {
    io.stdout(`${VERSION_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(args);
  io.stdout(`netfence ${netfenceVersion()}\n`);
  return EXIT.ok;
}

/** The name the user typed: `netfence`, or `kubectl netfence` when kubectl runs it as a plugin. */
export type Program = 'netfence' | 'kubectl netfence';

/**
 * The program an executable path stands for: kubectl runs a plugin `kubectl netfence` as the
 * file kubectl-netfence on the PATH (a link to bin/netfence.js made by krew or npm, or a copy;
 * `.js`, `.cmd` and `.exe` endings as npm's shims and Windows name it).
 */
export function programOf(executable: string | undefined): Program {
  const name = (executable ?? '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\.(js|mjs|cmd|exe)$/i, '');
  return name === 'kubectl-netfence' ? 'kubectl netfence' : 'netfence';
}

/** A help text as `program` is typed: its usage lines and the commands it quotes. */
export function helpFor(text: string, program: Program): string {
  return program === 'netfence' ? text : text.replace(/(^Usage: |`|\(also )netfence (?=[A-Za-z-])/gm, `$1${program} `);
}

const COMMANDS: Record<string, { run: (argv: readonly string[], io: CliIO) => number | Promise<number>; help: string }> = {
  run: { run, help: RUN_HELP },
  render: { run: render, help: RENDER_HELP },
  check: { run: check, help: CHECK_HELP },
  diff: { run: diff, help: DIFF_HELP },
  matrix: { run: matrix, help: MATRIX_HELP },
  explain: { run: explain, help: EXPLAIN_HELP },
  version: { run: version, help: VERSION_HELP },
};

/** The reader of a stream went away (EPIPE), or the stream was closed because it did. */
function readerGone(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

let streams: CliIO | undefined;

/**
 * The process's own streams. Once a stream's reader has gone (EPIPE, thrown or emitted), what is
 * still written to it is dropped; any other stream error is thrown.
 */
export function processIO(): CliIO {
  if (streams !== undefined) return streams;
  const writer = (stream: NodeJS.WriteStream): ((text: string) => void) => {
    // A pipe is written asynchronously, so a command writing faster than its reader reads
    // would queue all of its output in memory (1.5 GB for a large `check -o json | cat`).
    // Blocking writes keep memory at one piece; files and terminals already block.
    const handle = (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => void } })._handle;
    if (!stream.isTTY) handle?.setBlocking?.(true);
    let gone = false;
    stream.on('error', (e) => {
      if (!readerGone(e)) throw e;
      gone = true;
    });
    return (text) => {
      if (gone) return;
      try {
        stream.write(text);
      } catch (e) {
        if (!readerGone(e)) throw e;
        gone = true;
      }
    };
  };
  streams = { stdout: writer(process.stdout), stderr: writer(process.stderr), readStdin: readStdinBounded };
  return streams;
}

/** The one line an internal error prints, and with NETFENCE_DEBUG=1 the stack after it. */
export function internalErrorText(prefix: string, e: unknown, env: NodeJS.ProcessEnv): string {
  const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim() || (e instanceof Error ? e.name : 'unknown error');
  if (env['NETFENCE_DEBUG'] === '1') return `${prefix}: internal error: ${message}\n${e instanceof Error && e.stack !== undefined ? e.stack : String(e)}\n`;
  return `${prefix}: internal error: ${message} (NETFENCE_DEBUG=1 shows the stack)\n`;
}

export async function runCli(argv: readonly string[], io: CliIO = processIO(), env: NodeJS.ProcessEnv = process.env, program: Program = 'netfence'): Promise<number> {
  const [command, ...rest] = argv;
  const cmd = command === undefined ? undefined : COMMANDS[command === '--version' ? 'version' : command];
  const usage = helpFor(USAGE, program);
  try {
    if (command === undefined) {
      io.stderr(`${program}: no command given\n${usage}\n`);
      return EXIT.badInput;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout(`${usage}\n`);
      return EXIT.ok;
    }
    if (cmd === undefined) {
      io.stderr(`${program}: unknown command ${JSON.stringify(command)}\n${usage}\n`);
      return EXIT.badInput;
    }
    // A command prints its help as one write of exactly that text: the plugin's is rewritten.
    const help = `${cmd.help}\n`;
    const cmdIO: CliIO = program === 'netfence' ? io : { ...io, stdout: (text) => io.stdout(text === help ? helpFor(text, program) : text) };
    return await cmd.run(rest, cmdIO);
  } catch (e) {
    const prefix = cmd === undefined ? program : `${program} ${command}`;
    let code: number = EXIT_CODES.internal;
    let text: string;
    if (e instanceof UsageError && cmd !== undefined) {
      code = EXIT.badInput;
      text = `${prefix}: ${e.message}\n\n${helpFor(cmd.help, program)}\n`;
    } else if (e instanceof InputError) {
      code = EXIT.badInput;
      text = e.problems.map((p) => `${prefix}: ${p}\n`).join('');
    } else {
      text = internalErrorText(prefix, e, env);
    }
    try {
      io.stderr(text);
    } catch {
      // Standard error itself failed: the exit code is all that is left to say it.
    }
    return code;
  }
}
