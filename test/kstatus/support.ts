/**
 * What the GitOps health suites share: the Argo CD health check run by wasmoon, the Go reader
 * of ./main.go (kstatus, and the health check under gopher-lua, the interpreter Argo CD
 * embeds) built once into a cache, the shell commands of docs/gitops-health.md, and the
 * TenantIsolation states the real operator writes on the real API server.
 *
 * - `argoHealth(object)`: config/argocd/health.lua with `obj` set to the object as a Lua table
 *   (objects keyed by name, arrays from 1), as Argo CD converts the object's JSON.
 * - `gitopsStatus(objects, { lua })`: one line of ./main.go's output per object.
 * - `tenantStates(world, behindHook)`: real objects in every state the health checks tell
 *   apart, read back from the API server, with the operator (through a proxy that can hold its
 *   NetworkPolicy writes) started, stopped while a spec changes, and started again.
 * Guarantees: the Go binary is only ever used from a complete build, made under a lock in
 * `${XDG_CACHE_HOME:-~/.cache}/netfence/kstatus/<key>/`, the key a digest of go.mod (its
 * comment lines left out), go.sum and main.go.
 * Assumes: Go >= 1.24 on PATH or in GOROOT (as for the control-plane binaries).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LuaFactory } from 'wasmoon';
import { TENANT_LABEL } from '../../src/api/constants.js';
import type { TenantIsolation } from '../../src/api/types.js';
import { buildOnce, findGo, goVersionOf } from '../control-plane/binaries.js';
import { cluster, uniqueName, type Cluster } from '../integration/support/cluster.js';
import { installForOperator, runOperator, World } from '../integration/support/operator.js';
import { startApiProxyFor, writeProxiedKubeconfig } from '../integration/support/proxy.js';
import { REPO_ROOT } from '../integration/support/repo.js';

export const HEALTH_LUA = join(REPO_ROOT, 'config/argocd/health.lua');
export const ARGOCD_CM_PATCH = join(REPO_ROOT, 'config/argocd/argocd-cm-patch.yaml');
export const HEALTH_KEY = 'resource.customizations.health.netfence.dev_TenantIsolation';
export const DOC = join(REPO_ROOT, 'docs/gitops-health.md');
const MODULE_DIR = join(REPO_ROOT, 'test/kstatus');

export interface Health {
  status: string;
  message: string;
}

const factory = new LuaFactory();

/** What config/argocd/health.lua (or `script`) returns for `object`. */
export async function argoHealth(object: unknown, script: string = readFileSync(HEALTH_LUA, 'utf8')): Promise<Health> {
  // Without the proxy extension plain objects and arrays become Lua tables, as in Argo CD.
  const lua = await factory.createEngine({ enableProxy: false });
  try {
    lua.global.set('obj', JSON.parse(JSON.stringify(object)));
    const result = (await lua.doString(script)) as Partial<Health> | undefined;
    return { status: String(result?.status), message: String(result?.message) };
  } finally {
    lua.global.close();
  }
}

/** The `sh` code blocks of docs/gitops-health.md, one command a line, comments left out. */
export function docCommands(doc: string = DOC): string[] {
  const text = readFileSync(doc, 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The documented command that starts with `prefix`; an error when the doc has none. */
export function docCommand(prefix: string): string {
  const found = docCommands().find((c) => c.startsWith(prefix));
  if (found === undefined) throw new Error(`docs/gitops-health.md runs no \`${prefix} ...\``);
  return found;
}

/** Splits a documented command into words, with single-quoted words kept whole. */
export function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

export function gitopsStatusCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const goMod = readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('//'))
    .join('\n');
  const version = /sigs\.k8s\.io\/cli-utils (v\S+)/.exec(goMod)?.[1] ?? 'unknown';
  const digest = createHash('sha256')
    .update(goMod)
    .update(readFileSync(join(MODULE_DIR, 'go.sum')))
    .update(readFileSync(join(MODULE_DIR, 'main.go')))
    .digest('hex')
    .slice(0, 12);
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'netfence', 'kstatus', `cli-utils-${version}_${digest}`);
}

/** The path of the built ./main.go, built first when the cache lacks it. */
export async function provideGitopsStatus(log: (line: string) => void = (l) => process.stderr.write(`[kstatus] ${l}\n`)): Promise<string> {
  const target = gitopsStatusCacheDir();
  const binary = join(target, 'gitops-status');
  if (existsSync(binary)) return binary;
  const go = findGo(process.env);
  const version = go ? goVersionOf(go) : undefined;
  if (!go || !version || version.minor < 24) throw new Error('building test/kstatus needs Go >= 1.24 on PATH (or in GOROOT)');
  return buildOnce(target, {
    find: () => (existsSync(binary) ? binary : undefined),
    lacks: 'gitops-status',
    onWait: (pid) => log(`waiting for another process (pid ${pid ?? '?'}) that is building into ${target}`),
    build: async () => {
      const staging = `${target}.partial-${process.pid}`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      const started = Date.now();
      log(`building test/kstatus with ${version.text} into ${target}`);
      const env = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOWORK: 'off', GOFLAGS: '-mod=readonly' };
      try {
        await new Promise<void>((resolve, reject) => {
          const child = spawn(go, ['build', '-trimpath', '-o', join(staging, 'gitops-status'), '.'], { cwd: MODULE_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`go build in ${MODULE_DIR} failed (exit ${code}):\n${stderr.slice(-3000)}`))));
        });
        rmSync(target, { recursive: true, force: true });
        renameSync(staging, target);
        log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        rmSync(staging, { recursive: true, force: true });
        throw error;
      }
    },
  });
}

export interface StatusLine {
  name: string;
  kstatus: Health;
  argocd?: Health;
}

/** ./main.go's lines for `objects`, in order; with `lua`, the health script run by gopher-lua too. */
export function gitopsStatus(binary: string, objects: readonly unknown[], options: { lua?: string } = {}): StatusLine[] {
  const args = options.lua ? ['--lua', options.lua] : [];
  const result = spawnSync(binary, args, { input: JSON.stringify(objects), encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`gitops-status exited ${result.status}: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StatusLine);
}

/** Real objects in the states the health checks tell apart. */
export interface TenantStates {
  /** As created: no status yet. */
  fresh: TenantIsolation;
  /** Read while the operator's first policy write for it is in transit. */
  onboarding: TenantIsolation;
  /** Ready True, Reconciled. */
  onboarded: TenantIsolation;
  /** Ready True, AuditOnly. */
  audit: TenantIsolation;
  /** Conflict True, Degraded True, Ready False NamespaceConflict. */
  conflict: TenantIsolation;
  /** Ready False InvalidSpec: a name the CRD admits and the compiler refuses. */
  invalid: TenantIsolation;
  /** `onboarded` with its spec changed while the operator was stopped. */
  behind: TenantIsolation;
  /** `behind` once the operator runs again. */
  caughtUp: TenantIsolation;
}

export interface StateWorld {
  admin: {
    tenant(name: string, spec: TenantIsolation['spec']): Promise<TenantIsolation>;
    getTenant(name: string): Promise<TenantIsolation | undefined>;
    namespace(name: string, labels?: Record<string, string>): Promise<void>;
    until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs?: number): Promise<T>;
  };
  /** Starts the operator; the returned function stops it. */
  start(): Promise<() => Promise<void>>;
  /** Holds the operator's NetworkPolicy writes in `namespace` for `ms`; undefined holds nothing. */
  holdPolicyWrites(namespace: string | undefined, ms?: number): void;
  /** How many of the operator's NetworkPolicy writes in `namespace` were held so far. */
  heldWrites(namespace: string): number;
  uniqueName(prefix: string): string;
  /** Names of the tenants made, for the suite to delete. */
  made: string[];
}

const cond = (t: TenantIsolation | undefined, type: string) => t?.status?.conditions?.find((c) => c.type === type);
const observedCurrent = (t: TenantIsolation | undefined) => t?.status?.observedGeneration !== undefined && t.status.observedGeneration === t.metadata.generation;

/**
 * Walks the operator through every state; `behindHook` runs while `behind` is the live state
 * (operator stopped, spec changed), for checks that need the live object then.
 */
export async function tenantStates(w: StateWorld, behindHook: (name: string) => Promise<void> = async () => {}): Promise<TenantStates> {
  const { admin } = w;
  const tenant = async (name: string, spec: TenantIsolation['spec']) => {
    w.made.push(name);
    return admin.tenant(name, spec);
  };
  const reach = async (what: string, name: string, done: (t: TenantIsolation) => boolean): Promise<TenantIsolation> => {
    let last: TenantIsolation | undefined;
    try {
      return (await admin.until(
        what,
        async () => (last = await admin.getTenant(name)),
        (t) => t !== undefined && done(t),
      )) as TenantIsolation;
    } catch (error) {
      throw new Error(`${String(error)}; its last status: ${JSON.stringify(last?.status)}`, { cause: error });
    }
  };
  let stop = await w.start();

  // A new tenant whose first policy write is held in transit: the operator is writing it.
  const slowNs = w.uniqueName('gitops-slow');
  const slowName = w.uniqueName('gitops-onboarding');
  w.holdPolicyWrites(slowNs, 3_000);
  await admin.namespace(slowNs, { [TENANT_LABEL]: slowName });
  const fresh = await tenant(slowName, {});
  await admin.until(
    `the operator writes a policy in ${slowNs}`,
    async () => w.heldWrites(slowNs),
    (n) => n > 0,
  );
  const onboarding = (await admin.getTenant(slowName)) as TenantIsolation;
  w.holdPolicyWrites(undefined);

  const onboardedName = w.uniqueName('gitops-onboarded');
  await admin.namespace(w.uniqueName('gitops-onboarded-ns'), { [TENANT_LABEL]: onboardedName });
  await tenant(onboardedName, {});
  const onboarded = await reach(`${onboardedName} is Ready`, onboardedName, (t) => cond(t, 'Ready')?.status === 'True' && observedCurrent(t));

  const auditName = w.uniqueName('gitops-audit');
  await admin.namespace(w.uniqueName('gitops-audit-ns'), { [TENANT_LABEL]: auditName });
  await tenant(auditName, { mode: 'Audit' });
  const audit = await reach(`${auditName} is Ready in Audit`, auditName, (t) => cond(t, 'Ready')?.reason === 'AuditOnly');

  const shared = w.uniqueName('gitops-shared');
  await admin.namespace(shared);
  const [a, b] = [w.uniqueName('gitops-claim-a'), w.uniqueName('gitops-claim-b')];
  await tenant(a, { namespaces: [shared] });
  await tenant(b, { namespaces: [shared] });
  const conflict = await reach(`${a} reports the conflict`, a, (t) => cond(t, 'Conflict')?.status === 'True');

  // metadata.name is a DNS subdomain to the API server, and must be a DNS label to the compiler.
  const invalidName = `${w.uniqueName('gitops-invalid')}.v1`;
  await tenant(invalidName, {});
  const invalid = await reach(`${invalidName} reports InvalidSpec`, invalidName, (t) => cond(t, 'Ready')?.reason === 'InvalidSpec');

  await stop();
  // labelMembership true is what it was by default: a new generation that changes nothing else.
  await admin.tenant(onboardedName, { labelMembership: true });
  const behind = await admin.getTenant(onboardedName);
  if (!behind || behind.metadata.generation === onboarded.metadata.generation) throw new Error(`the spec change gave ${onboardedName} no new generation`);
  await behindHook(onboardedName);

  stop = await w.start();
  const caughtUp = await reach(
    `${onboardedName} observes generation ${behind.metadata.generation}`,
    onboardedName,
    (t) => observedCurrent(t) && cond(t, 'Ready')?.status === 'True',
  );
  await stop();
  return { fresh, onboarding, onboarded, audit, conflict, invalid, behind, caughtUp };
}

export interface GitopsWorld extends StateWorld {
  cluster: Cluster;
  admin: World;
  /** Stops what runs, deletes the tenants made, removes the temporary kubeconfig. */
  close(): Promise<void>;
}

/** The operator installed, reaching the API server through a proxy, one Lease name for its runs. */
export async function gitopsWorld(): Promise<GitopsWorld> {
  const world = cluster();
  const admin = new World(world.admin);
  await installForOperator(world);
  const proxy = await startApiProxyFor(world.operator);
  const dir = mkdtempSync(join(tmpdir(), 'netfence-gitops-health-'));
  const kubeconfig = join(dir, 'operator.kubeconfig');
  writeProxiedKubeconfig(kubeconfig, proxy, world.operator);
  const lease = uniqueName('gitops-lease');
  const running = new Set<() => Promise<void>>();
  const made: string[] = [];
  return {
    cluster: world,
    admin,
    made,
    uniqueName,
    start: async () => {
      const op = await runOperator(kubeconfig, ['--lease-name', lease]);
      const stop = async () => {
        running.delete(stop);
        const code = await op.stop();
        if (code !== 0) throw new Error(`the operator exited ${code}`);
      };
      running.add(stop);
      return stop;
    },
    holdPolicyWrites: (namespace, ms) =>
      proxy.hold(namespace === undefined ? undefined : (method, url) => method !== 'GET' && url.includes(`/namespaces/${namespace}/networkpolicies`), ms),
    heldWrites: (namespace) => proxy.log.filter((e) => e.held && e.url.includes(`/namespaces/${namespace}/networkpolicies`)).length,
    close: async () => {
      for (const stop of [...running]) await stop().catch(() => undefined);
      for (const name of made) await admin.deleteTenant(name).catch(() => undefined);
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
