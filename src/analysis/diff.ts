/**
 * `netfence diff`: what a change (a base scene and a head scene) opens and closes. Pure.
 *
 * The two scenes have different endpoint classes, so they are compared in terms both share:
 * a path goes from one end to another, an end being a namespace or a piece of the address
 * space outside the cluster (the pieces of both scenes cut together, so an ipBlock added
 * elsewhere changes no end). A path's ports are those on which some pod (or address) of the
 * source reaches some other pod of the destination: a pod's traffic to itself is always
 * allowed, so no change opens or closes it (reachability.ts), and node traffic is not modelled.
 *
 * Guarantees, for every path and port:
 * - `opened`: allowed in the head, not in the base; `closed`: the reverse. Each is described
 *   at every fence it crosses (or `within` one tenant, or `outside` every tenant) as the scene
 *   that allows it has it: `declared`, `audit` (undeclared, Audit tenant) or `violation`
 *   (undeclared, Enforce tenant); a port undeclared for some pods of a namespace counts as
 *   undeclared for the namespace.
 * - `kept` (allowed in both): reported only where a fence crossing is undeclared in one scene
 *   and not in the other, or turns between Audit and Enforce; a namespace that merely joins
 *   or leaves a tenant while its paths stay declared changes nothing.
 * - `failing`: the head has the path's crossing of an Enforce tenant's fence (tenant,
 *   direction, both ends, port) undeclared and the base does not; `failed` is some change
 *   failing.
 * - Changes are grouped: one change per (kind, fence, ports, allowing policies) and set of
 *   ends on each side; sorted failing first, then Audit, then the rest.
 * Caveats: namespace granularity. A port one pod of a namespace gains towards another
 * namespace, where another pod of it already had it, is no change; `check` still sees it.
 */
import type { TenantMode } from '../api/types.js';
import { formatCidr, type Cidr, type IP } from '../core/cidr.js';
import { compareStrings } from '../core/labels.js';
import { addressPieces } from './addresses.js';
import { crossingsOf } from './check.js';
import { PortSet } from './ports.js';
import type { EndpointClass, PairAnswer } from './reachability.js';
import type { Scene } from './scene.js';

/** A piece of the address space outside the cluster: `cidr` minus `except`; `range` says it for people (long lists shortened). */
export interface AddressRange {
  kind: 'addresses';
  range: string;
  cidr: string;
  except: string[];
  metadata: boolean;
}

/**
 * An end of a path: a namespace, a piece of the address space outside the cluster, or all of
 * it (`everywhere`: every piece, cloud metadata included when `metadata`, else every piece but
 * cloud metadata's).
 */
export type DiffEnd = { kind: 'namespace'; name: string } | AddressRange | { kind: 'everywhere'; metadata: boolean };

/** How a path's ports pass a fence: `allowed` where it crosses none (within a tenant, or outside every tenant). */
export type PathState = 'allowed' | 'declared' | 'audit' | 'violation';

export type DiffScope = { kind: 'crossing'; tenant: string; direction: 'egress' | 'ingress' } | { kind: 'within'; tenant: string } | { kind: 'outside' };

/**
 * What lets the ports of a change through one side: the names of the policies that allow some
 * of them, each in every namespace of that side's ends (the source's for egress, the
 * destination's for ingress), and whether no policy selects some of the pods for that direction.
 */
export interface SideCause {
  policies: string[];
  unrestricted: boolean;
}

export interface DiffChange {
  /** `opens`: reachable or undeclared in the head and not in the base; `closes`: the reverse. */
  section: 'opens' | 'closes';
  reach: 'opened' | 'closed' | 'kept';
  scope: DiffScope;
  /** The state in the base on these ports; undefined where the base does not allow them (or has no such crossing). */
  before: PathState | undefined;
  after: PathState | undefined;
  failing: boolean;
  from: DiffEnd[];
  to: DiffEnd[];
  ports: PortSet;
  /**
   * What allows the ports, in the head (opened, kept) or the base (closed): for a crossing the
   * tenant's own side, otherwise both sides; absent for an address end.
   */
  egress?: SideCause;
  ingress?: SideCause;
}

export interface SceneDiff {
  changes: DiffChange[];
  /** Distinct paths (ordered pairs of ends) with some opened, closed, kept-but-changed or failing ports. */
  paths: { opened: number; closed: number; refenced: number; failing: number };
  failed: boolean;
}

interface Projection {
  from: string;
  to: string;
  allowed: PortSet;
  /** Undeclared where the path leaves the source's tenant, and where it enters the destination's. */
  egress: PortSet;
  ingress: PortSet;
  answers: PairAnswer[];
}

interface View {
  scene: Scene;
  /** By source end, then destination end. */
  paths: Map<string, Map<string, Projection>>;
}

const SEP = '\n';
const endKey = (e: DiffEnd): string => (e.kind === 'namespace' ? `n ${e.name}` : e.kind === 'addresses' ? `a ${e.cidr}` : `a *${e.metadata ? '' : ' m'}`);
const SEVERITY = { none: 0, allowed: 1, declared: 1, audit: 2, violation: 3 } as const;
const severity = (s: PathState | undefined): number => SEVERITY[s ?? 'none'];

/** The ends of each class: its namespaces, or the shared address pieces inside it. */
function endsOfClasses(scene: Scene, pieces: readonly { key: string; representative: IP }[]): Map<EndpointClass, string[]> {
  const out = new Map<EndpointClass, string[]>();
  for (const c of scene.reach.classes)
    if (c.kind === 'pods')
      out.set(
        c,
        c.namespaces.map((n) => endKey({ kind: 'namespace', name: n })),
      );
  for (const p of pieces) {
    const c = scene.reach.classOfAddress(p.representative);
    const ends = out.get(c);
    if (ends === undefined) out.set(c, [p.key]);
    else ends.push(p.key);
  }
  return out;
}

function project(scene: Scene, ends: Map<EndpointClass, string[]>): View {
  const paths = new Map<string, Map<string, Projection>>();
  const { reach, fences } = scene;
  reach.forEachAllowed((pair) => {
    const crossings = crossingsOf(reach, fences, pair);
    const egress = crossings.find((c) => c.direction === 'egress')?.ports ?? PortSet.EMPTY;
    const ingress = crossings.find((c) => c.direction === 'ingress')?.ports ?? PortSet.EMPTY;
    for (const from of ends.get(pair.from) ?? []) {
      let row = paths.get(from);
      if (row === undefined) paths.set(from, (row = new Map<string, Projection>()));
      for (const to of ends.get(pair.to) ?? []) {
        const p = row.get(to);
        if (p === undefined) row.set(to, { from, to, allowed: pair.allowed, egress, ingress, answers: [pair] });
        else {
          if (!p.allowed.isAll()) p.allowed = p.allowed.union(pair.allowed);
          p.egress = p.egress.union(egress);
          p.ingress = p.ingress.union(ingress);
          p.answers.push(pair);
        }
      }
    }
  });
  return { scene, paths };
}

const tenantOfEnd = (view: View, key: string): string | undefined => (key.startsWith('n ') ? view.scene.fences.tenantOf.get(key.slice(2)) : undefined);
const modeOf = (view: View, tenant: string): TenantMode => view.scene.fences.tenants.get(tenant)?.mode ?? 'Enforce';

function scopeId(s: DiffScope): string {
  return s.kind === 'crossing' ? `c ${s.tenant} ${s.direction}` : s.kind === 'within' ? `w ${s.tenant}` : 'o';
}

/** The fences a path crosses in a scene, or where it stays. */
function scopesOf(view: View, from: string, to: string): DiffScope[] {
  const a = tenantOfEnd(view, from);
  const b = tenantOfEnd(view, to);
  if (a === b) return [a === undefined ? { kind: 'outside' } : { kind: 'within', tenant: a }];
  const out: DiffScope[] = [];
  if (a !== undefined) out.push({ kind: 'crossing', tenant: a, direction: 'egress' });
  if (b !== undefined) out.push({ kind: 'crossing', tenant: b, direction: 'ingress' });
  return out;
}

/** `ports` (allowed on the path) cut by how they pass `scope`. */
function statesOn(view: View, scope: DiffScope, p: Projection, ports: PortSet): [PathState, PortSet][] {
  if (scope.kind !== 'crossing') return [['allowed', ports]];
  const undeclared = scope.direction === 'egress' ? p.egress : p.ingress;
  const parts: [PathState, PortSet][] = [
    [modeOf(view, scope.tenant) === 'Enforce' ? 'violation' : 'audit', ports.intersect(undeclared)],
    ['declared', ports.subtract(undeclared)],
  ];
  return parts.filter(([, s]) => !s.isEmpty());
}

function sideCause(p: Projection, side: 'egress' | 'ingress', ports: PortSet, end: string): SideCause | undefined {
  if (!end.startsWith('n ')) return undefined;
  const policies = new Set<string>();
  let unrestricted = false;
  for (const a of p.answers) {
    const q = a.allowed.intersect(ports);
    if (q.isEmpty()) continue;
    const s = a[side];
    if (!s.isolated) unrestricted = true;
    for (const x of s.allowances) if (!x.ports.intersect(q).isEmpty()) policies.add(x.name);
  }
  return { policies: [...policies].sort(compareStrings), unrestricted };
}

interface Item {
  change: Omit<DiffChange, 'from' | 'to'>;
  /** Identity of the change without its ends. */
  key: string;
  from: string;
  to: string;
}

function item(
  reach: DiffChange['reach'],
  scope: DiffScope,
  before: PathState | undefined,
  after: PathState | undefined,
  ports: PortSet,
  p: Projection,
  from: string,
  to: string,
): Item {
  const opens = reach === 'opened' || (reach === 'kept' && severity(after) > severity(before));
  const change: Item['change'] = { section: opens ? 'opens' : 'closes', reach, scope, before, after, failing: after === 'violation' && before !== 'violation', ports };
  const egress = scope.kind === 'crossing' && scope.direction === 'ingress' ? undefined : sideCause(p, 'egress', ports, from);
  const ingress = scope.kind === 'crossing' && scope.direction === 'egress' ? undefined : sideCause(p, 'ingress', ports, to);
  if (egress !== undefined) change.egress = egress;
  if (ingress !== undefined) change.ingress = ingress;
  const key = JSON.stringify([reach, scopeId(scope), before ?? '', after ?? '', ports.key(), egress ?? null, ingress ?? null]);
  return { change, key, from, to };
}

/** Kept ports whose crossing of one fence changed between undeclared and not, or between Audit and Enforce. */
function refenced(base: View, head: View, b: Projection, h: Projection, kept: PortSet, from: string, to: string): Item[] {
  const out: Item[] = [];
  const crossings = new Map<string, DiffScope>();
  for (const s of [...scopesOf(base, from, to), ...scopesOf(head, from, to)]) if (s.kind === 'crossing') crossings.set(scopeId(s), s);
  const statesIn = (view: View, p: Projection, s: DiffScope): [PathState | undefined, PortSet][] =>
    scopesOf(view, from, to).some((x) => scopeId(x) === scopeId(s)) ? statesOn(view, s, p, kept) : [[undefined, kept]];
  for (const s of crossings.values()) {
    for (const [before, bp] of statesIn(base, b, s)) {
      for (const [after, hp] of statesIn(head, h, s)) {
        if (before === after || Math.max(severity(before), severity(after)) < SEVERITY.audit) continue;
        const ports = bp.intersect(hp);
        if (!ports.isEmpty()) out.push(item('kept', s, before, after, ports, h, from, to));
      }
    }
  }
  return out;
}

const portKeys = new WeakMap<PortSet, string>();
/** PortSet.key(), once per set: the projections share most of their sets. */
function keyOf(p: PortSet): string {
  let k = portKeys.get(p);
  if (k === undefined) portKeys.set(p, (k = p.key()));
  return k;
}

/** The same ports allowed and undeclared, between ends in the same tenants of the same modes: nothing to report. */
function unchanged(base: View, head: View, b: Projection, h: Projection, from: string, to: string): boolean {
  if (keyOf(b.allowed) !== keyOf(h.allowed) || keyOf(b.egress) !== keyOf(h.egress) || keyOf(b.ingress) !== keyOf(h.ingress)) return false;
  for (const end of [from, to]) {
    const t = tenantOfEnd(base, end);
    if (t !== tenantOfEnd(head, end) || (t !== undefined && modeOf(base, t) !== modeOf(head, t))) return false;
  }
  return true;
}

interface Pieces {
  /** Every piece by its end key, and the keys of those in cloud metadata. */
  all: ReadonlyMap<string, AddressRange>;
  metadata: ReadonlySet<string>;
}

/** The ends of a change: namespaces first, then address pieces, all of them (or all but metadata's) as one. */
function toEnds(keys: readonly string[], pieces: Pieces): DiffEnd[] {
  const namespaces: DiffEnd[] = keys.filter((k) => k.startsWith('n ')).map((k) => ({ kind: 'namespace', name: k.slice(2) }));
  const addresses = keys.filter((k) => !k.startsWith('n '));
  const metadata = addresses.filter((k) => pieces.metadata.has(k)).length;
  if (addresses.length === pieces.all.size) return [...namespaces, { kind: 'everywhere', metadata: true }];
  if (metadata === 0 && addresses.length === pieces.all.size - pieces.metadata.size) return [...namespaces, { kind: 'everywhere', metadata: false }];
  return [...namespaces, ...addresses.map((k) => pieces.all.get(k) as AddressRange)];
}

/** Items with the same identity, grouped by destination, then groups with the same sources by source. */
function group(items: readonly Item[], pieces: Pieces): DiffChange[] {
  const byTo = new Map<string, { item: Item; froms: string[] }>();
  for (const i of items) {
    const k = `${i.key}${SEP}${i.to}`;
    const g = byTo.get(k);
    if (g === undefined) byTo.set(k, { item: i, froms: [i.from] });
    else g.froms.push(i.from);
  }
  const byFroms = new Map<string, { item: Item; froms: string[]; tos: string[] }>();
  for (const { item: i, froms } of byTo.values()) {
    froms.sort(compareStrings);
    const k = `${i.key}${SEP}${froms.join(SEP)}`;
    const g = byFroms.get(k);
    if (g === undefined) byFroms.set(k, { item: i, froms, tos: [i.to] });
    else g.tos.push(i.to);
  }
  return [...byFroms.values()].map(({ item: i, froms, tos }) => ({
    ...i.change,
    from: toEnds(froms, pieces),
    to: toEnds(tos.sort(compareStrings), pieces),
  }));
}

const rank = (c: DiffChange): number => (c.section === 'closes' ? 3 : c.failing ? 0 : c.after === 'audit' ? 1 : 2);
const scopeOrder = (s: DiffScope): string => (s.kind === 'crossing' ? `0 ${s.tenant} ${s.direction}` : s.kind === 'within' ? `1 ${s.tenant}` : '2');

export function diffScenes(base: Scene, head: Scene): SceneDiff {
  const cidrs: Cidr[] = [];
  for (const s of [base, head]) for (const c of s.reach.classes) for (const a of c.addresses) cidrs.push(a.cidr, ...a.holes);
  const pieces = addressPieces(cidrs).map((p) => {
    const end: AddressRange = { kind: 'addresses', range: p.text, cidr: formatCidr(p.cidr), except: p.holes.map(formatCidr), metadata: p.metadata };
    return { key: endKey(end), end, representative: p.representative };
  });
  const shared: Pieces = { all: new Map(pieces.map((p) => [p.key, p.end])), metadata: new Set(pieces.filter((p) => p.end.metadata).map((p) => p.key)) };
  const b = project(base, endsOfClasses(base, pieces));
  const h = project(head, endsOfClasses(head, pieces));

  const items: Item[] = [];
  const counts = { opened: 0, closed: 0, refenced: 0, failing: 0 };
  const visit = (bp: Projection, hp: Projection): void => {
    const { from, to } = bp.answers.length > 0 ? bp : hp;
    if (unchanged(b, h, bp, hp, from, to)) return;
    const found: Item[] = [];
    const opened = hp.allowed.subtract(bp.allowed);
    const closed = bp.allowed.subtract(hp.allowed);
    const kept = hp.allowed.intersect(bp.allowed);
    for (const s of opened.isEmpty() ? [] : scopesOf(h, from, to))
      for (const [after, ports] of statesOn(h, s, hp, opened)) found.push(item('opened', s, undefined, after, ports, hp, from, to));
    for (const s of closed.isEmpty() ? [] : scopesOf(b, from, to))
      for (const [before, ports] of statesOn(b, s, bp, closed)) found.push(item('closed', s, before, undefined, ports, bp, from, to));
    if (!kept.isEmpty()) found.push(...refenced(b, h, bp, hp, kept, from, to));
    if (found.length === 0) return;
    if (!opened.isEmpty()) counts.opened++;
    if (!closed.isEmpty()) counts.closed++;
    if (found.some((i) => i.change.reach === 'kept')) counts.refenced++;
    if (found.some((i) => i.change.failing)) counts.failing++;
    items.push(...found);
  };
  const none: Projection = { from: '', to: '', allowed: PortSet.EMPTY, egress: PortSet.EMPTY, ingress: PortSet.EMPTY, answers: [] };
  for (const [from, row] of h.paths) for (const [to, hp] of row) visit(b.paths.get(from)?.get(to) ?? none, hp);
  for (const [from, row] of b.paths) for (const [to, bp] of row) if (h.paths.get(from)?.has(to) !== true) visit(bp, none);
  const changes = group(items, shared).sort(
    (x, y) =>
      rank(x) - rank(y) ||
      compareStrings(scopeOrder(x.scope), scopeOrder(y.scope)) ||
      compareStrings(endKey(x.from[0] as DiffEnd), endKey(y.from[0] as DiffEnd)) ||
      compareStrings(endKey(x.to[0] as DiffEnd), endKey(y.to[0] as DiffEnd)) ||
      compareStrings(x.ports.key(), y.ports.key()) ||
      compareStrings(JSON.stringify([x.before, x.after, x.egress, x.ingress]), JSON.stringify([y.before, y.after, y.egress, y.ingress])),
  );
  return { changes, paths: counts, failed: counts.failing > 0 };
}
