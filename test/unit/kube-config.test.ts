import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { kubeClient } from '../../src/kube/client.js';
import { KubeConfigError, loadConnection, planConnection, TOKEN_FILE_REFRESH_MS, type ConnectionPlan, type LoadOptions } from '../../src/kube/config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'netfence-kubeconfig-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

interface Entries {
  clusters?: Record<string, Record<string, unknown>>;
  users?: Record<string, Record<string, unknown>>;
  contexts?: Record<string, { cluster?: string; user?: string }>;
  current?: string;
}

function kubeconfig(path: string, entries: Entries): string {
  const file = join(dir, path);
  mkdirSync(join(file, '..'), { recursive: true });
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: Object.entries(entries.clusters ?? {}).map(([name, cluster]) => ({ name, cluster })),
    users: Object.entries(entries.users ?? {}).map(([name, user]) => ({ name, user })),
    contexts: Object.entries(entries.contexts ?? {}).map(([name, context]) => ({ name, context })),
  };
  if (entries.current) doc['current-context'] = entries.current;
  writeFileSync(file, stringify(doc));
  return file;
}

function simple(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://api.example:6443' }): Entries {
  return { clusters: { c: cluster }, users: { u: user }, contexts: { ctx: { cluster: 'c', user: 'u' } }, current: 'ctx' };
}

/** No $KUBECONFIG, an empty home, not in a cluster: only what a test adds. */
function options(extra: Partial<LoadOptions> = {}): LoadOptions {
  return { env: {}, homeDir: join(dir, 'home'), serviceAccountDir: join(dir, 'sa'), ...extra };
}

function native(plan: ConnectionPlan): Extract<ConnectionPlan, { kind: 'native' }> {
  if (plan.kind !== 'native') throw new Error(`expected a native plan, got ${plan.kind}: ${plan.reason}`);
  return plan;
}

describe('planConnection: kubeconfig files', () => {
  test('a token user: server, bearer token, CA from certificate-authority-data', () => {
    const file = kubeconfig('config', simple({ token: 'abc' }, { server: 'https://api.example:6443/', 'certificate-authority-data': b64('CA PEM') }));
    const plan = native(planConnection(options({ kubeconfig: file })));
    expect(plan.server).toBe('https://api.example:6443');
    expect(plan.auth).toEqual({ type: 'token', token: 'abc' });
    expect(plan.tls.ca?.toString()).toBe('CA PEM');
    expect(plan.source).toBe(`${file} (context ctx)`);
  });

  test('client certificate and key as data', () => {
    const file = kubeconfig('config', simple({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }));
    const plan = native(planConnection(options({ kubeconfig: file })));
    expect(plan.tls.cert?.toString()).toBe('CERT');
    expect(plan.tls.key?.toString()).toBe('KEY');
    expect(plan.auth).toEqual({ type: 'none' });
  });

  test('client certificate, key and CA as files, relative paths against the kubeconfig folder', () => {
    mkdirSync(join(dir, 'conf', 'pki'), { recursive: true });
    writeFileSync(join(dir, 'conf', 'pki', 'client.crt'), 'CERT FILE');
    writeFileSync(join(dir, 'conf', 'pki', 'client.key'), 'KEY FILE');
    writeFileSync(join(dir, 'ca.crt'), 'CA FILE');
    const file = kubeconfig(
      'conf/kubeconfig',
      simple(
        { 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'conf', 'pki', 'client.key') },
        { server: 'https://api.example', 'certificate-authority': '../ca.crt', 'tls-server-name': 'kubernetes', 'insecure-skip-tls-verify': true },
      ),
    );
    const plan = native(planConnection(options({ kubeconfig: file })));
    expect(plan.tls.cert?.toString()).toBe('CERT FILE');
    expect(plan.tls.key?.toString()).toBe('KEY FILE');
    expect(plan.tls.ca?.toString()).toBe('CA FILE');
    expect(plan.tls.servername).toBe('kubernetes');
    expect(plan.tls.rejectUnauthorized).toBe(false);
  });

  test('tokenFile resolves against the kubeconfig folder; username and password become Basic', () => {
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const withFile = native(planConnection(options({ kubeconfig: kubeconfig('a', simple({ tokenFile: 'token' })) })));
    expect(withFile.auth).toEqual({ type: 'tokenFile', path: join(dir, 'token') });
    const basic = native(planConnection(options({ kubeconfig: kubeconfig('b', simple({ username: 'me', password: 'pw' })) })));
    expect(basic.auth).toEqual({ type: 'basic', username: 'me', password: 'pw' });
  });

  test('$KUBECONFIG: files merged, first definition wins, current-context from the first file that sets one', () => {
    const first = kubeconfig('one', {
      clusters: { c: { server: 'https://first' } },
      users: { u: { token: 'first-token' } },
    });
    const second = kubeconfig('two', {
      clusters: { c: { server: 'https://second' } },
      users: { u: { token: 'second-token' }, other: { token: 'x' } },
      contexts: { ctx: { cluster: 'c', user: 'u' }, alt: { cluster: 'c', user: 'other' } },
      current: 'ctx',
    });
    const third = kubeconfig('three', { current: 'alt' });
    const plan = native(planConnection(options({ env: { KUBECONFIG: [first, join(dir, 'missing'), second, third].join(delimiter) } })));
    expect(plan.server).toBe('https://first');
    expect(plan.auth).toEqual({ type: 'token', token: 'first-token' });
    expect(plan.source).toContain('(context ctx)');
  });

  test('--kubeconfig wins over $KUBECONFIG, which wins over ~/.kube/config', () => {
    const home = kubeconfig('home/.kube/config', simple({ token: 'home' }));
    const env = kubeconfig('env', simple({ token: 'env' }));
    const flag = kubeconfig('flag', simple({ token: 'flag' }));
    const token = (o: LoadOptions) => (native(planConnection(o)).auth as { token: string }).token;
    expect(token(options())).toBe('home');
    expect(token(options({ env: { KUBECONFIG: env } }))).toBe('env');
    expect(token(options({ env: { KUBECONFIG: env }, kubeconfig: flag }))).toBe('flag');
    expect(home).toBe(join(dir, 'home', '.kube', 'config'));
  });

  test('clear errors: no current context, a missing context, cluster or user, unreadable files, a key without certificate', () => {
    const error = (entries: Entries) => {
      const file = kubeconfig(`bad-${Math.random()}`, entries);
      try {
        planConnection(options({ kubeconfig: file }));
      } catch (e) {
        expect(e).toBeInstanceOf(KubeConfigError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(error({ ...simple({ token: 'a' }), current: undefined })).toMatch(/sets no current-context/);
    expect(error({ ...simple({ token: 'a' }), current: 'nope' })).toMatch(/current-context "nope" is not among its contexts/);
    expect(error({ ...simple({ token: 'a' }), users: {} })).toMatch(/context names user "u", which is not defined/);
    expect(error({ ...simple({ token: 'a' }), clusters: {} })).toMatch(/context names cluster "c", which is not defined/);
    expect(error(simple({ token: 'a' }, {}))).toMatch(/cluster "c" has no server/);
    expect(error(simple({ token: 'a' }, { server: 'https://x', 'certificate-authority': 'nowhere.crt' }))).toMatch(/certificate-authority: cannot read .*nowhere\.crt/);
    expect(error(simple({ 'client-key-data': b64('KEY') }))).toMatch(/client-key but no client-certificate/);
    expect(() => planConnection(options({ kubeconfig: join(dir, 'absent') }))).toThrow(/cannot read kubeconfig .*absent/);
    expect(() => planConnection(options({ env: { KUBECONFIG: join(dir, 'absent') } }))).toThrow(/none of the kubeconfig files/);
    expect(() => planConnection(options())).toThrow(/no kubeconfig: .*not in a cluster/);
  });

  test('exec and auth-provider users, and proxy-url clusters, are left to client-node with the context alone and absolute paths', () => {
    mkdirSync(join(dir, 'conf'));
    const file = kubeconfig(
      'conf/config',
      simple({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bin/login', args: ['--x'] } }, { server: 'https://api', 'certificate-authority': 'ca.crt' }),
    );
    const plan = planConnection(options({ kubeconfig: file }));
    expect(plan.kind).toBe('client-node');
    if (plan.kind !== 'client-node') return;
    expect(plan.reason).toMatch(/exec/);
    expect(plan.kubeconfig).toContain(join(dir, 'conf', 'bin', 'login'));
    expect(plan.kubeconfig).toContain(join(dir, 'conf', 'ca.crt'));
    const provider = planConnection(options({ kubeconfig: kubeconfig('p', simple({ 'auth-provider': { name: 'oidc' } })) }));
    expect(provider.kind === 'client-node' && provider.reason).toMatch(/auth-provider/);
    const proxied = planConnection(options({ kubeconfig: kubeconfig('q', simple({ token: 'a' }, { server: 'https://api', 'proxy-url': 'http://proxy:3128' })) }));
    expect(proxied.kind).toBe('client-node');
  });
});

describe('planConnection: in-cluster', () => {
  const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

  test('server from the environment, CA and token from the ServiceAccount folder', () => {
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa', 'token'), 'sa-token');
    writeFileSync(join(dir, 'sa', 'ca.crt'), 'SA CA');
    const plan = native(planConnection(options({ env })));
    expect(plan).toMatchObject({ server: 'https://10.0.0.1:443', source: 'in-cluster', auth: { type: 'tokenFile', path: join(dir, 'sa', 'token') } });
    expect(plan.tls.ca?.toString()).toBe('SA CA');
    expect(native(planConnection(options({ env: { ...env, KUBERNETES_SERVICE_HOST: 'fd00::1' } }))).server).toBe('https://[fd00::1]:443');
  });

  test('a missing token is a clear error', () => {
    expect(() => planConnection(options({ env }))).toThrow(/in-cluster: cannot read the ServiceAccount's .*token/);
  });
});

describe('loadConnection', () => {
  test('re-reads a token file at most once a minute', async () => {
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa', 'token'), 'one\n');
    writeFileSync(join(dir, 'sa', 'ca.crt'), 'SA CA');
    let now = 1_000_000;
    const connection = await loadConnection(options({ env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '6443' }, now: () => now }));
    expect(await connection.headers()).toEqual({ Authorization: 'Bearer one' });
    writeFileSync(join(dir, 'sa', 'token'), 'two\n');
    now += TOKEN_FILE_REFRESH_MS - 1;
    expect(await connection.headers()).toEqual({ Authorization: 'Bearer one' });
    now += 1;
    expect(await connection.headers()).toEqual({ Authorization: 'Bearer two' });
    rmSync(join(dir, 'sa', 'token'));
    now += TOKEN_FILE_REFRESH_MS;
    expect(await connection.headers()).toEqual({ Authorization: 'Bearer two' });
    await connection.dispatcher.close();
  });

  test('kubeClient sends the credentials of a loaded kubeconfig', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ kind: 'NamespaceList', items: [] }));
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    try {
      const { port } = server.address() as AddressInfo;
      const file = kubeconfig('config', simple({ username: 'me', password: 'pw' }, { server: `http://127.0.0.1:${port}` }));
      const connection = await loadConnection(options({ kubeconfig: file }));
      const list = await kubeClient(connection).request<{ kind: string }>({ method: 'GET', path: '/api/v1/namespaces' });
      expect(list.kind).toBe('NamespaceList');
      expect(seen[0]?.authorization).toBe(`Basic ${b64('me:pw')}`);
      await connection.dispatcher.close();
    } finally {
      await new Promise((closed) => server.close(closed));
    }
  });

  test('an exec user gets its token from client-node, imported for it', async () => {
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } });
    const file = kubeconfig(
      'config',
      simple({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
          interactiveMode: 'Never',
        },
      }),
    );
    const connection = await loadConnection(options({ kubeconfig: file }));
    expect(connection.server).toBe('https://api.example:6443');
    expect((await connection.headers())['Authorization']).toBe('Bearer from-exec');
    expect((await connection.headers())['Authorization']).toBe('Bearer from-exec');
    await connection.dispatcher.close();
  });
});
