import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from '@jest/globals';
import { startHttpServer, type HttpServer } from '../../src/runtime/http.js';
import { createMetrics } from '../../src/runtime/metrics.js';

const NETFENCE_METRICS = [
  'netfence_reconcile_duration_seconds',
  'netfence_plan_duration_seconds',
  'netfence_queue_depth',
  'netfence_api_writes_total',
  'netfence_drift_corrections_total',
  'netfence_reconcile_errors_total',
  'netfence_watch_restarts_total',
  'netfence_tenants',
  'netfence_member_namespaces',
  'netfence_unfenced_namespaces',
  'netfence_managed_policies',
  'netfence_tenants_by_state',
  'netfence_leader',
];

describe('the operator HTTP server', () => {
  let server: HttpServer | undefined;
  const get = async (path: string, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method });
    return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
  };

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('binds a free port when asked for port 0 and answers /healthz with ok', async () => {
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: createMetrics().registry, checks: { healthy: () => true, ready: () => true } });
    expect(server.port).toBeGreaterThan(0);
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  test('/readyz answers 503 with the reason until the check passes, then 200', async () => {
    let ready: boolean | string = 'caches not synced';
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: createMetrics().registry, checks: { healthy: () => true, ready: () => ready } });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: 'caches not synced\n' });
    ready = false;
    expect((await get('/readyz')).status).toBe(503);
    ready = true;
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  test('/healthz answers 503 with the message when the check throws', async () => {
    server = await startHttpServer({
      port: 0,
      host: '127.0.0.1',
      registry: createMetrics().registry,
      checks: {
        healthy: () => {
          throw new Error('watch supervisor stopped');
        },
        ready: () => true,
      },
    });
    expect(await get('/healthz')).toMatchObject({ status: 503, body: 'watch supervisor stopped\n' });
  });

  test('/metrics serves every netfence metric in the Prometheus text format, with the values set', async () => {
    const metrics = createMetrics();
    metrics.observeReconcile('namespace', 'success', 0.02);
    metrics.countWrite('apply');
    metrics.countWrite('apply');
    metrics.driftCorrections.inc();
    metrics.reconcileErrors.inc({ kind: 'tenant' });
    metrics.watchRestarts.inc({ resource: 'pods', reason: 'expired' });
    metrics.queueDepth.set(3);
    metrics.tenants.set(2);
    metrics.memberNamespaces.set(5);
    metrics.managedPolicies.set(17);
    metrics.leader.set(1);
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, checks: { healthy: () => true, ready: () => true } });

    const { status, body, contentType } = await get('/metrics');
    expect(status).toBe(200);
    expect(contentType).toContain('text/plain');
    for (const name of NETFENCE_METRICS) expect(body).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    expect(body).toContain('netfence_reconcile_duration_seconds_count{kind="namespace",result="success"} 1');
    expect(body).toContain('netfence_api_writes_total{verb="apply"} 2');
    expect(body).toContain('netfence_watch_restarts_total{resource="pods",reason="expired"} 1');
    expect(body).toMatch(/^netfence_managed_policies 17$/m);
    expect(body).toMatch(/^netfence_leader 1$/m);
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);
  });

  test('keeps each registry apart: two metric sets in one process do not collide', async () => {
    const first = createMetrics({ defaultMetrics: false });
    const second = createMetrics({ defaultMetrics: false });
    first.tenants.set(4);
    expect(await second.registry.metrics()).toMatch(/^netfence_tenants 0$/m);
    expect(await first.registry.metrics()).toMatch(/^netfence_tenants 4$/m);
  });

  test('answers 404 on an unknown path and 405 on a method other than GET or HEAD', async () => {
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: createMetrics().registry, checks: { healthy: () => true, ready: () => true } });
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/metrics', 'POST')).status).toBe(405);
    expect(await get('/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });
});

describe('docs/operating.md', () => {
  test('its Metrics section names exactly the metrics the operator registers', async () => {
    const doc = readFileSync(new URL('../../docs/operating.md', import.meta.url), 'utf8');
    const start = doc.indexOf('\n## Metrics\n');
    expect(start).toBeGreaterThan(-1);
    const end = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, end < 0 ? undefined : end);
    const named = new Set(section.match(/netfence_[a-z_]+/g) ?? []);
    const registered = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('netfence_')));
    expect([...named].sort()).toEqual([...registered].sort());
  });
});
