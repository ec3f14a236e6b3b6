/**
 * Cancellation end to end, without an API server: `withSignal` and the real client's
 * `RequestAborted`, the EventRecorder's `discard`, and `Operator.lead` on a lost lease (every
 * request in flight aborted, none sent after, no reconcile failure logged) and on SIGTERM (in
 * flight work cancelled once the shutdown timeout has passed).
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Agent } from 'undici';
import { Operator } from '../../src/controller/operator.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { isAborted, kubeClient, RequestAborted, withSignal, type KubeClient, type KubeRequest, type WatchEvent, type WatchRequest } from '../../src/kube/client.js';
import { EventRecorder } from '../../src/kube/writers.js';
import { LeadershipEnded } from '../../src/runtime/leader.js';
import { createLogger, silentLogger } from '../../src/runtime/log.js';
import { createMetrics } from '../../src/runtime/metrics.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 4_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Rejects like the real client once `signal` aborts. */
function abortable<T>(req: KubeRequest, settle: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = req.signal;
    if (signal?.aborted) return reject(new RequestAborted(`${req.method} ${req.path}`, signal.reason));
    signal?.addEventListener('abort', () => reject(new RequestAborted(`${req.method} ${req.path}`, signal.reason)), { once: true });
    settle(resolve);
  });
}

interface Write {
  request: KubeRequest;
  /** Set when the write was answered (it reached the "server" and took effect). */
  answered?: number;
  aborted?: number;
}

/**
 * A KubeClient that lists fixed objects, holds watches open until aborted, and answers each
 * write (POST, PUT, PATCH, DELETE) after `holdMs`, as a slow API server: a write whose signal
 * aborts first is never answered, as a request the proxy in the integration test never forwards.
 */
class SlowWrites implements KubeClient {
  readonly writes: Write[] = [];
  constructor(
    private readonly lists: Record<string, unknown[]>,
    private readonly holdMs: number,
  ) {}

  request<T>(req: KubeRequest): Promise<T> {
    if (req.method === 'GET') {
      const plural = Object.keys(this.lists).find((p) => req.path.endsWith(`/${p}`));
      if (!plural) return Promise.reject(new Error(`unexpected GET ${req.path}`));
      return Promise.resolve({ kind: 'List', metadata: { resourceVersion: '1' }, items: this.lists[plural] } as T);
    }
    const write: Write = { request: req };
    this.writes.push(write);
    const done = abortable<T>(req, (resolve) => {
      const timer = setTimeout(() => {
        write.answered = Date.now();
        const body = (req.body ?? {}) as { metadata?: Record<string, unknown> };
        resolve({ ...body, metadata: { ...body.metadata, uid: `uid-${this.writes.length}`, resourceVersion: String(this.writes.length + 1) } } as T);
      }, this.holdMs);
      req.signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
    });
    done.catch(() => (write.aborted = Date.now()));
    return done;
  }

  // eslint-disable-next-line require-yield -- a watch that delivers nothing and ends when it is aborted
  async *watch<T>(req: WatchRequest): AsyncIterable<WatchEvent<T>> {
    await new Promise<void>((resolve) => {
      if (req.signal?.aborted) resolve();
      req.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** One tenant whose three member namespaces each need their policies written. */
function world(): Record<string, unknown[]> {
  const meta = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, uid: `uid-${name}`, resourceVersion: '1', ...extra } });
  return {
    tenantisolations: [{ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', ...meta('blue', { generation: 1 }), spec: {} }],
    namespaces: ['blue-a', 'blue-b', 'blue-c'].map((name) => meta(name, { labels: { 'netfence.dev/tenant': 'blue' } })),
    pods: [],
    networkpolicies: [],
  };
}

function logLines() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

const running: Operator[] = [];
afterEach(async () => {
  for (const operator of running.splice(0)) await operator.stop();
});

function operatorOn(client: KubeClient, log = silentLogger()): Operator {
  const operator = new Operator({ client, settings: defaultSettings(), log, metrics: createMetrics(), identity: 'test', concurrency: 4 });
  running.push(operator);
  operator.start();
  return operator;
}

describe('withSignal', () => {
  test('merges the signal into every request; once it aborted, requests fail as aborted without reaching the client', async () => {
    const seen: KubeRequest[] = [];
    const inner: KubeClient = {
      request: <T>(req: KubeRequest) => {
        seen.push(req);
        return abortable<T>(req, () => undefined);
      },
      watch: () => (async function* () {})(),
    };
    const controller = new AbortController();
    const bound = withSignal(inner, controller.signal);
    const own = new AbortController();
    const first = bound.request({ method: 'PUT', path: '/a', signal: own.signal });
    const second = bound.request({ method: 'PUT', path: '/b' });
    controller.abort(new Error('lease lost'));
    await expect(first).rejects.toBeInstanceOf(RequestAborted);
    await expect(second).rejects.toThrow('lease lost');
    await expect(bound.request({ method: 'POST', path: '/c' })).rejects.toBeInstanceOf(RequestAborted);
    expect(seen.map((r) => r.path)).toEqual(['/a', '/b']);
    expect(own.signal.aborted).toBe(false);
  });
});

describe('kubeClient and a caller signal', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  test('a request aborted in flight fails as RequestAborted and closes its connection; one aborted before is never sent', async () => {
    const arrived: string[] = [];
    const closed: string[] = [];
    server = createServer((req: IncomingMessage) => {
      arrived.push(req.url ?? '');
      // Never answered: the request ends only when the client gives it up.
      req.socket.on('close', () => closed.push(req.url ?? ''));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = kubeClient({ server: `http://127.0.0.1:${port}`, headers: async () => ({}), dispatcher: new Agent(), source: 'test' });

    const controller = new AbortController();
    const pending = client.request({ method: 'PATCH', path: '/held', signal: controller.signal });
    await until('the request arrived', () => arrived.length === 1);
    controller.abort(new Error('lease lost'));
    const error = await pending.catch((e: unknown) => e);
    expect(isAborted(error)).toBe(true);
    expect((error as Error).message).toContain('lease lost');
    await until('the connection was closed', () => closed.includes('/held'));

    await expect(client.request({ method: 'POST', path: '/never', signal: controller.signal })).rejects.toBeInstanceOf(RequestAborted);
    await sleep(50);
    expect(arrived).toEqual(['/held']);
  });
});

describe('EventRecorder.discard', () => {
  test('drops pending Events, aborts the writes in flight and ignores Events until resume()', async () => {
    const posted: KubeRequest[] = [];
    const client: KubeClient = {
      request: <T>(req: KubeRequest) => {
        posted.push(req);
        return abortable<T>(req, () => undefined);
      },
      watch: () => (async function* () {})(),
    };
    const recorder = new EventRecorder({ client, log: silentLogger(), instance: 'test', flushIntervalMs: 60_000 });
    const blue = [{ name: 'blue', uid: 'u1' }];
    recorder.event(blue, 'Normal', 'PolicyCreated', 'first');
    const flushed = recorder.flush();
    expect(posted).toHaveLength(1);
    recorder.event(blue, 'Normal', 'PolicyUpdated', 'pending');

    await recorder.discard(new Error('lease lost'));
    await flushed;
    expect(posted[0]?.signal?.aborted).toBe(true);
    recorder.event(blue, 'Warning', 'ApplyFailed', 'after the loss');
    await recorder.flush();
    await recorder.close();
    expect(posted).toHaveLength(1);

    recorder.resume();
    recorder.event(blue, 'Normal', 'PolicyCreated', 'next term');
    void recorder.flush();
    expect(posted).toHaveLength(2);
    expect(posted[1]?.signal?.aborted).toBe(false);
    await recorder.discard();
  });

  test('flush(signal) gives up the writes of its batch when the signal aborts', async () => {
    const posted: KubeRequest[] = [];
    const client: KubeClient = {
      request: <T>(req: KubeRequest) => {
        posted.push(req);
        return abortable<T>(req, () => undefined);
      },
      watch: () => (async function* () {})(),
    };
    const recorder = new EventRecorder({ client, log: silentLogger(), instance: 'test' });
    recorder.event([{ name: 'blue', uid: 'u1' }], 'Normal', 'PolicyCreated', 'slow');
    const bound = new AbortController();
    const flushed = recorder.flush(bound.signal);
    bound.abort();
    await flushed;
    expect(posted[0]?.signal?.aborted).toBe(true);
  });
});

describe('Operator.lead', () => {
  test('a lost lease aborts the writes in flight at once: none is answered after, no other is sent, no reconcile failure is logged', async () => {
    const api = new SlowWrites(world(), 300);
    const { lines, log } = logLines();
    const operator = operatorOn(api, log);
    const stop = new AbortController();
    const lost = new AbortController();
    const leading = operator.lead(stop.signal, { lost: lost.signal, shutdownTimeoutMs: 60_000 });
    await until('writes are in flight', () => api.writes.length >= 2);

    const lostAt = Date.now();
    const before = api.writes.length;
    lost.abort(new LeadershipEnded('lost'));
    stop.abort(new LeadershipEnded('lost'));
    await leading;
    // Long enough for every held write to have been answered, had it not been aborted.
    await sleep(600);

    expect(api.writes.length).toBe(before);
    expect(api.writes.filter((w) => w.answered !== undefined && w.answered >= lostAt)).toEqual([]);
    expect(api.writes.every((w) => w.answered !== undefined || w.aborted !== undefined)).toBe(true);
    expect(lines.filter((l) => l.includes('reconcile failed'))).toEqual([]);
    expect(lines.some((l) => l.includes('lease lost'))).toBe(true);
  });

  test('a loss during a SIGTERM drain cancels what the drain still waits for', async () => {
    const api = new SlowWrites(world(), 60_000);
    const operator = operatorOn(api);
    const stop = new AbortController();
    const lost = new AbortController();
    const leading = operator.lead(stop.signal, { lost: lost.signal, shutdownTimeoutMs: 60_000 });
    await until('writes are in flight', () => api.writes.length >= 1);
    stop.abort(new LeadershipEnded('released'));
    await sleep(50);
    expect(api.writes.some((w) => w.aborted !== undefined)).toBe(false);

    lost.abort(new LeadershipEnded('lost'));
    await leading;
    expect(api.writes.every((w) => w.aborted !== undefined)).toBe(true);
  });

  test('SIGTERM lets in-flight writes run up to the shutdown timeout, then cancels them, and sends nothing new', async () => {
    const api = new SlowWrites(world(), 60_000);
    const operator = operatorOn(api);
    const stop = new AbortController();
    const leading = operator.lead(stop.signal, { shutdownTimeoutMs: 200 });
    await until('writes are in flight', () => api.writes.length >= 1);
    const before = api.writes.length;
    stop.abort();
    await sleep(50);
    expect(api.writes.some((w) => w.aborted !== undefined)).toBe(false);

    await leading;
    expect(api.writes.length).toBe(before);
    expect(api.writes.every((w) => w.aborted !== undefined)).toBe(true);
    expect(String(api.writes[0]?.request.signal?.reason)).toContain('shutdown timeout');
  });
});
