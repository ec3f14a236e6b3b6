import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { ApiError } from '../../src/kube/client.js';
import { WorkQueue, type Outcome } from '../../src/runtime/queue.js';

/** A queue whose worker fails while `failing` holds the key, recording when each key ran. */
function failingQueue(error: () => unknown, bound: (key: string) => number | undefined) {
  const runs = new Map<string, number[]>();
  const outcomes: [string, Outcome][] = [];
  const failing = new Set<string>();
  const queue = new WorkQueue<string>(
    async (key) => {
      runs.set(key, [...(runs.get(key) ?? []), Date.now()]);
      if (failing.has(key)) throw error();
    },
    { retryBound: bound, qps: 1000, burst: 1000, onResult: (key, outcome) => outcomes.push([key, outcome]) },
  );
  return { queue, runs, outcomes, failing };
}

const gaps = (times: readonly number[]) => times.slice(1).map((t, i) => t - (times[i] as number));

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-02T03:04:05Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('WorkQueue retryBound (an unfenced namespace retries at a bounded interval)', () => {
  test('a bounded key backs off like any other up to its bound, then retries at the bound; an unbounded one keeps doubling', async () => {
    const { queue, runs, failing } = failingQueue(
      () => new ApiError(403, 'Forbidden', 'denied', 'POST'),
      (key) => (key === 'open' ? 10_000 : undefined),
    );
    failing.add('open');
    failing.add('other');
    queue.add('open');
    queue.add('other');
    queue.start();
    await jest.advanceTimersByTimeAsync(200_000);
    const open = gaps(runs.get('open') ?? []);
    const other = gaps(runs.get('other') ?? []);
    expect(Math.max(...open)).toBe(10_000);
    expect(open.slice(-5)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(Math.max(...other)).toBeGreaterThan(60_000);
    // Once the cause is lifted, the bounded key succeeds at its next retry.
    failing.delete('open');
    const before = (runs.get('open') ?? []).length;
    await jest.advanceTimersByTimeAsync(10_000);
    expect((runs.get('open') ?? []).length).toBe(before + 1);
    await queue.shutDown();
  });

  test('a terminal error (422 from an admission webhook) is retried for a bounded key, and forgotten for others', async () => {
    const { queue, runs, outcomes, failing } = failingQueue(
      () => new ApiError(422, 'Invalid', 'refused', 'POST'),
      (key) => (key === 'open' ? 1_000 : undefined),
    );
    failing.add('open');
    failing.add('other');
    queue.add('open');
    queue.add('other');
    queue.start();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(runs.get('other')).toHaveLength(1);
    expect(outcomes.find(([k]) => k === 'other')?.[1]).toBe('terminal');
    expect((runs.get('open') ?? []).length).toBeGreaterThan(5);
    expect(outcomes.filter(([k]) => k === 'open').every(([, o]) => o === 'retry')).toBe(true);
    await queue.shutDown();
  });

  test('a thousand bounded keys failing take no retry tokens: an unbounded key retries as soon as its own backoff says', async () => {
    const runs = new Map<string, number[]>();
    const queue = new WorkQueue<string>(
      async (key) => {
        runs.set(key, [...(runs.get(key) ?? []), Date.now()]);
        if (key.startsWith('open-') || (runs.get(key) ?? []).length < 3) throw new Error('refused');
      },
      { retryBound: (key) => (key.startsWith('open-') ? 1_000 : undefined), concurrency: 50 },
    );
    for (let i = 0; i < 1000; i++) queue.add(`open-${i}`);
    queue.start();
    await jest.advanceTimersByTimeAsync(30_000);
    queue.add('other');
    await jest.advanceTimersByTimeAsync(1_000);
    // Default bucket: 10 retries a second after a burst of 100. Had the bounded keys taken
    // tokens, 'other' would wait minutes for its second and third run.
    expect(runs.get('other')).toHaveLength(3);
    await queue.shutDown();
  });

  test('the bound is asked at each failure: a key fenced meanwhile goes back to the normal backoff', async () => {
    let bounded = true;
    const { queue, runs, failing } = failingQueue(
      () => new Error('boom'),
      () => (bounded ? 50 : undefined),
    );
    failing.add('k');
    queue.add('k');
    queue.start();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(Math.max(...gaps(runs.get('k') ?? []))).toBe(50);
    bounded = false;
    const runsBefore = (runs.get('k') ?? []).length;
    await jest.advanceTimersByTimeAsync(300_000);
    // The failures so far put the next retry at the queue's cap (~1000 s).
    expect((runs.get('k') ?? []).length).toBe(runsBefore + 1);
    await jest.advanceTimersByTimeAsync(1_100_000);
    expect(Math.max(...gaps(runs.get('k') ?? []))).toBeGreaterThan(100_000);
    await queue.shutDown();
  });
});
