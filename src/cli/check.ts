/** `netfence check`: fails when a path crosses a tenant's fence that its TenantIsolation does not declare. */
import { findViolations, type Violation } from '../analysis/check.js';
import type { Allowance, EndpointClass } from '../analysis/reachability.js';
import { one, parseArgs, UsageError } from './args.js';
import { EXIT, SETTINGS_HELP, type CliIO } from './common.js';
import { loadScene, SCENE_FLAGS, SCENE_HELP } from './scene.js';

export const CHECK_HELP = `Usage: netfence check (-f PATH... | --live) [-o text|json] [settings]

Computes who can reach whom from every NetworkPolicy (hand-written ones included, plus those
netfence would maintain) and reports every path that enters or leaves a tenant other than
those its TenantIsolation declares: same tenant, DNS, declared peers, exposures. Each path
names its source, destination, ports and the policies on each side that allow it.
Exit 1 when a path crosses an Enforce tenant's fence undeclared; paths across Audit tenants'
fences are listed and do not fail the check.

${SCENE_HELP}
  -o, --output FORMAT        text (default) or json
${SETTINGS_HELP}`;

const LISTED_MEMBERS = 4;

export function describeClass(c: EndpointClass): string {
  if (c.kind === 'external') {
    const texts = c.addresses.map((a) => (a.metadata ? `${a.text} (cloud metadata)` : a.text));
    return texts.length <= LISTED_MEMBERS ? texts.join(', ') : `${texts.slice(0, LISTED_MEMBERS).join(', ')} and ${texts.length - LISTED_MEMBERS} more ranges`;
  }
  // Real pods first: a representative (`ns/*`) only stands for a namespace without pods.
  const names = [...c.pods.filter((p) => !p.representative), ...c.pods.filter((p) => p.representative)].map((p) => `${p.namespace}/${p.name}`);
  const tenant = c.tenant === undefined ? 'in no tenant' : `tenant ${c.tenant}`;
  const rep = c.pods.some((p) => p.representative) ? ', * = a representative pod' : '';
  const shown = names.slice(0, LISTED_MEMBERS).join(', ');
  const more = names.length > LISTED_MEMBERS ? ` and ${names.length - LISTED_MEMBERS} more pods like them` : '';
  return `${shown}${more} (${tenant}${rep})`;
}

function policies(c: EndpointClass, allowances: readonly Allowance[]): string {
  const ns = c.pods[0]?.namespace ?? '';
  const spread = c.namespaces.length > 1 ? ' (each in its pod\u2019s namespace)' : '';
  return `${allowances.map((a) => `${ns}/${a.name} (${a.ports.format()})`).join(', ')}${spread}`;
}

function side(label: string, c: EndpointClass, s: Violation['egress']): string {
  if (c.kind === 'external') return `${label} outside the cluster: no policy applies`;
  if (!s.isolated) return `${label} not isolated: no policy selects ${c.pods.length === 1 ? 'the pod' : 'these pods'} for ${label.trim()}`;
  return `${label} allowed by ${policies(c, s.allowing)}`;
}

export function formatViolation(v: Violation): string {
  const head = `${v.enforced ? 'FAIL' : 'AUDIT'}  ${describeClass(v.from)}\n   -> ${describeClass(v.to)}`;
  const crossings = v.crossings.map(
    (c) => `${c.direction === 'egress' ? 'leaves' : 'enters'} tenant ${c.tenant}${c.mode === 'Audit' ? ' (Audit)' : ''} undeclared on ${c.ports.format()}`,
  );
  return [
    head,
    `      ports:   ${v.ports.format()}`,
    `      fence:   ${crossings.join('; ')}`,
    `      ${side('egress ', v.from, v.egress)}`,
    `      ${side('ingress', v.to, v.ingress)}`,
  ].join('\n');
}

function classJson(c: EndpointClass): unknown {
  return c.kind === 'external'
    ? { kind: 'external', addresses: c.addresses.map((a) => ({ range: a.text, metadata: a.metadata })) }
    : { kind: 'pods', tenant: c.tenant ?? null, pods: c.pods.map((p) => ({ namespace: p.namespace, name: p.name, representative: p.representative })) };
}

function sideJson(c: EndpointClass, s: Violation['egress']): unknown {
  return {
    isolated: s.isolated,
    allowedBy: s.allowing.map((a) => ({ policy: a.name, namespaces: c.namespaces, ports: a.ports.format() })),
  };
}

export async function check(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, [...SCENE_FLAGS, { name: 'output', short: 'o', value: true }]);
  if (args.switches.has('help')) {
    io.stdout(`${CHECK_HELP}\n`);
    return EXIT.ok;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const format = one(args, 'output') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(format)}`);
  const { scene, title, counts } = await loadScene(args, io);
  const violations = findViolations(scene.reach, scene.fences);
  const failing = violations.filter((v) => v.enforced).length;
  const classes = scene.reach.classes.length;

  if (format === 'json') {
    const out = {
      input: title,
      counts: { ...counts, endpointClasses: classes },
      failed: failing > 0,
      violations: violations.map((v) => ({
        enforced: v.enforced,
        from: classJson(v.from),
        to: classJson(v.to),
        ports: v.ports.format(),
        crossings: v.crossings.map((c) => ({ tenant: c.tenant, mode: c.mode, direction: c.direction, ports: c.ports.format() })),
        egress: sideJson(v.from, v.egress),
        ingress: sideJson(v.to, v.ingress),
      })),
      notes: scene.notes,
    };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return failing > 0 ? EXIT.violation : EXIT.ok;
  }

  const audit = violations.length - failing;
  const scope = `${counts.tenants} tenants, ${counts.namespaces} namespaces, ${counts.pods} pods, ${counts.policies} policies (${classes} groups of equivalent endpoints)`;
  const lines: string[] = [`netfence check: ${title}: ${scope}`];
  if (violations.length === 0) lines.push('no path crosses a tenant fence undeclared');
  else {
    lines.push(
      `${failing} path${failing === 1 ? '' : 's'} cross${failing === 1 ? 'es' : ''} an Enforce tenant's fence undeclared` +
        (audit > 0 ? `; ${audit} more cross${audit === 1 ? 'es' : ''} only Audit tenants' fences` : ''),
      '',
      ...violations.map(formatViolation).join('\n\n').split('\n'),
    );
  }
  if (scene.notes.length > 0) lines.push('', 'notes:', ...scene.notes.map((n) => `  ${n}`));
  io.stdout(`${lines.join('\n')}\n`);
  return failing > 0 ? EXIT.violation : EXIT.ok;
}
