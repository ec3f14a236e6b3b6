/**
 * Leader election on a real API server, as the operator's ServiceAccount with config/rbac
 * applied: one leader among replicas, fast handover on release, takeover after a crash only
 * once the lease has expired, and a leader that stops when its lease is taken. Each test
 * prints the failover time it measured on one line.
 */
import { ApiError, isApiError, kubeClient, RESOURCES, resourcePath, type KubeClient } from '../../src/kube/client.js';
import { formatMicroTime, LeaderElector, type LeadershipEnded, parseMicroTime, type Lease } from '../../src/runtime/leader.js';
import { silentLogger } from '../../src/runtime/log.js';
import { apply, cluster, describeWithControlPlane, eventually, readKustomization, uniqueName, type Cluster } from './support/cluster.js';

const RBAC_DIR = 'config/rbac';
const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 } as const;
const TIMING_TEXT = 'lease 2 s, renew deadline 1.5 s, retry 0.3 s';

/** A client whose connection can be cut, as when the replica's process or node dies. */
function severable(client: KubeClient) {
  let cut = false;
  const severed: KubeClient = {
    request: (req) => (cut ? Promise.reject(new ApiError(0, undefined, 'connection cut by the test', `${req.method} ${req.path}`)) : client.request(req)),
    watch: (req) => client.watch(req),
  };
  return { client: severed, cut: () => (cut = true) };
}

interface Replica {
  identity: string;
  elector: LeaderElector;
  startedAt?: number;
  stoppedAt?: number;
  /** The signal that aborts when the lease is lost (not on release). */
  lost?: AbortSignal;
  ended: Promise<string>;
  cut(): void;
}

describeWithControlPlane('leader election on a Lease', () => {
  let world: Cluster;
  let namespace: string;
  let admin: KubeClient;
  const leases: string[] = [];
  const replicas: Replica[] = [];

  beforeAll(async () => {
    world = cluster();
    namespace = world.state.operator?.namespace ?? '';
    admin = kubeClient(world.admin);
    await apply(world.admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    for (const object of readKustomization(RBAC_DIR)) await apply(world.admin, object);
    // RBAC reaches the authorizer through an informer: wait until the operator may read leases.
    const operator = kubeClient(world.operator);
    await eventually('the operator may get leases in its namespace', () =>
      operator.request({ method: 'GET', path: resourcePath(RESOURCES.leases, { namespace, name: uniqueName('probe') }) }).then(
        () => true,
        (error: unknown) => {
          if (isApiError(error, 404)) return true;
          throw error;
        },
      ),
    );
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.elector.release()));
    for (const name of leases.splice(0)) {
      await admin.request({ method: 'DELETE', path: resourcePath(RESOURCES.leases, { namespace, name }) }).catch(() => undefined);
    }
  });

  function leaseName(): string {
    const name = uniqueName('netfence-leader');
    leases.push(name);
    return name;
  }

  function replica(lease: string): Replica {
    const identity = uniqueName('replica');
    const { client, cut } = severable(kubeClient(world.operator));
    const elector = new LeaderElector({ client, namespace, name: lease, identity, log: silentLogger(), ...TIMING });
    const self: Replica = {
      identity,
      elector,
      cut,
      ended: elector.run({
        onStartedLeading: (_signal, lost) => {
          self.startedAt = Date.now();
          self.lost = lost;
        },
        onStoppedLeading: () => {
          self.stoppedAt = Date.now();
        },
      }),
    };
    replicas.push(self);
    return self;
  }

  const readLease = (name: string) => admin.request<Lease>({ method: 'GET', path: resourcePath(RESOURCES.leases, { namespace, name }) });
  const leaderOf = (group: Replica[]) => eventually('one replica leads', async () => group.find((r) => r.elector.isLeader), 10_000);

  /** Samples for `ms` that at most one of the replicas leads at any moment. */
  async function neverTwoLeaders(group: Replica[], ms: number): Promise<void> {
    for (const deadline = Date.now() + ms; Date.now() < deadline;) {
      expect(group.filter((r) => r.elector.isLeader).length).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test('of two replicas exactly one leads, and the lease names it as the holder', async () => {
    const name = leaseName();
    const group = [replica(name), replica(name)];
    const leader = await leaderOf(group);
    await neverTwoLeaders(group, 2 * TIMING.leaseDurationMs);
    expect(leader.elector.isLeader).toBe(true);
    expect(group.filter((r) => r.elector.isLeader)).toEqual([leader]);

    const lease = await readLease(name);
    expect(lease.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // Renewed every retry period: the renewTime is never older than the lease.
    expect(Date.now() - parseMicroTime(lease.spec?.renewTime)!).toBeLessThan(TIMING.leaseDurationMs);
  });

  test('when the leader releases the lease the standby leads at its next retry, and the transition is counted', async () => {
    const name = leaseName();
    const group = [replica(name), replica(name)];
    const leader = await leaderOf(group);
    const standby = group.find((r) => r !== leader)!;
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const releasedAt = Date.now();
    await leader.elector.release();
    const releaseMs = Date.now() - releasedAt;
    await eventually('the standby leads', async () => standby.startedAt, 10_000);
    const failoverMs = standby.startedAt! - releasedAt;
    console.log(`leader failover after release(): ${failoverMs} ms (release() took ${releaseMs} ms; ${TIMING_TEXT}, acquire jitter up to 1.2 × retry)`);

    await expect(leader.ended).resolves.toBe('released');
    expect(leader.lost?.aborted).toBe(false);
    expect(leader.stoppedAt).toBeLessThanOrEqual(standby.startedAt!);
    // Within one jittered retry period, far below the lease duration.
    expect(failoverMs).toBeLessThan(TIMING.retryPeriodMs * 2.2 + 500);
    expect((await readLease(name)).spec).toMatchObject({ holderIdentity: standby.identity, leaseTransitions: 1 });
  });

  test('when the leader dies without releasing, it stops leading before the standby takes over after the lease expires', async () => {
    const name = leaseName();
    const group = [replica(name), replica(name)];
    const leader = await leaderOf(group);
    const standby = group.find((r) => r !== leader)!;
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const lastRenewal = () => readLease(name).then((lease) => parseMicroTime(lease.spec?.renewTime)!);
    leader.cut();
    const crashedAt = Date.now();
    const renewedAt = await lastRenewal();
    await eventually('the standby leads', async () => standby.startedAt, 15_000);
    const failoverMs = standby.startedAt! - crashedAt;
    const oldLeaderStoppedMs = leader.stoppedAt! - crashedAt;
    console.log(
      `leader failover after a crash without release: ${failoverMs} ms from the crash, ${standby.startedAt! - renewedAt} ms from the last renewal; ` +
        `the cut-off leader stopped leading after ${oldLeaderStoppedMs} ms (${TIMING_TEXT})`,
    );

    await expect(leader.ended).resolves.toBe('lost');
    expect(leader.stoppedAt).toBeLessThan(standby.startedAt!);
    expect(standby.startedAt! - renewedAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
    expect((await readLease(name)).spec).toMatchObject({ holderIdentity: standby.identity, leaseTransitions: 1 });
  });

  test('a leader whose lease another party takes stops leading within the renew deadline', async () => {
    const name = leaseName();
    const leader = replica(name);
    await leaderOf([leader]);

    const lease = await readLease(name);
    const now = formatMicroTime(Date.now());
    await admin.request({
      method: 'PUT',
      path: resourcePath(RESOURCES.leases, { namespace, name }),
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', acquireTime: now, renewTime: now, leaseDurationSeconds: 60 } },
    });
    const stolenAt = Date.now();
    await expect(leader.ended).resolves.toBe('lost');
    const stoppedMs = leader.stoppedAt! - stolenAt;
    console.log(`leader stopped after its lease was taken: ${stoppedMs} ms (${TIMING_TEXT})`);

    expect(leader.elector.isLeader).toBe(false);
    expect((leader.lost?.reason as LeadershipEnded | undefined)?.end).toBe('lost');
    expect(stoppedMs).toBeLessThan(TIMING.renewDeadlineMs);
    expect((await readLease(name)).spec?.holderIdentity).toBe('intruder');
  });
});
