import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { ApiError, type KubeClient, type KubeRequest } from '../../src/kube/client.js';
import { formatMicroTime, LeaderElector, LeadershipEnded, parseMicroTime, type Lease, type LeaderElectorOptions } from '../../src/runtime/leader.js';
import { silentLogger } from '../../src/runtime/log.js';

const NAMESPACE = 'netfence-system';
const NAME = 'netfence-leader';
const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${NAME}`;

/**
 * One Lease kept the way the API server keeps it: resourceVersion on every write, 409 on a
 * stale PUT or a second create, 404 when absent. `reachable = false` makes every request
 * fail as a dropped connection does.
 */
class LeaseStore implements KubeClient {
  lease: Lease | undefined;
  reachable = true;
  private version = 0;

  async request<T>(req: KubeRequest): Promise<T> {
    if (!this.reachable) throw new ApiError(0, undefined, 'connection refused', `${req.method} ${req.path}`);
    const fail = (status: number, reason: string) => new ApiError(status, reason, reason, `${req.method} ${req.path}`);
    if (req.method === 'GET' && req.path === LEASE_PATH) {
      if (!this.lease) throw fail(404, 'NotFound');
      return structuredClone(this.lease) as T;
    }
    if (req.method === 'POST') {
      if (this.lease) throw fail(409, 'AlreadyExists');
      return this.store(req.body as Lease) as T;
    }
    if (req.method === 'PUT' && req.path === LEASE_PATH) {
      const body = req.body as Lease;
      if (!this.lease) throw fail(404, 'NotFound');
      if (body.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw fail(409, 'Conflict');
      return this.store(body) as T;
    }
    throw fail(405, 'MethodNotAllowed');
  }

  watch(): AsyncIterable<never> {
    throw new Error('not used');
  }

  /** Writes as another party would (an admin, a crashed replica's last renewal). */
  put(spec: Lease['spec']): void {
    this.store({ metadata: { name: NAME, namespace: NAMESPACE }, spec });
  }

  private store(lease: Lease): Lease {
    const spec = Object.fromEntries(Object.entries(lease.spec ?? {}).filter(([, value]) => value !== undefined));
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.version) }, spec };
    return structuredClone(this.lease);
  }
}

const SHORT = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300, jitter: 0 } as const;

function elector(client: KubeClient, identity: string, options: Partial<LeaderElectorOptions> = {}) {
  return new LeaderElector({ client, namespace: NAMESPACE, name: NAME, identity, log: silentLogger(), ...SHORT, ...options });
}

/** Callbacks that record when leading started and stopped (fake clock). */
function recorder(stopping: () => Promise<void> | void = () => undefined) {
  const seen: { startedAt?: number; stoppedAt?: number; signal?: AbortSignal; lost?: AbortSignal } = {};
  return {
    seen,
    callbacks: {
      onStartedLeading: (signal: AbortSignal, lost: AbortSignal) => {
        seen.startedAt = Date.now();
        seen.signal = signal;
        seen.lost = lost;
      },
      onStoppedLeading: async () => {
        await stopping();
        seen.stoppedAt = Date.now();
      },
    },
  };
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-02T03:04:05.123Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('MicroTime', () => {
  test('is written in UTC with six fractional digits and read back to the millisecond', () => {
    const ms = Date.parse('2026-01-02T03:04:05.123Z');
    expect(formatMicroTime(ms)).toBe('2026-01-02T03:04:05.123000Z');
    expect(parseMicroTime('2026-01-02T03:04:05.123456Z')).toBe(ms);
    expect(parseMicroTime(formatMicroTime(ms))).toBe(ms);
    expect(parseMicroTime(undefined)).toBeUndefined();
    expect(parseMicroTime('yesterday')).toBeUndefined();
  });
});

describe('LeaderElector', () => {
  test('creates an absent lease, leads, and renews the lease every retry period', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder();
    void one.run(callbacks);
    await jest.advanceTimersByTimeAsync(0);
    expect(one.isLeader).toBe(true);
    expect(seen.startedAt).toBe(Date.now());
    expect(store.lease?.spec).toEqual({
      holderIdentity: 'one',
      leaseDurationSeconds: 2,
      acquireTime: '2026-01-02T03:04:05.123000Z',
      renewTime: '2026-01-02T03:04:05.123000Z',
      leaseTransitions: 0,
    });

    await jest.advanceTimersByTimeAsync(300);
    expect(store.lease?.spec?.renewTime).toBe('2026-01-02T03:04:05.423000Z');
    expect(store.lease?.spec?.acquireTime).toBe('2026-01-02T03:04:05.123000Z');
    await one.release();
  });

  test('refuses timings where the renew deadline is not shorter than the lease or not longer than the retry period', () => {
    expect(() => elector(new LeaseStore(), 'x', { leaseDurationMs: 1_000, renewDeadlineMs: 1_000 })).toThrow(RangeError);
    expect(() => elector(new LeaseStore(), 'x', { renewDeadlineMs: 300, retryPeriodMs: 300 })).toThrow(RangeError);
  });

  test('a standby leaves a renewed lease alone, then takes it over once it expires and counts the transition', async () => {
    const store = new LeaseStore();
    store.put({ holderIdentity: 'crashed', leaseDurationSeconds: 2, renewTime: formatMicroTime(Date.now()), leaseTransitions: 4 });
    const standby = elector(store, 'standby');
    const { seen, callbacks } = recorder();
    const start = Date.now();
    void standby.run(callbacks);

    await jest.advanceTimersByTimeAsync(1_900);
    expect(standby.isLeader).toBe(false);
    expect(store.lease?.spec?.holderIdentity).toBe('crashed');
    await jest.advanceTimersByTimeAsync(600);
    expect(standby.isLeader).toBe(true);
    // Expired after 2 s; found at the next 300 ms retry.
    expect(seen.startedAt! - start).toBe(2_100);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'standby', leaseTransitions: 5 });
    await standby.release();
  });

  test('a leader that cannot reach the API server stops leading once the renew deadline has passed', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder();
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(3_000);
    const lastRenewal = parseMicroTime(store.lease?.spec?.renewTime)!;

    store.reachable = false;
    await jest.advanceTimersByTimeAsync(1_400);
    expect(one.isLeader).toBe(true);
    expect(seen.signal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(600);
    expect(one.isLeader).toBe(false);
    expect(seen.signal?.aborted).toBe(true);
    expect(seen.stoppedAt! - lastRenewal).toBeGreaterThanOrEqual(1_500);
    expect(seen.stoppedAt! - lastRenewal).toBeLessThan(2_000);
    await expect(ended).resolves.toBe('lost');
  });

  test('a leader that sees another holder on the lease stops leading at once', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder();
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(1_000);
    store.put({ ...store.lease!.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(Date.now()) });
    const stolenAt = Date.now();
    await jest.advanceTimersByTimeAsync(300);
    expect(one.isLeader).toBe(false);
    expect(seen.stoppedAt! - stolenAt).toBeLessThanOrEqual(300);
    await expect(ended).resolves.toBe('lost');
    expect(store.lease?.spec?.holderIdentity).toBe('intruder');
  });

  test('a leader that cannot renew stops at the renew deadline itself, not at the next retry after it', async () => {
    const store = new LeaseStore();
    // 1.4 s is no multiple of the 300 ms retry: the last retry before it is at 1.2 s.
    const one = elector(store, 'one', { renewDeadlineMs: 1_400 });
    const { seen, callbacks } = recorder();
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(3_000);
    const lastRenewal = parseMicroTime(store.lease?.spec?.renewTime)!;

    store.reachable = false;
    await jest.advanceTimersByTimeAsync(lastRenewal + 1_399 - Date.now());
    expect(seen.lost?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(seen.lost?.aborted).toBe(true);
    expect(seen.signal?.aborted).toBe(true);
    expect(one.isLeader).toBe(false);
    await expect(ended).resolves.toBe('lost');
  });

  test('a lost lease aborts both signals, with a reason that says it was lost', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder();
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(1_000);
    store.put({ ...store.lease!.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(Date.now()) });
    await jest.advanceTimersByTimeAsync(300);
    expect(seen.lost?.aborted).toBe(true);
    expect(seen.signal?.aborted).toBe(true);
    expect(seen.lost?.reason).toBeInstanceOf(LeadershipEnded);
    expect((seen.signal?.reason as LeadershipEnded).end).toBe('lost');
    await expect(ended).resolves.toBe('lost');
  });

  test('release() aborts only the stop signal; a loss while onStoppedLeading runs aborts the lost signal then', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder(() => new Promise((resolve) => setTimeout(resolve, 5_000)));
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(0);

    const released = one.release();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen.signal?.aborted).toBe(true);
    expect((seen.signal?.reason as LeadershipEnded).end).toBe('released');
    expect(seen.lost?.aborted).toBe(false);

    store.put({ ...store.lease!.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(Date.now()) });
    await jest.advanceTimersByTimeAsync(300);
    expect(seen.lost?.aborted).toBe(true);
    expect((seen.lost?.reason as LeadershipEnded).end).toBe('lost');
    await jest.advanceTimersByTimeAsync(5_000);
    await released;
    await expect(ended).resolves.toBe('lost');
    // Not released: the lease is the intruder's.
    expect(store.lease?.spec?.holderIdentity).toBe('intruder');
  });

  test('release() keeps renewing while onStoppedLeading runs, then clears the holder', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const { seen, callbacks } = recorder(() => new Promise((resolve) => setTimeout(resolve, 5_000)));
    const ended = one.run(callbacks);
    await jest.advanceTimersByTimeAsync(0);
    const transitions = store.lease?.spec?.leaseTransitions;

    const released = one.release();
    await jest.advanceTimersByTimeAsync(4_000);
    expect(seen.signal?.aborted).toBe(true);
    expect(store.lease?.spec?.holderIdentity).toBe('one');
    expect(Date.now() - parseMicroTime(store.lease?.spec?.renewTime)!).toBeLessThanOrEqual(300);

    await jest.advanceTimersByTimeAsync(1_000);
    await released;
    expect(seen.stoppedAt).toBeDefined();
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    expect(store.lease?.spec).toMatchObject({ leaseDurationSeconds: 1, leaseTransitions: transitions });
    expect(one.isLeader).toBe(false);
    await expect(ended).resolves.toBe('released');
  });

  test('a standby takes a released lease at its next retry', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    const two = elector(store, 'two');
    void one.run(recorder().callbacks);
    await jest.advanceTimersByTimeAsync(0);
    const standby = recorder();
    void two.run(standby.callbacks);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(two.isLeader).toBe(false);

    await one.release();
    const releasedAt = Date.now();
    await jest.advanceTimersByTimeAsync(300);
    expect(two.isLeader).toBe(true);
    expect(standby.seen.startedAt! - releasedAt).toBeLessThanOrEqual(300);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'two', leaseTransitions: 1 });
    await two.release();
  });

  test('run() after release() returns at once without touching the lease', async () => {
    const store = new LeaseStore();
    const one = elector(store, 'one');
    await one.release();
    await expect(one.run(recorder().callbacks)).resolves.toBe('released');
    expect(store.lease).toBeUndefined();
  });
});
