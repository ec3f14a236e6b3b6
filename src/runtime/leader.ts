/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection.
 *
 * Guarantees:
 * - A replica takes the lease only when it is absent, has no holder (released), is already
 *   held by this identity, or has expired; every write is a PUT with the resourceVersion it
 *   read, so of two replicas racing for it one gets 409 and stays standby.
 * - The leader renews every `retryPeriodMs`. It stops leading (aborts both signals given to
 *   `onStartedLeading`, `lost` first, then calls `onStoppedLeading`) as soon as it sees
 *   another holder, or the moment `renewDeadlineMs` has passed since the last successful
 *   renewal (no later: the last try is cut short at the deadline). Since `renewDeadlineMs <
 *   leaseDurationMs`, it stops before a standby may take over.
 * - `release()` (SIGTERM): aborts `signal` only (reason `LeadershipEnded('released')`) and
 *   keeps renewing while `onStoppedLeading` runs; if the lease is lost meanwhile, `lost`
 *   aborts then. Afterwards it writes the lease with no holder and a one-second duration, so
 *   a standby takes over at its next retry instead of after the lease expires.
 * - API errors never escape: they are logged and the attempt is retried.
 * Assumes: replicas' clocks tick at about the same rate. A lease counts as expired only when
 *   neither its renewTime nor this replica's own observation of its last change lies within
 *   its leaseDurationSeconds; the local observation (client-go relies on it alone) keeps a
 *   replica whose clock runs ahead from taking a live lease. The cost: a replica that starts
 *   next to a stale lease waits one lease duration before taking it.
 * Leaves out: the coordinated-election fields (strategy, preferredHolder), and re-entering
 *   the election after a loss: `run()` resolves and the caller decides (exit or run again).
 */
import { formatMicroTime } from '../core/time.js';
import { isApiError, RESOURCES, resourcePath, type KubeClient } from '../kube/client.js';
import type { Logger } from './log.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per replica: the pod name, or host and pid. */
  identity: string;
  log: Logger;
  /** How long standbys wait after the last renewal before taking over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between renewals, and between acquire attempts (jittered). Default 2 s. */
  retryPeriodMs?: number;
  /** Acquire attempts wait retryPeriod · (1 + random · jitter). Default 1.2, as client-go. */
  jitter?: number;
}

export const LEADER_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  jitter: 1.2,
} as const;

export interface LeaderCallbacks {
  /**
   * Called once the lease is held. Not awaited by the election. `signal` aborts when leading
   * is to end: the lease was lost, or `release()` was called (the lease is then still held
   * and renewed until `onStoppedLeading` resolves). `lost` aborts only when the lease is lost
   * (this replica must stop writing at once), also after `signal` did.
   */
  onStartedLeading(signal: AbortSignal, lost: AbortSignal): void | Promise<void>;
  /** Called once after leadership ended (lost or released), only if `onStartedLeading` was called. */
  onStoppedLeading(): void | Promise<void>;
  /** Called when the observed holder changes (undefined: nobody holds it). */
  onNewLeader?(identity: string | undefined): void;
}

export type LeadershipEnd = 'lost' | 'released';

/** The abort reason of the signals given to `onStartedLeading`: why leading ends. */
export class LeadershipEnded extends Error {
  override readonly name = 'LeadershipEnded';
  constructor(readonly end: LeadershipEnd) {
    super(end === 'lost' ? 'the leader lease was lost' : 'the leader lease is being released');
  }
}

export { formatMicroTime };

/** Milliseconds since the epoch, or undefined when absent or unreadable. */
export function parseMicroTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

type Attempt = { kind: 'held'; renewedAt: number } | { kind: 'other'; holder: string } | { kind: 'failed' };

export class LeaderElector {
  private readonly options: Required<LeaderElectorOptions>;
  private readonly path: string;
  private readonly log: Logger;
  /** The lease as this replica last wrote it, while it holds it. */
  private held: Lease | undefined;
  /** The spec last seen and when it was first seen with that content (local clock). */
  private observed: { raw: string; at: number; holder: string | undefined } | undefined;
  private running: Promise<LeadershipEnd> | undefined;
  private released = false;
  private stopRenewing = false;
  private readonly acquireWake = new AbortController();
  private readonly renewWake = new AbortController();
  private stopLeading: ((end: LeadershipEnd) => Promise<void>) | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = { ...LEADER_DEFAULTS, ...options };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs, jitter } = this.options;
    if (!(leaseDurationMs > renewDeadlineMs)) throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(renewDeadlineMs > retryPeriodMs * Math.max(1, jitter))) throw new RangeError('renewDeadlineMs must be greater than retryPeriodMs × max(1, jitter)');
    if (!(retryPeriodMs > 0)) throw new RangeError('retryPeriodMs must be positive');
    if (!options.identity) throw new RangeError('identity must not be empty');
    this.path = resourcePath(RESOURCES.leases, { namespace: options.namespace, name: options.name });
    this.log = options.log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  /** True while this replica holds the lease (from acquiring it until it is lost or released). */
  get isLeader(): boolean {
    return this.held !== undefined;
  }

  /**
   * Waits for the lease, leads while it holds it, and resolves when leadership ends: 'lost'
   * (renewal failed or another replica holds the lease) or 'released' (after `release()`,
   * also when it never led).
   */
  run(callbacks: LeaderCallbacks): Promise<LeadershipEnd> {
    if (this.running) throw new Error('the leader election is already running');
    this.stopRenewing = false;
    const running = this.loop(callbacks).finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return running;
  }

  /**
   * Ends the election for good: stops leading (the lease is renewed until `onStoppedLeading`
   * has resolved), then releases the lease if this replica holds it. Never throws.
   */
  async release(): Promise<void> {
    this.released = true;
    this.acquireWake.abort();
    await this.stopLeading?.('released');
    this.stopRenewing = true;
    this.renewWake.abort();
    await this.running;
  }

  private async loop(callbacks: LeaderCallbacks): Promise<LeadershipEnd> {
    const { retryPeriodMs, renewDeadlineMs, jitter } = this.options;
    this.log.info('waiting for the leader lease');
    let renewedAt: number | undefined;
    while (renewedAt === undefined) {
      if (this.released) return 'released';
      const attempt = await this.attempt(callbacks, renewDeadlineMs);
      if (attempt.kind === 'held') renewedAt = attempt.renewedAt;
      else await sleep(retryPeriodMs * (1 + Math.random() * jitter), this.acquireWake.signal);
    }
    this.log.info('acquired the leader lease');

    const leading = new AbortController();
    const lost = new AbortController();
    let started = false;
    let stopped: Promise<void> | undefined;
    this.stopLeading = (end) => {
      if (end === 'lost') lost.abort(new LeadershipEnded('lost'));
      return (stopped ??= (async () => {
        leading.abort(new LeadershipEnded(end));
        if (!started) return;
        try {
          await callbacks.onStoppedLeading();
        } catch (error) {
          this.log.error('onStoppedLeading failed', { error: String(error) });
        }
      })());
    };
    if (!this.released) {
      started = true;
      void Promise.resolve()
        .then(() => callbacks.onStartedLeading(leading.signal, lost.signal))
        .catch((error: unknown) => this.log.error('onStartedLeading failed', { error: String(error) }));
    }

    let end: LeadershipEnd = 'released';
    while (!this.stopRenewing) {
      // Never sleep past the renew deadline: leading stops the moment it passes.
      await sleep(Math.min(retryPeriodMs, Math.max(0, renewedAt + renewDeadlineMs - Date.now())), this.renewWake.signal);
      if (this.stopRenewing) break;
      const left: number = renewedAt + renewDeadlineMs - Date.now();
      const attempt: Attempt = left > 0 ? await this.attempt(callbacks, left) : { kind: 'failed' };
      if (attempt.kind === 'held') {
        renewedAt = attempt.renewedAt;
        continue;
      }
      if (attempt.kind === 'other') {
        this.log.warn('another replica holds the leader lease: stopping leading', { holder: attempt.holder });
      } else if (Date.now() - renewedAt < renewDeadlineMs) {
        continue;
      } else {
        this.log.warn('could not renew the leader lease within the renew deadline: stopping leading', { renewDeadlineMs });
      }
      end = 'lost';
      break;
    }

    if (end === 'lost') {
      this.held = undefined;
      await this.stopLeading('lost');
    } else {
      await this.stopLeading('released');
      await this.releaseLease();
      this.held = undefined;
    }
    this.stopLeading = undefined;
    this.log.info(end === 'lost' ? 'lost the leader lease' : 'released the leader lease');
    return end;
  }

  /** One try to acquire or renew the lease, bounded by `timeoutMs`. */
  private async attempt(callbacks: LeaderCallbacks, timeoutMs: number): Promise<Attempt> {
    const signal = AbortSignal.timeout(timeoutMs);
    const now = Date.now();
    try {
      if (this.held) {
        // The common renewal: one PUT on the lease as last written; a 409 means someone else
        // wrote it, so read it and decide below.
        try {
          return this.holding(await this.put(this.held, this.renewed(this.held.spec, now), signal), now);
        } catch (error) {
          if (!isApiError(error, 409)) throw error;
        }
      }

      let lease: Lease;
      try {
        lease = await this.options.client.request<Lease>({ method: 'GET', path: this.path, signal });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
        const created = await this.options.client.request<Lease>({
          method: 'POST',
          path: resourcePath(RESOURCES.leases, { namespace: this.options.namespace }),
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.options.name, namespace: this.options.namespace },
            spec: this.takenOver(undefined, now),
          },
          signal,
        });
        return this.holding(created, now, callbacks);
      }

      this.observe(lease.spec ?? {}, now, callbacks);
      const holder = lease.spec?.holderIdentity;
      if (holder && holder !== this.options.identity && !this.expired(lease.spec ?? {}, now)) return { kind: 'other', holder };
      const spec = holder === this.options.identity ? this.renewed(lease.spec, now) : this.takenOver(lease.spec, now);
      return this.holding(await this.put(lease, spec, signal), now, callbacks);
    } catch (error) {
      const level = isApiError(error, 409) ? 'debug' : 'warn';
      this.log[level]('leader lease request failed; retrying', { error: error instanceof Error ? error.message : String(error) });
      return { kind: 'failed' };
    }
  }

  private holding(lease: Lease, renewedAt: number, callbacks?: LeaderCallbacks): Attempt {
    this.held = lease;
    this.observe(lease.spec ?? {}, renewedAt, callbacks);
    return { kind: 'held', renewedAt };
  }

  private put(lease: Lease, spec: LeaseSpec, signal: AbortSignal): Promise<Lease> {
    return this.options.client.request<Lease>({ method: 'PUT', path: this.path, body: { ...lease, spec }, signal });
  }

  private renewed(spec: LeaseSpec | undefined, now: number): LeaseSpec {
    return {
      ...spec,
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.leaseSeconds(),
      acquireTime: spec?.acquireTime ?? formatMicroTime(now),
      renewTime: formatMicroTime(now),
      leaseTransitions: spec?.leaseTransitions ?? 0,
    };
  }

  private takenOver(spec: LeaseSpec | undefined, now: number): LeaseSpec {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.leaseSeconds(),
      acquireTime: formatMicroTime(now),
      renewTime: formatMicroTime(now),
      leaseTransitions: spec ? (spec.leaseTransitions ?? 0) + 1 : 0,
    };
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000));
  }

  private observe(spec: LeaseSpec, now: number, callbacks?: LeaderCallbacks): void {
    const raw = JSON.stringify(spec);
    if (this.observed?.raw === raw) return;
    const holder = spec.holderIdentity || undefined;
    const changedHolder = this.observed === undefined || this.observed.holder !== holder;
    this.observed = { raw, at: now, holder };
    if (!changedHolder) return;
    if (holder !== this.options.identity) this.log.info('observed a new leader', { holder: holder ?? null });
    try {
      callbacks?.onNewLeader?.(holder);
    } catch (error) {
      this.log.error('onNewLeader failed', { error: String(error) });
    }
  }

  private expired(spec: LeaseSpec, now: number): boolean {
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseSeconds()) * 1000;
    const lastSign = Math.max(parseMicroTime(spec.renewTime) ?? 0, this.observed?.at ?? now);
    return now > lastSign + durationMs;
  }

  /** Writes the held lease without a holder (client-go's ReleaseOnCancel). Logs failures. */
  private async releaseLease(): Promise<void> {
    let lease = this.held;
    for (let attempt = 0; lease && attempt < 3; attempt++) {
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      const now = formatMicroTime(Date.now());
      const spec: LeaseSpec = { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      const signal = AbortSignal.timeout(this.options.renewDeadlineMs);
      try {
        await this.put(lease, spec, signal);
        return;
      } catch (error) {
        if (!isApiError(error, 409)) {
          this.log.warn('could not release the leader lease; standbys take over once it expires', { error: String(error) });
          return;
        }
        lease = await this.options.client.request<Lease>({ method: 'GET', path: this.path, signal }).catch(() => undefined);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
