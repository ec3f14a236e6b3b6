/**
 * `netfence check`: fails when a path crosses a tenant's fence that its TenantIsolation does
 * not declare, or when the input has a problem the paths alone would not show (findings).
 *
 * The report is built in one visit of the allowed pairs (two for text with --verbose), and
 * written in pieces: memory grows with the causes and the endpoint classes, never with the
 * paths, so a cluster where every namespace is open (a million paths) reads as one cause per
 * policy and `-o json` streams every path without holding them.
 */
import { DEFAULT_OPERATOR_NAMESPACE } from '../api/constants.js';
import { CauseGroups, forEachCrossing, forEachViolation, violationFrom, type CauseDirection, type CauseGroup, type Violation } from '../analysis/check.js';
import { exclusionReasons, findings, type Finding } from '../analysis/findings.js';
import { describePod } from '../analysis/pod-names.js';
import type { PortSet } from '../analysis/ports.js';
import type { Allowance, EndpointClass } from '../analysis/reachability.js';
import { many, noPositionals, one, outputFormat, parseArgs } from './args.js';
import { EXIT, SETTINGS_HELP, type CliIO } from './common.js';
import { loadScene, SCENE_FLAGS, SCENE_HELP, type LoadedScene } from './scene.js';

export const CHECK_HELP = `Usage: netfence check (-f PATH... | --live) [-o text|json] [--verbose] [--strict] [settings]

Computes who can reach whom from every NetworkPolicy (hand-written ones included, plus those
netfence would maintain) and reports every path that enters or leaves a tenant other than
those its TenantIsolation declares: same tenant, DNS, declared peers, exposures. A path goes
from a group of pods (or addresses outside the cluster) that no policy can tell apart to
another such group.

Paths are reported by cause: the tenant whose fence they cross and the policies on its side
that allow the undeclared ports (or: no policy selects those pods), with the number of paths
entering and leaving, their ports and an example of each. Causes of Enforce tenants come
first, marked FAIL; those of Audit tenants are marked AUDIT and do not fail the check.

Findings are problems of the input itself, by category:
  conflict             a namespace claimed by two tenants: deny-only, an outage (always fails)
  incomplete           a namespace whose pod selectors tell apart more kinds of pod than the
                       analysis follows: nothing is proven there (always fails)
  unknown-peer         a peer {tenant: X} naming a tenant that does not exist
  empty-peer           a peer {tenant: X} whose tenant has no member namespace
  empty-selector       a membership or peer namespaceSelector that matches no namespace
  metadata-cidr        a CIDR peer inside cloud metadata, dropped (allowCloudMetadata keeps it)
  excluded-namespace   a namespace that asks to join a tenant (label, selector, or named) but
                       is excluded by the settings, and why
  host-network         a member pod or workload with hostNetwork: NetworkPolicy does not govern
                       it, so it is outside the fence whatever the policies say
  exposure-label       a pod label opting into an exposure its tenant does not declare
  missing-namespace    a namespace a tenant names that the input does not hold (analysed as
                       it will be fenced when created)
  no-members           a tenant with no member namespace
  other                any other compiler warning

Exit 1 when a path crosses an Enforce tenant's fence undeclared, when there is a conflict or
an incomplete namespace, or with --strict when there is any finding; 0 otherwise.

${SCENE_HELP}
  -o, --output FORMAT        text (default) or json: every endpoint group once (id, pods or
                             address ranges), every finding, every path (one per line, its ends
                             by endpoint id, the id of the cause of each crossing), the causes
                             and a summary; written as it is computed
  --verbose                  text: also every path, with its ports and the policies on each side
  --strict                   findings other than conflicts fail the check too
${SETTINGS_HELP}`;

const LISTED_MEMBERS = 4;
const LISTED_FINDINGS = 10;
/** Output is handed on in pieces of about this many characters. */
const CHUNK = 1 << 20;

const portsText = (p: PortSet): string => (p.isAll() ? 'any port' : p.format());
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

/** The first LISTED_MEMBERS members of a pod class, Pods and workloads before possible pods. */
function shownPods(c: EndpointClass): string[] {
  const out: string[] = [];
  for (const possible of [false, true]) {
    for (const p of c.pods) {
      if (out.length === LISTED_MEMBERS) return out;
      if ((p.origin === 'possible') === possible) out.push(describePod(p));
    }
  }
  return out;
}

function describeClass(c: EndpointClass): string {
  if (c.kind === 'external') {
    const texts = c.addresses.slice(0, LISTED_MEMBERS).map((a) => (a.metadata ? `${a.text} (cloud metadata)` : a.text));
    const more = c.addresses.length - texts.length;
    return more > 0 ? `${texts.join(', ')} and ${more} more ranges` : texts.join(', ');
  }
  const tenant = c.tenant === undefined ? 'in no tenant' : `tenant ${c.tenant}`;
  const more = c.pods.length > LISTED_MEMBERS ? ` and ${count(c.pods.length - LISTED_MEMBERS)} more pods like them` : '';
  return `${shownPods(c).join(', ')}${more} (${tenant})`;
}

/** `ns/name` for policies of one namespace; `name (in each of a, b and 3 more namespaces)` otherwise. */
function policiesIn(namespaces: readonly string[], names: readonly string[]): string {
  if (namespaces.length === 1) return names.map((n) => `${namespaces[0]}/${n}`).join(', ');
  const shown = namespaces.slice(0, LISTED_MEMBERS).join(', ');
  const more = namespaces.length > LISTED_MEMBERS ? ` and ${count(namespaces.length - LISTED_MEMBERS)} more namespaces` : '';
  return `${names.join(', ')} (in each of ${shown}${more})`;
}

function namespacesText(namespaces: readonly string[]): string {
  const more = namespaces.length > LISTED_MEMBERS ? ` and ${count(namespaces.length - LISTED_MEMBERS)} more namespaces` : '';
  return `${namespaces.slice(0, LISTED_MEMBERS).join(', ')}${more}`;
}

function policies(c: EndpointClass, allowances: readonly Allowance[]): string {
  return policiesIn(
    c.namespaces,
    allowances.map((a) => `${a.name} (${a.ports.format()})`),
  );
}

function side(label: string, c: EndpointClass, s: Violation['egress']): string {
  if (c.kind === 'external') return `${label} outside the cluster: no policy applies`;
  if (!s.isolated) return `${label} not isolated: no policy selects ${c.pods.length === 1 ? 'the pod' : 'these pods'} for ${label.trim()}`;
  return `${label} allowed by ${policies(c, s.allowing)}`;
}

/** One path, every detail: what --verbose lists. */
function formatViolation(v: Violation, describe: (c: EndpointClass) => string): string {
  const head = `${v.enforced ? 'FAIL' : 'AUDIT'}  ${describe(v.from)}\n   -> ${describe(v.to)}`;
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

function causeTitle(g: CauseGroup): string {
  const mark = g.mode === 'Enforce' ? 'FAIL ' : 'AUDIT';
  const what = g.isolated
    ? `${policiesIn(g.namespaces, g.policies)} let${g.policies.length === 1 && g.namespaces.length === 1 ? 's' : ''} paths across its fence undeclared`
    : `no policy selects pods in ${namespacesText(g.namespaces)}, so nothing stops paths across its fence`;
  return `${mark} tenant ${g.tenant}${g.mode === 'Audit' ? ' (Audit)' : ''}: ${what}`;
}

function directionLine(verb: string, d: CauseDirection, describe: (c: EndpointClass) => string): string {
  const e = d.examples[0];
  const example = e === undefined ? '' : `, e.g. ${describe(e.from)} -> ${describe(e.to)}${e.ports.equals(d.ports) ? '' : ` (${e.ports.format()})`}`;
  return `      ${verb} on ${portsText(d.ports)}: ${plural(d.paths, 'path')}${example}`;
}

/** A cause in a few lines: what lets the paths through, then for each direction the count, ports and an example. */
function formatCause(g: CauseGroup, describe: (c: EndpointClass) => string): string {
  const lines = [causeTitle(g)];
  if (g.ingress !== undefined) lines.push(directionLine('enters', g.ingress, describe));
  if (g.egress !== undefined) lines.push(directionLine('leaves', g.egress, describe));
  return lines.join('\n');
}

function formatFinding(f: Finding): string {
  return `  ${f.severity === 'error' ? 'error  ' : 'warning'}  ${f.category.padEnd(18)}  ${f.message}`;
}

/** Writes through `write` in pieces of about CHUNK characters. */
function chunked(write: (text: string) => void): { put: (text: string) => void; flush: () => void } {
  let buffer = '';
  return {
    put(text) {
      buffer += text;
      if (buffer.length >= CHUNK) {
        write(buffer);
        buffer = '';
      }
    },
    flush() {
      if (buffer !== '') write(buffer);
      buffer = '';
    },
  };
}

/** describeClass, once per class. */
function describer(): (c: EndpointClass) => string {
  const cache = new Map<number, string>();
  return (c) => {
    let text = cache.get(c.index);
    if (text === undefined) cache.set(c.index, (text = describeClass(c)));
    return text;
  };
}

interface Verdict {
  failed: boolean;
  errors: number;
  warnings: number;
}

function verdictOf(groups: CauseGroups, found: readonly Finding[], strict: boolean): Verdict {
  const errors = found.filter((f) => f.severity === 'error').length;
  const warnings = found.length - errors;
  return { failed: groups.enforcedPaths > 0 || errors > 0 || (strict && warnings > 0), errors, warnings };
}

function classJson(c: EndpointClass): unknown {
  return c.kind === 'external'
    ? { id: c.index, kind: 'external', addresses: c.addresses.map((a) => ({ range: a.text, metadata: a.metadata })) }
    : {
        id: c.index,
        kind: 'pods',
        tenant: c.tenant ?? null,
        namespaces: c.namespaces,
        pods: c.pods.map((p) => ({ namespace: p.namespace, name: p.name, origin: p.origin, ...(p.labels !== undefined ? { labels: p.labels } : {}) })),
      };
}

const sideJson = (s: Violation['egress']): unknown => ({ isolated: s.isolated, allowedBy: s.allowing.map((a) => ({ policy: a.name, ports: a.ports.format() })) });

function violationJson(v: Violation, causes: readonly number[]): unknown {
  return {
    enforced: v.enforced,
    from: v.from.index,
    to: v.to.index,
    ports: v.ports.format(),
    crossings: v.crossings.map((c, i) => ({ tenant: c.tenant, mode: c.mode, direction: c.direction, ports: c.ports.format(), cause: causes[i] })),
    egress: sideJson(v.egress),
    ingress: sideJson(v.ingress),
  };
}

function causeJson(g: CauseGroup): unknown {
  const direction = (d: CauseDirection | undefined): unknown =>
    d === undefined ? null : { paths: d.paths, ports: d.ports.format(), examples: d.examples.map((e) => ({ from: e.from.index, to: e.to.index, ports: e.ports.format() })) };
  return {
    id: g.id,
    tenant: g.tenant,
    mode: g.mode,
    namespaces: g.namespaces,
    isolated: g.isolated,
    policies: g.policies,
    ingress: direction(g.ingress),
    egress: direction(g.egress),
  };
}

const json = (v: unknown): string => JSON.stringify(v);

/** `-o json`, written as it is computed: one endpoint, finding, path or cause per line. */
function writeJson(loaded: LoadedScene, found: readonly Finding[], strict: boolean, write: (text: string) => void): Verdict {
  const { scene, title, counts } = loaded;
  const out = chunked(write);
  const list = <T>(key: string, items: Iterable<T>, show: (item: T) => unknown, last = false): void => {
    out.put(`  ${json(key)}: [`);
    let first = true;
    for (const item of items) {
      out.put(`${first ? '' : ','}\n    ${json(show(item))}`);
      first = false;
    }
    out.put(`${first ? '' : '\n  '}]${last ? '' : ','}\n`);
  };
  out.put(`{\n  "input": ${json(title)},\n  "counts": ${json({ ...counts, endpointClasses: scene.reach.classes.length })},\n`);
  list('endpoints', scene.reach.classes, classJson);
  list('findings', found, (f) => f);
  const groups = new CauseGroups();
  out.put('  "violations": [');
  let first = true;
  forEachCrossing(scene.reach, scene.fences, (p, crossings) => {
    const causes: number[] = [];
    groups.add(p, crossings, causes);
    out.put(`${first ? '' : ','}\n    ${json(violationJson(violationFrom(p, crossings), causes))}`);
    first = false;
  });
  out.put(`${first ? '' : '\n  '}],\n`);
  list('causes', groups.sorted(), causeJson);
  const verdict = verdictOf(groups, found, strict);
  const summary = {
    paths: groups.paths,
    enforcedPaths: groups.enforcedPaths,
    auditPaths: groups.paths - groups.enforcedPaths,
    causes: groups.size,
    errors: verdict.errors,
    warnings: verdict.warnings,
    strict,
  };
  out.put(`  "summary": ${json(summary)},\n  "failed": ${json(verdict.failed)},\n`);
  list('notes', scene.notes, (n) => n, true);
  out.put('}\n');
  out.flush();
  return verdict;
}

function findingLines(found: readonly Finding[], verdict: Verdict, strict: boolean, verbose: boolean): string[] {
  if (found.length === 0) return [];
  const { errors, warnings } = verdict;
  const effect = warnings === 0 ? '' : strict ? ' (--strict: warnings fail the check)' : ' (warnings fail the check with --strict)';
  const lines = ['', `findings: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${effect}`];
  const shown = new Map<string, number>();
  for (const f of found) {
    const n = shown.get(f.category) ?? 0;
    shown.set(f.category, n + 1);
    if (verbose || n < LISTED_FINDINGS) lines.push(formatFinding(f));
  }
  for (const [category, n] of shown) if (!verbose && n > LISTED_FINDINGS) lines.push(`  ... and ${count(n - LISTED_FINDINGS)} more ${category} findings (--verbose lists them)`);
  return lines;
}

function writeText(loaded: LoadedScene, found: readonly Finding[], strict: boolean, verbose: boolean, write: (text: string) => void): Verdict {
  const { scene, title, counts } = loaded;
  const out = chunked(write);
  const describe = describer();
  const groups = new CauseGroups(1);
  forEachCrossing(scene.reach, scene.fences, (p, crossings) => groups.add(p, crossings));
  const verdict = verdictOf(groups, found, strict);
  const classes = scene.reach.classes.length;
  const workloads = counts.workloads > 0 ? `, ${count(counts.workloads)} workload${counts.workloads === 1 ? '' : 's'}` : '';
  const scope = `${count(counts.tenants)} tenants, ${count(counts.namespaces)} namespaces, ${count(counts.pods)} pods${workloads}, ${count(counts.policies)} policies (${count(classes)} groups of equivalent endpoints)`;
  out.put(`netfence check: ${title}: ${scope}\n`);
  const audit = groups.paths - groups.enforcedPaths;
  const cut = scene.reach.cutNamespaces.length;
  if (groups.paths === 0) out.put(`no path crosses a tenant fence undeclared${cut > 0 ? `, but ${plural(cut, 'namespace')} could not be analysed (incomplete, below)` : ''}\n`);
  else {
    const failing = groups.enforcedPaths;
    out.put(
      `${plural(failing, 'path')} cross${failing === 1 ? 'es' : ''} an Enforce tenant's fence undeclared` +
        (audit > 0 ? `; ${count(audit)} more cross${audit === 1 ? 'es' : ''} only Audit tenants' fences` : '') +
        `, from ${plural(groups.size, 'cause')}${verbose ? '' : ' (--verbose lists every path)'}\n`,
    );
  }
  for (const line of findingLines(found, verdict, strict, verbose)) out.put(`${line}\n`);
  for (const g of groups.sorted()) out.put(`\n${formatCause(g, describe)}\n`);
  if (verbose && groups.paths > 0) {
    out.put('\nevery path:\n');
    forEachViolation(scene.reach, scene.fences, (v) => out.put(`\n${formatViolation(v, describe)}\n`));
  }
  if (scene.notes.length > 0) {
    out.put('\nnotes:\n');
    for (const n of scene.notes) out.put(`  ${n}\n`);
  }
  out.flush();
  return verdict;
}

export async function check(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, [...SCENE_FLAGS, { name: 'output', short: 'o', value: true }, { name: 'verbose', value: false }, { name: 'strict', value: false }]);
  if (args.switches.has('help')) {
    io.stdout(`${CHECK_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(args);
  const format = outputFormat(args, ['text', 'json']);
  const strict = args.switches.has('strict');
  const loaded = await loadScene(args, io, { tenants: true });
  const { scene } = loaded;
  const found = findings({
    tenants: scene.tenants,
    namespaces: scene.namespaces,
    pods: scene.pods,
    compiled: scene.compiled,
    exclusions: exclusionReasons(one(args, 'operator-namespace') ?? DEFAULT_OPERATOR_NAMESPACE, many(args, 'exclude-namespace')),
    added: scene.addedNamespaces,
    cut: scene.reach.cutNamespaces,
  });
  const verdict = format === 'json' ? writeJson(loaded, found, strict, io.stdout) : writeText(loaded, found, strict, args.switches.has('verbose'), io.stdout);
  return verdict.failed ? EXIT.violation : EXIT.ok;
}
