/**
 * What the integration suites and the benches on a real kube-apiserver (bench/converge,
 * bench/scale, bench/kyverno through bench/apiserver-support) share: the repository and the
 * operator's namespace, kubeconfigs, manifests from the repo applied the way an admin applies
 * them, installing what `netfence run` needs, polling until the world reaches a state, and
 * reading the operator's /metrics.
 *
 * Guarantees: jest-free (no `describe`, no `expect`), so plain node runs it compiled into
 * dist/; every wait is bounded and names what it waited for, with the probe's last error.
 * Assumes: the admin identity is system:masters and the operator identity has exactly what
 * config/rbac grants once applied.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { CRD_NAME } from '../../../src/api/constants.js';
import { kubeClient, RESOURCES, resourcePath } from '../../../src/kube/client.js';
import { messageOf } from '../../fixtures/api-errors.js';
import { kustomizeBuild, readYamlFile } from '../../fixtures/kustomize.js';
import { OPERATOR_NAMESPACE, REPO_ROOT } from './repo.js';

export { OPERATOR_NAMESPACE, REPO_ROOT };

/** The two identities every control plane starts with. */
export interface Identities {
  /** system:masters. */
  admin: KubeConfig;
  /** The operator's ServiceAccount identity: only what RBAC grants it. */
  operator: KubeConfig;
}

export function kubeConfig(file: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(file);
  return config;
}

/** Every document of a YAML file in the repo, in order (empty documents dropped). */
export function readManifests(relativePath: string): KubernetesObject[] {
  return readYamlFile(join(REPO_ROOT, relativePath));
}

/** The objects of a kustomize folder of the repo (see test/fixtures/kustomize.ts), in order. */
export function readKustomization(relativeDir: string): KubernetesObject[] {
  return kustomizeBuild(join(REPO_ROOT, relativeDir));
}

/** Server-side apply, forcing ownership: what `kubectl apply --server-side --force-conflicts` does. */
export async function apply<T extends KubernetesObject>(config: KubeConfig, object: T, fieldManager = 'netfence-test'): Promise<T> {
  return KubernetesObjectApi.makeApiClient(config).patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `eventually` polls (20 s unless set), and how often: every `everyMs` when set, else after 25 ms doubling up to 500 ms. */
export interface Patience {
  timeoutMs?: number;
  everyMs?: number;
}

/** Polls `probe` until it returns a value other than undefined (a probe that throws is tried again); `patience` as a number is the timeout. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, patience: number | Patience = {}): Promise<T> {
  const { timeoutMs = 20_000, everyMs } = typeof patience === 'number' ? { timeoutMs: patience } : patience;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = everyMs ?? 25; performance.now() < deadline; delay = everyMs ?? Math.min(delay * 2, 500)) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(delay);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${lastError ? `; last error: ${messageOf(lastError)}` : ''}`);
}

export interface InstallOptions extends Patience {
  /** Field manager of the applies; `netfence-test` unless set. */
  fieldManager?: string;
}

/**
 * What `netfence run` needs, as an admin installs it: the CRD from crds/, the operator
 * namespace and config/rbac (server-side applies); resolves once the CRD is established and
 * the operator identity may list TenantIsolations and patch NetworkPolicies (the authorizer
 * sees new grants a little after they are written). Each of the two waits has `options`' patience.
 */
export async function installForOperator(world: Identities, options: InstallOptions = {}): Promise<void> {
  const { fieldManager, ...patience } = options;
  for (const object of readKustomization('crds')) await apply(world.admin, object, fieldManager);
  await apply(world.admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } }, fieldManager);
  for (const object of readKustomization('config/rbac')) await apply(world.admin, object, fieldManager);
  const admin = kubeClient(world.admin);
  await eventually(
    'the TenantIsolation CRD is established',
    async () => {
      const crd = await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
        method: 'GET',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
      });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    },
    patience,
  );
  const operator = kubeClient(world.operator);
  await eventually(
    'the operator may list TenantIsolations and patch NetworkPolicies',
    async () => {
      await operator.request({ method: 'GET', path: resourcePath(RESOURCES.tenantIsolations), query: { limit: 1 } });
      const review = await operator.request<{ status?: { allowed?: boolean } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies' } },
        },
      });
      return review.status?.allowed ? true : undefined;
    },
    patience,
  );
}

/** The series scrapeMetrics keeps: netfence's own, resident memory and the V8 heap. */
const SAMPLE = /^((?:netfence_[a-z_]+|process_resident_memory_bytes|nodejs_heap_size_(?:used|total)_bytes|nodejs_external_memory_bytes)(?:\{[^}]*\})?) ([0-9.e+-]+)$/;

/** The operator's /metrics on 127.0.0.1:`port` as `name{labels}` -> value: netfence_* samples, resident memory and V8 heap. */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m) values.set(m[1] as string, Number(m[2]));
  }
  return values;
}

/** Sum of the samples of `name` whose labels include every `label="value"` in `labels`. */
export function sumOf(metrics: ReadonlyMap<string, number>, name: string, labels: readonly string[] = []): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    if ((key === name || key.startsWith(`${name}{`)) && labels.every((l) => key.includes(l))) sum += value;
  }
  return sum;
}
