/**
 * The install, tested as a platform team would run it, on an API server of its own:
 * `kubectl kustomize config/default` (kubectl of the control plane's release), every object
 * but the Deployment applied with `kubectl apply --server-side` (no kubelet runs here to run
 * it), then the operator started in-process with the settings the Deployment gives it and as
 * the identity it names, which holds exactly what config/rbac grants. The operator must
 * reach every state it is for (policies written, drift restored, prune, status, Events, its
 * Lease) with no refusal, through the admission guard config/default installs too.
 */
import { ONBOARDING_BRIDGE } from '../../src/controller/onboarding.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { DEFAULT_LEASE_NAME, MANAGED_BY_LABEL, POLICY_NAMES, REASON, TENANT_LABEL } from '../../src/api/constants.js';
import { kubeClient, RESOURCES, resourcePath } from '../../src/kube/client.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import type { Manifest } from '../fixtures/kustomize.js';
import { runNetfence } from '../fixtures/cli.js';
import { describeWithControlPlane, eventually } from './support/cluster.js';
import { kubectl, privateControlPlane, type PrivatePlane } from './support/identities.js';
import { condition, runOperator, type RunningOperator } from './support/operator.js';

interface Deployment extends Manifest {
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        containers: { name: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[] }[];
      };
    };
  };
}

const BASE = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant].sort();

describeWithControlPlane('installing config/default on a real API server', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let objects: Manifest[];
  let deployment: Deployment;
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    started = await privateControlPlane();
    plane = started.plane;
    const built = kubectl(started.binaries, undefined, ['kustomize', 'config/default']);
    if (built.code !== 0) throw new Error(`kubectl kustomize config/default failed: ${built.stderr}`);
    objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as Manifest);
    const found = objects.filter((o) => o.kind === 'Deployment');
    if (found.length !== 1) throw new Error(`config/default holds ${found.length} Deployments, expected 1`);
    deployment = found[0] as Deployment;
  }, 120_000);

  afterAll(async () => {
    if (op) expect(await op.stop()).toBe(0);
    await plane?.stop();
  }, 60_000);

  test('kubectl applies everything but the Deployment without an error', () => {
    const rest = objects.filter((o) => o.kind !== 'Deployment');
    expect(rest.map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining([
        'CustomResourceDefinition',
        'Namespace',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'PodDisruptionBudget',
        'NetworkPolicy',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ]),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'netfence-install-')), 'install.yaml');
    writeFileSync(file, rest.map((o) => stringify(o)).join('---\n'));
    const applied = kubectl(started.binaries, plane.adminKubeconfig, ['apply', '--server-side', '-f', file]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    for (const o of rest) expect(applied.stdout).toContain(`${o.metadata.name} serverside-applied`);
  });

  test('the Deployment runs as the identity the control plane authenticates the operator as', async () => {
    const namespace = deployment.metadata.namespace;
    const account = deployment.spec.template.spec.serviceAccountName;
    const review = await kubeClient(started.world.operator).request<{ status: { userInfo: { username: string } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${namespace}:${account}`);
    // config/rbac binds it, and the ServiceAccount object itself was installed.
    const sa = await started.admin.api.request<{ metadata: { name: string } }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/serviceaccounts/${account}` });
    expect(sa.metadata.name).toBe(account);
  });

  test("the operator, with the Deployment's settings and config/rbac's grants, fences a sample tenant and keeps it fenced", async () => {
    const admin = started.admin;
    await eventually('the CRD is established', async () => {
      const crd = await admin.api.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
        method: 'GET',
        path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/tenantisolations.netfence.dev',
      });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
    // The container's arguments after the image's entrypoint, and its environment with the
    // downward API filled in as the kubelet would.
    const container = deployment.spec.template.spec.containers.find((c) => c.name === 'manager');
    expect(container?.args?.[0]).toBe('run');
    const env: Record<string, string> = { POD_NAME: 'netfence-manager-0', POD_NAMESPACE: deployment.metadata.namespace ?? '' };
    for (const e of container?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const flags = [...(container?.args?.slice(1) ?? []), '--operator-namespace', env['POD_NAMESPACE'] ?? '', '--identity', env['POD_NAME'] ?? ''];
    op = await runOperator(plane.operatorKubeconfig, flags);

    const samples = kubectl(started.binaries, plane.adminKubeconfig, ['apply', '--server-side', '-k', 'config/samples']);
    expect(samples.code).toBe(0);
    await admin.namespace('sample-web', { [TENANT_LABEL]: 'sample' });
    await admin.namespace('ingress-nginx');

    await admin.until(
      'sample-web is fenced',
      () => admin.policyNames('sample-web'),
      (names) => BASE.every((n) => names.includes(n)),
    );
    const ready = await admin.until(
      'sample is Ready',
      () => admin.getTenant('sample'),
      (t) => condition(t, 'Ready')?.status === 'True',
    );
    expect(ready?.status?.memberNamespaces).toEqual(['sample-web']);

    // Leader election used the Lease the namespaced Role covers.
    const lease = await admin.api.request<{ spec: { holderIdentity?: string } }>({
      method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${env['POD_NAMESPACE']}/leases/${DEFAULT_LEASE_NAME}`,
    });
    expect(lease.spec.holderIdentity).toBe('netfence-manager-0');

    // Drift: deleted and edited policies come back, through the admission guard.
    await admin.api.request({ method: 'DELETE', path: resourcePath(RESOURCES.networkPolicies, { namespace: 'sample-web', name: POLICY_NAMES.defaultDeny }) });
    await admin.api.request({
      method: 'PATCH',
      path: resourcePath(RESOURCES.networkPolicies, { namespace: 'sample-web', name: POLICY_NAMES.dns }),
      contentType: 'application/merge-patch+json',
      body: { spec: { egress: [{}] } },
    });
    await admin.until(
      'both are restored',
      () => admin.policies('sample-web'),
      (policies) => {
        const deny = policies.find((p) => p.metadata.name === POLICY_NAMES.defaultDeny);
        const dns = policies.find((p) => p.metadata.name === POLICY_NAMES.dns);
        return deny !== undefined && dns !== undefined && !JSON.stringify(dns.spec).includes('"egress":[{}]');
      },
    );
    await admin.until(
      'a DriftCorrected Event',
      () => admin.events('sample'),
      (events) => events.some((e) => e.reason === REASON.driftCorrected),
    );

    // The namespace leaves the tenant: its policies are pruned.
    await admin.relabel('sample-web', { [TENANT_LABEL]: null });
    await admin.until(
      'sample-web is pruned',
      () => admin.policies('sample-web'),
      (policies) => !policies.some((p) => p.metadata.labels?.[MANAGED_BY_LABEL] !== undefined),
    );

    const refusals = op.logs.filter((line) => /\b403\b|forbidden|ValidatingAdmissionPolicy/i.test(line));
    expect(refusals).toEqual([]);
  }, 90_000);

  test('netfence check --live passes on the installed cluster', async () => {
    await started.admin.namespace('sample-api', { [TENANT_LABEL]: 'sample' });
    await started.admin.until(
      'sample-api is fenced',
      () => started.admin.policyNames('sample-api'),
      (names) => BASE.every((n) => names.includes(n)) && !names.includes(ONBOARDING_BRIDGE),
    );
    const result = await runNetfence(['check', '--live', '--kubeconfig', plane.adminKubeconfig]);
    expect(result.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(result.code).toBe(0);
  });
});
