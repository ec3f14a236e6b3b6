/**
 * The name formats of Kubernetes, as k8s.io/apimachinery/pkg/util/validation checks them:
 * DNS labels (namespace names), DNS subdomains (most object names), qualified names (label
 * and annotation keys), label values and IANA service names (port names). Pure.
 *
 * Each check returns what is wrong in words, starting with the value (`"Team_A" is not a
 * DNS label: ...`) or with `must` for a length, or undefined when the value is valid, so a
 * caller writes `<field>: <problem>`. The patterns are the ones the CRD schema uses
 * (src/api/schema.ts); only the length limits the patterns cannot say are added here.
 */
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, LIMITS } from './schema.js';

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);
const DNS_SUBDOMAIN = new RegExp(DNS_SUBDOMAIN_PATTERN);
const LABEL_KEY = new RegExp(LABEL_KEY_PATTERN);
const LABEL_VALUE = new RegExp(LABEL_VALUE_PATTERN);

/** IsDNS1123Subdomain's limit. */
export const MAX_SUBDOMAIN_LENGTH = 253;

function tooLong(value: string, max: number): string | undefined {
  return value.length > max ? `must be at most ${max} characters, found ${value.length}` : undefined;
}

/** IsDNS1123Label: namespace names. */
export function dnsLabelProblem(value: string): string | undefined {
  if (!DNS_LABEL.test(value)) return `${JSON.stringify(value)} is not a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`;
  return tooLong(value, LIMITS.nameLength);
}

/** IsDNS1123Subdomain: names of Pods, NetworkPolicies and TenantIsolations. */
export function dnsSubdomainProblem(value: string): string | undefined {
  if (!DNS_SUBDOMAIN.test(value)) {
    return `${JSON.stringify(value)} is not a DNS subdomain: lowercase letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit`;
  }
  return tooLong(value, MAX_SUBDOMAIN_LENGTH);
}

/** IsQualifiedName: label keys, and annotation keys compared in lowercase. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  if (LABEL_KEY.test(key) && slash <= MAX_SUBDOMAIN_LENGTH) return undefined;
  return `${JSON.stringify(key)} is not a label key: an optional DNS subdomain of at most ${MAX_SUBDOMAIN_LENGTH} characters and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
}

/** IsValidLabelValue: label values and selector values; empty is valid. */
export function labelValueProblem(value: string): string | undefined {
  if (!LABEL_VALUE.test(value)) return `${JSON.stringify(value)} is not a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)`;
  return tooLong(value, LIMITS.nameLength);
}

/** IsValidPortName: an IANA service name, as container ports and named NetworkPolicy ports are. */
export function portNameProblem(name: string): string | undefined {
  if (name.length >= 1 && name.length <= LIMITS.portNameLength && DNS_LABEL.test(name) && /[a-z]/.test(name) && !name.includes('--')) return undefined;
  return `${JSON.stringify(name)} is not a port name: 1 to ${LIMITS.portNameLength} lowercase letters, digits and '-', with at least one letter, no '-' at either end and no '--'`;
}

/** IsValidPortNum. */
export function portNumberProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `must be between 1 and 65535, found ${port}`;
}
