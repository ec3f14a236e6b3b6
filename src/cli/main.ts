/** The `netfence` executable: dispatches a command and maps errors to exit codes. */
import { readFileSync } from 'node:fs';
import { InputError } from '../io/manifests.js';
import { UsageError } from './args.js';
import { EXIT, type CliIO } from './common.js';
import { check, CHECK_HELP } from './check.js';
import { explain, EXPLAIN_HELP } from './explain.js';
import { matrix, MATRIX_HELP } from './matrix.js';
import { render, RENDER_HELP } from './render.js';
import { run, RUN_HELP } from './run.js';

const USAGE = `Usage: netfence COMMAND [flags]

Commands:
  run       the operator: keep the NetworkPolicies of every tenant namespace on a live cluster
  render    print the NetworkPolicies netfence maintains for the given manifests (offline)
  check     prove that no path crosses a tenant's fence undeclared (exit 1 when one does)
  matrix    the reachability picture, tenant by tenant and namespace by namespace
  matrix    the reachability picture, tenant by tenant and namespace by namespace
  explain   which policies allow or deny one path, and the verdict

Run \`netfence COMMAND --help\` for a command's flags.
Exit codes: 0 fine, 1 a violation found, 2 bad usage or bad input.`;

const COMMANDS: Record<string, { run: (argv: readonly string[], io: CliIO) => number | Promise<number>; help: string }> = {
  run: { run, help: RUN_HELP },
  render: { run: render, help: RENDER_HELP },
  check: { run: check, help: CHECK_HELP },
  matrix: { run: matrix, help: MATRIX_HELP },
  explain: { run: explain, help: EXPLAIN_HELP },
};

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0, 'utf8'),
};

export async function runCli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${USAGE}\n`);
    return command === undefined ? EXIT.badInput : EXIT.ok;
  }
  const cmd = COMMANDS[command];
  if (cmd === undefined) {
    io.stderr(`netfence: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return EXIT.badInput;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`netfence ${command}: ${e.message}\n\n${cmd.help}\n`);
      return EXIT.badInput;
    }
    if (e instanceof InputError) {
      for (const p of e.problems) io.stderr(`netfence ${command}: ${p}\n`);
      return EXIT.badInput;
    }
    throw e;
  }
}
