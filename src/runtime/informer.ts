/**
 * A supervised list+watch cache of one resource: an explicit state machine
 * (idle → listing → watching ⇄ backoff → stopped) over the thin client in ../kube/client.ts.
 *
 * API:
 * - `createInformer<T>(options: InformerOptions<T>): Informer<T>`
 * - `Informer<T>`: `changes: Observable<Change<T>>`, `start()`, `stop(): Promise<void>`,
 *   `synced`, `waitForSync(signal?)`, `get(key)`, `list()`, `byIndex(index, value)`, `state`.
 * - `Change<T>`: `upsert` (with `old` when the object was cached before), `delete` (the
 *   object's last state), `resync` (periodic, for every cached object).
 * - `InformerEvent`, for metrics: `relist` (reason `start` | `expired` | `error`),
 *   `watch-restart` (reason `closed` | `idle` | `error`), `error` (the `ApiError`, and whether
 *   a list or a watch failed).
 * - `keyOf(object)`: `namespace/name`, or `name` for cluster-scoped objects.
 *
 * Supervision:
 * - The list is paginated (`limit`/`continue`) and replaces the store only once every page has
 *   arrived: upserts for new objects and for objects whose resourceVersion changed, deletes
 *   for objects gone. A 410 on `continue` restarts the list at once.
 * - The watch resumes from the last resourceVersion with bookmarks on; a BOOKMARK moves the
 *   resourceVersion and emits nothing.
 * - 410 Gone (an ERROR event, or the watch request refused) relists at once. Only when a
 *   fresh list's watch expires again before delivering anything does the relist wait out the
 *   backoff.
 * - Any other error, or a stream that closes without delivering anything within a second,
 *   re-watches after a jittered exponential backoff (a random delay between half and all of
 *   `min(maxMs, initialMs·2^(n-1))` after the n-th consecutive failure). Failed lists back off
 *   the same way. The count resets when a watch delivers an event.
 * - A stream that closes normally (the server's `timeoutSeconds`) re-watches at once.
 * - Watchdog: a stream with no event or bookmark for `idleTimeoutMs` is aborted and
 *   re-watched at once (it has already waited that long).
 * - `stop()` is final: the open watch and any list in flight are aborted, every timer is
 *   cleared, `changes` completes, and nothing is ever requested again.
 *
 * Guarantees: the store only changes by a complete list or a watch event, so a failed read
 * loses nothing already cached; stored and emitted objects are deep-frozen; the store is
 * updated before the change that describes it is emitted (subscribers may read `get`/`list`).
 * `synced` turns true at the first complete list and stays true through later relists.
 * Assumes: objects carry `metadata.name` and `metadata.resourceVersion`; keys and versions
 * are read from the object as received, before `transform`, so a transform may drop them.
 * Indexes: `indexers` name functions from an object to its index values (a namespace, an
 *   owner); `byIndex` returns the objects under one value, kept in step with the store (updated
 *   before the change is emitted, rebuilt with every complete list).
 * Leaves out: several namespaces per informer, handing out mutable copies.
 * Caveat: an object `transform` throws on is logged and skipped: a watch event keeps the
 * cached version, a list leaves the object out (and so reports it deleted).
 */
import { type Observable, Subject } from 'rxjs';
import { deepFreeze, isRecord } from '../core/objects.js';
import { ApiError, METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, resourcePath, toApiError, type KubeClient, type Query, type ResourceRef, type WatchEvent } from '../kube/client.js';
import type { Logger } from './log.js';

export type Change<T> = { type: 'upsert'; object: T; old?: T } | { type: 'delete'; object: T } | { type: 'resync'; object: T };

export type RelistReason = 'start' | 'expired' | 'error';
export type WatchRestartReason = 'closed' | 'idle' | 'error';
export type InformerEvent =
  { type: 'relist'; reason: RelistReason } | { type: 'watch-restart'; reason: WatchRestartReason } | { type: 'error'; error: ApiError; during: 'list' | 'watch' };

export type InformerState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

export interface InformerOptions<T> {
  client: KubeClient;
  resource: ResourceRef;
  log: Logger;
  /** Only this namespace (namespaced resources); default every namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List and watch as PartialObjectMetadata: the server never sends specs or statuses. */
  metadataOnly?: boolean;
  /**
   * Shapes each object before it is frozen and stored; it may mutate `raw`, which is the
   * informer's own copy. Default: drop `metadata.managedFields`.
   */
  transform?: (raw: unknown) => T;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** Server-side timeout of each watch; each watch asks for 1 to 1.5 times this. Default 300. */
  watchTimeoutSeconds?: number;
  /** A watch silent for this long is aborted and restarted. Default 180 000 (three missed bookmarks). */
  idleTimeoutMs?: number;
  /** Emits `resync` for every cached object this often; 0 (default) turns it off. */
  resyncPeriodMs?: number;
  /** Restart backoff after errors. Default 500 ms rising to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
  onEvent?: (event: InformerEvent) => void;
  /** Index name -> the values an object is filed under (see `byIndex`). */
  indexers?: Readonly<Record<string, (object: T) => readonly string[]>>;
}

export interface Informer<T> {
  /** Every change to the store, in order; completes after `stop()`. Hot: subscribe before `start()`. */
  readonly changes: Observable<Change<T>>;
  /** Starts listing and watching; a second call, or a call after `stop()`, does nothing. */
  start(): void;
  /** Stops for good and resolves once no request is open and no timer is pending. */
  stop(): Promise<void>;
  /** True once the first complete list has been stored. */
  readonly synced: boolean;
  /**
   * Resolves once `synced`, or as soon as `signal` aborts or the informer stops, whichever
   * comes first: check `synced` (or the signal) afterwards. Never rejects.
   */
  waitForSync(signal?: AbortSignal): Promise<void>;
  /** `namespace/name`, or `name` for cluster-scoped objects (see `keyOf`). */
  get(key: string): T | undefined;
  list(): T[];
  /** The objects filed under `value` in the index `index`, by store key (empty when none). Throws for an index not configured. */
  byIndex(index: string, value: string): ReadonlyMap<string, T>;
  readonly state: InformerState;
}

/** The store key of an object: `namespace/name`, or `name` when it has no namespace. */
export function keyOf(object: { readonly metadata: { readonly name: string; readonly namespace?: string | undefined } }): string {
  const { name, namespace } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

export function createInformer<T>(options: InformerOptions<T>): Informer<T> {
  return new SupervisedInformer(options);
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
const DEFAULT_IDLE_TIMEOUT_MS = 180_000;
const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };
/** A stream that closes without an event sooner than this counts as a failure. */
const MIN_HEALTHY_STREAM_MS = 1_000;

interface RawObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; managedFields?: unknown };
}

interface RawList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

interface Entry<T> {
  object: T;
  resourceVersion: string | undefined;
}

type ListOutcome = { outcome: 'listed' } | { outcome: 'expired' } | { outcome: 'error'; error: ApiError } | { outcome: 'stopped' };
type WatchOutcome =
  { outcome: 'expired'; progressed: boolean } | { outcome: 'closed'; healthy: boolean } | { outcome: 'idle' } | { outcome: 'error'; error: ApiError } | { outcome: 'stopped' };

function isRawObject(value: unknown): value is RawObject {
  return isRecord(value) && isRecord(value.metadata) && typeof value.metadata.name === 'string';
}

function isExpired(error: ApiError): boolean {
  return error.status === 410 || error.reason === 'Expired' || error.reason === 'Gone';
}

function dropManagedFields(raw: unknown): unknown {
  if (isRawObject(raw)) delete raw.metadata.managedFields;
  return raw;
}

const EMPTY_INDEX: ReadonlyMap<string, never> = new Map<string, never>();

class SupervisedInformer<T> implements Informer<T> {
  private readonly subject = new Subject<Change<T>>();
  readonly changes: Observable<Change<T>> = this.subject.asObservable();

  private store = new Map<string, Entry<T>>();
  /** index -> value -> store key -> object. */
  private indexes = new Map<string, Map<string, Map<string, T>>>();
  private resourceVersion: string | undefined;
  private currentState: InformerState = 'idle';
  private hasSynced = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly syncWaiters = new Set<() => void>();

  /** Consecutive failures; 0 means the next restart needs no backoff. */
  private failures = 0;
  /** A watch expired and none has delivered an event since. */
  private expiredWithoutProgress = false;

  private readonly stopController = new AbortController();
  private watchController: AbortController | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleeper: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  private readonly path: string;
  private readonly transform: (raw: unknown) => T;
  private readonly pageSize: number;
  private readonly watchTimeoutSeconds: number;
  private readonly idleTimeoutMs: number;
  private readonly backoffOptions: { initialMs: number; maxMs: number };

  constructor(private readonly options: InformerOptions<T>) {
    this.path = resourcePath(options.resource, options.namespace ? { namespace: options.namespace } : {});
    this.transform = options.transform ?? (dropManagedFields as (raw: unknown) => T);
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.backoffOptions = options.backoff ?? DEFAULT_BACKOFF;
  }

  get state(): InformerState {
    return this.currentState;
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  get(key: string): T | undefined {
    return this.store.get(key)?.object;
  }

  list(): T[] {
    return Array.from(this.store.values(), (entry) => entry.object);
  }

  byIndex(index: string, value: string): ReadonlyMap<string, T> {
    if (this.options.indexers?.[index] === undefined) throw new Error(`no index ${JSON.stringify(index)}`);
    return this.indexes.get(index)?.get(value) ?? EMPTY_INDEX;
  }

  private index(key: string, object: T | undefined, add: boolean): void {
    if (object === undefined) return;
    for (const [index, valuesOf] of Object.entries(this.options.indexers ?? {})) {
      let byValue = this.indexes.get(index);
      if (!byValue) this.indexes.set(index, (byValue = new Map<string, Map<string, T>>()));
      for (const value of valuesOf(object)) {
        let objects = byValue.get(value);
        if (add) {
          if (!objects) byValue.set(value, (objects = new Map<string, T>()));
          objects.set(key, object);
        } else if (objects) {
          objects.delete(key);
          if (objects.size === 0) byValue.delete(value);
        }
      }
    }
  }

  start(): void {
    if (this.stopped) {
      this.options.log.warn('informer start() after stop() ignored', { path: this.path });
      return;
    }
    if (this.running) return;
    this.running = this.run().catch((error: unknown) => {
      // run() handles its own failures; this only guards against a bug leaving it silently.
      this.options.log.error('informer loop failed', { path: this.path, error: String(error) });
    });
    const period = this.options.resyncPeriodMs ?? 0;
    if (period > 0) this.resyncTimer = setInterval(() => this.resync(), period);
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.currentState = 'stopped';
      clearInterval(this.resyncTimer);
      clearTimeout(this.watchdog);
      clearTimeout(this.sleepTimer);
      this.wakeSleeper?.();
      this.stopController.abort();
      this.watchController?.abort();
      this.releaseSyncWaiters();
    }
    await this.running;
    this.subject.complete();
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced || this.stopped || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.syncWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.syncWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private releaseSyncWaiters(): void {
    for (const done of [...this.syncWaiters]) done();
  }

  private emitEvent(event: InformerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.options.log.warn('informer onEvent hook threw', { path: this.path, error: String(error) });
    }
  }

  private async run(): Promise<void> {
    let relist: RelistReason | undefined = 'start';
    while (!this.stopped) {
      if (relist) {
        this.currentState = 'listing';
        this.emitEvent({ type: 'relist', reason: relist });
        const listed = await this.listAll();
        if (listed.outcome === 'stopped' || this.stopped) return;
        if (listed.outcome === 'expired') {
          relist = 'expired';
          continue;
        }
        if (listed.outcome === 'error') {
          this.fail(listed.error, 'list');
          relist = 'error';
          await this.backoff();
          continue;
        }
        relist = undefined;
      }

      this.currentState = 'watching';
      const watched = await this.watchOnce();
      if (watched.outcome === 'stopped' || this.stopped) return;
      switch (watched.outcome) {
        case 'expired': {
          const again = this.expiredWithoutProgress && !watched.progressed;
          this.expiredWithoutProgress = !watched.progressed;
          this.options.log.debug('watch expired; relisting', { path: this.path, resourceVersion: this.resourceVersion });
          relist = 'expired';
          if (again) {
            this.failures += 1;
            await this.backoff();
          }
          break;
        }
        case 'closed':
          this.emitEvent({ type: 'watch-restart', reason: 'closed' });
          if (!watched.healthy) {
            this.failures += 1;
            await this.backoff();
          }
          break;
        case 'idle':
          this.options.log.warn('watch silent too long; restarting it', { path: this.path, idleTimeoutMs: this.idleTimeoutMs });
          this.emitEvent({ type: 'watch-restart', reason: 'idle' });
          break;
        case 'error':
          this.fail(watched.error, 'watch');
          this.emitEvent({ type: 'watch-restart', reason: 'error' });
          await this.backoff();
          break;
      }
    }
  }

  private fail(error: ApiError, during: 'list' | 'watch'): void {
    this.failures += 1;
    this.options.log.warn(`${during} failed; retrying after backoff`, { path: this.path, status: error.status, reason: error.reason, error: error.message });
    this.emitEvent({ type: 'error', error, during });
  }

  /** Waits out the backoff for `failures` (at once when there are none) unless stopped. */
  private backoff(): Promise<void> {
    if (this.stopped || this.failures === 0) return Promise.resolve();
    const { initialMs, maxMs } = this.backoffOptions;
    const cap = Math.min(maxMs, initialMs * 2 ** (this.failures - 1));
    const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
    this.currentState = 'backoff';
    return new Promise((resolve) => {
      this.wakeSleeper = resolve;
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = undefined;
        this.wakeSleeper = undefined;
        resolve();
      }, delay);
    });
  }

  private selectors(): Query {
    const { labelSelector, fieldSelector } = this.options;
    return { labelSelector, fieldSelector };
  }

  private async listAll(): Promise<ListOutcome> {
    const fresh = new Map<string, Entry<T>>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      let page: RawList;
      try {
        page = await this.options.client.request<RawList>({
          method: 'GET',
          path: this.path,
          query: { ...this.selectors(), limit: this.pageSize, continue: continueToken },
          accept: this.options.metadataOnly ? METADATA_LIST_ACCEPT : 'application/json',
          signal: this.stopController.signal,
        });
      } catch (thrown) {
        if (this.stopped) return { outcome: 'stopped' };
        const error = toApiError(thrown, `GET ${this.path}`);
        if (continueToken !== undefined && isExpired(error)) {
          this.options.log.info('list continue token expired; listing again', { path: this.path });
          return { outcome: 'expired' };
        }
        return { outcome: 'error', error };
      }
      if (this.stopped) return { outcome: 'stopped' };
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -'List'.length) : undefined;
      for (const raw of page.items ?? []) {
        // List items come without apiVersion and kind; watch events carry them.
        const item = isRecord(raw) ? { ...(page.apiVersion ? { apiVersion: page.apiVersion } : {}), ...(kind ? { kind } : {}), ...raw } : raw;
        const entry = this.entryOf(item);
        if (entry) fresh.set(entry.key, entry.entry);
      }
      resourceVersion = page.metadata?.resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    this.replace(fresh, resourceVersion);
    return { outcome: 'listed' };
  }

  /** Swaps in a complete list, keeping unchanged objects as they were, then emits the difference. */
  private replace(fresh: Map<string, Entry<T>>, resourceVersion: string | undefined): void {
    const previous = this.store;
    const changes: Change<T>[] = [];
    for (const [key, entry] of fresh) {
      const old = previous.get(key);
      if (!old) changes.push({ type: 'upsert', object: entry.object });
      else if (old.resourceVersion !== entry.resourceVersion) changes.push({ type: 'upsert', object: entry.object, old: old.object });
      else fresh.set(key, old);
    }
    for (const [key, old] of previous) {
      if (!fresh.has(key)) changes.push({ type: 'delete', object: old.object });
    }
    this.store = fresh;
    if (this.options.indexers !== undefined) {
      this.indexes = new Map();
      for (const [key, entry] of fresh) this.index(key, entry.object, true);
    }
    this.resourceVersion = resourceVersion;
    const first = !this.hasSynced;
    this.hasSynced = true;
    this.options.log[first ? 'info' : 'debug']('listed', { path: this.path, objects: fresh.size, changes: changes.length, resourceVersion });
    for (const change of changes) this.subject.next(deepFreeze(change));
    if (first) this.releaseSyncWaiters();
  }

  private entryOf(raw: unknown): { key: string; entry: Entry<T> } | undefined {
    if (!isRawObject(raw)) {
      this.options.log.warn('ignoring an object without metadata.name', { path: this.path });
      return undefined;
    }
    const key = keyOf(raw);
    const resourceVersion = raw.metadata.resourceVersion;
    try {
      return { key, entry: { object: deepFreeze(this.transform(raw)), resourceVersion } };
    } catch (error) {
      this.options.log.error('transform failed; object left out of the cache', { path: this.path, key, error: String(error) });
      return undefined;
    }
  }

  private async watchOnce(): Promise<WatchOutcome> {
    const controller = new AbortController();
    this.watchController = controller;
    let idle = false;
    const arm = (): void => {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => {
        idle = true;
        controller.abort();
      }, this.idleTimeoutMs);
    };
    const openedAt = Date.now();
    let progressed = false;
    const timeoutSeconds = Math.max(1, Math.round(this.watchTimeoutSeconds * (1 + Math.random() / 2)));
    arm();
    try {
      const stream = this.options.client.watch<unknown>({
        path: this.path,
        query: { ...this.selectors(), watch: true, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        accept: this.options.metadataOnly ? METADATA_WATCH_ACCEPT : 'application/json',
        signal: controller.signal,
      });
      for await (const event of stream) {
        if (this.stopped) return { outcome: 'stopped' };
        arm();
        if (event.type === 'ERROR') {
          const error = statusError(event.object, this.path);
          return isExpired(error) ? { outcome: 'expired', progressed } : { outcome: 'error', error };
        }
        if (!progressed) {
          progressed = true;
          this.failures = 0;
          this.expiredWithoutProgress = false;
        }
        this.apply(event);
      }
      if (this.stopped) return { outcome: 'stopped' };
      if (idle) return { outcome: 'idle' };
      const healthy = progressed || Date.now() - openedAt >= MIN_HEALTHY_STREAM_MS;
      if (healthy) this.failures = 0;
      return { outcome: 'closed', healthy };
    } catch (thrown) {
      if (this.stopped) return { outcome: 'stopped' };
      if (idle) return { outcome: 'idle' };
      const error = toApiError(thrown, `WATCH ${this.path}`);
      return isExpired(error) ? { outcome: 'expired', progressed } : { outcome: 'error', error };
    } finally {
      clearTimeout(this.watchdog);
      this.watchdog = undefined;
      controller.abort();
      if (this.watchController === controller) this.watchController = undefined;
    }
  }

  /** One ADDED, MODIFIED, DELETED or BOOKMARK event. */
  private apply(event: WatchEvent<unknown>): void {
    const raw = event.object;
    if (event.type === 'BOOKMARK') {
      // A bookmark's object has only metadata.resourceVersion (and annotations): no name.
      const version = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata.resourceVersion : undefined;
      if (typeof version === 'string' && version) this.resourceVersion = version;
      return;
    }
    if (!isRawObject(raw)) {
      this.options.log.warn('ignoring a watch event without metadata.name', { path: this.path, type: event.type });
      return;
    }
    if (raw.metadata.resourceVersion) this.resourceVersion = raw.metadata.resourceVersion;
    const key = keyOf(raw);
    const old = this.store.get(key);
    if (event.type === 'DELETED') {
      if (!old) return;
      this.store.delete(key);
      this.index(key, old.object, false);
      // The object's last state; the cached one when it cannot be transformed.
      const last = this.entryOf(raw)?.entry.object ?? old.object;
      this.subject.next(deepFreeze({ type: 'delete', object: last }));
      return;
    }
    if (old && old.resourceVersion === raw.metadata.resourceVersion) return;
    const found = this.entryOf(raw);
    if (!found) return;
    const { entry } = found;
    this.store.set(key, entry);
    if (old) this.index(key, old.object, false);
    this.index(key, entry.object, true);
    this.subject.next(deepFreeze(old ? { type: 'upsert', object: entry.object, old: old.object } : { type: 'upsert', object: entry.object }));
  }

  private resync(): void {
    if (this.stopped || !this.hasSynced) return;
    for (const entry of [...this.store.values()]) this.subject.next(deepFreeze({ type: 'resync', object: entry.object }));
  }
}

/** The ApiError a watch ERROR event's Status stands for. */
function statusError(status: unknown, path: string): ApiError {
  const s = isRecord(status) ? status : {};
  const code = typeof s.code === 'number' ? s.code : 500;
  const reason = typeof s.reason === 'string' ? s.reason : undefined;
  const message = typeof s.message === 'string' ? s.message : 'watch error';
  return new ApiError(code, reason, `WATCH ${path}: ${code} ${message}`, `WATCH ${path}`);
}
