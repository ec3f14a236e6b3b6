/**
 * bench/kyverno-build: Kyverno's admission controller (cmd/kyverno) and background controller
 * (cmd/background-controller), v1.19.1, built with the machine's Go from the Go module proxy,
 * plus the module's CRDs (config/crds), for bench/kyverno.
 *
 * Where they live: `${XDG_CACHE_HOME:-$HOME/.cache}/netfence/kyverno-v1.19.1_<go version>/`
 * (`kyverno`, `background-controller`, `crds/`, `build.json`). When that folder is incomplete:
 * `go mod download` of the module, then `go build` inside it at nice 19 (CGO off,
 * GOTOOLCHAIN=local, -mod=readonly, -trimpath), under a lock so two processes never build at
 * once, into a staging folder moved into place with an atomic rename.
 *
 * Guarantees: paths are only returned from a complete build. Reuses the control plane's Go
 * discovery (findGo, goVersionOf) and its locked build (buildOnce).
 * Leaves out: prebuilt images or release binaries (this project reaches no server that has them).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnce, findGo, goVersionOf } from '../test/control-plane/binaries.js';

export const KYVERNO_MODULE = 'github.com/kyverno/kyverno';
export const KYVERNO_VERSION = 'v1.19.1';
/** Kyverno v1.19.1's go.mod declares `go 1.26.6`. */
const MIN_GO = { minor: 26, patch: 6 };
const PROGRESS_EVERY_MS = 30_000;

export interface KyvernoBuild {
  admissionController: string;
  backgroundController: string;
  /** Folder holding the module's config/crds tree. */
  crds: string;
  /** `cache <dir>` or `built <dir>`, for log lines. */
  origin: string;
}

export async function provideKyverno(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<KyvernoBuild> {
  const go = findGo(env);
  if (!go) throw new Error('no `go` on PATH or in GOROOT: Kyverno is built from the Go module proxy');
  const goVersion = goVersionOf(go);
  if (!goVersion || !atLeast(goVersion.text))
    throw new Error(`${go} is ${goVersion?.text ?? 'not a working Go'}; Kyverno ${KYVERNO_VERSION} needs go1.${MIN_GO.minor}.${MIN_GO.patch} or newer`);

  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  const target = join(base, 'netfence', `kyverno-${KYVERNO_VERSION}_${goVersion.text}`);
  const cached = fromFolder(target, `cache ${target}`);
  if (cached) return cached;

  return buildOnce(target, {
    find: (origin) => fromFolder(target, origin),
    build: () => build(go, goVersion.text, target, env, log),
    lacks: 'kyverno, background-controller or crds/',
    onWait: (pid) => log(`waiting for another process (pid ${pid ?? '?'}) that is building Kyverno into ${target}`),
  });
}

function atLeast(text: string): boolean {
  const [, minor = '0', patch = '0'] = /^go1\.(\d+)(?:\.(\d+))?/.exec(text) ?? [];
  return Number(minor) > MIN_GO.minor || (Number(minor) === MIN_GO.minor && Number(patch) >= MIN_GO.patch);
}

function fromFolder(folder: string, origin: string): KyvernoBuild | undefined {
  const found = { admissionController: join(folder, 'kyverno'), backgroundController: join(folder, 'background-controller'), crds: join(folder, 'crds'), origin };
  try {
    accessSync(found.admissionController, constants.X_OK);
    accessSync(found.backgroundController, constants.X_OK);
    accessSync(join(found.crds, 'kyverno'), constants.R_OK);
    return found;
  } catch {
    return undefined;
  }
}

async function build(go: string, goVersion: string, target: string, callerEnv: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const staging = `${target}.partial-${process.pid}`;
  const scratch = mkdtempSync(join(tmpdir(), 'netfence-kyverno-mod-'));
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...callerEnv,
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
    GOFLAGS: [callerEnv['GOFLAGS'], '-mod=readonly'].filter(Boolean).join(' '),
  };
  const started = Date.now();
  log(
    `building Kyverno ${KYVERNO_VERSION} (admission and background controllers) with ${goVersion} from the Go module proxy into ${target} (first time only: many minutes on 2 CPUs)`,
  );
  try {
    // Outside any module, `go mod download -json` fetches the module and names its folder.
    const downloaded = await runGo(go, ['mod', 'download', '-json', `${KYVERNO_MODULE}@${KYVERNO_VERSION}`], { cwd: scratch, env, log, started });
    const moduleDir = (JSON.parse(downloaded) as { Dir?: string }).Dir;
    if (!moduleDir) throw new Error(`go mod download named no folder for ${KYVERNO_MODULE}@${KYVERNO_VERSION}: ${downloaded}`);
    const ldflags = `-s -w -X ${KYVERNO_MODULE}/pkg/version.BuildVersion=${KYVERNO_VERSION}`;
    await runGo(go, ['build', '-trimpath', `-ldflags=${ldflags}`, '-o', staging + '/', './cmd/kyverno', './cmd/background-controller'], { cwd: moduleDir, env, log, started });
    cpSync(join(moduleDir, 'config', 'crds'), join(staging, 'crds'), { recursive: true });
    writeFileSync(
      join(staging, 'build.json'),
      JSON.stringify({ module: KYVERNO_MODULE, version: KYVERNO_VERSION, go: goVersion, seconds: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n',
    );
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    log(`built Kyverno in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs go at nice 19, logging that it still runs every PROGRESS_EVERY_MS; resolves with stdout, rejects with the end of stderr. */
function runGo(go: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; log: (line: string) => void; started: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', go, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8_000)));
    const timer = setInterval(() => options.log(`  ... go ${args[0]} still running, ${Math.round((Date.now() - options.started) / 1000)} s`), PROGRESS_EVERY_MS);
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) return resolve(stdout);
      const lines = stderr.split('\n').filter((line) => line && !line.startsWith('go: downloading '));
      reject(new Error(`\`go ${args.join(' ')}\` in ${options.cwd} failed (${signal ?? `exit ${code}`}):\n${lines.slice(-30).join('\n')}`));
    });
  });
}
