/**
 * `netfence explain`: which policies allow or deny one path, and the verdict. A pod to itself
 * is allowed on every port whatever the policies say (the sides still show what they say),
 * and a line says why.
 */
import { PROTOCOLS, type Protocol } from '../api/k8s.js';
import { PortSet } from '../analysis/ports.js';
import { describePod } from '../analysis/pod-names.js';
import { allowedBetween, classOfEndpoint, undeclaredPorts, type EndpointClass, type SideAnswer, type SourceDetail } from '../analysis/reachability.js';
import type { Scene } from '../analysis/scene.js';
import { parseIP } from '../core/cidr.js';
import { InputError } from '../io/manifests.js';
import { sameIP } from '../evaluator/endpoint.js';
import { formatEndpoint, parseEndpoint, podAddresses, SELF_REASON, type Endpoint } from '../evaluator/index.js';
import { one, parseArgs, UsageError } from './args.js';
import { EXIT, SETTINGS_HELP, type CliIO } from './common.js';
import { loadScene, SCENE_FLAGS, SCENE_HELP } from './scene.js';

export const EXPLAIN_HELP = `Usage: netfence explain (-f PATH... | --live) FROM TO [--port N[/PROTO]] [settings]

For one path, lists each policy that selects the source for egress and the destination for
ingress, what each allows, which TenantIsolations declare the path, and the verdict. The last
line is \`verdict: allowed\` or \`verdict: denied\`; without --port the path is allowed when
some port is.

Exit status, for scripts: 0 allowed, 1 denied, 2 bad usage or bad input (an unknown pod, a bad
port), 3 an internal error.

FROM and TO are namespace/pod, namespace/kind/name for a workload's pods (e.g.
shop/deployment/web), namespace/* or namespace/*{key=value,...} for a pod that could be
created there (check names them), or an IP address outside the cluster.

${SCENE_HELP}
  --port N[/PROTO]           one port, e.g. 8080, 53/UDP, 9000/SCTP (protocol default TCP)
${SETTINGS_HELP}`;

export function parsePort(text: string): { port: number; protocol: Protocol } {
  const [n, p, extra] = text.split('/');
  const port = Number(n);
  const protocol = (p ?? 'TCP').toUpperCase() as Protocol;
  if (extra !== undefined || !/^[0-9]+$/.test(n ?? '') || !Number.isInteger(port) || port < 1 || port > 65535 || !PROTOCOLS.includes(protocol)) {
    throw new UsageError(`--port: ${JSON.stringify(text)} is not N or N/PROTO with N in 1-65535 and PROTO one of ${PROTOCOLS.join(', ')}`);
  }
  return { port, protocol };
}

function where(e: Endpoint, c: EndpointClass): string {
  if (e.kind === 'external') {
    const piece = c.addresses.find((a) => a.metadata);
    return `${e.ip} (outside the cluster${piece !== undefined ? ', cloud metadata' : ''})`;
  }
  const ref = c.pods.find((p) => p.namespace === e.namespace && p.name === e.name);
  const what = ref?.origin === 'possible' ? `, ${describePod(ref)}` : ref?.origin === 'workload' ? ', the pods of a workload' : '';
  return `${formatEndpoint(e)} (${c.tenant === undefined ? 'in no tenant' : `tenant ${c.tenant}`}${what})`;
}

function ruleLines(direction: 'egress' | 'ingress', d: SourceDetail, probe: PortSet): string[] {
  if (d.rules.length === 0) return [`      no ${direction} rules: allows nothing`];
  return d.rules.map((r, i) => {
    const peer = r.peerMatches ? 'peer matches' : `peer does not match`;
    const ports = r.ports.isAll() ? 'any port' : r.ports.isEmpty() ? 'no port (a named port the destination does not have)' : r.ports.format();
    const hit = r.peerMatches && !r.ports.intersect(probe).isEmpty();
    return `      ${direction}[${i}]: ${peer}; ${ports}${hit ? '  <- allows' : ''}`;
  });
}

function sideLines(
  label: 'egress' | 'ingress',
  subject: string,
  namespace: string | undefined,
  details: readonly SourceDetail[],
  external: boolean,
  probe: PortSet,
): { lines: string[]; allowed: PortSet } {
  if (external) return { lines: [`${label} of ${subject}: outside the cluster, no policy applies`, `  -> ${label} allows any port`], allowed: PortSet.ALL };
  if (details.length === 0) {
    return { lines: [`${label} of ${subject}: not isolated, no policy selects it for ${label}`, `  -> ${label} allows any port`], allowed: PortSet.ALL };
  }
  const lines = [`${label} of ${subject}: ${details.length} polic${details.length === 1 ? 'y selects' : 'ies select'} it`];
  let allowed = PortSet.EMPTY;
  for (const d of details) {
    const ports = PortSet.union(d.rules.filter((r) => r.peerMatches).map((r) => r.ports));
    allowed = allowed.union(ports);
    const here = ports.intersect(probe);
    lines.push(`  ${namespace}/${d.name}: ${here.isEmpty() ? 'does not allow' : `allows ${here.format()}`}`);
    lines.push(...ruleLines(label, d, probe));
  }
  const result = allowed.intersect(probe);
  lines.push(`  -> ${label} ${result.isEmpty() ? 'denied' : `allows ${result.format()}`}`);
  return { lines, allowed };
}

function fenceLines(scene: Scene, from: EndpointClass, to: EndpointClass, allowed: PortSet): string[] {
  if (from.tenant === to.tenant) {
    return [from.tenant === undefined ? 'fence: neither end is in a tenant' : `fence: both ends are in tenant ${from.tenant}: declared`];
  }
  const declared = scene.reach.declared(from, to);
  const pair = scene.reach.pair(from, to);
  const out: string[] = [];
  const say = (tenant: string | undefined, verb: string, side: SideAnswer): void => {
    if (tenant === undefined) return;
    const mode = scene.fences.tenants.get(tenant)?.mode === 'Audit' ? ' (Audit)' : '';
    const ports = side.ports;
    const undeclared = undeclaredPorts(pair, side).intersect(allowed);
    out.push(
      `fence: ${verb} tenant ${tenant}${mode}: ${ports.isEmpty() ? 'not declared' : `declared on ${ports.format()}`}` +
        (undeclared.isEmpty() ? '' : `; allowed undeclared on ${undeclared.format()}`),
    );
  };
  say(from.tenant, 'leaves', declared.egress);
  say(to.tenant, 'enters', declared.ingress);
  return out;
}

export async function explain(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, [...SCENE_FLAGS, { name: 'port', value: true }]);
  if (args.switches.has('help')) {
    io.stdout(`${EXPLAIN_HELP}\n`);
    return EXIT.ok;
  }
  if (args.positionals.length !== 2) throw new UsageError(`expected FROM and TO, got ${args.positionals.length} argument(s)`);
  const portText = one(args, 'port');
  const probe = portText === undefined ? undefined : parsePort(portText);
  const endpoints = args.positionals.map((text) => {
    try {
      return parseEndpoint(text);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }) as [Endpoint, Endpoint];
  const { scene } = await loadScene(args, io);
  const [from, to] = endpoints;
  const classes = endpoints.map((e) => {
    try {
      return classOfEndpoint(scene.reach, e);
    } catch (err) {
      throw new InputError([(err as Error).message]);
    }
  }) as [EndpointClass, EndpointClass];
  const [fromClass, toClass] = classes;
  const probeSet = probe === undefined ? PortSet.ALL : PortSet.range(probe.protocol, probe.port);
  const detail = scene.reach.detail(fromClass, toClass);
  const lines = [`from ${where(from, fromClass)}`, `to   ${where(to, toClass)}`, `port ${probe === undefined ? 'any' : `${probe.protocol} ${probe.port}`}`, ''];
  const namespaceOf = (e: Endpoint): string | undefined => (e.kind === 'pod' ? e.namespace : undefined);
  const egress = sideLines('egress', formatEndpoint(from), namespaceOf(from), detail.egress, from.kind === 'external', probeSet);
  const ingress = sideLines('ingress', formatEndpoint(to), namespaceOf(to), detail.ingress, to.kind === 'external', probeSet);
  lines.push(...egress.lines, ...ingress.lines, '');
  // For a possible pod the pair's answer is exact about named ports; the sides above read each name as any port.
  const between = allowedBetween(scene.reach, from, to);
  const allowed = between.ports;
  if (between.self) lines.push(`self: ${SELF_REASON}, so it is allowed on any port whatever the policies say`);
  lines.push(...fenceLines(scene, fromClass, toClass, allowed));
  for (const e of endpoints) {
    if (e.kind !== 'external') continue;
    const owner = podWithAddress(scene, e.ip);
    if (owner !== undefined) lines.push(`note: ${e.ip} is the address of pod ${owner}; it is analysed here as an address outside the cluster`);
  }
  let verdict: boolean;
  if (probe === undefined) {
    lines.push(`allowed on: ${allowed.format()}`);
    verdict = !allowed.isEmpty();
  } else if (toClass.pods.some((p) => p.origin === 'possible' && to.kind === 'pod' && p.name === to.name)) {
    // A possible pod may carry a named port on any port: the analysis knows, the evaluator (no such port) does not.
    verdict = !allowed.intersect(probeSet).isEmpty();
  } else {
    // The point evaluator decides; it agrees with the analysis above on every upstream case.
    verdict = scene.evaluator().evaluate(from, to, probe.port, probe.protocol).allowed;
  }
  lines.push(`verdict: ${verdict ? 'allowed' : 'denied'}`);
  io.stdout(`${lines.join('\n')}\n`);
  return verdict ? EXIT.ok : EXIT.violation;
}

/** The pod whose address is `ip`, if the input has one. */
function podWithAddress(scene: Scene, ip: string): string | undefined {
  const want = parseIP(ip);
  if (want === null) return undefined;
  const pod = scene.pods.find((p) => podAddresses(p).some((got) => sameIP(got, want)));
  return pod === undefined ? undefined : `${pod.metadata.namespace}/${pod.metadata.name}`;
}
