/**
 * The executable as a shell runs it: `node bin/netfence.js`, in a child process, on the
 * compiled CLI (`npm run build` first). What only a real process shows: that no stack trace
 * reaches the terminal, the exit code the shell sees, a reader that closes the pipe early.
 * Failures are injected (a preload that breaks process.stdout.write, a stand-in dist/), never
 * taken from a real bug.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = process.cwd();
const BIN = join(ROOT, 'bin', 'netfence.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** A preload that makes every write to standard output throw a plain Error. */
const BROKEN_STDOUT = 'data:text/javascript,process.stdout.write=()=>{throw new Error("injected failure")}';
const STACK_LINE = /^\s+at /m;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function netfence(args: string[], options: { env?: NodeJS.ProcessEnv; node?: string[]; bin?: string; input?: string } = {}): Exit {
  const r = spawnSync(process.execPath, [...(options.node ?? []), options.bin ?? BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input: options.input ?? '',
    env: { ...process.env, NETFENCE_DEBUG: '', ...options.env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A launcher next to a stand-in for the compiled CLI, to make the launcher's own failures happen. */
function launcherWith(mainJs: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'netfence-launcher-'));
  mkdirSync(join(dir, 'bin'));
  cpSync(BIN, join(dir, 'bin', 'netfence.js'));
  if (mainJs !== undefined) {
    mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), mainJs);
  }
  return join(dir, 'bin', 'netfence.js');
}

/** Many tenants, so that render's output is far larger than a pipe's buffer. */
function manyTenants(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'netfence-many-'));
  const docs = Array.from(
    { length: n },
    (_, i) =>
      `apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: t${i}}\nspec: {}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: t${i}-ns\n  labels: {netfence.dev/tenant: t${i}}\n`,
  );
  writeFileSync(join(dir, 'tenants.yaml'), docs.join('---\n'));
  return dir;
}

/** Runs netfence with standard output read by `reader`, which may close it; resolves on exit. */
function piped(args: string[], reader: (stdout: NodeJS.ReadableStream & { destroy(): void }) => void): Promise<Exit> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NETFENCE_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    reader(child.stdout);
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout: '', stderr }));
  });
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
});

describe('netfence --version through the launcher', () => {
  test('prints netfence and the version in package.json', () => {
    expect(netfence(['--version'])).toEqual({ code: 0, stdout: `netfence ${VERSION}\n`, stderr: '' });
    expect(netfence(['version'])).toEqual({ code: 0, stdout: `netfence ${VERSION}\n`, stderr: '' });
  });

  test('prints it too from a tree laid out as scripts/image-root.sh lays out /app', () => {
    // The image's /app: package.json, bin/, dist/src/ and the production node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'netfence-app-'));
    try {
      const app = join(dir, 'app');
      mkdirSync(join(app, 'dist'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
      cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
      cpSync(join(ROOT, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true });
      symlinkSync(resolve(ROOT, 'node_modules'), join(app, 'node_modules'));
      const script = readFileSync(join(ROOT, 'scripts', 'image-root.sh'), 'utf8');
      expect(script).toContain('cp package.json package-lock.json "$app/"');
      expect(script).toContain('cp -R dist/src "$app/dist/src"');
      const r = spawnSync(process.execPath, [join(app, 'bin', 'netfence.js'), '--version'], { cwd: tmpdir(), encoding: 'utf8' });
      expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `netfence ${VERSION}\n`, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the launcher on an old Node', () => {
  test('says that Node 24 is needed, in one line, exit 3', () => {
    const oldNode = "data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'20.1.0'}})";
    expect(netfence(['--version'], { node: ['--import', oldNode] })).toEqual({
      code: 3,
      stdout: '',
      stderr: 'netfence: needs Node 24 or later, this is Node 20.1.0 (npm ci puts Node 24 in node_modules/.bin)\n',
    });
  });
});

describe('an internal error through the launcher', () => {
  test('a command that throws exits 3 with one line on standard error and no stack', () => {
    const r = netfence(['render', '-f', 'examples/two-tenants'], { node: ['--import', BROKEN_STDOUT] });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('netfence render: internal error: injected failure (NETFENCE_DEBUG=1 shows the stack)\n');
  });

  test('with NETFENCE_DEBUG=1 the stack follows the line', () => {
    const r = netfence(['render', '-f', 'examples/two-tenants'], { node: ['--import', BROKEN_STDOUT], env: { NETFENCE_DEBUG: '1' } });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')[0]).toBe('netfence render: internal error: injected failure');
    expect(r.stderr).toMatch(STACK_LINE);
  });

  test('a CLI that fails to load exits 3 with one line and no stack', () => {
    const bin = launcherWith('throw new Error("cannot load: injected");\n');
    const r = netfence(['render'], { bin });
    expect(r).toEqual({ code: 3, stdout: '', stderr: 'netfence: internal error: cannot load: injected (NETFENCE_DEBUG=1 shows the stack)\n' });
    const debug = netfence(['render'], { bin, env: { NETFENCE_DEBUG: '1' } });
    expect(debug.code).toBe(3);
    expect(debug.stderr).toMatch(STACK_LINE);
  });

  test('an exception outside any command exits 3 with one line and no stack', () => {
    const bin = launcherWith(
      'export const programOf = () => "netfence";\nexport async function runCli() {\n  setTimeout(() => { throw new Error("stray timer"); }, 0);\n  await new Promise((r) => setTimeout(r, 200));\n  return 0;\n}\n',
    );
    expect(netfence([], { bin })).toEqual({ code: 3, stdout: '', stderr: 'netfence: internal error: stray timer (NETFENCE_DEBUG=1 shows the stack)\n' });
  });

  test('a checkout without dist/ exits 3 and says to build', () => {
    const r = netfence(['render'], { bin: launcherWith(undefined) });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('netfence: internal error: dist/ is missing; run `npm ci` or `npm run build` first\n');
  });
});

describe('a reader that closes standard output early', () => {
  test('render | head -1: the output stops quietly, the summary still shows and render exits 0', async () => {
    const input = manyTenants(400);
    let got = 0;
    const r = await piped(['render', '-f', input], (stdout) => {
      stdout.once('data', (chunk: Buffer) => {
        got = chunk.length;
        stdout.destroy();
      });
    });
    expect(got).toBeGreaterThan(0);
    expect(r.stderr).toBe('netfence render: 400 tenants, 400 member namespaces, 1200 policies, 0 warnings\n');
    expect(r.code).toBe(0);
  });

  test('check keeps its exit code 1 when nobody reads its report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netfence-open-'));
    cpSync(join(ROOT, 'examples', 'two-tenants'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'open.yaml'),
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: globex-api}\nspec:\n  podSelector: {}\n  ingress: [{}]\n',
    );
    const r = await piped(['check', '-f', dir], (stdout) => stdout.destroy());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
  });
});
