/**
 * config/admission's ValidatingAdmissionPolicy on a real API server of its own (it is
 * cluster-wide): applied with kubectl as an admin would, then tried by real identities with
 * ServiceAccount tokens the API server minted. A tenant whose RBAC allows every write it
 * attempts is refused by the guard, and only by it (the same writes without the guarded
 * label pass); the operator, cluster admins, the garbage collector and the namespace
 * controller of a terminating namespace are let through.
 *
 * The policy's `status.typeChecking` is written by kube-controller-manager, which does not
 * run here; with `failurePolicy: Fail` an expression that did not compile or evaluate would
 * refuse every matching request, so the writes that pass below also show that they do.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, MEMBER_LABEL, TENANT_LABEL } from '../../src/api/constants.js';
import { isApiError, kubeClient, RESOURCES, resourcePath, type KubeClient } from '../../src/kube/client.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { apply, describeWithControlPlane, eventually, kubeConfig } from './support/cluster.js';
import { kubectl, privateControlPlane, serviceAccountKubeconfig, type PrivatePlane } from './support/identities.js';
import { installForOperator, type World } from './support/operator.js';

const MANAGED = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

/** What the API server answered: 'ok', or the HTTP status and message of the refusal. */
async function attempt(call: () => Promise<unknown>): Promise<'ok' | { status: number; message: string }> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (isApiError(error)) return { status: error.status, message: error.message };
    throw error;
  }
}

const refusedByGuard = (what: RegExp): unknown => expect.objectContaining({ status: 403, message: expect.stringMatching(what) as unknown });
const TENANT_REFUSAL = /ValidatingAdmissionPolicy 'netfence-guard'.*may not set, change or remove the label netfence\.dev\/tenant/;
const MEMBER_REFUSAL = /ValidatingAdmissionPolicy 'netfence-guard'.*may not set, change or remove the label netfence\.dev\/member/;
const POLICY_REFUSAL = (verb: string) => new RegExp(`ValidatingAdmissionPolicy 'netfence-guard'.*may not ${verb} NetworkPolicy .*belong to the netfence operator`);

function createNamespace(api: KubeClient, name: string, labels: Record<string, string> = {}): Promise<unknown> {
  return api.request({ method: 'POST', path: resourcePath(RESOURCES.namespaces), body: { metadata: { name, labels } } });
}

function labelNamespace(api: KubeClient, name: string, labels: Record<string, string | null>): Promise<unknown> {
  return api.request({ method: 'PATCH', path: resourcePath(RESOURCES.namespaces, { name }), contentType: 'application/merge-patch+json', body: { metadata: { labels } } });
}

function createPolicy(api: KubeClient, namespace: string, name: string, labels: Record<string, string>): Promise<unknown> {
  return api.request({
    method: 'POST',
    path: resourcePath(RESOURCES.networkPolicies, { namespace }),
    body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, labels }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
  });
}

/** Opens the policy to all ingress: the edit a tenant would want to make. */
function openPolicy(api: KubeClient, namespace: string, name: string): Promise<unknown> {
  return api.request({
    method: 'PATCH',
    path: resourcePath(RESOURCES.networkPolicies, { namespace, name }),
    contentType: 'application/merge-patch+json',
    body: { spec: { ingress: [{}] } },
  });
}

function relabelPolicy(api: KubeClient, namespace: string, name: string, labels: Record<string, string | null>): Promise<unknown> {
  return api.request({
    method: 'PATCH',
    path: resourcePath(RESOURCES.networkPolicies, { namespace, name }),
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels } },
  });
}

function deletePolicy(api: KubeClient, namespace: string, name: string): Promise<unknown> {
  return api.request({ method: 'DELETE', path: resourcePath(RESOURCES.networkPolicies, { namespace, name }) });
}

describeWithControlPlane('the admission guard (config/admission) on a real API server', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let admin: World;
  /** May write namespaces and NetworkPolicies anywhere, by RBAC: only the guard stands in its way. */
  let tenant: KubeClient;
  /** The operator's identity, with exactly config/rbac. */
  let operator: KubeClient;
  /** A ServiceAccount bound to cluster-admin: an admin who is not in system:masters. */
  let platformAdmin: KubeClient;
  /** kube-system's garbage collector and namespace controller, with their bootstrap roles. */
  let garbageCollector: KubeClient;
  let namespaceController: KubeClient;

  beforeAll(async () => {
    started = await privateControlPlane();
    ({ plane, admin } = started);
    await installForOperator(started.world);
    const applied = kubectl(started.binaries, plane.adminKubeconfig, ['apply', '--server-side', '-k', 'config/admission']);
    if (applied.code !== 0) throw new Error(`kubectl apply -k config/admission failed: ${applied.stderr}`);

    const dir = mkdtempSync(join(tmpdir(), 'netfence-guard-'));
    const account = async (namespace: string, name: string) => kubeClient(kubeConfig(await serviceAccountKubeconfig(admin, plane.adminKubeconfig, { namespace, name }, dir)));
    await apply(started.world.admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'tenant-writer' },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'update', 'patch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete', 'deletecollection'] },
      ],
    } as never);
    const bind = (name: string, role: string, namespace: string, subject: string) =>
      apply(started.world.admin, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: subject, namespace }],
      } as never);
    await bind('tenant-writer', 'tenant-writer', 'team-a', 'deployer');
    await bind('platform-admin', 'cluster-admin', 'platform', 'admin');
    tenant = await account('team-a', 'deployer');
    platformAdmin = await account('platform', 'admin');
    // The API server's RBAC bootstrap binds these two controller ServiceAccounts to their roles.
    garbageCollector = await account('kube-system', 'generic-garbage-collector');
    namespaceController = await account('kube-system', 'namespace-controller');
    operator = kubeClient(started.world.operator);

    // The API server loads policies and bindings from an informer: wait until the guard acts.
    await eventually(
      'the guard refuses a labelled namespace',
      async () => {
        const result = await attempt(() => createNamespace(tenant, 'guard-probe', { [TENANT_LABEL]: 'probe' }));
        if (result === 'ok') await admin.api.request({ method: 'DELETE', path: resourcePath(RESOURCES.namespaces, { name: 'guard-probe' }) });
        return result !== 'ok' && TENANT_REFUSAL.test(result.message) ? true : undefined;
      },
      30_000,
    );
  }, 120_000);

  afterAll(async () => {
    await plane?.stop();
  }, 60_000);

  describe('the tenant label on namespaces', () => {
    test('a tenant may not create a namespace that carries it, and may create one without it', async () => {
      expect(await attempt(() => createNamespace(tenant, 'team-a-new', { [TENANT_LABEL]: 'bank' }))).toEqual(refusedByGuard(TENANT_REFUSAL));
      expect(await attempt(() => createNamespace(tenant, 'team-a-new', { team: 'a' }))).toBe('ok');
    });

    test('a tenant may not add, change or remove it, and may still edit its other labels', async () => {
      await createNamespace(admin.api, 'team-a-web');
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { [TENANT_LABEL]: 'bank' }))).toEqual(refusedByGuard(TENANT_REFUSAL));
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { [TENANT_LABEL]: '' }))).toEqual(refusedByGuard(TENANT_REFUSAL));
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { owner: 'team-a' }))).toBe('ok');

      await labelNamespace(admin.api, 'team-a-web', { [TENANT_LABEL]: 'team-a' });
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { [TENANT_LABEL]: 'bank' }))).toEqual(refusedByGuard(TENANT_REFUSAL));
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { [TENANT_LABEL]: null }))).toEqual(refusedByGuard(TENANT_REFUSAL));
      // Writing the value it already has is no change.
      expect(await attempt(() => labelNamespace(tenant, 'team-a-web', { [TENANT_LABEL]: 'team-a', owner: 'someone' }))).toBe('ok');
      const ns = await admin.api.request<{ metadata: { labels: Record<string, string> } }>({ method: 'GET', path: resourcePath(RESOURCES.namespaces, { name: 'team-a-web' }) });
      expect(ns.metadata.labels[TENANT_LABEL]).toBe('team-a');
    });

    test('a cluster admin outside system:masters may set, change and remove it', async () => {
      expect(await attempt(() => createNamespace(platformAdmin, 'platform-made', { [TENANT_LABEL]: 'bank' }))).toBe('ok');
      expect(await attempt(() => labelNamespace(platformAdmin, 'platform-made', { [TENANT_LABEL]: 'shop' }))).toBe('ok');
      expect(await attempt(() => labelNamespace(platformAdmin, 'platform-made', { [TENANT_LABEL]: null }))).toBe('ok');
    });

    test('system:masters may set it', async () => {
      expect(await attempt(() => createNamespace(admin.api, 'masters-made', { [TENANT_LABEL]: 'bank' }))).toBe('ok');
    });
  });

  describe('the member label on namespaces (generated rules admit a tenant by it)', () => {
    test('a tenant may not create a namespace that carries it, nor add, change or remove it', async () => {
      expect(await attempt(() => createNamespace(tenant, 'team-a-forged', { [MEMBER_LABEL]: 'bank' }))).toEqual(refusedByGuard(MEMBER_REFUSAL));
      await createNamespace(admin.api, 'team-a-api');
      expect(await attempt(() => labelNamespace(tenant, 'team-a-api', { [MEMBER_LABEL]: 'bank' }))).toEqual(refusedByGuard(MEMBER_REFUSAL));
      await labelNamespace(operator, 'team-a-api', { [MEMBER_LABEL]: 'team-a' });
      expect(await attempt(() => labelNamespace(tenant, 'team-a-api', { [MEMBER_LABEL]: 'bank' }))).toEqual(refusedByGuard(MEMBER_REFUSAL));
      expect(await attempt(() => labelNamespace(tenant, 'team-a-api', { [MEMBER_LABEL]: null }))).toEqual(refusedByGuard(MEMBER_REFUSAL));
      expect(await attempt(() => labelNamespace(tenant, 'team-a-api', { owner: 'team-a' }))).toBe('ok');
      const ns = await admin.api.request<{ metadata: { labels: Record<string, string> } }>({ method: 'GET', path: resourcePath(RESOURCES.namespaces, { name: 'team-a-api' }) });
      expect(ns.metadata.labels[MEMBER_LABEL]).toBe('team-a');
    });

    test('the operator may set, change and remove it, with its own RBAC', async () => {
      await createNamespace(admin.api, 'operator-labelled');
      expect(await attempt(() => labelNamespace(operator, 'operator-labelled', { [MEMBER_LABEL]: 'bank' }))).toBe('ok');
      expect(await attempt(() => labelNamespace(operator, 'operator-labelled', { [MEMBER_LABEL]: 'shop' }))).toBe('ok');
      expect(await attempt(() => labelNamespace(operator, 'operator-labelled', { [MEMBER_LABEL]: null }))).toBe('ok');
    });

    test('a cluster admin outside system:masters may set and remove it', async () => {
      expect(await attempt(() => createNamespace(platformAdmin, 'platform-member', { [MEMBER_LABEL]: 'bank' }))).toBe('ok');
      expect(await attempt(() => labelNamespace(platformAdmin, 'platform-member', { [MEMBER_LABEL]: null }))).toBe('ok');
    });
  });

  describe('NetworkPolicies labelled managed-by netfence', () => {
    const ns = 'fenced';

    beforeAll(async () => {
      await createNamespace(admin.api, ns, { [TENANT_LABEL]: 'bank' });
    });

    test('the operator may create, change and delete them', async () => {
      expect(await attempt(() => createPolicy(operator, ns, 'netfence-default-deny', MANAGED))).toBe('ok');
      expect(await attempt(() => openPolicy(operator, ns, 'netfence-default-deny'))).toBe('ok');
      expect(await attempt(() => deletePolicy(operator, ns, 'netfence-default-deny'))).toBe('ok');
    });

    test('a tenant may not change, unlabel or delete one, nor forge one; its own policies are its own', async () => {
      await createPolicy(operator, ns, 'netfence-allow-dns', MANAGED);
      expect(await attempt(() => openPolicy(tenant, ns, 'netfence-allow-dns'))).toEqual(refusedByGuard(POLICY_REFUSAL('update')));
      expect(await attempt(() => relabelPolicy(tenant, ns, 'netfence-allow-dns', { [MANAGED_BY_LABEL]: null }))).toEqual(refusedByGuard(POLICY_REFUSAL('update')));
      expect(await attempt(() => deletePolicy(tenant, ns, 'netfence-allow-dns'))).toEqual(refusedByGuard(POLICY_REFUSAL('delete')));
      expect(await attempt(() => createPolicy(tenant, ns, 'netfence-allow-everything', MANAGED))).toEqual(refusedByGuard(POLICY_REFUSAL('create')));

      expect(await attempt(() => createPolicy(tenant, ns, 'team-a-own', { team: 'a' }))).toBe('ok');
      expect(await attempt(() => openPolicy(tenant, ns, 'team-a-own'))).toBe('ok');
      expect(await attempt(() => relabelPolicy(tenant, ns, 'team-a-own', MANAGED))).toEqual(refusedByGuard(POLICY_REFUSAL('update')));
      expect(await attempt(() => deletePolicy(tenant, ns, 'team-a-own'))).toBe('ok');

      const kept = await admin.api.request<{ spec: { ingress?: unknown[] }; metadata: { labels: Record<string, string> } }>({
        method: 'GET',
        path: resourcePath(RESOURCES.networkPolicies, { namespace: ns, name: 'netfence-allow-dns' }),
      });
      expect(kept.spec.ingress).toBeUndefined();
      expect(kept.metadata.labels[MANAGED_BY_LABEL]).toBe(MANAGED_BY_VALUE);
    });

    test('a cluster admin outside system:masters may change and delete one', async () => {
      await createPolicy(operator, ns, 'netfence-allow-ingress', MANAGED);
      expect(await attempt(() => openPolicy(platformAdmin, ns, 'netfence-allow-ingress'))).toBe('ok');
      expect(await attempt(() => deletePolicy(platformAdmin, ns, 'netfence-allow-ingress'))).toBe('ok');
    });

    test('the garbage collector may delete one (its TenantIsolation is gone)', async () => {
      await createPolicy(operator, ns, 'netfence-allow-egress', MANAGED);
      expect(await attempt(() => deletePolicy(garbageCollector, ns, 'netfence-allow-egress'))).toBe('ok');
    });

    test('the namespace controller, and no one else, may delete one once its namespace is terminating', async () => {
      await createNamespace(admin.api, 'leaving', { [TENANT_LABEL]: 'bank' });
      await createPolicy(operator, 'leaving', 'netfence-default-deny', MANAGED);
      await createPolicy(operator, 'leaving', 'netfence-allow-dns', MANAGED);
      expect(await attempt(() => deletePolicy(namespaceController, 'leaving', 'netfence-default-deny'))).toEqual(refusedByGuard(POLICY_REFUSAL('delete')));
      // No namespace controller runs here: the namespace stays Terminating with its policy.
      await admin.api.request({ method: 'DELETE', path: resourcePath(RESOURCES.namespaces, { name: 'leaving' }) });
      // Once it terminates, the namespace controller may empty it; a tenant still may not.
      await admin.until(
        'the guard sees the namespace terminating',
        () => attempt(() => deletePolicy(namespaceController, 'leaving', 'netfence-default-deny')),
        (result) => result === 'ok',
      );
      expect(await attempt(() => deletePolicy(tenant, 'leaving', 'netfence-allow-dns'))).toEqual(refusedByGuard(POLICY_REFUSAL('delete')));
    });

    test('a deletecollection is checked item by item: the managed policies stay', async () => {
      await createPolicy(operator, ns, 'netfence-expose-web', MANAGED);
      const result = await attempt(() => tenant.request({ method: 'DELETE', path: resourcePath(RESOURCES.networkPolicies, { namespace: ns }) }));
      // The API server reports an item's refusal without the item's name, and with the
      // failed expression rather than the guard's message.
      expect(result).toEqual(refusedByGuard(/ValidatingAdmissionPolicy 'netfence-guard' with binding 'netfence-guard' denied request/));
      const left = await admin.policyNames(ns);
      expect(left).toContain('netfence-expose-web');
    });
  });
});
