/**
 * `kubectl netfence` from real kubectl (the control plane's, v1.34) and a real krew (v0.4.3,
 * built from the Go module proxy into ~/.cache/netfence/krew like the control-plane binaries):
 * the commands of docs/kubectl-plugin.md, run as written in a sandbox (its own PATH, KREW_ROOT
 * and npm prefix), against the archive `npm run krew:package` packs from this checkout.
 *
 * Guarantees: the archive is the same bytes when packed twice from scratch (production
 * dependencies installed afresh each time), the manifest carries its sha256 and passes krew's
 * validate-krew-manifest; krew installs it and kubectl runs it (production dependencies only);
 * npm's "bin" makes the same plugin. Needs no API server. Leaves out: the download from the
 * release uri (no release exists yet) and Windows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { buildOnce, findGo, isExecutable as executable, isUnavailable, provideBinaries } from '../control-plane/binaries.js';
import { runNetfence } from '../fixtures/cli.js';
import { describeWithControlPlane, REPO_ROOT } from './support/cluster.js';

const KREW = 'v0.4.3';
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const DOC = readFileSync(join(REPO_ROOT, 'docs/kubectl-plugin.md'), 'utf8');
/** The commands of the document's sh blocks, in order. */
const COMMANDS = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n').filter((l) => l.trim() !== ''));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** krew and its manifest validator, built once per machine. */
async function krewBinaries(): Promise<{ krew: string; validate: string }> {
  const cache = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  const target = join(cache, 'netfence', 'krew', KREW);
  const found = (): { krew: string; validate: string } | undefined => {
    const bins = { krew: join(target, 'krew'), validate: join(target, 'validate-krew-manifest') };
    return executable(bins.krew) && executable(bins.validate) ? bins : undefined;
  };
  return (
    found() ??
    buildOnce(target, {
      find: found,
      build: async () => {
        const go = findGo(process.env);
        if (go === undefined) throw new Error('no `go` on PATH to build krew');
        mkdirSync(target, { recursive: true });
        for (const cmd of ['krew', 'validate-krew-manifest']) {
          const r = spawnSync(go, ['install', `sigs.k8s.io/krew/cmd/${cmd}@${KREW}`], { env: { ...process.env, GOBIN: target }, encoding: 'utf8', timeout: 600_000 });
          if (r.status !== 0) throw new Error(`go install sigs.k8s.io/krew/cmd/${cmd}@${KREW} failed: ${r.stderr}`);
        }
      },
      lacks: 'krew or validate-krew-manifest',
      onWait: () => {},
    })
  );
}

describeWithControlPlane('kubectl netfence: docs/kubectl-plugin.md with real kubectl and krew', () => {
  let sandbox: string;
  let env: NodeJS.ProcessEnv;
  let validate: string;
  const archive = `dist/krew/netfence-${PKG.version}.tar.gz`;

  /** A document command, run by sh in `cwd` with the sandbox's environment. */
  const sh = (command: string, cwd = sandbox, extra: NodeJS.ProcessEnv = {}): Exit => {
    const r = spawnSync('sh', ['-c', command], { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 240_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (run: Exit, what: string): Exit => {
    if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
    return run;
  };
  const doc = (command: string): string => {
    expect(COMMANDS).toContain(command);
    return command;
  };

  beforeAll(async () => {
    const binaries = await provideBinaries();
    if (isUnavailable(binaries)) throw new Error(`no kubectl: ${binaries.unavailable}`);
    const krew = await krewBinaries();
    validate = krew.validate;
    sandbox = mkdtempSync(join(tmpdir(), 'netfence-kubectl-plugin-'));
    const bin = join(sandbox, 'bin');
    mkdirSync(bin);
    symlinkSync(binaries.kubectl, join(bin, 'kubectl'));
    symlinkSync(krew.krew, join(bin, 'kubectl-krew'));
    // kubectl sees the plugins of krew's bin folder; node (24) and npm come after.
    const path = [join(sandbox, 'krew', 'bin'), bin, join(REPO_ROOT, 'node_modules', '.bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter);
    // The rest of the environment stays (npm's certificates, cache and proxy settings come from it).
    env = { ...process.env, PATH: path, KREW_ROOT: join(sandbox, 'krew'), KUBECONFIG: join(sandbox, 'no-kubeconfig'), NETFENCE_DEBUG: '' };
    // The examples the document's commands read, as in a checkout.
    symlinkSync(join(REPO_ROOT, 'examples'), join(sandbox, 'examples'));
  }, 900_000);

  afterAll(() => {
    if (sandbox) rmSync(sandbox, { recursive: true, force: true });
  });

  test('the document runs these commands; npm ci is what .ci/run did before this suite', () => {
    expect(COMMANDS).toEqual([
      'npm ci --no-audit --no-fund',
      'npm run krew:package',
      `kubectl krew install --manifest=plugins/netfence.yaml --archive=${archive}`,
      'npm install -g --ignore-scripts .',
      'kubectl plugin list',
      'kubectl netfence --version',
      'kubectl netfence render -f examples/shared-services',
      'kubectl netfence check -f examples/shared-services',
      'kubectl netfence explain --help',
      'kubectl krew uninstall netfence',
    ]);
    expect(DOC).toContain(`prints \`netfence ${PKG.version}\``);
  });

  test("npm run krew:package packs the same bytes twice, and its manifest carries their sha256 and passes krew's validator", () => {
    // Into the sandbox (--out, --manifest), so that this checkout's plugins/netfence.yaml stays as committed.
    const pack = (out: string): Buffer => {
      ok(sh(`${doc('npm run krew:package')} -- --out ${join(out, 'dist', 'krew')} --manifest ${join(out, 'plugins', 'netfence.yaml')}`, REPO_ROOT), 'npm run krew:package');
      return readFileSync(join(out, archive));
    };
    const first = pack(sandbox);
    const again = pack(join(sandbox, 'again'));
    expect(again.equals(first)).toBe(true);
    const manifest = readFileSync(join(sandbox, 'plugins', 'netfence.yaml'), 'utf8');
    const sha256 = spawnSync('sha256sum', [join(sandbox, archive)], { encoding: 'utf8' }).stdout.split(' ')[0];
    expect(manifest).toContain(`\n      sha256: ${sha256}\n`);
    // The committed manifest differs at most in the sha256 (the archive holds dist/, which every change to src/ changes).
    const committed = readFileSync(join(REPO_ROOT, 'plugins', 'netfence.yaml'), 'utf8');
    expect(committed.replace(/sha256: [0-9a-f]{64}/, 'sha256: -')).toBe(manifest.replace(/sha256: [0-9a-f]{64}/, 'sha256: -'));
    const validated = spawnSync(validate, ['-manifest', join(sandbox, 'plugins', 'netfence.yaml'), '-skip-install'], { encoding: 'utf8' });
    expect(validated.stderr).toContain('structural validation OK');
    expect(validated.stderr).toContain('no overlapping spec.platform[].selector');
    expect(validated.status).toBe(0);
  }, 240_000);

  test('kubectl krew installs the archive, with its LICENSE, and links the plugin into its bin folder', () => {
    const installed = ok(sh(doc(`kubectl krew install --manifest=plugins/netfence.yaml --archive=${archive}`)), 'kubectl krew install');
    expect(installed.stderr).toContain('Installed plugin: netfence');
    expect(installed.stderr).toContain('Node.js 24');
    const link = join(sandbox, 'krew', 'bin', 'kubectl-netfence');
    expect(readlinkSync(link)).toBe(join(sandbox, 'krew', 'store', 'netfence', `v${PKG.version}`, 'bin', 'netfence.js'));
    expect(existsSync(join(sandbox, 'krew', 'store', 'netfence', `v${PKG.version}`, 'LICENSE'))).toBe(true);
  }, 120_000);

  test('kubectl plugin list shows it, and kubectl netfence --version prints the version', () => {
    const list = sh(doc('kubectl plugin list'));
    expect(list.stdout).toContain(join(sandbox, 'krew', 'bin', 'kubectl-netfence'));
    expect(list.code).toBe(0);
    expect(sh(doc('kubectl netfence --version'))).toEqual({ code: 0, stdout: `netfence ${PKG.version}\n`, stderr: '' });
  });

  test('kubectl netfence render and check print what netfence does, from the installed archive alone', async () => {
    // The installed tree runs without this checkout's node_modules: the plugin's node_modules are the archive's.
    const render = sh(doc('kubectl netfence render -f examples/shared-services'));
    const inProcess = await runNetfence(['render', '-f', join(REPO_ROOT, 'examples/shared-services')]);
    expect(render).toEqual({ code: 0, stdout: inProcess.stdout, stderr: inProcess.stderr });
    expect(render.stdout).toContain('kind: NetworkPolicy');
    const check = sh(doc('kubectl netfence check -f examples/shared-services'));
    expect(check.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(check.code).toBe(0);
  }, 60_000);

  test('help and bad usage through kubectl name kubectl netfence; exit codes pass through', () => {
    const help = sh(doc('kubectl netfence explain --help'));
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl netfence explain /);
    const bad = sh('kubectl netfence render');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^kubectl netfence render: no input: give -f PATH/);
    expect(bad.stderr).toContain('\nUsage: kubectl netfence render -f PATH...');
    // Without node_modules/.bin, `node` is the machine's own: older than 24, the plugin says so (the manifest's caveat).
    const machinePath = env['PATH']?.replace(join(REPO_ROOT, 'node_modules', '.bin') + delimiter, '') ?? '';
    const machineNode = Number(sh('node -p "process.versions.node.split(\'.\')[0]"', sandbox, { PATH: machinePath }).stdout.trim() || 'NaN');
    if (machineNode < 24) {
      const old = sh('kubectl netfence --version', sandbox, { PATH: machinePath });
      expect(old.code).toBe(3);
      expect(old.stderr).toContain('netfence: needs Node 24 or later');
    }
  });

  test('npm install -g --ignore-scripts . links the same plugin as kubectl-netfence, in an unpacked archive', () => {
    const unpacked = join(sandbox, 'unpacked');
    mkdirSync(unpacked);
    ok(sh(`tar -xzf ${join(sandbox, archive)} -C ${unpacked}`), 'tar');
    const prefix = join(sandbox, 'npm-global');
    ok(sh(`${doc('npm install -g --ignore-scripts .')} --prefix ${prefix}`, unpacked), 'npm install -g');
    expect(readlinkSync(join(prefix, 'bin', 'kubectl-netfence'))).toBe('../lib/node_modules/netfence/bin/netfence.js');
    // Its bin folder instead of krew's on kubectl's PATH.
    const path = env['PATH']?.replace(join(sandbox, 'krew', 'bin'), join(prefix, 'bin')) ?? '';
    const list = sh('kubectl plugin list', sandbox, { PATH: path });
    expect(list.stdout).toContain(join(prefix, 'bin', 'kubectl-netfence'));
    expect(sh('kubectl netfence --version', sandbox, { PATH: path })).toEqual({ code: 0, stdout: `netfence ${PKG.version}\n`, stderr: '' });
  }, 120_000);

  test('kubectl krew uninstall netfence removes it: kubectl no longer finds the plugin', () => {
    // krew uninstall wants the local plugin index a user's krew has (`kubectl krew update` clones it
    // from GitHub); an empty git repository stands in for it, as this suite reaches no network.
    ok(sh(`git init -q ${join(sandbox, 'krew', 'index', 'default')}`), 'git init');
    ok(sh(doc('kubectl krew uninstall netfence')), 'kubectl krew uninstall');
    expect(existsSync(join(sandbox, 'krew', 'bin', 'kubectl-netfence'))).toBe(false);
    const gone = sh('kubectl netfence --version');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('unknown command "netfence"');
  });
});
