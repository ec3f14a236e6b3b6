/**
 * The reachability picture from a scene: tenant by tenant and namespace by namespace. Pure.
 *
 * Rows are sources, columns destinations. Namespaces outside every tenant appear on their
 * own in the tenant matrix too; addresses outside the cluster are two entries, `outside the
 * cluster` and `cloud metadata`. A cell is `all` when every pod of the row (possible pods
 * included) reaches every pod of the column on some port (for address entries: every piece
 * of the address space), `some` when some pairs do. Its fence is the worst of its paths: violation, audit, declared,
 * unfenced, same.
 * Pairs are of two different pods (reachability.ts): a pod's traffic to itself, always
 * allowed, is no pair, so it neither makes a cell nor adds ports to one, nor counts against
 * `all` (it is never missing). A workload's or a possible pod stands for several pods, so
 * from it to itself is a pair. Node traffic is not modelled (reachability.ts).
 */
import { compareStrings } from '../core/labels.js';
import { violationOf } from './check.js';
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from './matrix-model.js';
import { PortSet } from './ports.js';
import { isSinglePodName } from '../evaluator/endpoint.js';
import type { EndpointClass } from './reachability.js';
import type { Scene } from './scene.js';

const SEVERITY: readonly CellFence[] = ['none', 'same', 'unfenced', 'declared', 'audit', 'violation'];
const worse = (a: CellFence, b: CellFence): CellFence => (SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b);
const NONE: MatrixCell = Object.freeze({ reach: 'none', ports: '', fence: 'none' });
const EXTERNAL_ID = 'external';
const METADATA_ID = 'metadata';

interface Accumulator {
  pairs: number;
  ports: PortSet;
  fence: CellFence;
}

/** Units of one endpoint class inside one matrix entry: pods, or pieces of address space. */
type Spread = Map<string, number>;

/**
 * Pairs of two different pods from `f` units to `t` units of one entry pair; `singles`: the
 * units of one Pod each when both ends are the same units (then each of them and itself is
 * self-traffic, no pair).
 */
const pairCount = (f: number, t: number, singles: number): number => f * t - singles;

function build(entries: MatrixEntry[], sizes: ReadonlyMap<string, number>, singles: ReadonlyMap<string, number>, cells: ReadonlyMap<string, Accumulator>): Matrix {
  return {
    entries,
    cells: entries.map((from) =>
      entries.map((to) => {
        const acc = cells.get(`${from.id}\u0000${to.id}`);
        if (acc === undefined) return NONE;
        const total = pairCount(sizes.get(from.id) ?? 0, sizes.get(to.id) ?? 0, from.id === to.id ? (singles.get(from.id) ?? 0) : 0);
        return { reach: acc.pairs >= total ? 'all' : 'some', ports: acc.ports.format(), fence: acc.fence };
      }),
    ),
  };
}

export function buildMatrix(scene: Scene, title: string): MatrixReport {
  const { reach, fences, compiled } = scene;
  const tenantOf = fences.tenantOf;
  const namespaces = [...new Set(reach.classes.flatMap((c) => c.namespaces))].sort(
    (a, b) => compareStrings(tenantOf.get(a) ?? '\uffff', tenantOf.get(b) ?? '\uffff') || compareStrings(a, b),
  );
  // Pods of the input (and workloads) for the details; every member, possible pods too, for "all" against "some".
  const podCount = new Map<string, number>();
  const memberCount = new Map<string, number>();
  const singleCount = new Map<string, number>();
  for (const c of reach.classes) {
    for (const p of c.pods) {
      memberCount.set(p.namespace, (memberCount.get(p.namespace) ?? 0) + 1);
      if (isSinglePodName(p.name)) singleCount.set(p.namespace, (singleCount.get(p.namespace) ?? 0) + 1);
      if (p.origin !== 'possible') podCount.set(p.namespace, (podCount.get(p.namespace) ?? 0) + 1);
    }
  }
  const externalPieces = reach.classes.filter((c) => c.kind === 'external');
  const pieceCount = (metadata: boolean): number => externalPieces.reduce((n, c) => n + c.addresses.filter((a) => a.metadata === metadata).length, 0);
  const externalEntries: MatrixEntry[] = [
    { id: EXTERNAL_ID, label: 'outside the cluster', kind: 'external', detail: 'addresses that are not pods' },
    { id: METADATA_ID, label: 'cloud metadata', kind: 'external', detail: '169.254.169.254, fd00:ec2::254' },
  ];

  const podsDetail = (n: number, nsCount?: number): string => `${nsCount === undefined ? '' : `${nsCount} namespace${nsCount === 1 ? '' : 's'}, `}${n} pod${n === 1 ? '' : 's'}`;
  const namespaceEntries: MatrixEntry[] = namespaces.map((n) => {
    const tenant = tenantOf.get(n);
    const e: MatrixEntry = {
      id: `namespace:${n}`,
      label: n,
      kind: 'namespace',
      detail: podCount.has(n) ? podsDetail(podCount.get(n) ?? 0) : 'no pods in the input: the pods that could exist',
    };
    if (tenant !== undefined) e.tenant = tenant;
    return e;
  });
  const tenantEntries: MatrixEntry[] = [
    ...compiled.tenants.map((t): MatrixEntry => {
      const pods = t.members.reduce((n, m) => n + (podCount.get(m) ?? 0), 0);
      return { id: `tenant:${t.name}`, label: t.name, kind: 'tenant', detail: `${t.mode === 'Audit' ? 'Audit, ' : ''}${podsDetail(pods, t.members.length)}` };
    }),
    ...namespaceEntries.filter((e) => e.tenant === undefined),
  ];

  const namespaceSizes = new Map<string, number>([...memberCount].map(([n, c]) => [`namespace:${n}`, c]));
  namespaceSizes.set(EXTERNAL_ID, pieceCount(false));
  namespaceSizes.set(METADATA_ID, pieceCount(true));
  const tenantSizes = new Map<string, number>(namespaceSizes);
  for (const t of compiled.tenants)
    tenantSizes.set(
      `tenant:${t.name}`,
      t.members.reduce((n, m) => n + (memberCount.get(m) ?? 0), 0),
    );
  const namespaceSingles = new Map<string, number>([...singleCount].map(([n, c]) => [`namespace:${n}`, c]));
  const tenantSingles = new Map<string, number>(namespaceSingles);
  for (const t of compiled.tenants)
    tenantSingles.set(
      `tenant:${t.name}`,
      t.members.reduce((n, m) => n + (singleCount.get(m) ?? 0), 0),
    );

  const nsEntryOf = (n: string): string => `namespace:${n}`;
  const tenantEntryOf = (n: string): string => {
    const t = tenantOf.get(n);
    return t === undefined ? `namespace:${n}` : `tenant:${t}`;
  };
  const spread = (c: EndpointClass, entryOf: (namespace: string) => string, singlesOnly = false): Spread => {
    const out: Spread = new Map();
    if (c.kind === 'external') {
      if (singlesOnly) return out;
      for (const a of c.addresses) {
        const id = a.metadata ? METADATA_ID : EXTERNAL_ID;
        out.set(id, (out.get(id) ?? 0) + 1);
      }
      return out;
    }
    for (const p of c.pods) {
      if (singlesOnly && !isSinglePodName(p.name)) continue;
      const id = entryOf(p.namespace);
      out.set(id, (out.get(id) ?? 0) + 1);
    }
    return out;
  };
  interface Spreads {
    ns: Spread;
    tenant: Spread;
    /** The units that are one Pod each, per entry. */
    nsSingles: Spread;
    tenantSingles: Spread;
  }
  const spreads = new Map<EndpointClass, Spreads>();
  const spreadOf = (c: EndpointClass): Spreads => {
    let s = spreads.get(c);
    if (s === undefined) {
      s = {
        ns: spread(c, nsEntryOf),
        tenant: spread(c, tenantEntryOf),
        nsSingles: spread(c, nsEntryOf, true),
        tenantSingles: spread(c, tenantEntryOf, true),
      };
      spreads.set(c, s);
    }
    return s;
  };

  const nsCells = new Map<string, Accumulator>();
  const tenantCells = new Map<string, Accumulator>();
  /** `singles`: for a class to itself, its units that are one Pod each (their pairs to themselves are no pairs). */
  const add = (
    cells: Map<string, Accumulator>,
    from: Spread,
    to: Spread,
    singles: Spread | undefined,
    ports: PortSet,
    fence: (fromId: string, toId: string) => CellFence,
  ): void => {
    for (const [f, nf] of from) {
      for (const [t, nt] of to) {
        const pairs = pairCount(nf, nt, singles !== undefined && f === t ? (singles.get(f) ?? 0) : 0);
        if (pairs === 0) continue;
        const key = `${f}\u0000${t}`;
        const acc = cells.get(key) ?? { pairs: 0, ports: PortSet.EMPTY, fence: 'none' };
        acc.pairs += pairs;
        acc.ports = acc.ports.union(ports);
        acc.fence = worse(acc.fence, fence(f, t));
        cells.set(key, acc);
      }
    }
  };
  let violations = 0;
  reach.forEachAllowed((p) => {
    const v = violationOf(reach, fences, p);
    if (v?.enforced === true) violations++;
    const crossing: CellFence = v === undefined ? 'declared' : v.enforced ? 'violation' : 'audit';
    const fence = (fromId: string, toId: string): CellFence => {
      if (p.from.tenant !== p.to.tenant) return crossing;
      if (p.from.tenant !== undefined) return 'same';
      return fromId === toId ? 'same' : 'unfenced';
    };
    const from = spreadOf(p.from);
    const to = spreadOf(p.to);
    const toItself = p.from === p.to;
    add(nsCells, from.ns, to.ns, toItself ? from.nsSingles : undefined, p.allowed, fence);
    add(tenantCells, from.tenant, to.tenant, toItself ? from.tenantSingles : undefined, p.allowed, fence);
  });

  return {
    title,
    tenants: build([...tenantEntries, ...externalEntries], tenantSizes, tenantSingles, tenantCells),
    namespaces: build([...namespaceEntries, ...externalEntries], namespaceSizes, namespaceSingles, nsCells),
    notes: [...scene.notes],
    violations,
  };
}
