/**
 * What `check` judges besides the Pods of its input: the pods of workloads' templates, the
 * pods that could be created (possible pods), and namespaces a tenant names that the input
 * lacks; and the inputs that prove nothing (exit 2).
 */
import { findViolations } from '../../src/analysis/check.js';
import { buildScene } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { collectInputs } from '../../src/io/inputs.js';
import { parseManifests } from '../../src/io/manifests.js';
import { memberNs, tenant } from '../fixtures/builders.js';
import { runNetfence } from '../fixtures/cli.js';

const TENANTS = `
apiVersion: v1
kind: Namespace
metadata: {name: a1, labels: {netfence.dev/tenant: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b1, labels: {netfence.dev/tenant: b}}
---
apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: a}
spec: {}
---
apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: b}
spec: {}
`;

const OPEN_WEB = `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open-web, namespace: a1}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{}]
`;

const DEPLOYMENT = `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx, ports: [{containerPort: 8080, name: http}]}]
`;

function inputsOf(text: string) {
  return collectInputs(parseManifests(text, 'in.yaml'));
}

function sceneOf(text: string) {
  const i = inputsOf(text);
  return buildScene({ tenants: i.tenants, namespaces: i.namespaces, pods: i.pods, workloads: i.workloads, policies: i.policies, settings: defaultSettings() }, 'planned');
}

describe('check judges every pod that could exist', () => {
  test('a Deployment counts as its pods: a policy opening its label fails the check, by workload name', async () => {
    const r = await runNetfence(['check', '-f', '-'], TENANTS + DEPLOYMENT + OPEN_WEB);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('a1/deployment/web');
    const ok = await runNetfence(['check', '-f', '-'], TENANTS + DEPLOYMENT);
    expect(ok.code).toBe(0);
  });

  test('with no pod carrying the label, the pod that could carry it is judged, and named plainly', async () => {
    const r = await runNetfence(['check', '-f', '-'], TENANTS + OPEN_WEB);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('any pod labelled app=web');
    expect(r.stdout).toContain('in a1');
    const v = findViolations(sceneOf(TENANTS + OPEN_WEB).reach, sceneOf(TENANTS + OPEN_WEB).fences).filter((x) => x.enforced);
    expect(v.length).toBeGreaterThan(0);
    for (const x of v) expect(x.to.pods.map((p) => p.name)).toContain('*{app=web}');
  });

  test('explain takes a workload and a possible pod by the names check gives them', async () => {
    const text = TENANTS + DEPLOYMENT + OPEN_WEB;
    const possible = await runNetfence(['explain', '-f', '-', '8.8.8.8', 'a1/*{app=web}', '--port', '443']);
    expect(possible.code).toBe(2); // no stdin given: nothing read
    const viaPossible = await runNetfence(['explain', '-f', '-', '8.8.8.8', 'a1/*{app=web}', '--port', '443'], text);
    expect(viaPossible.stdout).toContain('to   a1/*{app=web} (tenant a, any pod labelled app=web in a1)');
    expect(viaPossible.stdout).toMatch(/verdict: allowed\n$/);
    expect(viaPossible.code).toBe(0);
    const unlabelled = await runNetfence(['explain', '-f', '-', '8.8.8.8', 'a1/*', '--port', '443'], text);
    expect(unlabelled.stdout).toMatch(/verdict: denied\n$/);
    const workload = await runNetfence(['explain', '-f', '-', '8.8.8.8', 'a1/deployment/web', '--port', '443'], text);
    expect(workload.stdout).toContain('to   a1/deployment/web (tenant a, the pods of a workload)');
    expect(workload.code).toBe(0);
  });

  test('past 256 kinds of pod in a namespace nothing is proven there: the check fails, naming it', async () => {
    const labels = Array.from({ length: 9 }, (_, i) => `k${i}`);
    const policies = labels.map(
      (k) =>
        `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p-${k}, namespace: a1}\nspec: {podSelector: {matchLabels: {${k}: "on"}}, ingress: [{from: [{podSelector: {}}]}]}\n`,
    );
    const scene = sceneOf(TENANTS + policies.join(''));
    expect(scene.reach.cutNamespaces).toEqual(['a1']);
    const r = await runNetfence(['check', '-f', '-'], TENANTS + policies.join(''));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('no path crosses a tenant fence undeclared, but 1 namespace could not be analysed (incomplete, below)');
    expect(r.stdout).toMatch(/error +incomplete +namespace a1: its pod selectors tell apart more kinds of pod than the analysis follows \(over 256\)/);
    const eight = sceneOf(TENANTS + policies.slice(0, 8).join(''));
    expect(eight.reach.cutNamespaces).toEqual([]);
    expect(eight.reach.possiblePods.filter((p) => p.metadata.namespace === 'a1')).toHaveLength(256);
    const passes = await runNetfence(['check', '-f', '-'], TENANTS + policies.slice(0, 8).join(''));
    expect(passes.code).toBe(0);
  });

  test('a port a tenant declares by name is declared only where that name sits: a port opened by number is not', async () => {
    const declaresHttp = TENANTS.replace('metadata: {name: b}\nspec: {}', 'metadata: {name: b}\nspec: {ingress: {from: [{tenant: a, ports: [{port: http}]}]}}').replace(
      'metadata: {name: a}\nspec: {}',
      'metadata: {name: a}\nspec: {egress: {to: [{tenant: b}]}}',
    );
    const passes = await runNetfence(['check', '-f', '-'], declaresHttp);
    expect(passes.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(passes.code).toBe(0);
    const open9090 = `${declaresHttp}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open9090, namespace: b1}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 9090}]}]}
`;
    // No pod in the input: one created later with http on 8080 would be open on 9090 undeclared.
    const r = await runNetfence(['check', '-f', '-'], open9090);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/enters on TCP 9090: 1 path, e\.g\. any pod in a1 \(tenant a\) -> any pod in b1 \(tenant b\)/);
  });

  test('an exposure declared on a named port passes for the pods that could opt into it', async () => {
    const text = TENANTS.replace(
      'metadata: {name: b}\nspec: {}',
      'metadata: {name: b}\nspec: {exposures: [{name: metrics, from: [{tenant: a}], ports: [{port: metrics}]}]}',
    ).replace('metadata: {name: a}\nspec: {}', 'metadata: {name: a}\nspec: {egress: {to: [{tenant: b}]}}');
    const scene = sceneOf(text);
    const exposed = scene.reach.classOfPod('b1', '*{netfence.dev/expose-metrics=true}');
    const from = scene.reach.classOfPod('a1', '*');
    expect(exposed && from && scene.reach.pair(from, exposed).allowed.format()).toBe('TCP any');
    const r = await runNetfence(['check', '-f', '-'], text);
    expect(r.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(r.code).toBe(0);
  });

  test('two different names never meet on one port of a possible pod', () => {
    const text = `${TENANTS}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-http, namespace: a1}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: http}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-metrics, namespace: b1}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{ports: [{port: metrics}]}]}
`;
    const scene = sceneOf(text);
    const from = scene.reach.classOfPod('a1', '*');
    const to = scene.reach.classOfPod('b1', '*');
    expect(from && to && scene.reach.pair(from, to).allowed.isEmpty()).toBe(true);
  });

  test('a named port on a pod that could exist stands for every port a pod may give that name', () => {
    const text = `${TENANTS}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: http-from-all, namespace: a1}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: http}]}]
`;
    const scene = sceneOf(text);
    const api = scene.reach.classOfPod('a1', '*{app=api}');
    expect(api).toBeDefined();
    const v = findViolations(scene.reach, scene.fences).filter((x) => x.enforced && x.to === api);
    expect(v.length).toBeGreaterThan(0);
    for (const x of v) expect(x.ports.format()).toBe('TCP any');
  });

  test('workloads: every kind, its namespace, template labels, ports and hostNetwork; a Job adds its job-name labels', () => {
    const kinds: [string, string, string][] = [
      ['apps/v1', 'Deployment', 'template'],
      ['apps/v1', 'StatefulSet', 'template'],
      ['apps/v1', 'DaemonSet', 'template'],
      ['apps/v1', 'ReplicaSet', 'template'],
      ['batch/v1', 'Job', 'template'],
      ['v1', 'ReplicationController', 'template'],
    ];
    const template = `metadata: {labels: {app: w}}\n    spec: {hostNetwork: true, containers: [{name: c, image: i, env: [{name: X, value: "1"}], ports: [{containerPort: 80, name: web}]}]}`;
    const docs = kinds.map(([v, k]) => `apiVersion: ${v}\nkind: ${k}\nmetadata: {name: w, namespace: a1}\nspec:\n  replicas: 2\n  template:\n    ${template}`);
    docs.push(
      `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: w, namespace: a1}\nspec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n        ${template.replace('\n    ', '\n        ')}`,
    );
    const i = inputsOf(docs.join('\n---\n'));
    expect(i.workloads.map((p) => p.metadata.name).sort()).toEqual([
      'cronjob/w',
      'daemonset/w',
      'deployment/w',
      'job/w',
      'replicaset/w',
      'replicationcontroller/w',
      'statefulset/w',
    ]);
    for (const p of i.workloads) {
      expect(p.metadata.namespace).toBe('a1');
      expect(p.spec).toEqual({ hostNetwork: true, containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'web' }] }] });
    }
    expect(i.workloads.find((p) => p.metadata.name === 'job/w')?.metadata.labels).toEqual({ app: 'w', 'batch.kubernetes.io/job-name': 'w', 'job-name': 'w' });
    expect(i.workloads.find((p) => p.metadata.name === 'cronjob/w')?.metadata.labels).toEqual({ app: 'w' });
    expect(i.ignored.size).toBe(0);
  });

  test('a workload is validated like a Pod: its template labels and container ports, with their line', () => {
    const bad = `apiVersion: apps/v1
kind: Deployment
metadata: {name: w, namespace: a1}
spec:
  template:
    metadata:
      labels: {"bad key!": x}
    spec:
      containers:
        - name: c
          ports: [{containerPort: 70000}]
`;
    expect(() => inputsOf(bad)).toThrow(/in\.yaml:7: Deployment a1\/w: .*labels.*\n?[\s\S]*in\.yaml:11: Deployment a1\/w: .*containerPort/);
    expect(() => inputsOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec: {}\n')).toThrow(/metadata\.namespace is required/);
  });

  test('a namespace a tenant names is fenced as it will be when created, though the input lacks it', async () => {
    const text = `apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: a}
spec: {namespaces: [a1]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: a1}
spec: {podSelector: {}, ingress: [{}]}
`;
    const r = await runNetfence(['check', '-f', '-'], text);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('any pod in a1 (tenant a)');
    expect(r.stdout).toMatch(/warning +missing-namespace +tenant a names namespace a1, which the input does not hold: it is analysed as the operator will fence it/);
    // Without the hand-written policy the fence holds: the generated policies are analysed there too.
    const fenced = sceneOf(text.split('---')[0] as string);
    expect(fenced.policies.filter((p) => p.metadata.namespace === 'a1').map((p) => p.metadata.name)).toContain('netfence-default-deny');
  });

  test('the live reading is not completed: a named namespace the cluster lacks stays absent', () => {
    const scene = buildScene({ tenants: [tenant('a', { namespaces: ['a1'] })], namespaces: [memberNs('x', 'a')], pods: [], policies: [], settings: defaultSettings() }, 'live');
    expect(scene.namespaces.map((n) => n.metadata.name)).toEqual(['x']);
  });
});

test('render warns of a workload whose template opts into an exposure its tenant does not declare', async () => {
  const text = TENANTS + DEPLOYMENT.replace('labels: {app: web}}', 'labels: {app: web, netfence.dev/expose-web: "true"}}');
  const r = await runNetfence(['render', '-f', '-'], text);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('pod a1/deployment/web has label netfence.dev/expose-web but tenant declares no exposure "web"');
});

describe('check refuses an input that proves nothing', () => {
  test.each([
    ['an empty input', '', /nothing to check: the input holds no object/],
    ['a trailing separator only', '---\n', /nothing to check: the input holds no object/],
    ['namespaces and no TenantIsolation', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a1}\n', /nothing to check: the input holds no TenantIsolation \(1 other object\)/],
  ])('%s: exit 2', async (_what, text, message) => {
    const r = await runNetfence(['check', '-f', '-'], text);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('a misspelt kind of the netfence.dev group is an error with its line, in every command', async () => {
    const text = `${TENANTS}---\napiVersion: netfence.dev/v1alpha1\nkind: Tenantisolation\nmetadata: {name: c}\nspec: {}\n`;
    for (const command of ['check', 'render', 'matrix']) {
      const r = await runNetfence([command, '-f', '-'], text);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/<stdin>:21: netfence\.dev has no kind "Tenantisolation": the only kind is TenantIsolation/);
    }
  });
});
