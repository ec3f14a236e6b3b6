/** `netfence render`: the NetworkPolicies the operator would maintain, from manifests, offline. */
import { writeYamlStream } from '../io/yaml-emit.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import { compile, type CompileResult } from '../compiler/compile.js';
import type { Inputs } from '../io/inputs.js';
import { noPositionals, outputFormat, parseArgs } from './args.js';
import { EXIT, INPUT_FLAGS, readInputs, SETTINGS_FLAGS, SETTINGS_HELP, settingsFrom, type CliIO } from './common.js';

export const RENDER_HELP = `Usage: netfence render -f PATH... [-o yaml|json] [settings]

Prints the NetworkPolicies netfence maintains for the TenantIsolations, Namespaces and Pods in
the input, sorted by namespace then name: multi-document YAML, or with -o json a v1 List.
Standard error gets every warning, a note per kind of object ignored, and one summary line:
  netfence render: 2 tenants, 3 member namespaces, 9 policies, 0 warnings
With --verbose, first one line per tenant, its warnings under it.

  -f, --filename PATH        a file, a directory (read recursively) or - for stdin; repeatable
  -o, --output FORMAT        yaml (default) or json
  --verbose                  one line per tenant on standard error: members and policies
${SETTINGS_HELP}`;

/**
 * Writes the policies as YAML or as a v1 List in JSON (the bytes JSON.stringify(list, null, 2)
 * gives), in pieces, so the whole output is never held in memory at once.
 */
export function writePolicies(result: CompileResult, format: string, write: (text: string) => void): void {
  if (format !== 'json') {
    writeYamlStream(result.policies, write);
    return;
  }
  const items = result.policies;
  if (items.length === 0) {
    write('{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": []\n}\n');
    return;
  }
  let out = '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n';
  for (const [i, p] of items.entries()) {
    out += `    ${JSON.stringify(p, null, 2).replace(/\n/g, '\n    ')}${i < items.length - 1 ? ',' : ''}\n`;
    if (out.length >= 1 << 20) {
      write(out);
      out = '';
    }
  }
  write(`${out}  ]\n}\n`);
}

export function formatPolicies(result: CompileResult, format: string): string {
  let text = '';
  writePolicies(result, format, (t) => (text += t));
  return text;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The report for standard error: every warning (each is worth acting on), a note per kind of
 * object ignored, then one summary line counting tenants, member namespaces, the policies
 * printed and the warnings. `verbose` adds one line per tenant, its warnings under it, in place
 * of the flat warning list: thousands of tenants otherwise mean thousands of lines.
 */
export function summarize(result: CompileResult, inputs: Inputs, verbose = false): string[] {
  const lines: string[] = [];
  let warnings = 0;
  for (const t of result.tenants) {
    if (verbose)
      lines.push(
        `tenant ${t.name} (${t.mode}): ${t.members.length} member namespace(s), ${t.policies.length} polic${t.policies.length === 1 ? 'y' : 'ies'}${t.mode === 'Audit' ? ' planned, none written (Audit)' : ''}`,
      );
    for (const w of t.warnings) lines.push(verbose ? `  warning: ${w}` : `warning: tenant ${t.name}: ${w}`);
    warnings += t.warnings.length;
  }
  const generated = new Set(result.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  for (const p of inputs.policies) {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (generated.has(key) && p.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      lines.push(
        `warning: NetworkPolicy ${key} (${inputs.sourceOf.get(p) ?? 'input'}) has a name netfence generates but is not managed by netfence: the operator will not overwrite it`,
      );
      warnings++;
    }
  }
  for (const [type, n] of [...inputs.ignored.entries()].sort()) lines.push(`note: ignored ${n} ${type} object(s)`);
  const audit = result.tenants.filter((t) => t.mode === 'Audit');
  const planned = audit.reduce((sum, t) => sum + t.policies.length, 0);
  const members = result.tenants.reduce((sum, t) => sum + t.members.length, 0);
  const parts = [
    `${plural(result.tenants.length, 'tenant')}${audit.length > 0 ? ` (${audit.length} Audit: ${plural(planned, 'policy', 'policies')} planned, none written)` : ''}`,
    plural(members, 'member namespace'),
    ...(result.conflicts.length > 0 ? [`${plural(result.conflicts.length, 'namespace')} claimed by several tenants (deny-only)`] : []),
    plural(result.policies.length, 'policy', 'policies'),
    plural(warnings, 'warning'),
  ];
  lines.push(`netfence render: ${parts.join(', ')}`);
  return lines;
}

export function render(argv: readonly string[], io: CliIO): number {
  const args = parseArgs(argv, [
    ...INPUT_FLAGS,
    { name: 'output', short: 'o', value: true },
    { name: 'verbose', value: false },
    ...SETTINGS_FLAGS,
    { name: 'help', short: 'h', value: false },
  ]);
  if (args.switches.has('help')) {
    io.stdout(`${RENDER_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(args);
  const format = outputFormat(args, ['yaml', 'json']);
  const settings = settingsFrom(args);
  const inputs = readInputs(args, io);
  const result = compile({
    tenants: inputs.tenants,
    namespaces: inputs.namespaces,
    pods: [...inputs.pods, ...inputs.workloads].map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} })),
    settings,
  });
  const failed = result.tenants.filter((t) => t.errors.length > 0);
  if (failed.length > 0) {
    for (const t of failed) {
      for (const e of t.errors)
        io.stderr(`netfence: TenantIsolation ${t.name} (${inputs.sourceOf.get(inputs.tenants.find((x) => x.metadata.name === t.name) as object) ?? 'input'}): ${e}\n`);
    }
    io.stderr('netfence: nothing rendered: the tenants above cannot be compiled (the operator would keep them deny-only)\n');
    return EXIT.badInput;
  }
  writePolicies(result, format, io.stdout);
  for (const line of summarize(result, inputs, args.switches.has('verbose'))) io.stderr(`${line}\n`);
  return EXIT.ok;
}
