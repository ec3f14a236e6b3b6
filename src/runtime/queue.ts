/**
 * The work queue between event handlers and reconcilers, after client-go's workqueue and
 * controller-runtime's controller loop.
 *
 * Guarantees:
 * - A key waiting to be processed is queued once, however often it is added.
 * - A key is never processed by two workers at once: adding it while it is in flight marks it
 *   dirty, and it runs again once the current run has ended.
 * - At most `concurrency` keys are processed at the same time, in the order they were added,
 *   except that keys added as urgent (a namespace without its deny) go before all others, in
 *   their own order, and no other key is handed out while an urgent one waits or runs (the
 *   urgent work gets the process to itself); adding a waiting key as urgent moves it up.
 * - A retryable failure re-adds the key after max(per-key backoff, global bucket delay): the
 *   per-key delay doubles from `baseDelayMs` up to `maxDelayMs`; the token bucket (`qps`,
 *   `burst`) is shared by all keys. First-time adds and `requeueAfter` are not throttled.
 *   A key with a `retryBound` (an unfenced namespace) retries every failure, terminal ones
 *   too, after at most that bound, outside the token bucket (it neither waits for nor takes
 *   a token, so many such keys cannot delay the retries of the others).
 *   Success, a requeue and a terminal error forget the key's failures.
 * - `shutDown()` hands out no more keys, drops waiting and delayed ones, and resolves once
 *   in-flight work has finished; it aborts the workers' signal only when asked to: at once
 *   (`abortInFlight`), or once in-flight work has run `abortAfterMs` (a bounded drain). A
 *   second call may abort what the first let run.
 * - A run that fails after its signal was aborted is 'aborted': not retried, no failure
 *   counted, and `onResult` gets no error (being cancelled is not a reconcile failure).
 * Assumes: workers are level-based, so running a key once for several adds is enough.
 * Leaves out: ordering between different keys beyond the two FIFO lanes, persistence across restarts.
 */
import { isRetryable } from './errors.js';

/** What a worker asks for after a successful run: nothing (done) or to run again after a while. */
export type Result = Readonly<{ requeueAfter: number }> | undefined;

/** Done: nothing more to do until the key is added again. */
export const done: Result = undefined;

/** Run the key again after `ms` milliseconds (a periodic check, a condition to wait for). */
export function requeueAfter(ms: number): Result {
  return { requeueAfter: Math.max(0, ms) };
}

export type Outcome = 'success' | 'requeue' | 'retry' | 'terminal' | 'aborted';

export type Worker<K extends string> = (key: K, signal: AbortSignal) => Promise<Result | void>;

export interface WorkQueueOptions<K extends string> {
  /** Keys processed at the same time. Default 1. */
  concurrency?: number;
  /** First retry delay of a key. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-key retry delay. Default 1,000,000 ms (~1000 s). */
  maxDelayMs?: number;
  /** Retries per second across all keys, once the burst is spent. Default 10. */
  qps?: number;
  /** Retries allowed at once before `qps` applies. Default 100. */
  burst?: number;
  /**
   * A key's own retry cap, for keys that must not wait (a namespace left open): when it returns
   * a number, the key's failures, terminal ones included, retry after at most that many
   * milliseconds. Asked at each failure. Default: none.
   */
  retryBound?: (key: K) => number | undefined;
  /** Called after every run, for metrics and logs. Errors thrown here are ignored. */
  onResult?: (key: K, outcome: Outcome, durationMs: number, error?: unknown) => void;
}

export const QUEUE_DEFAULTS = {
  concurrency: 1,
  baseDelayMs: 5,
  maxDelayMs: 1_000_000,
  qps: 10,
  burst: 100,
} as const;

/** A token bucket that hands out reservations, like golang.org/x/time/rate's `Reserve().Delay()`. */
class TokenBucket {
  private tokens: number;
  private updatedAt = Date.now();

  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token, going into debt when none is left; returns how long the caller must wait. */
  reserve(): number {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.qps) / 1000);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }
}

export class WorkQueue<K extends string> {
  private readonly options: Required<Omit<WorkQueueOptions<K>, 'onResult' | 'retryBound'>> & Pick<WorkQueueOptions<K>, 'onResult' | 'retryBound'>;
  private readonly bucket: TokenBucket;
  /** Keys ready to be handed out, in order: the urgent lane first. */
  private readonly ready: K[] = [];
  private readonly readyUrgent: K[] = [];
  /** Dirty keys that were added as urgent (waiting, or in flight and to run again). */
  private readonly urgent = new Set<K>();
  /** Keys that must run (again): the ready ones and the in-flight ones added meanwhile. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  /** In-flight keys that were handed out as urgent. */
  private readonly processingUrgent = new Set<K>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<K, number>();
  private readonly abort = new AbortController();
  private started = false;
  private shuttingDown = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly worker: Worker<K>,
    options: WorkQueueOptions<K> = {},
  ) {
    this.options = { ...QUEUE_DEFAULTS, ...options };
    if (!(this.options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
    this.bucket = new TokenBucket(this.options.qps, this.options.burst);
  }

  /** Keys waiting to be handed out (delayed ones not counted). */
  get depth(): number {
    return this.ready.length + this.readyUrgent.length;
  }

  /** Keys scheduled by `addAfter` or a retry, not yet due. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Queues the key; `urgent` puts it before every key not added as urgent. */
  add(key: K, urgent = false): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (!urgent || this.urgent.has(key)) return;
      this.urgent.add(key);
      const i = this.ready.indexOf(key);
      if (i >= 0) {
        this.ready.splice(i, 1);
        this.readyUrgent.push(key);
        this.pump();
      }
      return;
    }
    this.dirty.add(key);
    if (urgent) this.urgent.add(key);
    if (this.processing.has(key)) return;
    (urgent ? this.readyUrgent : this.ready).push(key);
    this.pump();
  }

  /** Adds the key after `ms`; a key already scheduled keeps the earlier of the two times. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const scheduled = this.delayed.get(key);
    if (scheduled) {
      if (scheduled.at <= at) return;
      clearTimeout(scheduled.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds a failed key after max(its backoff, the global bucket's delay). */
  addRateLimited(key: K, bound: number | undefined = this.boundOf(key)): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const cap = Math.min(this.options.maxDelayMs, bound ?? Infinity);
    const backoff = Math.min(cap, this.options.baseDelayMs * 2 ** failures);
    // A bounded key takes no token: it would ignore the wait anyway, and its tokens would put
    // every other key's retries into a debt that outlives the incident.
    this.addAfter(key, bound === undefined ? Math.max(backoff, this.bucket.reserve()) : backoff);
  }

  private boundOf(key: K): number | undefined {
    try {
      return this.options.retryBound?.(key);
    } catch {
      return undefined;
    }
  }

  /** Failed runs of the key since its last success. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Starts handing keys to workers; keys added before are processed now. */
  start(): void {
    if (this.shuttingDown) return;
    this.started = true;
    this.pump();
  }

  /**
   * Stops handing out keys, drops waiting and delayed ones, and resolves when in-flight
   * work has finished. With `abortInFlight`, the workers' signal is aborted first (for
   * leadership loss); with `abortAfterMs`, once in-flight work has run that long (a bounded
   * SIGTERM); else in-flight work runs to its end. `reason` becomes the signal's reason.
   */
  async shutDown(options: { abortInFlight?: boolean; abortAfterMs?: number; reason?: unknown } = {}): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.ready.length = 0;
    this.readyUrgent.length = 0;
    this.dirty.clear();
    this.urgent.clear();
    const abort = () => {
      if (!this.abort.signal.aborted) this.abort.abort(options.reason ?? new Error('work queue shut down'));
    };
    if (options.abortInFlight) abort();
    if (this.processing.size === 0) return;
    const idle = new Promise<void>((resolve) => this.idle.push(resolve));
    if (options.abortAfterMs === undefined || this.abort.signal.aborted) return idle;
    const timer = setTimeout(abort, Math.max(0, options.abortAfterMs));
    try {
      await idle;
    } finally {
      clearTimeout(timer);
    }
  }

  private pump(): void {
    if (!this.started || this.shuttingDown) return;
    while (this.processing.size < this.options.concurrency) {
      const urgent = this.readyUrgent.length > 0;
      if (!urgent && (this.ready.length === 0 || this.processingUrgent.size > 0)) break;
      const key = (urgent ? this.readyUrgent : this.ready).shift()!;
      this.dirty.delete(key);
      this.urgent.delete(key);
      this.processing.add(key);
      if (urgent) this.processingUrgent.add(key);
      void this.process(key);
    }
  }

  private async process(key: K): Promise<void> {
    const startedAt = Date.now();
    let outcome: Outcome;
    let failure: unknown;
    try {
      const result = await Promise.resolve().then(() => this.worker(key, this.abort.signal));
      this.forget(key);
      if (result && result.requeueAfter >= 0) {
        outcome = 'requeue';
        this.addAfter(key, result.requeueAfter);
      } else {
        outcome = 'success';
      }
    } catch (error) {
      failure = error;
      if (this.abort.signal.aborted) {
        outcome = 'aborted';
        failure = undefined;
      } else if (isRetryable(error) || this.boundOf(key) !== undefined) {
        outcome = 'retry';
        if (!this.shuttingDown) this.addRateLimited(key);
      } else {
        outcome = 'terminal';
        this.forget(key);
      }
    }
    this.processing.delete(key);
    this.processingUrgent.delete(key);
    try {
      this.options.onResult?.(key, outcome, Date.now() - startedAt, failure);
    } catch {
      // a metrics hook must not break the queue
    }
    if (this.shuttingDown) {
      if (this.processing.size === 0) for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    if (this.dirty.has(key)) (this.urgent.has(key) ? this.readyUrgent : this.ready).push(key);
    this.pump();
  }
}
