/**
 * Membership by the operator's member label, on a real API server of its own with the
 * operator's RBAC identity: a namespace joining a tenant of 1,000 members is fenced without a
 * write to any other member's policy, the label follows the plan whoever edits it, and with
 * `--member-label=off` (a cluster without the admission guard, as this one is) a label a
 * tenant forges admits it nowhere.
 */
import { performance } from 'node:perf_hooks';
import { MEMBER_LABEL, NAMESPACE_NAME_LABEL, POLICY_NAMES, TENANT_LABEL } from '../../src/api/constants.js';
import type { NetworkPolicy } from '../../src/api/k8s.js';
import { RESOURCES, resourcePath } from '../../src/kube/client.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { explainLive } from '../dataplane/support/predict.js';
import { describeWithControlPlane, recordWatch, type RecordedWatch } from './support/cluster.js';
import { privateControlPlane, type PrivatePlane } from './support/identities.js';
import { installForOperator, runOperator, type RunningOperator, type World } from './support/operator.js';

const MEMBERS = 1_000;
const TENANT = 'big';

async function memberLabelOf(admin: World, namespace: string): Promise<string | undefined> {
  const ns = await admin.api.request<{ metadata: { labels?: Record<string, string> } }>({ method: 'GET', path: resourcePath(RESOURCES.namespaces, { name: namespace }) });
  return ns.metadata.labels?.[MEMBER_LABEL];
}

async function pod(admin: World, namespace: string, name: string): Promise<void> {
  await admin.api.request({
    method: 'POST',
    path: resourcePath(RESOURCES.pods, { namespace }),
    body: { metadata: { name, labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/none', ports: [{ containerPort: 8080 }] }] } },
  });
}

/** Runs `work` over `items` with `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

describeWithControlPlane('members selected by the member label, on a real API server', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let admin: World;
  let op: RunningOperator | undefined;
  const members = Array.from({ length: MEMBERS }, (_, i) => `big-${String(i).padStart(4, '0')}`);

  beforeAll(async () => {
    started = await privateControlPlane();
    ({ plane, admin } = started);
    await installForOperator(started.world);
    op = await runOperator(plane.operatorKubeconfig);
    await admin.tenant(TENANT, {});
    await inParallel(members, 16, (ns) => admin.namespace(ns, { [TENANT_LABEL]: TENANT }));
    await admin.until(
      `all ${MEMBERS} members are fenced and labelled`,
      async () => {
        const list = await admin.api.request<{ items: NetworkPolicy[] }>({
          method: 'GET',
          path: resourcePath(RESOURCES.networkPolicies),
          query: { labelSelector: `${'netfence.dev/role'}=default-deny` },
        });
        const namespaces = await admin.api.request<{ items: { metadata: { labels?: Record<string, string> } }[] }>({
          method: 'GET',
          path: resourcePath(RESOURCES.namespaces),
          query: { labelSelector: `${MEMBER_LABEL}=${TENANT}` },
        });
        return Math.min(list.items.length, namespaces.items.length);
      },
      (n) => n >= MEMBERS,
      300_000,
    );
  }, 420_000);

  afterAll(async () => {
    if (op) expect(await op.stop()).toBe(0);
    await plane?.stop();
  }, 60_000);

  test(`a namespace joining a tenant of ${MEMBERS} members is fenced in under a second, and no other member's policy is written`, async () => {
    const watch: RecordedWatch = await recordWatch(started.world.admin, resourcePath(RESOURCES.networkPolicies), { resourceVersion: '0' });
    try {
      // Let the initial list of the watch (ADDED for every existing policy) pass.
      await new Promise((r) => setTimeout(r, 2_000));
      const seenBefore = watch.events.length;
      const latencies: number[] = [];
      for (const joiner of ['joiner-1', 'joiner-2', 'joiner-3']) {
        const t0 = performance.now();
        await admin.namespace(joiner, { [TENANT_LABEL]: TENANT });
        await watch.next(`${joiner}'s deny`, (e) => e.type === 'ADDED' && e.object.metadata?.namespace === joiner && e.object.metadata?.name === POLICY_NAMES.defaultDeny, 10_000);
        latencies.push(performance.now() - t0);
      }
      await admin.until(
        'the joiners are labelled members',
        () => Promise.all(['joiner-1', 'joiner-2', 'joiner-3'].map((n) => memberLabelOf(admin, n))),
        (l) => l.every((v) => v === TENANT),
      );
      // Whatever the operator still does for the joins shows within a few seconds.
      await new Promise((r) => setTimeout(r, 3_000));
      const touched = new Set(watch.events.slice(seenBefore).map((e) => e.object.metadata?.namespace as string));
      console.log(
        `join into a tenant of ${MEMBERS}: label to deny ${latencies.map((ms) => `${Math.round(ms)} ms`).join(', ')}; namespaces whose policies changed: ${[...touched].sort().join(', ')}`,
      );
      expect([...touched].sort()).toEqual(['joiner-1', 'joiner-2', 'joiner-3']);
      expect([...latencies].sort((a, b) => a - b)[1]).toBeLessThan(1_000);
      // The same-tenant rule admits the tenant by label: its size does not depend on the tenant's.
      const same = (await admin.policies('joiner-1')).find((p) => p.metadata.name === POLICY_NAMES.sameTenant);
      expect(same?.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { [MEMBER_LABEL]: TENANT } } }] }]);
    } finally {
      watch.stop();
    }
  }, 120_000);

  test('the member label follows the plan: a forged one is removed, a changed one put back', async () => {
    await admin.namespace('outsider', { [MEMBER_LABEL]: TENANT });
    await admin.until(
      'the forged label on a non-member is removed',
      async () => (await memberLabelOf(admin, 'outsider')) ?? '(none)',
      (v) => v === '(none)',
    );
    await admin.relabel(members[7] as string, { [MEMBER_LABEL]: 'elsewhere' });
    await admin.until(
      'the changed label is put back',
      () => memberLabelOf(admin, members[7] as string),
      (v) => v === TENANT,
    );
    await admin.relabel('joiner-3', { [TENANT_LABEL]: null });
    await admin.until(
      'a namespace that leaves loses the label and its policies',
      async () => [(await memberLabelOf(admin, 'joiner-3')) ?? '(none)', (await admin.policyNames('joiner-3')).length],
      ([label, count]) => label === '(none)' && count === 0,
    );
  }, 60_000);
});

describeWithControlPlane('members selected by name (--member-label=off), on a real API server without the guard', () => {
  let started: PrivatePlane;
  let plane: ControlPlane;
  let admin: World;
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    started = await privateControlPlane();
    ({ plane, admin } = started);
    await installForOperator(started.world);
    op = await runOperator(plane.operatorKubeconfig, ['--member-label', 'off']);
  }, 120_000);

  afterAll(async () => {
    if (op) expect(await op.stop()).toBe(0);
    await plane?.stop();
  }, 60_000);

  test('a tenant forging the member label of another gains no path into it, and the operator leaves labels alone', async () => {
    await admin.tenant('bank', {});
    await admin.tenant('other', {});
    for (const ns of ['bank-1', 'bank-2']) await admin.namespace(ns, { [TENANT_LABEL]: 'bank' });
    await admin.namespace('intruder', { [TENANT_LABEL]: 'other' });
    await admin.until(
      "bank-1's same-tenant policy lists bank's members by name",
      async () => (await admin.policies('bank-1')).find((p) => p.metadata.name === POLICY_NAMES.sameTenant)?.spec.ingress?.[0]?.from?.[0]?.namespaceSelector,
      (sel) => sel?.matchExpressions?.[0]?.key === NAMESPACE_NAME_LABEL && (sel.matchExpressions[0].values ?? []).join() === 'bank-1,bank-2',
    );
    await admin.until(
      'intruder is fenced',
      () => admin.policyNames('intruder'),
      (names) => names.includes(POLICY_NAMES.defaultDeny),
    );
    expect(await memberLabelOf(admin, 'bank-1')).toBeUndefined();
    // The intruder opens its own egress (tenants may write their own policies) and forges the
    // label (no guard stops it here); in this mode nothing reads it and nobody removes it.
    await admin.api.request({
      method: 'POST',
      path: resourcePath(RESOURCES.networkPolicies, { namespace: 'intruder' }),
      body: { metadata: { name: 'own-egress' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } },
    });
    await admin.relabel('intruder', { [MEMBER_LABEL]: 'bank' });
    await pod(admin, 'intruder', 'spy');
    await pod(admin, 'bank-1', 'db');
    await pod(admin, 'bank-2', 'web');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await memberLabelOf(admin, 'intruder')).toBe('bank');
    expect(await explainLive(plane.adminKubeconfig, 'intruder/spy', 'bank-1/db', 8080, 'tcp')).toBe('denied');
    // The control: a real member reaches it.
    expect(await explainLive(plane.adminKubeconfig, 'bank-2/web', 'bank-1/db', 8080, 'tcp')).toBe('allowed');
  }, 120_000);
});
