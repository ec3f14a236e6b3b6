/**
 * The operator through an API server outage, on a control plane of its own (the shared one
 * never goes down): kube-apiserver stopped under a running operator and started again. The
 * restarted server's watch cache begins at the current revision, so watches resumed from
 * older resourceVersions get 410 Gone: the operator must relist and converge, and nothing
 * already in place may be deleted because reads failed meanwhile.
 */
import { POLICY_NAMES, TENANT_LABEL } from '../../src/api/constants.js';
import { isUnavailable, provideBinaries } from '../control-plane/binaries.js';
import { startControlPlane, type ControlPlane } from '../control-plane/control-plane.js';
import { describeWithControlPlane, kubeConfig, uniqueName } from './support/cluster.js';
import { condition, installForOperator, runOperator, scrapeMetrics, sumOf, World, type RunningOperator } from './support/operator.js';

const BASE = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant].sort();

async function metric(port: number, name: string, labels: string[] = []): Promise<number> {
  return sumOf(await scrapeMetrics(port), name, labels);
}

describeWithControlPlane('the operator through an API server outage', () => {
  let plane: ControlPlane;
  let admin: World;
  let op: RunningOperator;

  beforeAll(async () => {
    const binaries = await provideBinaries({ log: () => undefined });
    if (isUnavailable(binaries)) throw new Error(`no control-plane binaries: ${binaries.unavailable}`);
    plane = await startControlPlane({ binaries, log: () => undefined });
    const world = { admin: kubeConfig(plane.adminKubeconfig), operator: kubeConfig(plane.operatorKubeconfig) };
    admin = new World(world.admin);
    await installForOperator(world);
    op = await runOperator(world.operator, ['--lease-name', uniqueName('lease'), '--lease-duration', '60s', '--renew-deadline', '45s', '--retry-period', '1s']);
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    await plane?.stop();
  }, 60_000);

  test('keeps what is in place while kube-apiserver is down, relists after 410 and converges once it is back', async () => {
    const tenant = uniqueName('outage');
    const before = uniqueName('before');
    await admin.tenant(tenant, {});
    await admin.namespace(before, { [TENANT_LABEL]: tenant });
    const placed = await admin.until(
      `${before} is onboarded`,
      () => admin.policies(before),
      (ps) =>
        ps
          .map((p) => p.metadata.name)
          .sort()
          .join() === BASE.join(),
    );
    const uids = placed.map((p) => p.metadata.uid).sort();
    const expiredBefore = await metric(op.metricsPort, 'netfence_watch_restarts_total', ['reason="expired"']);

    await plane.stopApiserver();
    await new Promise((r) => setTimeout(r, 3000));
    // Still alive and still ready from its caches.
    expect((await fetch(`http://127.0.0.1:${op.healthPort}/healthz`)).status).toBe(200);
    expect(op.logs.some((line) => /"level":"(warn|error)"/.test(line))).toBe(true);
    await plane.startApiserver();

    const after = uniqueName('after');
    await admin.namespace(after, { [TENANT_LABEL]: tenant });
    await admin.until(
      `${after} is onboarded`,
      () => admin.policyNames(after),
      (names) => names.join() === BASE.join(),
      60_000,
    );
    const t = await admin.until(
      `${tenant} is Ready with both members`,
      () => admin.getTenant(tenant),
      (x) => condition(x, 'Ready')?.status === 'True' && (x?.status?.memberNamespaces ?? []).length === 2,
      30_000,
    );
    expect(t?.status?.policyCount).toBe(2 * BASE.length);
    // Nothing was deleted and recreated: the same objects are still there.
    expect((await admin.policies(before)).map((p) => p.metadata.uid).sort()).toEqual(uids);
    const restarts = await metric(op.metricsPort, 'netfence_watch_restarts_total');
    const expired = await metric(op.metricsPort, 'netfence_watch_restarts_total', ['reason="expired"']);
    console.log(`outage: ${restarts} watch restarts in all; ${expired - expiredBefore} relists after 410 Gone`);
    expect(expired - expiredBefore).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('a tenant deleted just after an outage, before the operator watches again, is still cleaned up', async () => {
    const tenant = uniqueName('relist');
    const ns = uniqueName('relist-ns');
    await admin.tenant(tenant, {});
    await admin.namespace(ns, { [TENANT_LABEL]: tenant });
    await admin.until(
      `${ns} is onboarded`,
      () => admin.policyNames(ns),
      (names) => names.join() === BASE.join(),
    );
    await plane.stopApiserver();
    await plane.startApiserver();
    await admin.deleteTenant(tenant);
    await admin.until(
      `${ns} is empty`,
      () => admin.policyNames(ns),
      (names) => names.length === 0,
      60_000,
    );
  }, 120_000);
});
