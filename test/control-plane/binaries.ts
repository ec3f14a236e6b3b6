/**
 * Where the kube-apiserver, etcd and kubectl binaries come from (kubectl, of the same
 * release, applies config/ with its built-in kustomize in the install test).
 *
 * 1. `KUBEBUILDER_ASSETS` names a folder holding all three (envtest's assets do): use them
 *    as they are.
 * 2. Otherwise a cache outside the repo, keyed by the pinned versions and the wrapper
 *    module's content: `${XDG_CACHE_HOME:-$HOME/.cache}/netfence/control-plane/<key>/`.
 * 3. Otherwise, when the machine has Go, build both from the Go module proxy with the
 *    wrapper module in ./go (see its go.mod), under a lock so that two processes never
 *    build at once, printing progress as it goes, and move the result into the cache with
 *    an atomic rename.
 *
 * Guarantees: a binary is only ever returned from a complete build; a folder named by
 * KUBEBUILDER_ASSETS that lacks a binary is an error, never a silent fallback.
 * Leaves out: downloading prebuilt binaries (this project reaches no server that has them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLock } from './lock.js';

/** k8s.io/kubernetes 1.34 declares `go 1.24.0`. */
const MIN_GO_MINOR = 24;

const APISERVER_PACKAGE = 'k8s.io/kubernetes/cmd/kube-apiserver';
const ETCD_PACKAGE = 'go.etcd.io/etcd/server/v3';
const KUBECTL_PACKAGE = 'k8s.io/kubernetes/cmd/kubectl';

/** The releases the wrapper go.mod pins: the one place they are written down. */
export interface PinnedVersions {
  kubernetes: string;
  etcd: string;
}

export function pinnedVersions(moduleDir: string = wrapperModuleDir()): PinnedVersions {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const required = (module: string): string => {
    const match = new RegExp(`^\\s*${module.replace(/[./]/g, '\\$&')}\\s+(v\\S+)(\\s+//.*)?$`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`${moduleDir}/go.mod requires no ${module}`);
    return match[1];
  };
  return { kubernetes: required('k8s.io/kubernetes'), etcd: required(ETCD_PACKAGE) };
}

/** Stripped binaries that report their release on /version, as official builds do. */
function ldflags(versions: PinnedVersions): string {
  const [major = '', minor = ''] = versions.kubernetes.replace(/^v/, '').split('.');
  const version = 'k8s.io/component-base/version';
  return [
    '-s -w',
    `-X ${version}.gitVersion=${versions.kubernetes}`,
    `-X ${version}.gitMajor=${major}`,
    `-X ${version}.gitMinor=${minor}`,
    `-X ${version}.gitTreeState=clean`,
  ].join(' ');
}

export interface Binaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  /** Where they came from, for log lines: `KUBEBUILDER_ASSETS=...`, `cache ...`, `built ...`. */
  origin: string;
}

/** No binaries and no way to make them: the one case in which integration suites may skip. */
export interface Unavailable {
  unavailable: string;
}

export interface ProvideOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress and notices; defaults to stderr. */
  log?: (line: string) => void;
}

export type Log = (line: string) => void;

export const HOW_TO_PROVIDE =
  'install Go >= 1.24 (the first run builds kube-apiserver and etcd from the Go module proxy into ' +
  '~/.cache/netfence, several minutes once) or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver, etcd and kubectl';

const defaultLog: Log = (line) => process.stderr.write(`[control-plane] ${line}\n`);

export async function provideBinaries(options: ProvideOptions = {}): Promise<Binaries | Unavailable> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;

  const assets = env['KUBEBUILDER_ASSETS'];
  if (assets) return fromAssets(assets);

  const moduleDir = wrapperModuleDir();
  const target = cacheDir(env, moduleDir);
  const cached = fromFolder(target, `cache ${target}`);
  if (cached) return cached;

  const go = findGo(env);
  if (!go) return { unavailable: 'KUBEBUILDER_ASSETS is not set, no cached build exists and no `go` is on PATH' };
  const goVersion = goVersionOf(go);
  if (goVersion === undefined || goVersion.minor < MIN_GO_MINOR) {
    return { unavailable: `${go} is ${goVersion?.text ?? 'not a working Go'}, older than go1.${MIN_GO_MINOR}` };
  }

  return buildOnce(target, {
    find: (origin) => fromFolder(target, origin),
    build: () => build({ go, goVersion: goVersion.text, moduleDir, target, env, log }),
    lacks: 'kube-apiserver, etcd or kubectl',
    onWait: (pid) => log(`waiting for another process (pid ${pid ?? '?'}) that is building into ${target}`),
  });
}

export interface BuildOnceSteps<T> {
  /** What `target` holds when complete (origin `cache <target>` or `built <target>`), else undefined. */
  find(origin: string): T | undefined;
  /** Builds into `target`. */
  build(): Promise<void>;
  /** What an incomplete `target` lacks, for the error. */
  lacks: string;
  onWait: (ownerPid: number | undefined) => void;
}

/**
 * Under the lock `<target>.lock` (its folder made first): what another process built into
 * `target` meanwhile, else `build` and then what `target` holds; an error when the build
 * leaves it incomplete.
 */
export async function buildOnce<T>(target: string, steps: BuildOnceSteps<T>): Promise<T> {
  mkdirSync(dirname(target), { recursive: true });
  return withLock(
    `${target}.lock`,
    async () => {
      const builtMeanwhile = steps.find(`cache ${target}`);
      if (builtMeanwhile) return builtMeanwhile;
      await steps.build();
      const built = steps.find(`built ${target}`);
      if (!built) throw new Error(`build finished but ${target} lacks ${steps.lacks}`);
      return built;
    },
    { onWait: steps.onWait },
  );
}

export function isUnavailable(value: Binaries | Unavailable): value is Unavailable {
  return 'unavailable' in value;
}

function fromAssets(folder: string): Binaries {
  const found = fromFolder(resolve(folder), `KUBEBUILDER_ASSETS=${folder}`);
  if (!found) throw new Error(`KUBEBUILDER_ASSETS=${folder} does not hold executable kube-apiserver, etcd and kubectl files`);
  return found;
}

function fromFolder(folder: string, origin: string): Binaries | undefined {
  const kubeApiserver = join(folder, 'kube-apiserver');
  const etcd = join(folder, 'etcd');
  const kubectl = join(folder, 'kubectl');
  return [kubeApiserver, etcd, kubectl].every(isExecutable) ? { kubeApiserver, etcd, kubectl, origin } : undefined;
}

/** The file exists and this process may run it. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folder holding the wrapper go.mod, from the source tree or from dist/. */
export function wrapperModuleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'control-plane', 'go');
    if (existsSync(join(candidate, 'go.mod'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find test/control-plane/go/go.mod above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function cacheDir(env: NodeJS.ProcessEnv, moduleDir: string): string {
  const versions = pinnedVersions(moduleDir);
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  const digest = createHash('sha256')
    .update(withoutCommentLines(readFileSync(join(moduleDir, 'go.mod'), 'utf8')))
    .update(readFileSync(join(moduleDir, 'go.sum')))
    .update(ldflags(versions))
    .digest('hex')
    .slice(0, 12);
  return join(base, 'netfence', 'control-plane', `kube-apiserver-${versions.kubernetes}_etcd-${versions.etcd}_${digest}`);
}

/** Edits to go.mod's comments do not call for a rebuild. */
function withoutCommentLines(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('//'))
    .join('\n');
}

/** `go` on PATH, else in GOROOT. */
export function findGo(env: NodeJS.ProcessEnv): string | undefined {
  const onPath = (env['PATH'] ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'go'));
  const goroot = env['GOROOT'] ? [join(env['GOROOT'], 'bin', 'go')] : [];
  return [...onPath, ...goroot].find(isExecutable);
}

export function goVersionOf(go: string): { text: string; minor: number } | undefined {
  const result = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } });
  const text = result.stdout?.trim() ?? '';
  const match = /^go1\.(\d+)/.exec(text);
  return result.status === 0 && match?.[1] ? { text, minor: Number(match[1]) } : undefined;
}

interface BuildRequest {
  go: string;
  goVersion: string;
  moduleDir: string;
  target: string;
  env: NodeJS.ProcessEnv;
  log: Log;
}

async function build(request: BuildRequest): Promise<void> {
  const { go, goVersion, moduleDir, target, log } = request;
  const versions = pinnedVersions(moduleDir);
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...request.env,
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local', // never fetch another toolchain
    GOWORK: 'off',
    GOFLAGS: [request.env['GOFLAGS'], '-mod=readonly'].filter(Boolean).join(' '),
  };
  const started = Date.now();
  log(
    `building kube-apiserver and kubectl ${versions.kubernetes} and etcd ${versions.etcd} with ${goVersion} from the Go module proxy ` +
      `(first time only: several minutes); output goes to ${target}`,
  );
  try {
    log('resolving packages and downloading modules...');
    const listed = await runGo(go, ['list', '-deps', '-f', '{{if not .Standard}}{{.ImportPath}}{{end}}', APISERVER_PACKAGE, ETCD_PACKAGE, KUBECTL_PACKAGE], {
      cwd: moduleDir,
      env,
      log,
      started,
    });
    const expected = new Set(listed.stdout.split('\n').filter(Boolean));
    log(`compiling ${expected.size} packages and the standard library (${elapsed(started)} so far)`);
    await runGo(go, ['build', '-v', '-trimpath', `-ldflags=${ldflags(versions)}`, '-o', staging + '/', APISERVER_PACKAGE, ETCD_PACKAGE, KUBECTL_PACKAGE], {
      cwd: moduleDir,
      env,
      log,
      started,
      expected,
    });
    // `go build -o DIR/` names each binary after its package path: .../kube-apiserver, and
    // `server` for go.etcd.io/etcd/server/v3.
    renameSync(join(staging, 'server'), join(staging, 'etcd'));
    writeFileSync(join(staging, 'build.json'), JSON.stringify({ ...versions, go: goVersion, seconds: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n');
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    log(`built kube-apiserver, etcd and kubectl in ${elapsed(started)}`);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

interface RunGoOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: Log;
  started: number;
  /** Packages whose `go build -v` lines count as progress. */
  expected?: ReadonlySet<string>;
}

const PROGRESS_EVERY_MS = 15_000;
const KEPT_LINES = 60;

/** Runs go, reporting progress every PROGRESS_EVERY_MS; rejects with the end of its output on failure. */
function runGo(go: string, args: string[], options: RunGoOptions): Promise<{ stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(go, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let partial = '';
    let downloads = 0;
    let compiled = 0;
    const recent: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        recent.push(line);
        if (recent.length > KEPT_LINES) recent.shift();
        if (line.startsWith('go: downloading ')) downloads++;
        else if (options.expected?.has(line)) compiled++;
      }
    });
    const progress = setInterval(() => {
      const what = options.expected ? `compiled ${compiled} of ${options.expected.size} packages` : `downloaded ${downloads} modules`;
      options.log(`  ... ${what}, ${elapsed(options.started)}`);
    }, PROGRESS_EVERY_MS);
    child.on('error', (error) => {
      clearInterval(progress);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(progress);
      if (code === 0) {
        resolvePromise({ stdout });
        return;
      }
      const tail = [...recent, partial].filter((line) => line && !line.startsWith('go: downloading ')).slice(-30);
      reject(new Error(`\`go ${args.join(' ')}\` in ${options.cwd} failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}
