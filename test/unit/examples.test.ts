/**
 * Every example renders cleanly, and the policies it renders keep its tenants apart: each
 * example's README promises the verdicts below, checked with the evaluator.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Protocol } from '../../src/api/k8s.js';
import { compile } from '../../src/compiler/compile.js';
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
    ['payments/api', '169.254.169.254', 443, 'TCP', false],
    ['payments/api', 'fd00:ec2::254', 443, 'TCP', false],
    ['payments/api', 'analytics/job', 443, 'TCP', false],
    ['analytics/job', '169.254.169.254', 80, 'TCP', true],
    ['analytics/job', '93.184.216.34', 443, 'TCP', false],
  ],
  gitops: [],
};

describe('examples', () => {
  test('every example folder has a verdict table here', () => {
    const dirs = readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
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
    const ev = buildEvaluator({ namespaces: inputs.namespaces, pods: inputs.pods, policies: [...inputs.policies, ...result.policies] });
    const wrong = expectations.filter(([from, to, port, protocol, allowed]) => ev.evaluate(parseEndpoint(from), parseEndpoint(to), port, protocol).allowed !== allowed);
    expect(wrong).toEqual([]);
  });

  test('gitops: team-b reaches team-a on 8443 only because both sides declare it', () => {
    const dir = join(EXAMPLES, 'gitops');
    const inputs = collectInputs(readManifests([dir]));
    const result = compile({ tenants: inputs.tenants, namespaces: inputs.namespaces, settings: defaultSettings() });
    const pods = ['team-a-backend', 'team-b'].map((n) => ({ apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { namespace: n, name: 'p', labels: {} } }));
    const ev = buildEvaluator({ namespaces: inputs.namespaces, pods, policies: result.policies });
    const b = parseEndpoint('team-b/p');
    const a = parseEndpoint('team-a-backend/p');
    expect(ev.evaluate(b, a, 8443, 'TCP').allowed).toBe(true);
    expect(ev.evaluate(b, a, 8080, 'TCP').allowed).toBe(false);
    expect(ev.evaluate(a, b, 8443, 'TCP').allowed).toBe(false);
    // Without team-b's egress declaration the path closes.
    const withoutEgress = inputs.tenants.map((t) => (t.metadata.name === 'team-b' ? { ...t, spec: { namespaces: ['team-b'] } } : t));
    const closed = compile({ tenants: withoutEgress, namespaces: inputs.namespaces, settings: defaultSettings() });
    expect(buildEvaluator({ namespaces: inputs.namespaces, pods, policies: closed.policies }).evaluate(b, a, 8443, 'TCP').allowed).toBe(false);
  });
});
