/**
 * The offline commands refuse what the API server would refuse, with `file:line:` and exit 2,
 * and the settings flags of the CLI and the operator refuse values that cannot work.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/cli/args.js';
import { runSettings } from '../../src/cli/run.js';
import { runNetfence } from '../fixtures/cli.js';

const TWO_TENANTS = join(process.cwd(), 'examples', 'two-tenants');

function tempFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'netfence-validation-')), 'bad.yaml');
  writeFileSync(file, text);
  return file;
}

const POLICY_HEAD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: team-a
spec:
  podSelector: {}
`;

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: team-a}
spec:
  containers: [{name: app, ports: [{containerPort: 80}]}]
status:
  podIP: 10.0.0.300
`;

describe('the offline commands exit 2 on an object the API server would refuse, naming its file and line', () => {
  test.each([
    [
      'a CIDR that does not parse',
      `${POLICY_HEAD}  egress:\n    - to:\n        - ipBlock:\n            cidr: 10.0.0.0/33\n`,
      ':11: NetworkPolicy team-a/allow-web: spec.egress[0].to[0].ipBlock.cidr: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8',
    ],
    [
      'an except outside its CIDR',
      `${POLICY_HEAD}  egress:\n    - to:\n        - ipBlock:\n            cidr: 10.0.0.0/8\n            except:\n              - 11.0.0.0/16\n`,
      ':13: NetworkPolicy team-a/allow-web: spec.egress[0].to[0].ipBlock.except[0]: "11.0.0.0/16" is not strictly inside cidr 10.0.0.0/8',
    ],
    [
      'port 70000',
      `${POLICY_HEAD}  ingress:\n    - ports:\n        - protocol: TCP\n          port: 70000\n`,
      ':11: NetworkPolicy team-a/allow-web: spec.ingress[0].ports[0].port: must be between 1 and 65535, found 70000',
    ],
    [
      'a lowercase policy type',
      `${POLICY_HEAD}  policyTypes:\n    - Egress\n    - ingress\n`,
      ':10: NetworkPolicy team-a/allow-web: spec.policyTypes[1]: must be one of "Ingress", "Egress", found "ingress"',
    ],
    [
      'an unknown field',
      `${POLICY_HEAD}  ingress:\n    - from:\n        - podSelector: {}\n          namespace: team-b\n`,
      ':11: NetworkPolicy team-a/allow-web: unknown field "spec.ingress[0].from[0].namespace"',
    ],
    [
      'an empty peer',
      `${POLICY_HEAD}  ingress:\n    - from:\n        - {}\n`,
      ':10: NetworkPolicy team-a/allow-web: spec.ingress[0].from[0]: must specify a peer: podSelector, namespaceSelector or ipBlock',
    ],
    ['a namespace named Team_A', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Team_A\n', `:4: Namespace Team_A: metadata.name: "Team_A" is not a DNS label`],
    [
      'a label value with a space',
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    netfence.dev/tenant: team a\n',
      ':6: Namespace team-a: metadata.labels[netfence.dev/tenant]: "team a" is not a label value',
    ],
    [
      'the same Namespace twice, once with a stray namespace',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  namespace: default\n',
      ':5: Namespace team-a is defined twice (first at ',
    ],
    ['a pod IP that is not an IP address', POD, ':7: Pod team-a/web-0: status.podIP: "10.0.0.300" is not an IP address'],
  ])('%s', async (_what, text, message) => {
    const file = tempFile(text);
    const run = await runNetfence(['render', '-f', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`netfence render: ${file}${message}`);
  });

  test.each([
    [
      'check',
      'a CIDR that does not parse',
      `${POLICY_HEAD}  egress:\n    - to:\n        - ipBlock: {cidr: 10.0.0.0/33}\n`,
      ':10: NetworkPolicy team-a/allow-web: spec.egress[0].to[0].ipBlock.cidr',
    ],
    ['check', 'port 70000', `${POLICY_HEAD}  ingress:\n    - ports: [{port: 70000}]\n`, ':9: NetworkPolicy team-a/allow-web: spec.ingress[0].ports[0].port'],
    ['matrix', 'a pod IP that is not an IP address', POD, ':7: Pod team-a/web-0: status.podIP'],
  ])('%s refuses %s with its line instead of failing inside the evaluator', async (command, _what, text, message) => {
    const file = tempFile(text);
    const run = await runNetfence([command, '-f', TWO_TENANTS, '-f', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`netfence ${command}: ${file}${message}`);
  });

  test('reports the problems of every object in one run', async () => {
    const file = tempFile(`apiVersion: v1\nkind: Namespace\nmetadata: {name: Team_A}\n---\n${POLICY_HEAD}  policyTypes: [ingress]\n`);
    const run = await runNetfence(['render', '-f', file]);
    expect(run.code).toBe(2);
    expect(
      run.stderr
        .trim()
        .split('\n')
        .map((l) => l.slice(`netfence render: ${file}`.length).split(': ')[0]),
    ).toEqual([':3', ':12']);
  });
});

describe('the settings flags refuse values that cannot work, naming the flag', () => {
  test.each([
    [
      ['--dns-selector', 'k 8s=v v'],
      ['--dns-selector: "k 8s" is not a label key', '--dns-selector: "v v" is not a label value'],
    ],
    [['--dns-selector', 'app=coredns,app=kube-dns'], ['--dns-selector: label key "app" is given twice']],
    [['--dns-selector', 'coredns'], ['--dns-selector: "coredns" is not KEY=VALUE']],
    [['--dns-namespace', ''], ['--dns-namespace: "" is not a DNS label']],
    [['--dns-namespace', 'Kube_System'], ['--dns-namespace: "Kube_System" is not a DNS label']],
    [['--dns-port', '0x35'], ['--dns-port: "0x35" is not a port number: digits only, from 1 to 65535']],
    [['--dns-port', '5e1'], ['--dns-port: "5e1" is not a port number']],
    [['--dns-port', '65536'], ['--dns-port: "65536" is not a port number']],
    [['--operator-namespace', 'netfence.system'], ['--operator-namespace: "netfence.system" is not a DNS label']],
    [['--exclude-namespace', 'monitoring', '--exclude-namespace', 'Ingress_Nginx'], ['--exclude-namespace: "Ingress_Nginx" is not a DNS label']],
    [['--member-label', 'yes'], ['--member-label: "yes" is not on or off']],
  ])('netfence render %j exits 2', async (flags, messages) => {
    const run = await runNetfence(['render', '-f', TWO_TENANTS, ...flags]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    for (const m of messages) expect(run.stderr).toContain(m);
  });

  test('every settings flag takes a valid value', async () => {
    const run = await runNetfence([
      'render',
      '-f',
      TWO_TENANTS,
      '--operator-namespace',
      'platform',
      '--exclude-namespace',
      'monitoring',
      '--dns-namespace',
      'dns',
      '--dns-selector',
      'example.com/app=core-dns,tier=',
      '--dns-port',
      '5353',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('example.com/app: core-dns');
  });

  test('--member-label off selects members by name, on (the default) by the member label', async () => {
    const off = await runNetfence(['render', '-f', TWO_TENANTS, '--member-label', 'off']);
    const on = await runNetfence(['render', '-f', TWO_TENANTS, '--member-label', 'on']);
    const byDefault = await runNetfence(['render', '-f', TWO_TENANTS]);
    expect([off.code, on.code, byDefault.code]).toEqual([0, 0, 0]);
    expect(off.stdout).not.toContain('netfence.dev/member');
    expect(on.stdout).toContain('netfence.dev/member: acme');
    expect(byDefault.stdout).toBe(on.stdout);
  });

  test.each([
    [['--dns-port', '0x35'], {}, /--dns-port: "0x35" is not a port number/],
    [[], { NETFENCE_DNS_SELECTOR: 'k 8s=coredns' }, /--dns-selector: "k 8s" is not a label key/],
    [[], { NETFENCE_DNS_NAMESPACE: 'Kube_System' }, /--dns-namespace: "Kube_System" is not a DNS label/],
    [[], { NETFENCE_EXCLUDE_NAMESPACE: 'monitoring,Ingress_Nginx' }, /--exclude-namespace: "Ingress_Nginx" is not a DNS label/],
    [[], { POD_NAMESPACE: 'Netfence' }, /--operator-namespace: "Netfence" is not a DNS label/],
    [[], { NETFENCE_MEMBER_LABEL: 'true' }, /--member-label: "true" is not on or off/],
  ] as [string[], NodeJS.ProcessEnv, RegExp][])('netfence run refuses the same values: %j %j', (argv, env, message) => {
    expect(() => runSettings(argv, env)).toThrow(UsageError);
    expect(() => runSettings(argv, env)).toThrow(message);
  });
});
