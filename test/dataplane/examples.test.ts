/**
 * The examples' tenants on real packets: the Namespaces and TenantIsolations of
 * examples/two-tenants, examples/internet-egress and examples/shared-services applied with
 * kubectl, their pods as network namespaces, `netfence run` from the image tree writing the
 * policies, and kube-router enforcing them. What the examples' READMEs promise is a table of
 * probes below, each with the verdict it must have:
 * - same tenant reaches, across its namespaces, on any port; other tenants do not, either way;
 * - a namespace in no tenant cannot enter a member namespace, nor a member leave to it;
 * - DNS reaches the cluster DNS pods on 53/UDP and 53/TCP, and nothing else in kube-system;
 * - cloud metadata is out of reach except for analytics, on the one port it declares;
 * - payments reaches public addresses on 443 only, and no private or special-purpose one;
 * - exposures and declared peers reach exactly their ports, and the platform's ingress from
 *   0.0.0.0/0 admits the outside on 443 and 80 but not from the metadata address;
 * - a namespace two tenants claim keeps the deny alone (P6): nothing in, nothing out, not even
 *   DNS. It is the one namespace where packets see the deny by itself (elsewhere
 *   allow-same-tenant isolates both directions too), so a deny without its egress half fails
 *   here on packets.
 * Every denial is paired with a control from the node that reaches the same listener. Every
 * probe from a pod or the outside is also put to `netfence explain --live`; the last test
 * counts agreements and fails on any disagreement. The table and explain are both needed: a
 * compiler bug that explain reads faithfully from the written policies shows on the table.
 *
 * What this does not prove: one node (no cross-node paths), IPv4 only (the examples' IPv6
 * blocks are not exercised), no SCTP (the kernel has no SCTP sockets), no Services or
 * kube-proxy (probes go to pod addresses), and kube-router's behaviours where CNIs differ
 * (it rejects rather than drops; node-local sources always reach pods, so no probe here
 * comes from the node except the controls).
 */
import { MANAGED_BY_LABEL, POLICY_NAMES, SYSTEM_NAMESPACES, TENANT_LABEL } from '../../src/api/constants.js';
import type { DataplanePod } from './dataplane.js';
import { METADATA_ADDRESS, PRIVATE_OUTSIDE_ADDRESS, PUBLIC_ADDRESS } from './network.js';
import { describeDataplane, startCluster, startImageOperator, stopCluster, type DataplaneCluster, type ImageOperator } from './support/cluster.js';
import { allow, deny, describeRow, manifestStream, probeRows, readExamples, type Observation, type ProbeContext, type Row } from './support/examples.js';

const EXAMPLES = readExamples(['examples/two-tenants', 'examples/shared-services'], ['examples/internet-egress/cluster.yaml']);

const BASE = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant];
const EXPOSURES = [`${POLICY_NAMES.exposurePrefix}metrics`, `${POLICY_NAMES.exposurePrefix}web`];
/** Each member namespace's policies, exactly, as the examples' READMEs and tenants declare them. */
const EXPECTED_POLICIES: Record<string, string[]> = {
  'acme-web': BASE,
  'acme-db': BASE,
  'globex-api': BASE,
  payments: [...BASE, POLICY_NAMES.egress],
  analytics: [...BASE, POLICY_NAMES.egress],
  'ingress-nginx': [...BASE, POLICY_NAMES.ingress, POLICY_NAMES.egress],
  monitoring: [...BASE, POLICY_NAMES.ingress, POLICY_NAMES.egress],
  shop: [...BASE, ...EXPOSURES],
  blog: [...BASE, ...EXPOSURES],
};
const MEMBER_NAMESPACES = Object.keys(EXPECTED_POLICIES).sort();
const EXAMPLE_TENANTS = ['acme', 'analytics', 'blog', 'globex', 'payments', 'platform', 'shop'];

/** Served by every example pod beside its declared ports: what the probes knock on. */
const SERVED = [80, 443, 5432, 8080, 9090];
/** In no tenant: the unfenced peer and the pods' positive control. */
const BYSTANDER = 'bystander/peer';
const DNS = 'kube-system/coredns';
/** Addresses outside the cluster beyond the harness's three: on either side of the internet peer's except list. */
const PUBLIC_DNS = '8.8.8.8';
const AS112 = '192.31.196.1';
const SPECIAL_ADDRESSES = ['100.64.0.1', '172.16.0.1', '169.254.1.1', '198.18.0.1', '203.0.113.7'];

const sorted = (values: readonly string[]): string[] => [...values].sort();
const MEMBER_PODS = sorted(EXAMPLES.pods.filter((p) => MEMBER_NAMESPACES.includes(p.namespace)).map((p) => `${p.namespace}/${p.name}`));

// --- The tables ------------------------------------------------------------------------------

const SAME_TENANT: Row[] = [
  allow('acme-web/web', 'acme-db/db', 'tcp', 5432, 'acme spans acme-web and acme-db'),
  allow('acme-web/web', 'acme-db/db', 'udp', 5432, 'same tenant: every protocol'),
  allow('acme-db/db', 'acme-web/web', 'tcp', 8080, 'same tenant, the other way'),
  allow('acme-db/db', 'acme-web/web', 'tcp', 9090, 'same tenant: every port, declared or not'),
  allow('shop/storefront', 'shop/payments', 'tcp', 5432, 'same namespace'),
  allow('shop/payments', 'shop/storefront', 'tcp', 8080, 'same namespace'),
  allow('ingress-nginx/controller', 'monitoring/prometheus', 'tcp', 9090, 'platform spans ingress-nginx and monitoring'),
  allow('monitoring/prometheus', 'ingress-nginx/controller', 'tcp', 8080, 'platform, the other way'),
];

const OTHER_TENANTS: Row[] = [
  deny('acme-web/web', 'globex-api/api', 'tcp', 8080, 'acme declares no egress to globex'),
  deny('acme-db/db', 'globex-api/api', 'tcp', 8080, 'acme declares no egress to globex'),
  deny('globex-api/api', 'acme-web/web', 'tcp', 8080, 'globex declares no egress to acme'),
  deny('globex-api/api', 'acme-db/db', 'tcp', 5432, 'globex declares no egress to acme'),
  deny('globex-api/api', 'acme-db/db', 'udp', 5432, 'globex declares no egress to acme'),
  deny('shop/storefront', 'blog/wordpress', 'tcp', 8080, 'shop and blog declare nothing of each other'),
  deny('blog/wordpress', 'shop/storefront', 'tcp', 8080, 'shop and blog declare nothing of each other'),
  deny('blog/wordpress', 'shop/storefront', 'tcp', 9090, 'shop and blog declare nothing of each other'),
  deny('shop/storefront', 'ingress-nginx/controller', 'tcp', 443, 'shop declares no egress to platform'),
  deny('blog/wordpress', 'monitoring/prometheus', 'tcp', 9090, 'blog declares no egress to platform'),
  deny('payments/api', 'analytics/job', 'tcp', 443, "the internet peer excepts 10.0.0.0/8, the pods' range"),
  deny('analytics/job', 'payments/api', 'tcp', 80, 'analytics reaches only the metadata address'),
  deny('acme-web/web', 'shop/storefront', 'tcp', 8080, 'shop exposes web to ingress-nginx only'),
];

const NO_TENANT: Row[] = [
  ...MEMBER_PODS.flatMap((p) => [
    deny(BYSTANDER, p, 'tcp', 8080, 'a namespace in no tenant does not enter'),
    deny(p, BYSTANDER, 'tcp', 8080, 'a member does not leave to a namespace in no tenant'),
  ]),
  deny(BYSTANDER, 'acme-db/db', 'udp', 5432, 'a namespace in no tenant does not enter, on UDP either'),
  deny(BYSTANDER, 'monitoring/prometheus', 'tcp', 9090, 'platform admits 0.0.0.0/0 on 443 and 80 only'),
  // 0.0.0.0/0 holds the pods' addresses too, and a pod in no tenant may send anywhere.
  allow(BYSTANDER, 'ingress-nginx/controller', 'tcp', 443, 'platform admits 0.0.0.0/0 on 443: pod addresses included'),
  allow(BYSTANDER, 'monitoring/prometheus', 'tcp', 80, "platform's ingress applies to all its namespaces"),
];

const KUBE_SYSTEM: Row[] = [
  ...MEMBER_PODS.flatMap((p) => [
    allow(p, DNS, 'udp', 53, 'DNS on by default'),
    allow(p, DNS, 'tcp', 53, 'DNS on by default, TCP too'),
    deny(p, DNS, 'tcp', 8080, 'nothing but DNS in kube-system'),
    deny(p, DNS, 'tcp', 9090, 'nothing but DNS in kube-system'),
  ]),
  deny('acme-web/web', DNS, 'udp', 9090, 'nothing but DNS in kube-system, on UDP either'),
  allow(BYSTANDER, DNS, 'tcp', 8080, 'control: coredns serves 8080'),
  allow(BYSTANDER, DNS, 'tcp', 9090, 'control: coredns serves 9090'),
  allow(BYSTANDER, DNS, 'udp', 53, 'control: coredns answers DNS'),
];

const CLOUD_METADATA: Row[] = [
  ...MEMBER_PODS.filter((p) => p !== 'analytics/job').flatMap((p) => [
    deny(p, METADATA_ADDRESS, 'tcp', 80, 'cloud metadata is out of reach'),
    deny(p, METADATA_ADDRESS, 'tcp', 443, 'cloud metadata is out of reach'),
  ]),
  allow('analytics/job', METADATA_ADDRESS, 'tcp', 80, 'analytics declares 169.254.169.254/32 with allowCloudMetadata on 80'),
  deny('analytics/job', METADATA_ADDRESS, 'tcp', 443, 'analytics declares port 80 only'),
  allow(BYSTANDER, METADATA_ADDRESS, 'tcp', 80, 'control: an unfenced pod reaches metadata'),
  allow(BYSTANDER, METADATA_ADDRESS, 'tcp', 443, 'control: an unfenced pod reaches metadata'),
  deny(METADATA_ADDRESS, 'ingress-nginx/controller', 'tcp', 443, "platform's 0.0.0.0/0 excepts the metadata address"),
  deny(METADATA_ADDRESS, 'ingress-nginx/controller', 'tcp', 80, "platform's 0.0.0.0/0 excepts the metadata address"),
  deny(METADATA_ADDRESS, 'monitoring/prometheus', 'tcp', 443, "platform's 0.0.0.0/0 excepts the metadata address"),
];

const INTERNET: Row[] = [
  allow('payments/api', PUBLIC_ADDRESS, 'tcp', 443, 'payments: internet on 443'),
  allow('payments/api', PUBLIC_DNS, 'tcp', 443, 'payments: internet on 443'),
  allow('payments/api', AS112, 'tcp', 443, 'AS112 is kept in the internet peer'),
  deny('payments/api', PUBLIC_ADDRESS, 'tcp', 80, 'payments: 443 only'),
  deny('payments/api', PRIVATE_OUTSIDE_ADDRESS, 'tcp', 443, 'the internet peer excepts 192.168.0.0/16'),
  ...SPECIAL_ADDRESSES.map((a) => deny('payments/api', a, 'tcp', 443, 'the internet peer excepts the special-purpose ranges')),
  deny('analytics/job', PUBLIC_ADDRESS, 'tcp', 443, 'analytics reaches only the metadata address'),
  deny('analytics/job', PUBLIC_ADDRESS, 'tcp', 80, 'analytics reaches only the metadata address'),
  ...['acme-web/web', 'globex-api/api', 'ingress-nginx/controller', 'monitoring/prometheus', 'shop/storefront', 'blog/wordpress'].map((p) =>
    deny(p, PUBLIC_ADDRESS, 'tcp', 443, 'no internet egress declared'),
  ),
  allow(BYSTANDER, PUBLIC_ADDRESS, 'tcp', 443, 'control: the internet answers'),
  allow(BYSTANDER, PRIVATE_OUTSIDE_ADDRESS, 'tcp', 443, 'control: the private outside address answers'),
];

const EXPOSURES_AND_PEERS: Row[] = [
  allow('ingress-nginx/controller', 'shop/storefront', 'tcp', 8080, 'exposure web: shop admits the controller, platform declares the egress'),
  allow('ingress-nginx/controller', 'blog/wordpress', 'tcp', 8080, 'exposure web on blog'),
  deny('ingress-nginx/controller', 'shop/storefront', 'tcp', 9090, 'metrics is exposed to prometheus only'),
  deny('ingress-nginx/controller', 'shop/storefront', 'udp', 8080, 'the exposure is TCP'),
  deny('ingress-nginx/controller', 'blog/wordpress', 'tcp', 9090, 'wordpress is not labelled expose-metrics'),
  deny('ingress-nginx/controller', 'shop/payments', 'tcp', 8080, 'shop/payments carries no exposure label'),
  allow('monitoring/prometheus', 'shop/storefront', 'tcp', 9090, 'exposure metrics'),
  deny('monitoring/prometheus', 'blog/wordpress', 'tcp', 9090, 'wordpress is not labelled expose-metrics'),
  deny('monitoring/prometheus', 'shop/storefront', 'tcp', 8080, 'web is exposed to the controller only'),
  deny('monitoring/prometheus', 'shop/payments', 'tcp', 9090, 'shop/payments carries no exposure label'),
  allow(PUBLIC_ADDRESS, 'ingress-nginx/controller', 'tcp', 443, 'platform admits 0.0.0.0/0 on 443'),
  allow(PUBLIC_ADDRESS, 'ingress-nginx/controller', 'tcp', 80, 'platform admits 0.0.0.0/0 on 80'),
  allow(PRIVATE_OUTSIDE_ADDRESS, 'ingress-nginx/controller', 'tcp', 443, '0.0.0.0/0 excepts only the metadata address'),
  allow(PUBLIC_ADDRESS, 'monitoring/prometheus', 'tcp', 443, "platform's ingress applies to all its namespaces"),
  deny(PUBLIC_ADDRESS, 'ingress-nginx/controller', 'tcp', 8080, 'platform admits 0.0.0.0/0 on 443 and 80 only'),
  deny(PUBLIC_ADDRESS, 'shop/storefront', 'tcp', 443, 'shop admits nothing from outside'),
  deny(PUBLIC_ADDRESS, 'shop/storefront', 'tcp', 8080, 'shop admits nothing from outside'),
  deny(PUBLIC_ADDRESS, 'acme-web/web', 'tcp', 8080, 'acme admits nothing from outside'),
];

/** Before any tenant exists: every member pod and the bystander reach each other (what the fence then changes). */
const UNFENCED: Row[] = MEMBER_PODS.flatMap((p) => [allow(BYSTANDER, p, 'tcp', 5432, 'no tenant yet'), allow(p, BYSTANDER, 'tcp', 5432, 'no tenant yet')]);

/** Claimed by acme (label) and globex (name) once the last test makes it so: P6, the deny alone. */
const CONTESTED = 'contested/pod';
const CONFLICT: Row[] = [
  deny(CONTESTED, BYSTANDER, 'tcp', 8080, 'a namespace two tenants claim keeps only the deny: no egress'),
  deny(CONTESTED, DNS, 'udp', 53, 'the deny alone: not even DNS'),
  deny(CONTESTED, PUBLIC_ADDRESS, 'tcp', 443, 'the deny alone: no internet'),
  deny(CONTESTED, 'acme-web/web', 'tcp', 8080, 'neither claimant lets it in'),
  deny(BYSTANDER, CONTESTED, 'tcp', 8080, 'the deny alone: no ingress'),
  deny('acme-web/web', CONTESTED, 'tcp', 8080, 'acme, one claimant, gets no path into it'),
  deny('globex-api/api', CONTESTED, 'tcp', 8080, 'globex, the other claimant, gets no path into it'),
];

const TABLES = [UNFENCED, SAME_TENANT, OTHER_TENANTS, NO_TENANT, KUBE_SYSTEM, CLOUD_METADATA, INTERNET, EXPOSURES_AND_PEERS, CONFLICT];

describeDataplane('the examples on packets', () => {
  let cluster: DataplaneCluster | undefined;
  let operator: ImageOperator | undefined;
  const ledger: Observation[] = [];
  let context: ProbeContext;
  const log = (line: string): void => void process.stderr.write(`[dataplane] examples: ${line}\n`);

  beforeAll(async () => {
    const started = performance.now();
    const namespaceNames = EXAMPLES.namespaces.map((o) => o.metadata?.name ?? '');
    expect(sorted([...new Set(namespaceNames)].filter((n) => !(SYSTEM_NAMESPACES as readonly string[]).includes(n)))).toEqual(MEMBER_NAMESPACES);
    expect(sorted(EXAMPLES.tenants.map((o) => o.metadata?.name ?? ''))).toEqual(EXAMPLE_TENANTS);

    const c = (cluster = await startCluster());
    const clusterUp = performance.now();
    c.kubectl(['apply', '--server-side', '-f', '-'], manifestStream(EXAMPLES.namespaces));
    c.kubectl(['create', 'namespace', 'bystander']);
    const [bystander, outside, ...examplePods] = await Promise.all([
      c.dataplane.addPod({ namespace: 'bystander', name: 'peer', labels: { app: 'peer' }, ports: [], alsoServe: SERVED }),
      c.dataplane.outside([80, 443]),
      ...EXAMPLES.pods.map((p) => c.dataplane.addPod({ ...p, alsoServe: SERVED })),
    ]);
    for (const address of [PUBLIC_DNS, AS112, ...SPECIAL_ADDRESSES]) c.dataplane.network.addOutsideAddress(address);
    const pods = new Map<string, DataplanePod>([bystander, ...examplePods].map((p) => [`${p.namespace}/${p.name}`, p]));
    context = { dataplane: c.dataplane, kubeconfig: c.plane.adminKubeconfig, pods, outside, ledger };
    operator = await startImageOperator(c, 'examples-0');
    await probeRows(context, UNFENCED);
    log(
      `cluster up in ${Math.round(clusterUp - started)} ms; ${pods.size} pods, the operator and every pod reachable unfenced ${Math.round(performance.now() - clusterUp)} ms later`,
    );

    const applied = performance.now();
    c.kubectl(['apply', '--server-side', '-f', '-'], manifestStream(EXAMPLES.tenants));
    const since = (): number => Math.round(performance.now() - applied);
    const fenced = (from: DataplanePod, to: DataplanePod): Promise<[string, number]> =>
      c.dataplane.until('denied', from, 'tcp', to.ip, 5432, 30_000).then(() => [`${from.namespace}/${from.name} -> ${to.namespace}/${to.name}`, since()]);
    const members = MEMBER_PODS.map((p) => pods.get(p) as DataplanePod);
    const [written, ...paths] = await Promise.all([
      c.admin
        .until(
          'every member namespace holds exactly its policies',
          () => Promise.all(MEMBER_NAMESPACES.map((n) => c.admin.policyNames(n))),
          (names) => names.every((n, i) => JSON.stringify(n) === JSON.stringify(sorted(EXPECTED_POLICIES[MEMBER_NAMESPACES[i] ?? ''] ?? []))),
          30_000,
        )
        .then(since),
      ...members.flatMap((m) => [fenced(bystander, m), fenced(m, bystander)]),
    ]);
    const [slowest, fencedMs] = paths.reduce((a, b) => (b[1] > a[1] ? b : a));
    log(
      `tenants applied: policies written in all ${MEMBER_NAMESPACES.length} member namespaces in ${written} ms; every member pod fenced on packets, in and out, in ${fencedMs} ms (last: ${slowest})`,
    );
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    await stopCluster(cluster);
  }, 60_000);

  test('the operator writes exactly the expected policies into every member namespace, a deny-all of both directions among them, and none elsewhere', async () => {
    const admin = cluster!.admin;
    for (const namespace of MEMBER_NAMESPACES)
      expect({ namespace, policies: await admin.policyNames(namespace) }).toEqual({ namespace, policies: sorted(EXPECTED_POLICIES[namespace] ?? []) });
    for (const namespace of ['bystander', 'kube-system']) expect({ namespace, policies: await admin.policyNames(namespace) }).toEqual({ namespace, policies: [] });
    // P1 on its own: packets cannot tell, since every member's allow-same-tenant isolates egress too.
    for (const namespace of MEMBER_NAMESPACES) {
      const deny = (await admin.policies(namespace)).find((p) => p.metadata.name === POLICY_NAMES.defaultDeny);
      expect({ namespace, managedBy: deny?.metadata.labels?.[MANAGED_BY_LABEL], spec: deny?.spec }).toEqual({
        namespace,
        managedBy: 'netfence',
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      });
    }
  });

  test('a pod reaches the pods of its own tenant, across its namespaces, on any port', () => probeRows(context, SAME_TENANT));

  test('tenants do not reach each other, in either direction', () => probeRows(context, OTHER_TENANTS));

  test('a namespace in no tenant cannot enter a member namespace, nor a member leave to it', () => probeRows(context, NO_TENANT));

  test('members reach the cluster DNS on 53/UDP and 53/TCP and nothing else in kube-system', () => probeRows(context, KUBE_SYSTEM));

  test('cloud metadata is out of reach but for analytics on port 80, and cannot enter the platform', () => probeRows(context, CLOUD_METADATA));

  test('payments reaches public addresses on 443 and no private or special-purpose one; no other tenant reaches the internet', () => probeRows(context, INTERNET));

  test('exposures and declared peers reach exactly their ports, and the outside reaches the platform on 443 and 80 only', () => probeRows(context, EXPOSURES_AND_PEERS));

  // Last but one: it changes globex. Every other namespace keeps its deny's egress half busy
  // with allow-same-tenant's; this one holds the deny alone, so packets see the deny itself.
  test('a namespace two tenants claim keeps the deny alone, both ways, and nothing else (P6)', async () => {
    const c = cluster!;
    // Claimed by both from its first moment (globex names it before it exists, and it is created
    // with acme's label), so it never holds an allow that kube-router could still be enforcing.
    c.kubectl(['patch', 'tenantisolation', 'globex', '--type=merge', '-p', JSON.stringify({ spec: { namespaces: ['globex-api', 'contested'] } })]);
    c.kubectl(
      ['apply', '--server-side', '-f', '-'],
      manifestStream([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'contested', labels: { [TENANT_LABEL]: 'acme' } } }]),
    );
    await c.admin.until(
      'contested holds the deny alone',
      () => c.admin.policyNames('contested'),
      (names) => JSON.stringify(names) === JSON.stringify([POLICY_NAMES.defaultDeny]),
      30_000,
    );
    const pod = await c.dataplane.addPod({ namespace: 'contested', name: 'pod', labels: { app: 'contested' }, ports: [], alsoServe: SERVED });
    (context.pods as Map<string, DataplanePod>).set(CONTESTED, pod);
    // kube-router sees the new pod: a bounded wait for its rules, on a path the table denies too.
    await c.dataplane.until('denied', context.pods.get(BYSTANDER) as DataplanePod, 'tcp', pod.ip, 8080, 10_000);
    await probeRows(context, CONFLICT);
  });

  test('netfence explain --live predicts the verdict of every probe the suite made', () => {
    const disagreements = ledger.filter((o) => o.observed !== o.predicted);
    log(`${ledger.length} probes, ${ledger.length - disagreements.length} agree with netfence explain, ${disagreements.length} disagree`);
    for (const d of disagreements) log(`disagreement: ${describeRow(d.row)}: packets ${d.observed}, explain ${d.predicted} (table: ${d.row.expect}, ${d.row.why})`);
    expect(ledger.length).toBe(TABLES.reduce((sum, t) => sum + t.length, 0));
    expect(disagreements.map((d) => `${describeRow(d.row)}: packets ${d.observed}, explain ${d.predicted}`)).toEqual([]);
  });
});
