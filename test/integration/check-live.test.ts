/**
 * `netfence check --live` (and explain --live) on a control plane of its own, as an auditor
 * whose only permission is config/rbac's `netfence-auditor` ClusterRole (list, nothing else):
 * open before the operator runs, proven closed once it has converged, and failing again when
 * someone adds a policy that opens a tenant.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLICY_NAMES, TENANT_LABEL } from '../../src/api/constants.js';
import { isApiError, resourcePath, RESOURCES } from '../../src/kube/client.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { runNetfence } from '../fixtures/cli.js';
import { apply, describeWithControlPlane, kubeConfig, readManifests, uniqueName } from './support/cluster.js';
import { privateControlPlane, serviceAccountKubeconfig } from './support/identities.js';
import { installForOperator, OPERATOR_NAMESPACE, runOperator, World, type RunningOperator } from './support/operator.js';

async function createPod(admin: World, namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  await admin.api.request({
    method: 'POST',
    path: resourcePath(RESOURCES.pods, { namespace }),
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: { containers: [{ name: 'main', image: 'registry.invalid/app', ports: [{ name: 'http', containerPort: 8080 }] }] },
    },
  });
}

describeWithControlPlane('netfence check --live on a real API server', () => {
  let plane: ControlPlane;
  let admin: World;
  let auditor: string;
  let nobody: string;
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    const started = await privateControlPlane();
    ({ plane, admin } = started);
    const world = started.world;
    await installForOperator(world);
    const dir = mkdtempSync(join(tmpdir(), 'netfence-auditor-'));
    auditor = await serviceAccountKubeconfig(admin, plane.adminKubeconfig, { namespace: OPERATOR_NAMESPACE, name: 'auditor' }, dir);
    nobody = await serviceAccountKubeconfig(admin, plane.adminKubeconfig, { namespace: OPERATOR_NAMESPACE, name: 'nobody' }, dir);
    const role = readManifests('config/rbac/auditor_role.yaml')[0];
    if (role?.kind !== 'ClusterRole') throw new Error('config/rbac/auditor_role.yaml holds no ClusterRole');
    await apply(world.admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'netfence-auditor-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name },
      subjects: [{ kind: 'ServiceAccount', name: 'auditor', namespace: OPERATOR_NAMESPACE }],
    } as never);

    await admin.tenant('bank', { ingress: { from: [{ tenant: 'shop', ports: [{ port: 8080 }] }] } });
    await admin.tenant('shop', { egress: { to: [{ tenant: 'bank', ports: [{ port: 8080 }] }] } });
    await admin.namespace('shop-web', { [TENANT_LABEL]: 'shop' });
    await admin.namespace('bank-api', { [TENANT_LABEL]: 'bank' });
    await admin.namespace('ops');
    await createPod(admin, 'shop-web', 'web', { app: 'web' });
    await createPod(admin, 'bank-api', 'api', { app: 'api' });
    await createPod(admin, 'ops', 'tool', { app: 'tool' });
    await createPod(admin, 'kube-system', 'coredns', { 'k8s-app': 'kube-dns' });
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    await plane?.stop();
  }, 60_000);

  test('the auditor identity may list and may not write', async () => {
    const asAuditor = new World(kubeConfig(auditor));
    expect((await asAuditor.api.request<{ items: unknown[] }>({ method: 'GET', path: resourcePath(RESOURCES.pods) })).items.length).toBeGreaterThanOrEqual(4);
    const write = await asAuditor.api
      .request({ method: 'POST', path: resourcePath(RESOURCES.networkPolicies, { namespace: 'ops' }), body: { metadata: { name: 'x' }, spec: { podSelector: {} } } })
      .catch((e: unknown) => e);
    expect(isApiError(write, 403)).toBe(true);
  });

  test('fails while no policy is in place: every tenant is open', async () => {
    const r = await runNetfence(['check', '--live', '--kubeconfig', auditor]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('netfence check: live cluster');
    expect(r.stdout).toContain('FAIL  tenant bank: no policy selects pods in bank-api, so nothing stops paths across its fence\n      enters on any port: ');
  });

  test('passes once the operator has written the policies, and fails again when a hand-written policy opens a tenant', async () => {
    op = await runOperator(kubeConfig(plane.operatorKubeconfig), ['--lease-name', uniqueName('lease')]);
    const base = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant];
    await admin.until(
      'shop-web is fenced',
      () => admin.policyNames('shop-web'),
      (n) => [...base, POLICY_NAMES.egress].every((x) => n.includes(x)),
    );
    await admin.until(
      'bank-api is fenced',
      () => admin.policyNames('bank-api'),
      (n) => [...base, POLICY_NAMES.ingress].every((x) => n.includes(x)),
    );
    const closed = await runNetfence(['check', '--live', '--kubeconfig', auditor]);
    expect(closed.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(closed.code).toBe(0);

    const declared = await runNetfence(['explain', '--live', '--kubeconfig', auditor, 'shop-web/web', 'bank-api/api', '--port', '8080']);
    expect(declared.stdout).toContain('fence: leaves tenant shop: declared on TCP 8080');
    expect(declared.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: allowed');

    await admin.api.request({
      method: 'POST',
      path: resourcePath(RESOURCES.networkPolicies, { namespace: 'bank-api' }),
      body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'debug-open' }, spec: { podSelector: {}, ingress: [{}] } },
    });
    const opened = await runNetfence(['check', '--live', '--verbose', '--kubeconfig', auditor]);
    expect(opened.code).toBe(1);
    expect(opened.stdout).toContain('FAIL  tenant bank: bank-api/debug-open lets paths across its fence undeclared\n      enters on any port: ');
    expect(opened.stdout).toMatch(
      /FAIL {2}ops\/tool, [^\n]*\n {3}-> bank-api\/api, any pod in bank-api \(tenant bank\)\n {6}ports: {3}any\n {6}fence: {3}enters tenant bank undeclared on any/,
    );
    expect(opened.stdout).toContain('ingress allowed by bank-api/debug-open (any)');
    // shop may reach bank on 8080 only: the rest of shop's traffic to bank is stopped by shop's own egress.
    expect(opened.stdout).not.toMatch(/shop-web\/web[^\n]*\(tenant shop\)\n {3}-> bank-api/);
  }, 60_000);

  test('an identity that may not list pods gets exit 2 and a message saying what is missing', async () => {
    const r = await runNetfence(['check', '--live', '--kubeconfig', nobody]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not allowed to list (namespaces|pods|networkpolicies|tenantisolations): --live needs list on/);
    expect(r.stdout).toBe('');
  });
});
