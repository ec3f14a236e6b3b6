/** `netfence matrix`: who can reach whom, tenant by tenant and namespace by namespace. */
import { buildMatrix } from '../analysis/matrix.js';
import { noPositionals, outputFormat, parseArgs } from './args.js';
import { EXIT, SETTINGS_HELP, type CliIO } from './common.js';
import { formatMatrix, MATRIX_FORMATS } from './matrix/index.js';
import { loadScene, SCENE_FLAGS, SCENE_HELP } from './scene.js';

export const MATRIX_HELP = `Usage: netfence matrix (-f PATH... | --live) [-o ${MATRIX_FORMATS.join('|')}] [settings]

Prints the reachability picture: for every pair of tenants (namespaces outside a tenant on
their own, and addresses outside the cluster) and every pair of namespaces, whether all, some
or no pods of the first reach the second, on which ports, and whether the path is inside a
tenant, declared, or crosses a fence undeclared. -o html writes one self-contained page
(no network fetches). Exit 0; \`netfence check\` is the command that fails on violations.

${SCENE_HELP}
  -o, --output FORMAT        ${MATRIX_FORMATS.join(', ')} (default text)
${SETTINGS_HELP}`;

export async function matrix(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, [...SCENE_FLAGS, { name: 'output', short: 'o', value: true }]);
  if (args.switches.has('help')) {
    io.stdout(`${MATRIX_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(args);
  const format = outputFormat(args, MATRIX_FORMATS);
  const { scene, title, counts } = await loadScene(args, io);
  const report = buildMatrix(scene, `${title} (${counts.tenants} tenants, ${counts.namespaces} namespaces, ${counts.pods} pods)`);
  io.stdout(formatMatrix(report, format));
  return EXIT.ok;
}
