/**
 * Reading manifests as kubectl reads them, and refusing what it cannot hold: every form
 * real tools write, every way input goes wrong, each with its file and line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileProblem, readPath } from '../../src/io/files.js';
import { InputError, parseManifests, readManifests, READ_LIMITS } from '../../src/io/manifests.js';
import { runNetfence } from '../fixtures/cli.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'netfence-read-'));
}

function file(name: string, content: string | Buffer, where = dir()): string {
  const path = join(where, name);
  writeFileSync(path, content);
  return path;
}

function objects(text: string, name = 'in.yaml'): Record<string, unknown>[] {
  return parseManifests(text, name).map((m) => m.object);
}

function problems(text: string, name = 'in.yaml'): string[] {
  try {
    parseManifests(text, name);
  } catch (e) {
    if (e instanceof InputError) return [...e.problems];
    throw e;
  }
  throw new Error('expected an InputError');
}

const NS = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

describe('empty documents are skipped, as kubectl skips them', () => {
  test.each([
    ['a trailing ---', `${NS('a')}---\n`],
    ['--- twice', `---\n---\n${NS('a')}`],
    ['a comment-only document', `# nothing here\n---\n${NS('a')}---\n# still nothing\n`],
    ["Helm's # Source: line for a template that rendered empty", `---\n# Source: chart/templates/empty.yaml\n---\n# Source: chart/templates/ns.yaml\n${NS('a')}`],
    ['an explicit end of document', `${NS('a')}...\n---\n`],
    ['a null document', `~\n---\n${NS('a')}`],
  ])('%s', (_what, text) => {
    expect(objects(text).map((o) => (o.metadata as { name: string }).name)).toEqual(['a']);
  });

  test('a file with nothing in it reads as no objects', () => {
    expect(objects('')).toEqual([]);
    expect(objects('\n# just a comment\n')).toEqual([]);
  });
});

describe('YAML merge keys are honoured', () => {
  const base = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: a}
spec:
  podSelector: {}
`;
  test('rules that come in through << are read, not dropped', () => {
    const [policy] = objects(base.replace('spec:\n  podSelector: {}\n', 'spec:\n  <<: {ingress: [{}], policyTypes: [Ingress]}\n  podSelector: {}\n'));
    expect(policy?.spec).toEqual({ ingress: [{}], policyTypes: ['Ingress'], podSelector: {} });
  });

  test('an anchor in the same document merges, explicit keys win, earlier merged mappings win', () => {
    const [obj] = objects(`apiVersion: v1
kind: Namespace
metadata: {name: m}
data:
  base: &base {a: "1", b: "1"}
  other: &other {b: "2", c: "2"}
  merged:
    <<: [*base, *other]
    c: "3"
`);
    expect((obj?.data as Record<string, unknown>).merged).toEqual({ a: '1', b: '1', c: '3' });
  });

  test('a key given before a << that brings it too is refused: readers disagree on which wins', () => {
    expect(problems('a: &x {k: 1}\nb:\n  k: 2\n  <<: *x\n')).toEqual([expect.stringMatching(/^in\.yaml:4: key "k" is given before a << merge/)]);
  });

  test('check sees a policy opened through a merge key, as the cluster would', async () => {
    const where = dir();
    writeFileSync(
      join(where, 'cluster.yaml'),
      `apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: t}
spec: {namespaces: [a]}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: a}
spec:
  <<: {ingress: [{}], policyTypes: [Ingress]}
  podSelector: {}
`,
    );
    const run = await runNetfence(['check', '-f', where]);
    expect(run.stdout).toContain('a/open');
    expect(run.code).toBe(1);
  });
});

describe('JSON streams', () => {
  test('a List of 160,000 objects on one line is read whole: no stack or quadratic limit on the number of items', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netfence-many-'));
    const file = join(dir, 'many.json');
    const items = Array.from({ length: 160_000 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'a' } }));
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const read = readManifests([file]);
    expect(read).toHaveLength(160_000);
    expect(read[159_999]?.object.metadata).toEqual({ name: 'c159999', namespace: 'a' });
    expect(read[159_999]?.source.line).toBe(1);
  }, 60_000);

  const ns = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  test.each([
    ['concatenated objects', `${ns('a')}${ns('b')}`],
    ['one object per line, as jq .items[] writes', `${ns('a')}\n${ns('b')}\n`],
    ['pretty-printed objects one after another', `${JSON.stringify(JSON.parse(ns('a')), null, 2)}\n${JSON.stringify(JSON.parse(ns('b')), null, 2)}`],
    [
      'two appended kubectl get -o json outputs',
      `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse(ns('a'))], metadata: { resourceVersion: '' } }, null, 4)}\n${JSON.stringify({ apiVersion: 'v1', kind: 'NamespaceList', items: [JSON.parse(ns('b'))] }, null, 4)}\n`,
    ],
  ])('%s', (_what, text) => {
    expect(objects(text, 'in.json').map((o) => (o.metadata as { name: string }).name)).toEqual(['a', 'b']);
  });

  test('a syntax error is one problem with its line, not a hundred parser errors', () => {
    const text = `${ns('a')}\n${ns('b')}\n{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c",}}\n${ns('d')}\n`;
    const found = problems(text, 'in.json');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^in\.json:3: JSON syntax: /);
  });

  test('an object that never closes names its line', () => {
    expect(problems(`${ns('a')}\n\n{"apiVersion": "v1", "kind":`, 'in.json')).toEqual([expect.stringMatching(/^in\.json:3: JSON syntax: an object that never closes/)]);
  });

  test('a duplicate key in a NetworkPolicy is refused (JSON.parse would keep the last silently)', () => {
    const text =
      '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",\n "metadata": {"name": "p", "namespace": "a"},\n "spec": {"podSelector": {}, "ingress": [{}],\n  "ingress": []}}';
    expect(problems(text, 'in.json')).toEqual(['in.json:4: duplicate field "spec.ingress"']);
  });

  test('a duplicate key deep in a list names its path', () => {
    const text =
      '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "a"},\n "spec": {"podSelector": {}, "ingress": [{}, {"from": [], "ports": [],\n "from": [{"podSelector": {}}]}]}}';
    expect(problems(text, 'in.json')).toEqual(['in.json:3: duplicate field "spec.ingress[1].from"']);
  });

  test('a duplicate key in YAML is refused with its line', () => {
    expect(problems(`${NS('a')}  name: b\n`)).toEqual([expect.stringMatching(/^in\.yaml:5: duplicate key "name"/)]);
  });

  test('flow YAML that looks like JSON is read as YAML', () => {
    expect(objects('{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n')).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }]);
  });
});

describe('values are read as kubectl reads them (YAML 1.1)', () => {
  const port = (text: string): unknown => {
    const [obj] = objects(`apiVersion: v1\nkind: Namespace\nmetadata: {name: m}\nv: ${text}\n`);
    return obj?.v;
  };
  test.each([
    ['010', 8],
    ['0x35', 53],
    ['0o17', 15],
    ['0b101', 5],
    ['1_000', 1000],
    ['08', 8],
    ['53', 53],
    ['-1', -1],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['yes', true],
    ['y', true],
    ['On', true],
    ['n', false],
    ['off', false],
    ['~', null],
    ['Null', null],
    ['"010"', '010'],
    ["'yes'", 'yes'],
    ['2024-01-02', '2024-01-02'],
    ['1:20', '1:20'],
    ['0x', '0x'],
    ['.5', 0.5],
    ['+12', 12],
  ])('%s reads as %p', (text, value) => {
    expect(port(text)).toEqual(value);
  });

  test('a NetworkPolicy port 010 is port 8, and the full reader agrees', () => {
    const doc = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 010\n';
    const fast = objects(doc)[0];
    const full = objects(`${doc}  x: &a 1\n`)[0] as { spec: Record<string, unknown> };
    expect((fast?.spec as { ingress: { ports: unknown[] }[] }).ingress[0]?.ports).toEqual([{ port: 8 }]);
    delete full.spec.x;
    expect(full).toEqual(fast);
  });
});

test('a key named __proto__ is an own field in every reader, never the prototype', () => {
  for (const text of [
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n__proto__: {polluted: true}\n',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n__proto__: {polluted: true}\nx: &a 1\n',
  ]) {
    const [obj] = objects(text);
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(obj, '__proto__')).toBe(true);
    expect((obj as { polluted?: unknown }).polluted).toBeUndefined();
  }
});

describe('aliases', () => {
  test('an alias to an anchor of another document is an error with its line (kubectl reads each document alone)', () => {
    expect(problems(`a: &x 1\n---\n${NS('n')}  labels: {l: *x}\n`)).toEqual([expect.stringMatching(/^in\.yaml:7: alias \*x has no anchor &x in this document/)]);
  });

  test('an alias bomb is refused, not expanded', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++)
      text += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const t0 = Date.now();
    expect(problems(text)).toEqual([expect.stringMatching(/^in\.yaml:\d+: aliases expand this document to more than 100000 values/)]);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('an alias inside its own anchor is refused', () => {
    expect(problems('a: &x\n  b: *x\n')).toEqual([expect.stringMatching(/^in\.yaml:2: alias \*x refers to a node that contains it/)]);
  });
});

describe('files and directories', () => {
  test('a directory with a symbolic link loop names the loop and reads the rest', () => {
    const root = dir();
    mkdirSync(join(root, 'sub'));
    file('ns.yaml', NS('a'), join(root, 'sub'));
    symlinkSync('..', join(root, 'sub', 'loop'));
    const err = catchInput(() => readManifests([root]));
    expect(err).toEqual([expect.stringMatching(/sub\/loop: a symbolic link loop/)]);
  });

  test('a broken symbolic link is named', () => {
    const root = dir();
    symlinkSync(join(root, 'missing.yaml'), join(root, 'ns.yaml'));
    expect(catchInput(() => readManifests([root]))).toEqual([`${join(root, 'ns.yaml')}: a broken symbolic link (its target does not exist)`]);
    expect(catchInput(() => readManifests([join(root, 'ns.yaml')]))).toEqual([`${join(root, 'ns.yaml')}: a broken symbolic link (its target does not exist)`]);
  });

  test('a directory is read in name order, hidden entries skipped, linked files and folders followed', () => {
    const root = dir();
    const elsewhere = dir();
    file('b.yaml', NS('b'), root);
    file('a.json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }), root);
    file('.hidden.yaml', NS('hidden'), root);
    file('notes.txt', 'not a manifest', root);
    file('c.yml', NS('c'), elsewhere);
    symlinkSync(join(elsewhere, 'c.yml'), join(root, 'c.yml'));
    mkdirSync(join(elsewhere, 'sub'));
    file('d.yaml', NS('d'), join(elsewhere, 'sub'));
    symlinkSync(join(elsewhere, 'sub'), join(root, 'd'));
    expect(readManifests([root]).map((m) => (m.object.metadata as { name: string }).name)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a file larger than the limit is refused while it is read, FIFOs too', () => {
    const path = file('big.yaml', 'x'.repeat(5000));
    expect(() => readPath(path, 4096)).toThrow(new FileProblem(`${path}: larger than 4 KiB: too large to be manifests`));
    expect(readPath(path, 5000).length).toBe(5000);
  });

  test('a missing path is named', () => {
    expect(catchInput(() => readManifests(['/nonexistent/x.yaml']))).toEqual(['/nonexistent/x.yaml: no such file or directory']);
  });

  test('a FIFO is read like a file (-f <(kustomize build ...))', () => {
    const fifo = join(dir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawnSync(
      'sh',
      [
        '-c',
        `printf '%s' "$0" > ${fifo} & "$1" bin/netfence.js render -f ${fifo}`,
        `${NS('a')}  labels: {netfence.dev/tenant: t}\n---\napiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: t}\nspec: {}\n`,
        process.execPath,
      ],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(writer.stderr).toContain('1 tenant, 1 member namespace');
    expect(writer.stdout).toContain('namespace: a\n');
    expect(writer.status).toBe(0);
  });

  test('-f /dev/stdin reads standard input', () => {
    const run = spawnSync(process.execPath, ['bin/netfence.js', 'render', '-f', '/dev/stdin'], {
      input: `${NS('a')}  labels: {netfence.dev/tenant: t}\n---\napiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: t}\nspec: {}\n`,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stdout).toContain('namespace: a\n');
    expect(run.status).toBe(0);
  });

  const root = process.getuid?.() === 0;
  (root ? test : test.skip)('a file the user cannot read is named, not a stack trace (run as nobody)', () => {
    const where = dir();
    chmodSync(where, 0o755);
    const path = file('secret.yaml', NS('a'), where);
    chmodSync(path, 0o000);
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/netfence.js', 'render', '-f', path], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe(`netfence render: ${path}: permission denied\n`);
    expect(run.status).toBe(2);
  });
});

function catchInput(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return [...e.problems];
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('text that is not UTF-8 is named as such', () => {
  test('Latin-1 bytes name the line and the encoding', () => {
    const path = file('latin1.yaml', Buffer.concat([Buffer.from(`${NS('a')}  labels:\n    team: caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(catchInput(() => readManifests([path]))).toEqual([expect.stringMatching(new RegExp(`^${path}:6: not UTF-8 \\(byte 0xe9\\); the file is probably Latin-1`))]);
  });

  test('UTF-16 with a byte order mark is named', () => {
    const path = file('utf16.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(NS('a'), 'utf16le')]));
    expect(catchInput(() => readManifests([path]))).toEqual([`${path}: the text is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8`]);
  });

  test('UTF-16 without a byte order mark is named by its NUL bytes', () => {
    const path = file('utf16.yaml', Buffer.from(NS('a'), 'utf16le'));
    expect(catchInput(() => readManifests([path]))).toEqual([`${path}:1: a NUL byte: the text looks like UTF-16; save it as UTF-8`]);
  });

  test('a UTF-8 byte order mark is dropped', () => {
    const path = file('bom.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(NS('café'.replace('é', 'e')))]));
    expect(readManifests([path]).map((m) => m.object.kind)).toEqual(['Namespace']);
  });

  test('problems in several files come together', () => {
    const a = file('a.yaml', Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    const b = file('b.yaml', '- just\n- a list\n');
    expect(catchInput(() => readManifests([a, b]))).toEqual([
      expect.stringMatching(/a\.yaml:1: not UTF-8/),
      `${b}:1: expected a Kubernetes object (a mapping with apiVersion and kind), found a list`,
    ]);
  });
});

describe('what the API server could never hold is refused before it is built', () => {
  const big = (n: number): string => 'x'.repeat(n);
  test('a scalar larger than the API server accepts, in YAML', () => {
    expect(problems(`apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\n  annotations: {a: ${big(READ_LIMITS.objectBytes + 1)}}\n`)).toEqual([
      expect.stringMatching(/^in\.yaml:5: a line of 3\.0 MiB: larger than the API server accepts for a whole object \(3 MiB\)/),
    ]);
  });

  test('a block scalar larger than the API server accepts', () => {
    const lines = Array(40_000)
      .fill(`    ${big(99)}`)
      .join('\n');
    expect(problems(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: a}\ndata:\n  k: |\n${lines}\n`)).toEqual([
      expect.stringMatching(/^in\.yaml:5: a block scalar of more than/),
    ]);
  });

  test('an object larger than the API server accepts, in JSON', () => {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', namespace: 'a' }, data: { k: big(READ_LIMITS.objectBytes) } });
    expect(problems(text, 'in.json')).toEqual([expect.stringMatching(/^in\.json:1: an object of 3\.0 MiB: larger than the API server accepts \(3 MiB\)/)]);
  });

  test('one oversized item of a JSON List is named by its index and line', () => {
    const items = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', namespace: 'a' }, data: { k: big(READ_LIMITS.objectBytes) } },
    ];
    expect(problems(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 1), 'in.json')).toEqual([
      expect.stringMatching(/^in\.json:\d+: items\[1\] is 3\.0 MiB: larger than/),
    ]);
  });

  test('a 50 MB string in a TenantIsolation is refused in bounded memory (a 256 MB heap)', () => {
    const path = file('huge.yaml', `apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\nspec:\n  namespaces: [${big(50_000_000)}]\n`);
    const run = spawnSync(process.execPath, ['--max-old-space-size=256', 'bin/netfence.js', 'render', '-f', path], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toMatch(/huge\.yaml:6: a line of 47\.7 MiB: larger than the API server accepts/);
    expect(run.status).toBe(2);
  });
});

describe('pods are cut to what netfence reads as they are read', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'a', labels: { app: 'web' }, annotations: { note: 'x' }, managedFields: [{ manager: 'kubectl' }] },
    spec: {
      hostNetwork: false,
      nodeName: 'n1',
      volumes: [{ name: 'v' }],
      containers: [{ name: 'c', image: 'i', env: [{ name: 'E', value: 'v' }], ports: [{ name: 'http', containerPort: 80 }] }],
    },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready' }] },
  };
  const kept = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'a', labels: { app: 'web' }, annotations: { note: 'x' } },
    spec: { hostNetwork: false, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] },
  };
  test.each([
    ['a JSON List', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod] }), 'in.json'],
    ['a JSON object', JSON.stringify(pod), 'in.json'],
    ['a YAML List', `apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify(pod)}\n`, 'in.yaml'],
    ['a YAML document', JSON.stringify(pod).replace(/^\{/, '{ '), 'in.yaml'],
  ])('in %s', (_what, text, name) => {
    expect(objects(text, name)).toEqual([kept]);
  });

  test('a malformed field netfence reads is kept as it is, for validation to report', () => {
    expect(objects(JSON.stringify({ ...pod, spec: { containers: 'none' } }), 'in.json')[0]?.spec).toEqual({ containers: 'none' });
  });
});

describe('lines in messages are exact in every form', () => {
  const listJson = JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } },
      ],
    },
    null,
    2,
  );
  test('a List item in JSON: its own line and the line of a field inside it', () => {
    const [, pod] = parseManifests(listJson, 'in.json');
    const lines = listJson.split('\n');
    expect(lines[(pod?.source.line ?? 0) - 1]).toBe('    {');
    expect(lines[(pod?.lineOf(['spec', 'containers', 0, 'ports', 0, 'containerPort']) ?? 0) - 1]).toBe('                "containerPort": 80');
  });

  test('a List item in YAML, fast and full readers alike', () => {
    const yaml =
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: a}\n  spec:\n    containers:\n    - name: c\n      ports:\n      - containerPort: 80\n';
    for (const text of [yaml, `${yaml}x: &a 1\n`]) {
      const [, pod] = parseManifests(text, 'in.yaml');
      expect(pod?.source.line).toBe(8);
      expect(pod?.lineOf(['spec', 'containers', 0, 'ports', 0, 'containerPort'])).toBe(15);
      expect(pod?.lineOf(['spec', 'containers', 0, 'missing'])).toBe(13);
    }
  });
});
