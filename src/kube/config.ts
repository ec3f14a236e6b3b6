/**
 * Where the API server is and how to authenticate to it, without client-node.
 *
 * Importing `@kubernetes/client-node` costs about 90 MB of RSS, most of a 150 MB budget, and
 * the operator needs none of it for the credentials clusters usually hand out. So this
 * module reads kubeconfig files itself: a bearer token (inline or `tokenFile`), a client
 * certificate, Basic auth, and the in-cluster ServiceAccount. Users that run an `exec`
 * plugin or an `auth-provider`, and clusters behind a `proxy-url`, fall back to client-node,
 * imported only then.
 *
 * Which kubeconfig: `--kubeconfig`, else `$KUBECONFIG` (a path list; the files are merged,
 * the first definition of a name wins, `current-context` from the first file that sets one),
 * else `~/.kube/config` when it exists, else in-cluster (`KUBERNETES_SERVICE_HOST`/`_PORT`
 * and the ServiceAccount's token and CA). Relative paths in a file resolve against its folder.
 *
 * Guarantees: a problem with the configuration is a `KubeConfigError` that names the file,
 * the context and the field; token files (the in-cluster one and a user's `tokenFile`) are
 * read again at most once a minute, since bound tokens rotate.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { parse, stringify } from 'yaml';

export interface Connection {
  /** `https://host:port`, without a trailing slash. */
  server: string;
  /** TLS settings of the cluster and the client certificate; one for the whole process. */
  dispatcher: Dispatcher;
  /** Authentication headers for the next request (a fresh object each call). */
  headers: () => Promise<Record<string, string>>;
  /** Where the settings came from, for logs: `file (context NAME)` or `in-cluster`. */
  source: string;
}

export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before the file is read again. */
export const TOKEN_FILE_REFRESH_MS = 60_000;

export interface LoadOptions {
  /** `--kubeconfig`. */
  kubeconfig?: string | undefined;
  /** Default `process.env` (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`). */
  env?: NodeJS.ProcessEnv;
  /** Default `os.homedir()`: where `.kube/config` is looked for. */
  homeDir?: string;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** Default `fs.readFileSync`. */
  readFile?: (path: string) => Buffer;
  /** Default `Date.now`, for the token file refresh. */
  now?: () => number;
}

export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export type Auth = { type: 'none' } | { type: 'token'; token: string } | { type: 'tokenFile'; path: string } | { type: 'basic'; username: string; password: string };

/** What `loadConnection` decided, before it builds anything. */
export type ConnectionPlan =
  | { kind: 'native'; source: string; server: string; tls: TlsSettings; auth: Auth }
  /** Credentials this module does not handle: client-node takes `kubeconfig`, one context with absolute paths. */
  | { kind: 'client-node'; source: string; reason: string; kubeconfig: string };

type RawObject = Record<string, unknown>;

interface Named {
  entry: RawObject;
  /** The folder of the file that defined it: relative paths resolve against it. */
  dir: string;
  file: string;
}

interface Merged {
  files: string[];
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext: string | undefined;
}

const defaultReadFile = (path: string): Buffer => readFileSync(path);

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Decides where to connect and how to authenticate; reads every file it names. */
export function planConnection(options: LoadOptions = {}): ConnectionPlan {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? defaultReadFile;
  if (options.kubeconfig) return planFromFiles([options.kubeconfig], readFile, true);
  const list = env['KUBECONFIG'];
  if (list) {
    const files = list.split(delimiter).filter(Boolean);
    if (files.length > 0) return planFromFiles(files, readFile, false);
  }
  const home = join(options.homeDir ?? homedir(), '.kube', 'config');
  let homeText: Buffer | undefined;
  try {
    homeText = readFile(home);
  } catch (error) {
    if (!isMissing(error)) throw new KubeConfigError(`cannot read kubeconfig ${home}: ${reason(error)}`);
  }
  if (homeText !== undefined) return planFromMerged(merge([[home, homeText]]), readFile);
  return planInCluster(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, readFile);
}

function planFromFiles(paths: string[], readFile: (path: string) => Buffer, explicit: boolean): ConnectionPlan {
  const texts: [string, Buffer][] = [];
  for (const path of paths) {
    const file = resolve(path);
    try {
      texts.push([file, readFile(file)]);
    } catch (error) {
      // Like kubectl, names in $KUBECONFIG that do not exist are skipped.
      if (explicit || !isMissing(error)) throw new KubeConfigError(`cannot read kubeconfig ${file}: ${reason(error)}`);
    }
  }
  if (texts.length === 0) throw new KubeConfigError(`none of the kubeconfig files in $KUBECONFIG exists: ${paths.join(delimiter)}`);
  return planFromMerged(merge(texts), readFile);
}

function merge(texts: [string, Buffer][]): Merged {
  const merged: Merged = { files: [], clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined };
  for (const [file, text] of texts) {
    let doc: unknown;
    try {
      doc = parse(text.toString('utf8'));
    } catch (error) {
      throw new KubeConfigError(`kubeconfig ${file} is not valid YAML: ${reason(error)}`);
    }
    merged.files.push(file);
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new KubeConfigError(`kubeconfig ${file} is not a mapping`);
    const config = doc as RawObject;
    const dir = dirname(file);
    for (const [list, key, into] of [
      ['clusters', 'cluster', merged.clusters],
      ['users', 'user', merged.users],
      ['contexts', 'context', merged.contexts],
    ] as const) {
      const items = config[list];
      if (items === undefined || items === null) continue;
      if (!Array.isArray(items)) throw new KubeConfigError(`kubeconfig ${file}: ${list} is not a list`);
      for (const item of items as unknown[]) {
        const named = item as RawObject | null;
        const name = named?.['name'];
        if (typeof name !== 'string' || !name) throw new KubeConfigError(`kubeconfig ${file}: an entry of ${list} has no name`);
        if (into.has(name)) continue;
        const entry = named?.[key] ?? {};
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
          throw new KubeConfigError(`kubeconfig ${file}: ${list} ${JSON.stringify(name)}: ${key} is not a mapping`);
        into.set(name, { entry: entry as RawObject, dir, file });
      }
    }
    const current = config['current-context'];
    if (merged.currentContext === undefined && typeof current === 'string' && current) merged.currentContext = current;
  }
  return merged;
}

function planFromMerged(merged: Merged, readFile: (path: string) => Buffer): ConnectionPlan {
  const where = merged.files.join(delimiter);
  const contextName = merged.currentContext;
  if (!contextName) throw new KubeConfigError(`kubeconfig ${where} sets no current-context`);
  const context = merged.contexts.get(contextName);
  if (!context) throw new KubeConfigError(`kubeconfig ${where}: current-context ${JSON.stringify(contextName)} is not among its contexts`);
  const source = `${where} (context ${contextName})`;
  const clusterName = context.entry['cluster'];
  if (typeof clusterName !== 'string' || !clusterName) throw new KubeConfigError(`${source}: the context names no cluster`);
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) throw new KubeConfigError(`${source}: the context names cluster ${JSON.stringify(clusterName)}, which is not defined`);
  const userName = context.entry['user'];
  let user: Named | undefined;
  if (userName !== undefined && userName !== null && userName !== '') {
    if (typeof userName !== 'string') throw new KubeConfigError(`${source}: the context's user is not a name`);
    user = merged.users.get(userName);
    if (!user) throw new KubeConfigError(`${source}: the context names user ${JSON.stringify(userName)}, which is not defined`);
  }

  const c = cluster.entry;
  const u = user?.entry ?? {};
  const fallback = u['exec']
    ? 'the user runs an exec credential plugin'
    : u['auth-provider']
      ? 'the user has an auth-provider'
      : c['proxy-url']
        ? 'the cluster is reached through a proxy-url'
        : undefined;
  if (fallback) {
    return { kind: 'client-node', source, reason: fallback, kubeconfig: singleContextYaml(contextName, context, clusterName, cluster, userName as string | undefined, user) };
  }

  const clusterLabel = `${source}: cluster ${JSON.stringify(clusterName)}`;
  const userLabel = `${source}: user ${JSON.stringify(userName)}`;
  const server = stringField(c, 'server', clusterLabel);
  if (!server) throw new KubeConfigError(`${clusterLabel} has no server`);
  const tls: TlsSettings = {};
  const read = (path: string, label: string): Buffer => {
    try {
      return readFile(path);
    } catch (error) {
      throw new KubeConfigError(`${label}: cannot read ${path}: ${reason(error)}`);
    }
  };
  const dataOrFile = (named: Named, field: string, label: string): Buffer | undefined => {
    const data = stringField(named.entry, `${field}-data`, label);
    if (data) return Buffer.from(data, 'base64');
    const file = stringField(named.entry, field, label);
    return file ? read(resolvePath(named.dir, file), `${label} ${field}`) : undefined;
  };
  const ca = dataOrFile(cluster, 'certificate-authority', clusterLabel);
  if (ca) tls.ca = ca;
  if (c['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  const servername = stringField(c, 'tls-server-name', clusterLabel);
  if (servername) tls.servername = servername;

  let auth: Auth = { type: 'none' };
  if (user) {
    const cert = dataOrFile(user, 'client-certificate', userLabel);
    const key = dataOrFile(user, 'client-key', userLabel);
    if (cert && !key) throw new KubeConfigError(`${userLabel} has a client-certificate but no client-key`);
    if (key && !cert) throw new KubeConfigError(`${userLabel} has a client-key but no client-certificate`);
    if (cert && key) {
      tls.cert = cert;
      tls.key = key;
    }
    const token = stringField(u, 'token', userLabel);
    const tokenFile = stringField(u, 'tokenFile', userLabel);
    const username = stringField(u, 'username', userLabel);
    if (token) auth = { type: 'token', token };
    else if (tokenFile) {
      const path = resolvePath(user.dir, tokenFile);
      read(path, `${userLabel} tokenFile`);
      auth = { type: 'tokenFile', path };
    } else if (username) auth = { type: 'basic', username, password: stringField(u, 'password', userLabel) ?? '' };
  }
  return { kind: 'native', source, server: checkedServer(server, clusterLabel), tls, auth };
}

function stringField(entry: RawObject, field: string, label: string): string | undefined {
  const value = entry[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeConfigError(`${label}: ${field} is not a string`);
  return value;
}

function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

function checkedServer(server: string, label: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeConfigError(`${label}: server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KubeConfigError(`${label}: server ${JSON.stringify(server)} is not http or https`);
  return server.replace(/\/+$/, '');
}

/** The chosen context alone, with its file paths made absolute, for client-node to load. */
function singleContextYaml(contextName: string, context: Named, clusterName: string, cluster: Named, userName: string | undefined, user: Named | undefined): string {
  const absolute = (named: Named, fields: string[]): RawObject => {
    const copy: RawObject = { ...named.entry };
    for (const field of fields) {
      const value = copy[field];
      if (typeof value === 'string' && value) copy[field] = resolvePath(named.dir, value);
    }
    return copy;
  };
  const clusterEntry = absolute(cluster, ['certificate-authority']);
  const doc: RawObject = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: clusterEntry }],
    contexts: [{ name: contextName, context: context.entry }],
    'current-context': contextName,
    users: [],
  };
  if (user && userName) {
    const userEntry = absolute(user, ['client-certificate', 'client-key', 'tokenFile']);
    const exec = userEntry['exec'] as RawObject | undefined;
    // As kubectl does: a command with a slash is relative to the kubeconfig's folder.
    if (exec && typeof exec['command'] === 'string' && exec['command'].includes('/') && !isAbsolute(exec['command'])) {
      userEntry['exec'] = { ...exec, command: resolve(user.dir, exec['command']) };
    }
    doc['users'] = [{ name: userName, user: userEntry }];
  }
  return stringify(doc);
}

function planInCluster(env: NodeJS.ProcessEnv, dir: string, readFile: (path: string) => Buffer): ConnectionPlan {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new KubeConfigError(
      'no kubeconfig: --kubeconfig not given, $KUBECONFIG not set, no ~/.kube/config, and not in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)',
    );
  }
  const tokenPath = join(dir, 'token');
  const caPath = join(dir, 'ca.crt');
  const read = (path: string): Buffer => {
    try {
      return readFile(path);
    } catch (error) {
      throw new KubeConfigError(`in-cluster: cannot read the ServiceAccount's ${path}: ${reason(error)}`);
    }
  };
  read(tokenPath);
  const ca = read(caPath);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { kind: 'native', source: 'in-cluster', server, tls: { ca }, auth: { type: 'tokenFile', path: tokenPath } };
}

/** Loads the kubeconfig (or the in-cluster settings) and prepares the TLS agent and credentials. */
export async function loadConnection(options: LoadOptions = {}): Promise<Connection> {
  const plan = planConnection(options);
  if (plan.kind === 'client-node') {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const config = new KubeConfig();
    try {
      config.loadFromString(plan.kubeconfig);
    } catch (error) {
      throw new KubeConfigError(`${plan.source}: ${reason(error)}`);
    }
    return connectionFromKubeConfig(config, plan.source);
  }
  return nativeConnection(plan, options.readFile ?? defaultReadFile, options.now ?? Date.now);
}

function nativeConnection(plan: Extract<ConnectionPlan, { kind: 'native' }>, readFile: (path: string) => Buffer, now: () => number): Connection {
  const { tls, auth } = plan;
  const connect: Record<string, unknown> = { keepAlive: true, keepAliveInitialDelay: 30_000 };
  for (const [key, value] of Object.entries(tls)) if (value !== undefined) connect[key] = value;
  const dispatcher = new Agent({ connect });
  let headers: () => Promise<Record<string, string>>;
  switch (auth.type) {
    case 'none':
      headers = async () => ({});
      break;
    case 'token':
      headers = async () => ({ Authorization: `Bearer ${auth.token}` });
      break;
    case 'basic': {
      const value = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      headers = async () => ({ Authorization: value });
      break;
    }
    case 'tokenFile': {
      let token: string | undefined;
      let readAt = 0;
      headers = async () => {
        const t = now();
        if (token === undefined || t - readAt >= TOKEN_FILE_REFRESH_MS) {
          try {
            token = readFile(auth.path).toString('utf8').trim();
            readAt = t;
          } catch (error) {
            // A rotation in progress: keep the token we have, try again on the next request.
            if (token === undefined) throw new KubeConfigError(`${plan.source}: cannot read token file ${auth.path}: ${reason(error)}`);
          }
        }
        const result: Record<string, string> = {};
        if (token) result['Authorization'] = `Bearer ${token}`;
        return result;
      };
      break;
    }
  }
  return { server: plan.server, dispatcher, headers, source: plan.source };
}

/**
 * A Connection whose credentials come from a client-node KubeConfig (exec plugins,
 * auth-providers, or a KubeConfig a caller built). client-node makes a new undici Agent each
 * time it authenticates; the first one is kept for the whole process (TLS settings do not
 * change while a kubeconfig is loaded) and later ones are closed.
 */
export async function connectionFromKubeConfig(config: KubeConfig, source = 'KubeConfig'): Promise<Connection> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`${source}: the kubeconfig has no current cluster`);
  const server = cluster.server.replace(/\/+$/, '');
  const { RequestContext, HttpMethod } = await import('@kubernetes/client-node');
  const authenticate = async (): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }> => {
    const ctx = new RequestContext(server, HttpMethod.GET);
    await config.applySecurityAuthentication(ctx);
    return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
  };
  const first = await authenticate();
  const dispatcher = first.dispatcher ?? new Agent();
  let primed: Record<string, string> | undefined = first.headers;
  return {
    server,
    dispatcher,
    source,
    headers: async () => {
      if (primed) {
        const headers = primed;
        primed = undefined;
        return { ...headers };
      }
      const fresh = await authenticate();
      if (fresh.dispatcher && fresh.dispatcher !== dispatcher) void fresh.dispatcher.close();
      return fresh.headers;
    },
  };
}
