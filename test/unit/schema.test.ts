/**
 * src/api/schema.ts and the generated crds/: the CRD is what the product brief names, its
 * schema matches the TypeScript types field for field, every rule is bounded and evaluable,
 * and the committed YAML is the generator's current output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_VERSION, CRD_NAME, EXPOSE_LABEL_PREFIX, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from '../../src/api/constants.js';
import { generatedCrdFiles, staleCrdFiles } from '../../src/api/crd-files.js';
import { compileRule } from '../../src/api/cel.js';
import type { LabelSelector, LabelSelectorRequirement } from '../../src/api/k8s.js';
import { MAX_EXPOSURE_NAME_LENGTH, openAPIV3Schema, tenantIsolationCrd, type JSONSchemaProps } from '../../src/api/schema.js';
import type { Condition, Exposure, Peer, PlannedChange, PortSpec, TenantIsolation, TenantIsolationSpec, TenantIsolationStatus } from '../../src/api/types.js';
import { parseFieldPath, schemaRules, UNDERSTOOD_KEYWORDS, validateStatus, validateTenantIsolation } from '../../src/api/validate.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The keys of every member of a union (`keyof` of a union keeps only the common ones). */
type KeysOf<U> = U extends unknown ? keyof U : never;
/** `true` only when the parts together set every property of T; otherwise names the missing ones. */
type CoversAll<T, Parts> = [Exclude<keyof T, KeysOf<Parts>>] extends [never] ? true : { missing: Exclude<keyof T, KeysOf<Parts>> };

// A TenantIsolation that sets every field of every type in src/api/types.ts, in valid
// combinations. The CoversAll constants stop type-checking when a field is added to a type
// and not to this fixture; the object must then validate, so the schema must have the field.
const requirement = { key: 'env', operator: 'In', values: ['prod'] } satisfies LabelSelectorRequirement;
const selector = { matchLabels: { team: 'b' }, matchExpressions: [requirement] } satisfies LabelSelector;
const port = { port: 8000, endPort: 8080, protocol: 'TCP' } satisfies PortSpec;
const tenantPeer = { tenant: 'team-b', podSelector: selector, ports: [port] } satisfies Peer;
const namespacesPeer = { namespaces: ['monitoring'], podSelector: selector, ports: [{ port: 'metrics' }] } satisfies Peer;
const selectorPeer = { namespaceSelector: selector, podSelector: selector } satisfies Peer;
const cidrPeer = { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'], allowCloudMetadata: false, ports: [{ protocol: 'UDP' }] } satisfies Peer;
const internetPeer = { internet: true, except: ['8.8.4.0/24', '2606:4700::/32'], ports: [{ port: 443 }] } satisfies Peer;
const peers = [tenantPeer, namespacesPeer, selectorPeer, cidrPeer, internetPeer];
const exposure = { name: 'web', from: peers, ports: [port] } satisfies Exposure;
const spec = {
  namespaces: ['team-a', 'team-a-jobs'],
  namespaceSelector: selector,
  labelMembership: true,
  mode: 'Audit',
  ingress: { from: peers },
  egress: { to: peers, dns: false },
  exposures: [exposure],
} satisfies TenantIsolationSpec;
const condition = {
  type: 'Ready',
  status: 'True',
  reason: 'Reconciled',
  message: 'all policies applied',
  observedGeneration: 2,
  lastTransitionTime: '2025-06-01T12:00:00Z',
} satisfies Condition;
const plannedChange = { action: 'update', namespace: 'team-a', name: 'netfence-allow-egress' } satisfies PlannedChange;
const status = {
  observedGeneration: 2,
  conditions: [condition],
  memberNamespaces: ['team-a', 'team-a-jobs'],
  conflictingNamespaces: ['shared'],
  policyCount: 12,
  plannedChanges: [plannedChange],
  plannedChangeCount: 1,
} satisfies TenantIsolationStatus;
const everyField = { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'team-a' }, spec, status } satisfies TenantIsolation;

// Checked by the type checker (`npm run typecheck`), not at run time.
export const covered: true[] = [
  true satisfies CoversAll<LabelSelectorRequirement, typeof requirement>,
  true satisfies CoversAll<LabelSelector, typeof selector>,
  true satisfies CoversAll<PortSpec, typeof port>,
  true satisfies CoversAll<Peer, (typeof peers)[number]>,
  true satisfies CoversAll<Exposure, typeof exposure>,
  true satisfies CoversAll<TenantIsolationSpec, typeof spec>,
  true satisfies CoversAll<NonNullable<TenantIsolationSpec['ingress']>, typeof spec.ingress>,
  true satisfies CoversAll<NonNullable<TenantIsolationSpec['egress']>, typeof spec.egress>,
  true satisfies CoversAll<Condition, typeof condition>,
  true satisfies CoversAll<PlannedChange, typeof plannedChange>,
  true satisfies CoversAll<TenantIsolationStatus, typeof status>,
  true satisfies CoversAll<TenantIsolation, typeof everyField>,
];

/** Every property path a schema declares, `[*]` standing for list items and map values. */
function schemaPaths(schema: Readonly<JSONSchemaProps>, at: string): string[] {
  const out: string[] = [];
  for (const [k, sub] of Object.entries(schema.properties ?? {})) {
    out.push(`${at}.${k}`, ...schemaPaths(sub, `${at}.${k}`));
  }
  if (schema.items !== undefined) out.push(...schemaPaths(schema.items, `${at}[*]`));
  return out;
}

/** Every property path an object sets, in the same notation (map values are not followed). */
function valuePaths(value: unknown, at: string, schema: Readonly<JSONSchemaProps>): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => valuePaths(v, `${at}[*]`, schema.items ?? {}));
  if (typeof value !== 'object' || value === null || schema.properties === undefined) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${at}.${k}`, ...valuePaths(v, `${at}.${k}`, schema.properties?.[k] ?? {})]);
}

/** Every schema node with the path it sits at. */
function schemaNodes(schema: Readonly<JSONSchemaProps>, at = ''): [string, Readonly<JSONSchemaProps>][] {
  const out: [string, Readonly<JSONSchemaProps>][] = [[at, schema]];
  for (const [k, sub] of Object.entries(schema.properties ?? {})) out.push(...schemaNodes(sub, `${at}.${k}`));
  if (schema.additionalProperties !== undefined) out.push(...schemaNodes(schema.additionalProperties, `${at}[*]`));
  if (schema.items !== undefined) out.push(...schemaNodes(schema.items, `${at}[*]`));
  return out;
}

describe('the TenantIsolation schema and the TypeScript types', () => {
  test('accept an object that sets every field of every type', () => {
    expect(validateTenantIsolation(everyField)).toEqual([]);
    expect(validateStatus(everyField.status)).toEqual([]);
  });

  test('declare no spec or status field that the types lack', () => {
    const declared = schemaPaths(openAPIV3Schema, '').filter((p) => p.startsWith('.spec') || p.startsWith('.status'));
    const set = new Set(valuePaths(everyField, '', openAPIV3Schema));
    expect(declared.filter((p) => !set.has(p))).toEqual([]);
  });
});

describe('the CRD', () => {
  const crd = tenantIsolationCrd();
  const version = crd.spec.versions[0];

  test('is the cluster-scoped TenantIsolation of netfence.dev/v1alpha1', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({ kind: KIND, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES] });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[VERSION, true, true]]);
  });

  test('has a status subresource and the printer columns Mode, Members, Policies, Ready, Age', () => {
    expect(version?.subresources).toEqual({ status: {} });
    expect(version?.additionalPrinterColumns.map((c) => c.name)).toEqual(['Mode', 'Members', 'Policies', 'Ready', 'Age']);
  });

  test('carries the schema the validator walks', () => {
    expect(version?.schema.openAPIV3Schema).toEqual(openAPIV3Schema);
  });

  test('is a fresh object on every call, so callers cannot change the shared schema', () => {
    const a = tenantIsolationCrd();
    (a.spec.versions[0]?.schema.openAPIV3Schema.properties as Record<string, unknown>).extra = {};
    expect(tenantIsolationCrd().spec.versions[0]?.schema.openAPIV3Schema.properties).not.toHaveProperty('extra');
    expect(Object.isFrozen(openAPIV3Schema)).toBe(true);
  });

  test('defaults mode to Enforce and egress.dns to true, with egress itself defaulted so dns applies', () => {
    const specProps = openAPIV3Schema.properties?.spec?.properties;
    expect(specProps?.mode?.default).toBe('Enforce');
    expect(specProps?.egress?.default).toEqual({});
    expect(specProps?.egress?.properties?.dns?.default).toBe(true);
  });

  test('keeps exposure names short enough for the pod label key', () => {
    const keyName = `${EXPOSE_LABEL_PREFIX.split('/')[1]}${'x'.repeat(MAX_EXPOSURE_NAME_LENGTH)}`;
    expect(keyName).toHaveLength(63);
    expect(openAPIV3Schema.properties?.spec?.properties?.exposures?.items?.properties?.name?.maxLength).toBe(MAX_EXPOSURE_NAME_LENGTH);
  });

  test('keys exposures by name', () => {
    const exposures = openAPIV3Schema.properties?.spec?.properties?.exposures;
    expect(exposures?.['x-kubernetes-list-type']).toBe('map');
    expect(exposures?.['x-kubernetes-list-map-keys']).toEqual(['name']);
    expect(exposures?.items?.required).toContain('name');
  });
});

describe('the schema', () => {
  const nodes = schemaNodes(openAPIV3Schema);
  const specNodes = nodes.filter(([at]) => at.startsWith('.spec'));

  test('uses only keywords the validator understands', () => {
    const unknown = nodes.flatMap(([at, n]) =>
      Object.keys(n)
        .filter((k) => !(k in UNDERSTOOD_KEYWORDS))
        .map((k) => `${at}: ${k}`),
    );
    expect(unknown).toEqual([]);
  });

  test('is structural: every node has a type or is int-or-string', () => {
    expect(nodes.filter(([, n]) => n.type === undefined && n['x-kubernetes-int-or-string'] !== true).map(([at]) => at)).toEqual([]);
  });

  test('bounds every list, map and string in spec, so the API server can bound the cost of the rules', () => {
    const unbounded = specNodes
      .filter(([, n]) => {
        if (n.type === 'array') return n.maxItems === undefined;
        if (n.type === 'object' && n.additionalProperties !== undefined) return n.maxProperties === undefined;
        if (n.type === 'string' || n['x-kubernetes-int-or-string'] === true) return n.maxLength === undefined && n.enum === undefined;
        return false;
      })
      .map(([at]) => at);
    expect(unbounded).toEqual([]);
  });

  test('gives every rule a message', () => {
    expect(schemaRules().filter(({ rule }) => rule.message.trim() === '')).toEqual([]);
  });

  test('has rules that all compile in the validator', () => {
    for (const { rule } of schemaRules()) expect(() => compileRule(rule.rule)).not.toThrow();
  });

  test('points every rule fieldPath at a property of its node', () => {
    const bad = nodes.flatMap(([at, n]) =>
      (n['x-kubernetes-validations'] ?? [])
        .filter((r) => r.fieldPath !== undefined)
        .filter((r) => {
          let node: Readonly<JSONSchemaProps> | undefined = n;
          for (const seg of parseFieldPath(r.fieldPath as string)) node = node?.properties?.[seg];
          return node === undefined;
        })
        .map((r) => `${at}: ${r.fieldPath}`),
    );
    expect(bad).toEqual([]);
  });

  test('calls only functions of the Kubernetes CEL environment', () => {
    // Standard CEL, its string extensions, and the Kubernetes network library, as of Kubernetes 1.31.
    const kubernetes = new Set([
      'has',
      'size',
      'all',
      'exists',
      'exists_one',
      'matches',
      'contains',
      'startsWith',
      'endsWith',
      'type',
      'int',
      'string',
      'isCIDR',
      'cidr',
      'containsCIDR',
      'containsIP',
      'prefixLength',
      'masked',
      'ip',
      'isIP',
      'family',
    ]);
    const called = schemaRules().flatMap(({ rule }) => [...rule.rule.replace(/'[^']*'|"[^"]*"/g, "''").matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)].map((m) => m[1] as string));
    expect(called.filter((f) => !kubernetes.has(f))).toEqual([]);
    expect(new Set(called)).toEqual(new Set(['has', 'size', 'type', 'matches', 'contains', 'all', 'isCIDR', 'cidr', 'containsCIDR', 'containsIP', 'ip', 'prefixLength']));
  });
});

describe('the generated files in crds/', () => {
  test('equal the generator output (run `npm run crd:gen` after changing src/api/schema.ts)', () => {
    const stale = staleCrdFiles((path) => (existsSync(join(ROOT, path)) ? readFileSync(join(ROOT, path), 'utf8') : undefined));
    expect(stale).toEqual([]);
  });

  test('start with a generated-file header', () => {
    for (const f of generatedCrdFiles()) expect(f.content).toMatch(/^# Code generated by scripts\/gen-crd\.ts .* DO NOT EDIT\.\n/);
  });

  test('are reported stale when missing or edited', () => {
    const files = generatedCrdFiles();
    const [first, second] = files.map((f) => f.path);
    const committed = new Map(files.map((f) => [f.path, f.content]));
    committed.delete(first as string);
    committed.set(second as string, `${committed.get(second as string) as string}# edited\n`);
    expect(staleCrdFiles((p) => committed.get(p))).toEqual([first, second]);
    expect(staleCrdFiles((p) => files.find((f) => f.path === p)?.content)).toEqual([]);
  });

  test('are referred to by config/crd through the crds/ kustomization', () => {
    const kustomization = readFileSync(join(ROOT, 'config', 'crd', 'kustomization.yaml'), 'utf8');
    expect(kustomization).toMatch(/resources:\n\s+- \.\.\/\.\.\/crds\n/);
    expect(generatedCrdFiles().find((f) => f.path === 'crds/kustomization.yaml')?.content).toContain('- netfence.dev_tenantisolations.yaml');
  });
});
