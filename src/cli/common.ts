/** What the offline commands share: the output streams, settings flags and reading the input. */
import { dnsLabelProblem, labelKeyProblem, labelValueProblem } from '../api/names.js';
import { setOwn } from '../core/objects.js';
import { defaultSettings, type CompilerSettings } from '../compiler/settings.js';
import { collectInputs, type Inputs } from '../io/inputs.js';
import { readManifests } from '../io/manifests.js';
import { many, one, UsageError, type FlagSpec, type ParsedArgs } from './args.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Standard input: its bytes (checked as UTF-8 when read), or text (tests). */
  readStdin: () => string | Uint8Array;
}

export const EXIT = { ok: 0, violation: 1, badInput: 2 } as const;

export const INPUT_FLAGS: FlagSpec[] = [{ name: 'filename', short: 'f', value: true, repeatable: true }];

/** Operator settings that change the generated policies; the operator takes the same as flags. */
export const SETTINGS_FLAGS: FlagSpec[] = [
  { name: 'operator-namespace', value: true },
  { name: 'exclude-namespace', value: true, repeatable: true },
  { name: 'dns-namespace', value: true },
  { name: 'dns-selector', value: true },
  { name: 'dns-port', value: true },
  { name: 'member-label', value: true },
];

export const SETTINGS_HELP = `Settings (as the operator is configured):
  --operator-namespace NS    the operator's namespace, never a member by selector or label (default netfence-system)
  --exclude-namespace NS     another namespace that never joins by selector or label (repeatable)
  --dns-namespace NS         namespace of the cluster DNS pods (default kube-system)
  --dns-selector K=V[,K=V]   labels of the cluster DNS pods (default k8s-app=kube-dns)
  --dns-port N               DNS port, allowed on UDP and TCP (default 53)
  --member-label on|off      select a tenant's namespaces by the label netfence.dev/member, which the
                             operator sets and the admission guard protects (default on); off: by
                             name, for clusters without the guard`;

/**
 * The compiler settings of the flags, each value checked as the API server would check it
 * where it ends up (a namespace name, a label selector, a port): `netfence run` takes its
 * settings through here too, so the operator and the offline commands refuse the same values.
 * Throws one UsageError naming every bad flag and what is wrong with it.
 */
export function settingsFrom(args: ParsedArgs): CompilerSettings {
  const problems: string[] = [];
  const namespace = (flag: string, value: string | undefined): void => {
    const problem = value === undefined ? undefined : dnsLabelProblem(value);
    if (problem !== undefined) problems.push(`--${flag}: ${problem} (a namespace name)`);
  };
  const operatorNs = one(args, 'operator-namespace');
  const excluded = many(args, 'exclude-namespace');
  const dnsNs = one(args, 'dns-namespace');
  const dnsSel = one(args, 'dns-selector');
  const dnsPort = one(args, 'dns-port');
  namespace('operator-namespace', operatorNs);
  for (const ns of excluded) namespace('exclude-namespace', ns);
  namespace('dns-namespace', dnsNs);
  const settings = defaultSettings(operatorNs, excluded);
  const dns = { ...settings.dns };
  if (dnsNs !== undefined) dns.namespace = dnsNs;
  if (dnsSel !== undefined) {
    const labels: Record<string, string> = {};
    for (const pair of dnsSel.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) {
        problems.push(`--dns-selector: ${JSON.stringify(pair)} is not KEY=VALUE`);
        continue;
      }
      const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      const keyProblem = labelKeyProblem(key) ?? (Object.hasOwn(labels, key) ? `label key ${JSON.stringify(key)} is given twice` : undefined);
      for (const problem of [keyProblem, labelValueProblem(value)]) if (problem !== undefined) problems.push(`--dns-selector: ${problem}`);
      setOwn(labels, key, value);
    }
    dns.podLabels = labels;
  }
  if (dnsPort !== undefined) {
    const n = /^[0-9]+$/.test(dnsPort) ? Number(dnsPort) : NaN;
    if (!(n >= 1 && n <= 65535)) problems.push(`--dns-port: ${JSON.stringify(dnsPort)} is not a port number: digits only, from 1 to 65535`);
    dns.port = n;
  }
  const memberLabel = one(args, 'member-label');
  if (memberLabel !== undefined && memberLabel !== 'on' && memberLabel !== 'off') problems.push(`--member-label: ${JSON.stringify(memberLabel)} is not on or off`);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return { ...settings, dns, memberLabel: memberLabel !== 'off' };
}

export function readInputs(args: ParsedArgs, io: CliIO): Inputs {
  const paths = many(args, 'filename');
  if (paths.length === 0) throw new UsageError('no input: give -f PATH (a file, a directory, or - for stdin)');
  return collectInputs(readManifests(paths, io.readStdin));
}
