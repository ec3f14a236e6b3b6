/**
 * `netfence check`: every path that crosses a tenant's fence without that tenant's
 * TenantIsolation declaring it, and the causes those paths come from. Pure.
 *
 * A path from class A to class B on some ports crosses the fence of A's tenant (leaving it)
 * and of B's tenant (entering it) when the two differ. It is a violation on the ports the
 * policies allow but the crossed tenant does not declare: the sender's egress declarations,
 * the receiver's ingress declarations and exposures. A violation of an Enforce tenant's fence
 * fails the check; one of an Audit tenant's fence is reported and does not fail it (nothing
 * is enforced there by design).
 *
 * Causes: each crossing is let through by the policies on the crossed tenant's side (the
 * sender's egress policies when it leaves, the receiver's ingress policies when it enters)
 * that allow some of its undeclared ports, or by no policy at all when nothing isolates those
 * pods. Crossings with the same tenant, the same namespaces on that side and the same
 * policies (or none) form one cause, in both directions: one hand-written allow-all policy is
 * one cause, however many paths it opens. `CauseGroups` counts paths per cause and keeps a
 * few examples, so its memory grows with the causes, not with the paths.
 */
import type { TenantMode } from '../api/types.js';
import { compareStrings } from '../core/labels.js';
import type { Fences } from './fences.js';
import { PortSet } from './ports.js';
import { undeclaredPorts, type Allowance, type EndpointClass, type PairAnswer, type Reachability, type SideAnswer } from './reachability.js';

export interface FenceCrossing {
  tenant: string;
  mode: TenantMode;
  /** `egress`: the path leaves the tenant; `ingress`: it enters it. */
  direction: 'egress' | 'ingress';
  /** Allowed ports this tenant does not declare for the path. */
  ports: PortSet;
}

export interface Violation {
  from: EndpointClass;
  to: EndpointClass;
  /** Every allowed, undeclared port: the union of the crossings' ports. */
  ports: PortSet;
  crossings: FenceCrossing[];
  /** Some crossing is of an Enforce tenant's fence: the check fails. */
  enforced: boolean;
  /** The source's egress: isolated or not, and the policies that allow some of `ports`. */
  egress: { isolated: boolean; allowing: Allowance[] };
  ingress: { isolated: boolean; allowing: Allowance[] };
}

function allowing(side: SideAnswer, ports: PortSet): { isolated: boolean; allowing: Allowance[] } {
  return {
    isolated: side.isolated,
    allowing: side.allowances.flatMap((a) => {
      const p = a.ports.intersect(ports);
      return p.isEmpty() ? [] : [{ name: a.name, ports: p }];
    }),
  };
}

/** A sortable name for a class: its first pod or address piece. */
export function classSortKey(c: EndpointClass): string {
  const pod = c.pods[0];
  if (pod !== undefined) return `0 ${pod.namespace}/${pod.name}`;
  return `1 ${c.addresses[0]?.text ?? ''}`;
}

/** The crossings of an allowed pair that the crossed tenants do not declare; none within one tenant. */
export function crossingsOf(reach: Reachability, fences: Fences, p: PairAnswer): FenceCrossing[] {
  if (p.from.tenant === p.to.tenant) return [];
  const declared = reach.declared(p.from, p.to);
  const crossings: FenceCrossing[] = [];
  const cross = (tenant: string | undefined, direction: 'egress' | 'ingress', side: SideAnswer): void => {
    if (tenant === undefined) return;
    const fence = fences.tenants.get(tenant);
    if (fence === undefined) return;
    const ports = undeclaredPorts(p, side);
    if (!ports.isEmpty()) crossings.push({ tenant, mode: fence.mode, direction, ports });
  };
  cross(p.from.tenant, 'egress', declared.egress);
  cross(p.to.tenant, 'ingress', declared.ingress);
  return crossings;
}

/** The violation of a pair with these (non-empty) crossings. */
export function violationFrom(p: PairAnswer, crossings: FenceCrossing[]): Violation {
  const ports = PortSet.union(crossings.map((c) => c.ports));
  return {
    from: p.from,
    to: p.to,
    ports,
    crossings,
    enforced: crossings.some((c) => c.mode === 'Enforce'),
    egress: allowing(p.egress, ports),
    ingress: allowing(p.ingress, ports),
  };
}

/** The violation an allowed pair makes, if it makes one. */
export function violationOf(reach: Reachability, fences: Fences, p: PairAnswer): Violation | undefined {
  const crossings = crossingsOf(reach, fences, p);
  return crossings.length === 0 ? undefined : violationFrom(p, crossings);
}

/** Visits every allowed pair with undeclared crossings, in the order `forEachAllowed` visits pairs, holding none. */
export function forEachCrossing(reach: Reachability, fences: Fences, visit: (p: PairAnswer, crossings: FenceCrossing[]) => void): void {
  reach.forEachAllowed((p) => {
    const crossings = crossingsOf(reach, fences, p);
    if (crossings.length > 0) visit(p, crossings);
  });
}

/** Visits every violation, in the order `forEachAllowed` visits pairs, holding none of them. */
export function forEachViolation(reach: Reachability, fences: Fences, visit: (v: Violation) => void): void {
  forEachCrossing(reach, fences, (p, crossings) => visit(violationFrom(p, crossings)));
}

/** Every violation at once, enforced first, then by source and destination (tests and benches; the report visits). */
export function findViolations(reach: Reachability, fences: Fences): Violation[] {
  const out: Violation[] = [];
  forEachViolation(reach, fences, (v) => out.push(v));
  return out.sort(
    (a, b) => Number(b.enforced) - Number(a.enforced) || compareStrings(classSortKey(a.from), classSortKey(b.from)) || compareStrings(classSortKey(a.to), classSortKey(b.to)),
  );
}

/** One example path of a cause. */
export interface CauseExample {
  from: EndpointClass;
  to: EndpointClass;
  /** The undeclared ports of this crossing. */
  ports: PortSet;
}

/** The crossings of a cause in one direction. */
export interface CauseDirection {
  /** Paths (class pairs) crossing this way. */
  paths: number;
  /** Union of their undeclared ports. */
  ports: PortSet;
  /** The first paths visited, at most `CauseGroups`' `examples`. */
  examples: CauseExample[];
}

export interface CauseGroup {
  /** Number of the cause, in the order causes were first met; stable for one input. */
  id: number;
  tenant: string;
  mode: TenantMode;
  /** The namespaces of the crossed tenant's pods on these paths, where `policies` are. */
  namespaces: readonly string[];
  /** False when no policy selects those pods for the direction: nothing stops the paths. */
  isolated: boolean;
  /** The policies (names, in each of `namespaces`) that allow the undeclared ports; empty when not isolated. */
  policies: readonly string[];
  /** Paths leaving the tenant (its egress) and entering it (its ingress). */
  egress: CauseDirection | undefined;
  ingress: CauseDirection | undefined;
}

function compareGroups(a: CauseGroup, b: CauseGroup): number {
  return (
    Number(b.mode === 'Enforce') - Number(a.mode === 'Enforce') ||
    compareStrings(a.tenant, b.tenant) ||
    compareStrings(a.namespaces.join(','), b.namespaces.join(',')) ||
    Number(a.isolated) - Number(b.isolated) ||
    compareStrings(a.policies.join(','), b.policies.join(','))
  );
}

const newDirection = (): CauseDirection => ({ paths: 0, ports: PortSet.EMPTY, examples: [] });

/** The cause's policies are exactly the side's allowances that overlap `ports`, in order. */
function sameCause(g: CauseGroup, side: SideAnswer, ports: PortSet): boolean {
  if (g.isolated !== side.isolated) return false;
  const { allowances } = side;
  let k = 0;
  for (let i = 0; i < allowances.length; i++) {
    const a = allowances[i] as Allowance;
    if (!a.ports.overlaps(ports)) continue;
    if (g.policies[k] !== a.name) return false;
    k++;
  }
  return k === g.policies.length;
}

/**
 * Counts crossings by cause. Memory grows with the causes (each keeps `examples` paths) and
 * the classes (each remembers the causes its crossings had), not with the paths.
 */
export class CauseGroups {
  private readonly byKey = new Map<string, CauseGroup>();
  /** By class index: the causes crossings on that class's side had, tried before building a key. */
  private readonly byClass = new Map<number, CauseGroup[]>();
  /** Paths added, and of those, the ones that cross an Enforce tenant's fence. */
  paths = 0;
  enforcedPaths = 0;

  constructor(private readonly examples = 3) {}

  private causeOf(c: FenceCrossing, cls: EndpointClass, side: SideAnswer): CauseGroup {
    let known = this.byClass.get(cls.index);
    if (known === undefined) this.byClass.set(cls.index, (known = []));
    for (const g of known) if (sameCause(g, side, c.ports)) return g;
    const policies = side.allowances.filter((a) => a.ports.overlaps(c.ports)).map((a) => a.name);
    const key = `${c.tenant}\u0000${cls.namespaces.join(',')}\u0000${side.isolated}\u0000${policies.join(',')}`;
    let g = this.byKey.get(key);
    if (g === undefined) {
      g = { id: this.byKey.size, tenant: c.tenant, mode: c.mode, namespaces: cls.namespaces, isolated: side.isolated, policies, egress: undefined, ingress: undefined };
      this.byKey.set(key, g);
    }
    known.push(g);
    return g;
  }

  /** Adds an allowed pair with its undeclared crossings; pushes the id of each crossing's cause onto `ids`, in order. */
  add(p: PairAnswer, crossings: readonly FenceCrossing[], ids?: number[]): void {
    this.paths++;
    let enforced = false;
    for (const c of crossings) {
      enforced ||= c.mode === 'Enforce';
      const egress = c.direction === 'egress';
      const g = egress ? this.causeOf(c, p.from, p.egress) : this.causeOf(c, p.to, p.ingress);
      const d = egress ? (g.egress ??= newDirection()) : (g.ingress ??= newDirection());
      d.paths++;
      d.ports = d.ports.union(c.ports);
      if (d.examples.length < this.examples) d.examples.push({ from: p.from, to: p.to, ports: c.ports });
      ids?.push(g.id);
    }
    if (enforced) this.enforcedPaths++;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The causes, those of Enforce tenants first, then by tenant, namespaces and policies. */
  sorted(): CauseGroup[] {
    return [...this.byKey.values()].sort(compareGroups);
  }
}
