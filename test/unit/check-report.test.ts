/** `check`'s report at scale: paths grouped by cause, every path still listed on request, JSON streamed. */
import type { NetworkPolicy } from '../../src/api/k8s.js';
import { CauseGroups, findViolations, forEachCrossing, type Violation } from '../../src/analysis/check.js';
import { buildScene, type Scene } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { runCli } from '../../src/cli/main.js';
import { allowAllCluster, allowAllManifest } from '../../bench/allow-all-cluster.js';
import { runNetfence } from '../fixtures/cli.js';
import { memberNs, ns, pod, tenant } from '../fixtures/builders.js';

function allowAllScene(n: number, mode: 'planned' | 'live' = 'planned', edit: (c: ReturnType<typeof allowAllCluster>) => void = () => {}): Scene {
  const c = allowAllCluster(n);
  edit(c);
  return buildScene({ ...c, settings: defaultSettings() }, mode);
}

function groupsOf(scene: Scene, examples?: number): CauseGroups {
  const groups = new CauseGroups(examples);
  forEachCrossing(scene.reach, scene.fences, (p, crossings) => groups.add(p, crossings));
  return groups;
}

/** The causes computed the slow way: every violation held, grouped by its crossings' side. */
function naiveCauses(violations: readonly Violation[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of violations) {
    for (const c of v.crossings) {
      const cls = c.direction === 'egress' ? v.from : v.to;
      const side = c.direction === 'egress' ? v.egress : v.ingress;
      const policies = side.allowing.filter((a) => !a.ports.intersect(c.ports).isEmpty()).map((a) => a.name);
      const key = `${c.tenant} ${c.direction} ${cls.namespaces.join(',')} ${side.isolated} ${policies.join(',')}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
  }
  return out;
}

describe('violations grouped by cause', () => {
  test('one allow-all policy per namespace is one cause per namespace, both ways, and counts every path', () => {
    const scene = allowAllScene(40);
    const groups = groupsOf(scene);
    const causes = groups.sorted();
    expect(causes).toHaveLength(40);
    expect(causes.every((g) => g.isolated && g.namespaces.length === 1 && g.policies.length === 1 && g.policies[0] === `open-${g.namespaces[0]?.slice(3)}`)).toBe(true);
    expect(causes.every((g) => g.ingress !== undefined && g.egress !== undefined && g.ingress.ports.isAll())).toBe(true);
    expect(groups.paths).toBe(findViolations(scene.reach, scene.fences).length);
  });

  test('counts per cause and direction agree with grouping every violation by hand', () => {
    const scene = allowAllScene(30, 'planned', (c) => {
      // Variety: a tenant in Audit; in tenant t1, a narrower policy next to the open one in ns-4, whose
      // open policy ns-7 has too (ns-4's other pods and ns-7's are one class, ns-4's web pods another).
      (c.tenants[1] as { spec: object }).spec = { mode: 'Audit' };
      // t2 declares kube-system on 8080: its generated ingress policy allows ports, none of them undeclared, so it is no cause.
      (c.tenants[2] as { spec: object }).spec = { ingress: { from: [{ namespaces: ['kube-system'], ports: [{ port: 8080 }] }] } };
      c.policies.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'ns-4', name: 'web-only' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 80 }] }] },
      });
      (c.policies[7] as NetworkPolicy).metadata.name = 'open-4';
    });
    const expected = naiveCauses(findViolations(scene.reach, scene.fences));
    const got = new Map<string, number>();
    for (const g of groupsOf(scene).sorted()) {
      for (const direction of ['egress', 'ingress'] as const) {
        const d = g[direction];
        if (d !== undefined) got.set(`${g.tenant} ${direction} ${g.namespaces.join(',')} ${g.isolated} ${g.policies.join(',')}`, d.paths);
      }
    }
    expect([...got].sort()).toEqual([...expected].sort());
  });

  test('causes come Enforce first, then by tenant and namespace; ids stay with their causes', () => {
    const scene = allowAllScene(30, 'planned', (c) => void ((c.tenants[0] as { spec: object }).spec = { mode: 'Audit' }));
    const causes = groupsOf(scene).sorted();
    const order = causes.map((g) => `${g.mode === 'Enforce' ? 0 : 1} ${g.tenant} ${g.namespaces.join(',')}`);
    expect(order).toEqual([...order].sort());
    expect(causes.at(-1)?.mode).toBe('Audit');
    expect(new Set(causes.map((g) => g.id)).size).toBe(causes.length);
  });

  test('a tenant whose pods no policy selects is one cause per side: nothing stops its paths', () => {
    const scene = buildScene(
      {
        tenants: [tenant('a'), tenant('b')],
        namespaces: [memberNs('a1', 'a'), memberNs('b1', 'b'), ns('ops')],
        pods: [pod('a1', 'x'), pod('b1', 'y'), pod('ops', 'z')],
        policies: [],
        settings: defaultSettings(),
      },
      'live',
    );
    const causes = groupsOf(scene).sorted();
    expect(causes.map((g) => `${g.tenant} ${g.namespaces.join(',')} isolated=${g.isolated} [${g.policies.join(',')}]`)).toEqual([
      'a a1 isolated=false []',
      'b b1 isolated=false []',
    ]);
    // Keeps at most `examples` paths per direction, however many there are.
    expect(causes.map((g) => [g.ingress?.paths, g.ingress?.examples.length, g.egress?.paths, g.egress?.examples.length])).toEqual([
      [4, 3, 4, 3],
      [4, 3, 4, 3],
    ]);
    expect(groupsOf(scene, 1).sorted()[0]?.ingress?.examples).toHaveLength(1);
  });
});

describe('netfence check on many open namespaces', () => {
  test('200 namespaces, each with an allow-all policy: one short cause per policy, not a block per path', async () => {
    const r = await runNetfence(['check', '-f', '-'], allowAllManifest(200));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/^[\d,]+ paths cross an Enforce tenant's fence undeclared, from 200 causes \(--verbose lists every path\)$/);
    const titles = lines.filter((l) => l.startsWith('FAIL '));
    expect(titles).toHaveLength(200);
    expect(titles[0]).toBe('FAIL  tenant t0: ns-0/open-0 lets paths across its fence undeclared');
    expect(lines).toContain(lines.find((l) => /^ {6}enters on any port: [\d,]+ paths, e\.g\. .* -> ns-0\/api-1, ns-0\/db-2, ns-0\/web-0, any pod in ns-0 \(tenant t0\)$/.test(l)));
    expect(lines.length).toBeLessThan(200 * 4 + 10);
  });

  test('one policy shared by several namespaces is named once, with the namespaces it is in', async () => {
    const c = allowAllCluster(30);
    for (const p of c.policies) (p.metadata as { name: string }).name = 'open';
    const r = await runNetfence(['check', '-f', '-'], JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [...c.namespaces, ...c.tenants, ...c.pods, ...c.policies] }));
    expect(r.stdout).toContain('FAIL  tenant t0: open (in each of ns-0, ns-12, ns-15, ns-18 and 6 more namespaces) let paths across its fence undeclared');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('FAIL '))).toHaveLength(3);
  });

  test('--verbose lists every path after the causes', async () => {
    const scene = allowAllScene(20);
    const paths = findViolations(scene.reach, scene.fences).length;
    const r = await runNetfence(['check', '--verbose', '-f', '-'], allowAllManifest(20));
    const [, every] = r.stdout.split('\nevery path:\n');
    expect(every?.match(/^FAIL {2}/gm)).toHaveLength(paths);
    expect(every).toMatch(/\n {6}ingress allowed by ns-\d+\/open-\d+ \(any\)\n/);
  });

  test('-o json is valid, lists every path once with its causes, and is written in pieces', async () => {
    const scene = allowAllScene(100);
    const paths = findViolations(scene.reach, scene.fences).length;
    const pieces: string[] = [];
    const code = await runCli(['check', '-o', 'json', '-f', '-'], { stdout: (t) => void pieces.push(t), stderr: () => {}, readStdin: () => allowAllManifest(100) });
    expect(code).toBe(1);
    const text = pieces.join('');
    expect(pieces.length).toBeGreaterThan(2);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan((1 << 20) + 10_000);
    const out = JSON.parse(text) as {
      endpoints: { id: number; pods?: { namespace: string; name: string; origin: string }[] }[];
      violations: { from: number; to: number; crossings: { cause: number; tenant: string }[] }[];
      causes: { id: number; tenant: string; policies: string[]; ingress: { paths: number } | null; egress: { paths: number } | null }[];
      summary: { paths: number; enforcedPaths: number; causes: number };
      failed: boolean;
    };
    expect(out.violations).toHaveLength(paths);
    expect(out.summary).toMatchObject({ paths, enforcedPaths: paths, causes: 100 });
    expect(out.failed).toBe(true);
    const ids = new Set(out.endpoints.map((e) => e.id));
    expect(out.violations.every((v) => ids.has(v.from) && ids.has(v.to))).toBe(true);
    // Each path's crossings point at their causes, and the causes count exactly those.
    const perCause = new Map<number, number>();
    for (const v of out.violations) for (const c of v.crossings) perCause.set(c.cause, (perCause.get(c.cause) ?? 0) + 1);
    expect(out.causes.map((g) => (g.ingress?.paths ?? 0) + (g.egress?.paths ?? 0))).toEqual(out.causes.map((g) => perCause.get(g.id)));
  });
});
