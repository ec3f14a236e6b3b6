/** `netfence diff`: the reachability a change opens and closes, per tenant and cause; fails when it opens a fence undeclared. */
import { diffScenes, type DiffChange, type DiffEnd, type PathState, type SideCause } from '../analysis/diff.js';
import { InputError } from '../io/manifests.js';
import { many, noPositionals, outputFormat, parseArgs, UsageError, type ParsedArgs } from './args.js';
import { EXIT, SETTINGS_FLAGS, SETTINGS_HELP, type CliIO } from './common.js';
import { loadScene, type LoadedScene } from './scene.js';

export const DIFF_HELP = `Usage: netfence diff --base PATH... --head PATH... [-o text|json] [settings]

Compares two sets of manifests, the base (before a change) and the head (after it), each read
as \`check -f\` reads it, the policies netfence would maintain added, and prints what the head
opens and closes. A path goes from a namespace or a range of addresses outside the cluster to
another namespace or range; it is open on a port when some pod (or address) of the one can
reach some pod of the other on it. Each change names the fence it crosses (a tenant's ingress
or egress, or within one tenant, or outside every tenant), whether that tenant declares it,
and the policies of that side that allow it (in the head; for what closes, in the base).

  FAIL    the head opens a path across an Enforce tenant's fence undeclared, or an open path
          becomes undeclared there, where the base did not
  AUDIT   the same across an Audit tenant's fence (listed, never fails)
  opens / closes       the path's ports are open in the head and not in the base / the reverse
  keeps ... open       open in both, and how it crosses the fence changed

Exit 1 when some change is FAIL, 0 otherwise (also when the base already crosses a fence
undeclared and the head does not widen it: run check for the head as it is).

  --base PATH                manifests before the change: a file, a directory (read recursively)
                             or - for stdin (one side only); repeatable
  --head PATH                manifests after the change; repeatable
  -o, --output FORMAT        text (default) or json
  -h, --help
${SETTINGS_HELP}
                             (the settings apply to both sides)`;

const LISTED_ENDS = 4;

function endText(e: DiffEnd): string {
  if (e.kind === 'namespace') return e.name;
  if (e.kind === 'everywhere') return e.metadata ? 'any address outside the cluster' : 'any address outside the cluster but cloud metadata';
  const [range, holes] = e.range.split(' except ');
  const text = holes === undefined ? `addresses ${range}` : `addresses ${range} (except ${holes})`;
  return e.metadata ? `cloud metadata ${text.slice('addresses '.length)}` : text;
}

function endsText(ends: readonly DiffEnd[]): string {
  const shown = ends.slice(0, LISTED_ENDS).map(endText).join(', ');
  return ends.length > LISTED_ENDS ? `${shown} and ${ends.length - LISTED_ENDS} more` : shown;
}

function subject(c: DiffChange): string {
  const { scope } = c;
  const ends = `from ${endsText(c.from)} to ${endsText(c.to)}`;
  if (scope.kind === 'crossing') return `tenant ${scope.tenant} ${scope.direction} ${ends}`;
  if (scope.kind === 'within') return `within tenant ${scope.tenant} ${ends}`;
  return `outside tenants ${ends}`;
}

/** A side's cause; policy names are qualified with the side's namespace when it is one, else they are in each. */
function sideText(name: 'egress' | 'ingress', s: SideCause | undefined, ends: readonly DiffEnd[]): string[] {
  if (s === undefined) return [];
  const namespaces = ends.flatMap((e) => (e.kind === 'namespace' ? [e.name] : []));
  const [only] = namespaces;
  const parts = namespaces.length === 1 ? s.policies.map((p) => `${only}/${p}`) : [...s.policies];
  if (namespaces.length > 1 && parts.length > 0) parts[parts.length - 1] += ` in each ${name === 'egress' ? 'source' : 'destination'} namespace`;
  if (s.unrestricted) parts.push(s.policies.length === 0 ? 'no policy selects the pods' : 'pods no policy selects');
  return [`${name}: ${parts.join(', ')}`];
}

const stateText = (s: PathState | undefined): string => (s === 'declared' ? ', declared' : s === 'audit' || s === 'violation' ? ', undeclared' : '');

/** How a kept path's crossing changed. */
function keptText(before: PathState | undefined, after: PathState | undefined): string {
  if (after === 'violation' && before === 'audit') return 'undeclared, Enforce now';
  if (after === 'audit' && before === 'violation') return 'undeclared, Audit now';
  if (after === 'audit' || after === 'violation') return 'undeclared now';
  return after === 'declared' ? 'declared now' : 'not across this fence now';
}

function formatChange(c: DiffChange): string {
  const mark = c.failing ? 'FAIL ' : c.section === 'opens' && c.after === 'audit' ? 'AUDIT' : '     ';
  const on = `${subject(c)} on ${c.ports.format()}`;
  const what =
    c.reach === 'opened' ? `opens ${on}${stateText(c.after)}` : c.reach === 'closed' ? `closes ${on}${stateText(c.before)}` : `keeps ${on} open, ${keptText(c.before, c.after)}`;
  const cause = [...sideText('egress', c.egress, c.from), ...sideText('ingress', c.ingress, c.to)].join('; ');
  return `  ${mark}  ${what}${cause === '' ? '' : ` (${c.reach === 'closed' ? 'in the base, ' : ''}${cause})`}`;
}

function changeJson(c: DiffChange): unknown {
  const end = (e: DiffEnd): unknown =>
    e.kind === 'namespace'
      ? { namespace: e.name }
      : e.kind === 'addresses'
        ? { addresses: e.range, cidr: e.cidr, except: e.except, metadata: e.metadata }
        : { addresses: 'any', metadata: e.metadata };
  return {
    section: c.section,
    reach: c.reach,
    scope: c.scope,
    before: c.before ?? null,
    after: c.after ?? null,
    failing: c.failing,
    from: c.from.map(end),
    to: c.to.map(end),
    ports: c.ports.format(),
    ...(c.egress === undefined ? {} : { egress: c.egress }),
    ...(c.ingress === undefined ? {} : { ingress: c.ingress }),
  };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One side's scene: `check -f PATHS` with the command's settings flags. */
async function loadSide(args: ParsedArgs, flag: 'base' | 'head', io: CliIO): Promise<LoadedScene> {
  const paths = many(args, flag);
  const flags = new Map([...args.flags].filter(([name]) => SETTINGS_FLAGS.some((s) => s.name === name)));
  flags.set('filename', paths);
  try {
    return await loadScene({ flags, switches: new Set(), positionals: [] }, io);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.problems.map((p) => `--${flag}: ${p}`));
    throw e;
  }
}

const countsText = (s: LoadedScene): string => `${s.counts.tenants} tenants, ${s.counts.namespaces} namespaces, ${s.counts.pods} pods, ${s.counts.policies} policies`;

export async function diff(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, [
    { name: 'base', value: true, repeatable: true },
    { name: 'head', value: true, repeatable: true },
    { name: 'output', short: 'o', value: true },
    ...SETTINGS_FLAGS,
    { name: 'help', short: 'h', value: false },
  ]);
  if (args.switches.has('help')) {
    io.stdout(`${DIFF_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(args);
  const format = outputFormat(args, ['text', 'json']);
  for (const flag of ['base', 'head']) if (many(args, flag).length === 0) throw new UsageError(`no --${flag}: give --${flag} PATH (a file, a directory, or - for stdin)`);
  if (many(args, 'base').includes('-') && many(args, 'head').includes('-')) throw new UsageError('standard input (-) can be read for one side only');
  const base = await loadSide(args, 'base', io);
  const head = await loadSide(args, 'head', io);
  const d = diffScenes(base.scene, head.scene);
  const code = d.failed ? EXIT.violation : EXIT.ok;

  if (format === 'json') {
    const side = (s: LoadedScene): unknown => ({ input: s.title, counts: s.counts, notes: s.scene.notes });
    io.stdout(`${JSON.stringify({ base: side(base), head: side(head), failed: d.failed, paths: d.paths, changes: d.changes.map(changeJson) }, null, 2)}\n`);
    return code;
  }

  const lines = [`netfence diff: base ${base.title} (${countsText(base)}) -> head ${head.title} (${countsText(head)})`];
  if (d.changes.length === 0) lines.push('no change: the head allows what the base allows, across the same fences');
  else {
    const opens = d.changes.filter((c) => c.section === 'opens');
    const marks = [
      ...(d.failed ? [`${opens.filter((c) => c.failing).length} FAIL`] : []),
      ...(opens.some((c) => c.after === 'audit') ? [`${opens.filter((c) => c.after === 'audit').length} AUDIT`] : []),
    ];
    const closes = d.changes.length - opens.length;
    lines.push(`${plural(opens.length, 'change opens', 'changes open')}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}, ${closes} close${closes === 1 ? 's' : ''}`);
    for (const section of ['opens', 'closes'] as const) {
      const changes = d.changes.filter((c) => c.section === section);
      if (changes.length > 0) lines.push('', `${section}:`, ...changes.map(formatChange));
    }
  }
  const notes = [...head.scene.notes, ...base.scene.notes.filter((n) => !head.scene.notes.includes(n)).map((n) => `base: ${n}`)];
  if (notes.length > 0) lines.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  io.stdout(`${lines.join('\n')}\n`);
  return code;
}
