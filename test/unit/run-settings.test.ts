import { UsageError } from '../../src/cli/args.js';
import { parseDuration, runSettings, type RunSettings } from '../../src/cli/run.js';

function settings(argv: string[], env: NodeJS.ProcessEnv = {}): RunSettings {
  const s = runSettings(argv, env);
  if (s === 'help') throw new Error('unexpected help');
  return s;
}

describe('netfence run settings', () => {
  test('defaults are the documented ones', () => {
    const s = settings([], { POD_NAME: 'netfence-abc' });
    expect(s).toMatchObject({
      operatorNamespace: 'netfence-system',
      logLevel: 'info',
      metricsPort: 8080,
      healthPort: 8081,
      concurrency: 4,
      resyncPeriodMs: 600_000,
      leaderElect: true,
      leaseName: 'netfence-leader',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      shutdownTimeoutMs: 10_000,
      identity: 'netfence-abc',
    });
    expect(s.compiler.excludedNamespaces).toEqual(expect.arrayContaining(['kube-system', 'netfence-system']));
  });

  test('takes NETFENCE_* variables for flags that were not given, and flags win', () => {
    const s = settings(['--concurrency', '8'], {
      NETFENCE_CONCURRENCY: '2',
      NETFENCE_RESYNC_PERIOD: '90s',
      NETFENCE_EXCLUDE_NAMESPACE: 'monitoring, ingress-nginx',
      NETFENCE_DNS_SELECTOR: 'k8s-app=coredns',
      NETFENCE_LEADER_ELECT: 'false',
    });
    expect(s.concurrency).toBe(8);
    expect(s.resyncPeriodMs).toBe(90_000);
    expect(s.leaderElect).toBe(false);
    expect(s.compiler.excludedNamespaces).toEqual(expect.arrayContaining(['monitoring', 'ingress-nginx']));
    expect(s.compiler.dns.podLabels).toEqual({ 'k8s-app': 'coredns' });
  });

  test('the operator namespace falls back to POD_NAMESPACE and is excluded from membership', () => {
    const s = settings([], { POD_NAMESPACE: 'platform-netfence' });
    expect(s.operatorNamespace).toBe('platform-netfence');
    expect(s.compiler.excludedNamespaces).toContain('platform-netfence');
    expect(settings(['--operator-namespace', 'x'], { POD_NAMESPACE: 'platform-netfence' }).operatorNamespace).toBe('x');
  });

  test.each([
    [['--log-level', 'loud'], /--log-level/],
    [['--concurrency', '0'], /--concurrency/],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--resync-period', '10'], /--resync-period.*duration/],
    [['--leader-elect', 'yes'], /--leader-elect/],
    [['--lease-duration', '5s', '--renew-deadline', '10s'], /retry-period < --renew-deadline < --lease-duration/],
    [['--metrics-port', '9000', '--health-port', '9000'], /must differ/],
    [['extra'], /unexpected argument/],
  ])('refuses %j with a message naming the problem', (argv, message) => {
    expect(() => runSettings(argv, {})).toThrow(UsageError);
    expect(() => runSettings(argv, {})).toThrow(message);
  });

  test('reads durations in ms, s, m and h', () => {
    expect([parseDuration('x', '250ms'), parseDuration('x', '1.5s'), parseDuration('x', '10m'), parseDuration('x', '1h')]).toEqual([250, 1500, 600_000, 3_600_000]);
  });

  test('--help asks for the help text', () => {
    expect(runSettings(['--help'], {})).toBe('help');
  });
});
