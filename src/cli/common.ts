/** What the offline commands share: the output streams, settings flags and reading the input. */
import { defaultSettings, type CompilerSettings } from '../compiler/settings.js';
import { collectInputs, type Inputs } from '../io/inputs.js';
import { readManifests } from '../io/manifests.js';
import { many, one, UsageError, type FlagSpec, type ParsedArgs } from './args.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
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
];

export const SETTINGS_HELP = `Settings (as the operator is configured):
  --operator-namespace NS    the operator's namespace, never a member by selector or label (default netfence-system)
  --exclude-namespace NS     another namespace that never joins by selector or label (repeatable)
  --dns-namespace NS         namespace of the cluster DNS pods (default kube-system)
  --dns-selector K=V[,K=V]   labels of the cluster DNS pods (default k8s-app=kube-dns)
  --dns-port N               DNS port, allowed on UDP and TCP (default 53)`;

export function settingsFrom(args: ParsedArgs): CompilerSettings {
  const settings = defaultSettings(one(args, 'operator-namespace'), many(args, 'exclude-namespace'));
  const dnsNs = one(args, 'dns-namespace');
  const dnsSel = one(args, 'dns-selector');
  const dnsPort = one(args, 'dns-port');
  const dns = { ...settings.dns };
  if (dnsNs !== undefined) dns.namespace = dnsNs;
  if (dnsSel !== undefined) {
    const labels: Record<string, string> = {};
    for (const pair of dnsSel.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--dns-selector: ${JSON.stringify(pair)} is not KEY=VALUE`);
      labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    dns.podLabels = labels;
  }
  if (dnsPort !== undefined) {
    const n = Number(dnsPort);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--dns-port: ${JSON.stringify(dnsPort)} is not a port number`);
    dns.port = n;
  }
  return { ...settings, dns };
}

export function readInputs(args: ParsedArgs, io: CliIO): Inputs {
  const paths = many(args, 'filename');
  if (paths.length === 0) throw new UsageError('no input: give -f PATH (a file, a directory, or - for stdin)');
  return collectInputs(readManifests(paths, io.readStdin));
}
