/**
 * Proves the integration harness: a real kube-apiserver with the CRD from crds/ (CEL rules
 * included), watches, server-side apply and RBAC behave as on a cluster, and the operator
 * identity gets exactly what config/rbac grants.
 */
import {
  ApiextensionsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { API_VERSION, CRD_NAME, FIELD_MANAGER, GROUP, KIND, PLURAL, VERSION } from '../../src/api/constants.js';
import {
  apply,
  cluster,
  describeWithControlPlane,
  eventually,
  messageOf,
  readKustomization,
  recordWatch,
  rejectionOf,
  statusOf,
  uniqueName,
  type Cluster,
  type WatchEvent,
} from './support/cluster.js';

const RBAC_DIR = 'config/rbac';
const CRD_DIR = 'crds';

describeWithControlPlane('the integration control plane', () => {
  let world: Cluster;

  beforeAll(async () => {
    world = cluster();
    for (const object of readKustomization(CRD_DIR)) await apply(world.admin, object);
    await eventually('the TenantIsolation CRD is established', async () => {
      const crd = await world.admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
      return condition(crd, 'Established') === 'True' ? crd : undefined;
    });
  });

  test('authenticates the admin and the operator as the users and groups it recorded', async () => {
    const whoAmI = async (config: KubeConfig) =>
      (
        await config.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        })
      ).status?.userInfo;

    const admin = await whoAmI(world.admin);
    expect(admin?.username).toBe(world.state.admin?.user);
    expect(admin?.groups).toEqual(expect.arrayContaining(['system:masters', 'system:authenticated']));

    const operator = await whoAmI(world.operator);
    expect(operator?.username).toBe(`system:serviceaccount:${world.state.operator?.namespace}:${world.state.operator?.serviceAccount}`);
    expect(operator?.groups).toEqual(expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${world.state.operator?.namespace}`, 'system:authenticated']));
    expect(operator?.groups).not.toContain('system:masters');
  });

  describe('with the TenantIsolation CRD from crds/', () => {
    const customObjects = (): CustomObjectsApi => world.admin.makeApiClient(CustomObjectsApi);
    const tenant = (name: string, spec: Record<string, unknown>) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec });
    const create = (body: object) => customObjects().createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body });

    test('establishes the CRD, serves v1alpha1 with a status subresource, and accepts a valid TenantIsolation', async () => {
      const crd = await world.admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
      expect(condition(crd, 'NamesAccepted')).toBe('True');
      expect(crd.spec.versions.find((v) => v.name === VERSION)?.subresources?.status).toBeDefined();

      const name = uniqueName('valid');
      await create(tenant(name, { namespaces: [uniqueName('ns')] }));
      const stored = (await customObjects().getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as KubernetesObject;
      expect(stored.metadata?.name).toBe(name);
      await customObjects().deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
    });

    // Each case breaks one x-kubernetes-validations rule; the expected message is read from
    // the CRD itself, so the test follows the schema's wording.
    test.each([
      {
        rule: 'a peer that sets two kinds of peer',
        ruleContains: 'has(self.tenant) ? 1 : 0',
        spec: { ingress: { from: [{ tenant: 'other', cidr: '10.0.0.0/8' }] } },
      },
      {
        rule: 'an except entry outside its cidr (Kubernetes CIDR library)',
        ruleContains: 'containsCIDR',
        spec: { egress: { to: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] } },
      },
    ])('rejects a TenantIsolation with $rule, giving that rule’s message', async ({ ruleContains, spec }) => {
      const message = celMessage(ruleContains);
      const error = await rejectionOf(() => create(tenant(uniqueName('invalid'), spec)));
      expect(statusOf(error)).toBe(422);
      expect(messageOf(error)).toContain(message);
    });
  });

  describe('Namespaces, Pods and NetworkPolicies', () => {
    let namespace: string;
    const runLabel = uniqueName('run');

    beforeAll(async () => {
      namespace = uniqueName('harness');
      await world.admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace, labels: { 'netfence-test/run': runLabel } } } });
    });

    const kinds: { kind: string; path: () => string; query?: () => Record<string, string>; object: (name: string) => KubernetesObject }[] = [
      {
        kind: 'Namespace',
        path: () => '/api/v1/namespaces',
        query: () => ({ labelSelector: `netfence-test/run=${runLabel}` }),
        object: (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'netfence-test/run': runLabel } } }),
      },
      {
        kind: 'Pod',
        path: () => `/api/v1/namespaces/${namespace}/pods`,
        object: (name) =>
          ({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace, labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
          }) as KubernetesObject,
      },
      {
        kind: 'NetworkPolicy',
        path: () => `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`,
        object: (name) =>
          ({
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'netfence' } },
            spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
          }) as KubernetesObject,
      },
    ];

    test.each(kinds)('a $kind is server-side applied, re-applied without change, and its watch sees it added and modified', async ({ path, query, object }) => {
      const name = uniqueName('applied');
      const watch = await recordWatch(world.admin, path(), query?.() ?? {});
      try {
        const first = await apply(world.admin, object(name), FIELD_MANAGER);
        await watch.next(`${name} is ADDED`, (e) => e.type === 'ADDED' && e.object.metadata?.name === name);
        expect(first.metadata?.managedFields).toEqual(expect.arrayContaining([expect.objectContaining({ manager: FIELD_MANAGER, operation: 'Apply' })]));

        const same = await apply(world.admin, object(name), FIELD_MANAGER);
        expect(same.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);

        const changed = object(name);
        changed.metadata = { ...changed.metadata, labels: { ...changed.metadata?.labels, 'netfence-test/step': 'two' } };
        await apply(world.admin, changed, FIELD_MANAGER);
        const modified = await watch.next(`${name} is MODIFIED with the new label`, (e) => isModifiedWith(e, name, 'netfence-test/step', 'two'));
        expect(modified.object.metadata?.labels?.['netfence-test/step']).toBe('two');
      } finally {
        watch.stop();
      }
    });

    test('a rival field manager that changes an applied field gets a conflict unless it forces', async () => {
      const name = uniqueName('owned');
      const policy = kinds[2]!.object(name) as KubernetesObject & { spec: Record<string, unknown> };
      await apply(world.admin, policy, FIELD_MANAGER);
      const rival = { ...policy, spec: { ...policy.spec, podSelector: { matchLabels: { app: 'other' } } } };
      const objects = KubernetesObjectApi.makeApiClient(world.admin);

      const conflict = await rejectionOf(() => objects.patch(rival, undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply));
      expect(statusOf(conflict)).toBe(409);
      expect(messageOf(conflict)).toContain(FIELD_MANAGER);

      const forced = await objects.patch(rival, undefined, undefined, 'someone-else', true, PatchStrategy.ServerSideApply);
      expect(forced.metadata?.managedFields?.find((f) => f.manager === 'someone-else')?.fieldsV1).toHaveProperty(['f:spec', 'f:podSelector']);
    });

    test('plain create, list and delete work, and the watch sees the deletion', async () => {
      const networking = world.admin.makeApiClient(NetworkingV1Api);
      const name = uniqueName('plain');
      const watch = await recordWatch(world.admin, kinds[2]!.path());
      try {
        await networking.createNamespacedNetworkPolicy({ namespace, body: { metadata: { name }, spec: { podSelector: {} } } });
        const listed = await networking.listNamespacedNetworkPolicy({ namespace });
        expect(listed.items.map((p) => p.metadata?.name)).toContain(name);
        await networking.deleteNamespacedNetworkPolicy({ namespace, name });
        await watch.next(`${name} is DELETED`, (e) => e.type === 'DELETED' && e.object.metadata?.name === name);
      } finally {
        watch.stop();
      }
    });

    test('a watch from a resourceVersion older than the server keeps ends with 410 Gone', async () => {
      // The control plane starts on an already compacted etcd: resourceVersion 1 is long gone.
      const watch = await recordWatch(world.admin, kinds[1]!.path(), { resourceVersion: '1' });
      try {
        const expired = await Promise.race([
          watch.next('the server reports an expired resourceVersion', (e) => e.type === 'ERROR').then((e) => e.object.code),
          watch.ended.then((error) => (error as { statusCode?: number; code?: number } | null)?.statusCode ?? (error as { code?: number } | null)?.code),
        ]);
        expect(expired).toBe(410);
      } finally {
        watch.stop();
      }
    });
  });

  describe('the operator identity, with config/rbac applied', () => {
    let operatorNamespace: string;
    let workNamespace: string;

    beforeAll(async () => {
      operatorNamespace = world.state.operator?.namespace ?? '';
      workNamespace = uniqueName('tenant-ns');
      const core = world.admin.makeApiClient(CoreV1Api);
      await apply(world.admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: operatorNamespace } });
      await core.createNamespace({ body: { metadata: { name: workNamespace } } });
      for (const object of readKustomization(RBAC_DIR)) await apply(world.admin, object);
      // RBAC reaches the authorizer through an informer: wait until the grant is visible.
      await eventually('the operator may list namespaces', async () => ((await canI(world.operator, { verb: 'list', resource: 'namespaces' })) ? true : undefined));
    });

    test('config/rbac binds the ServiceAccount the control plane authenticates the operator as', () => {
      const objects = readKustomization(RBAC_DIR);
      const accounts = objects.filter((o) => o.kind === 'ServiceAccount');
      expect(accounts.map((a) => `${a.metadata?.namespace}/${a.metadata?.name}`)).toEqual([`${world.state.operator?.namespace}/${world.state.operator?.serviceAccount}`]);
      const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') as (KubernetesObject & {
        subjects?: { kind: string; name: string; namespace?: string }[];
      })[];
      expect(bindings.length).toBeGreaterThan(0);
      for (const binding of bindings) {
        expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: world.state.operator?.serviceAccount, namespace: world.state.operator?.namespace }]);
      }
    });

    test('config/rbac grants no wildcard and nothing on Secrets', () => {
      const rules = readKustomization(RBAC_DIR).flatMap((o) => (o as { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] }).rules ?? []);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...(rule.verbs ?? [])]).not.toContain('*');
        expect(rule.resources).not.toContain('secrets');
      }
    });

    test('may do what config/rbac grants: read the world, apply and delete NetworkPolicies, write status, core Events and its Lease', async () => {
      const op = world.operator;
      await op.makeApiClient(CoreV1Api).listNamespace();
      await op.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      await op.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });

      const policy = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'netfence-default-deny', namespace: workNamespace },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      };
      await apply(op, policy, FIELD_MANAGER);
      await op.makeApiClient(NetworkingV1Api).deleteNamespacedNetworkPolicy({ namespace: workNamespace, name: policy.metadata.name });

      const name = uniqueName('granted');
      await world.admin.makeApiClient(CustomObjectsApi).createClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec: { namespaces: [workNamespace] } },
      });
      await op.makeApiClient(CustomObjectsApi).patchClusterCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          name,
          fieldManager: FIELD_MANAGER,
          force: true,
          body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, status: { observedGeneration: 1 } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );

      // Events about a cluster-scoped object live in `default`; about a namespaced one, in its namespace.
      const now = new Date();
      await op.makeApiClient(CoreV1Api).createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: 'netfence-' },
          involvedObject: { apiVersion: API_VERSION, kind: KIND, name },
          reason: 'Reconciled',
          message: 'core/v1 event from the operator identity',
          type: 'Normal',
          firstTimestamp: now,
          lastTimestamp: now,
        },
      });
      const leases = op.makeApiClient(CoordinationV1Api);
      const lease = await leases.createNamespacedLease({
        namespace: operatorNamespace,
        body: { metadata: { name: uniqueName('netfence-leader') }, spec: { holderIdentity: 'test' } },
      });
      const leaseName = lease.metadata?.name ?? '';
      const read = await leases.readNamespacedLease({ namespace: operatorNamespace, name: leaseName });
      await leases.replaceNamespacedLease({ namespace: operatorNamespace, name: leaseName, body: { ...read, spec: { ...read.spec, holderIdentity: 'test-2' } } });
    });

    // Every call is made by the operator identity and must come back 403 Forbidden.
    const refusals: { what: string; call: (op: KubeConfig, ctx: { operatorNamespace: string; workNamespace: string }) => Promise<unknown> }[] = [
      {
        // Created untyped: client-node 2.0.1 serializes eventTime (a MicroTime) with milliseconds,
        // which the API server refuses; it wants six fractional digits. The operator writes core/v1 Events only.
        what: 'creating an events.k8s.io/v1 Event',
        call: (op, c) =>
          KubernetesObjectApi.makeApiClient(op).create({
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { generateName: 'netfence-', namespace: c.workNamespace },
            eventTime: new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
            reportingController: 'netfence.dev/operator',
            reportingInstance: 'netfence-test',
            action: 'Apply',
            reason: 'PolicyCreated',
            regarding: { apiVersion: 'v1', kind: 'Namespace', name: c.workNamespace },
            note: 'events.k8s.io/v1 event from the operator identity',
            type: 'Normal',
          } as KubernetesObject),
      },
      { what: 'reading Secrets in its own namespace', call: (op, c) => op.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: c.operatorNamespace }) },
      { what: 'listing Secrets cluster-wide', call: (op) => op.makeApiClient(CoreV1Api).listSecretForAllNamespaces() },
      { what: 'reading ConfigMaps', call: (op, c) => op.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: c.workNamespace }) },
      { what: 'creating a Namespace', call: (op) => op.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: uniqueName('sneaky') } } }) },
      // It may patch Namespaces (the member label; the admission guard keeps it to that label), nothing more.
      {
        what: 'replacing a Namespace',
        call: (op, c) =>
          op.makeApiClient(CoreV1Api).replaceNamespace({ name: c.workNamespace, body: { metadata: { name: c.workNamespace, labels: { 'netfence.dev/tenant': 'x' } } } }),
      },
      { what: 'deleting a Namespace', call: (op, c) => op.makeApiClient(CoreV1Api).deleteNamespace({ name: c.workNamespace }) },
      {
        what: 'creating a Pod',
        call: (op, c) =>
          op.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: c.workNamespace, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } } }),
      },
      { what: 'deleting a Pod', call: (op, c) => op.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: c.workNamespace, name: 'p' }) },
      {
        what: 'creating a TenantIsolation',
        call: (op) =>
          op.makeApiClient(CustomObjectsApi).createClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: uniqueName('sneaky') }, spec: {} },
          }),
      },
      {
        what: 'changing a TenantIsolation’s spec',
        call: (op) => apply(op, { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'any' }, spec: { namespaces: ['kube-system'] } } as KubernetesObject),
      },
      {
        what: 'deleting a TenantIsolation',
        call: (op) => op.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: 'any' }),
      },
      { what: 'deleting the CRD', call: (op) => op.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: CRD_NAME }) },
      {
        what: 'creating a Lease outside its own namespace',
        call: (op, c) => op.makeApiClient(CoordinationV1Api).createNamespacedLease({ namespace: c.workNamespace, body: { metadata: { name: 'l' }, spec: {} } }),
      },
      { what: 'deleting its Lease', call: (op, c) => op.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace: c.operatorNamespace, name: 'netfence' }) },
      {
        what: 'granting itself more (a ClusterRoleBinding to cluster-admin)',
        call: (op) =>
          op.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
            body: {
              metadata: { name: uniqueName('escalate') },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
              subjects: [{ kind: 'ServiceAccount', name: 'netfence', namespace: 'netfence-system' }],
            },
          }),
      },
      {
        what: 'minting a token for its ServiceAccount',
        call: (op, c) =>
          op.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ namespace: c.operatorNamespace, name: 'netfence', body: { spec: { audiences: ['x'] } } }),
      },
    ];

    test.each(refusals)('is refused $what', async ({ call }) => {
      const error = await rejectionOf(() => call(world.operator, { operatorNamespace, workNamespace }));
      expect({ status: statusOf(error), message: messageOf(error) }).toEqual({ status: 403, message: expect.stringContaining('forbidden') as unknown });
    });

    test('may impersonate nobody', async () => {
      for (const resource of ['users', 'groups', 'serviceaccounts']) {
        expect(await canI(world.operator, { verb: 'impersonate', resource })).toBe(false);
      }
    });
  });
});

function condition(crd: V1CustomResourceDefinition, type: string): string | undefined {
  return crd.status?.conditions?.find((c) => c.type === type)?.status;
}

/** The message of the CRD's CEL rule whose expression contains `fragment`. */
function celMessage(fragment: string): string {
  const messages = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const rules = (node as { 'x-kubernetes-validations'?: { rule: string; message?: string }[] })['x-kubernetes-validations'];
      for (const rule of rules ?? []) if (rule.rule.includes(fragment) && rule.message) messages.add(rule.message);
      Object.values(node).forEach(visit);
    }
  };
  visit(readKustomization(CRD_DIR));
  const [message, ...others] = [...messages];
  if (!message || others.length > 0) {
    throw new Error(`expected exactly one CEL message for a rule containing ${JSON.stringify(fragment)} in ${CRD_DIR}/, found ${messages.size}`);
  }
  return message;
}

function isModifiedWith(event: WatchEvent, name: string, label: string, value: string): boolean {
  return event.type === 'MODIFIED' && event.object.metadata?.name === name && event.object.metadata?.labels?.[label] === value;
}

async function canI(config: KubeConfig, attributes: { verb: string; resource: string; group?: string; namespace?: string }): Promise<boolean> {
  const review = await config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } },
  });
  return review.status?.allowed === true;
}
