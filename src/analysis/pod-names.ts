/**
 * How reports name the members of a pod class (see PodRef in reachability.ts). Pure.
 *
 * - a Pod: `ns/name`;
 * - a workload's template: `ns/deployment/web`;
 * - a possible pod: `any pod labelled app=web, without tier in ns`, or `any pod in ns`.
 */
import type { PodRef } from './reachability.js';

export function describePod(p: PodRef): string {
  if (p.origin !== 'possible') return `${p.namespace}/${p.name}`;
  const labels = p.labels ?? [];
  const present = labels.filter((l) => !l.startsWith('!'));
  const absent = labels.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  const parts: string[] = [];
  if (present.length > 0) parts.push(`labelled ${present.join(', ')}`);
  if (absent.length > 0) parts.push(`without ${absent.join(', ')}`);
  return `any pod ${parts.length > 0 ? `${parts.join(', ')} ` : ''}in ${p.namespace}`;
}
