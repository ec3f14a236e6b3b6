/**
 * The GitOps example's CI job (examples/gitops/.github/workflows/netfence.yaml): its netfence
 * commands, taken from the workflow file as written, pass on the example and fail on a pull
 * request that opens a tenant; its diff passes a pull request that only closes something.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runNetfence } from '../fixtures/cli.js';

const EXAMPLE = 'examples/gitops';
/** Where the workflow checks out the pull request's base. */
const BASE_CHECKOUT = '../base/';

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  if?: string;
}

interface Workflow {
  on: { pull_request?: { paths?: string[] } };
  jobs: Record<string, { env?: Record<string, string>; strategy?: { matrix?: { cluster?: string[] } }; steps: Step[] }>;
}

const workflow = parse(readFileSync(join(EXAMPLE, '.github/workflows/netfence.yaml'), 'utf8')) as Workflow;
const job = Object.values(workflow.jobs)[0] as Workflow['jobs'][string];

/**
 * The arguments of the first line of the job that runs `netfence.js <command>`, with the
 * workflow's variables filled in: paths of the pull request under `head`, paths of the base
 * checkout under `base`.
 */
function commandOf(command: string, cluster: string, head: string, base = EXAMPLE): string[] {
  const line = job.steps.flatMap((s) => (s.run ?? '').split('\n')).find((l) => l.includes(`netfence.js ${command} `));
  if (line === undefined) throw new Error(`the workflow runs no netfence ${command}`);
  const filled = line.replaceAll('${{ matrix.cluster }}', cluster).replaceAll('$SETTINGS', job.env?.SETTINGS ?? '');
  const words = filled.trim().split(/\s+/);
  const args = words.slice(words.findIndex((w) => w.endsWith('netfence.js')) + 1);
  const end = args.findIndex((w) => w === '>' || w === '|');
  const kept = end < 0 ? args : args.slice(0, end);
  return kept.map((w, i) => {
    if (!['-f', '--head', '--base'].includes(kept[i - 1] ?? '')) return w;
    return w.startsWith(BASE_CHECKOUT) ? join(base, w.slice(BASE_CHECKOUT.length)) : join(head, w);
  });
}

/** A copy of the example, as a pull request would change it. */
function pullRequest(change: (root: string) => void): string {
  const repo = mkdtempSync(join(tmpdir(), 'netfence-gitops-'));
  cpSync(EXAMPLE, repo, { recursive: true });
  change(repo);
  return repo;
}

const OPEN_TEAM_B = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: debug-open, namespace: team-b}\nspec:\n  podSelector: {}\n  ingress: [{}]\n';
const addOpening = (root: string): void => writeFileSync(join(root, 'clusters/prod/namespaces/debug.yaml'), OPEN_TEAM_B);

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
    const check = await runNetfence(commandOf('check', 'prod', pullRequest(addOpening)));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('team-b/debug-open');
  });

  test('its diff of a pull request that changes nothing passes and says so', async () => {
    const diff = await runNetfence(
      commandOf(
        'diff',
        'prod',
        EXAMPLE,
        pullRequest(() => {}),
      ),
    );
    expect(diff.stdout.split('\n')[1]).toBe('no change: the head allows what the base allows, across the same fences');
    expect(diff.code).toBe(0);
  });

  test('its diff fails a pull request that opens a tenant, and names the tenant, what reaches it and the policy', async () => {
    const diff = await runNetfence(commandOf('diff', 'prod', pullRequest(addOpening), EXAMPLE));
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('  FAIL   opens tenant team-b ingress from any address outside the cluster to team-b on any, undeclared (ingress: team-b/debug-open)');
    // The example's README shows that line.
    const readme = readFileSync(join(EXAMPLE, 'README.md'), 'utf8').split('\n');
    expect(readme.filter((l) => l.startsWith('  FAIL '))).toEqual(diff.stdout.split('\n').filter((l) => l.startsWith('  FAIL ')));
  });

  test('its diff passes a pull request that only closes something, and names what closed', async () => {
    const tenants = (root: string): string => join(root, 'clusters/prod/tenants/team-a.yaml');
    const head = pullRequest((root) => writeFileSync(tenants(root), readFileSync(tenants(root), 'utf8').replace(/ {2}ingress:\n( {4}.*\n)+/, '')));
    expect(readFileSync(tenants(head), 'utf8')).not.toContain('ingress');
    const diff = await runNetfence(commandOf('diff', 'prod', head, EXAMPLE));
    expect(diff.stdout).not.toContain('FAIL');
    expect(diff.stdout).toMatch(/^ {9}closes tenant team-a ingress from team-b to team-a-backend, team-a-frontend on TCP 8443, declared /m);
    expect(diff.code).toBe(0);
  });

  test('a cluster folder the pull request adds is diffed against the empty folder the workflow makes in the base: the example opens only what it declares', async () => {
    const setup = job.steps.find((s) => s.run?.includes('git worktree add'))?.run ?? '';
    expect(setup).toContain(`mkdir -p ${BASE_CHECKOUT}clusters/\${{ matrix.cluster }}`);
    const empty = mkdtempSync(join(tmpdir(), 'netfence-gitops-base-'));
    mkdirSync(join(empty, 'clusters/prod'), { recursive: true });
    const added = await runNetfence(commandOf('diff', 'prod', EXAMPLE, empty));
    expect(added.stdout).toContain('opens tenant team-a ingress from team-b to team-a-backend, team-a-frontend on TCP 8443, declared');
    expect(added.stdout).not.toContain('FAIL');
    expect(added.code).toBe(0);
  });

  test.each(['diff', 'check'])('a failing %s fails its step: pipefail is on before the output goes through tee', (command) => {
    const step = job.steps.find((s) => s.run?.includes(`netfence.js ${command} `));
    const lines = (step?.run ?? '').split('\n').map((l) => l.trim());
    const at = lines.findIndex((l) => l.includes(`netfence.js ${command} `));
    expect(lines.slice(0, at)).toContain('set -o pipefail');
    expect(lines[at]).toContain(`| tee ${command}.txt`);
  });

  test('check runs after a failing diff, and the report shows both', () => {
    const steps = job.steps.map((s) => s.run ?? '');
    const diff = steps.findIndex((r) => r.includes('netfence.js diff '));
    const check = steps.findIndex((r) => r.includes('netfence.js check '));
    expect(diff).toBeGreaterThan(-1);
    expect(check).toBeGreaterThan(diff);
    expect(job.steps[check]?.if).toBe('${{ !cancelled() }}');
    const report = job.steps.find((s) => s.if === 'always()' && s.run?.includes('GITHUB_STEP_SUMMARY'))?.run ?? '';
    expect(report).toContain('cat diff.txt');
    expect(report).toContain('cat check.txt');
  });
});
