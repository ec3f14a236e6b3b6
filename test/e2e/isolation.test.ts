/**
 * netfence end to end: the operator installed from config/default (through the test/e2e
 * overlay, with the image built from this checkout) on a kind cluster whose CNI, Calico,
 * enforces NetworkPolicy; the examples' tenants applied as a user would; and then real
 * connections between real pods, to show that the policies the operator writes keep tenants
 * apart, let DNS through, and keep the cloud metadata endpoint out of reach.
 *
 * Every "blocked" assertion is paired, in the same test, with a positive control that reaches
 * the same listener from somewhere else, so a server that is down or a probe that cannot run
 * fails the test instead of passing it (see support/network.ts for how outcomes are told
 * apart).
 *
 * Runs in GitHub Actions (.github/workflows/e2e.yaml), or on any machine with Docker; see
 * test/e2e/README.md. Tests run in order and share the setup of beforeAll; the last ones
 * change the cluster (guard refusals, a deleted policy) and come after the traffic tests.
 */
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  CRD_NAME,
  GROUP,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PLURAL,
  POLICY_NAMES,
  POLICY_TENANT_LABEL,
  SYSTEM_NAMESPACES,
  TENANT_LABEL,
  VERSION,
} from '../../src/api/constants.js';
import { INTERNET_BLOCKS } from '../../src/api/internet.js';
import type { TenantIsolation } from '../../src/api/types.js';
import { describeResult, eventually, kubectl, kubectlOk, loadKubeConfig, readManifestFolder, readManifests, REPO_ROOT, serverSideApply, statusOf } from './support/cluster.js';
import {
  expectBlocked,
  expectConnects,
  fakeCloudDaemonSet,
  FAKE_CLOUD_NAME,
  METADATA_ADDRESS,
  probePod,
  PROBE_CONTAINER,
  PROBE_LABELS,
  PROBE_PORT,
  PUBLIC_ADDRESS,
  type Client,
  type Target,
} from './support/network.js';

// --- What is installed and what the examples declare -------------------------------------

/** The overlay of config/default that uses the image built for this run. */
const OVERLAY_DIR = 'test/e2e';
const OPERATOR_NAMESPACE = 'netfence-system';
const OPERATOR_DEPLOYMENT = 'netfence-manager';
const OPERATOR_SELECTOR = 'app.kubernetes.io/name=netfence,app.kubernetes.io/component=manager';
const OPERATOR_IMAGE = 'netfence:e2e';
const LEASE_NAME = 'netfence-leader';
const METRICS_PORT = 8080;
const HEALTH_PORT = 8081;
const METRICS_SCRAPER_LABEL = 'netfence.dev/metrics-scraper';

/** The example inputs, read as `kubectl apply -f` would; only Namespaces and TenantIsolations are applied. */
const EXAMPLE_OBJECTS = (): KubernetesObject[] => [...readManifestFolder('examples/two-tenants'), ...readManifests('examples/internet-egress/cluster.yaml')];

/** Each example tenant and its member namespaces, as the examples' READMEs describe them. */
const EXPECTED_MEMBERS: Record<string, string[]> = {
  acme: ['acme-db', 'acme-web'],
  globex: ['globex-api'],
  payments: ['payments'],
  analytics: ['analytics'],
};
const BASE_POLICIES = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant];
/** The policies each member namespace must hold, exactly: payments and analytics declare egress. */
const EXPECTED_POLICIES: Record<string, string[]> = {
  'acme-web': BASE_POLICIES,
  'acme-db': BASE_POLICIES,
  'globex-api': BASE_POLICIES,
  payments: [...BASE_POLICIES, POLICY_NAMES.egress],
  analytics: [...BASE_POLICIES, POLICY_NAMES.egress],
};
const MEMBER_NAMESPACES = Object.keys(EXPECTED_POLICIES).sort();

// --- What the suite adds ------------------------------------------------------------------

/** In no tenant: positive controls (nothing restricts it). */
const UNFENCED = 'e2e-unfenced';
/** In no tenant, labelled as a metrics scraper for the operator's namespace. */
const SCRAPER = 'e2e-scraper';
/** The fake cloud's host-network pods (not a tenant member; privileged). */
const FAKE_CLOUD_NAMESPACE = 'e2e-metadata';
const SUITE_NAMESPACES = [UNFENCED, SCRAPER, FAKE_CLOUD_NAMESPACE];
/** Namespaces that get a `server` and a `client` probe pod. */
const PROBE_NAMESPACES = [...MEMBER_NAMESPACES, UNFENCED, SCRAPER];
/** A user who may edit namespaces and NetworkPolicies but not TenantIsolations: not a cluster admin to the guard. */
const EDITOR = 'netfence-e2e-namespace-editor';
/** Set to 1 to delete what the suite created (not the operator) when it ends. */
const CLEANUP_ENV = 'NETFENCE_E2E_CLEANUP';

const sorted = (values: readonly string[]): string[] => [...values].sort();
const isReady = (pod: V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const readyCondition = (tenant: TenantIsolation) => tenant.status?.conditions?.find((c) => c.type === 'Ready');

function namespaceManifest(name: string, labels: Record<string, string> = {}): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function editorRbac(): KubernetesObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: EDITOR },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: EDITOR },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: EDITOR },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: EDITOR }],
    } as KubernetesObject,
  ];
}

describe('netfence on a kind cluster with Calico', () => {
  let config: KubeConfig;
  let context: string;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let networking: NetworkingV1Api;
  let custom: CustomObjectsApi;
  let coordination: CoordinationV1Api;
  /** The `server` probe pod of each probe namespace, on PROBE_PORT. */
  const servers = new Map<string, Target>();

  const client = (namespace: string): Client => ({ namespace, pod: 'client' });
  const server = (namespace: string): Target => {
    const target = servers.get(namespace);
    if (!target) throw new Error(`no server probe pod recorded in ${namespace}`);
    return target;
  };
  const metadata = (port: number): Target => ({ name: `cloud metadata :${port}`, host: METADATA_ADDRESS, port });
  const publicAddress = (port: number): Target => ({ name: `public address :${port}`, host: PUBLIC_ADDRESS, port });
  const connects = (from: Client, to: Target): Promise<void> => expectConnects(context, from, to);
  const blocked = (from: Client, to: Target): Promise<void> => expectBlocked(context, from, to);

  async function getTenant(name: string): Promise<TenantIsolation> {
    return (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as TenantIsolation;
  }

  async function policies(namespace: string): Promise<V1NetworkPolicy[]> {
    return (await networking.listNamespacedNetworkPolicy({ namespace })).items;
  }

  async function readyPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(isReady);
  }

  async function managerPods(): Promise<V1Pod[]> {
    return readyPods(OPERATOR_NAMESPACE, OPERATOR_SELECTOR);
  }

  /** Runs a command in a probe pod's container (not a connection test: the caller reads the result). */
  function execIn(from: Client, command: string[]) {
    return kubectl(context, ['exec', '-n', from.namespace, from.pod, '-c', PROBE_CONTAINER, '--', ...command], { timeoutMs: 30_000 });
  }

  beforeAll(async () => {
    config = loadKubeConfig();
    context = config.getCurrentContext();
    core = config.makeApiClient(CoreV1Api);
    apps = config.makeApiClient(AppsV1Api);
    networking = config.makeApiClient(NetworkingV1Api);
    custom = config.makeApiClient(CustomObjectsApi);
    coordination = config.makeApiClient(CoordinationV1Api);

    // 1. Install netfence as the README says, with the image under test, and wait for it.
    await kubectlOk(context, ['apply', '--server-side', '--force-conflicts', '-k', join(REPO_ROOT, OVERLAY_DIR)], { timeoutMs: 120_000 });
    await kubectlOk(context, ['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=90s'], { timeoutMs: 120_000 });
    await kubectlOk(context, ['-n', OPERATOR_NAMESPACE, 'rollout', 'status', `deployment/${OPERATOR_DEPLOYMENT}`, '--timeout=300s'], { timeoutMs: 330_000 });

    // 2. The examples: their Namespaces (not kube-system, which exists) and TenantIsolations.
    // Pods are left out: they are placeholders for the offline tools, with made-up images.
    const examples = EXAMPLE_OBJECTS();
    const exampleNamespaces = examples.filter((o) => o.kind === 'Namespace' && !(SYSTEM_NAMESPACES as readonly string[]).includes(o.metadata?.name ?? ''));
    const exampleTenants = examples.filter((o) => o.kind === 'TenantIsolation');
    expect(sorted(exampleNamespaces.map((o) => o.metadata?.name ?? ''))).toEqual(MEMBER_NAMESPACES);
    expect(sorted(exampleTenants.map((o) => o.metadata?.name ?? ''))).toEqual(sorted(Object.keys(EXPECTED_MEMBERS)));
    for (const object of [...exampleNamespaces, ...exampleTenants]) await serverSideApply(config, object);

    // 3. The suite's own namespaces, probe pods, fake cloud and the guard test's user.
    await serverSideApply(config, namespaceManifest(UNFENCED));
    await serverSideApply(config, namespaceManifest(SCRAPER, { [METRICS_SCRAPER_LABEL]: 'true' }));
    await serverSideApply(config, namespaceManifest(FAKE_CLOUD_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'privileged' }));
    for (const namespace of PROBE_NAMESPACES) {
      await serverSideApply(config, probePod(namespace, 'server'));
      await serverSideApply(config, probePod(namespace, 'client'));
    }
    await serverSideApply(config, fakeCloudDaemonSet(FAKE_CLOUD_NAMESPACE));
    for (const object of editorRbac()) await serverSideApply(config, object);

    // 4. Wait for the operator's work and for every workload, all at once.
    const probeSelector = Object.entries(PROBE_LABELS)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    await Promise.all([
      eventually(
        'every member namespace holds its netfence policies',
        async (note) => {
          const missing: string[] = [];
          for (const namespace of MEMBER_NAMESPACES) {
            const names = (await policies(namespace)).map((p) => p.metadata?.name ?? '');
            for (const name of EXPECTED_POLICIES[namespace] ?? []) if (!names.includes(name)) missing.push(`${namespace}/${name}`);
          }
          note(`missing ${missing.join(', ')}`);
          return missing.length === 0 ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 2_000 },
      ),
      eventually(
        'every example TenantIsolation reports Ready=True for its current generation',
        async (note) => {
          const states: string[] = [];
          for (const name of Object.keys(EXPECTED_MEMBERS)) {
            const tenant = await getTenant(name);
            const ready = readyCondition(tenant);
            if (ready?.status !== 'True' || tenant.status?.observedGeneration !== tenant.metadata.generation) {
              states.push(
                `${name}: Ready=${ready?.status ?? 'absent'} (${ready?.reason ?? ''}: ${ready?.message ?? ''}), observed ${tenant.status?.observedGeneration} of ${tenant.metadata.generation}`,
              );
            }
          }
          note(states.join('; '));
          return states.length === 0 ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 2_000 },
      ),
      ...PROBE_NAMESPACES.map((namespace) =>
        eventually(
          `both probe pods in ${namespace} are Ready`,
          async (note) => {
            const pods = (await core.listNamespacedPod({ namespace, labelSelector: probeSelector })).items;
            note(
              pods.map((p) => `${p.metadata?.name}: ${p.status?.phase} ${p.status?.containerStatuses?.map((c) => JSON.stringify(c.state)).join(' ') ?? ''}`).join('; ') ||
                'no pods',
            );
            return pods.length === 2 && pods.every(isReady) ? true : undefined;
          },
          { timeoutMs: 300_000, intervalMs: 2_000 },
        ),
      ),
      eventually(
        'the fake cloud DaemonSet is Ready on every node',
        async (note) => {
          const ds = await apps.readNamespacedDaemonSet({ name: FAKE_CLOUD_NAME, namespace: FAKE_CLOUD_NAMESPACE });
          const s = ds.status;
          note(`desired ${s?.desiredNumberScheduled}, ready ${s?.numberReady}, updated ${s?.updatedNumberScheduled}`);
          return s && s.desiredNumberScheduled > 0 && s.numberReady === s.desiredNumberScheduled && s.updatedNumberScheduled === s.desiredNumberScheduled ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 2_000 },
      ),
    ]);

    // 5. Where the servers are; and the fake cloud's addresses really are on every node.
    for (const namespace of PROBE_NAMESPACES) {
      const pod = await core.readNamespacedPod({ name: 'server', namespace });
      const ip = pod.status?.podIP;
      if (!ip) throw new Error(`the server probe pod in ${namespace} has no IP`);
      servers.set(namespace, { name: `${namespace}/server`, host: ip, port: PROBE_PORT });
    }
    const cloudPods = await readyPods(FAKE_CLOUD_NAMESPACE, `app.kubernetes.io/name=${FAKE_CLOUD_NAME}`);
    for (const pod of cloudPods) {
      const out = await kubectlOk(context, ['exec', '-n', FAKE_CLOUD_NAMESPACE, pod.metadata?.name ?? '', '-c', 'http-80', '--', 'ip', '-o', 'addr', 'show', 'dev', 'lo']);
      for (const address of [METADATA_ADDRESS, PUBLIC_ADDRESS]) {
        if (!out.includes(`${address}/32`)) throw new Error(`node ${pod.spec?.nodeName} lacks ${address} on lo:\n${out}`);
      }
    }
  }, 900_000);

  afterAll(async () => {
    const flag = process.env[CLEANUP_ENV];
    if (!context || !flag || flag === '0') return;
    const del = (args: string[]) => kubectl(context, ['delete', '--ignore-not-found', '--wait=false', ...args]);
    await del(['namespace', ...SUITE_NAMESPACES, ...MEMBER_NAMESPACES]);
    await del([`${PLURAL}.${GROUP}`, ...Object.keys(EXPECTED_MEMBERS)]);
    await del(['clusterrolebinding,clusterrole', EDITOR]);
  }, 120_000);

  // --- The operator itself --------------------------------------------------------------

  describe('the operator', () => {
    test('runs two ready replicas of the image under test, one of which holds the leader Lease', async () => {
      const deployment = await apps.readNamespacedDeployment({ name: OPERATOR_DEPLOYMENT, namespace: OPERATOR_NAMESPACE });
      const container = deployment.spec?.template.spec?.containers.find((c) => c.name === 'manager');
      expect(container?.image).toBe(OPERATOR_IMAGE);
      expect(deployment.status?.readyReplicas).toBe(2);
      const pods = await managerPods();
      expect(pods).toHaveLength(2);
      const names = pods.map((p) => p.metadata?.name ?? '');
      const holder = await eventually(
        'a manager pod holds the leader Lease',
        async (note) => {
          const lease = await coordination.readNamespacedLease({ name: LEASE_NAME, namespace: OPERATOR_NAMESPACE });
          const identity = lease.spec?.holderIdentity ?? '';
          note(`holder "${identity}"`);
          return names.includes(identity) ? identity : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(names).toContain(holder);
    });

    test('writes exactly the expected policies into every member namespace, owned by the tenant, and reports each tenant Ready', async () => {
      for (const [tenantName, members] of Object.entries(EXPECTED_MEMBERS)) {
        const tenant = await getTenant(tenantName);
        expect({ tenant: tenantName, ready: readyCondition(tenant)?.status, members: tenant.status?.memberNamespaces }).toEqual({ tenant: tenantName, ready: 'True', members });
        for (const namespace of members) {
          const found = await policies(namespace);
          expect({ namespace, policies: sorted(found.map((p) => p.metadata?.name ?? '')) }).toEqual({ namespace, policies: sorted(EXPECTED_POLICIES[namespace] ?? []) });
          for (const policy of found) {
            expect({
              policy: `${namespace}/${policy.metadata?.name}`,
              managedBy: policy.metadata?.labels?.[MANAGED_BY_LABEL],
              tenant: policy.metadata?.labels?.[POLICY_TENANT_LABEL],
            }).toEqual({ policy: `${namespace}/${policy.metadata?.name}`, managedBy: MANAGED_BY_VALUE, tenant: tenantName });
            expect(policy.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid])).toEqual([['TenantIsolation', tenantName, tenant.metadata.uid]]);
          }
        }
      }
    });

    test('excludes the cloud metadata address from the CIDR payments declares, and not from the one analytics opts into', async () => {
      const blocksOf = async (namespace: string) =>
        (await networking.readNamespacedNetworkPolicy({ name: POLICY_NAMES.egress, namespace })).spec?.egress
          ?.flatMap((rule) => rule.to ?? [])
          .flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : [])) ?? [];
      const payments = await blocksOf('payments');
      const anywhere = payments.find((block) => block.cidr === '0.0.0.0/0');
      // The internet peer: link-local (metadata included), RFC 1918 and the other special ranges left out.
      expect([...(anywhere?.except ?? [])].sort()).toEqual(
        INTERNET_BLOCKS.find((b) => b.cidr === '0.0.0.0/0')
          ?.except.map((r) => r.cidr)
          .sort(),
      );
      expect(anywhere?.except).toEqual(expect.arrayContaining(['169.254.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']));
      const analytics = await blocksOf('analytics');
      expect(analytics).toEqual([expect.objectContaining({ cidr: `${METADATA_ADDRESS}/32` })]);
      expect(analytics[0]?.except ?? []).toEqual([]);
    });
  });

  // --- Traffic between pods ---------------------------------------------------------------

  describe('traffic between pods', () => {
    test("a pod reaches the pods of its own tenant, in its own namespace and in the tenant's other namespaces", async () => {
      await connects(client('acme-web'), server('acme-db'));
      await connects(client('acme-db'), server('acme-web'));
      await connects(client('acme-web'), server('acme-web'));
      await connects(client('globex-api'), server('globex-api'));
    });

    test('acme cannot reach globex, and globex cannot reach acme', async () => {
      // Controls: both servers answer pods of their own tenant.
      await connects(client('acme-db'), server('acme-web'));
      await connects(client('globex-api'), server('globex-api'));
      await blocked(client('acme-web'), server('globex-api'));
      await blocked(client('acme-db'), server('globex-api'));
      await blocked(client('globex-api'), server('acme-web'));
      await blocked(client('globex-api'), server('acme-db'));
    });

    test('a namespace in no tenant cannot reach into a tenant, and a tenant cannot reach out to it', async () => {
      await connects(client('acme-db'), server('acme-web'));
      await connects(client(UNFENCED), server(UNFENCED));
      await blocked(client(UNFENCED), server('acme-web'));
      await blocked(client('acme-web'), server(UNFENCED));
    });
  });

  // --- DNS and egress ---------------------------------------------------------------------

  describe('DNS and egress', () => {
    test('tenant pods resolve cluster names through the cluster DNS, over UDP and over TCP', async () => {
      const service = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
      const clusterIp = service.spec?.clusterIP;
      expect(clusterIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      for (const namespace of ['acme-web', 'globex-api', 'payments']) {
        for (const transport of ['+notcp', '+tcp']) {
          await eventually(
            `${namespace}/client resolves kubernetes.default over ${transport === '+tcp' ? 'TCP' : 'UDP'}`,
            async (note) => {
              const result = await execIn(client(namespace), ['dig', '+short', '+time=2', '+tries=2', transport, 'kubernetes.default.svc.cluster.local']);
              note(describeResult(result));
              return result.code === 0 &&
                result.stdout
                  .split('\n')
                  .map((l) => l.trim())
                  .includes(clusterIp ?? '')
                ? true
                : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 2_000 },
          );
        }
      }
    });

    test('the cluster DNS pods accept tenant pods on port 53 only', async () => {
      const dnsPods = await readyPods('kube-system', 'k8s-app=kube-dns');
      const dnsPod = dnsPods[0];
      if (!dnsPod?.status?.podIP) throw new Error('no ready cluster DNS pod (k8s-app=kube-dns) in kube-system');
      // Another TCP port the DNS pod serves (CoreDNS's metrics or health port), from its spec.
      const port = dnsPod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => (p.protocol ?? 'TCP') === 'TCP' && p.containerPort !== 53)?.containerPort;
      if (!port) throw new Error(`the DNS pod ${dnsPod.metadata?.name} declares no TCP port besides 53`);
      const other: Target = { name: `${dnsPod.metadata?.name} :${port}`, host: dnsPod.status.podIP, port };
      await connects(client(UNFENCED), other);
      await blocked(client('acme-web'), other);
    });

    test('a tenant that declares no egress cannot reach an address outside the cluster that an unfenced pod reaches', async () => {
      await connects(client(UNFENCED), publicAddress(443));
      await blocked(client('acme-web'), publicAddress(443));
      await blocked(client('globex-api'), publicAddress(443));
    });
  });

  // --- Cloud metadata ---------------------------------------------------------------------

  describe('cloud metadata', () => {
    test('payments reaches public addresses on 443 through its CIDR rule, but the metadata endpoint on no port', async () => {
      await connects(client(UNFENCED), metadata(443));
      await connects(client(UNFENCED), metadata(80));
      await connects(client(UNFENCED), publicAddress(80));
      await connects(client('payments'), publicAddress(443));
      await blocked(client('payments'), metadata(443));
      await blocked(client('payments'), metadata(80));
      // Only 443 is declared.
      await blocked(client('payments'), publicAddress(80));
    });

    test('analytics, which allows the metadata endpoint on port 80, reaches it there and nothing else outside the cluster', async () => {
      await connects(client('analytics'), metadata(80));
      await connects(client(UNFENCED), metadata(443));
      await connects(client(UNFENCED), publicAddress(443));
      await blocked(client('analytics'), metadata(443));
      await blocked(client('analytics'), publicAddress(443));
    });

    test('acme, which declares no egress, cannot reach the metadata endpoint', async () => {
      await connects(client(UNFENCED), metadata(80));
      await connects(client(UNFENCED), metadata(443));
      await blocked(client('acme-web'), metadata(80));
      await blocked(client('acme-web'), metadata(443));
    });
  });

  // --- The operator's own namespace, the guard, drift --------------------------------------

  describe("the operator's fences and guards", () => {
    test('serves metrics only to namespaces labelled netfence.dev/metrics-scraper=true, and health to no pod', async () => {
      const manager = (await managerPods())[0];
      const ip = manager?.status?.podIP;
      if (!manager || !ip) throw new Error('no ready manager pod with an IP');
      const metrics: Target = { name: `${manager.metadata?.name} metrics`, host: ip, port: METRICS_PORT };
      const health: Target = { name: `${manager.metadata?.name} health`, host: ip, port: HEALTH_PORT };
      // The scraper gets real metrics over HTTP, not just a TCP handshake.
      await eventually(
        `${SCRAPER}/client scrapes ${ip}:${METRICS_PORT}/metrics`,
        async (note) => {
          const result = await execIn(client(SCRAPER), ['curl', '-fsS', '--max-time', '5', `http://${ip}:${METRICS_PORT}/metrics`]);
          note(describeResult({ ...result, stdout: result.stdout.slice(0, 500) }));
          return result.code === 0 && /^netfence_/m.test(result.stdout) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 2_000 },
      );
      await blocked(client(UNFENCED), metrics);
      // Control for the health port: the kubelet's readiness probe reaches it (the pod is Ready).
      expect(isReady(manager)).toBe(true);
      await blocked(client(SCRAPER), health);
    });

    test("the admission guard refuses a non-admin's changes of the tenant label and of managed policies, and allows the rest", async () => {
      const as = `--as=${EDITOR}`;
      // Controls: RBAC lets the editor label namespaces and write NetworkPolicies of its own.
      // (Retried: a new ClusterRoleBinding reaches the authorizer's cache within moments.)
      await eventually(
        `${EDITOR} may label namespace acme-web`,
        async (note) => {
          const result = await kubectl(context, ['label', 'namespace', 'acme-web', 'e2e.netfence.dev/checked=yes', '--overwrite', as]);
          note(describeResult(result));
          return result.code === 0 ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
      const own = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'e2e-own', namespace: 'acme-web' },
        // Selects no pod: allows nothing to anyone.
        spec: { podSelector: { matchLabels: { 'e2e.netfence.dev/none': 'true' } }, policyTypes: ['Ingress'] },
      };
      await kubectlOk(context, ['create', '-f', '-', as], { input: JSON.stringify(own) });
      await kubectlOk(context, ['delete', 'networkpolicy', 'e2e-own', '-n', 'acme-web', as]);

      const denyBefore = await networking.readNamespacedNetworkPolicy({ name: POLICY_NAMES.defaultDeny, namespace: 'acme-web' });
      const refusals: [string, string[]][] = [
        ['move acme-web to another tenant', ['label', 'namespace', 'acme-web', `${TENANT_LABEL}=globex`, '--overwrite']],
        ['take acme-web out of its tenant', ['label', 'namespace', 'acme-web', `${TENANT_LABEL}-`]],
        ['label a namespace into a tenant', ['label', 'namespace', UNFENCED, `${TENANT_LABEL}=acme`]],
        ['delete a managed policy', ['delete', 'networkpolicy', POLICY_NAMES.defaultDeny, '-n', 'acme-web']],
        ['strip the managed-by label from a managed policy', ['label', 'networkpolicy', POLICY_NAMES.defaultDeny, '-n', 'acme-web', `${MANAGED_BY_LABEL}-`]],
      ];
      for (const [what, args] of refusals) {
        const result = await kubectl(context, [...args, as]);
        expect({ what, refused: result.code !== 0, byGuard: /netfence-guard/.test(result.stderr), detail: describeResult(result) }).toEqual({
          what,
          refused: true,
          byGuard: true,
          detail: expect.any(String) as unknown,
        });
      }

      // Nothing moved.
      const acmeWeb = await core.readNamespace({ name: 'acme-web' });
      expect(acmeWeb.metadata?.labels?.[TENANT_LABEL]).toBe('acme');
      const unfenced = await core.readNamespace({ name: UNFENCED });
      expect(unfenced.metadata?.labels?.[TENANT_LABEL]).toBeUndefined();
      const denyAfter = await networking.readNamespacedNetworkPolicy({ name: POLICY_NAMES.defaultDeny, namespace: 'acme-web' });
      expect(denyAfter.metadata?.uid).toBe(denyBefore.metadata?.uid);
      expect(denyAfter.metadata?.labels?.[MANAGED_BY_LABEL]).toBe(MANAGED_BY_VALUE);
    });

    test('restores a netfence-default-deny that a cluster admin deleted, within seconds', async () => {
      const namespace = 'acme-web';
      const before = await networking.readNamespacedNetworkPolicy({ name: POLICY_NAMES.defaultDeny, namespace });
      const oldUid = before.metadata?.uid;
      const started = Date.now();
      await networking.deleteNamespacedNetworkPolicy({ name: POLICY_NAMES.defaultDeny, namespace });
      const restored = await eventually(
        `${namespace}/${POLICY_NAMES.defaultDeny} is back`,
        async (note) => {
          try {
            const policy = await networking.readNamespacedNetworkPolicy({ name: POLICY_NAMES.defaultDeny, namespace });
            note(`uid ${policy.metadata?.uid} (deleted ${oldUid})`);
            return policy.metadata?.uid !== oldUid ? policy : undefined;
          } catch (error) {
            if (statusOf(error) === 404) {
              note('absent');
              return undefined;
            }
            throw error;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const elapsedMs = Date.now() - started;
      process.stdout.write(`${namespace}/${POLICY_NAMES.defaultDeny} restored ${elapsedMs} ms after its deletion\n`);
      expect(elapsedMs).toBeLessThan(15_000);
      expect(restored.metadata?.labels?.[MANAGED_BY_LABEL]).toBe(MANAGED_BY_VALUE);
      expect(restored.spec?.podSelector).toEqual({});
      expect(sorted(restored.spec?.policyTypes ?? [])).toEqual(['Egress', 'Ingress']);
      expect(restored.spec?.ingress ?? []).toEqual([]);
      expect(restored.spec?.egress ?? []).toEqual([]);
    });
  });
});
