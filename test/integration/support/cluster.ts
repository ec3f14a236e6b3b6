/**
 * What an integration suite needs from the control plane the global setup started:
 * clients for both identities, a `describe` that skips when there is no control plane,
 * unique names, manifests from the repo, and waiting for the world to reach a state (the
 * jest-free pieces the benches share live in ./harness.ts and are re-exported here).
 *
 * Suites share one API server: each one works in namespaces it names with `uniqueName`,
 * and never relies on a controller (there is none: see test/control-plane/control-plane.ts).
 */
import { randomBytes } from 'node:crypto';
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { messageOf, statusOf } from '../../fixtures/api-errors.js';
import { readState, type ControlPlaneState } from '../../control-plane/supervisor.js';
import { CONTROL_PLANE_DIR_ENV, CONTROL_PLANE_SKIP_ENV } from './env.js';
import { kubeConfig, type Identities } from './harness.js';

/** Re-exported for the suites: how failed client-node calls read. */
export { messageOf, statusOf };
/** Re-exported for the suites from the harness they share with the benches. */
export { apply, eventually, kubeConfig, readKustomization, readManifests, REPO_ROOT } from './harness.js';

/** `describe` when the global setup started (or found) a control plane, else `describe.skip`. */
export const describeWithControlPlane: jest.Describe = process.env[CONTROL_PLANE_SKIP_ENV] ? describe.skip : describe;

export interface Cluster extends Identities {
  state: ControlPlaneState;
}

export function cluster(): Cluster {
  const dir = process.env[CONTROL_PLANE_DIR_ENV];
  if (!dir) throw new Error(`${CONTROL_PLANE_DIR_ENV} is not set: run the suites with jest.integration.config.js`);
  const state = readState(dir);
  if (!state?.admin || !state.operator) throw new Error(`no ready control plane recorded in ${dir}`);
  return { state, admin: kubeConfig(state.admin.kubeconfig), operator: kubeConfig(state.operator.kubeconfig) };
}

/** `prefix-` and 8 random hex digits: a DNS label no other suite or run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
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
