/**
 * The informer against a real kube-apiserver: metadata-only Pods, changes as they happen, a
 * real 410 Gone for a compacted resourceVersion, and a clean stop. Each test works on pods in
 * a namespace of its own; nothing schedules them, which does not matter to a cache.
 */
import { kubeClient, RESOURCES, resourcePath, type KubeClient, type Query, type WatchEvent, type WatchRequest } from '../../src/kube/client.js';
import { createInformer, type Change, type Informer, type InformerEvent, type InformerOptions } from '../../src/runtime/informer.js';
import { silentLogger } from '../../src/runtime/log.js';
import { cluster, describeWithControlPlane, eventually, uniqueName } from './support/cluster.js';

interface PodMeta {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion: string; labels?: Record<string, string> };
}

/** The real client, counting requests and open watch streams; `staleNext` makes the next watch ask for resourceVersion 1. */
function instrumented(real: KubeClient) {
  const seen = { requests: 0, openWatches: 0, watchVersions: [] as (string | undefined)[], staleNext: false };
  const client: KubeClient = {
    request(request) {
      seen.requests += 1;
      return real.request(request);
    },
    watch<T>(request: WatchRequest): AsyncIterable<WatchEvent<T>> {
      seen.requests += 1;
      let query: Query = request.query ?? {};
      if (seen.staleNext) {
        seen.staleNext = false;
        // The harness compacted etcd past revision 1, so the server answers 410 Gone.
        query = { ...query, resourceVersion: '1' };
      }
      seen.watchVersions.push(query.resourceVersion === undefined ? undefined : String(query.resourceVersion));
      const stream = real.watch<T>({ ...request, query });
      return (async function* () {
        seen.openWatches += 1;
        try {
          yield* stream;
        } finally {
          seen.openWatches -= 1;
        }
      })();
    },
  };
  return { client, seen };
}

describeWithControlPlane('the informer against a real API server', () => {
  let admin: KubeClient;
  let namespace: string;
  const informers: Informer<PodMeta>[] = [];

  const podsPath = () => resourcePath(RESOURCES.pods, { namespace });
  const createPod = (name: string, labels?: Record<string, string>) =>
    admin.request({
      method: 'POST',
      path: podsPath(),
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'registry.invalid/none:1' }] } },
    });
  const labelPod = (name: string, labels: Record<string, string>) =>
    admin.request({
      method: 'PATCH',
      path: resourcePath(RESOURCES.pods, { namespace, name }),
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels } },
    });
  const deletePod = (name: string) => admin.request({ method: 'DELETE', path: resourcePath(RESOURCES.pods, { namespace, name }), query: { gracePeriodSeconds: 0 } });
  const serverPodNames = async () => {
    const list = await admin.request<{ items: PodMeta[] }>({ method: 'GET', path: podsPath() });
    return list.items.map((p) => p.metadata.name).sort();
  };

  function podInformer(client: KubeClient, options: Partial<InformerOptions<PodMeta>> = {}): Informer<PodMeta> {
    const informer = createInformer<PodMeta>({ client, resource: RESOURCES.pods, namespace, metadataOnly: true, log: silentLogger(), ...options });
    informers.push(informer);
    return informer;
  }

  const names = (informer: Informer<PodMeta>) =>
    informer
      .list()
      .map((p) => p.metadata.name)
      .sort();

  beforeAll(() => {
    admin = kubeClient(cluster().admin);
  });

  beforeEach(async () => {
    namespace = uniqueName('informer');
    await admin.request({ method: 'POST', path: resourcePath(RESOURCES.namespaces), body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
  });

  afterEach(async () => {
    await Promise.all(informers.splice(0).map((informer) => informer.stop()));
  });

  test('caches pods as PartialObjectMetadata, with no spec, from the list and from the watch', async () => {
    await createPod('listed', { app: 'web' });
    const informer = podInformer(admin);
    informer.start();
    await informer.waitForSync();

    await createPod('watched');
    const watched = await eventually('the new pod is cached', async () => informer.get(`${namespace}/watched`));
    const listed = informer.get(`${namespace}/listed`);

    for (const pod of [listed, watched]) {
      expect(pod).toMatchObject({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { namespace } });
      expect(pod).not.toHaveProperty('spec');
      expect(pod).not.toHaveProperty('status');
      expect(pod?.metadata).not.toHaveProperty('managedFields');
      expect(Object.isFrozen(pod?.metadata)).toBe(true);
    }
    expect(listed?.metadata.labels).toEqual({ app: 'web' });
  });

  test('shows creating, labelling and deleting a pod as changes, in that order', async () => {
    const informer = podInformer(admin);
    const changes: Change<PodMeta>[] = [];
    informer.changes.subscribe((change) => changes.push(change));
    informer.start();
    await informer.waitForSync();
    expect(changes).toEqual([]);

    await createPod('p');
    await eventually('the pod is cached', async () => informer.get(`${namespace}/p`));
    await labelPod('p', { tier: 'web' });
    await eventually('the label is cached', async () => informer.get(`${namespace}/p`)?.metadata.labels?.tier);
    await deletePod('p');
    await eventually('the pod is gone from the cache', async () => (informer.get(`${namespace}/p`) ? undefined : true));

    const upserts = changes.filter((c) => c.type === 'upsert');
    expect(upserts[0]).not.toHaveProperty('old');
    const labelled = upserts.find((c) => c.object.metadata.labels?.tier === 'web');
    expect(labelled?.type === 'upsert' && labelled.old?.metadata.labels?.tier).toBeFalsy();
    expect(changes.at(-1)).toMatchObject({ type: 'delete', object: { metadata: { name: 'p', namespace } } });
    expect(changes.every((c) => c.object.metadata.name === 'p')).toBe(true);
  });

  test('relists after the server answers a watch from a compacted resourceVersion with 410 Gone, and converges', async () => {
    await createPod('a');
    await createPod('b');
    const { client, seen } = instrumented(admin);
    const events: InformerEvent[] = [];
    const informer = podInformer(client, { watchTimeoutSeconds: 1, onEvent: (event) => events.push(event) });
    informer.start();
    await informer.waitForSync();
    expect(names(informer)).toEqual(['a', 'b']);

    seen.staleNext = true;
    await deletePod('a');
    await createPod('c');

    await eventually('the informer relisted because its watch expired', async () => (events.some((e) => e.type === 'relist' && e.reason === 'expired') ? true : undefined));
    expect(seen.watchVersions).toContain('1');
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const expected = await serverPodNames();
    expect(expected).toEqual(['b', 'c']);
    await eventually('the cache matches the server', async () => (names(informer).join() === expected.join() ? true : undefined));
    await eventually('the informer watches again', async () => (informer.state === 'watching' ? true : undefined));
  });

  test('stop() closes the open watch and sends no request afterwards', async () => {
    const { client, seen } = instrumented(admin);
    const informer = podInformer(client, { watchTimeoutSeconds: 1, resyncPeriodMs: 200 });
    let completed = false;
    informer.changes.subscribe({ complete: () => (completed = true) });
    informer.start();
    await informer.waitForSync();
    await eventually('a watch is open', async () => (seen.openWatches > 0 ? true : undefined));

    await informer.stop();
    expect(informer.state).toBe('stopped');
    expect(completed).toBe(true);
    expect(seen.openWatches).toBe(0);
    const requests = seen.requests;
    // Longer than the server's watch timeout (at most 1.5 s) and several resync periods.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(seen.requests).toBe(requests);
  });
});
