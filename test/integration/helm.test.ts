/**
 * The Helm chart (charts/netfence, generated from config/ by scripts/gen-chart.ts), tested
 * with the real helm (test/control-plane/helm.ts) on an API server of its own:
 * - `helm lint` passes;
 * - `helm template --include-crds` with the default values yields the objects `kubectl
 *   kustomize config/default` yields, and each value changes exactly what it says;
 * - the commands of docs/helm.md, run as written: the install installs, and the operator,
 *   started in-process with the settings the installed Deployment gives it (no kubelet runs
 *   here), fences a namespace; the upgrade with the docs' values file changes the Deployment,
 *   and the operator runs with its new settings; the uninstall leaves the CRD, whose
 *   deletion removes it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { POLICY_NAMES, TENANT_LABEL } from '../../src/api/constants.js';
import { runSettings } from '../../src/cli/run.js';
import { isApiError } from '../../src/kube/client.js';
import { HOW_TO_PROVIDE_HELM, provideHelm } from '../control-plane/helm.js';
import { kustomizeBuild, type Manifest } from '../fixtures/kustomize.js';
import { describeWithControlPlane, eventually, REPO_ROOT } from './support/cluster.js';
import { kubectl, privateControlPlane, type PrivatePlane } from './support/identities.js';
import { runOperator, type RunningOperator } from './support/operator.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  env: EnvVar[];
  resources: unknown;
}
interface Deployment extends Manifest {
  spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; [key: string]: unknown } } };
}

const BASE = [POLICY_NAMES.defaultDeny, POLICY_NAMES.dns, POLICY_NAMES.sameTenant].sort();
const CHART = 'charts/netfence';

const keyOf = (o: Manifest): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const sorted = (objects: Manifest[]): Manifest[] => [...objects].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
const parseStream = (text: string): Manifest[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
const deploymentOf = (objects: Manifest[]): Deployment => objects.find((o) => o.kind === 'Deployment') as Deployment;
const managerOf = (objects: Manifest[]): Container => deploymentOf(objects).spec.template.spec.containers.find((c) => c.name === 'manager') as Container;

/** `netfence run` flags from the manager's NETFENCE_* variables (the environment the Deployment gives it). */
function flagsOf(container: Container): string[] {
  return container.env.flatMap((e) => {
    if (!e.name.startsWith('NETFENCE_') || e.value === undefined) return [];
    const flag = `--${e.name.slice('NETFENCE_'.length).toLowerCase().replaceAll('_', '-')}`;
    return flag === '--exclude-namespace' ? e.value.split(',').flatMap((v) => [flag, v]) : [flag, e.value];
  });
}

describeWithControlPlane('the Helm chart, with the real helm', () => {
  let started: PrivatePlane;
  let helmPath: string;
  let home: string;
  let kustomized: Manifest[];
  let op: RunningOperator | undefined;

  /** helm from the repository root, with a home of its own and the admin's kubeconfig. */
  const helm = (args: readonly string[]): { code: number; stdout: string; stderr: string } => {
    const result = spawnSync(helmPath, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: home,
        KUBECONFIG: started.plane.adminKubeconfig,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
    });
    return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
  };

  /** `helm template` with these values, parsed. */
  const render = (values: unknown): Manifest[] => {
    const file = join(home, 'values.yaml');
    writeFileSync(file, stringify(values));
    const out = helm(['template', 'netfence', CHART, '--include-crds', '-f', file]);
    if (out.code !== 0) throw new Error(`helm template failed: ${out.stderr}`);
    return parseStream(out.stdout);
  };

  beforeAll(async () => {
    const found = await provideHelm();
    if ('unavailable' in found) throw new Error(`no helm: ${found.unavailable}; ${HOW_TO_PROVIDE_HELM}`);
    helmPath = found.path;
    home = mkdtempSync(join(tmpdir(), 'netfence-helm-'));
    started = await privateControlPlane();
    const built = kubectl(started.binaries, undefined, ['kustomize', 'config/default']);
    if (built.code !== 0) throw new Error(`kubectl kustomize config/default failed: ${built.stderr}`);
    kustomized = parseStream(built.stdout);
  }, 300_000);

  afterAll(async () => {
    if (op) await op.stop();
    await started?.plane.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  test('helm lint passes', () => {
    const lint = helm(['lint', '--strict', CHART]);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.code).toBe(0);
  });

  test('with the default values, helm template yields the objects kubectl kustomize config/default yields', () => {
    const rendered = render({});
    expect(rendered.length).toBe(kustomized.length);
    expect(sorted(rendered)).toEqual(sorted(kustomized));
  });

  type Case = [what: string, values: unknown, change: (objects: Manifest[]) => Manifest[]];
  const cases: Case[] = [
    [
      'image',
      { image: { repository: 'registry.example/platform/netfence', tag: 'v9.9.9', pullPolicy: 'Always' } },
      (objects) => {
        Object.assign(managerOf(objects), { image: 'registry.example/platform/netfence:v9.9.9', imagePullPolicy: 'Always' });
        return objects;
      },
    ],
    [
      'replicas and resources (a map of values merges with the default)',
      { replicas: 3, resources: { requests: { cpu: '50m' } }, nodeOptions: '--max-old-space-size=400' },
      (objects) => {
        deploymentOf(objects).spec.replicas = 3;
        const manager = managerOf(objects);
        manager.resources = { requests: { cpu: '50m', memory: '192Mi' }, limits: { cpu: '1', memory: '320Mi' } };
        (manager.env.find((e) => e.name === 'NODE_OPTIONS') as EnvVar).value = '--max-old-space-size=400';
        return objects;
      },
    ],
    [
      "every operator setting, as the NETFENCE_* variable of netfence run's flag",
      {
        settings: {
          logLevel: 'debug',
          concurrency: 8,
          resyncPeriod: '30m',
          shutdownTimeout: '20s',
          dnsNamespace: 'dns',
          dnsSelector: { 'k8s-app': 'coredns', tier: 'node' },
          dnsPort: 5353,
          excludeNamespaces: ['legacy', 'ci'],
          memberLabel: false,
        },
      },
      (objects) => {
        managerOf(objects).env.push(
          ...Object.entries({
            LOG_LEVEL: 'debug',
            CONCURRENCY: '8',
            RESYNC_PERIOD: '30m',
            SHUTDOWN_TIMEOUT: '20s',
            DNS_NAMESPACE: 'dns',
            DNS_SELECTOR: 'k8s-app=coredns,tier=node',
            DNS_PORT: '5353',
            EXCLUDE_NAMESPACE: 'legacy,ci',
            MEMBER_LABEL: 'off',
          }).map(([name, value]) => ({ name: `NETFENCE_${name}`, value })),
        );
        return objects;
      },
    ],
    [
      'the guard, the NetworkPolicies and flowcontrol off',
      { admissionGuard: { enabled: false }, networkPolicies: { enabled: false }, flowControl: { enabled: false } },
      (objects) =>
        objects.filter((o) => !['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'NetworkPolicy', 'FlowSchema', 'PriorityLevelConfiguration'].includes(o.kind)),
    ],
    [
      'the guard on trial',
      { admissionGuard: { validationActions: ['Warn', 'Audit'] } },
      (objects) => {
        const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding') as Manifest & { spec: { validationActions: string[] } };
        binding.spec.validationActions = ['Warn', 'Audit'];
        return objects;
      },
    ],
    [
      'commonLabels, on every object but the CRD and on the pods',
      { commonLabels: { team: 'platform', 'example.com/cost-center': '42' } },
      (objects) => {
        const extra = { team: 'platform', 'example.com/cost-center': '42' };
        for (const o of objects) if (o.kind !== 'CustomResourceDefinition') o.metadata.labels = { ...o.metadata.labels, ...extra };
        const pod = deploymentOf(objects).spec.template.metadata;
        pod.labels = { ...pod.labels, ...extra };
        return objects;
      },
    ],
    [
      'scheduling of the pod',
      {
        imagePullSecrets: [{ name: 'regcred' }],
        nodeSelector: { 'node-role.kubernetes.io/infra': '' },
        tolerations: [{ key: 'infra', operator: 'Exists', effect: 'NoSchedule' }],
        priorityClassName: 'system-cluster-critical',
      },
      (objects) => {
        Object.assign(deploymentOf(objects).spec.template.spec, {
          imagePullSecrets: [{ name: 'regcred' }],
          nodeSelector: { 'node-role.kubernetes.io/infra': '' },
          tolerations: [{ key: 'infra', operator: 'Exists', effect: 'NoSchedule' }],
          priorityClassName: 'system-cluster-critical',
        });
        return objects;
      },
    ],
    [
      'the ServiceMonitor and the alerts of config/prometheus, their {{ $value }} kept for Prometheus',
      { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
      (objects) => [...objects, ...kustomizeBuild(join(REPO_ROOT, 'config/prometheus'))],
    ],
  ];

  test.each(cases)('a values override changes exactly what it should: %s', (_what, values, change) => {
    expect(sorted(render(values))).toEqual(sorted(change(structuredClone(kustomized))));
  });

  test('the settings the chart passes are read by netfence run as the values say', () => {
    const env = Object.fromEntries(
      managerOf(
        render({
          settings: { concurrency: 8, resyncPeriod: '30m', dnsSelector: { 'k8s-app': 'coredns' }, dnsPort: 5353, excludeNamespaces: ['legacy', 'ci'], memberLabel: 'off' },
        }),
      )
        .env.filter((e) => e.value !== undefined && e.name.startsWith('NETFENCE_'))
        .map((e) => [e.name, e.value]),
    );
    const settings = runSettings([], env);
    if (settings === 'help') throw new Error('help');
    expect(settings.concurrency).toBe(8);
    expect(settings.resyncPeriodMs).toBe(30 * 60_000);
    expect(settings.compiler.dns).toMatchObject({ podLabels: { 'k8s-app': 'coredns' }, port: 5353 });
    expect(settings.compiler.excludedNamespaces).toEqual(expect.arrayContaining(['legacy', 'ci']));
    expect(settings.compiler.memberLabel).toBe(false);
  });

  test("commonLabels that would replace the chart's own label fail the render with a message naming it", () => {
    writeFileSync(join(home, 'bad.yaml'), stringify({ commonLabels: { 'app.kubernetes.io/name': 'other' } }));
    const out = helm(['template', 'netfence', CHART, '-f', join(home, 'bad.yaml')]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('commonLabels: app.kubernetes.io/name is a label the chart sets itself');
  });

  test("docs/helm.md's commands install, upgrade and uninstall the chart on a real API server, and the operator fences with the settings the chart gives it", async () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs/helm.md'), 'utf8');
    const blocks = [...docs.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] ?? '' }));
    const valuesFile = blocks.find((b) => b.lang === 'yaml' && b.text.startsWith('# my-values.yaml\n'));
    if (!valuesFile) throw new Error('docs/helm.md shows no my-values.yaml');
    writeFileSync(join(home, 'my-values.yaml'), valuesFile.text);
    const commands = blocks.filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n').filter((l) => l.trim() !== ''));
    const ran = new Set<string>();
    const run = (prefix: string): string => {
      const line = commands.find((c) => c.startsWith(prefix));
      if (line === undefined) throw new Error(`docs/helm.md has no command ${prefix}`);
      const [tool, ...args] = line.split(/\s+/).map((w) => (w === 'my-values.yaml' ? join(home, 'my-values.yaml') : w));
      const out = tool === 'helm' ? helm(args) : tool === 'kubectl' ? kubectl(started.binaries, started.plane.adminKubeconfig, args) : undefined;
      if (!out) throw new Error(`docs/helm.md runs ${tool}, which this test does not`);
      if (out.code !== 0) throw new Error(`${line} failed (${out.code}): ${out.stderr}`);
      ran.add(line);
      return out.stdout;
    };
    const admin = started.admin;
    const get = async <T>(path: string): Promise<T | undefined> =>
      admin.api.request<T>({ method: 'GET', path }).catch((error: unknown) => {
        if (isApiError(error, 404)) return undefined;
        throw error;
      });
    const installedManager = async (): Promise<Deployment> => (await get<Deployment>('/apis/apps/v1/namespaces/netfence-system/deployments/netfence-manager')) as Deployment;
    const startOperator = async (): Promise<RunningOperator> => {
      const flags = flagsOf(managerOf([await installedManager()]));
      // runOperator logs at debug already, and refuses a flag given twice.
      const at = flags.indexOf('--log-level');
      if (at >= 0) flags.splice(at, 2);
      return runOperator(started.plane.operatorKubeconfig, [...flags, '--operator-namespace', 'netfence-system', '--identity', 'netfence-manager-0']);
    };

    run('helm install ');
    const crd = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/tenantisolations.netfence.dev';
    await eventually('the CRD is established', async () => {
      const found = await get<{ status?: { conditions?: { type: string; status: string }[] } }>(crd);
      return found?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
    for (const o of kustomized.filter((k) => k.kind === 'ClusterRole' || k.kind === 'ValidatingAdmissionPolicy')) {
      const path =
        o.kind === 'ClusterRole'
          ? `/apis/rbac.authorization.k8s.io/v1/clusterroles/${o.metadata.name}`
          : `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${o.metadata.name}`;
      expect((await get<Manifest>(path))?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }

    op = await startOperator();
    expect(kubectl(started.binaries, started.plane.adminKubeconfig, ['apply', '--server-side', '-k', 'config/samples']).code).toBe(0);
    await admin.namespace('sample-web', { [TENANT_LABEL]: 'sample' });
    await admin.until(
      'sample-web is fenced',
      () => admin.policyNames('sample-web'),
      (names) => BASE.every((n) => names.includes(n)),
    );

    expect(run('helm template ')).toContain('replicas: 3');
    run('kubectl apply --server-side -f charts/netfence/crds/');
    run('helm upgrade ');
    const upgraded = await installedManager();
    expect(upgraded.spec.replicas).toBe(3);
    expect(upgraded.metadata.labels?.['team']).toBe('platform');
    expect(managerOf([upgraded]).env.filter((e) => e.name.startsWith('NETFENCE_'))).toEqual([
      { name: 'NETFENCE_LOG_LEVEL', value: 'debug' },
      { name: 'NETFENCE_EXCLUDE_NAMESPACE', value: 'legacy' },
    ]);
    // The replicas restart with the new settings: `legacy` stays out of the tenant.
    expect(await op.stop()).toBe(0);
    op = await startOperator();
    await admin.namespace('legacy', { [TENANT_LABEL]: 'sample' });
    await admin.namespace('sample-api', { [TENANT_LABEL]: 'sample' });
    await admin.until(
      'sample-api is fenced',
      () => admin.policyNames('sample-api'),
      (names) => BASE.every((n) => names.includes(n)),
    );
    expect(await admin.policyNames('legacy')).toEqual([]);
    expect(await op.stop()).toBe(0);
    op = undefined;

    run('helm uninstall ');
    await eventually('the Deployment is gone', async () => ((await get('/apis/apps/v1/namespaces/netfence-system/deployments/netfence-manager')) === undefined ? true : undefined));
    expect(await get(crd)).toBeDefined();
    expect(await admin.getTenant('sample')).toBeDefined();
    run('kubectl delete crd ');
    await eventually('the CRD is gone', async () => ((await get(crd)) === undefined ? true : undefined));

    expect(commands.filter((c) => !ran.has(c))).toEqual([]);
  }, 120_000);
});
