/**
 * Every example renders cleanly, and the policies it renders keep its tenants apart: each
 * example's README promises the verdicts below, checked with the evaluator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { INTERNET_BLOCKS } from '../../src/api/internet.js';
import type { NetworkPolicy, Protocol } from '../../src/api/k8s.js';
import type { TenantIsolation } from '../../src/api/types.js';
import { validateTenantIsolation } from '../../src/api/validate.js';
import { compile, withMemberLabels } from '../../src/compiler/compile.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { buildEvaluator, parseEndpoint } from '../../src/evaluator/index.js';
import { collectInputs } from '../../src/io/inputs.js';
import { readManifests } from '../../src/io/manifests.js';
import { runNetfence } from '../fixtures/cli.js';

const EXAMPLES = join(process.cwd(), 'examples');

type Expectation = [from: string, to: string, port: number, protocol: Protocol, allowed: boolean];

const VERDICTS: Record<string, Expectation[]> = {
  'two-tenants': [
    ['acme-web/web', 'acme-db/db', 5432, 'TCP', true],
    ['acme-db/db', 'acme-web/web', 8080, 'TCP', true],
    ['acme-web/web', 'kube-system/coredns', 53, 'UDP', true],
    ['acme-web/web', 'kube-system/coredns', 53, 'TCP', true],
    ['acme-web/web', 'kube-system/coredns', 80, 'TCP', false],
    ['globex-api/api', 'kube-system/coredns', 53, 'UDP', true],
    ['acme-web/web', 'globex-api/api', 8080, 'TCP', false],
    ['globex-api/api', 'acme-web/web', 8080, 'TCP', false],
    ['globex-api/api', 'acme-db/db', 5432, 'TCP', false],
    ['acme-web/web', '1.1.1.1', 443, 'TCP', false],
    ['acme-web/web', '169.254.169.254', 80, 'TCP', false],
  ],
  'shared-services': [
    ['ingress-nginx/controller', 'shop/storefront', 8080, 'TCP', true],
    ['ingress-nginx/controller', 'blog/wordpress', 8080, 'TCP', true],
    ['ingress-nginx/controller', 'shop/storefront', 9090, 'TCP', false],
    ['ingress-nginx/controller', 'shop/payments', 8080, 'TCP', false],
    ['monitoring/prometheus', 'shop/storefront', 9090, 'TCP', true],
    ['monitoring/prometheus', 'blog/wordpress', 9090, 'TCP', false],
    ['monitoring/prometheus', 'shop/storefront', 8080, 'TCP', false],
    ['shop/storefront', 'blog/wordpress', 8080, 'TCP', false],
    ['blog/wordpress', 'shop/storefront', 8080, 'TCP', false],
    ['shop/storefront', 'ingress-nginx/controller', 443, 'TCP', false],
    ['203.0.113.7', 'ingress-nginx/controller', 443, 'TCP', true],
    ['169.254.169.254', 'ingress-nginx/controller', 443, 'TCP', false],
    ['203.0.113.7', 'shop/storefront', 8080, 'TCP', false],
  ],
  'internet-egress': [
    ['payments/api', '93.184.216.34', 443, 'TCP', true],
    ['payments/api', '2606:2800:220:1::1', 443, 'TCP', true],
    ['payments/api', '93.184.216.34', 80, 'TCP', false],
    ['payments/api', '10.200.0.1', 443, 'TCP', false],
    ['payments/api', '100.64.0.1', 443, 'TCP', false],
    ['payments/api', '169.254.169.254', 443, 'TCP', false],
    ['payments/api', 'fd00:ec2::254', 443, 'TCP', false],
    ['payments/api', 'fd00::1', 443, 'TCP', false],
    ['payments/api', 'analytics/job', 443, 'TCP', false],
    ['analytics/job', '169.254.169.254', 80, 'TCP', true],
    ['analytics/job', '93.184.216.34', 443, 'TCP', false],
  ],
  gitops: [],
};

describe('examples', () => {
  test('every example folder has a verdict table here', () => {
    const dirs = readdirSync(EXAMPLES, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual(Object.keys(VERDICTS).sort());
  });

  test.each(Object.keys(VERDICTS))('%s renders with exit 0 and no warning', async (name) => {
    const run = await runNetfence(['render', '-f', join(EXAMPLES, name)]);
    expect(run.stderr).toMatch(/^netfence render: [^\n]*, 0 warnings\n$/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^---\napiVersion: networking.k8s.io\/v1\nkind: NetworkPolicy/);
  });

  test.each(Object.entries(VERDICTS).filter(([, v]) => v.length > 0))('%s keeps the paths its README promises', (name, expectations) => {
    const inputs = collectInputs(readManifests([join(EXAMPLES, name)]));
    const result = compile({ tenants: inputs.tenants, namespaces: inputs.namespaces, settings: defaultSettings() });
    const ev = buildEvaluator({
      namespaces: withMemberLabels(inputs.namespaces, result, defaultSettings()),
      pods: inputs.pods,
      policies: [...inputs.policies, ...result.policies],
    });
    const wrong = expectations.filter(([from, to, port, protocol, allowed]) => ev.evaluate(parseEndpoint(from), parseEndpoint(to), port, protocol).allowed !== allowed);
    expect(wrong).toEqual([]);
  });

  test('gitops: team-b reaches team-a on 8443 only because both sides declare it', () => {
    const dir = join(EXAMPLES, 'gitops');
    const inputs = collectInputs(readManifests([dir]));
    const result = compile({ tenants: inputs.tenants, namespaces: inputs.namespaces, settings: defaultSettings() });
    const pods = ['team-a-backend', 'team-b'].map((n) => ({ apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { namespace: n, name: 'p', labels: {} } }));
    const ev = buildEvaluator({ namespaces: withMemberLabels(inputs.namespaces, result, defaultSettings()), pods, policies: result.policies });
    const b = parseEndpoint('team-b/p');
    const a = parseEndpoint('team-a-backend/p');
    expect(ev.evaluate(b, a, 8443, 'TCP').allowed).toBe(true);
    expect(ev.evaluate(b, a, 8080, 'TCP').allowed).toBe(false);
    expect(ev.evaluate(a, b, 8443, 'TCP').allowed).toBe(false);
    // Without team-b's egress declaration the path closes.
    const withoutEgress = inputs.tenants.map((t) => (t.metadata.name === 'team-b' ? { ...t, spec: { namespaces: ['team-b'] } } : t));
    const closed = compile({ tenants: withoutEgress, namespaces: inputs.namespaces, settings: defaultSettings() });
    expect(
      buildEvaluator({ namespaces: withMemberLabels(inputs.namespaces, closed, defaultSettings()), pods, policies: closed.policies }).evaluate(b, a, 8443, 'TCP').allowed,
    ).toBe(false);
  });

  describe('internet-egress: the README, checked through explain', () => {
    const dir = join(EXAMPLES, 'internet-egress');
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');

    /** The verdict line and the fence line explain prints for one path. */
    async function explain(from: string, to: string, port?: number): Promise<{ code: number; verdict: string | undefined; fence: string | undefined }> {
      const run = await runNetfence(['explain', '-f', dir, from, to, ...(port === undefined ? [] : ['--port', `${port}/TCP`])]);
      const lines = run.stdout.trimEnd().split('\n');
      return { code: run.code, verdict: lines.at(-1), fence: lines.find((l) => l.startsWith('fence: ')) };
    }

    const PUBLIC = ['93.184.216.34', '8.8.8.8', '2606:2800:220:1::1', '2606:4700:4700::1111', '192.31.196.1'];
    test.each(PUBLIC)('payments/api reaches %s on 443, declared, and not on 80', async (address) => {
      expect(await explain('payments/api', address, 443)).toEqual({ code: 0, verdict: 'verdict: allowed', fence: 'fence: leaves tenant payments: declared on TCP 443' });
      expect(await explain('payments/api', address, 80)).toMatchObject({ code: 1, verdict: 'verdict: denied' });
    });

    const SPECIAL = [
      ...['10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', '127.0.0.1', '169.254.1.1', '169.254.169.254', '198.18.0.1', '203.0.113.7', '224.0.0.1'],
      ...['fd00::1', 'fd00:ec2::254', 'fe80::1', '::1', 'ff02::1', '2001:db8::1'],
      ...['::ffff:10.0.0.1', '64:ff9b::10.0.0.1', '2002:a00:1::1', '2001:0:a00:1::1'],
    ];
    test.each(SPECIAL)('payments/api reaches %s on no port, and its fence does not declare it', async (address) => {
      expect(await explain('payments/api', address)).toEqual({ code: 1, verdict: 'verdict: denied', fence: 'fence: leaves tenant payments: not declared' });
    });

    test('the README names every address these tests try', () => {
      const named = [...readme.matchAll(/`([0-9a-f:.]+)`/g)].map((m) => m[1]);
      expect([...PUBLIC, ...SPECIAL].filter((a) => !named.includes(a))).toEqual([]);
    });

    test('payments/api does not reach analytics/job, and analytics/job reaches 169.254.169.254:80 and nothing else outside DNS', async () => {
      expect(await explain('payments/api', 'analytics/job')).toMatchObject({ code: 1, verdict: 'verdict: denied' });
      expect(await explain('analytics/job', '169.254.169.254', 80)).toMatchObject({ code: 0, verdict: 'verdict: allowed' });
      expect(await explain('analytics/job', '169.254.169.254', 443)).toMatchObject({ code: 1, verdict: 'verdict: denied' });
      for (const address of ['8.8.8.8', '2606:4700:4700::1111', '169.254.1.1'])
        expect(await explain('analytics/job', address)).toMatchObject({ code: 1, verdict: 'verdict: denied' });
    });

    /** The rows of the first README table after `heading`: range and what it is. */
    function tableAfter(heading: string): [string, string][] {
      const at = readme.indexOf(heading);
      expect(at).toBeGreaterThan(-1);
      const start = readme.indexOf('\n| range |', at);
      const table = readme.slice(start + 1).split('\n\n')[0] ?? '';
      return [...table.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => [m[1] as string, m[2] as string]);
    }
    const rows = (key: 'except' | 'outside' | 'kept') => INTERNET_BLOCKS.flatMap((b) => b[key].map((r) => [r.cidr, r.name]));

    test('the README tables list exactly the ranges src/api/internet.ts leaves out and keeps', () => {
      expect(tableAfter('## What `internet` leaves out')).toEqual(rows('except'));
      expect(tableAfter('Outside `2000::/3`')).toEqual(rows('outside'));
      expect(tableAfter('Kept on purpose')).toEqual(rows('kept'));
    });

    test('render writes the internet peer as 0.0.0.0/0 and 2000::/3, each with the first table in except', async () => {
      const run = await runNetfence(['render', '-f', dir, '-o', 'json']);
      const list = JSON.parse(run.stdout) as { items: NetworkPolicy[] };
      const egress = list.items.find((p) => p.metadata.namespace === 'payments' && p.metadata.name === 'netfence-allow-egress');
      const blocks = egress?.spec.egress?.flatMap((r) => r.to ?? []).map((p) => p.ipBlock);
      const table = tableAfter('## What `internet` leaves out').map(([cidr]) => cidr);
      expect(blocks).toEqual([
        { cidr: '0.0.0.0/0', except: table.filter((c) => !c.includes(':')) },
        { cidr: '2000::/3', except: table.filter((c) => c.includes(':')) },
      ]);
    });
  });

  test('the TenantIsolation in docs/tenantisolation.md is valid, and its internet peer is the two blocks of the example README', () => {
    const readme = readFileSync(join(process.cwd(), 'docs/tenantisolation.md'), 'utf8');
    const section = readme.slice(readme.indexOf('# TenantIsolation reference'));
    const sample = parse(/```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '') as TenantIsolation;
    expect(validateTenantIsolation(sample)).toEqual([]);
    const ns = (name: string) => ({ apiVersion: 'v1' as const, kind: 'Namespace' as const, metadata: { name } });
    const result = compile({ tenants: [sample], namespaces: [ns('shop-web'), ns('platform'), ns('payments-gateway'), ns('ingress-nginx')], settings: defaultSettings() });
    const egress = result.policies.find((p) => p.metadata.namespace === 'shop-web' && p.metadata.name === 'netfence-allow-egress');
    const internet = egress?.spec.egress?.find((r) => (r.to?.length ?? 0) === 2);
    expect(internet?.to).toEqual(INTERNET_BLOCKS.map((b) => ({ ipBlock: { cidr: b.cidr, except: b.except.map((r) => r.cidr) } })));
    expect(internet?.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
  });
});
