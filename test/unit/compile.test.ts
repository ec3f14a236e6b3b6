import { CLOUD_METADATA_CIDRS, MEMBER_LABEL, TENANT_LABEL } from '../../src/api/constants.js';
import { withMemberLabels } from '../../src/compiler/compile.js';
import { defaultSettings, type CompilerSettings } from '../../src/compiler/settings.js';
import { cidrContains, formatCidr, parseCidr, type Cidr } from '../../src/core/cidr.js';
import { compileWith, findPolicy, memberNs, ns, pod, policyNames, tenant } from '../fixtures/builders.js';

/** Members by name, as on a cluster without the admission guard. */
const BY_NAME: CompilerSettings = { ...defaultSettings(), memberLabel: false };

const nameIn = (...values: string[]) => ({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values }] });

describe('membership', () => {
  test('a namespace labelled with the tenant joins it and gets deny, same-tenant and DNS policies', () => {
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('acme-web', 'acme'), memberNs('acme-db', 'acme'), ns('other')] });
    expect(policyNames(r)).toEqual([
      'acme-db/netfence-allow-dns',
      'acme-db/netfence-allow-same-tenant',
      'acme-db/netfence-default-deny',
      'acme-web/netfence-allow-dns',
      'acme-web/netfence-allow-same-tenant',
      'acme-web/netfence-default-deny',
    ]);
    expect(r.tenants[0]?.members).toEqual(['acme-db', 'acme-web']);
  });

  test('the default deny policy selects every pod for ingress and egress and allows nothing', () => {
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('acme-web', 'acme')] });
    expect(findPolicy(r, 'acme-web', 'netfence-default-deny')).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'netfence-default-deny',
        namespace: 'acme-web',
        labels: { 'app.kubernetes.io/managed-by': 'netfence', 'netfence.dev/role': 'default-deny', 'netfence.dev/tenant': 'acme' },
      },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  });

  test('the same-tenant policy admits the members by the member label, both ways, and every member is to carry it', () => {
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('b', 'acme'), memberNs('a', 'acme'), ns('c')] });
    const byLabel = { matchLabels: { [MEMBER_LABEL]: 'acme' } };
    expect(findPolicy(r, 'a', 'netfence-allow-same-tenant').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: byLabel }] }],
      egress: [{ to: [{ namespaceSelector: byLabel }] }],
    });
    expect(r.memberLabels).toEqual([
      { namespace: 'a', tenant: 'acme' },
      { namespace: 'b', tenant: 'acme' },
    ]);
  });

  test('with memberLabel off, the same-tenant policy names every member by the immutable name label, and no label is asked for', () => {
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('b', 'acme'), memberNs('a', 'acme')], settings: BY_NAME });
    expect(findPolicy(r, 'a', 'netfence-allow-same-tenant').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: nameIn('a', 'b') }] }],
      egress: [{ to: [{ namespaceSelector: nameIn('a', 'b') }] }],
    });
    expect(r.memberLabels).toEqual([]);
  });

  test("a join changes only the joining namespace's policies when members are selected by label, every member's by name", () => {
    const before = [memberNs('a1', 'acme'), memberNs('a2', 'acme'), ns('new')];
    const after = [memberNs('a1', 'acme'), memberNs('a2', 'acme'), memberNs('new', 'acme')];
    const tenants = [tenant('acme', { ingress: { from: [{ tenant: 'acme' }] } }), tenant('peer', { namespaces: ['p'], egress: { to: [{ tenant: 'acme' }] } })];
    const changed = (settings: CompilerSettings) => {
      const was = new Map(
        compileWith({ tenants, namespaces: [...before, ns('p')], settings }).policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, JSON.stringify(p)]),
      );
      const now = compileWith({ tenants, namespaces: [...after, ns('p')], settings }).policies;
      return [...new Set(now.filter((p) => was.get(`${p.metadata.namespace}/${p.metadata.name}`) !== JSON.stringify(p)).map((p) => p.metadata.namespace))].sort();
    };
    expect(changed(defaultSettings())).toEqual(['new']);
    expect(changed(BY_NAME)).toEqual(['a1', 'a2', 'new', 'p']);
  });

  test("the member label on the input is netfence's output: it makes no namespace a member, and a selector cannot match it", () => {
    const r = compileWith({
      tenants: [tenant('acme'), tenant('sel', { namespaceSelector: { matchLabels: { [MEMBER_LABEL]: 'acme' } } })],
      namespaces: [ns('forged', { [MEMBER_LABEL]: 'acme' }), memberNs('real', 'acme')],
    });
    expect(r.tenants.map((t) => [t.name, t.members])).toEqual([
      ['acme', ['real']],
      ['sel', []],
    ]);
    expect(r.memberLabels).toEqual([{ namespace: 'real', tenant: 'acme' }]);
  });

  test('members of Audit tenants carry the label too (peers admit them by it); conflicted and excluded namespaces do not', () => {
    const r = compileWith({
      tenants: [tenant('audit', { mode: 'Audit' }), tenant('a', { namespaces: ['shared'] }), tenant('b', { namespaces: ['shared'] })],
      namespaces: [memberNs('au1', 'audit'), ns('shared'), memberNs('kube-system', 'audit')],
    });
    expect(r.memberLabels).toEqual([{ namespace: 'au1', tenant: 'audit' }]);
  });

  test('a tenant whose name cannot be a label value (the CRD refuses it) labels nothing', () => {
    const long = 'x'.repeat(70);
    const r = compileWith({ tenants: [tenant(long, { namespaces: ['a1'] }), tenant('ok', { namespaces: ['b1'] })], namespaces: [ns('a1'), ns('b1')] });
    expect(r.memberLabels).toEqual([{ namespace: 'b1', tenant: 'ok' }]);
  });

  test('withMemberLabels sets the label where the result says, removes it elsewhere, and keeps every other label', () => {
    const namespaces = [ns('a1', { team: 'x' }), ns('stray', { [MEMBER_LABEL]: 'acme', keep: 'me' }), memberNs('a2', 'acme')];
    const r = compileWith({ tenants: [tenant('acme', { namespaces: ['a1', 'a2'] })], namespaces });
    const labelled = withMemberLabels(namespaces, r, defaultSettings());
    expect(labelled.map((n) => [n.metadata.name, n.metadata.labels])).toEqual([
      ['a1', { team: 'x', [MEMBER_LABEL]: 'acme' }],
      ['stray', { keep: 'me' }],
      ['a2', { [TENANT_LABEL]: 'acme', [MEMBER_LABEL]: 'acme' }],
    ]);
    expect(withMemberLabels(namespaces, r, BY_NAME)).toEqual(namespaces);
  });

  test('explicit names join, and a named namespace that does not exist is reported', () => {
    const r = compileWith({ tenants: [tenant('acme', { namespaces: ['one', 'ghost'] })], namespaces: [ns('one'), ns('two')] });
    expect(r.tenants[0]?.members).toEqual(['one']);
    expect(r.tenants[0]?.warnings).toContain('spec.namespaces: namespace "ghost" does not exist');
  });

  test('a namespace selector joins matching namespaces, and label membership is then off by default', () => {
    const r = compileWith({
      tenants: [tenant('acme', { namespaceSelector: { matchLabels: { team: 'acme' } } })],
      namespaces: [ns('x', { team: 'acme' }), ns('y', { team: 'other' }), memberNs('z', 'acme')],
    });
    expect(r.tenants[0]?.members).toEqual(['x']);
  });

  test('labelMembership: true adds labelled namespaces to a selector', () => {
    const r = compileWith({
      tenants: [tenant('acme', { namespaceSelector: { matchLabels: { team: 'acme' } }, labelMembership: true })],
      namespaces: [ns('x', { team: 'acme' }), memberNs('z', 'acme')],
    });
    expect(r.tenants[0]?.members).toEqual(['x', 'z']);
  });

  test('system namespaces and the operator namespace never join by selector or label', () => {
    const r = compileWith({
      tenants: [tenant('acme', { namespaceSelector: {}, labelMembership: true })],
      namespaces: [ns('kube-system'), memberNs('kube-public', 'acme'), ns('kube-node-lease'), ns('netfence-system'), ns('app')],
    });
    expect(r.tenants[0]?.members).toEqual(['app']);
  });

  test('a system namespace joins when the tenant names it explicitly', () => {
    const r = compileWith({ tenants: [tenant('platform', { namespaces: ['kube-system'] })], namespaces: [ns('kube-system')] });
    expect(r.tenants[0]?.members).toEqual(['kube-system']);
  });

  test('extra excluded namespaces from the settings are honoured', () => {
    const r = compileWith({
      tenants: [tenant('acme', { namespaceSelector: {} })],
      namespaces: [ns('app'), ns('monitoring')],
      settings: defaultSettings('netfence-system', ['monitoring']),
    });
    expect(r.tenants[0]?.members).toEqual(['app']);
  });
});

describe('conflicts fail closed (P6)', () => {
  const tenants = [tenant('a', { namespaces: ['shared', 'a1'] }, 'uid-a'), tenant('b', { namespaceSelector: { matchLabels: { s: '1' } } }, 'uid-b')];
  const namespaces = [ns('shared', { s: '1' }), ns('a1'), ns('b1', { s: '1' })];

  test('a namespace claimed by two tenants gets only the deny policy, owned by both', () => {
    const r = compileWith({ tenants, namespaces });
    expect(policyNames(r, 'shared')).toEqual(['shared/netfence-default-deny']);
    const deny = findPolicy(r, 'shared', 'netfence-default-deny');
    expect(deny.metadata.annotations).toEqual({ 'netfence.dev/conflicting-tenants': 'a,b' });
    expect(deny.metadata.labels?.['netfence.dev/tenant']).toBeUndefined();
    expect(deny.metadata.ownerReferences?.map((o) => o.uid)).toEqual(['uid-a', 'uid-b']);
    expect(deny.metadata.ownerReferences?.some((o) => o.controller === true)).toBe(false);
  });

  test('the conflicted namespace is left out of both tenants and reported to each', () => {
    const r = compileWith({ tenants, namespaces });
    expect(r.conflicts).toEqual([{ namespace: 'shared', tenants: ['a', 'b'] }]);
    expect(r.tenants.map((t) => t.members)).toEqual([['a1'], ['b1']]);
    expect(r.tenants.map((t) => t.conflicts.map((c) => c.namespace))).toEqual([['shared'], ['shared']]);
    expect(r.memberLabels).toEqual([
      { namespace: 'a1', tenant: 'a' },
      { namespace: 'b1', tenant: 'b' },
    ]);
    expect(findPolicy(compileWith({ tenants, namespaces, settings: BY_NAME }), 'a1', 'netfence-allow-same-tenant').spec.ingress).toEqual([
      { from: [{ namespaceSelector: nameIn('a1') }] },
    ]);
  });

  test('a conflict with an Audit tenant still denies, owned by the enforcing tenant', () => {
    const r = compileWith({
      tenants: [tenant('a', { namespaces: ['shared'] }, 'uid-a'), tenant('b', { namespaces: ['shared'], mode: 'Audit' }, 'uid-b')],
      namespaces: [ns('shared')],
    });
    const deny = findPolicy(r, 'shared', 'netfence-default-deny');
    expect(deny.metadata.ownerReferences?.map((o) => o.name)).toEqual(['a']);
    expect(deny.metadata.annotations?.['netfence.dev/conflicting-tenants']).toBe('a,b');
  });

  test('a conflict between two Audit tenants writes nothing', () => {
    const r = compileWith({ tenants: [tenant('a', { namespaces: ['s'], mode: 'Audit' }), tenant('b', { namespaces: ['s'], mode: 'Audit' })], namespaces: [ns('s')] });
    expect(r.policies).toEqual([]);
    expect(r.conflicts).toHaveLength(1);
  });

  test('a tenant that cannot be compiled keeps deny-only policies and reports why', () => {
    const bad = tenant('bad', { egress: { to: [{ cidr: 'not-a-cidr' }] } });
    const r = compileWith({ tenants: [bad], namespaces: [memberNs('n', 'bad')] });
    expect(policyNames(r)).toEqual(['n/netfence-default-deny']);
    expect(r.tenants[0]?.errors).toEqual(['spec.egress.to[0].cidr: "not-a-cidr" is not a CIDR']);
  });

  test.each([
    ['two peer kinds', { ingress: { from: [{ tenant: 'x', cidr: '10.0.0.0/8' }] } }, 'exactly one of'],
    ['no peer kind', { ingress: { from: [{ ports: [{ port: 80 }] }] } }, 'exactly one of'],
    ['an except outside the cidr', { egress: { to: [{ cidr: '10.0.0.0/8', except: ['11.0.0.0/8'] }] } }, 'not strictly inside'],
    ['endPort below port', { egress: { to: [{ cidr: '10.0.0.0/8', ports: [{ port: 90, endPort: 80 }] }] } }, 'endPort'],
    ['a port out of range', { egress: { to: [{ cidr: '10.0.0.0/8', ports: [{ port: 70000 }] }] } }, 'not in 1-65535'],
    ['a port name with a double hyphen', { egress: { to: [{ cidr: '10.0.0.0/8', ports: [{ port: 'a--b' }] }] } }, 'not a valid port name'],
    ['an In selector without values', { ingress: { from: [{ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In' as const }] } }] } }, 'needs at least one value'],
    ['an exposure name too long for a label key', { exposures: [{ name: 'x'.repeat(57), from: [{ namespaces: ['a'] }] }] }, 'label key'],
    ['a podSelector with a cidr', { ingress: { from: [{ cidr: '10.0.0.0/8', podSelector: {} }] } }, 'not allowed with cidr'],
    ['internet: false', { egress: { to: [{ internet: false }] } }, 'internet: must be true'],
    ['internet with a cidr', { egress: { to: [{ internet: true, cidr: '0.0.0.0/0' }] } }, 'exactly one of tenant, namespaces, namespaceSelector, cidr, internet'],
    ['internet with a podSelector', { egress: { to: [{ internet: true, podSelector: {} }] } }, 'podSelector: not allowed with internet'],
    ['internet with allowCloudMetadata', { egress: { to: [{ internet: true, allowCloudMetadata: true }] } }, 'allowCloudMetadata: not allowed with internet'],
    [
      'an internet except outside the public blocks',
      { ingress: { from: [{ internet: true, except: ['fd00::/8'] }] } },
      'fd00::/8 is not strictly inside a block of the public internet',
    ],
    ['an internet except that is a whole block', { egress: { to: [{ internet: true, except: ['2000::/3'] }] } }, 'not strictly inside a block'],
    ['an internet except that is not a CIDR', { egress: { to: [{ internet: true, except: ['8.8.8.8'] }] } }, '"8.8.8.8" is not a CIDR'],
    ['allowCloudMetadata with a tenant', { egress: { to: [{ tenant: 'x', allowCloudMetadata: true }] } }, 'allowCloudMetadata with cidr only'],
  ])('%s makes a tenant deny-only', (_what, spec, message) => {
    const r = compileWith({ tenants: [tenant('t', spec)], namespaces: [memberNs('n', 't')] });
    expect(policyNames(r)).toEqual(['n/netfence-default-deny']);
    expect(r.tenants[0]?.errors.join('\n')).toContain(message);
  });
});

describe('modes', () => {
  test('an Audit tenant writes nothing but reports the policies Enforce would write', () => {
    const r = compileWith({ tenants: [tenant('acme', { mode: 'Audit' })], namespaces: [memberNs('n', 'acme')] });
    expect(r.policies).toEqual([]);
    expect(r.tenants[0]?.policies.map((p) => p.metadata.name)).toEqual(['netfence-allow-dns', 'netfence-allow-same-tenant', 'netfence-default-deny']);
  });
});

describe('DNS', () => {
  test('DNS egress goes only to the cluster DNS pods on 53/TCP and 53/UDP', () => {
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('n', 'acme')] });
    expect(findPolicy(r, 'n', 'netfence-allow-dns').spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'TCP', port: 53 },
            { protocol: 'UDP', port: 53 },
          ],
        },
      ],
    });
  });

  test('the DNS target comes from the settings', () => {
    const settings = { ...defaultSettings(), dns: { namespace: 'dns', podLabels: { app: 'coredns' }, port: 5353 } };
    const r = compileWith({ tenants: [tenant('acme')], namespaces: [memberNs('n', 'acme')], settings });
    const rule = findPolicy(r, 'n', 'netfence-allow-dns').spec.egress?.[0];
    expect(rule?.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { app: 'coredns' } } }]);
    expect(rule?.ports?.map((p) => p.port)).toEqual([5353, 5353]);
  });

  test('egress.dns: false leaves DNS out', () => {
    const r = compileWith({ tenants: [tenant('acme', { egress: { dns: false } })], namespaces: [memberNs('n', 'acme')] });
    expect(policyNames(r)).not.toContain('n/netfence-allow-dns');
  });
});

describe('declared peers', () => {
  const namespaces = [memberNs('a1', 'a'), memberNs('b1', 'b'), memberNs('b2', 'b'), ns('mon', { team: 'obs' }), ns('mon2', { team: 'obs' })];

  test("a tenant peer selects the other tenant's namespaces by the member label, or by name with memberLabel off", () => {
    const tenants = [tenant('a', { ingress: { from: [{ tenant: 'b', ports: [{ port: 8080 }] }] } }), tenant('b')];
    expect(findPolicy(compileWith({ tenants, namespaces }), 'a1', 'netfence-allow-ingress').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { [MEMBER_LABEL]: 'b' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    });
    expect(findPolicy(compileWith({ tenants, namespaces, settings: BY_NAME }), 'a1', 'netfence-allow-ingress').spec.ingress).toEqual([
      { from: [{ namespaceSelector: nameIn('b1', 'b2') }], ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
  });

  test('a peer tenant that does not exist allows nothing and is reported', () => {
    const r = compileWith({ tenants: [tenant('a', { ingress: { from: [{ tenant: 'nope' }] } })], namespaces });
    expect(policyNames(r, 'a1')).not.toContain('a1/netfence-allow-ingress');
    expect(r.tenants[0]?.warnings.join('\n')).toContain('peer tenant "nope" does not exist');
  });

  test('a namespaceSelector peer is resolved to names, never written as a label selector', () => {
    const r = compileWith({
      tenants: [tenant('a', { ingress: { from: [{ namespaceSelector: { matchLabels: { team: 'obs' } }, podSelector: { matchLabels: { app: 'prom' } } }] } })],
      namespaces,
    });
    expect(findPolicy(r, 'a1', 'netfence-allow-ingress').spec.ingress).toEqual([
      { from: [{ namespaceSelector: nameIn('mon', 'mon2'), podSelector: { matchLabels: { app: 'prom' } } }] },
    ]);
  });

  test('a namespaceSelector peer that matches nothing allows nothing rather than everything', () => {
    const r = compileWith({ tenants: [tenant('a', { ingress: { from: [{ namespaceSelector: { matchLabels: { team: 'none' } } }] } })], namespaces });
    expect(policyNames(r, 'a1')).not.toContain('a1/netfence-allow-ingress');
    expect(r.tenants[0]?.warnings.join('\n')).toContain('matches no namespace');
  });

  test('an empty namespaceSelector peer means every namespace and stays {}', () => {
    const r = compileWith({ tenants: [tenant('a', { egress: { to: [{ namespaceSelector: {}, ports: [{ port: 443 }] }] } })], namespaces });
    expect(findPolicy(r, 'a1', 'netfence-allow-egress').spec.egress).toEqual([{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  test('a namespaces peer is written as given, sorted and deduplicated', () => {
    const r = compileWith({ tenants: [tenant('a', { egress: { to: [{ namespaces: ['z', 'y', 'z'] }] } })], namespaces });
    expect(findPolicy(r, 'a1', 'netfence-allow-egress').spec.egress).toEqual([{ to: [{ namespaceSelector: nameIn('y', 'z') }] }]);
  });

  test('ports default to TCP, keep endPort and named ports, and come out sorted', () => {
    const r = compileWith({
      tenants: [
        tenant('a', {
          ingress: {
            from: [{ namespaces: ['x'], ports: [{ port: 'metrics', protocol: 'TCP' }, { port: 9000, endPort: 9100, protocol: 'UDP' }, { port: 443 }, { protocol: 'SCTP' }] }],
          },
        }),
      ],
      namespaces,
    });
    expect(findPolicy(r, 'a1', 'netfence-allow-ingress').spec.ingress?.[0]?.ports).toEqual([
      { protocol: 'SCTP' },
      { protocol: 'TCP', port: 'metrics' },
      { protocol: 'TCP', port: 443 },
      { protocol: 'UDP', port: 9000, endPort: 9100 },
    ]);
  });

  test('the order of declared peers does not change the output', () => {
    const peers = [{ namespaces: ['x'] }, { tenant: 'b' }, { cidr: '10.0.0.0/8' }];
    const one = compileWith({ tenants: [tenant('a', { ingress: { from: peers } }), tenant('b')], namespaces });
    const two = compileWith({ tenants: [tenant('a', { ingress: { from: [...peers].reverse() } }), tenant('b')], namespaces });
    expect(two.policies).toEqual(one.policies);
  });
});

describe('CIDR peers and cloud metadata (P3)', () => {
  const namespaces = [memberNs('n', 'a')];
  const egressOf = (peer: object) => {
    const r = compileWith({ tenants: [tenant('a', { egress: { to: [peer] } })], namespaces });
    return { r, rules: r.policies.find((p) => p.metadata.name === 'netfence-allow-egress')?.spec.egress };
  };

  test.each([
    ['0.0.0.0/0', undefined, { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] }],
    ['::/0', undefined, { cidr: '::/0', except: ['fd00:ec2::254/128'] }],
    ['169.254.0.0/16', undefined, { cidr: '169.254.0.0/16', except: ['169.254.169.254/32'] }],
    ['0.0.0.0/0', ['10.0.0.0/8'], { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.169.254/32'] }],
    ['0.0.0.0/0', ['169.254.0.0/16'], { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] }],
    ['10.1.2.3/8', undefined, { cidr: '10.0.0.0/8' }],
    ['2001:db8::/32', undefined, { cidr: '2001:db8::/32' }],
  ])('cidr %s with except %j becomes ipBlock %j', (cidr, except, ipBlock) => {
    const { rules } = egressOf(except === undefined ? { cidr } : { cidr, except });
    expect(rules).toEqual([{ to: [{ ipBlock }] }]);
  });

  test('allowCloudMetadata keeps the metadata endpoint reachable', () => {
    const { rules } = egressOf({ cidr: '0.0.0.0/0', allowCloudMetadata: true });
    expect(rules).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }]);
  });

  test('a cidr inside the metadata prefix is dropped with a warning', () => {
    const { r, rules } = egressOf({ cidr: '169.254.169.254/32' });
    expect(rules).toBeUndefined();
    expect(r.tenants[0]?.warnings.join('\n')).toContain('lies inside cloud metadata');
  });

  test('an ingress cidr excludes metadata too', () => {
    const r = compileWith({ tenants: [tenant('a', { ingress: { from: [{ cidr: '0.0.0.0/0' }] } })], namespaces });
    expect(findPolicy(r, 'n', 'netfence-allow-ingress').spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }] }]);
  });
});

describe('the internet peer', () => {
  const namespaces = [memberNs('n', 'a')];
  const IPV4_EXCEPT = [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.88.99.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
  ];
  const IPV6_EXCEPT = ['2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20'];
  const internetRule = (peer: object) =>
    compileWith({ tenants: [tenant('a', { egress: { to: [peer] } })], namespaces }).policies.find((p) => p.metadata.name === 'netfence-allow-egress')?.spec.egress;

  test('is one rule with an IPv4 block and the IPv6 global unicast block, each without its special-purpose ranges', () => {
    expect(internetRule({ internet: true, ports: [{ port: 443 }] })).toEqual([
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: IPV4_EXCEPT } }, { ipBlock: { cidr: '2000::/3', except: IPV6_EXCEPT } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
  });

  test("adds the peer's own except entries to the block of their family, sorted", () => {
    const [rule] = internetRule({ internet: true, except: ['2606:4700::/32', '8.8.8.0/24', '1.0.0.0/8'] }) ?? [];
    expect(rule?.to?.map((p) => p.ipBlock)).toEqual([
      { cidr: '0.0.0.0/0', except: ['0.0.0.0/8', '1.0.0.0/8', '8.8.8.0/24', ...IPV4_EXCEPT.slice(1)] },
      { cidr: '2000::/3', except: [...IPV6_EXCEPT.slice(0, 3), '2606:4700::/32', ...IPV6_EXCEPT.slice(3)] },
    ]);
  });

  test('writes a repeated except entry once', () => {
    const [rule] = internetRule({ internet: true, except: ['10.0.0.0/8'] }) ?? [];
    expect(rule?.to?.[0]?.ipBlock?.except).toEqual(IPV4_EXCEPT);
  });

  test('never lets an ipBlock reach cloud metadata (P3)', () => {
    const [rule] = internetRule({ internet: true }) ?? [];
    for (const block of rule?.to ?? []) {
      const cidr = parseCidr(block.ipBlock?.cidr ?? '') as Cidr;
      for (const m of CLOUD_METADATA_CIDRS.map((c) => parseCidr(c) as Cidr)) {
        const excepted = (block.ipBlock?.except ?? []).some((e) => cidrContains(parseCidr(e) as Cidr, m));
        expect({ block: block.ipBlock?.cidr, metadata: formatCidr(m), reachable: cidrContains(cidr, m) && !excepted }).toMatchObject({ reachable: false });
      }
    }
  });

  test("works in ingress and in exposures, with the exposure's ports", () => {
    const r = compileWith({
      tenants: [
        tenant('a', { ingress: { from: [{ internet: true, ports: [{ port: 8443 }] }] }, exposures: [{ name: 'web', from: [{ internet: true }], ports: [{ port: 8080 }] }] }),
      ],
      namespaces,
    });
    const blocks = [{ ipBlock: { cidr: '0.0.0.0/0', except: IPV4_EXCEPT } }, { ipBlock: { cidr: '2000::/3', except: IPV6_EXCEPT } }];
    expect(findPolicy(r, 'n', 'netfence-allow-ingress').spec.ingress).toEqual([{ from: blocks, ports: [{ protocol: 'TCP', port: 8443 }] }]);
    expect(findPolicy(r, 'n', 'netfence-expose-web').spec.ingress).toEqual([{ from: blocks, ports: [{ protocol: 'TCP', port: 8080 }] }]);
  });
});

describe('exposures', () => {
  test('each exposure selects the pods labelled for it and admits its peers on its ports', () => {
    const r = compileWith({
      tenants: [tenant('a', { exposures: [{ name: 'web', from: [{ namespaces: ['ingress-nginx'] }, { cidr: '10.0.0.0/8', ports: [{ port: 8443 }] }], ports: [{ port: 8080 }] }] })],
      namespaces: [memberNs('n', 'a')],
    });
    expect(findPolicy(r, 'n', 'netfence-expose-web').spec).toEqual({
      podSelector: { matchLabels: { 'netfence.dev/expose-web': 'true' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 8443 }] },
        { from: [{ namespaceSelector: nameIn('ingress-nginx') }], ports: [{ protocol: 'TCP', port: 8080 }] },
      ],
    });
  });

  test('a pod labelled for an exposure its tenant does not declare is reported', () => {
    const r = compileWith({
      tenants: [tenant('a', { exposures: [{ name: 'web', from: [{ namespaces: ['x'] }] }] })],
      namespaces: [memberNs('n', 'a')],
      pods: [
        pod('n', 'p1', { 'netfence.dev/expose-metrics': 'true' }),
        pod('n', 'p2', { 'netfence.dev/expose-web': 'yes' }),
        pod('n', 'p3', { 'netfence.dev/expose-web': 'true' }),
      ].map((p) => ({
        namespace: p.metadata.namespace,
        name: p.metadata.name,
        labels: p.metadata.labels ?? {},
      })),
    });
    const w = r.tenants[0]?.warnings.join('\n') ?? '';
    expect(w).toContain('pod n/p1 has label netfence.dev/expose-metrics but tenant declares no exposure "metrics"');
    expect(w).toContain('pod n/p2 has label netfence.dev/expose-web="yes"');
    expect(w).not.toContain('n/p3');
  });
});

describe('ownership and labels', () => {
  test('every policy is labelled managed-by netfence and owned by its TenantIsolation when the uid is known', () => {
    const r = compileWith({ tenants: [tenant('a', {}, 'uid-1')], namespaces: [memberNs('n', 'a')] });
    for (const p of r.policies) {
      expect(p.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('netfence');
      expect(p.metadata.ownerReferences).toEqual([
        { apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', name: 'a', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  test('without a uid (offline input) no ownerReference is invented', () => {
    const r = compileWith({ tenants: [tenant('a')], namespaces: [memberNs('n', 'a')] });
    expect(r.policies.every((p) => p.metadata.ownerReferences === undefined)).toBe(true);
  });
});
