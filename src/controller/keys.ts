/**
 * The work keys of the controller's queue: a namespace (its NetworkPolicies and member label)
 * or a tenant (its status and Events).
 *
 * Guarantees: a key says what it is in its type, so a tenant name can never be queued as a
 * namespace; `parseKey(namespaceKey(n))` is `{ kind: 'namespace', name: n }` for every name,
 * and likewise for tenants (the prefix ends at the first colon, which neither name may hold).
 * Keys are strings, so the queue's sets and maps compare them by value.
 */
export type NamespaceKey = `namespace:${string}`;
export type TenantKey = `tenant:${string}`;
export type WorkKey = NamespaceKey | TenantKey;

export type ParsedKey = { kind: 'namespace'; name: string } | { kind: 'tenant'; name: string };

export const namespaceKey = (name: string): NamespaceKey => `namespace:${name}`;
export const tenantKey = (name: string): TenantKey => `tenant:${name}`;

export function parseKey(key: WorkKey): ParsedKey {
  const colon = key.indexOf(':');
  const name = key.slice(colon + 1);
  return key.startsWith('namespace:') ? { kind: 'namespace', name } : { kind: 'tenant', name };
}
