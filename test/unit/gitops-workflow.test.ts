/**
 * The GitOps example's CI job (examples/gitops/.github/workflows/netfence.yaml): its netfence
 * commands, taken from the workflow file as written, pass on the example and fail on a pull
 * request that opens a tenant.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runNetfence } from '../fixtures/cli.js';

const EXAMPLE = 'examples/gitops';

interface Workflow {
  on: { pull_request?: { paths?: string[] } };
  jobs: Record<string, { env?: Record<string, string>; strategy?: { matrix?: { cluster?: string[] } }; steps: { name?: string; run?: string; uses?: string }[] }>;
}

const workflow = parse(readFileSync(join(EXAMPLE, '.github/workflows/netfence.yaml'), 'utf8')) as Workflow;
const job = Object.values(workflow.jobs)[0] as Workflow['jobs'][string];

/** The arguments of the first line of the job that runs `netfence.js <command>`, with the workflow's variables filled in. */
function commandOf(command: string, cluster: string, root: string): string[] {
  const line = job.steps
    .flatMap((s) => (s.run ?? '').split('\n'))
    .find((l) => l.includes(`netfence.js ${command} `));
  if (line === undefined) throw new Error(`the workflow runs no netfence ${command}`);
  const filled = line.replaceAll('${{ matrix.cluster }}', cluster).replaceAll('$SETTINGS', job.env?.SETTINGS ?? '');
  const words = filled.trim().split(/\s+/);
  const args = words.slice(words.findIndex((w) => w.endsWith('netfence.js')) + 1);
  const end = args.findIndex((w) => w === '>' || w === '|');
  const kept = end < 0 ? args : args.slice(0, end);
  return kept.map((w, i) => (kept[i - 1] === '-f' ? join(root, w) : w));
}

describe('the GitOps example workflow', () => {
  test('runs on pull requests that change clusters/, for every cluster folder', () => {
    expect(workflow.on.pull_request?.paths).toEqual(['clusters/**']);
    expect(job.strategy?.matrix?.cluster).toEqual(['prod']);
  });

  test('its render and check commands pass on the example as it is', async () => {
    const render = await runNetfence(commandOf('render', 'prod', EXAMPLE));
    expect(render.code).toBe(0);
    expect(render.stdout).toContain('kind: NetworkPolicy');
    const check = await runNetfence(commandOf('check', 'prod', EXAMPLE));
    expect(check.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(check.code).toBe(0);
  });

  test('its check fails a pull request that adds a policy opening a tenant, and names it', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'netfence-gitops-'));
    cpSync(EXAMPLE, repo, { recursive: true });
    writeFileSync(
      join(repo, 'clusters/prod/namespaces/debug.yaml'),
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: debug-open, namespace: team-b}\nspec:\n  podSelector: {}\n  ingress: [{}]\n',
    );
    const check = await runNetfence(commandOf('check', 'prod', repo));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('team-b/debug-open');
  });

  test('a failing check fails its step: pipefail is on before the output goes through tee', () => {
    const step = job.steps.find((s) => s.run?.includes('netfence.js check'));
    const lines = (step?.run ?? '').split('\n').map((l) => l.trim());
    const check = lines.findIndex((l) => l.includes('netfence.js check'));
    expect(lines.slice(0, check)).toContain('set -o pipefail');
    expect(lines[check]).toContain('| tee check.txt');
  });
});
