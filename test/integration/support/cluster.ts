/**
 * What an integration suite needs from the control plane the global setup started:
 * clients for both identities, a `describe` that skips when there is no control plane,
 * unique names, manifests from the repo, and waiting for the world to reach a state.
 *
 * Suites share one API server: each one works in namespaces it names with `uniqueName`,
 * and never relies on a controller (there is none: see test/control-plane/control-plane.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { messageOf, statusOf } from '../../fixtures/api-errors.js';
import { parseAllDocuments } from 'yaml';
import { readState, type ControlPlaneState } from '../../control-plane/supervisor.js';
import { kustomizeBuild } from '../../fixtures/kustomize.js';
import { CONTROL_PLANE_DIR_ENV, CONTROL_PLANE_SKIP_ENV } from './env.js';

/** Re-exported for the suites: how failed client-node calls read. */
export { messageOf, statusOf };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `describe` when the global setup started (or found) a control plane, else `describe.skip`. */
export const describeWithControlPlane: jest.Describe = process.env[CONTROL_PLANE_SKIP_ENV] ? describe.skip : describe;

export interface Cluster {
  state: ControlPlaneState;
  /** system:masters. */
  admin: KubeConfig;
  /** The operator's ServiceAccount identity: only what RBAC grants it. */
  operator: KubeConfig;
}

export function cluster(): Cluster {
  const dir = process.env[CONTROL_PLANE_DIR_ENV];
  if (!dir) throw new Error(`${CONTROL_PLANE_DIR_ENV} is not set: run the suites with jest.integration.config.js`);
  const state = readState(dir);
  if (!state?.admin || !state.operator) throw new Error(`no ready control plane recorded in ${dir}`);
  return { state, admin: kubeConfig(state.admin.kubeconfig), operator: kubeConfig(state.operator.kubeconfig) };
}

export function kubeConfig(file: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(file);
  return config;
}

/** `prefix-` and 8 random hex digits: a DNS label no other suite or run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Every document of a YAML file in the repo, in order (empty documents dropped). */
export function readManifests(relativePath: string): KubernetesObject[] {
  const text = readFileSync(join(REPO_ROOT, relativePath), 'utf8');
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null && typeof object === 'object');
}

/** The objects of a kustomize folder of the repo (see test/fixtures/kustomize.ts), in order. */
export function readKustomization(relativeDir: string): KubernetesObject[] {
  return kustomizeBuild(join(REPO_ROOT, relativeDir)) as KubernetesObject[];
}

/** Server-side apply, forcing ownership: what `kubectl apply --server-side --force-conflicts` does. */
export async function apply<T extends KubernetesObject>(config: KubeConfig, object: T, fieldManager = 'netfence-test'): Promise<T> {
  return KubernetesObjectApi.makeApiClient(config).patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

/** Resolves with the rejection of `call`; fails when `call` succeeds. */
export async function rejectionOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the API server to refuse the call, but it succeeded');
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = 25; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${lastError ? `; last error: ${messageOf(lastError)}` : ''}`);
}

export interface WatchEvent {
  type: string;
  object: KubernetesObject & { code?: number; reason?: string };
}

/** A running watch that records every event, for asserting what the server sent. */
export interface RecordedWatch {
  readonly events: readonly WatchEvent[];
  /** Resolves with the first recorded event that matches (earlier ones included). */
  next(what: string, matches: (event: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  /** Resolves when the server ends the watch, with its error if any. */
  readonly ended: Promise<unknown>;
  stop(): void;
}

export async function recordWatch(config: KubeConfig, path: string, query: Record<string, string | number | boolean> = {}): Promise<RecordedWatch> {
  const events: WatchEvent[] = [];
  const waiters = new Set<() => void>();
  let endWatch: (error: unknown) => void = () => undefined;
  const ended = new Promise<unknown>((resolveEnded) => (endWatch = resolveEnded));
  const controller = await new Watch(config).watch(
    path,
    query,
    (type, object) => {
      events.push({ type, object: object as WatchEvent['object'] });
      for (const wake of waiters) wake();
    },
    (error) => {
      endWatch(error);
      for (const wake of waiters) wake();
    },
  );
  let stopped = false;
  return {
    events,
    ended,
    stop: () => {
      stopped = true;
      controller.abort();
    },
    next: (what, matches, timeoutMs = 15_000) =>
      new Promise<WatchEvent>((resolveEvent, reject) => {
        const check = (): boolean => {
          const found = events.find(matches);
          if (found) {
            cleanup();
            resolveEvent(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = events.map((event) => `${event.type} ${event.object.metadata?.name ?? event.object.reason ?? ''}`).join(', ');
          reject(new Error(`no watch event on ${path} where ${what} within ${timeoutMs} ms${stopped ? ' (watch stopped)' : ''}; saw: ${seen || 'nothing'}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = (): void => void check();
        if (!check()) waiters.add(wake);
      }),
  };
}

