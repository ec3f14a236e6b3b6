/**
 * What the image holds, started the way a kubelet starts it with config/manager's
 * securityContext: these machines cannot build images (no Docker engine), so this assembles
 * the image's /app with the very script the Dockerfile runs (scripts/image-root.sh) and
 * starts `netfence run` from it as uid/gid 65532, with every filesystem of the machine
 * mounted read-only (a private mount namespace), against an API server of its own.
 *
 * Guarantees: production dependencies alone carry the CLI and the operator (no dev
 * dependency is needed at run time), and the operator neither writes a file nor needs a
 * writable home. Leaves out: the distroless base itself (its Node and libraries), which only
 * the GitHub Actions workflow builds and runs (.github/workflows/e2e.yaml).
 * Needs root (for the mount namespace and the uid switch), `unshare` and `setpriv`; CI runs
 * as root. Elsewhere the suite skips with one loud line, and with CI=true it fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TENANT_LABEL, POLICY_NAMES } from '../../src/api/constants.js';
import { freePorts, type ControlPlane } from '../control-plane/control-plane.js';
import { describeWithControlPlane, eventually, REPO_ROOT } from './support/cluster.js';
import { isCi } from './support/env.js';
import { kubectl, privateControlPlane, type PrivatePlane } from './support/identities.js';
import { asImageWould, imageRunCommand, imageToolsMissing } from './support/image.js';

const why = imageToolsMissing();
if (why && isCi()) throw new Error(`CI=true and the image rehearsal cannot run: ${why}`);
if (why) process.stderr.write(`!!! SKIPPING the image rehearsal (test/integration/image.test.ts): ${why} !!!\n`);
const describeRehearsal = why ? describe.skip : describeWithControlPlane;

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

describeRehearsal('the image, rehearsed: scripts/image-root.sh as uid 65532 on a read-only root', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let dir: string;
  let app: string;
  let operator: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    started = await privateControlPlane();
    plane = started.plane;
    dir = mkdtempSync(join(tmpdir(), 'netfence-image-'));
    chmodSync(dir, 0o755);
    const built = spawnSync('sh', ['scripts/image-root.sh', dir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 });
    if (built.status !== 0) throw new Error(`scripts/image-root.sh failed: ${built.stderr}`);
    app = join(dir, 'app');
  }, 240_000);

  afterAll(async () => {
    operator?.kill('SIGKILL');
    await plane?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('holds the production dependencies and nothing of the dev ones, and prints its size', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', name, 'package.json'))).toBe(true);
    for (const name of Object.keys(pkg.devDependencies)) expect(existsSync(join(app, 'node_modules', name))).toBe(false);
    expect(existsSync(join(app, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(app, 'test'))).toBe(false);
    const megabytes = sizeOf(app) / 1e6;
    process.stderr.write(`[image] /app holds ${megabytes.toFixed(1)} MB (node_modules ${(sizeOf(join(app, 'node_modules')) / 1e6).toFixed(1)} MB)\n`);
    expect(megabytes).toBeLessThan(80);
  });

  test('renders the examples exactly as the development tree does', () => {
    const examples = join(REPO_ROOT, 'examples', 'two-tenants');
    const fromImage = spawnSync(...asImageWould([process.execPath, join(app, 'bin', 'netfence.js'), 'render', '-f', examples], {}), { encoding: 'utf8' });
    const fromTree = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'netfence.js'), 'render', '-f', examples], { encoding: 'utf8' });
    expect(fromImage.stderr).toBe(fromTree.stderr);
    expect(fromImage.status).toBe(0);
    expect(fromImage.stdout).toBe(fromTree.stdout);
    expect(fromImage.stdout).toContain(`name: ${POLICY_NAMES.defaultDeny}`);
  });

  test('prints the version in package.json for --version', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(...asImageWould([process.execPath, join(app, 'bin', 'netfence.js'), '--version'], {}), { encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: `netfence ${version}\n`, stderr: '' });
  });

  test('cannot write anywhere: the rehearsal really is read-only and unprivileged', () => {
    const probe = spawnSync(...asImageWould([process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(join(app, 'probe'))}, 'x')`], {}), { encoding: 'utf8' });
    expect(probe.status).not.toBe(0);
    expect(probe.stderr).toMatch(/EROFS|EACCES/);
    const tmp = spawnSync(...asImageWould([process.execPath, '-e', "require('fs').writeFileSync('/tmp/netfence-probe', 'x')"], {}), { encoding: 'utf8' });
    expect(tmp.stderr).toMatch(/EROFS/);
  });

  test('`netfence run` becomes ready, fences a namespace and stops cleanly on SIGTERM', async () => {
    // The kubeconfig must be readable by uid 65532, as a mounted ServiceAccount token is.
    const kubeconfig = join(dir, 'operator.kubeconfig');
    copyFileSync(plane.operatorKubeconfig, kubeconfig);
    chmodSync(kubeconfig, 0o644);
    await started.admin.api.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'netfence-system' } } });
    for (const folder of ['crds', 'config/rbac']) {
      const applied = kubectl(started.binaries, plane.adminKubeconfig, ['apply', '--server-side', '-k', folder]);
      if (applied.code !== 0) throw new Error(`kubectl apply -k ${folder}: ${applied.stderr}`);
    }
    const [health = 0, metrics = 0] = await freePorts(2);
    const [command, args] = imageRunCommand({ app, kubeconfig, health, metrics, identity: 'image-rehearsal' });
    operator = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    operator.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => operator?.once('exit', (code) => resolve(code)));

    await eventually(
      'the operator answers /readyz',
      async () => ((await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
      30_000,
    );
    await eventually('the CRD serves TenantIsolations', () => started.admin.tenant('image', {}).then(() => true));
    await started.admin.namespace('image-web', { [TENANT_LABEL]: 'image' });
    await started.admin.until(
      'image-web is fenced',
      () => started.admin.policyNames('image-web'),
      (names) => names.includes(POLICY_NAMES.defaultDeny),
      30_000,
    );
    expect(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()).toContain('netfence_');

    operator.kill('SIGTERM');
    expect(await exited).toBe(0);
    operator = undefined;
    expect(stderr).not.toMatch(/EROFS|EACCES|read-only file system/i);
    expect(stderr).toContain('netfence started');
  }, 90_000);
});
