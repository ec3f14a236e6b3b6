/**
 * The helm binary of the chart tests (test/integration/helm.test.ts): Helm 4, built from the
 * Go module proxy, as binaries.ts builds the control plane.
 *
 * Where it comes from, first match wins:
 * 1. `NETFENCE_HELM` names a helm binary: use it as it is;
 * 2. the cache, `${XDG_CACHE_HOME:-$HOME/.cache}/netfence/helm/<HELM_VERSION>_<go version>/helm`;
 * 3. `go install` of HELM_MODULE at HELM_VERSION with the machine's Go (static, `-trimpath`,
 *    `GOTOOLCHAIN=local`, the version stamped as Helm's Makefile stamps it) into that cache,
 *    under a lock (buildOnce) so that two processes never build it at once, moved into place
 *    with an atomic rename. About 3 minutes on 2 cores, once.
 *
 * Guarantees: a binary is only returned from a complete build; `NETFENCE_HELM` naming no
 * file is an error, never a silent fallback.
 * Assumes: Helm derives the Kubernetes version of `helm template` from the client-go module
 * it was built with (v0.37 -> 1.37), which the module's go.sum pins.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { buildOnce, findGo, goVersionOf, isExecutable as executable, type Log } from './binaries.js';

export const HELM_MODULE = 'helm.sh/helm/v4';
export const HELM_VERSION = 'v4.3.2';
export const HELM_ENV = 'NETFENCE_HELM';
export const HOW_TO_PROVIDE_HELM = `put Go (>= 1.26) on PATH (the first run builds helm ${HELM_VERSION} into ~/.cache/netfence/helm, about 3 minutes), or set ${HELM_ENV} to a helm 4 binary`;

/** helm.sh/helm/v4 declares `go 1.26.0`. */
const MIN_GO_MINOR = 26;

export type HelmBinary = { path: string; origin: string } | { unavailable: string };

export function helmCacheDir(env: NodeJS.ProcessEnv, goVersion: string): string {
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'netfence', 'helm', `${HELM_VERSION}_${goVersion}`);
}

export async function provideHelm(log: Log = (line) => void process.stderr.write(`[helm] ${line}\n`), env: NodeJS.ProcessEnv = process.env): Promise<HelmBinary> {
  const given = env[HELM_ENV];
  if (given) {
    if (!executable(given)) throw new Error(`${HELM_ENV}=${given} is not an executable file`);
    return { path: given, origin: `${HELM_ENV}=${given}` };
  }
  const go = findGo(env);
  if (!go) return { unavailable: 'no cached helm and no go on PATH' };
  const version = goVersionOf(go);
  if (!version || version.minor < MIN_GO_MINOR) return { unavailable: `${go} is ${version?.text ?? 'not a working Go'}, older than go1.${MIN_GO_MINOR}` };
  const dir = helmCacheDir(env, version.text);
  const binary = join(dir, 'helm');
  if (executable(binary)) return { path: binary, origin: `cache ${dir}` };
  return buildOnce(dir, {
    find: (origin) => (executable(binary) ? { path: binary, origin } : undefined),
    build: () => build(go, version.text, dir, env, log),
    lacks: 'helm',
    onWait: (pid) => log(`waiting for another process (pid ${pid ?? '?'}) that is building helm into ${dir}`),
  });
}

async function build(go: string, goVersion: string, dir: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  log(`building helm ${HELM_VERSION} with ${goVersion} from the Go module proxy (first time only: about 3 minutes) into ${dir}`);
  const ldflags = `-s -w -X ${HELM_MODULE}/internal/version.version=${HELM_VERSION} -X ${HELM_MODULE}/internal/version.gitTreeState=clean`;
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(go, ['install', '-trimpath', `-ldflags=${ldflags}`, `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`], {
      env: { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOWORK: 'off', GOBIN: staging, GOFLAGS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (tail = (tail + chunk).slice(-4000)));
    const progress = setInterval(() => log(`  ... building helm, ${seconds()} s`), 30_000);
    child.on('error', () => resolve(null));
    child.on('close', (exit) => {
      clearInterval(progress);
      if (exit !== 0) log(`go install failed:\n${tail}`);
      resolve(exit);
    });
  });
  if (code !== 0 || !executable(join(staging, 'helm'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`go install ${HELM_MODULE}/cmd/helm@${HELM_VERSION} failed (exit ${code})`);
  }
  writeFileSync(join(staging, 'build.json'), JSON.stringify({ module: HELM_MODULE, version: HELM_VERSION, go: goVersion, seconds: seconds() }, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`built helm in ${seconds()} s`);
}
