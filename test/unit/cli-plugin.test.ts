/**
 * The CLI as the kubectl plugin `kubectl netfence`: kubectl runs an executable named
 * kubectl-netfence on the PATH, and the CLI then names itself `kubectl netfence` in its help
 * and errors. In-process through runCli, and through the launcher started by a link of that
 * name (as krew and npm's "bin" install it). test/integration/kubectl-plugin.test.ts runs it
 * from real kubectl.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helpFor, programOf, runCli, type Program } from '../../src/cli/main.js';
import { RENDER_HELP } from '../../src/cli/render.js';

const ROOT = process.cwd();

async function cli(argv: string[], program: Program): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => '' }, {}, program);
  return { code, stdout, stderr };
}

describe('programOf: the name kubectl starts the plugin by', () => {
  test.each([
    ['/home/me/.krew/bin/kubectl-netfence', 'kubectl netfence'],
    ['/usr/local/bin/kubectl-netfence', 'kubectl netfence'],
    ['C:\\npm\\kubectl-netfence.cmd', 'kubectl netfence'],
    ['kubectl-netfence.exe', 'kubectl netfence'],
    ['/work/netfence/bin/netfence.js', 'netfence'],
    ['/usr/local/bin/netfence', 'netfence'],
    ['/usr/local/bin/kubectl-netfence-old', 'netfence'],
    [undefined, 'netfence'],
  ] as const)('%s is %s', (path, program) => {
    expect(programOf(path)).toBe(program);
  });
});

describe('kubectl netfence, in-process', () => {
  test('--help: the usage and the hint to a command are typed as kubectl netfence', async () => {
    const run = await cli(['--help'], 'kubectl netfence');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: kubectl netfence COMMAND \[flags\]\n/);
    expect(run.stdout).toContain("Run `kubectl netfence COMMAND --help` for a command's flags.");
    expect(run.stdout).toContain('(also kubectl netfence --version)');
    // Only the program's name changes: the same text with it put back is netfence's own help.
    expect(run.stdout.replaceAll('kubectl netfence', 'netfence')).toBe((await cli(['--help'], 'netfence')).stdout);
  });

  test("a command's --help names kubectl netfence in its usage and in the commands it quotes", async () => {
    const run = await cli(['matrix', '--help'], 'kubectl netfence');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: kubectl netfence matrix /);
    expect(run.stdout).toContain('`kubectl netfence check`');
    expect(run.stdout).not.toMatch(/(^Usage: |`)netfence /m);
  });

  test('bad usage: the error and the help after it name kubectl netfence, exit 2', async () => {
    const run = await cli(['render'], 'kubectl netfence');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`kubectl netfence render: no input: give -f PATH (a file, a directory, or - for stdin)\n\n${helpFor(RENDER_HELP, 'kubectl netfence')}\n`);
    expect(run.stderr).toContain('\nUsage: kubectl netfence render -f PATH...');
    const unknown = await cli(['rendr'], 'kubectl netfence');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^kubectl netfence: unknown command "rendr"\nUsage: kubectl netfence COMMAND/);
  });

  test('what a command prints is the same under either name: render, --version', async () => {
    const args = ['render', '-f', 'examples/shared-services'];
    const plugin = await cli(args, 'kubectl netfence');
    expect(plugin.code).toBe(0);
    expect(plugin).toEqual(await cli(args, 'netfence'));
    expect(plugin.stdout).toContain('kind: NetworkPolicy');
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(await cli(['--version'], 'kubectl netfence')).toEqual({ code: 0, stdout: `netfence ${version}\n`, stderr: '' });
  });

  test('as netfence, help is unchanged: helpFor leaves it alone', () => {
    expect(helpFor(RENDER_HELP, 'netfence')).toBe(RENDER_HELP);
    expect(helpFor(RENDER_HELP, 'kubectl netfence')).not.toBe(RENDER_HELP);
  });
});

describe('the launcher started as kubectl-netfence', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netfence-plugin-'));
    symlinkSync(join(ROOT, 'bin', 'netfence.js'), join(dir, 'kubectl-netfence'));
    symlinkSync(join(ROOT, 'bin', 'netfence.js'), join(dir, 'netfence'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = (name: string, args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [join(dir, name), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  test('names itself kubectl netfence by the name it was started by; the same file as netfence does not', () => {
    const plugin = start('kubectl-netfence', ['--help']);
    expect(plugin.code).toBe(0);
    expect(plugin.stdout).toMatch(/^Usage: kubectl netfence COMMAND/);
    expect(start('netfence', ['--help']).stdout).toMatch(/^Usage: netfence COMMAND/);
    const bad = start('kubectl-netfence', ['check']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^kubectl netfence check: /);
  });

  test('package.json installs the launcher under both names', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ netfence: 'bin/netfence.js', 'kubectl-netfence': 'bin/netfence.js' });
  });
});
