import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { ApiError, METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, RESOURCES } from '../../src/kube/client.js';
import { createInformer, keyOf, type Change, type Informer, type InformerEvent, type InformerOptions } from '../../src/runtime/informer.js';
import { silentLogger } from '../../src/runtime/log.js';
import { FakeKube, podMeta, type ListPage } from '../fixtures/fake-kube.js';

type Pod = ReturnType<typeof podMeta> & { metadata: { managedFields?: unknown; labels?: Record<string, string> } };

/** Lets the informer's promise chains run without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

const page = (resourceVersion: string, items: unknown[], more?: string): ListPage => ({ resourceVersion, items, ...(more ? { continue: more } : {}) });
const apiError = (status: number, reason?: string) => new ApiError(status, reason, `injected ${status}`, 'GET /api/v1/pods');

interface Harness {
  fake: FakeKube;
  informer: Informer<Pod>;
  changes: Change<Pod>[];
  events: InformerEvent[];
  completed: () => boolean;
  /** `type name` of each change, e.g. `upsert a`. */
  summary: () => string[];
}

const harnesses: Harness[] = [];

function harness(options: Partial<InformerOptions<Pod>> = {}): Harness {
  const fake = new FakeKube();
  const changes: Change<Pod>[] = [];
  const events: InformerEvent[] = [];
  let done = false;
  const informer = createInformer<Pod>({
    client: fake,
    resource: RESOURCES.pods,
    log: silentLogger(),
    backoff: { initialMs: 100, maxMs: 1_000 },
    onEvent: (event) => events.push(event),
    ...options,
  });
  informer.changes.subscribe({ next: (change) => changes.push(change), complete: () => (done = true) });
  const h: Harness = {
    fake,
    informer,
    changes,
    events,
    completed: () => done,
    summary: () => changes.map((c) => `${c.type} ${c.object.metadata.name}`),
  };
  harnesses.push(h);
  return h;
}

/** A started informer that has listed `items` at `resourceVersion` and opened its watch. */
async function synced(items: unknown[], resourceVersion = '10', options: Partial<InformerOptions<Pod>> = {}): Promise<Harness> {
  const h = harness(options);
  h.fake.replyToLists(page(resourceVersion, items));
  h.informer.start();
  await settle();
  expect(h.informer.synced).toBe(true);
  expect(h.informer.state).toBe('watching');
  h.changes.length = 0;
  h.events.length = 0;
  return h;
}

const names = (informer: Informer<Pod>) =>
  informer
    .list()
    .map((p) => p.metadata.name)
    .sort();

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-02T03:04:05Z') });
});

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.informer.stop();
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('listing', () => {
  test('lists every page before it reports synced, then watches from the list’s resourceVersion', async () => {
    const h = harness({ pageSize: 2 });
    let resolved = false;
    void h.informer.waitForSync().then(() => (resolved = true));
    h.fake.replyToLists(page('10', [podMeta('a', '5'), podMeta('b', '6')], 'token-1'));
    h.informer.start();
    await settle();

    expect(h.fake.lists.map((l) => l.request.query)).toEqual([
      expect.objectContaining({ limit: 2, continue: undefined }),
      expect.objectContaining({ limit: 2, continue: 'token-1' }),
    ]);
    expect(h.informer.state).toBe('listing');
    expect(h.informer.synced).toBe(false);
    expect(resolved).toBe(false);
    expect(h.informer.list()).toEqual([]);
    expect(h.changes).toEqual([]);
    expect(h.fake.watches).toHaveLength(0);

    h.fake.replyToLists(page('10', [podMeta('c', '7', { namespace: 'other' })]));
    await settle();

    expect(h.informer.synced).toBe(true);
    expect(resolved).toBe(true);
    expect(names(h.informer)).toEqual(['a', 'b', 'c']);
    expect(h.informer.get('other/c')?.metadata.resourceVersion).toBe('7');
    expect(h.summary()).toEqual(['upsert a', 'upsert b', 'upsert c']);
    expect(h.events).toEqual([{ type: 'relist', reason: 'start' }]);
    expect(h.fake.watches).toHaveLength(1);
    expect(h.fake.lastWatch.query).toEqual(expect.objectContaining({ watch: true, resourceVersion: '10', allowWatchBookmarks: true }));
    expect(h.fake.lastWatch.query).not.toHaveProperty('limit');
  });

  test('restarts a list whose continue token expired from the first page, at once', async () => {
    const h = harness({ pageSize: 1 });
    h.fake.replyToLists(page('10', [podMeta('a', '5')], 'token-1'), apiError(410, 'Expired'), page('12', [podMeta('a', '5')], 'token-2'), page('12', [podMeta('b', '11')]));
    h.informer.start();
    await settle();

    expect(h.fake.lists.map((l) => l.request.query?.continue)).toEqual([undefined, 'token-1', undefined, 'token-2']);
    expect(h.events).toEqual([
      { type: 'relist', reason: 'start' },
      { type: 'relist', reason: 'expired' },
    ]);
    expect(names(h.informer)).toEqual(['a', 'b']);
    expect(h.summary()).toEqual(['upsert a', 'upsert b']);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('12');
  });

  test('backs off a failed first list and retries it until the list succeeds', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = harness();
    h.fake.replyToLists(apiError(503));
    h.informer.start();
    await settle();

    expect(h.informer.state).toBe('backoff');
    expect(h.informer.synced).toBe(false);
    expect(h.events).toEqual([{ type: 'relist', reason: 'start' }, expect.objectContaining({ type: 'error', during: 'list' })]);

    h.fake.replyToLists(page('10', [podMeta('a', '5')]));
    await advance(74);
    expect(h.fake.lists).toHaveLength(1);
    await advance(1);
    expect(h.fake.lists).toHaveLength(2);
    expect(h.events.at(-1)).toEqual({ type: 'relist', reason: 'error' });
    expect(h.informer.synced).toBe(true);
  });

  test('fills in apiVersion and kind on list items from the list’s own kind', async () => {
    const h = harness({ metadataOnly: true });
    h.fake.replyToLists({
      resourceVersion: '10',
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadataList',
      items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '5' } }],
    });
    h.informer.start();
    await settle();

    expect(h.informer.get('ns/a')).toEqual({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 'a', namespace: 'ns', resourceVersion: '5' } });
  });
});

describe('requests', () => {
  test('metadataOnly lists with the PartialObjectMetadataList Accept header and watches with the PartialObjectMetadata one', async () => {
    const h = await synced([podMeta('a', '5')], '10', { metadataOnly: true });
    expect(h.fake.lists[0]?.request.accept).toBe(METADATA_LIST_ACCEPT);
    expect(h.fake.lastWatch.request.accept).toBe(METADATA_WATCH_ACCEPT);
  });

  test('without metadataOnly it asks for plain JSON on both', async () => {
    const h = await synced([podMeta('a', '5')]);
    expect(h.fake.lists[0]?.request.accept).toBe('application/json');
    expect(h.fake.lastWatch.request.accept).toBe('application/json');
  });

  test('sends the namespace, label selector and field selector on the list and on the watch', async () => {
    const h = await synced([], '10', { namespace: 'team-a', labelSelector: 'app=web', fieldSelector: 'status.phase=Running' });
    for (const request of [h.fake.lists[0]?.request, h.fake.lastWatch.request]) {
      expect(request?.path).toBe('/api/v1/namespaces/team-a/pods');
      expect(request?.query).toEqual(expect.objectContaining({ labelSelector: 'app=web', fieldSelector: 'status.phase=Running' }));
    }
  });

  test('asks the server for a watch timeout between 1 and 1.5 times watchTimeoutSeconds', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    const high = await synced([], '10', { watchTimeoutSeconds: 100 });
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const low = await synced([], '10', { watchTimeoutSeconds: 100 });
    expect(high.fake.lastWatch.query.timeoutSeconds).toBe(150);
    expect(low.fake.lastWatch.query.timeoutSeconds).toBe(100);
  });
});

describe('watching', () => {
  test('applies watch events in order: upserts carry the previous version, deletes the last state', async () => {
    const h = await synced([podMeta('a', '5'), podMeta('b', '6')]);
    const before = h.informer.get('ns/a');
    h.fake.lastWatch
      .send('ADDED', podMeta('c', '11'))
      .send('MODIFIED', podMeta('a', '12', { labels: { tier: 'web' } }))
      .send('DELETED', podMeta('b', '13', { labels: { last: 'state' } }))
      .send('DELETED', podMeta('never-seen', '14'));
    await settle();

    expect(h.summary()).toEqual(['upsert c', 'upsert a', 'delete b']);
    expect(h.changes[0]).toEqual({ type: 'upsert', object: podMeta('c', '11') });
    expect(h.changes[1]).toEqual({ type: 'upsert', object: podMeta('a', '12', { labels: { tier: 'web' } }), old: before });
    expect(h.changes[2]?.object.metadata.labels).toEqual({ last: 'state' });
    expect(names(h.informer)).toEqual(['a', 'c']);
    expect(h.informer.get('ns/a')?.metadata.labels).toEqual({ tier: 'web' });
  });

  test('ignores an event that repeats the cached resourceVersion', async () => {
    const h = await synced([podMeta('a', '5')]);
    h.fake.lastWatch.send('MODIFIED', podMeta('a', '5'));
    await settle();
    expect(h.changes).toEqual([]);
  });

  test('stores and emits deep-frozen objects, without managedFields by default', async () => {
    const h = await synced([podMeta('a', '5', { extra: { spec: { containers: [{ name: 'c' }] } } })]);
    h.fake.lastWatch.send('MODIFIED', { ...podMeta('a', '6'), metadata: { ...podMeta('a', '6').metadata, managedFields: [{ manager: 'kubectl' }] } });
    await settle();

    const listed = h.changes[0]?.type === 'upsert' ? h.changes[0].old : undefined;
    const stored = h.informer.get('ns/a');
    expect(stored?.metadata).not.toHaveProperty('managedFields');
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored?.metadata)).toBe(true);
    expect(Object.isFrozen(h.changes[0])).toBe(true);
    expect(Object.isFrozen((listed as { spec: { containers: object[] } } | undefined)?.spec.containers[0])).toBe(true);
    expect(() => {
      (stored as { metadata: { name: string } }).metadata.name = 'changed';
    }).toThrow(TypeError);
  });

  test('applies a custom transform to listed and watched objects, still keyed by the object as received', async () => {
    const h = await synced([podMeta('a', '5', { labels: { x: '1' } })], '10', {
      transform: (raw) => ({ metadata: { name: (raw as Pod).metadata.name.toUpperCase(), labels: (raw as Pod).metadata.labels } }) as unknown as Pod,
    });
    h.fake.lastWatch.send('MODIFIED', podMeta('a', '6', { labels: { x: '2' } }));
    await settle();

    expect(h.informer.get('ns/a')).toEqual({ metadata: { name: 'A', labels: { x: '2' } } });
    expect(h.changes).toEqual([{ type: 'upsert', object: { metadata: { name: 'A', labels: { x: '2' } } }, old: { metadata: { name: 'A', labels: { x: '1' } } } }]);
  });

  test('moves the resourceVersion on bookmarks without emitting changes', async () => {
    const h = await synced([podMeta('a', '5')]);
    h.fake.lastWatch.bookmark('50');
    await settle();
    h.fake.lastWatch.end();
    await settle();

    expect(h.changes).toEqual([]);
    expect(h.fake.watches).toHaveLength(2);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('50');
    expect(h.events).toEqual([{ type: 'watch-restart', reason: 'closed' }]);
  });

  test('re-watches at once from the last resourceVersion when the server closes a stream that delivered events', async () => {
    const h = await synced([podMeta('a', '5')]);
    h.fake.lastWatch.send('ADDED', podMeta('b', '11')).end();
    await settle();

    expect(h.fake.watches).toHaveLength(2);
    expect(h.fake.watches[0]?.finished).toBe(true);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('11');
    expect(h.fake.lists).toHaveLength(1);
  });

  test('re-watches at once when a quiet stream ends at its server timeout', async () => {
    const h = await synced([]);
    await advance(5_000);
    h.fake.lastWatch.end();
    await settle();
    expect(h.fake.watches).toHaveLength(2);
    expect(h.fake.lastWatch.at).toBe(h.fake.watches[0]!.at + 5_000);
  });

  test('backs off when a stream closes at once without any event', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = await synced([]);
    h.fake.lastWatch.end();
    await settle();
    expect(h.informer.state).toBe('backoff');
    expect(h.fake.watches).toHaveLength(1);
    await advance(75);
    expect(h.fake.watches).toHaveLength(2);
  });
});

describe('410 Gone', () => {
  test('relists at once after a 410 during the watch and emits deletes for objects that vanished', async () => {
    const h = await synced([podMeta('a', '5'), podMeta('b', '6'), podMeta('c', '7')]);
    const c = h.informer.get('ns/c');
    h.fake.lastWatch.send('MODIFIED', podMeta('a', '8')).error(410, 'Expired');
    h.fake.replyToLists(page('40', [podMeta('a', '30'), podMeta('c', '7'), podMeta('d', '31')]));
    await settle();

    expect(h.fake.lists).toHaveLength(2);
    expect(h.fake.lists[1]?.request.query).toEqual(expect.objectContaining({ continue: undefined }));
    expect(h.fake.lists[1]?.request.query).not.toHaveProperty('resourceVersion');
    expect(h.events).toEqual([{ type: 'relist', reason: 'expired' }]);
    expect(h.summary()).toEqual(['upsert a', 'upsert a', 'upsert d', 'delete b']);
    expect(h.changes[1]).toEqual({ type: 'upsert', object: podMeta('a', '30'), old: podMeta('a', '8') });
    expect(h.changes[3]).toEqual({ type: 'delete', object: podMeta('b', '6') });
    expect(names(h.informer)).toEqual(['a', 'c', 'd']);
    expect(h.informer.get('ns/c')).toBe(c);
    expect(h.fake.watches[0]?.finished).toBe(true);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('40');
  });

  test('relists when the watch request itself is refused with 410 Gone', async () => {
    const h = await synced([podMeta('a', '5')]);
    h.fake.lastWatch.fail(new ApiError(410, 'Expired', 'too old resource version', 'WATCH /api/v1/pods'));
    h.fake.replyToLists(page('40', []));
    await settle();

    expect(h.events).toEqual([{ type: 'relist', reason: 'expired' }]);
    expect(h.summary()).toEqual(['delete a']);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('40');
  });

  test('backs off before relisting when the watch after a relist expires again before any event', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = await synced([]);
    h.fake.lastWatch.error(410);
    h.fake.replyToLists(page('20', []));
    await settle();
    expect(h.fake.lists).toHaveLength(2);

    h.fake.lastWatch.error(410);
    h.fake.replyToLists(page('30', []));
    await settle();
    expect(h.informer.state).toBe('backoff');
    expect(h.fake.lists).toHaveLength(2);
    await advance(75);
    expect(h.fake.lists).toHaveLength(3);
  });
});

describe('errors and backoff', () => {
  test('restarts with growing jittered backoff after errors and resets it after a healthy watch', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = await synced([podMeta('a', '5')]);
    const delays: number[] = [];
    const failAndMeasure = async () => {
      const failedAt = Date.now();
      const before = h.fake.watches.length;
      h.fake.lastWatch.fail(new ApiError(0, undefined, 'connection reset', 'WATCH /api/v1/pods'));
      await settle();
      expect(h.informer.state).toBe('backoff');
      await advance(1_000);
      expect(h.fake.watches).toHaveLength(before + 1);
      delays.push(h.fake.lastWatch.at - failedAt);
    };

    for (let i = 0; i < 5; i++) await failAndMeasure();
    expect(delays).toEqual([75, 150, 300, 600, 750]);

    h.fake.lastWatch.bookmark('60');
    await settle();
    await failAndMeasure();
    expect(delays.at(-1)).toBe(75);

    expect(h.fake.lists).toHaveLength(1);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('60');
    expect(h.events.filter((e) => e.type === 'watch-restart')).toHaveLength(6);
    expect(h.events.filter((e) => e.type === 'error').every((e) => e.type === 'error' && e.during === 'watch' && e.error.status === 0)).toBe(true);
  });

  test.each([
    { random: 0, delay: 50 },
    { random: 0.5, delay: 75 },
    { random: 0.999, delay: 100 },
  ])('spreads the first backoff between half and all of initialMs: $delay ms when Math.random gives $random', async ({ random, delay }) => {
    jest.spyOn(Math, 'random').mockReturnValue(random);
    const h = await synced([]);
    const failedAt = Date.now();
    h.fake.lastWatch.fail(new ApiError(503, undefined, 'unavailable', 'WATCH /api/v1/pods'));
    await advance(delay - 1);
    expect(h.fake.watches).toHaveLength(1);
    await advance(1);
    expect(h.fake.watches).toHaveLength(2);
    expect(h.fake.lastWatch.at - failedAt).toBe(delay);
  });

  test('treats an ERROR event other than 410 as an error: re-watches from the last resourceVersion after backoff, without relisting', async () => {
    const h = await synced([podMeta('a', '5')]);
    h.fake.lastWatch.send('ADDED', podMeta('b', '11')).error(500, 'InternalError');
    await settle();
    expect(h.informer.state).toBe('backoff');
    await advance(100);

    expect(h.fake.lists).toHaveLength(1);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('11');
    expect(h.events).toEqual([
      { type: 'error', during: 'watch', error: expect.objectContaining({ status: 500, reason: 'InternalError' }) },
      { type: 'watch-restart', reason: 'error' },
    ]);
  });

  test('a failed relist keeps the store as it was, and the next relist converges', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = await synced([podMeta('a', '5'), podMeta('b', '6')]);
    const a = h.informer.get('ns/a');
    h.fake.lastWatch.error(410);
    h.fake.replyToLists(page('20', [podMeta('a', '5')], 'more'), apiError(500));
    await settle();

    expect(h.informer.state).toBe('backoff');
    expect(h.informer.synced).toBe(true);
    expect(names(h.informer)).toEqual(['a', 'b']);
    expect(h.informer.get('ns/a')).toBe(a);
    expect(h.changes).toEqual([]);

    h.fake.replyToLists(page('30', [podMeta('a', '5')]));
    await advance(75);
    expect(h.events.map((e) => (e.type === 'error' ? `error ${e.during}` : `${e.type} ${e.reason}`))).toEqual(['relist expired', 'error list', 'relist error']);
    expect(h.summary()).toEqual(['delete b']);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('30');
  });
});

describe('watchdog', () => {
  test('restarts a silent watch after idleTimeoutMs, counting from its last event, and resumes from the last resourceVersion', async () => {
    const h = await synced([podMeta('a', '5')], '10', { idleTimeoutMs: 10_000 });
    const first = h.fake.lastWatch;
    await advance(5_000);
    first.bookmark('42');
    await settle();
    await advance(9_999);
    expect(h.fake.watches).toHaveLength(1);
    expect(first.aborted).toBe(false);

    await advance(1);
    expect(first.aborted).toBe(true);
    expect(first.finished).toBe(true);
    expect(h.fake.watches).toHaveLength(2);
    expect(h.fake.lastWatch.query.resourceVersion).toBe('42');
    expect(h.events).toEqual([{ type: 'watch-restart', reason: 'idle' }]);
    expect(h.fake.lists).toHaveLength(1);
  });

  test('also restarts a watch whose server never answers', async () => {
    const h = await synced([], '10', { idleTimeoutMs: 10_000 });
    await advance(30_000);
    expect(h.fake.watches).toHaveLength(4);
    expect(h.fake.watches.slice(0, 3).every((w) => w.aborted)).toBe(true);
  });
});

describe('resync', () => {
  test('emits resync for every cached object each period, and nothing before the first list', async () => {
    const h = harness({ resyncPeriodMs: 1_000 });
    h.informer.start();
    await advance(1_000);
    expect(h.changes).toEqual([]);

    h.fake.replyToLists(page('10', [podMeta('a', '5'), podMeta('b', '6')]));
    await settle();
    h.changes.length = 0;
    await advance(1_000);
    expect(h.summary()).toEqual(['resync a', 'resync b']);
    expect(h.changes[0]?.object).toBe(h.informer.get('ns/a'));
    await advance(1_000);
    expect(h.changes).toHaveLength(4);
  });

  test('emits no resync when resyncPeriodMs is 0', async () => {
    const h = await synced([podMeta('a', '5')], '10', { resyncPeriodMs: 0 });
    await advance(3_600_000);
    expect(h.changes.filter((c) => c.type === 'resync')).toEqual([]);
  });
});

describe('stop', () => {
  const phases: { phase: string; reach: (h: Harness) => Promise<void> }[] = [
    {
      phase: 'listing',
      reach: async (h) => {
        h.informer.start();
        await settle();
      },
    },
    {
      phase: 'watching',
      reach: async (h) => {
        h.fake.replyToLists(page('10', [podMeta('a', '5')]));
        h.informer.start();
        await settle();
      },
    },
    {
      phase: 'backoff',
      reach: async (h) => {
        h.fake.replyToLists(page('10', [podMeta('a', '5')]));
        h.informer.start();
        await settle();
        h.fake.lastWatch.fail(new ApiError(503, undefined, 'unavailable', 'WATCH /api/v1/pods'));
        await settle();
      },
    },
  ];

  test.each(phases)('stays down when stopped while $phase: requests aborted, timers cleared, nothing requested again', async ({ phase, reach }) => {
    const h = harness({ resyncPeriodMs: 1_000, idleTimeoutMs: 5_000 });
    await reach(h);
    expect(h.informer.state).toBe(phase);

    await h.informer.stop();

    expect(h.informer.state).toBe('stopped');
    expect(h.completed()).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.fake.lists.every((l) => l.request.signal?.aborted)).toBe(true);
    expect(h.fake.watches.every((w) => w.aborted && w.finished)).toBe(true);
    const requests = h.fake.requestCount;
    h.fake.replyToLists(page('99', []));
    await advance(3_600_000);
    expect(h.fake.requestCount).toBe(requests);

    h.informer.start();
    await settle();
    expect(h.fake.requestCount).toBe(requests);
    expect(h.informer.state).toBe('stopped');
  });

  test('start() twice lists once', async () => {
    const h = harness();
    h.informer.start();
    h.informer.start();
    await settle();
    expect(h.fake.lists).toHaveLength(1);
  });

  test('keeps the cache readable after stop()', async () => {
    const h = await synced([podMeta('a', '5')]);
    await h.informer.stop();
    expect(names(h.informer)).toEqual(['a']);
  });
});

describe('waitForSync', () => {
  test('resolves once the first list is stored', async () => {
    const h = harness();
    h.informer.start();
    let resolved = false;
    void h.informer.waitForSync().then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    h.fake.replyToLists(page('10', []));
    await settle();
    expect(resolved).toBe(true);
    await expect(h.informer.waitForSync()).resolves.toBeUndefined();
  });

  test('resolves without syncing when its signal aborts or the informer stops', async () => {
    const h = harness();
    h.informer.start();
    const controller = new AbortController();
    let byAbort = false;
    let byStop = false;
    void h.informer.waitForSync(controller.signal).then(() => (byAbort = true));
    void h.informer.waitForSync().then(() => (byStop = true));
    await settle();
    controller.abort();
    await settle();
    expect([byAbort, byStop]).toEqual([true, false]);
    await h.informer.stop();
    await settle();
    expect(byStop).toBe(true);
    expect(h.informer.synced).toBe(false);
  });
});

test('keyOf is namespace/name for namespaced objects and name for cluster-scoped ones', () => {
  expect(keyOf({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
  expect(keyOf({ metadata: { name: 'tenant-a' } })).toBe('tenant-a');
});

describe('indexes', () => {
  const byLabel = { indexers: { app: (p: Pod) => (p.metadata.labels?.app ? [p.metadata.labels.app] : []) } };
  const appsOf = (h: Harness, app: string) => [...h.informer.byIndex('app', app).keys()].sort();

  test('files objects under their index values, moves them with watch events, and agrees with the store at every emitted change', async () => {
    const h = await synced([podMeta('a', '5', { labels: { app: 'web' } }), podMeta('b', '6', { labels: { app: 'web' } }), podMeta('c', '7')], '10', byLabel);
    const seen: string[][] = [];
    h.informer.changes.subscribe(() => seen.push(appsOf(h, 'web')));
    expect(appsOf(h, 'web')).toEqual(['ns/a', 'ns/b']);
    h.fake.lastWatch
      .send('MODIFIED', podMeta('a', '8', { labels: { app: 'db' } }))
      .send('ADDED', podMeta('d', '9', { labels: { app: 'web' } }))
      .send('DELETED', podMeta('b', '10', { labels: { app: 'web' } }));
    await settle();
    expect(seen).toEqual([['ns/b'], ['ns/b', 'ns/d'], ['ns/d']]);
    expect(appsOf(h, 'db')).toEqual(['ns/a']);
    expect(h.informer.byIndex('app', 'db').get('ns/a')).toBe(h.informer.get('ns/a'));
    expect(h.informer.byIndex('app', 'none').size).toBe(0);
    expect(() => h.informer.byIndex('nope', 'x')).toThrow(/no index "nope"/);
  });

  test('a relist rebuilds the index from the complete list', async () => {
    const h = await synced([podMeta('a', '5', { labels: { app: 'web' } }), podMeta('b', '6', { labels: { app: 'web' } })], '10', byLabel);
    h.fake.lastWatch.error(410, 'Expired');
    h.fake.replyToLists(page('40', [podMeta('b', '30', { labels: { app: 'db' } }), podMeta('c', '31', { labels: { app: 'web' } })]));
    await settle();
    expect(appsOf(h, 'web')).toEqual(['ns/c']);
    expect(appsOf(h, 'db')).toEqual(['ns/b']);
  });
});
