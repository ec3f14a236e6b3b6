/**
 * Where the repository is and the namespace the operator runs in, for the suites, the image
 * rehearsal and the benches alike. Imports nothing but node:, so light callers (the image
 * helpers, a bench's parent process) stay light.
 *
 * Guarantees: REPO_ROOT is the folder holding bin/netfence.js, whether this module runs from
 * its source (jest) or compiled into dist/ (the benches), which has no bin/.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** config/manager's namespace: the Deployment, its leader-election Lease and its Events live there. */
export const OPERATOR_NAMESPACE = 'netfence-system';

export const REPO_ROOT = repoRoot();

function repoRoot(): string {
  const here = fileURLToPath(import.meta.url);
  let dir = dirname(here);
  while (!existsSync(join(dir, 'bin', 'netfence.js'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find bin/netfence.js above ${here}`);
    dir = parent;
  }
  return dir;
}
