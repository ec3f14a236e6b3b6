/**
 * `netfence run`: the operator. Settings come from flags, else from the environment
 * (`--foo-bar` <-> `NETFENCE_FOO_BAR`; repeatable flags take a comma-separated list), else
 * the defaults below. The kubeconfig is `--kubeconfig`, else `$KUBECONFIG`, else
 * `~/.kube/config`, else the in-cluster ServiceAccount.
 *
 * SIGTERM and SIGINT stop the operator; what they and the loss of the Lease do is in
 * src/controller/manager.ts.
 */
import { hostname } from 'node:os';
import { DEFAULT_LEASE_NAME, DEFAULT_OPERATOR_NAMESPACE } from '../api/constants.js';
import { LOG_LEVELS, type LogLevel } from '../runtime/log.js';
import { startOperator, type RunSettings } from '../controller/manager.js';
export { startOperator, type RunHandle, type RunSettings } from '../controller/manager.js';
import { noPositionals, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from './args.js';
import { EXIT, SETTINGS_FLAGS, SETTINGS_HELP, settingsFrom, type CliIO } from './common.js';

export const RUN_FLAGS: FlagSpec[] = [
  ...SETTINGS_FLAGS,
  { name: 'kubeconfig', value: true },
  { name: 'log-level', value: true },
  { name: 'bind-address', value: true },
  { name: 'metrics-port', value: true },
  { name: 'health-port', value: true },
  { name: 'concurrency', value: true },
  { name: 'resync-period', value: true },
  { name: 'shutdown-timeout', value: true },
  { name: 'leader-elect', value: true },
  { name: 'lease-name', value: true },
  { name: 'lease-duration', value: true },
  { name: 'renew-deadline', value: true },
  { name: 'retry-period', value: true },
  { name: 'identity', value: true },
  { name: 'help', short: 'h', value: false },
];

export const RUN_HELP = `Usage: netfence run [flags]

Runs the operator: keeps every member namespace's NetworkPolicies as its TenantIsolation says.
Every flag can also be set as an environment variable: --dns-port -> NETFENCE_DNS_PORT
(repeatable flags: a comma-separated list). Flags win.

Cluster:
  --kubeconfig PATH          kubeconfig file (default $KUBECONFIG, ~/.kube/config, then in-cluster)
${SETTINGS_HELP}
  (--operator-namespace also falls back to $POD_NAMESPACE; it holds the leader Lease.)

Operations:
  --log-level LEVEL          error, warn, info or debug (default info); logs are JSON on stderr
  --bind-address ADDR        address of the HTTP servers (default 0.0.0.0)
  --metrics-port N           /metrics (default 8080)
  --health-port N            /healthz and /readyz (default 8081)
  --concurrency N            reconciles at once (default 4)
  --resync-period DURATION   reconcile everything at least this often (default 10m)
  --shutdown-timeout D       on SIGTERM, reconciles in flight get this long, then are
                             cancelled (default 10s; keep it below the pod's grace period)

Leader election (one replica reconciles, the others wait with warm caches):
  --leader-elect BOOL        default true
  --lease-name NAME          Lease in the operator namespace (default netfence-leader)
  --lease-duration D         default 15s
  --renew-deadline D         default 10s
  --retry-period D           default 2s
  --identity NAME            this replica (default $POD_NAME, else hostname-pid)

Durations: 500ms, 30s, 10m, 1h.`;

/** Flags first, then NETFENCE_* variables: the environment fills flags that were not given. */
export function withEnvironment(args: ParsedArgs, specs: readonly FlagSpec[], env: NodeJS.ProcessEnv): ParsedArgs {
  const flags = new Map(args.flags);
  for (const spec of specs) {
    if (!spec.value || flags.has(spec.name)) continue;
    const value = env[`NETFENCE_${spec.name.toUpperCase().replaceAll('-', '_')}`];
    if (value === undefined || value === '') continue;
    flags.set(
      spec.name,
      spec.repeatable
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : [value],
    );
  }
  return { ...args, flags };
}

export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a duration like 500ms, 30s, 10m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new UsageError(`--${flag}: must be more than zero`);
  return ms;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
  return n;
}

export function runSettings(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunSettings | 'help' {
  const parsed = parseArgs(argv, RUN_FLAGS);
  if (parsed.switches.has('help')) return 'help';
  noPositionals(parsed);
  const args = withEnvironment(parsed, RUN_FLAGS, env);
  if (!args.flags.has('operator-namespace') && env['POD_NAMESPACE']) args.flags.set('operator-namespace', [env['POD_NAMESPACE']]);
  const one = (name: string): string | undefined => args.flags.get(name)?.at(-1);
  const compiler = settingsFrom(args);
  const logLevel = one('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`--log-level: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  const leaderElect = one('leader-elect') ?? 'true';
  if (leaderElect !== 'true' && leaderElect !== 'false') throw new UsageError(`--leader-elect: ${JSON.stringify(leaderElect)} is not true or false`);
  const settings: RunSettings = {
    kubeconfig: one('kubeconfig'),
    compiler,
    operatorNamespace: one('operator-namespace') ?? DEFAULT_OPERATOR_NAMESPACE,
    logLevel: logLevel as LogLevel,
    bindAddress: one('bind-address') ?? '0.0.0.0',
    metricsPort: integer('metrics-port', one('metrics-port') ?? '8080', 0, 65535),
    healthPort: integer('health-port', one('health-port') ?? '8081', 0, 65535),
    concurrency: integer('concurrency', one('concurrency') ?? '4', 1, 64),
    resyncPeriodMs: parseDuration('resync-period', one('resync-period') ?? '10m'),
    shutdownTimeoutMs: parseDuration('shutdown-timeout', one('shutdown-timeout') ?? '10s'),
    leaderElect: leaderElect === 'true',
    leaseName: one('lease-name') ?? DEFAULT_LEASE_NAME,
    leaseDurationMs: parseDuration('lease-duration', one('lease-duration') ?? '15s'),
    renewDeadlineMs: parseDuration('renew-deadline', one('renew-deadline') ?? '10s'),
    retryPeriodMs: parseDuration('retry-period', one('retry-period') ?? '2s'),
    identity: one('identity') ?? env['POD_NAME'] ?? `${hostname()}-${process.pid}`,
  };
  if (!(settings.retryPeriodMs < settings.renewDeadlineMs && settings.renewDeadlineMs < settings.leaseDurationMs)) {
    throw new UsageError('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  if (settings.metricsPort !== 0 && settings.metricsPort === settings.healthPort) throw new UsageError('--metrics-port and --health-port must differ');
  return settings;
}

export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const settings = runSettings(argv);
  if (settings === 'help') {
    io.stdout(`${RUN_HELP}\n`);
    return EXIT.ok;
  }
  const handle = await startOperator(settings);
  const stop = () => handle.shutDown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const code = await handle.done;
  // The operator has stopped: nothing left open (a pooled socket, a timer) may keep the
  // process, and so a replica that lost its Lease, alive.
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  return code;
}

/** Once stopped, the process ends by itself or is ended this much later. */
const EXIT_GRACE_MS = 1_000;
