import { jest } from '@jest/globals';
import type { Namespace } from '../../src/api/k8s.js';
import type { TenantIsolation } from '../../src/api/types.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { deepFreeze } from '../../src/core/objects.js';
import { Planner, type Plan, type PlanChanges } from '../../src/controller/planner.js';
import { memberNs, ns } from '../fixtures/builders.js';

const tenant = (name: string, generation = 1, spec: TenantIsolation['spec'] = {}): TenantIsolation =>
  deepFreeze({ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name, uid: `uid-${name}`, generation }, spec });

function plannerOver(world: { tenants: TenantIsolation[]; namespaces: Namespace[] }, minIntervalMs = 20, settings = defaultSettings()) {
  const plans: { plan: Plan; changes: PlanChanges }[] = [];
  let reads = 0;
  const planner = new Planner({
    read: () => {
      reads++;
      return { tenants: world.tenants, namespaces: world.namespaces, settings };
    },
    onPlan: (plan, changes) => plans.push({ plan, changes }),
    minIntervalMs,
  });
  return { planner, plans, reads: () => reads };
}

describe('Planner', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('reports every namespace and tenant on the first plan, then only what a change touched', () => {
    const world = { tenants: [tenant('a'), tenant('b')], namespaces: [memberNs('a1', 'a'), memberNs('a2', 'a'), memberNs('b1', 'b'), ns('free')] };
    const { planner, plans } = plannerOver(world);
    planner.planNow();
    expect(plans[0]?.changes).toEqual({ namespaces: ['a1', 'a2', 'b1'], tenants: ['a', 'b'] });

    world.namespaces = [memberNs('a1', 'a'), memberNs('a2', 'a'), memberNs('b1', 'b'), memberNs('free', 'b')];
    planner.planNow();
    // b gained a member: only the joining namespace changes (members are selected by label), and b's status.
    expect(plans[1]?.changes).toEqual({ namespaces: ['free'], tenants: ['b'] });
    expect(plans[1]?.plan.memberOf.get('free')).toBe('b');

    planner.planNow();
    expect(plans[2]?.changes).toEqual({ namespaces: [], tenants: [] });
  });

  test('with members by name, a join changes every member of the tenant', () => {
    const world = { tenants: [tenant('a'), tenant('b')], namespaces: [memberNs('a1', 'a'), memberNs('b1', 'b'), ns('free')] };
    const { planner, plans } = plannerOver(world, 20, { ...defaultSettings(), memberLabel: false });
    planner.planNow();
    world.namespaces = [memberNs('a1', 'a'), memberNs('b1', 'b'), memberNs('free', 'b')];
    planner.planNow();
    expect(plans[1]?.changes).toEqual({ namespaces: ['b1', 'free'], tenants: ['b'] });
    expect(plans[1]?.plan.memberOf.size).toBe(0);
  });

  test('reports a namespace that no plan wants any more, so its policies and its label go', () => {
    const world = { tenants: [tenant('a')], namespaces: [memberNs('a1', 'a'), memberNs('a2', 'a')] };
    const { planner, plans } = plannerOver(world);
    planner.planNow();
    world.namespaces = [memberNs('a1', 'a'), ns('a2')];
    planner.planNow();
    expect(plans[1]?.changes.namespaces).toEqual(['a2']);
    expect(plans[1]?.plan.desired.has('a2')).toBe(false);
    expect(plans[1]?.plan.memberOf.has('a2')).toBe(false);
  });

  test("reports an Audit tenant's member for its label, though no policy is written there", () => {
    const world = { tenants: [tenant('a', 1, { mode: 'Audit' })], namespaces: [ns('a1')] };
    const { planner, plans } = plannerOver(world);
    planner.planNow();
    world.namespaces = [memberNs('a1', 'a')];
    planner.planNow();
    expect(plans[1]?.changes.namespaces).toEqual(['a1']);
    expect(plans[1]?.plan.desired.has('a1')).toBe(false);
    expect(plans[1]?.plan.memberOf.get('a1')).toBe('a');
  });

  test('reports a tenant whose generation changed even when its policies did not', () => {
    const world = { tenants: [tenant('a', 1)], namespaces: [memberNs('a1', 'a')] };
    const { planner, plans } = plannerOver(world);
    planner.planNow();
    world.tenants = [tenant('a', 2)];
    planner.planNow();
    expect(plans[1]?.changes).toEqual({ namespaces: [], tenants: ['a'] });
    expect(plans[1]?.plan.generations.get('a')).toBe(2);
  });

  test('compiles a burst of changes once, after the minimum interval', () => {
    const world = { tenants: [tenant('a')], namespaces: [memberNs('a1', 'a')] };
    const { planner, plans, reads } = plannerOver(world, 50);
    planner.planNow();
    for (let i = 0; i < 100; i++) planner.markDirty();
    expect(reads()).toBe(1);
    jest.advanceTimersByTime(49);
    expect(reads()).toBe(1);
    jest.advanceTimersByTime(1);
    expect(reads()).toBe(2);
    expect(plans.map((p) => p.plan.seq)).toEqual([1, 2]);
    jest.advanceTimersByTime(1000);
    expect(reads()).toBe(2);
  });

  test('plans nothing after stop', () => {
    const world = { tenants: [tenant('a')], namespaces: [memberNs('a1', 'a')] };
    const { planner, reads } = plannerOver(world);
    planner.planNow();
    planner.markDirty();
    planner.stop();
    jest.advanceTimersByTime(1000);
    expect(reads()).toBe(1);
  });

  test('keeps the last plan when reading the world throws', () => {
    const errors: unknown[] = [];
    let fail = false;
    const planner = new Planner({
      read: () => {
        if (fail) throw new Error('boom');
        return { tenants: [tenant('a')], namespaces: [memberNs('a1', 'a')], settings: defaultSettings() };
      },
      onPlan: () => undefined,
      onError: (e) => errors.push(e),
    });
    const first = planner.planNow();
    fail = true;
    expect(planner.planNow()).toBe(first);
    expect(planner.current).toBe(first);
    expect(errors).toHaveLength(1);
  });
});
