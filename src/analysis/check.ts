/**
 * `netfence check`: every path that crosses a tenant's fence without that tenant's
 * TenantIsolation declaring it. Pure.
 *
 * A path from class A to class B on some ports crosses the fence of A's tenant (leaving it)
 * and of B's tenant (entering it) when the two differ. It is a violation on the ports the
 * policies allow but the crossed tenant does not declare: the sender's egress declarations,
 * the receiver's ingress declarations and exposures. A violation of an Enforce tenant's fence
 * fails the check; one of an Audit tenant's fence is reported and does not fail it (nothing
 * is enforced there by design).
 */
import type { TenantMode } from '../api/types.js';
import { compareStrings } from '../core/labels.js';
import type { Fences } from './fences.js';
import { PortSet } from './ports.js';
import type { Allowance, EndpointClass, PairAnswer, Reachability, SideAnswer } from './reachability.js';

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

/** The violation an allowed pair makes, if it makes one. */
export function violationOf(reach: Reachability, fences: Fences, p: PairAnswer): Violation | undefined {
  if (p.from.tenant === p.to.tenant) return undefined;
  const declared = reach.declared(p.from, p.to);
  const crossings: FenceCrossing[] = [];
  const cross = (tenant: string | undefined, direction: 'egress' | 'ingress', side: SideAnswer): void => {
    if (tenant === undefined) return;
    const fence = fences.tenants.get(tenant);
    if (fence === undefined) return;
    const ports = p.allowed.subtract(side.ports);
    if (!ports.isEmpty()) crossings.push({ tenant, mode: fence.mode, direction, ports });
  };
  cross(p.from.tenant, 'egress', declared.egress);
  cross(p.to.tenant, 'ingress', declared.ingress);
  if (crossings.length === 0) return undefined;
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

export function findViolations(reach: Reachability, fences: Fences): Violation[] {
  const out: Violation[] = [];
  reach.forEachAllowed((p) => {
    const v = violationOf(reach, fences, p);
    if (v !== undefined) out.push(v);
  });
  return out.sort(
    (a, b) => Number(b.enforced) - Number(a.enforced) || compareStrings(classSortKey(a.from), classSortKey(b.from)) || compareStrings(classSortKey(a.to), classSortKey(b.to)),
  );
}
