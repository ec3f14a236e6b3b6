/**
 * The operator (`startOperator`, as the operator's ServiceAccount with config/rbac) behind a
 * forwarding proxy (support/proxy.ts) that holds its writes for a while, as a slow API
 * server would, and forwards a held write only if the operator has not given it up:
 *
 * - Its lease taken away while writes are in flight: it stops within the renew deadline,
 *   and none of its writes reaches the API server after it saw the loss.
 * - SIGTERM while writes are in flight: they get --shutdown-timeout, are then given up, the
 *   lease is released and `done` resolves 0 within the bound and a small slack.
 *
 * Each test prints what it measured on one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TENANT_LABEL } from '../../src/api/constants.js';
import { formatMicroTime, type Lease } from '../../src/runtime/leader.js';
import { RESOURCES, resourcePath } from '../../src/kube/client.js';
import { cluster, describeWithControlPlane, eventually, uniqueName } from './support/cluster.js';
import { installForOperator, OPERATOR_NAMESPACE, runOperator, World, type RunningOperator } from './support/operator.js';
import { operatorWrites, startApiProxyFor, writeProxiedKubeconfig, type ApiProxy, type ProxiedRequest } from './support/proxy.js';

const RENEW_DEADLINE_MS = 4_000;
const TIMING = ['--lease-duration', '6s', '--renew-deadline', '4s', '--retry-period', '500ms'];
/** Longer than it takes the operator to see the loss, so writes are in flight at that moment. */
const HOLD_MS = 4_000;
/**
 * A held write the operator gives up reaches the proxy as a closed connection a moment later
 * (loopback): a hold that ends within this much of the loss may still be forwarded.
 */
const CLOSE_SLACK_MS = 50;
const SHUTDOWN_TIMEOUT_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithControlPlane('an operator that loses its lease or gets SIGTERM while its writes are in flight', () => {
  let admin: World;
  let proxy: ApiProxy;
  let dir: string;
  let kubeconfig: string;
  const operators: RunningOperator[] = [];
  const tenants: string[] = [];

  beforeAll(async () => {
    const world = cluster();
    admin = new World(world.admin);
    await installForOperator(world);
    proxy = await startApiProxyFor(world.operator);
    dir = mkdtempSync(join(tmpdir(), 'netfence-lease-loss-'));
    kubeconfig = join(dir, 'operator.kubeconfig');
    writeProxiedKubeconfig(kubeconfig, proxy, world.operator);
  }, 60_000);

  afterAll(async () => {
    for (const op of operators) await op.stop().catch(() => undefined);
    for (const name of tenants) await admin.deleteTenant(name).catch(() => undefined);
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const readLease = (name: string) => admin.api.request<Lease>({ method: 'GET', path: resourcePath(RESOURCES.leases, { namespace: OPERATOR_NAMESPACE, name }) });

  /** Starts the operator through the proxy and waits until it leads with synced caches. */
  async function leadingOperator(flags: string[]): Promise<{ op: RunningOperator; lease: string; identity: string }> {
    const lease = uniqueName('lease');
    const identity = uniqueName('replica');
    proxy.hold(undefined);
    const op = await runOperator(kubeconfig, ['--lease-name', lease, '--identity', identity, ...TIMING, ...flags]);
    operators.push(op);
    await eventually('the operator leads and reconciles', async () => (op.logs.some((l) => l.includes('caches synced; reconciling')) ? true : undefined), 20_000);
    return { op, lease, identity };
  }

  /** A tenant with members: work whose writes the proxy then holds. */
  async function work(members: number): Promise<void> {
    const tenant = uniqueName('inflight');
    tenants.push(tenant);
    await admin.tenant(tenant, {});
    for (let i = 0; i < members; i++) await admin.namespace(uniqueName('member'), { [TENANT_LABEL]: tenant });
  }

  const heldSince = (since: number, match = operatorWrites) => proxy.log.filter((r) => r.held && r.arrivedAt >= since && match(r.method, r.url));
  const inFlight = (requests: ProxiedRequest[]) => requests.filter((r) => r.forwardedAt === undefined && r.droppedAt === undefined);

  test('a leader whose lease is taken stops within the renew deadline, and no write of its reaches the API server after it saw the loss', async () => {
    const { op, lease } = await leadingOperator([]);
    const since = Date.now();
    proxy.hold(operatorWrites, HOLD_MS);
    await work(4);
    await eventually('writes are held at the proxy', async () => (inFlight(heldSince(since)).length >= 2 ? true : undefined), 15_000);
    const heldAtLoss = inFlight(heldSince(since)).length;

    const current = await readLease(lease);
    const now = formatMicroTime(Date.now());
    await admin.api.request({
      method: 'PUT',
      path: resourcePath(RESOURCES.leases, { namespace: OPERATOR_NAMESPACE, name: lease }),
      body: { ...current, spec: { ...current.spec, holderIdentity: 'intruder', acquireTime: now, renewTime: now, leaseDurationSeconds: 60 } },
    });
    const takenAt = Date.now();
    const code = await op.done;
    const doneMs = Date.now() - takenAt;
    const seen = op.logs.map((l) => JSON.parse(l) as { message?: string; time?: string }).find((l) => l.message?.includes('another replica holds the leader lease'));
    expect(seen?.time).toBeDefined();
    const seenAt = Date.parse(seen!.time!);

    // Every write held at the loss is now forwarded or dropped.
    await sleep(HOLD_MS + 500);
    const writes = heldSince(since);
    const after = writes.filter((w) => w.forwardedAt !== undefined && w.forwardedAt > seenAt + CLOSE_SLACK_MS);
    const dropped = writes.filter((w) => w.droppedAt !== undefined);
    console.log(
      `lease taken: loss seen after ${seenAt - takenAt} ms, done after ${doneMs} ms (renew deadline ${RENEW_DEADLINE_MS} ms); ` +
        `${heldAtLoss} writes in flight at the loss, ${dropped.length} given up, ${after.length} forwarded after the loss`,
    );

    expect(code).toBe(1);
    expect(doneMs).toBeLessThan(RENEW_DEADLINE_MS);
    expect(after.map((w) => `${w.method} ${w.url}`)).toEqual([]);
    expect(dropped.length).toBeGreaterThanOrEqual(heldAtLoss);
    expect((await readLease(lease)).spec?.holderIdentity).toBe('intruder');
  }, 45_000);

  test('SIGTERM gives writes in flight the shutdown timeout, then gives them up, releases the lease and resolves 0', async () => {
    const { op, lease } = await leadingOperator(['--shutdown-timeout', `${SHUTDOWN_TIMEOUT_MS}ms`]);
    const since = Date.now();
    // Far longer than the bound; Events pass, so the flush after the drain is not held.
    const slowWrites = (method: string, url: string) => operatorWrites(method, url) && !url.includes('/events');
    proxy.hold(slowWrites, 20_000);
    await work(2);
    await eventually('writes are held at the proxy', async () => (inFlight(heldSince(since, slowWrites)).length >= 1 ? true : undefined), 15_000);

    const stoppedAt = Date.now();
    const code = await op.stop();
    const stopMs = Date.now() - stoppedAt;
    await sleep(100);
    const writes = heldSince(since, slowWrites);
    console.log(
      `SIGTERM with writes held 20 s: done after ${stopMs} ms (--shutdown-timeout ${SHUTDOWN_TIMEOUT_MS} ms); ${writes.length} writes held, ${writes.filter((w) => w.droppedAt !== undefined).length} given up`,
    );

    expect(code).toBe(0);
    expect(stopMs).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
    expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    expect(inFlight(writes)).toEqual([]);
    expect(writes.filter((w) => w.forwardedAt !== undefined)).toEqual([]);
    expect((await readLease(lease)).spec?.holderIdentity).toBeUndefined();
  }, 45_000);
});
