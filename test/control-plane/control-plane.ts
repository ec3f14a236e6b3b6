/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver, no
 * controller-manager, no scheduler, no kubelet.
 *
 * Guarantees:
 * - etcd listens on free 127.0.0.1 ports with a data dir inside the control plane's folder
 *   and no fsync; kube-apiserver serves https on a free 127.0.0.1 port with a certificate
 *   made at start, authenticates only by the bearer tokens in its token file, and
 *   authorizes with RBAC alone.
 * - Two identities: `admin` (group system:masters) and `operator`, which authenticates
 *   exactly as the ServiceAccount config/rbac binds would (user
 *   system:serviceaccount:<ns>:<name>, groups system:serviceaccounts and
 *   system:serviceaccounts:<ns>); it holds no permission until RBAC grants one.
 * - `start` resolves once /readyz answers 200; `stop` resolves once both processes are gone
 *   and the folder is removed. When the starting process dies first, its exit and signal
 *   handlers, or failing those the watchdog (see supervisor.ts), do the same.
 * Caveats (what a cluster has and this has not):
 * - no controllers: a deleted Namespace stays Terminating, ownerReferences are not
 *   garbage-collected, no ServiceAccount or token appears by itself, Pods are never
 *   scheduled and never run;
 * - the ServiceAccount admission plugin is off, as nothing would ever create the `default`
 *   ServiceAccount it requires for every Pod;
 * - the `kubernetes` Service gets no endpoints (--endpoint-reconciler-type=none: loopback
 *   addresses are not valid endpoints).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Binaries } from './binaries.js';
import { newServiceAccountKeys, newServingCertificates, newToken } from './certs.js';
import {
  entriesOf,
  isRunning,
  killNow,
  readState,
  removeFiles,
  runs,
  stopFromState,
  SUPERVISOR_SCRIPT,
  terminate,
  writeState,
  type ControlPlaneState,
  type ProcessRecord,
} from './supervisor.js';

export interface OperatorServiceAccount {
  namespace: string;
  name: string;
}

/** The ServiceAccount config/rbac binds; the integration suite checks the two agree. */
export const DEFAULT_OPERATOR: OperatorServiceAccount = { namespace: 'netfence-system', name: 'netfence' };

export interface StartOptions {
  binaries: Binaries;
  /** Folder for everything (certs, etcd data, logs, kubeconfigs, state.json); a new temp dir when absent. */
  dir?: string;
  operator?: OperatorServiceAccount;
  /**
   * Outlive this process (`control-plane up`): no watchdog, no exit handlers; only `stop`
   * or `control-plane down` ends it.
   */
  detached?: boolean;
  /** Keep the folder on stop (logs, for debugging); NETFENCE_CONTROL_PLANE_KEEP=1 sets it. */
  keepDir?: boolean;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ControlPlane {
  readonly state: Readonly<ControlPlaneState>;
  readonly server: string;
  readonly adminKubeconfig: string;
  readonly operatorKubeconfig: string;
  /** Milliseconds from the call to `start` until /readyz answered. */
  readonly startupMs: number;
  /**
   * Ends kube-apiserver alone (SIGTERM to its group, SIGKILL after 5 s) and drops it from
   * state.json; etcd and everything it stores stay. Clients then get connection refused.
   * Does nothing when it is already stopped.
   */
  stopApiserver(): Promise<void>;
  /**
   * Starts kube-apiserver again on the same port, with the same certificates, tokens and
   * etcd, and resolves once /readyz answers 200: kubeconfigs and `server` stay valid.
   * Does nothing when it already runs; fails after `stop`.
   */
  startApiserver(): Promise<void>;
  stop(): Promise<void>;
}

const ETCD_READY_TIMEOUT_MS = 30_000;
const DEFAULT_START_TIMEOUT_MS = 90_000;
const PORT_ATTEMPTS = 3;
const APISERVER = 'kube-apiserver';

export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`[control-plane] ${line}\n`));
  const operator = options.operator ?? DEFAULT_OPERATOR;
  const deadline = started + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);

  const { dir, ownsDir, before } = prepareDir(options.dir);
  const state: ControlPlaneState = {
    version: 1,
    dir,
    ownsDir,
    entries: [],
    processes: [],
    keepDir: options.keepDir ?? process.env['NETFENCE_CONTROL_PLANE_KEEP'] === '1',
  };
  const record = (...entries: string[]): void => {
    for (const entry of entries) if (!before.has(entry) && !state.entries.includes(entry)) state.entries.push(entry);
    writeState(state);
  };
  record('pki', 'logs', 'etcd-data', 'tokens.csv');

  const detachHandlers = options.detached ? () => undefined : installExitHandlers(dir);
  if (!options.detached) {
    state.watchdogPid = startWatchdog(dir);
    writeState(state);
  }

  let credentials: CredentialPaths | undefined;
  try {
    const paths = writeCredentials(dir, operator);
    state.caFile = paths.caFile;
    const etcd = await startEtcd(options.binaries.etcd, dir, state, deadline);
    state.etcd = etcd;
    writeState(state);
    const server = await startApiserver(options.binaries.kubeApiserver, dir, state, etcd, paths, deadline);
    state.server = server;
    credentials = paths;

    record('admin.kubeconfig', 'operator.kubeconfig');
    const kubeconfig = (user: string, token: string) => kubeconfigYaml(server, paths.caPem, user, token);
    writeFileSync(join(dir, 'admin.kubeconfig'), kubeconfig('admin', paths.adminToken), { mode: 0o600 });
    writeFileSync(join(dir, 'operator.kubeconfig'), kubeconfig('operator', paths.operatorToken), { mode: 0o600 });
    state.admin = { user: ADMIN_USER, groups: [...ADMIN_GROUPS], kubeconfig: join(dir, 'admin.kubeconfig') };
    state.operator = {
      user: operatorUser(operator),
      groups: operatorGroups(operator),
      kubeconfig: join(dir, 'operator.kubeconfig'),
      namespace: operator.namespace,
      serviceAccount: operator.name,
    };
    writeState(state);
  } catch (error) {
    await stopFromState(dir, 1000);
    detachHandlers();
    throw error;
  }

  const startupMs = Date.now() - started;
  log(`kube-apiserver ready at ${state.server} after ${(startupMs / 1000).toFixed(1)}s (${options.binaries.origin})`);
  let stopped: Promise<void> | undefined;
  // One stop or start of kube-apiserver at a time, and none once `stop` began.
  let restarts: Promise<void> = Promise.resolve();
  const serialized = (step: () => Promise<void>): Promise<void> => {
    const next = restarts.then(() => {
      if (stopped) throw new Error('the control plane was stopped');
      return step();
    });
    restarts = next.catch(() => undefined);
    return next;
  };
  const apiserverRecord = (): ProcessRecord | undefined => state.processes.find((p) => p.name === APISERVER);
  const server = state.server ?? '';
  const paths = credentials;
  const etcd = state.etcd ?? '';
  return {
    state,
    server,
    adminKubeconfig: join(dir, 'admin.kubeconfig'),
    operatorKubeconfig: join(dir, 'operator.kubeconfig'),
    startupMs,
    stopApiserver: () =>
      serialized(async () => {
        const record = apiserverRecord();
        if (!record) return;
        await terminate([record]);
        state.processes = state.processes.filter((p) => p !== record);
        writeState(state);
      }),
    startApiserver: () =>
      serialized(async () => {
        if (apiserverRecord()) return;
        const port = Number(new URL(server).port);
        const restartDeadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
        await startApiserver(options.binaries.kubeApiserver, dir, state, etcd, paths, restartDeadline, port);
        log(`kube-apiserver ready again at ${server}`);
      }),
    stop: () => {
      stopped ??= restarts.then(() => stopFromState(dir)).then(() => detachHandlers());
      return stopped;
    },
  };
}

/** Stops the control plane recorded in `dir` (from `up` or from a crashed run). */
export async function stopControlPlane(dir: string): Promise<boolean> {
  return stopFromState(resolve(dir));
}

/** The state of a control plane whose processes all still run, or undefined. */
export function runningControlPlane(dir: string): ControlPlaneState | undefined {
  const state = readState(resolve(dir));
  return state && state.server && state.processes.length === 2 && state.processes.every(runs) ? state : undefined;
}

// --- identities -------------------------------------------------------------------------

const ADMIN_USER = 'netfence-test-admin';
const ADMIN_GROUPS = ['system:masters'] as const;

function operatorUser(sa: OperatorServiceAccount): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

function operatorGroups(sa: OperatorServiceAccount): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`];
}

interface CredentialPaths {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  saPrivateKeyFile: string;
  saPublicKeyFile: string;
  tokenFile: string;
  adminToken: string;
  operatorToken: string;
}

function writeCredentials(dir: string, operator: OperatorServiceAccount): CredentialPaths {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const serving = newServingCertificates();
  const sa = newServiceAccountKeys();
  const files = {
    caFile: join(pki, 'ca.crt'),
    certFile: join(pki, 'apiserver.crt'),
    keyFile: join(pki, 'apiserver.key'),
    saPrivateKeyFile: join(pki, 'sa.key'),
    saPublicKeyFile: join(pki, 'sa.pub'),
    tokenFile: join(dir, 'tokens.csv'),
  };
  writeFileSync(files.caFile, serving.caCertPem);
  writeFileSync(files.certFile, serving.certPem);
  writeFileSync(files.keyFile, serving.keyPem, { mode: 0o600 });
  writeFileSync(files.saPrivateKeyFile, sa.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.saPublicKeyFile, sa.publicKeyPem);

  const adminToken = newToken();
  const operatorToken = newToken();
  // token,user,uid,"group1,group2" (kube-apiserver --token-auth-file)
  const tokenLines = [
    `${adminToken},${ADMIN_USER},${ADMIN_USER},"${ADMIN_GROUPS.join(',')}"`,
    `${operatorToken},${operatorUser(operator)},${operatorUser(operator)},"${operatorGroups(operator).join(',')}"`,
  ];
  writeFileSync(files.tokenFile, tokenLines.join('\n') + '\n', { mode: 0o600 });
  return { ...files, caPem: serving.caCertPem, adminToken, operatorToken };
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'netfence-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'netfence-test', user } }],
    'current-context': user,
  });
}

// --- processes --------------------------------------------------------------------------

function prepareDir(requested: string | undefined): { dir: string; ownsDir: boolean; before: Set<string> } {
  if (!requested) return { dir: mkdtempSync(join(tmpdir(), 'netfence-control-plane-')), ownsDir: true, before: new Set() };
  const dir = resolve(requested);
  const existed = existsSync(dir);
  if (existed && runningControlPlane(dir)) throw new Error(`a control plane already runs from ${dir}: stop it with \`down --dir ${requested}\``);
  mkdirSync(dir, { recursive: true });
  const before = entriesOf(dir);
  // A state left by a crash: its processes are gone, and its entries count as ours again.
  for (const entry of readState(dir)?.entries ?? []) before.delete(entry);
  return { dir, ownsDir: !existed, before };
}

async function startEtcd(exe: string, dir: string, state: ControlPlaneState, deadline: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort] = await freePorts(2);
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const args = [
      '--name=netfence-test',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=netfence-test=${peer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ];
    const proc = launch('etcd', exe, args, dir, state);
    const outcome = await waitFor(() => probeHttp(`${client}/health`), proc, Math.min(deadline, Date.now() + ETCD_READY_TIMEOUT_MS));
    if (outcome === 'ready') {
      await compactHistory(client);
      return client;
    }
    await retire(state, proc);
    const logTail = tail(join(dir, 'logs', 'etcd.log'));
    if (outcome === 'exited' && /address already in use/.test(logTail) && attempt < PORT_ATTEMPTS) continue;
    throw new Error(`etcd did not become healthy (${outcome}); last lines of its log:\n${logTail}`);
  }
}

/**
 * Writes one key outside the API server's prefix and compacts at it, so that the API server
 * starts on a history that is already compacted, as on any cluster that has run for a
 * while: a watch or list from resourceVersion 1 gets 410 Gone, from the watch cache too.
 * (On a fresh etcd the caches would start at revision 1, and no resourceVersion would ever
 * be too old until the caches overflow.)
 */
async function compactHistory(etcd: string): Promise<void> {
  const post = async (path: string, body: unknown): Promise<{ header?: { revision?: string } }> => {
    const response = await fetch(`${etcd}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status}: ${await response.text()}`);
    return (await response.json()) as { header?: { revision?: string } };
  };
  const base64 = (text: string): string => Buffer.from(text).toString('base64');
  const put = await post('/v3/kv/put', { key: base64('/netfence-test/compacted'), value: base64('true') });
  const revision = put.header?.revision;
  if (!revision) throw new Error(`etcd put returned no revision: ${JSON.stringify(put)}`);
  await post('/v3/kv/compaction', { revision, physical: true });
}

async function startApiserver(exe: string, dir: string, state: ControlPlaneState, etcd: string, paths: CredentialPaths, deadline: number, samePort?: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const port = samePort ?? (await freePorts(1))[0];
    const server = `https://127.0.0.1:${port}`;
    const args = [
      `--etcd-servers=${etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--tls-cert-file=${paths.certFile}`,
      `--tls-private-key-file=${paths.keyFile}`,
      `--token-auth-file=${paths.tokenFile}`,
      '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      `--service-account-key-file=${paths.saPublicKeyFile}`,
      `--service-account-signing-key-file=${paths.saPrivateKeyFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
    ];
    const proc = launch(APISERVER, exe, args, dir, state);
    const outcome = await waitFor(() => probeReadyz(server, paths), proc, deadline);
    if (outcome === 'ready') return server;
    await retire(state, proc);
    const logTail = tail(join(dir, 'logs', `${APISERVER}.log`));
    if (outcome === 'exited' && /address already in use/.test(logTail) && attempt < PORT_ATTEMPTS) {
      // A fixed port may still be held for a moment by whatever just let it go.
      if (samePort !== undefined) await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    throw new Error(`kube-apiserver did not become ready (${outcome}); last lines of its log:\n${logTail}`);
  }
}

interface Launched {
  record: ProcessRecord;
  exited: () => boolean;
}

/** Starts `exe` as the leader of a new process group, its output appended to logs/<name>.log. */
function launch(name: string, exe: string, args: string[], dir: string, state: ControlPlaneState): Launched {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const logFd = openSync(join(dir, 'logs', `${name}.log`), 'a');
  let exited = false;
  try {
    const child = spawn(exe, args, { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd] });
    child.unref();
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    if (child.pid === undefined) throw new Error(`could not start ${exe}`);
    const record = { name, pid: child.pid, exe };
    state.processes.push(record);
    writeState(state);
    return { record, exited: () => exited || !isRunning(record.pid) };
  } finally {
    closeSync(logFd);
  }
}

async function retire(state: ControlPlaneState, proc: Launched): Promise<void> {
  await terminate([proc.record], 1000);
  state.processes = state.processes.filter((p) => p !== proc.record);
  writeState(state);
}

type Outcome = 'ready' | 'exited' | 'timed out';

async function waitFor(probe: () => Promise<boolean>, proc: Launched, deadline: number): Promise<Outcome> {
  let delay = 50;
  while (Date.now() < deadline) {
    if (proc.exited()) return 'exited';
    if (await probe()) return 'ready';
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  return 'timed out';
}

function probeHttp(url: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = httpGet(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => req.destroy());
  });
}

function probeReadyz(server: string, paths: CredentialPaths): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = httpsRequest(`${server}/readyz`, { ca: paths.caPem, headers: { authorization: `Bearer ${paths.adminToken}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function freePorts(count: number): Promise<number[]> {
  // Hold every listener until all ports are known, so the same port is not handed out twice.
  const servers = Array.from({ length: count }, () => createServer());
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolvePromise, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolvePromise(typeof address === 'object' && address ? address.port : 0);
          });
        }),
    ),
  ).finally(() => Promise.all(servers.map((server) => new Promise((r) => server.close(r)))));
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// --- crash safety -----------------------------------------------------------------------

function startWatchdog(dir: string): number | undefined {
  const child = spawn(process.execPath, [SUPERVISOR_SCRIPT, '--watchdog', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * On exit or a terminating signal, kill what the state records and remove the files,
 * synchronously. Returns the function that removes the handlers again.
 */
function installExitHandlers(dir: string): () => void {
  const cleanup = (): void => {
    const state = readState(dir);
    if (!state) return;
    killNow(state.processes);
    if (state.watchdogPid !== undefined) {
      try {
        process.kill(state.watchdogPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    removeFiles(state);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    remove();
    process.kill(process.pid, signal); // the default action, now that our handler is gone
  };
  const remove = (): void => {
    process.off('exit', cleanup);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  process.on('exit', cleanup);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return remove;
}
