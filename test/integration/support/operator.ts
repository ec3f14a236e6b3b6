/**
 * Running the real operator (`startOperator`, what `netfence run` calls) in a suite: install
 * what it needs the way an admin would (installForOperator, from ./harness.ts: the CRD from
 * crds/, config/rbac, its namespace), run it with the operator identity, which has exactly
 * what config/rbac grants, and read the world back through the admin.
 */
import { Writable } from 'node:stream';
import type { NetworkPolicy } from '../../../src/api/k8s.js';
import type { TenantIsolation } from '../../../src/api/types.js';
import { runSettings, startOperator, type RunHandle } from '../../../src/cli/run.js';
import { isApiError, kubeClient, RESOURCES, resourcePath, type KubeClient } from '../../../src/kube/client.js';
import { eventually } from './harness.js';
import type { KubeConfig } from '@kubernetes/client-node';

/** Re-exported for the suites from the harness they share with the benches. */
export { installForOperator, OPERATOR_NAMESPACE, scrapeMetrics, sumOf } from './harness.js';

export interface RunningOperator extends RunHandle {
  logs: string[];
  stop(): Promise<number>;
}

/**
 * Starts the operator as `netfence run` would, with the operator identity and ports chosen by
 * the OS. A string is a kubeconfig file, passed as `--kubeconfig` so the operator's own loader
 * reads it (`cluster().state.operator.kubeconfig`); a KubeConfig object is handed over as is.
 */
export async function runOperator(config: KubeConfig | string, flags: string[] = []): Promise<RunningOperator> {
  const fromFile = typeof config === 'string' ? ['--kubeconfig', config] : [];
  const settings = runSettings(
    ['--metrics-port', '0', '--health-port', '0', '--bind-address', '127.0.0.1', '--resync-period', '1h', '--log-level', 'debug', ...fromFile, ...flags],
    {},
  );
  if (settings === 'help') throw new Error('unexpected help');
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const handle = await startOperator(settings, typeof config === 'string' ? { logStream } : { kubeConfig: config, logStream });
  return {
    ...handle,
    logs,
    stop: async () => {
      handle.shutDown();
      return handle.done;
    },
  };
}

export class World {
  readonly api: KubeClient;
  constructor(config: KubeConfig) {
    this.api = kubeClient(config);
  }

  async namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.api.request({
      method: 'PATCH',
      path: resourcePath(RESOURCES.namespaces, { name }),
      query: { fieldManager: 'netfence-test', force: true },
      contentType: 'application/apply-patch+yaml',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
    });
  }

  /** Replaces the namespace's labels with `labels` (merge patch with nulls for the rest). */
  async relabel(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.api.request({
      method: 'PATCH',
      path: resourcePath(RESOURCES.namespaces, { name }),
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels } },
    });
  }

  async tenant(name: string, spec: TenantIsolation['spec']): Promise<TenantIsolation> {
    return this.api.request<TenantIsolation>({
      method: 'PATCH',
      path: resourcePath(RESOURCES.tenantIsolations, { name }),
      query: { fieldManager: 'netfence-test', force: true },
      contentType: 'application/apply-patch+yaml',
      body: { apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name }, spec },
    });
  }

  async getTenant(name: string): Promise<TenantIsolation | undefined> {
    try {
      return await this.api.request<TenantIsolation>({ method: 'GET', path: resourcePath(RESOURCES.tenantIsolations, { name }) });
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw error;
    }
  }

  async deleteTenant(name: string): Promise<void> {
    await this.api.request({ method: 'DELETE', path: resourcePath(RESOURCES.tenantIsolations, { name }) });
  }

  async policies(namespace: string): Promise<NetworkPolicy[]> {
    const list = await this.api.request<{ items: NetworkPolicy[] }>({ method: 'GET', path: resourcePath(RESOURCES.networkPolicies, { namespace }) });
    return list.items;
  }

  async policyNames(namespace: string): Promise<string[]> {
    return (await this.policies(namespace)).map((p) => p.metadata.name).sort();
  }

  async events(tenant: string, namespace = 'default'): Promise<{ reason: string; type: string; message: string }[]> {
    const list = await this.api.request<{ items: { reason: string; type: string; message: string }[] }>({
      method: 'GET',
      path: resourcePath(RESOURCES.events, { namespace }),
      query: { fieldSelector: `involvedObject.name=${tenant},involvedObject.kind=TenantIsolation` },
    });
    return list.items;
  }

  /** Waits until `probe` returns a value that `done` accepts; returns that value. */
  async until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
    return eventually(
      what,
      async () => {
        const value = await probe();
        return done(value) ? value : undefined;
      },
      timeoutMs,
    );
  }
}

export function condition(tenant: TenantIsolation | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  return tenant?.status?.conditions?.find((c) => c.type === type);
}
