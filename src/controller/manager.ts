/**
 * The manager: wires one replica of netfence run together. The API client and its
 * credentials, the metrics and health endpoints, the Operator's caches (every replica), and
 * leader election (only the leader reconciles).
 *
 * Guarantees:
 * - SIGTERM (shutDown): no key is handed out any more; reconciles in flight get
 *   `shutdownTimeoutMs` (default 10 s) to finish, then are cancelled (their requests
 *   aborted); pending Events are written, bounded by 5 s; the Lease is released (one PUT
 *   bounded by the renew deadline, so a standby takes over at its next retry), and `done`
 *   resolves 0. With the defaults that is at most about 25 s, below the Deployment's 30 s
 *   terminationGracePeriodSeconds.
 * - Losing the Lease (another holder seen, or no renewal for the renew deadline, which is
 *   shorter than the lease duration a standby waits): at that moment every request in
 *   flight is aborted and no other is sent (reconciles, Events), so no write of this replica
 *   reaches the API server after it knew it lost the lease; `done` then resolves 1 at once
 *   (the caches stopped), so the kubelet restarts a clean replica. Also when the loss comes
 *   during a SIGTERM drain (then 0).
 * Assumes: a request the API server has already received when it is aborted may still take
 *   effect; an aborted request is never sent again.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { CompilerSettings } from '../compiler/settings.js';
import { InputError } from '../io/manifests.js';
import { kubeClient } from '../kube/client.js';
import { KubeConfigError, loadConnection, type Connection } from '../kube/config.js';
import { startHttpServer } from '../runtime/http.js';
import { LeaderElector } from '../runtime/leader.js';
import { createLogger, type LogLevel } from '../runtime/log.js';
import { createMetrics } from '../runtime/metrics.js';
import { Operator } from './operator.js';

export interface RunSettings {
  kubeconfig: string | undefined;
  compiler: CompilerSettings;
  operatorNamespace: string;
  logLevel: LogLevel;
  bindAddress: string;
  metricsPort: number;
  healthPort: number;
  concurrency: number;
  resyncPeriodMs: number;
  /** On SIGTERM, how long reconciles in flight may run before they are cancelled. */
  shutdownTimeoutMs: number;
  leaderElect: boolean;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
}

/** The kubeconfig named by the settings; a configuration problem is bad input (exit 2). */
async function connect(settings: RunSettings): Promise<Connection> {
  try {
    return await loadConnection({ kubeconfig: settings.kubeconfig });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new InputError([error.message]);
    throw error;
  }
}

export interface RunHandle {
  /** Resolves with the exit code once the operator has stopped. */
  done: Promise<number>;
  /** What SIGTERM does. */
  shutDown(): void;
  operator: Operator;
  metricsPort: number;
  healthPort: number;
}

/** Starts the operator; `netfence run` and the integration tests call this. */
export async function startOperator(settings: RunSettings, options: { kubeConfig?: KubeConfig; logStream?: NodeJS.WritableStream } = {}): Promise<RunHandle> {
  const log = createLogger(settings.logLevel, options.logStream).child({ identity: settings.identity });
  const connection = options.kubeConfig ?? (await connect(settings));
  if (!options.kubeConfig) log.debug('credentials loaded', { from: (connection as Connection).source });
  const client = kubeClient(connection);
  const metrics = createMetrics();
  const operator = new Operator({
    client,
    settings: settings.compiler,
    log,
    metrics,
    concurrency: settings.concurrency,
    resyncPeriodMs: settings.resyncPeriodMs,
    identity: settings.identity,
  });
  let stopping = false;
  let leading = false;
  const checks = {
    healthy: () => true as const,
    ready: () => (operator.synced ? (true as const) : 'caches not synced yet'),
  };
  const metricsServer = await startHttpServer({ port: settings.metricsPort, host: settings.bindAddress, registry: metrics.registry, checks });
  const healthServer = await startHttpServer({ port: settings.healthPort, host: settings.bindAddress, registry: metrics.registry, checks });
  operator.start();
  log.info('netfence started', { operatorNamespace: settings.operatorNamespace, leaderElect: settings.leaderElect, concurrency: settings.concurrency });

  const shutdown = new AbortController();
  const elector = settings.leaderElect
    ? new LeaderElector({
        client,
        namespace: settings.operatorNamespace,
        name: settings.leaseName,
        identity: settings.identity,
        log,
        leaseDurationMs: settings.leaseDurationMs,
        renewDeadlineMs: settings.renewDeadlineMs,
        retryPeriodMs: settings.retryPeriodMs,
      })
    : undefined;

  const done = (async (): Promise<number> => {
    let code = 0;
    if (elector) {
      let leadership: Promise<void> = Promise.resolve();
      shutdown.signal.addEventListener('abort', () => void elector.release(), { once: true });
      const outcome = await elector.run({
        onStartedLeading: (signal, lost) => {
          leading = true;
          metrics.leader.set(1);
          log.info('became leader');
          leadership = operator.lead(signal, { lost, shutdownTimeoutMs: settings.shutdownTimeoutMs });
        },
        // After a release (SIGTERM) the lease is still renewed while in-flight reconciles
        // finish (bounded); after a loss they were aborted, so this resolves at once.
        onStoppedLeading: async () => {
          await leadership;
          leading = false;
          metrics.leader.set(0);
        },
      });
      if (outcome === 'lost' && !stopping) {
        log.error('lost leadership; exiting so a clean replica takes over');
        code = 1;
      }
    } else {
      leading = true;
      metrics.leader.set(1);
      await operator.lead(shutdown.signal, { shutdownTimeoutMs: settings.shutdownTimeoutMs });
    }
    await operator.stop();
    await Promise.all([metricsServer.close(), healthServer.close()]);
    log.info('netfence stopped', { leading });
    return code;
  })();

  return {
    done,
    operator,
    metricsPort: metricsServer.port,
    healthPort: healthServer.port,
    shutDown: () => {
      stopping = true;
      shutdown.abort();
    },
  };
}
