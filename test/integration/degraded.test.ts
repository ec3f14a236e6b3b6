/**
 * Status that follows each policy, and an unfenced namespace treated as an incident, on the real
 * API server with the operator's real RBAC identity. A ValidatingAdmissionPolicy refuses every
 * NetworkPolicy write in one member namespace of a tenant with two: the tenant must report
 * Degraded, naming that namespace, steadily (while the other namespace reconciles fine again
 * and again), the gauge of unfenced namespaces must count it, and once the refusal is lifted
 * the namespace must be fenced within the retry bound (not at the queue's backoff, which after
 * 45 s of refusals has grown past 20 s), and Degraded clear.
 */
import { POLICY_NAMES, REASON, TENANT_LABEL } from '../../src/api/constants.js';
import { UNFENCED_RETRY_MAX_MS } from '../../src/controller/operator.js';
import { cluster, describeWithControlPlane, uniqueName, type Cluster } from './support/cluster.js';
import { condition, installForOperator, runOperator, scrapeMetrics, sumOf, World, type RunningOperator } from './support/operator.js';

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';
const REFUSAL_MS = 45_000;

describeWithControlPlane('Degraded per desired policy, and the retry bound of an unfenced namespace', () => {
  let world: Cluster;
  let admin: World;
  let op: RunningOperator;

  beforeAll(async () => {
    world = cluster();
    admin = new World(world.admin);
    await installForOperator(world);
    const kubeconfig = world.state.operator?.kubeconfig;
    if (!kubeconfig) throw new Error('the control plane recorded no operator kubeconfig');
    op = await runOperator(kubeconfig, ['--lease-name', uniqueName('lease')]);
  }, 60_000);

  afterAll(async () => {
    if (op) expect(await op.stop()).toBe(0);
  });

  test('one refused namespace keeps its tenant Degraded and counted as unfenced, until the refusal is lifted; then it is fenced within the bound', async () => {
    const tenant = uniqueName('degraded');
    const [refused, fine] = [uniqueName('refused'), uniqueName('fine')];
    const vap = uniqueName('refuse-netpol');
    await admin.namespace(refused);
    await admin.namespace(fine);
    await admin.api.request({
      method: 'POST',
      path: `${ADMISSION}/validatingadmissionpolicies`,
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: vap },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['networkpolicies'] }] },
          validations: [{ expression: `request.namespace != '${refused}'`, message: `the test refuses NetworkPolicy writes in ${refused}` }],
        },
      },
    });
    await admin.api.request({
      method: 'POST',
      path: `${ADMISSION}/validatingadmissionpolicybindings`,
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: vap },
        spec: { policyName: vap, validationActions: ['Deny'] },
      },
    });
    const probe = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'probe', namespace: refused }, spec: { podSelector: {} } };
    await admin.until(
      'the admission policy refuses writes',
      () =>
        admin.api.request({ method: 'POST', path: `/apis/networking.k8s.io/v1/namespaces/${refused}/networkpolicies`, query: { dryRun: 'All' }, body: probe }).then(
          () => 'admitted',
          (e: Error) => e.message,
        ),
      (m) => m.includes('the test refuses'),
    );

    await admin.tenant(tenant, {});
    await admin.namespace(fine, { [TENANT_LABEL]: tenant });
    await admin.namespace(refused, { [TENANT_LABEL]: tenant });
    await admin.until(
      `${fine} is fenced`,
      () => admin.policyNames(fine),
      (names) => names.includes(POLICY_NAMES.defaultDeny),
    );
    const refusedAt = Date.now();
    await admin.until(
      `${tenant} is Degraded naming ${refused}`,
      () => admin.getTenant(tenant),
      (t) => condition(t, 'Degraded')?.status === 'True' && (condition(t, 'Degraded')?.message ?? '').includes(`${refused}/`),
    );

    // While the refusal holds, the other namespace is repaired again and again (each a successful
    // reconcile of the tenant's): the status must keep saying Degraded, and name only the refused one.
    const samples: { status?: string; reason?: string; message?: string }[] = [];
    let repairs = 0;
    while (Date.now() - refusedAt < REFUSAL_MS) {
      await admin.api.request({ method: 'DELETE', path: `/apis/networking.k8s.io/v1/namespaces/${fine}/networkpolicies/${POLICY_NAMES.dns}` }).catch(() => undefined);
      await admin.until(
        `${fine} is repaired`,
        () => admin.policyNames(fine),
        (names) => names.includes(POLICY_NAMES.dns),
      );
      repairs++;
      await new Promise((r) => setTimeout(r, 700));
      const d = condition(await admin.getTenant(tenant), 'Degraded');
      samples.push({ status: d?.status, reason: d?.reason, message: d?.message });
    }
    expect(repairs).toBeGreaterThan(5);
    expect(samples.filter((s) => s.status !== 'True')).toEqual([]);
    for (const s of samples) {
      expect(s.reason).toBe(REASON.applyFailed);
      expect(s.message).toContain(`${refused}/`);
      expect(s.message).toContain('the test refuses');
      expect(s.message).not.toContain(`${fine}/`);
    }
    expect(sumOf(await scrapeMetrics(op.metricsPort), 'netfence_unfenced_namespaces')).toBeGreaterThanOrEqual(1);
    expect(await admin.policyNames(refused)).toEqual([]);

    await admin.api.request({ method: 'DELETE', path: `${ADMISSION}/validatingadmissionpolicybindings/${vap}` });
    await admin.api.request({ method: 'DELETE', path: `${ADMISSION}/validatingadmissionpolicies/${vap}` });
    const lifted = Date.now();
    await admin.until(
      `${refused} is fenced`,
      () => admin.policyNames(refused),
      (names) => names.includes(POLICY_NAMES.defaultDeny),
      60_000,
    );
    const fencedAfterMs = Date.now() - lifted;
    // The bound, plus the API server's admission informer noticing the deletion (about a second).
    expect(fencedAfterMs).toBeLessThan(UNFENCED_RETRY_MAX_MS + 3_000);
    const healed = await admin.until(
      `${tenant} is no longer Degraded`,
      () => admin.getTenant(tenant),
      (t) => condition(t, 'Degraded')?.status === 'False' && condition(t, 'Ready')?.status === 'True',
    );
    expect(condition(healed, 'Degraded')?.reason).toBe(REASON.reconciled);
    await admin.until(
      'no namespace is counted unfenced',
      async () => sumOf(await scrapeMetrics(op.metricsPort), 'netfence_unfenced_namespaces'),
      (n) => n === 0,
      15_000,
    );
  }, 120_000);
});
