/**
 * The Planner's sliced plans: they let the event loop turn between slices, follow changes made
 * while they run, and compute what `compile` and a fresh plan compute. Fake timers make the
 * order of timers and slices deterministic; `sliceMs: 0` makes every step of a plan a slice.
 */
import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { Namespace, NetworkPolicy } from '../../src/api/k8s.js';
import type { TenantIsolation } from '../../src/api/types.js';
import { compile, CompileCache, type CompileInput, type CompileResult } from '../../src/compiler/compile.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { deepFreeze } from '../../src/core/objects.js';
import { Planner, type Plan, type PlanChanges } from '../../src/controller/planner.js';
import { memberNs, ns } from '../fixtures/builders.js';
import { clusterArb } from '../fixtures/tenant-cluster-arbitrary.js';

const tenant = (name: string, spec: TenantIsolation['spec'] = {}): TenantIsolation =>
  deepFreeze({ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name, uid: `uid-${name}`, generation: 1 }, spec });

/** `tenants` tenants with peers on each other, `perTenant` member namespaces each. */
function bigWorld(tenants: number, perTenant: number): { tenants: TenantIsolation[]; namespaces: Namespace[] } {
  const names = Array.from({ length: tenants }, (_, t) => `t${t}`);
  return {
    tenants: names.map((name, t) => tenant(name, { ingress: { from: [{ tenant: names[(t + 1) % tenants] }] }, egress: { to: [{ cidr: '0.0.0.0/0' }] } })),
    namespaces: names.flatMap((name) => Array.from({ length: perTenant }, (_, i) => memberNs(`${name}-ns${i}`, name))),
  };
}

function slicedPlanner(read: () => CompileInput, minIntervalMs = 20) {
  const events: string[] = [];
  const plans: { plan: Plan; changes: PlanChanges }[] = [];
  let reads = 0;
  const planner = new Planner({
    read: () => {
      reads++;
      return read();
    },
    onPlan: (plan, changes) => {
      events.push(`plan ${plan.seq}`);
      plans.push({ plan, changes });
    },
    minIntervalMs,
    sliceMs: 0,
  });
  return { planner, plans, events, reads: () => reads };
}

/** Namespace -> what the compiler wants there (its policies and its member label), as JSON. */
function wantedByNamespace(result: CompileResult): Map<string, string> {
  const out = new Map<string, string>();
  const names = new Set([...result.policies.map((p) => p.metadata.namespace), ...result.memberLabels.map((m) => m.namespace)]);
  for (const n of names) {
    out.set(n, JSON.stringify([result.memberLabels.find((m) => m.namespace === n)?.tenant, result.policies.filter((p) => p.metadata.namespace === n)]));
  }
  return out;
}

describe('Planner, sliced', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a timer set while a big plan runs fires before the plan ends', async () => {
    const world = bigWorld(20, 300);
    const { planner, events } = slicedPlanner(() => ({ ...world, settings: defaultSettings() }));
    const done = planner.planSliced();
    expect(planner.planning).toBe(true);
    setTimeout(() => events.push('timer'), 0);
    await jest.runAllTimersAsync();
    const plan = await done;
    expect(events).toEqual(['timer', 'plan 1']);
    expect(plan?.result.policies).toHaveLength(20 * 300 * 5);
    expect(planner.planning).toBe(false);
  });

  test('a change while a plan runs leads to another plan, which sees it', async () => {
    const world = bigWorld(5, 100);
    const { planner, plans, reads } = slicedPlanner(() => ({ ...world, settings: defaultSettings() }));
    planner.planNow();
    world.namespaces = [...world.namespaces, ns('free')];
    void planner.planSliced();
    // The second plan has read the world and runs in slices.
    expect(planner.planning).toBe(true);
    expect(reads()).toBe(2);
    world.namespaces = [...world.namespaces.filter((n) => n.metadata.name !== 'free'), memberNs('free', 't1')];
    planner.markDirty();
    await jest.runAllTimersAsync();
    expect(reads()).toBe(3);
    expect(plans.map((p) => p.plan.seq)).toEqual([1, 2, 3]);
    // Plan 2 read the world before the join; plan 3 after it.
    expect(plans[1]?.plan.memberOf.has('free')).toBe(false);
    expect(plans[2]?.plan.memberOf.get('free')).toBe('t1');
    expect(plans[2]?.changes).toEqual({ namespaces: ['free'], tenants: ['t1'] });
  });

  test('planSliced during a running plan resolves with a plan read after the call', async () => {
    const world = bigWorld(5, 100);
    const { planner, plans } = slicedPlanner(() => ({ ...world, settings: defaultSettings() }));
    const first = planner.planSliced();
    world.namespaces = [...world.namespaces, memberNs('late', 't0')];
    const second = planner.planSliced();
    await jest.runAllTimersAsync();
    expect((await first)?.seq).toBe(1);
    expect((await first)?.memberOf.has('late')).toBe(false);
    expect((await second)?.seq).toBe(2);
    expect((await second)?.memberOf.get('late')).toBe('t0');
    expect(plans).toHaveLength(2);
  });

  test('planNow supersedes a sliced plan in progress: that one is dropped, plans stay in order', async () => {
    const world = bigWorld(5, 100);
    const { planner, plans } = slicedPlanner(() => ({ ...world, settings: defaultSettings() }));
    const sliced = planner.planSliced();
    world.namespaces = [...world.namespaces, memberNs('late', 't0')];
    const now = planner.planNow();
    await jest.runAllTimersAsync();
    expect(await sliced).toBe(now);
    expect(plans.map((p) => p.plan.seq)).toEqual([1]);
    expect(planner.current?.memberOf.get('late')).toBe('t0');
  });

  test('stop drops a sliced plan in progress', async () => {
    const world = bigWorld(5, 100);
    const { planner, plans } = slicedPlanner(() => ({ ...world, settings: defaultSettings() }));
    const sliced = planner.planSliced();
    planner.stop();
    await jest.runAllTimersAsync();
    expect(await sliced).toBeUndefined();
    expect(plans).toHaveLength(0);
  });

  test('a sliced plan that throws keeps the last plan and tries again', async () => {
    const world = bigWorld(2, 3);
    let fail = false;
    const errors: unknown[] = [];
    const planner = new Planner({
      read: () => {
        if (fail) throw new Error('boom');
        return { ...world, settings: defaultSettings() };
      },
      onPlan: () => undefined,
      onError: (e) => errors.push(e),
      sliceMs: 0,
    });
    const first = planner.planNow();
    fail = true;
    const sliced = planner.planSliced();
    await jest.advanceTimersByTimeAsync(0);
    expect(await sliced).toBe(first);
    expect(errors).toHaveLength(1);
    fail = false;
    await jest.advanceTimersByTimeAsync(999);
    expect(planner.current?.seq).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(planner.planning).toBe(true);
    await jest.runAllTimersAsync();
    expect(planner.current?.seq).toBe(2);
  });
});

describe('sliced and cached compiles compute what compile computes', () => {
  test('a compile with a cache warmed by another cluster equals one without, and shares its unchanged policies', () => {
    fc.assert(
      fc.property(clusterArb, clusterArb, (a, b) => {
        let byKey = new Map<string, NetworkPolicy>();
        const cache = new CompileCache((namespace, name) => byKey.get(`${namespace}/${name}`));
        const before = compile(a.input, cache);
        expect(before).toEqual(compile(a.input));
        byKey = new Map(before.policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
        const cached = compile(b.input, cache);
        expect(cached).toEqual(compile(b.input));
        // Where a policy is equal to the one held, it is that object.
        for (const p of cached.policies) {
          const held = byKey.get(`${p.metadata.namespace}/${p.metadata.name}`);
          if (held !== undefined && JSON.stringify(held) === JSON.stringify(p)) expect(p).toBe(held);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a sliced plan after another equals compile, and reports exactly the namespaces whose wanted state changed', () => {
    jest.useFakeTimers();
    try {
      fc.assert(
        fc.property(clusterArb, clusterArb, (a, b) => {
          let input = a.input;
          const { planner, plans } = slicedPlanner(() => input, 0);
          // The property runs synchronously on fake timers: the plans are read from onPlan, not from this promise.
          void planner.planSliced();
          jest.runAllTimers();
          input = b.input;
          planner.markDirty();
          jest.runAllTimers();
          expect(plans.map((p) => p.plan.seq)).toEqual([1, 2]);
          const second = plans[1] as { plan: Plan; changes: PlanChanges };
          expect(second.plan.result).toEqual(compile(b.input));
          const wantA = wantedByNamespace(compile(a.input));
          const wantB = wantedByNamespace(compile(b.input));
          const changed = [...new Set([...wantA.keys(), ...wantB.keys()])].filter((n) => wantA.get(n) !== wantB.get(n)).sort();
          expect(second.changes.namespaces).toEqual(changed);
          const fresh = new Planner({ read: () => b.input, onPlan: () => undefined }).planNow();
          expect(second.plan.desired).toEqual(fresh?.desired);
          expect(second.plan.claimants).toEqual(fresh?.claimants);
        }),
        { numRuns: 200 },
      );
    } finally {
      jest.useRealTimers();
    }
  });
});
