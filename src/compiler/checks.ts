/**
 * The checks the compiler itself relies on for safety, independent of the CRD schema: a
 * tenant that fails one of them is compiled deny-only (P6). The schema (src/api/schema.ts)
 * rejects the same mistakes earlier, at admission and in the CLI; these run anyway because
 * the compiler must never emit a policy the API server rejects or one that opens more than
 * was declared, whatever path the object took to get here.
 */
import type { LabelSelector } from '../api/k8s.js';
import { PROTOCOLS } from '../api/k8s.js';
import type { Peer, PortSpec, TenantIsolation } from '../api/types.js';
import { dnsLabelProblem, portNameProblem } from '../api/names.js';
import { internetBlockOf } from '../api/internet.js';
import { MAX_EXPOSURE_NAME_LENGTH } from '../api/schema.js';
import { cidrContains, parseCidr } from '../core/cidr.js';
import { selectorProblems } from '../core/labels.js';
import type { DeepReadonly } from '../api/k8s.js';

const isDnsLabel = (s: string): boolean => dnsLabelProblem(s) === undefined;

function checkSelector(sel: DeepReadonly<LabelSelector> | undefined, where: string, out: string[]): void {
  if (sel === undefined) return;
  for (const p of selectorProblems(sel)) out.push(`${where}: ${p}`);
}

function checkPorts(ports: readonly DeepReadonly<PortSpec>[] | undefined, where: string, out: string[]): void {
  for (const [i, p] of (ports ?? []).entries()) {
    const at = `${where}.ports[${i}]`;
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) out.push(`${at}.protocol: unknown protocol ${JSON.stringify(p.protocol)}`);
    if (typeof p.port === 'number') {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) out.push(`${at}.port: ${p.port} is not in 1-65535`);
    } else if (typeof p.port === 'string') {
      if (portNameProblem(p.port) !== undefined) out.push(`${at}.port: ${JSON.stringify(p.port)} is not a valid port name`);
    }
    if (p.endPort !== undefined) {
      if (typeof p.port !== 'number') out.push(`${at}.endPort: needs a numeric port`);
      else if (!Number.isInteger(p.endPort) || p.endPort < p.port || p.endPort > 65535) out.push(`${at}.endPort: ${p.endPort} must be in ${p.port}-65535`);
    }
  }
}

/** An internet peer: `true`, no pods, no metadata opt-in, and every except inside a public block. */
function checkInternet(peer: DeepReadonly<Peer>, where: string, out: string[]): void {
  if (peer.internet !== true) out.push(`${where}.internet: must be true when set`);
  if (peer.podSelector !== undefined) out.push(`${where}.podSelector: not allowed with internet`);
  if (peer.allowCloudMetadata !== undefined) out.push(`${where}.allowCloudMetadata: not allowed with internet, which never includes cloud metadata`);
  for (const e of peer.except ?? []) {
    const inner = parseCidr(e);
    if (inner === null) out.push(`${where}.except: ${JSON.stringify(e)} is not a CIDR`);
    else if (internetBlockOf(inner) === undefined) out.push(`${where}.except: ${e} is not strictly inside a block of the public internet`);
  }
}

function checkPeer(peer: DeepReadonly<Peer>, where: string, out: string[]): void {
  const kinds = [peer.tenant, peer.namespaces, peer.namespaceSelector, peer.cidr, peer.internet].filter((k) => k !== undefined).length;
  if (kinds !== 1) out.push(`${where}: exactly one of tenant, namespaces, namespaceSelector, cidr, internet must be set (found ${kinds})`);
  checkSelector(peer.namespaceSelector, `${where}.namespaceSelector`, out);
  checkSelector(peer.podSelector, `${where}.podSelector`, out);
  if (peer.namespaces !== undefined) {
    if (peer.namespaces.length === 0) out.push(`${where}.namespaces: must name at least one namespace`);
    for (const n of peer.namespaces) if (!isDnsLabel(n)) out.push(`${where}.namespaces: ${JSON.stringify(n)} is not a valid namespace name`);
  }
  if (peer.cidr !== undefined) {
    if (peer.podSelector !== undefined) out.push(`${where}.podSelector: not allowed with cidr`);
    const outer = parseCidr(peer.cidr);
    if (outer === null) out.push(`${where}.cidr: ${JSON.stringify(peer.cidr)} is not a CIDR`);
    for (const e of peer.except ?? []) {
      const inner = parseCidr(e);
      if (inner === null) out.push(`${where}.except: ${JSON.stringify(e)} is not a CIDR`);
      else if (outer !== null && (!cidrContains(outer, inner) || inner.prefix === outer.prefix)) out.push(`${where}.except: ${e} is not strictly inside ${peer.cidr}`);
    }
  } else if (peer.internet !== undefined) {
    checkInternet(peer, where, out);
  } else if (peer.except !== undefined || peer.allowCloudMetadata !== undefined) {
    out.push(`${where}: except goes with cidr or internet only, allowCloudMetadata with cidr only`);
  }
  checkPorts(peer.ports, where, out);
}

/** Problems that make a tenant uncompilable; empty when it can be compiled. */
export function compileProblems(ti: DeepReadonly<TenantIsolation>): string[] {
  const out: string[] = [];
  const spec = ti.spec ?? {};
  if (!isDnsLabel(ti.metadata.name)) out.push(`metadata.name: ${JSON.stringify(ti.metadata.name)} must be a DNS label of at most 63 characters`);
  if (spec.mode !== undefined && spec.mode !== 'Enforce' && spec.mode !== 'Audit') out.push(`spec.mode: unknown mode ${JSON.stringify(spec.mode)}`);
  checkSelector(spec.namespaceSelector, 'spec.namespaceSelector', out);
  for (const [i, p] of (spec.ingress?.from ?? []).entries()) checkPeer(p, `spec.ingress.from[${i}]`, out);
  for (const [i, p] of (spec.egress?.to ?? []).entries()) checkPeer(p, `spec.egress.to[${i}]`, out);
  const seen = new Set<string>();
  for (const [i, e] of (spec.exposures ?? []).entries()) {
    const at = `spec.exposures[${i}]`;
    if (!isDnsLabel(e.name) || e.name.length > MAX_EXPOSURE_NAME_LENGTH)
      out.push(`${at}.name: ${JSON.stringify(e.name)} is not usable in the label key netfence.dev/expose-<name>`);
    if (seen.has(e.name)) out.push(`${at}.name: duplicate exposure ${JSON.stringify(e.name)}`);
    seen.add(e.name);
    if ((e.from ?? []).length === 0) out.push(`${at}.from: must list at least one peer`);
    for (const [j, p] of (e.from ?? []).entries()) checkPeer(p, `${at}.from[${j}]`, out);
    checkPorts(e.ports, at, out);
  }
  return out;
}
