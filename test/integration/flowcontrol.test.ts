/**
 * config/flowcontrol on a real API server of its own (FlowSchemas are cluster-wide): applied
 * with kubectl as an admin would, then checked from what the API server itself reports. Each
 * response carries the uids of the FlowSchema and the priority level that classified its
 * request (X-Kubernetes-PF-FlowSchema-UID, X-Kubernetes-PF-PriorityLevel-UID), whatever its
 * status, so a request the operator's RBAC grants, sent as the operator's identity, shows
 * where the operator's real requests go; the same requests of other identities show that
 * only the operator's go there. The seat figures of the YAML's header come from the API
 * server's /metrics.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { apiserverMetrics } from '../../bench/apiserver-support.js';
import { RESOURCES, resourcePath, type ResourceRef } from '../../src/kube/client.js';
import { loadConnection, type Connection } from '../../src/kube/config.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import type { Manifest } from '../fixtures/kustomize.js';
import { describeWithControlPlane, eventually, readKustomization } from './support/cluster.js';
import { kubectl, privateControlPlane, serviceAccountKubeconfig, type PrivatePlane } from './support/identities.js';
import { installForOperator } from './support/operator.js';

const OPERATOR = { namespace: 'netfence-system', name: 'netfence' };
const SCHEMAS = ['netfence', 'netfence-leader-election'];

/** A Role, ClusterRole or one of their bindings, as far as this suite reads them. */
type RbacObject = Manifest & {
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
};

/** One request as the API server sees it for classification: who sends it is the caller's. */
interface Probe {
  /** `verb group/resource[/subresource]`, for failure messages. */
  label: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  resource?: string;
}

/** The uids the API server's response headers name; null where a header is missing. */
interface Classified {
  flowSchema: string | null;
  priorityLevel: string | null;
}

/** Sends `probe` and reports the API server's classification; the body is never read past the headers. */
async function classify(connection: Connection, probe: Probe): Promise<Classified> {
  const url = new URL(connection.server + probe.path);
  for (const [key, value] of Object.entries(probe.query ?? {})) url.searchParams.set(key, value);
  const headers = { ...(await connection.headers()), Accept: 'application/json', 'Content-Type': probe.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
  const body = probe.method === 'GET' || probe.method === 'DELETE' ? undefined : '{}';
  const response = await fetch(url, { method: probe.method, headers, body, dispatcher: connection.dispatcher });
  await response.body?.cancel();
  return {
    flowSchema: response.headers.get('X-Kubernetes-PF-FlowSchema-UID'),
    priorityLevel: response.headers.get('X-Kubernetes-PF-PriorityLevel-UID'),
  };
}

const METHOD: Record<string, Probe['method']> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE' };
const NAMED = new Set(['get', 'update', 'patch', 'delete']);

/**
 * One request per verb and resource that config/rbac grants the operator (the rules of every
 * Role and ClusterRole bound to its ServiceAccount), in the Role's namespace (`default` for a
 * ClusterRole) where a request names a namespace.
 * Writes are dry runs on a name that does not exist: the API server classifies a request
 * before it authorizes or serves it. The finalizers subresource is left out: admission checks
 * that permission on an owner reference, no request is ever sent to it.
 */
function grantedProbes(objects: readonly RbacObject[]): Probe[] {
  const bound = new Set(
    objects
      .filter((o) => o.roleRef && o.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === OPERATOR.name && s.namespace === OPERATOR.namespace))
      .map((o) => `${o.roleRef?.kind}/${o.roleRef?.name}`),
  );
  const roles = objects.filter((o) => bound.has(`${o.kind}/${o.metadata.name}`));
  if (roles.length === 0) throw new Error(`config/rbac binds no role to ${OPERATOR.namespace}/${OPERATOR.name}`);
  const probes: Probe[] = [];
  for (const role of roles) {
    const namespace = role.metadata.namespace ?? 'default';
    for (const rule of role.rules ?? []) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          const [plural, subresource] = resource.split('/');
          if (subresource === 'finalizers') continue;
          const ref: ResourceRef | undefined = Object.values(RESOURCES).find((r) => r.group === group && r.plural === plural);
          if (!ref) throw new Error(`config/rbac grants ${group}/${resource}, which src/kube/client.ts's RESOURCES does not know: add it there or here`);
          for (const verb of rule.verbs) {
            const method = METHOD[verb];
            if (!method) throw new Error(`config/rbac grants the verb ${verb} on ${group}/${resource}: teach this test its request`);
            const named = NAMED.has(verb) || subresource !== undefined;
            probes.push({
              label: `${verb} ${group}/${resource}`,
              method,
              path: resourcePath(ref, {
                ...(ref.namespaced && (named || verb === 'create') ? { namespace } : {}),
                ...(named ? { name: 'flowcontrol-probe' } : {}),
                ...(subresource ? { subresource } : {}),
              }),
              query: { ...(verb === 'watch' ? { watch: 'true', timeoutSeconds: '1' } : {}), ...(method === 'GET' ? {} : { dryRun: 'All' }) },
              resource: plural,
            });
          }
        }
      }
    }
  }
  return probes;
}

/** Non-resource requests (discovery, /version): the schema takes those of the identity too. */
const NON_RESOURCE: Probe[] = [
  { label: 'GET /version', method: 'GET', path: '/version' },
  { label: 'GET /apis', method: 'GET', path: '/apis' },
];

describeWithControlPlane('config/flowcontrol on a real API server', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let operator: Connection;
  /** uid of each FlowSchema and PriorityLevelConfiguration by `kind/name`, the built-in ones included. */
  const uid = new Map<string, string>();
  /** What config/rbac grants the operator. */
  let probes: Probe[];
  /** Those and NON_RESOURCE. */
  let every: Probe[];

  const uidOf = (kind: 'FlowSchema' | 'PriorityLevelConfiguration', name: string): string => {
    const found = uid.get(`${kind}/${name}`);
    if (!found) throw new Error(`no ${kind} ${name} on the API server`);
    return found;
  };
  const readUids = async (): Promise<void> => {
    for (const [kind, plural] of [
      ['FlowSchema', 'flowschemas'],
      ['PriorityLevelConfiguration', 'prioritylevelconfigurations'],
    ] as const) {
      const list = await started.admin.api.request<{ items: Manifest[] }>({ method: 'GET', path: `/apis/flowcontrol.apiserver.k8s.io/v1/${plural}` });
      for (const o of list.items) uid.set(`${kind}/${o.metadata.name}`, o.metadata.uid as string);
    }
  };
  /** Where the API server now files each probe sent with `connection`, by label. */
  const classifyAll = async (connection: Connection, sent: readonly Probe[]): Promise<Record<string, Classified>> => {
    const result: Record<string, Classified> = {};
    for (const probe of sent) result[probe.label] = await classify(connection, probe);
    return result;
  };
  const danglingOf = async (name: string): Promise<string | undefined> => {
    const schema = await started.admin.api.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
      method: 'GET',
      path: `/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/${name}`,
    });
    return schema.status?.conditions?.find((c) => c.type === 'Dangling')?.status;
  };
  const into = (flowSchema: string, priorityLevel: string) => ({ flowSchema: uidOf('FlowSchema', flowSchema), priorityLevel: uidOf('PriorityLevelConfiguration', priorityLevel) });

  beforeAll(async () => {
    started = await privateControlPlane();
    plane = started.plane;
    await installForOperator(started.world);
    const applied = kubectl(started.binaries, plane.adminKubeconfig, ['apply', '--server-side', '-k', 'config/flowcontrol']);
    if (applied.code !== 0) throw new Error(`kubectl apply -k config/flowcontrol failed: ${applied.stderr}`);
    await readUids();
    operator = await loadConnection({ kubeconfig: plane.operatorKubeconfig });
    probes = grantedProbes(readKustomization('config/rbac') as RbacObject[]);
    every = [...probes, ...NON_RESOURCE];
    // The API server loads FlowSchemas from an informer, and reports on each one (its Dangling
    // condition) once it classifies requests with it.
    await eventually('the API server has taken both FlowSchemas in', async () => {
      const conditions = await Promise.all(SCHEMAS.map((name) => danglingOf(name)));
      return conditions.every((c) => c !== undefined) ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
  }, 60_000);

  test('the folder holds the level netfence and its two FlowSchemas, and the API server finds the level each one names', async () => {
    const objects = readKustomization('config/flowcontrol') as Manifest[];
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([...SCHEMAS.map((name) => `FlowSchema/${name}`), 'PriorityLevelConfiguration/netfence']);
    for (const name of SCHEMAS) expect(await danglingOf(name)).toBe('False');
  });

  test('every request config/rbac grants the operator goes to the level netfence, its Lease requests to leader-election', async () => {
    expect(probes.map((p) => p.label)).toEqual(
      expect.arrayContaining([
        'list /namespaces',
        'watch /pods',
        'patch networking.k8s.io/networkpolicies',
        'patch netfence.dev/tenantisolations/status',
        'create /events',
        'update coordination.k8s.io/leases',
      ]),
    );
    const expected: Record<string, Classified> = {};
    for (const probe of every) expected[probe.label] = probe.resource === 'leases' ? into('netfence-leader-election', 'leader-election') : into('netfence', 'netfence');
    expect(await classifyAll(operator, every)).toEqual(expected);
  });

  test('no other identity is classified there: neither an admin, nor a ServiceAccount of the same name elsewhere, nor another one beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netfence-flowcontrol-'));
    const others = {
      admin: await loadConnection({ kubeconfig: plane.adminKubeconfig }),
      sameName: await loadConnection({ kubeconfig: await serviceAccountKubeconfig(started.admin, plane.adminKubeconfig, { namespace: 'elsewhere', name: OPERATOR.name }, dir) }),
      sameNamespace: await loadConnection({
        kubeconfig: await serviceAccountKubeconfig(started.admin, plane.adminKubeconfig, { namespace: OPERATOR.namespace, name: 'other' }, dir),
      }),
    };
    const everywhere = (flowSchema: string, priorityLevel: string) => Object.fromEntries(every.map((p) => [p.label, into(flowSchema, priorityLevel)]));
    expect(await classifyAll(others.admin, every)).toEqual(everywhere('exempt', 'exempt'));
    expect(await classifyAll(others.sameName, every)).toEqual(everywhere('service-accounts', 'workload-low'));
    expect(await classifyAll(others.sameNamespace, every)).toEqual(everywhere('service-accounts', 'workload-low'));
  });

  test('the level netfence has the seats the YAML states: 10 shares of 255, 24 seats nominally, 12 never lent', async () => {
    const levels = await started.admin.api.request<{ items: { metadata: { name: string }; spec: { limited?: { nominalConcurrencyShares?: number } } }[] }>({
      method: 'GET',
      path: '/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations',
    });
    const shares = (names: (name: string) => boolean) =>
      levels.items.filter((l) => names(l.metadata.name)).reduce((sum, l) => sum + (l.spec.limited?.nominalConcurrencyShares ?? 0), 0);
    expect(shares((name) => name !== 'netfence')).toBe(245);
    expect(shares((name) => name === 'netfence')).toBe(10);
    const metrics = await apiserverMetrics(plane.adminKubeconfig);
    const seats = (metric: string) => Number(new RegExp(`^${metric}\\{priority_level="netfence"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(seats('apiserver_flowcontrol_nominal_limit_seats')).toBe(24);
    expect(seats('apiserver_flowcontrol_lower_limit_seats')).toBe(12);
  });

  test('without the built-in level leader-election, the Lease requests go to the level netfence', async () => {
    await started.admin.api.request({ method: 'DELETE', path: '/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/leader-election' });
    const leases = probes.filter((p) => p.resource === 'leases');
    expect(leases.length).toBeGreaterThan(0);
    const netfence = into('netfence', 'netfence');
    await eventually('the API server passes over the dangling FlowSchema netfence-leader-election', async () => {
      const now = await classifyAll(operator, leases);
      return Object.values(now).every((c) => c.flowSchema === netfence.flowSchema && c.priorityLevel === netfence.priorityLevel) ? true : undefined;
    });
  });
});
