import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { ApiError } from '../../src/kube/client.js';
import { isRetryable, terminal, TerminalError } from '../../src/runtime/errors.js';
import { requeueAfter, WorkQueue, type Outcome, type Result, type WorkQueueOptions } from '../../src/runtime/queue.js';

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets the queue's promise chains run without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);

const apiError = (status: number) => new ApiError(status, undefined, `status ${status}`, 'PUT /x');

interface Run {
  key: string;
  at: number;
}

/** A queue whose worker records each run and behaves as `behave` says for that run. */
function recordingQueue(behave: (key: string, attempt: number, signal: AbortSignal) => Promise<Result | void> | Result | void, options: WorkQueueOptions<string> = {}) {
  const runs: Run[] = [];
  const outcomes: { key: string; outcome: Outcome; error?: unknown }[] = [];
  const attempts = new Map<string, number>();
  const queue = new WorkQueue<string>(
    async (key, signal) => {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      runs.push({ key, at: Date.now() });
      return behave(key, attempt, signal);
    },
    { ...options, onResult: (key, outcome, _duration, error) => outcomes.push({ key, outcome, error }) },
  );
  const runsOf = (key: string) => runs.filter((run) => run.key === key);
  return { queue, runs, runsOf, outcomes };
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-02T03:04:05Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('WorkQueue', () => {
  test('hands out urgent keys before all others, each lane in its own order; an urgent add moves a waiting key up', async () => {
    const { queue, runs } = recordingQueue(() => undefined);
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('u1', true);
    queue.add('b', true);
    queue.add('u2', true);
    queue.add('u1');
    expect(queue.depth).toBe(5);
    queue.start();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['u1', 'b', 'u2', 'a', 'c']);
  });

  test('hands out no other key while an urgent one runs, even with workers free', async () => {
    const gate = deferred();
    const { queue, runs } = recordingQueue((key) => (key === 'u' ? gate.promise : undefined), { concurrency: 4 });
    queue.start();
    queue.add('u', true);
    queue.add('a');
    queue.add('b');
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['u']);
    gate.resolve();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['u', 'a', 'b']);
  });

  test('a key added as urgent while it runs runs again ahead of the keys waiting', async () => {
    const gate = deferred();
    const { queue, runs } = recordingQueue((key, attempt) => (key === 'x' && attempt === 1 ? gate.promise : undefined));
    queue.start();
    queue.add('x');
    await settle();
    queue.add('a');
    queue.add('x', true);
    gate.resolve();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['x', 'x', 'a']);
  });

  test('runs a key added several times while it waits only once', async () => {
    const { queue, runs } = recordingQueue(() => undefined);
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.add('a');
    expect(queue.depth).toBe(2);
    queue.start();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['a', 'b']);
    expect(queue.depth).toBe(0);
  });

  test('never runs one key twice at once, and runs it again after the current run when it was added meanwhile', async () => {
    const gates = [deferred(), deferred()];
    let running = 0;
    let maxRunning = 0;
    const { queue, runsOf } = recordingQueue(
      async (_key, attempt) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gates[attempt - 1]!.promise;
        running--;
      },
      { concurrency: 4 },
    );
    queue.start();
    queue.add('a');
    await settle();
    queue.add('a');
    queue.add('a');
    await settle();
    expect(runsOf('a')).toHaveLength(1);
    expect(queue.inFlight).toBe(1);
    expect(queue.depth).toBe(0);

    gates[0]!.resolve();
    await settle();
    expect(runsOf('a')).toHaveLength(2);
    gates[1]!.resolve();
    await settle();
    expect(runsOf('a')).toHaveLength(2);
    expect(maxRunning).toBe(1);
  });

  test('keeps at most `concurrency` keys in flight and processes all of them in order', async () => {
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const { queue, runs } = recordingQueue(
      (key) => {
        const gate = deferred();
        gates.set(key, gate);
        return gate.promise;
      },
      { concurrency: 2 },
    );
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    queue.start();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['a', 'b']);
    expect(queue.inFlight).toBe(2);
    expect(queue.depth).toBe(3);

    gates.get('b')!.resolve();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['a', 'b', 'c']);
    expect(queue.inFlight).toBe(2);

    gates.get('a')!.resolve();
    gates.get('c')!.resolve();
    await settle();
    gates.get('d')!.resolve();
    await settle();
    gates.get('e')!.resolve();
    await settle();
    expect(runs.map((run) => run.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(queue.inFlight).toBe(0);
  });

  test('retries a failing key after 5, 10, 20 ms and so on, capped at maxDelayMs', async () => {
    const { queue, runsOf } = recordingQueue(
      () => {
        throw new Error('boom');
      },
      { maxDelayMs: 80 },
    );
    queue.start();
    queue.add('a');
    await jest.advanceTimersByTimeAsync(1_000);
    const times = runsOf('a').map((run) => run.at);
    const gaps = times.slice(1, 8).map((at, i) => at - times[i]!);
    expect(gaps).toEqual([5, 10, 20, 40, 80, 80, 80]);
    expect(queue.failuresOf('a')).toBeGreaterThan(7);
  });

  test('grows the default backoff towards about 1000 s and no further', async () => {
    const { queue, runsOf } = recordingQueue(() => {
      throw new Error('boom');
    });
    queue.start();
    queue.add('a');
    // 5 ms · 2^n reaches the 1,000,000 ms cap after 18 doublings; the sum before it is ~1311 s.
    await jest.advanceTimersByTimeAsync(1_400_000);
    await jest.advanceTimersByTimeAsync(3_000_000);
    const times = runsOf('a').map((run) => run.at);
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    expect(gaps.slice(0, 3)).toEqual([5, 10, 20]);
    expect(Math.max(...gaps)).toBe(1_000_000);
    expect(gaps.at(-1)).toBe(1_000_000);
  });

  test('forgets the failures of a key once a run succeeds', async () => {
    const { queue, runsOf } = recordingQueue((_key, attempt) => {
      if (attempt !== 3) throw new Error(`attempt ${attempt} fails`);
    });
    queue.start();
    queue.add('a');
    await jest.advanceTimersByTimeAsync(100);
    expect(runsOf('a')).toHaveLength(3);
    expect(queue.failuresOf('a')).toBe(0);

    const before = Date.now();
    queue.add('a');
    await settle();
    await jest.advanceTimersByTimeAsync(4);
    expect(runsOf('a')).toHaveLength(4);
    await jest.advanceTimersByTimeAsync(1);
    expect(runsOf('a')).toHaveLength(5);
    expect(runsOf('a')[4]!.at - before).toBe(5);
  });

  test.each([
    { what: 'a TerminalError', error: new TerminalError('invalid spec') },
    { what: 'a wrapped terminal error', error: terminal(new Error('cannot compile')) },
    { what: 'a 422 from the API server', error: apiError(422) },
    { what: 'a 404 from the API server', error: apiError(404) },
    { what: 'a 400 from the API server', error: apiError(400) },
  ])('does not retry $what and forgets the key’s failures', async ({ error }) => {
    const { queue, runsOf, outcomes } = recordingQueue((_key, attempt) => {
      throw attempt === 1 ? new Error('transient') : error;
    });
    queue.start();
    queue.add('a');
    await jest.advanceTimersByTimeAsync(10);
    expect(runsOf('a')).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(runsOf('a')).toHaveLength(2);
    expect(outcomes.map((o) => o.outcome)).toEqual(['retry', 'terminal']);
    expect(outcomes[1]!.error).toBe(error);
    expect(queue.failuresOf('a')).toBe(0);
    expect(queue.delayedCount).toBe(0);
  });

  test.each([0, 403, 409, 429, 500, 503])('retries an API error with status %i', async (status) => {
    const { queue, runsOf } = recordingQueue((_key, attempt) => {
      if (attempt === 1) throw apiError(status);
    });
    queue.start();
    queue.add('a');
    await jest.advanceTimersByTimeAsync(10);
    expect(runsOf('a')).toHaveLength(2);
  });

  test('runs a key again after the requeueAfter its worker returned, and not before', async () => {
    const { queue, runsOf, outcomes } = recordingQueue((_key, attempt) => (attempt === 1 ? requeueAfter(30_000) : undefined));
    queue.start();
    queue.add('a');
    await settle();
    expect(queue.delayedCount).toBe(1);
    await jest.advanceTimersByTimeAsync(29_999);
    expect(runsOf('a')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(runsOf('a')).toHaveLength(2);
    expect(outcomes.map((o) => o.outcome)).toEqual(['requeue', 'success']);
  });

  test('keeps the earlier time when a delayed key is added after again', async () => {
    const { queue, runsOf } = recordingQueue(() => undefined);
    queue.start();
    queue.addAfter('a', 1_000);
    queue.addAfter('a', 5_000);
    queue.addAfter('a', 500);
    expect(queue.delayedCount).toBe(1);
    await jest.advanceTimersByTimeAsync(499);
    expect(runsOf('a')).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runsOf('a')).toHaveLength(1);
  });

  test('does not throttle first-time adds, but spaces a burst of retries by the global bucket', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `ns-${i}`);
    const { queue, runs } = recordingQueue((_key, attempt) => {
      if (attempt === 1) throw new Error('fails once');
    });
    queue.start();
    const start = Date.now();
    for (const key of keys) queue.add(key);
    await settle();
    expect(runs).toHaveLength(150);

    const retriesBy = (ms: number) => runs.filter((run) => run.at - start <= ms).length - 150;
    await jest.advanceTimersByTimeAsync(50);
    // The burst of 100 retries goes after the per-key 5 ms; the rest wait for tokens at 10/s.
    expect(retriesBy(5)).toBe(100);
    expect(retriesBy(50)).toBe(100);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(retriesBy(1_050)).toBe(110);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(retriesBy(6_050)).toBe(150);
  });

  test('shutDown waits for in-flight work without aborting it, then processes nothing', async () => {
    const gate = deferred();
    let signal: AbortSignal | undefined;
    const { queue, runs } = recordingQueue(async (key, _attempt, s) => {
      if (key === 'a') {
        signal = s;
        await gate.promise;
      }
    });
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    await settle();

    let stopped = false;
    const shutDown = queue.shutDown().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(stopped).toBe(false);
    expect(queue.inFlight).toBe(1);
    expect(signal?.aborted).toBe(false);

    gate.resolve();
    await shutDown;
    expect(queue.inFlight).toBe(0);
    queue.add('d');
    queue.addAfter('e', 10);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runs.map((run) => run.key)).toEqual(['a']);
    expect(queue.depth).toBe(0);
    expect(queue.delayedCount).toBe(0);
  });

  test('shutDown does not retry work that fails while it waits', async () => {
    const gate = deferred();
    const { queue, runs, outcomes } = recordingQueue(async () => {
      await gate.promise;
      throw new Error('failed during shutdown');
    });
    queue.start();
    queue.add('a');
    await settle();
    const shutDown = queue.shutDown();
    gate.resolve();
    await shutDown;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(runs).toHaveLength(1);
    expect(outcomes.map((o) => o.outcome)).toEqual(['retry']);
  });

  test('shutDown with abortInFlight aborts the signal the workers got', async () => {
    const { queue } = recordingQueue((_key, _attempt, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
    queue.start();
    queue.add('a');
    await settle();
    expect(queue.inFlight).toBe(1);
    await queue.shutDown({ abortInFlight: true });
    expect(queue.inFlight).toBe(0);
  });

  test('shutDown with abortAfterMs lets in-flight work run until then, and aborts what still runs', async () => {
    const gate = deferred();
    const signals = new Map<string, AbortSignal>();
    const { queue, outcomes } = recordingQueue(
      async (key, _attempt, signal) => {
        signals.set(key, signal);
        if (key === 'quick') return gate.promise;
        return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('request aborted')), { once: true }));
      },
      { concurrency: 2 },
    );
    queue.start();
    queue.add('quick');
    queue.add('slow');
    await settle();

    let stopped = false;
    const shutDown = queue.shutDown({ abortAfterMs: 1_000, reason: new Error('bound reached') }).then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(500);
    gate.resolve();
    await jest.advanceTimersByTimeAsync(499);
    expect(outcomes).toEqual([{ key: 'quick', outcome: 'success', error: undefined }]);
    expect(signals.get('slow')?.aborted).toBe(false);
    expect(stopped).toBe(false);

    await jest.advanceTimersByTimeAsync(1);
    await shutDown;
    expect(signals.get('slow')?.reason).toEqual(new Error('bound reached'));
    expect(outcomes.map((o) => o.outcome)).toEqual(['success', 'aborted']);
  });

  test('a second shutDown with abortInFlight cancels what a bounded one still waits for', async () => {
    let signal: AbortSignal | undefined;
    const { queue, outcomes } = recordingQueue(
      (_key, _attempt, s) =>
        new Promise<void>((_resolve, reject) => {
          signal = s;
          s.addEventListener('abort', () => reject(new Error('request aborted')), { once: true });
        }),
    );
    queue.start();
    queue.add('a');
    await settle();
    const graceful = queue.shutDown({ abortAfterMs: 10_000 });
    await jest.advanceTimersByTimeAsync(100);
    expect(signal?.aborted).toBe(false);
    await queue.shutDown({ abortInFlight: true, reason: new Error('lease lost') });
    await graceful;
    expect(signal?.reason).toEqual(new Error('lease lost'));
    expect(outcomes.map((o) => o.outcome)).toEqual(['aborted']);
  });

  test('a run that fails once its signal was aborted is aborted: no error reported, no retry, no failure counted', async () => {
    const { queue, runs, outcomes } = recordingQueue(
      (_key, _attempt, signal) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(apiError(0)), { once: true })),
    );
    queue.start();
    queue.add('a');
    await settle();
    await queue.shutDown({ abortInFlight: true });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(runs).toHaveLength(1);
    expect(outcomes).toEqual([{ key: 'a', outcome: 'aborted', error: undefined }]);
    expect(queue.failuresOf('a')).toBe(0);
    expect(queue.delayedCount).toBe(0);
  });

  test('reports each run’s outcome and duration to onResult', async () => {
    const reported: [string, Outcome, number][] = [];
    const queue = new WorkQueue<string>(
      async (key) => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (key === 'retry') throw new Error('again');
        if (key === 'terminal') throw new TerminalError('never');
        return key === 'requeue' ? requeueAfter(60_000) : undefined;
      },
      { concurrency: 4, onResult: (key, outcome, duration) => reported.push([key, outcome, duration]) },
    );
    queue.start();
    for (const key of ['success', 'requeue', 'retry', 'terminal']) queue.add(key);
    await jest.advanceTimersByTimeAsync(250);
    expect(reported).toEqual([
      ['success', 'success', 250],
      ['requeue', 'requeue', 250],
      ['retry', 'retry', 250],
      ['terminal', 'terminal', 250],
    ]);
    await queue.shutDown();
  });

  test('holds added keys until it is started', async () => {
    const { queue, runs } = recordingQueue(() => undefined);
    queue.add('a');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(runs).toHaveLength(0);
    queue.start();
    await settle();
    expect(runs).toHaveLength(1);
  });
});

describe('isRetryable', () => {
  test.each([
    { what: 'an unknown error', error: new TypeError('x is undefined'), retryable: true },
    { what: 'a thrown string', error: 'oops', retryable: true },
    { what: 'an unreachable API server (status 0)', error: apiError(0), retryable: true },
    { what: 'a conflict (409)', error: apiError(409), retryable: true },
    { what: 'throttling (429)', error: apiError(429), retryable: true },
    { what: 'a server error (500)', error: apiError(500), retryable: true },
    { what: 'an authorization denial (403), which RBAC changes can heal', error: apiError(403), retryable: true },
    { what: 'an expired token (401)', error: apiError(401), retryable: true },
    { what: 'an invalid object (422)', error: apiError(422), retryable: false },
    { what: 'a missing object (404)', error: apiError(404), retryable: false },
    { what: 'a TerminalError', error: new TerminalError('no'), retryable: false },
  ])('says $what is retryable: $retryable', ({ error, retryable }) => {
    expect(isRetryable(error)).toBe(retryable);
  });

  test('terminal() keeps the original error as the cause', () => {
    const cause = apiError(500);
    const wrapped = terminal(cause);
    expect(wrapped).toBeInstanceOf(TerminalError);
    expect(wrapped.cause).toBe(cause);
    expect(terminal(wrapped)).toBe(wrapped);
  });
});
