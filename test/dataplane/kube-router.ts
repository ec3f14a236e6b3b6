/**
 * The enforcer of the dataplane suite: kube-router's network policy controller, a real
 * NetworkPolicy implementation (iptables + ipset), built from the Go module proxy.
 *
 * Where it comes from, first match wins:
 * 1. `NETFENCE_KUBE_ROUTER` names a kube-router binary: use it;
 * 2. the cache, `${XDG_CACHE_HOME:-$HOME/.cache}/netfence/dataplane/kube-router-<version>_<go version>/kube-router`;
 * 3. `go install` of KUBE_ROUTER_MODULE at KUBE_ROUTER_VERSION with the machine's Go
 *    (static, `-trimpath`, `GOTOOLCHAIN=local`) into that cache, under a lock so that two
 *    processes never build it at once. 2-4 minutes on 2 cores, once.
 * Only the firewall runs (`--run-firewall`); the BGP router and the service proxy, where its
 * known advisories are, stay off.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findGo, goVersionOf } from '../control-plane/binaries.js';
import { withLock } from '../control-plane/lock.js';

export const KUBE_ROUTER_MODULE = 'github.com/cloudnativelabs/kube-router/v2';
/** The one version the Go module proxy serves (others answer 403). */
export const KUBE_ROUTER_VERSION = 'v2.1.0';
export const KUBE_ROUTER_ENV = 'NETFENCE_KUBE_ROUTER';
export const HOW_TO_PROVIDE_KUBE_ROUTER = `put Go (>= 1.22) on PATH, or set ${KUBE_ROUTER_ENV} to a kube-router ${KUBE_ROUTER_VERSION} binary`;

export type KubeRouterBinary = { path: string; origin: string } | { unavailable: string };

export function kubeRouterCacheDir(env: NodeJS.ProcessEnv, goVersion: string): string {
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'netfence', 'dataplane', `kube-router-${KUBE_ROUTER_VERSION}_${goVersion}`);
}

export async function provideKubeRouter(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<KubeRouterBinary> {
  const given = env[KUBE_ROUTER_ENV];
  if (given) return existsSync(given) ? { path: given, origin: `${KUBE_ROUTER_ENV}=${given}` } : { unavailable: `${KUBE_ROUTER_ENV}=${given} does not exist` };
  const go = findGo(env);
  if (!go) return { unavailable: `no cached kube-router and no go on PATH` };
  const version = goVersionOf(go)?.text;
  if (!version) return { unavailable: `${go} does not run` };
  const dir = kubeRouterCacheDir(env, version);
  const binary = join(dir, 'kube-router');
  if (existsSync(binary)) return { path: binary, origin: `cache ${dir}` };
  mkdirSync(join(dir, '..'), { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(binary)) return;
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const started = Date.now();
    log(`[dataplane] building kube-router ${KUBE_ROUTER_VERSION} with ${version} from the Go module proxy (first time only: 2-4 minutes) into ${dir}`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(go, ['install', '-trimpath', '-ldflags=-s -w', `${KUBE_ROUTER_MODULE}/cmd/kube-router@${KUBE_ROUTER_VERSION}`], {
        env: { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOWORK: 'off', GOBIN: staging, GOFLAGS: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let tail = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (tail = (tail + chunk).slice(-4000)));
      const progress = setInterval(() => log(`[dataplane]   ... building kube-router, ${Math.round((Date.now() - started) / 1000)} s`), 30_000);
      child.on('close', (exit) => {
        clearInterval(progress);
        if (exit !== 0) log(`[dataplane] go install failed:\n${tail}`);
        resolve(exit);
      });
    });
    if (code !== 0 || !existsSync(join(staging, 'kube-router'))) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`go install ${KUBE_ROUTER_MODULE}/cmd/kube-router@${KUBE_ROUTER_VERSION} failed (exit ${code})`);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(join(staging, 'build.json'), JSON.stringify({ module: KUBE_ROUTER_MODULE, version: KUBE_ROUTER_VERSION, go: version, seconds }, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`[dataplane] built kube-router in ${seconds} s`);
  });
  return { path: binary, origin: `built into ${dir}` };
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  if (process.argv[2] !== 'kube-router') {
    process.stderr.write('usage: npm run dataplane -- kube-router   (finds or builds kube-router, prints its path)\n');
    process.exit(2);
  }
  const found = await provideKubeRouter((line) => void process.stderr.write(line + '\n'));
  if ('unavailable' in found) {
    process.stderr.write(`no kube-router: ${found.unavailable}. ${HOW_TO_PROVIDE_KUBE_ROUTER}\n`);
    process.exit(1);
  }
  process.stdout.write(`${found.path}\n`);
}
