/** `netfence render`: the NetworkPolicies the operator would maintain, from manifests, offline. */
import { stringify } from 'yaml';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import { compile, type CompileResult } from '../compiler/compile.js';
import type { Inputs } from '../io/inputs.js';
import { one, parseArgs, UsageError } from './args.js';
import { EXIT, INPUT_FLAGS, readInputs, SETTINGS_FLAGS, SETTINGS_HELP, settingsFrom, type CliIO } from './common.js';

export const RENDER_HELP = `Usage: netfence render -f PATH... [-o yaml|json] [settings]

Prints the NetworkPolicies netfence maintains for the TenantIsolations, Namespaces and Pods in
the input, sorted by namespace then name: multi-document YAML, or with -o json a v1 List.
A summary of tenants, members and warnings goes to standard error.

  -f, --filename PATH        a file, a directory (read recursively) or - for stdin; repeatable
  -o, --output FORMAT        yaml (default) or json
${SETTINGS_HELP}`;

export function formatPolicies(result: CompileResult, format: string): string {
  if (format === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: result.policies }, null, 2)}\n`;
  return result.policies.map((p) => `---\n${stringify(p, { aliasDuplicateObjects: false, lineWidth: 0 })}`).join('');
}

/** Human summary for standard error: one line per tenant, then every warning. */
export function summarize(result: CompileResult, inputs: Inputs): string[] {
  const lines: string[] = [];
  for (const t of result.tenants) {
    lines.push(`tenant ${t.name} (${t.mode}): ${t.members.length} member namespace(s), ${t.policies.length} polic${t.policies.length === 1 ? 'y' : 'ies'}${t.mode === 'Audit' ? ' planned, none written (Audit)' : ''}`);
    for (const w of t.warnings) lines.push(`  warning: ${w}`);
  }
  const generated = new Set(result.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  for (const p of inputs.policies) {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (generated.has(key) && p.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      lines.push(`warning: NetworkPolicy ${key} (${inputs.sourceOf.get(p) ?? 'input'}) has a name netfence generates but is not managed by netfence: the operator will not overwrite it`);
    }
  }
  for (const [type, n] of [...inputs.ignored.entries()].sort()) lines.push(`note: ignored ${n} ${type} object(s)`);
  return lines;
}

export function render(argv: readonly string[], io: CliIO): number {
  const args = parseArgs(argv, [...INPUT_FLAGS, { name: 'output', short: 'o', value: true }, ...SETTINGS_FLAGS, { name: 'help', short: 'h', value: false }]);
  if (args.switches.has('help')) {
    io.stdout(`${RENDER_HELP}\n`);
    return EXIT.ok;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const format = one(args, 'output') ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`--output must be yaml or json, not ${JSON.stringify(format)}`);
  const settings = settingsFrom(args);
  const inputs = readInputs(args, io);
  const result = compile({ tenants: inputs.tenants, namespaces: inputs.namespaces, pods: inputs.pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} })), settings });
  const failed = result.tenants.filter((t) => t.errors.length > 0);
  if (failed.length > 0) {
    for (const t of failed) {
      for (const e of t.errors) io.stderr(`netfence: TenantIsolation ${t.name} (${inputs.sourceOf.get(inputs.tenants.find((x) => x.metadata.name === t.name) as object) ?? 'input'}): ${e}\n`);
    }
    io.stderr('netfence: nothing rendered: the tenants above cannot be compiled (the operator would keep them deny-only)\n');
    return EXIT.badInput;
  }
  io.stdout(formatPolicies(result, format));
  for (const line of summarize(result, inputs)) io.stderr(`${line}\n`);
  return EXIT.ok;
}
