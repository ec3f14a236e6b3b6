import { CONDITION, REASON } from '../../src/api/constants.js';
import type { NetworkPolicy, Protocol } from '../../src/api/k8s.js';
import type { TenantIsolation, TenantIsolationSpec } from '../../src/api/types.js';
import type { CompileInput } from '../../src/compiler/compile.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { deepFreeze } from '../../src/core/objects.js';
import { Planner, type Plan } from '../../src/controller/planner.js';
import { isNetfenceOwned, policyMatches } from '../../src/compiler/ownership.js';
import { ApiError } from '../../src/kube/client.js';
import { ReconcileMemory, reconcileNamespace, reconcileTenant, type MemberLabelState, type TenantContext } from '../../src/controller/reconcile.js';
import { memberNs, ns, pod } from '../fixtures/builders.js';
import { buildEvaluator, formatEndpoint, parseEndpoint } from '../../src/evaluator/index.js';
import { onboardingBridge } from '../../src/controller/onboarding.js';
import { FakePolicyApi, FakeRecorder, FakeStatusWriter } from '../fixtures/fake-policy-api.js';

function liveTenant(name: string, spec: TenantIsolationSpec = {}, generation = 1, status?: TenantIsolation['status']): TenantIsolation {
  return deepFreeze({
    apiVersion: 'netfence.dev/v1alpha1',
    kind: 'TenantIsolation',
    metadata: { name, uid: `uid-${name}`, generation },
    spec,
    ...(status ? { status } : {}),
  });
}

function planOf(input: Omit<CompileInput, 'settings'>): Plan {
  const planner = new Planner({ read: () => ({ ...input, settings: defaultSettings() }), onPlan: () => undefined });
  const plan = planner.planNow();
  if (!plan) throw new Error('no plan');
  return plan;
}

function setup() {
  return { api: new FakePolicyApi(), recorder: new FakeRecorder(), memory: new ReconcileMemory() };
}

const userPolicy = (namespace: string, name: string, labels: Record<string, string> = {}): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace, name, labels },
  spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }] }] },
});

describe('reconcileNamespace with members selected by label', () => {
  const joined = planOf({ tenants: [liveTenant('team-a')], namespaces: [memberNs('a1', 'team-a'), ns('other')] });
  const left = planOf({ tenants: [liveTenant('team-a')], namespaces: [ns('a1'), ns('other')] });

  /** A member label writer that logs into the policy API's write log, so the order shows; `refuse` makes every call fail. */
  function labels(api: FakePolicyApi, have: string | undefined, want: string | undefined, refuse?: number): MemberLabelState {
    return {
      have,
      want,
      uid: 'uid-a1',
      writer: {
        setMember: async (namespace, tenant) => {
          if (refuse !== undefined) throw new ApiError(refuse, 'Forbidden', 'namespaces "a1" is forbidden', 'PATCH /api/v1/namespaces/a1');
          api.writes.push(`label ${namespace}=${tenant ?? '(none)'}`);
        },
      },
    };
  }

  test('labels a joining namespace before anything else, and not again once it carries the label', async () => {
    const { api, recorder, memory } = setup();
    const outcome = await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    expect(outcome.memberLabel).toBe('team-a');
    expect(api.writes[0]).toBe('label a1=team-a');
    expect(api.objects.has('a1/netfence-default-deny')).toBe(true);
    api.writes.length = 0;
    const again = await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, 'team-a', 'team-a') });
    expect(api.writes).toEqual([]);
    expect(again.memberLabel).toBeUndefined();
  });

  test('writes no bridge where no pod runs: there is no flow to carry', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, hasPods: false });
    expect(api.writes.filter((w) => w.includes('netfence-onboarding'))).toEqual([]);
    expect(api.writes.at(-1)).toBe('create a1/netfence-default-deny');
  });

  test('puts back a label someone changed', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    api.writes.length = 0;
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, 'team-b', 'team-a') });
    expect(api.writes).toEqual(['label a1=team-a']);
  });

  test('fences a joining namespace whose label cannot be written, then fails so the key is retried', async () => {
    const { api, recorder, memory } = setup();
    await expect(reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a', 403) })).rejects.toMatchObject({
      status: 403,
    });
    expect(api.objects.has('a1/netfence-default-deny')).toBe(true);
    expect(memory.labelFailures.get('a1')).toEqual({ tenants: ['team-a'], message: expect.stringMatching(/^cannot set its member label/) as unknown });
  });

  test('removes the label of a leaving namespace before pruning its policies', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    api.writes.length = 0;
    const outcome = await reconcileNamespace('a1', { plan: left, policies: api, writer: api, recorder, memory, member: labels(api, 'team-a', undefined) });
    expect(outcome.memberLabel).toBeNull();
    expect(api.writes[0]).toBe('label a1=(none)');
    expect(outcome.pruned.length).toBeGreaterThan(0);
    expect([...api.objects.keys()].filter((k) => k.startsWith('a1/'))).toEqual([]);
  });

  test("a namespace two tenants now claim loses its old tenant's allows even while its label cannot be removed (P6), and both tenants hear of it", async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    const conflicted = planOf({ tenants: [liveTenant('team-a', { namespaces: ['a1'] }), liveTenant('team-c', { namespaces: ['a1'] })], namespaces: [ns('a1')] });
    await expect(reconcileNamespace('a1', { plan: conflicted, policies: api, writer: api, recorder, memory, member: labels(api, 'team-a', undefined, 403) })).rejects.toMatchObject(
      { status: 403 },
    );
    expect([...api.objects.keys()].filter((k) => k.startsWith('a1/'))).toEqual(['a1/netfence-default-deny']);
    expect(memory.labelFailures.get('a1')).toEqual({ tenants: ['team-a'], message: expect.stringMatching(/^cannot remove its member label/) as unknown });
  });

  test('a namespace moving to another tenant whose label cannot be written keeps no allow of the old one, and both tenants hear of it', async () => {
    const { api, recorder, memory } = setup();
    const withIngress = planOf({ tenants: [liveTenant('team-a', { ingress: { from: [{ namespaces: ['other'] }] } })], namespaces: [memberNs('a1', 'team-a'), ns('other')] });
    await reconcileNamespace('a1', { plan: withIngress, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    expect(api.objects.has('a1/netfence-allow-ingress')).toBe(true);
    const moved = planOf({ tenants: [liveTenant('team-a'), liveTenant('team-b')], namespaces: [memberNs('a1', 'team-b'), ns('other')] });
    await expect(reconcileNamespace('a1', { plan: moved, policies: api, writer: api, recorder, memory, member: labels(api, 'team-a', 'team-b', 403) })).rejects.toMatchObject({
      status: 403,
    });
    expect(api.objects.has('a1/netfence-allow-ingress')).toBe(false);
    expect(api.objects.get('a1/netfence-default-deny')?.metadata.ownerReferences?.map((o) => o.name)).toEqual(['team-b']);
    expect(memory.labelFailures.get('a1')).toEqual({ tenants: ['team-b', 'team-a'], message: expect.stringMatching(/^cannot set its member label/) as unknown });
  });

  test('prunes nothing while the label of a leaving namespace cannot be removed: its fence stays as it was', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan: joined, policies: api, writer: api, recorder, memory, member: labels(api, undefined, 'team-a') });
    const before = [...api.objects.keys()].sort();
    await expect(reconcileNamespace('a1', { plan: left, policies: api, writer: api, recorder, memory, member: labels(api, 'team-a', undefined, 403) })).rejects.toMatchObject({
      status: 403,
    });
    expect([...api.objects.keys()].sort()).toEqual(before);
    expect(memory.labelFailures.get('a1')).toEqual({ tenants: ['team-a'], message: expect.stringMatching(/^cannot remove its member label/) as unknown });
  });
});

describe('reconcileNamespace', () => {
  const plan = planOf({ tenants: [liveTenant('team-a')], namespaces: [memberNs('a1', 'team-a'), ns('other')] });

  test('creates every desired policy in a new member namespace, allows before the deny, and writes nothing the second time', async () => {
    const { api, recorder, memory } = setup();
    const outcome = await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    const names = [...(plan.desired.get('a1')?.keys() ?? [])];
    expect(names).toContain('netfence-default-deny');
    expect(outcome.created.sort()).toEqual([...names].sort());
    // The bridge first and gone last (see the onboarding tests below), the deny last of the plan.
    expect(api.writes[0]).toBe('create a1/netfence-onboarding');
    expect(api.writes.slice(-2)).toEqual(['create a1/netfence-default-deny', 'delete a1/netfence-onboarding']);
    expect([...api.objects.keys()].sort()).toEqual(names.map((n) => `a1/${n}`).sort());
    expect(recorder.reasons()).toEqual([REASON.policyCreated]);

    api.writes.length = 0;
    const again = await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual([]);
    expect(again).toEqual({ created: [], updated: [], driftCorrected: [], pruned: [], blocked: [] });
  });

  test('restores a managed policy someone widened and reports it as drift', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    api.edit('a1', 'netfence-allow-same-tenant', (p) => p.spec.ingress?.push({ from: [{ namespaceSelector: {} }] }));
    const outcome = await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(outcome.driftCorrected).toEqual(['netfence-allow-same-tenant']);
    expect(policyMatches(api.objects.get('a1/netfence-allow-same-tenant')!, plan.desired.get('a1')!.get('netfence-allow-same-tenant')!)).toBe(true);
    expect(recorder.reasons()).toContain(REASON.driftCorrected);
  });

  test('replaces a policy when a field another manager added survives the apply (a key narrowing the deny)', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    api.stickyForeignFields = true;
    api.edit('a1', 'netfence-default-deny', (p) => (p.spec.podSelector = { matchLabels: { only: 'these' } }));
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes.slice(-2)).toEqual(['apply a1/netfence-default-deny', 'replace a1/netfence-default-deny']);
    expect(api.objects.get('a1/netfence-default-deny')!.spec.podSelector).toEqual({});
  });

  test('recreates a managed policy that was deleted', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    api.objects.delete('a1/netfence-allow-dns');
    const outcome = await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(outcome.driftCorrected).toEqual(['netfence-allow-dns']);
    expect(outcome.created).toEqual([]);
    expect(api.objects.has('a1/netfence-allow-dns')).toBe(true);
  });

  test('leaves alone a policy of someone else that holds a netfence name, and says so', async () => {
    const { api, recorder, memory } = setup();
    const theirs = api.seed(userPolicy('a1', 'netfence-allow-dns'));
    const outcome = await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(outcome.blocked).toEqual(['netfence-allow-dns']);
    expect(api.objects.get('a1/netfence-allow-dns')).toEqual(theirs);
    expect(memory.policyFailures.get('a1/netfence-allow-dns')).toMatch(/a NetworkPolicy netfence does not own holds this name/);
    expect(recorder.events.find((e) => e.type === 'Warning')?.message).toMatch(/netfence-allow-dns/);
  });

  test('does not take over a policy someone replaced since it was read: the apply carries the uid read', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    const stale = api.policiesIn('a1');
    api.objects.delete('a1/netfence-allow-dns');
    const theirs = api.seed({ ...userPolicy('a1', 'netfence-allow-dns'), metadata: { namespace: 'a1', name: 'netfence-allow-dns', labels: {} } });
    const edited = new Map(stale);
    const old = stale.get('netfence-allow-dns')!;
    edited.set('netfence-allow-dns', { ...old, spec: { ...old.spec, podSelector: { matchLabels: { x: 'y' } } } });
    await expect(reconcileNamespace('a1', { plan, policies: { policiesIn: () => edited }, writer: api, recorder, memory })).rejects.toMatchObject({ status: 422 });
    expect(api.objects.get('a1/netfence-allow-dns')).toEqual(theirs);
  });

  test('neither changes nor prunes a labelled policy without a TenantIsolation owner (P5)', async () => {
    const { api, recorder, memory } = setup();
    const labelled = api.seed(userPolicy('other', 'looks-managed', { 'app.kubernetes.io/managed-by': 'netfence' }));
    expect(isNetfenceOwned(labelled)).toBe(false);
    const outcome = await reconcileNamespace('other', { plan, policies: api, writer: api, recorder, memory });
    expect(outcome.pruned).toEqual([]);
    expect(api.objects.get('other/looks-managed')).toEqual(labelled);
  });

  test('prunes every managed policy of a namespace that left its tenant, the deny first, and keeps the user ones', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    api.seed(userPolicy('a1', 'mine'));
    const after = planOf({ tenants: [liveTenant('team-a')], namespaces: [ns('a1')] });
    api.writes.length = 0;
    const outcome = await reconcileNamespace('a1', { plan: after, policies: api, writer: api, recorder, memory });
    expect(outcome.pruned).toHaveLength(plan.desired.get('a1')!.size);
    expect(api.writes[0]).toBe('delete a1/netfence-default-deny');
    expect([...api.objects.keys()]).toEqual(['a1/mine']);
    expect(recorder.reasons()).toContain(REASON.policyPruned);
  });

  test('does not delete a managed policy that changed after it was read, and fails so the key is retried', async () => {
    const { api, recorder, memory } = setup();
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    const after = planOf({ tenants: [liveTenant('team-a')], namespaces: [ns('a1')] });
    const stale = api.policiesIn('a1');
    api.edit('a1', 'netfence-default-deny', (p) => (p.metadata.labels = { ...p.metadata.labels, touched: 'yes' }));
    const reader = { policiesIn: () => stale };
    await expect(reconcileNamespace('a1', { plan: after, policies: reader, writer: api, recorder, memory })).rejects.toMatchObject({ status: 409 });
    expect(api.objects.has('a1/netfence-default-deny')).toBe(true);
  });

  test('remembers a failed write for the tenant status and rethrows it', async () => {
    const { api, recorder, memory } = setup();
    // The first write of the plan itself (the bridge before it does without on failure).
    const create = api.create.bind(api);
    let failed = false;
    api.create = async (p) => {
      if (p.metadata.name !== 'netfence-onboarding' && !failed) [failed, api.failNext] = [true, 503];
      return create(p);
    };
    await expect(reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory })).rejects.toMatchObject({ status: 503, retryable: true });
    expect([...memory.policyFailures]).toEqual([[expect.stringMatching(/^a1\/netfence-/), expect.stringMatching(/503/)]]);
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder, memory });
    expect(memory.policyFailures.size).toBe(0);
  });

  test('keeps only the deny in a namespace two tenants claim, owned by both', async () => {
    const { api, recorder, memory } = setup();
    const both = planOf({
      tenants: [liveTenant('team-a', { namespaces: ['shared'] }), liveTenant('team-b', { namespaces: ['shared'] })],
      namespaces: [ns('shared')],
    });
    await reconcileNamespace('shared', { plan: both, policies: api, writer: api, recorder, memory });
    expect([...api.objects.keys()]).toEqual(['shared/netfence-default-deny']);
    const owners = api.objects
      .get('shared/netfence-default-deny')!
      .metadata.ownerReferences!.map((o) => o.name)
      .sort();
    expect(owners).toEqual(['team-a', 'team-b']);
  });
});

describe('reconcileNamespace: a namespace joins without a moment where an allowed flow fails', () => {
  const web = { 'netfence.dev/expose-web': 'true' };
  const metrics = { 'netfence.dev/expose-metrics': 'true' };
  const tenants = [
    liveTenant('shop', {
      exposures: [
        { name: 'web', from: [{ namespaces: ['edge'] }], ports: [{ port: 8080 }] },
        { name: 'metrics', from: [{ namespaces: ['mon'] }], ports: [{ port: 9090 }] },
      ],
      ingress: { from: [{ cidr: '0.0.0.0/0', ports: [{ port: 443 }] }] },
      egress: {
        to: [
          { namespaces: ['edge'], ports: [{ port: 80 }] },
          { internet: true, ports: [{ port: 443 }] },
        ],
      },
    }),
  ];
  const namespaces = [memberNs('s1', 'shop'), memberNs('s2', 'shop'), ns('edge'), ns('mon'), ns('kube-system')];
  const pods = [
    pod('s1', 'plain', {}, '10.1.0.1'),
    pod('s1', 'web', web, '10.1.0.2'),
    pod('s1', 'both', { ...web, ...metrics }, '10.1.0.3'),
    pod('s2', 'peer', {}, '10.1.1.1'),
    pod('edge', 'lb', {}, '10.2.0.1'),
    pod('mon', 'prom', {}, '10.3.0.1'),
    pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' }, '10.0.0.10'),
  ];
  const podLabels = pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} }));
  const endpoints = [...pods.map((p) => parseEndpoint(`${p.metadata.namespace}/${p.metadata.name}`)), parseEndpoint('93.184.216.34')];
  const probes: [number, Protocol][] = [
    [53, 'UDP'],
    [53, 'TCP'],
    [80, 'TCP'],
    [443, 'TCP'],
    [8080, 'TCP'],
    [9090, 'TCP'],
    [5432, 'TCP'],
  ];
  /** Every flow into or out of s1, allowed or not, as `from to port/proto`. */
  const flows = (policies: readonly NetworkPolicy[]): Map<string, boolean> => {
    const evaluator = buildEvaluator({ namespaces, pods, policies });
    const out = new Map<string, boolean>();
    for (const from of endpoints) {
      for (const to of endpoints) {
        if (from === to || ![from, to].some((e) => e.kind === 'pod' && e.namespace === 's1')) continue;
        for (const [port, protocol] of probes) out.set(`${formatEndpoint(from)} ${formatEndpoint(to)} ${port}/${protocol}`, evaluator.evaluate(from, to, port, protocol).allowed);
      }
    }
    return out;
  };

  test('every state the writes pass through allows all the plan allows, and denies all it denies but an exposure port of an unlabelled pod', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    // s2 and the others are in place; s1 is the namespace that joins.
    for (const namespace of ['s2']) await reconcileNamespace(namespace, { plan, policies: api, writer: api, recorder, memory });
    const states: NetworkPolicy[][] = [];
    const snapshot = (): void => void states.push([...api.objects.values()].map((p) => structuredClone(p)));
    const { create, remove } = { create: api.create.bind(api), remove: api.remove.bind(api) };
    api.create = async (p) => create(p).finally(snapshot);
    api.remove = async (p) => remove(p).finally(snapshot);
    const before = flows([...api.objects.values()]);
    // The reference is the plan, not whatever the writes leave behind.
    const planned = [...api.objects.values(), ...(plan.desired.get('s1')?.values() ?? [])] as NetworkPolicy[];
    await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect([...api.objects.values()].map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(
      planned.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(),
    );
    const final = flows(planned);
    expect(api.writes.filter((w) => w.includes('s1/'))[0]).toBe('create s1/netfence-onboarding');
    expect(states.length).toBeGreaterThan(4);

    const allowedInFinal = [...final].filter(([, allowed]) => allowed).map(([flow]) => flow);
    const deniedInFinal = [...final].filter(([, allowed]) => !allowed).map(([flow]) => flow);
    expect(allowedInFinal.length).toBeGreaterThan(20);
    expect(deniedInFinal.length).toBeGreaterThan(20);
    // Before the join s1 has no policy: all its own flows are open, so the join must change some.
    expect(deniedInFinal.filter((f) => before.get(f)).length).toBeGreaterThan(10);
    /** Open while the bridge lives, shut by the plan: an exposure's peer into an s1 pod without that exposure's label. */
    const exposureLeak = (flow: string): boolean =>
      /^edge\/lb s1\/(plain|both|web) 8080\/TCP$/.test(flow) ? !/s1\/(web|both)/.test(flow) : /^mon\/prom s1\/(plain|web) 9090\/TCP$/.test(flow);
    for (const [i, state] of states.entries()) {
      const now = flows(state);
      expect({ state: i, failing: allowedInFinal.filter((f) => !now.get(f)) }).toEqual({ state: i, failing: [] });
      expect({ state: i, open: deniedInFinal.filter((f) => now.get(f) && !exposureLeak(f)) }).toEqual({ state: i, open: [] });
    }
  });

  test('writes no bridge into a namespace that holds a netfence policy, and prunes one a crash left behind', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    api.objects.delete('s1/netfence-default-deny');
    api.writes.length = 0;
    await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual(['create s1/netfence-default-deny']);

    const bridge = onboardingBridge([...(plan.desired.get('s1')?.values() ?? [])]);
    if (!bridge) throw new Error('no bridge');
    api.seed(structuredClone(bridge) as NetworkPolicy);
    api.writes.length = 0;
    const outcome = await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual(['delete s1/netfence-onboarding']);
    expect(outcome.pruned).toEqual(['netfence-onboarding']);
  });

  test('a write of the plan that fails takes the bridge away, and the next pass writes the plan without one', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    const create = api.create.bind(api);
    // A NetworkPolicy quota that the deny would exceed.
    api.create = async (p) => {
      if (p.metadata.name === 'netfence-default-deny' && api.objects.size >= (plan.desired.get('s1')?.size ?? 0)) throw new ApiError(403, 'Forbidden', 'exceeded quota', 'POST');
      return create(p);
    };
    await expect(reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory })).rejects.toMatchObject({ status: 403 });
    expect(api.objects.has('s1/netfence-onboarding')).toBe(false);
    expect(memory.policyFailures.get('s1/netfence-default-deny')).toMatch(/exceeded quota/);
    api.writes.length = 0;
    await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual(['create s1/netfence-default-deny']);
  });

  test('a bridge that cannot be written is done without: the plan is written in its order', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    api.failNext = 403;
    const outcome = await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes.at(-1)).toBe('create s1/netfence-default-deny');
    expect(outcome.created.sort()).toEqual([...(plan.desired.get('s1')?.keys() ?? [])].sort());
  });

  test('writes a bridge once, not on every pass, where a planned name is held by someone else', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    for (const name of plan.desired.get('s1')?.keys() ?? []) api.seed(userPolicy('s1', name));
    await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual(['create s1/netfence-onboarding', 'delete s1/netfence-onboarding']);
    api.writes.length = 0;
    const again = await reconcileNamespace('s1', { plan, policies: api, writer: api, recorder, memory });
    expect(api.writes).toEqual([]);
    expect(again.blocked.length).toBe(plan.desired.get('s1')?.size);
  });

  test('the bridge carries its own role label, and its tenant is not Ready while it exists', async () => {
    const plan = planOf({ tenants, namespaces, pods: podLabels });
    const { api, recorder, memory } = setup();
    for (const namespace of ['s1', 's2']) await reconcileNamespace(namespace, { plan, policies: api, writer: api, recorder, memory });
    const bridge = onboardingBridge([...(plan.desired.get('s1')?.values() ?? [])]);
    expect(bridge?.metadata.labels?.['netfence.dev/role']).toBe('onboarding');
    const ctx: TenantContext = {
      plan,
      tenants: { tenant: (n) => tenants.find((t) => t.metadata.name === n) },
      policies: api,
      writer: new FakeStatusWriter(),
      recorder,
      memory,
      now: () => new Date(),
    };
    const ready = async () => (await reconcileTenant('shop', ctx)).status?.conditions?.find((c) => c.type === CONDITION.ready);
    expect(await ready()).toMatchObject({ status: 'True' });
    api.seed(structuredClone(bridge) as NetworkPolicy);
    expect(await ready()).toMatchObject({ status: 'False', reason: REASON.progressing, message: expect.stringContaining('1 namespace still onboarding') as unknown });
  });

  test('needs no bridge where the plan holds the deny alone', () => {
    const plan = planOf({ tenants: [liveTenant('a'), liveTenant('b')], namespaces: [ns('x', { 'netfence.dev/tenant': 'a' }), ns('y')] });
    expect(onboardingBridge([...(plan.desired.get('x')?.values() ?? [])])).toBeDefined();
    expect(onboardingBridge([...(plan.desired.get('x')?.values() ?? [])].filter((p) => p.metadata.name === 'netfence-default-deny'))).toBeUndefined();
  });
});

describe('reconcileTenant', () => {
  const now = () => new Date('2026-11-24T10:00:00.123Z');

  function tenantContext(tenants: TenantIsolation[], namespaces: ReturnType<typeof ns>[], api: FakePolicyApi, memory = new ReconcileMemory()) {
    const plan = planOf({ tenants, namespaces });
    const writer = new FakeStatusWriter();
    const recorder = new FakeRecorder();
    const ctx: TenantContext = { plan, tenants: { tenant: (n) => tenants.find((t) => t.metadata.name === n) }, policies: api, writer, recorder, memory, now };
    return { ctx, writer, recorder, plan };
  }

  test('reports Ready with the member namespaces and policy count once every policy is in place', async () => {
    const api = new FakePolicyApi();
    const t = liveTenant('team-a', {}, 3);
    const { ctx, writer, plan } = tenantContext([t], [memberNs('a1', 'team-a'), memberNs('a2', 'team-a')], api);
    const before = await reconcileTenant('team-a', ctx);
    expect(before.status?.conditions?.find((c) => c.type === CONDITION.ready)).toMatchObject({ status: 'False', reason: REASON.progressing });
    for (const n of ['a1', 'a2']) await reconcileNamespace(n, { plan, policies: api, writer: api, recorder: new FakeRecorder(), memory: new ReconcileMemory() });
    const after = await reconcileTenant('team-a', ctx);
    expect(after.status).toMatchObject({
      observedGeneration: 3,
      memberNamespaces: ['a1', 'a2'],
      conflictingNamespaces: [],
      policyCount: plan.tenants.get('team-a')!.policies.length,
    });
    expect(after.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', REASON.reconciled],
      ['Degraded', 'False', REASON.reconciled],
      ['Conflict', 'False', REASON.noConflict],
      ['Stalled', 'False', REASON.notStalled],
    ]);
    expect(writer.count).toBe(2);
  });

  test('Degraded follows each planned policy: one namespace whose writes are refused keeps the tenant Degraded while another reconciles fine, and clears once it is fenced', async () => {
    const api = new FakePolicyApi();
    const memory = new ReconcileMemory();
    const { ctx, plan } = tenantContext([liveTenant('team-a')], [memberNs('a1', 'team-a'), memberNs('a2', 'team-a')], api, memory);
    const create = api.create.bind(api);
    let refuse = true;
    // An admission policy that refuses every write in a1.
    api.create = async (p) => {
      if (refuse && p.metadata.namespace === 'a1') throw new ApiError(403, 'Forbidden', 'denied by ValidatingAdmissionPolicy no-writes', 'POST');
      return create(p);
    };
    const nsCtx = { plan, policies: api, writer: api, recorder: new FakeRecorder(), memory };
    const degraded = async () => (await reconcileTenant('team-a', ctx)).status?.conditions?.find((c) => c.type === CONDITION.degraded);
    await expect(reconcileNamespace('a1', nsCtx)).rejects.toMatchObject({ status: 403 });
    await reconcileNamespace('a2', nsCtx);
    expect(await degraded()).toMatchObject({
      status: 'True',
      reason: REASON.applyFailed,
      message: expect.stringMatching(/^a1\/netfence-[a-z-]+: denied by ValidatingAdmissionPolicy/) as unknown,
    });
    // a2's later passes (a resync, a drift repair) change nothing about a1.
    await reconcileNamespace('a2', nsCtx);
    await reconcileNamespace('a2', nsCtx);
    expect(await degraded()).toMatchObject({ status: 'True', message: expect.stringContaining('a1/') as unknown });
    expect((await degraded())?.message).not.toContain('a2/');
    refuse = false;
    await reconcileNamespace('a1', nsCtx);
    expect(await degraded()).toMatchObject({ status: 'False', reason: REASON.reconciled });
  });

  test('a failure remembered for a policy that is in place after all (written by the previous leader) does not make the tenant Degraded', async () => {
    const api = new FakePolicyApi();
    const memory = new ReconcileMemory();
    const { ctx, plan } = tenantContext([liveTenant('team-a')], [memberNs('a1', 'team-a')], api, memory);
    await reconcileNamespace('a1', { plan, policies: api, writer: api, recorder: new FakeRecorder(), memory: new ReconcileMemory() });
    memory.policyFailures.set('a1/netfence-default-deny', 'an old 503');
    const { status } = await reconcileTenant('team-a', ctx);
    expect(status?.conditions?.find((c) => c.type === CONDITION.degraded)).toMatchObject({ status: 'False' });
  });

  test('a member label that cannot be written makes both tenants it concerns Degraded, naming the namespace, and only them', async () => {
    const api = new FakePolicyApi();
    const memory = new ReconcileMemory();
    memory.labelFailures.set('a1', { tenants: ['team-b', 'team-a'], message: 'cannot set its member label: 403' });
    const tenants = [liveTenant('team-a'), liveTenant('team-b'), liveTenant('team-c')];
    const { ctx } = tenantContext(tenants, [memberNs('a1', 'team-b'), memberNs('c1', 'team-c')], api, memory);
    const degraded = async (t: string) => (await reconcileTenant(t, ctx)).status?.conditions?.find((c) => c.type === CONDITION.degraded);
    expect(await degraded('team-a')).toMatchObject({ status: 'True', message: 'namespace a1: cannot set its member label: 403' });
    expect(await degraded('team-b')).toMatchObject({ status: 'True', message: 'namespace a1: cannot set its member label: 403' });
    expect(await degraded('team-c')).toMatchObject({ status: 'False' });
  });

  test('a namespace that is gone takes its failures with it, and says which tenants must look again', () => {
    const memory = new ReconcileMemory();
    memory.labelFailures.set('a1', { tenants: ['team-b', 'team-a'], message: 'cannot set its member label: 403' });
    memory.policyFailures.set('a1/netfence-default-deny', 'refused');
    memory.policyFailures.set('a10/netfence-default-deny', 'refused');
    memory.blockedIn.add('a1');
    expect(memory.forgetNamespace('a1')).toEqual(['team-b', 'team-a']);
    expect([...memory.policyFailures.keys()]).toEqual(['a10/netfence-default-deny']);
    expect(memory.labelFailures.size + memory.blockedIn.size).toBe(0);
    expect(memory.forgetNamespace('a1')).toEqual([]);
  });

  test('lists three failures and counts the rest', async () => {
    const api = new FakePolicyApi();
    const memory = new ReconcileMemory();
    const members = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const { ctx } = tenantContext(
      [liveTenant('team-a')],
      members.map((n) => memberNs(n, 'team-a')),
      api,
      memory,
    );
    for (const n of members) memory.policyFailures.set(`${n}/netfence-default-deny`, 'refused');
    const message = (await reconcileTenant('team-a', ctx)).status?.conditions?.find((c) => c.type === CONDITION.degraded)?.message;
    expect(message).toBe('a1/netfence-default-deny: refused; a2/netfence-default-deny: refused; a3/netfence-default-deny: refused; and 2 more');
  });

  test('does not write a status that already says the same, and keeps transition times', async () => {
    const api = new FakePolicyApi();
    const first = tenantContext([liveTenant('team-a')], [memberNs('a1', 'team-a')], api);
    const { status } = await reconcileTenant('team-a', first.ctx);
    const later = () => new Date('2026-11-24T11:00:00Z');
    const again = tenantContext([liveTenant('team-a', {}, 1, status)], [memberNs('a1', 'team-a')], api);
    const outcome = await reconcileTenant('team-a', { ...again.ctx, now: later });
    expect(outcome.wrote).toBe(false);
    expect(again.writer.count).toBe(0);
    expect(outcome.status?.conditions?.[0]?.lastTransitionTime).toBe('2026-11-24T10:00:00Z');
  });

  test('reports a namespace claimed by two tenants as a Conflict, not Ready, with one Warning Event', async () => {
    const api = new FakePolicyApi();
    const tenants = [liveTenant('team-a', { namespaces: ['shared', 'a1'] }), liveTenant('team-b', { namespaces: ['shared'] })];
    const memory = new ReconcileMemory();
    const { ctx, recorder } = tenantContext(tenants, [ns('shared'), ns('a1')], api, memory);
    const { status } = await reconcileTenant('team-a', ctx);
    const cond = (type: string) => status?.conditions?.find((c) => c.type === type);
    expect(cond('Conflict')).toMatchObject({ status: 'True', reason: REASON.namespaceConflict });
    expect(cond('Conflict')?.message).toContain('shared (claimed by team-a, team-b)');
    expect(cond('Ready')?.status).toBe('False');
    expect(cond('Degraded')?.status).toBe('True');
    expect(status?.memberNamespaces).toEqual(['a1']);
    expect(status?.conflictingNamespaces).toEqual(['shared']);
    await reconcileTenant('team-a', ctx);
    expect(recorder.events.filter((e) => e.reason === REASON.namespaceConflict)).toHaveLength(1);
  });

  test('reports an uncompilable tenant as InvalidSpec', async () => {
    const api = new FakePolicyApi();
    const bad = liveTenant('team-a', { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' as 'In' }] } });
    const { ctx, recorder } = tenantContext([bad], [ns('a1', { a: 'x' })], api);
    const { status } = await reconcileTenant('team-a', ctx);
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: REASON.invalidSpec });
    expect(recorder.events.map((e) => [e.type, e.reason])).toContainEqual(['Warning', REASON.invalidSpec]);
  });

  test('lists in Audit mode what Enforce would create, and the plan holds no policy to write', async () => {
    const api = new FakePolicyApi();
    const { ctx, recorder, plan } = tenantContext([liveTenant('team-a', { mode: 'Audit' })], [memberNs('a1', 'team-a')], api);
    expect(plan.desired.get('a1')).toBeUndefined();
    const { status } = await reconcileTenant('team-a', ctx);
    const wouldBe = plan.tenants
      .get('team-a')!
      .policies.map((p) => p.metadata.name)
      .sort();
    expect(status?.plannedChanges?.map((c) => `${c.action} ${c.namespace}/${c.name}`).sort()).toEqual(wouldBe.map((n) => `create a1/${n}`));
    expect(status?.plannedChangeCount).toBe(wouldBe.length);
    expect(status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: REASON.audit });
    expect(recorder.events.find((e) => e.reason === REASON.audit)?.message).toMatch(new RegExp(`create ${wouldBe.length},`));
  });

  test('writes nothing for a tenant newer than the plan', async () => {
    const api = new FakePolicyApi();
    const { ctx, writer } = tenantContext([liveTenant('team-a', {}, 1)], [memberNs('a1', 'team-a')], api);
    const newer = liveTenant('team-a', { mode: 'Audit' }, 2);
    const outcome = await reconcileTenant('team-a', { ...ctx, tenants: { tenant: () => newer } });
    expect(outcome.wrote).toBe(false);
    expect(writer.count).toBe(0);
  });
});

describe('policyMatches', () => {
  const plan = planOf({ tenants: [liveTenant('team-a', { ingress: { from: [{ namespaces: ['x'], ports: [{ port: 80 }] }] } })], namespaces: [memberNs('a1', 'team-a'), ns('x')] });
  const desired = plan.desired.get('a1')!.get('netfence-allow-ingress')!;
  const clone = () => structuredClone(desired);

  test('treats what the API server defaults or drops as equal', () => {
    const live = clone();
    delete live.spec.ingress![0]!.ports![0]!.protocol;
    live.metadata.labels = { ...live.metadata.labels, 'argocd.argoproj.io/instance': 'x' };
    live.metadata.resourceVersion = '7';
    expect(policyMatches(live, desired)).toBe(true);
  });

  test('sees an added empty namespaceSelector, which opens the rule to every namespace', () => {
    const live = clone();
    live.spec.ingress![0]!.from![0]!.namespaceSelector = {};
    expect(policyMatches(live, desired)).toBe(false);
  });

  test('sees a removed managed-by label, a changed owner and an added conflict annotation', () => {
    const unlabelled = clone();
    unlabelled.metadata.labels = {};
    expect(policyMatches(unlabelled, desired)).toBe(false);
    const reowned = clone();
    reowned.metadata.ownerReferences = [{ ...reowned.metadata.ownerReferences![0]!, uid: 'someone-else' }];
    expect(policyMatches(reowned, desired)).toBe(false);
    const annotated = clone();
    annotated.metadata.annotations = { 'netfence.dev/conflicting-tenants': 'a,b' };
    expect(policyMatches(annotated, desired)).toBe(false);
  });
});
