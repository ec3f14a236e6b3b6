/**
 * The harness can stop kube-apiserver and start it again on the same URL (for suites that
 * prove the operator survives an API server outage), without losing what etcd stores and
 * without leaving a process behind. Each test starts its own control plane, so the shared
 * one the other suites use never goes down.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { isUnavailable, provideBinaries, type Binaries } from '../control-plane/binaries.js';
import { startControlPlane, type ControlPlane } from '../control-plane/control-plane.js';
import { isRunning, readState, type ProcessRecord } from '../control-plane/supervisor.js';
import { ApiError, kubeClient, RESOURCES, resourcePath, type KubeClient } from '../../src/kube/client.js';
import { describeWithControlPlane, eventually, REPO_ROOT, rejectionOf, uniqueName } from './support/cluster.js';

const START_TIMEOUT_MS = 120_000;

async function binaries(): Promise<Binaries> {
  const found = await provideBinaries({ log: () => undefined });
  if (isUnavailable(found)) throw new Error(`no control-plane binaries: ${found.unavailable}`);
  return found;
}

function adminClient(plane: ControlPlane): KubeClient {
  const config = new KubeConfig();
  config.loadFromFile(plane.adminKubeconfig);
  return kubeClient(config);
}

function recorded(dir: string, name: string): ProcessRecord | undefined {
  return readState(dir)?.processes.find((p) => p.name === name);
}

async function createNamespace(api: KubeClient, name: string): Promise<void> {
  await api.request({ method: 'POST', path: resourcePath(RESOURCES.namespaces), body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
}

async function namespaceUid(api: KubeClient, name: string): Promise<string | undefined> {
  const ns = await api.request<{ metadata: { uid?: string } }>({ method: 'GET', path: resourcePath(RESOURCES.namespaces, { name }) });
  return ns.metadata.uid;
}

async function gone(pids: readonly number[]): Promise<true> {
  return eventually(`pids ${pids.join(', ')} have exited`, async () => (pids.some(isRunning) ? undefined : true), 10_000);
}

describeWithControlPlane('a control plane whose kube-apiserver restarts', () => {
  let plane: ControlPlane | undefined;

  afterEach(async () => {
    await plane?.stop();
    plane = undefined;
  });

  test(
    'serves what etcd stored before the restart, on the same URL, and stop leaves no process behind',
    async () => {
      plane = await startControlPlane({ binaries: await binaries(), log: () => undefined });
      const dir = plane.state.dir;
      const api = adminClient(plane);
      const name = uniqueName('restart');
      await createNamespace(api, name);
      const uid = await namespaceUid(api, name);
      const first = recorded(dir, 'kube-apiserver');
      const etcd = recorded(dir, 'etcd');
      expect(first && isRunning(first.pid)).toBe(true);

      await plane.stopApiserver();
      // Under load the old process can take a moment to be reaped after its last signal.
      await eventually('the old kube-apiserver has exited', async () => (isRunning(first?.pid ?? 0) ? undefined : true), 15_000);
      expect(readState(dir)?.processes.map((p) => p.name)).toEqual(['etcd']);
      const refused = await rejectionOf(() => namespaceUid(api, name));
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).status).toBe(0);
      expect((refused as ApiError).message).toMatch(/ECONNREFUSED/);
      await plane.stopApiserver(); // already stopped: nothing to do

      await plane.startApiserver();
      const second = recorded(dir, 'kube-apiserver');
      expect(second && isRunning(second.pid)).toBe(true);
      expect(second?.pid).not.toBe(first?.pid);
      expect(recorded(dir, 'etcd')).toEqual(etcd);
      // The same client, kubeconfig and URL: the object is the one created before.
      expect(await namespaceUid(api, name)).toBe(uid);
      await createNamespace(api, `${name}-after`);
      await plane.startApiserver(); // already running: nothing to do
      expect(recorded(dir, 'kube-apiserver')).toEqual(second);

      const watchdog = readState(dir)?.watchdogPid;
      await plane.stop();
      plane = undefined;
      await gone([second?.pid ?? 0, etcd?.pid ?? 0, watchdog ?? 0]);
      expect(existsSync(dir)).toBe(false);
    },
    START_TIMEOUT_MS,
  );

  test(
    'a restarted kube-apiserver is still ended by the watchdog when its owner is killed',
    async () => {
      const source = (file: string): string => pathToFileURL(join(REPO_ROOT, file)).href;
      // The owner: a separate Node that loads the harness from source, as global-setup.mjs does.
      const script = `
        import { existsSync } from 'node:fs';
        import { registerHooks } from 'node:module';
        import { fileURLToPath } from 'node:url';
        registerHooks({ resolve(specifier, context, next) {
          if (/^\\.\\.?\\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
            const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
            if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
          }
          return next(specifier, context);
        } });
        const { provideBinaries } = await import(${JSON.stringify(source('test/control-plane/binaries.ts'))});
        const { startControlPlane } = await import(${JSON.stringify(source('test/control-plane/control-plane.ts'))});
        const plane = await startControlPlane({ binaries: await provideBinaries({ log: () => {} }), log: () => {} });
        await plane.stopApiserver();
        await plane.startApiserver();
        process.stdout.write(plane.state.dir + '\\n');
        setInterval(() => {}, 60_000);
      `;
      const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      owner.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
      const dir = await new Promise<string>((resolveDir, reject) => {
        let stdout = '';
        owner.stdout.on('data', (chunk: Buffer) => {
          stdout += String(chunk);
          if (stdout.includes('\n')) resolveDir(stdout.trim());
        });
        owner.on('exit', (code) => reject(new Error(`the owner exited (${code}) before starting: ${stderr}`)));
      });
      const state = readState(dir);
      const pids = [...(state?.processes ?? []).map((p) => p.pid), state?.watchdogPid ?? 0];
      expect(state?.processes.map((p) => p.name)).toEqual(['etcd', 'kube-apiserver']);
      expect(pids.every(isRunning)).toBe(true);

      owner.kill('SIGKILL');
      await gone(pids);
      await eventually('the watchdog removed the folder', async () => (existsSync(dir) ? undefined : true), 10_000);
    },
    START_TIMEOUT_MS,
  );
});
