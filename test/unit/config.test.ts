/**
 * config/ read as kustomize builds it (test/fixtures/kustomize.ts), held to what issue 6 and
 * the code promise: the Deployment's hardening and its settings as `netfence run` parses
 * them, the PodDisruptionBudget, least-privilege RBAC, the guard naming the operator's real
 * identity and labels, and the operator namespace's own NetworkPolicies, judged by the
 * evaluator rather than by reading them. The install test applies the same tree to a real
 * API server with kubectl.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Namespace, NetworkPolicy, Pod, Protocol } from '../../src/api/k8s.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, NAMESPACE_NAME_LABEL, TENANT_LABEL } from '../../src/api/constants.js';
import { runSettings } from '../../src/cli/run.js';
import { buildEvaluator, parseEndpoint } from '../../src/evaluator/index.js';
import { runNetfence } from '../fixtures/cli.js';
import { kustomizeBuild, type Manifest } from '../fixtures/kustomize.js';

const ROOT = process.cwd();
const DEFAULT = kustomizeBuild(join(ROOT, 'config', 'default'));

function only<T = Manifest>(kind: string, name?: string): T {
  const found = DEFAULT.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`config/default holds ${found.length} ${kind}${name ? ` ${name}` : ''}, expected 1`);
  return found[0] as T;
}

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}

interface Deployment extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy?: { rollingUpdate?: { maxUnavailable?: number } };
    template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; securityContext: Record<string, unknown>; containers: Container[] } };
  };
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

const deployment = only<Deployment>('Deployment');
const pod = deployment.spec.template.spec;
const manager = pod.containers.find((c) => c.name === 'manager') as Container;
const operatorNamespace = deployment.metadata.namespace as string;

/** Kubernetes quantities as bytes (memory) or millicores (cpu). */
function quantity(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(text);
  if (!m) throw new Error(`not a quantity: ${text}`);
  const unit = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2] as string] ?? 1;
  return Number(m[1]) * unit;
}

/** The container's environment as the kubelet would fill it in (downward API included). */
function containerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of manager.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'netfence-manager-abc12';
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = operatorNamespace;
  }
  return env;
}

describe('config/default', () => {
  test('holds each object once, namespaced ones in the operator namespace', () => {
    const keys = DEFAULT.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const namespaced = DEFAULT.filter((o) => o.metadata.namespace !== undefined);
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set([operatorNamespace]));
    expect(only('Namespace').metadata.name).toBe(operatorNamespace);
  });

  test('nothing it installs carries the label that marks policies netfence generated', () => {
    expect(DEFAULT.filter((o) => o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE).map((o) => o.metadata.name)).toEqual([]);
  });

  test('the operator namespace enforces the restricted Pod Security Standard', () => {
    expect(only('Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  describe('the Deployment', () => {
    test('runs two replicas and rolls without taking one down first', () => {
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(deployment.spec.selector.matchLabels));
    });

    test('runs as a numeric non-root user with a read-only root, no privilege escalation, no capabilities and the runtime seccomp profile', () => {
      expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } }));
      expect(manager.securityContext).toEqual(
        expect.objectContaining({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        }),
      );
      for (const c of pod.containers) expect(c.securityContext?.['readOnlyRootFilesystem']).toBe(true);
    });

    test('the Dockerfile runs the same numeric user the pod asks for', () => {
      const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
      const stages = dockerfile.split(/^FROM /m).slice(1);
      const final = stages.at(-1) ?? '';
      expect(final).toMatch(new RegExp(`^USER ${String(pod.securityContext['runAsUser'])}:${String(pod.securityContext['runAsUser'])}$`, 'm'));
      expect(final).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/bin\/netfence\.js"\]$/m);
      expect(final).toMatch(/^CMD \["run"\]$/m);
      expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs24-debian13:nonroot$/m);
      expect(manager.args?.[0]).toBe('run');
    });

    test('sets requests and limits, with a heap cap well inside the memory limit', () => {
      const { requests = {}, limits = {} } = manager.resources ?? {};
      for (const r of ['cpu', 'memory']) {
        expect(requests[r]).toBeDefined();
        expect(limits[r]).toBeDefined();
        expect(quantity(requests[r] as string)).toBeLessThanOrEqual(quantity(limits[r] as string));
      }
      const heap = /--max-old-space-size=(\d+)/.exec(containerEnv()['NODE_OPTIONS'] ?? '');
      expect(heap).not.toBeNull();
      expect(Number(heap?.[1]) * 1024 ** 2).toBeLessThan(0.6 * quantity(limits['memory'] as string));
    });

    test('its arguments and environment are settings `netfence run` accepts, on the ports its probes and Service use', () => {
      const settings = runSettings(manager.args?.slice(1) ?? [], containerEnv());
      if (settings === 'help') throw new Error('help');
      expect(settings.operatorNamespace).toBe(operatorNamespace);
      expect(settings.identity).toBe('netfence-manager-abc12');
      expect(settings.leaderElect).toBe(true);
      const port = (name: string) => manager.ports?.find((p) => p.name === name)?.containerPort;
      expect(port('health')).toBe(settings.healthPort);
      expect(port('metrics')).toBe(settings.metricsPort);
      expect(manager.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
      expect(manager.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
      const service = only<Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } }>('Service');
      expect(service.spec.ports).toEqual([expect.objectContaining({ port: settings.metricsPort, targetPort: 'metrics' })]);
      expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    });

    test('pulls the released image, tagged with the package version', () => {
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(manager.image).toBe(`ghcr.io/netfence/netfence:v${version}`);
      expect(manager.imagePullPolicy).toBe('IfNotPresent');
    });
  });

  test("the PodDisruptionBudget covers exactly the Deployment's pods and keeps one", () => {
    const pdb = only<Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });

  describe('RBAC', () => {
    const roles = DEFAULT.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (Manifest & { rules: Rule[] })[];
    const bindings = DEFAULT.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') as (Manifest & {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    })[];

    test('grants no wildcard, nothing on Secrets, and nothing through escalate, bind or impersonate', () => {
      for (const role of roles) {
        for (const rule of role.rules) {
          expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]).not.toContain('*');
          expect(rule.resources ?? []).not.toContain('secrets');
          expect(rule.verbs.filter((v) => ['escalate', 'bind', 'impersonate'].includes(v))).toEqual([]);
        }
      }
    });

    test('binds the ServiceAccount the Deployment runs as, the Lease through a Role in its namespace only', () => {
      for (const binding of bindings) {
        expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: operatorNamespace }]);
      }
      const leaseRules = roles.flatMap((r) => r.rules.filter((rule) => rule.resources?.includes('leases')).map(() => ({ kind: r.kind, namespace: r.metadata.namespace })));
      expect(leaseRules).toEqual([{ kind: 'Role', namespace: operatorNamespace }]);
      expect(only('ServiceAccount').metadata.name).toBe(pod.serviceAccountName);
    });
  });

  describe('the admission guard', () => {
    const guard = only<Manifest & { spec: { failurePolicy: string; variables: { name: string; expression: string }[] } }>('ValidatingAdmissionPolicy');
    const binding = only<Manifest & { spec: { policyName: string; validationActions: string[] } }>('ValidatingAdmissionPolicyBinding');
    const variable = (name: string) => guard.spec.variables.find((v) => v.name === name)?.expression ?? '';

    test('exempts exactly the identity the Deployment runs as', () => {
      expect(variable('operator')).toBe(`request.userInfo.username == 'system:serviceaccount:${operatorNamespace}:${pod.serviceAccountName}'`);
    });

    test('guards the labels netfence reads and writes', () => {
      expect(variable('tenantBefore')).toContain(`'${TENANT_LABEL}' in oldObject.metadata.labels`);
      expect(variable('tenantAfter')).toContain(`'${TENANT_LABEL}' in object.metadata.labels`);
      expect(variable('managedBefore')).toContain(`oldObject.metadata.labels['${MANAGED_BY_LABEL}'] == '${MANAGED_BY_VALUE}'`);
      expect(variable('managedAfter')).toContain(`object.metadata.labels['${MANAGED_BY_LABEL}'] == '${MANAGED_BY_VALUE}'`);
    });

    test('is bound to deny, and fails closed', () => {
      expect(binding.spec.policyName).toBe(guard.metadata.name);
      expect(binding.spec.validationActions).toEqual(['Deny']);
      expect(guard.spec.failurePolicy).toBe('Fail');
    });
  });

  describe("the operator namespace's own NetworkPolicies", () => {
    const policies = DEFAULT.filter((o) => o.kind === 'NetworkPolicy') as unknown as NetworkPolicy[];
    const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [NAMESPACE_NAME_LABEL]: name, ...labels } },
    });
    const podIn = (namespace: string, name: string, labels: Record<string, string>, ip: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace, name, labels },
      status: { podIP: ip },
    });
    const ev = buildEvaluator({
      namespaces: [ns(operatorNamespace), ns('monitoring', { 'netfence.dev/metrics-scraper': 'true' }), ns('shop'), ns('kube-system')],
      pods: [
        podIn(operatorNamespace, 'manager', deployment.spec.template.metadata.labels, '10.1.0.5'),
        podIn(operatorNamespace, 'other', { app: 'debug' }, '10.1.0.6'),
        podIn('monitoring', 'prometheus', { app: 'prometheus' }, '10.2.0.5'),
        podIn('shop', 'web', { app: 'web' }, '10.3.0.5'),
        podIn('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }, '10.0.0.10'),
      ],
      policies,
    });
    const cases: [from: string, to: string, port: number, protocol: Protocol, allowed: boolean][] = [
      // The API server, at a Service address, a control-plane node, or over IPv6.
      [`${operatorNamespace}/manager`, '10.96.0.1', 443, 'TCP', true],
      [`${operatorNamespace}/manager`, '172.18.0.2', 6443, 'TCP', true],
      [`${operatorNamespace}/manager`, '2001:db8::1', 443, 'TCP', true],
      [`${operatorNamespace}/manager`, '169.254.169.254', 443, 'TCP', false],
      [`${operatorNamespace}/manager`, 'fd00:ec2::254', 443, 'TCP', false],
      [`${operatorNamespace}/manager`, '169.254.169.254', 80, 'TCP', false],
      [`${operatorNamespace}/manager`, '10.96.0.1', 80, 'TCP', false],
      [`${operatorNamespace}/manager`, 'kube-system/coredns', 53, 'UDP', false],
      // Addresses are not narrowed, ports are (allow_apiserver.yaml says so): a pod that
      // accepts 443 is reachable on it, and on nothing else.
      [`${operatorNamespace}/manager`, 'shop/web', 443, 'TCP', true],
      [`${operatorNamespace}/manager`, 'shop/web', 8080, 'TCP', false],
      // Metrics: from the labelled monitoring namespace, on the metrics port only.
      ['monitoring/prometheus', `${operatorNamespace}/manager`, 8080, 'TCP', true],
      ['monitoring/prometheus', `${operatorNamespace}/manager`, 8081, 'TCP', false],
      ['shop/web', `${operatorNamespace}/manager`, 8080, 'TCP', false],
      ['203.0.113.7', `${operatorNamespace}/manager`, 8080, 'TCP', false],
      // Anything else in the namespace is fenced off entirely.
      [`${operatorNamespace}/other`, '10.96.0.1', 443, 'TCP', false],
      ['monitoring/prometheus', `${operatorNamespace}/other`, 8080, 'TCP', false],
    ];
    test.each(cases)('%s -> %s %d/%s: allowed %s', (from, to, port, protocol, allowed) => {
      expect(ev.evaluate(parseEndpoint(from), parseEndpoint(to), port, protocol).allowed).toBe(allowed);
    });
  });
});

describe('config/samples', () => {
  test('renders without a warning, and the sample tenant fences a labelled namespace', async () => {
    const run = await runNetfence(
      ['render', '-f', join(ROOT, 'config', 'samples'), '-f', '-'],
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {${TENANT_LABEL}: sample}}\n`,
    );
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/warning:|error/i);
    expect(run.stderr).toContain(', 0 warnings\n');
    expect(run.stdout).toContain('name: netfence-default-deny\n  namespace: web');
    expect(run.stdout).toContain('name: netfence-expose-web');
  });
});
