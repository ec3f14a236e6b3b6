/**
 * How Flux, cli-utils and kpt read a TenantIsolation: sigs.k8s.io/cli-utils/pkg/kstatus
 * (test/kstatus/main.go) on the objects the real operator wrote on the real API server, in
 * the states the Argo CD check tells apart, and `kubectl wait --for=condition=Ready` as
 * docs/gitops-health.md runs it. The expectations are what kstatus v0.37.2 computes: it
 * honours observedGeneration and Ready, says Failed for the Stalled condition netfence sets
 * when only a spec change can help, and calls an object without status Current.
 */
import { isUnavailable, provideBinaries, type Binaries } from '../control-plane/binaries.js';
import { docCommand, gitopsStatus, gitopsWorld, provideGitopsStatus, tenantStates, words, type GitopsWorld, type TenantStates } from '../kstatus/support.js';
import { describeWithControlPlane } from './support/cluster.js';
import { kubectl, type KubectlResult } from './support/identities.js';

describeWithControlPlane("kstatus on the operator's status", () => {
  let w: GitopsWorld;
  let states: TenantStates;
  let reader: string;
  let binaries: Binaries;
  let waitWhileBehind: KubectlResult | undefined;
  let docWait: string[];

  /** The documented `kubectl wait`, on tenant `name`, with `timeout` instead of the documented one. */
  const wait = (name: string, timeout?: string): KubectlResult => {
    const args = docWait.map((a) => (a.startsWith('tenantisolation/') ? `tenantisolation/${name}` : timeout && a.startsWith('--timeout=') ? `--timeout=${timeout}` : a));
    return kubectl(binaries, w.cluster.state.admin?.kubeconfig, args);
  };

  beforeAll(async () => {
    const found = await provideBinaries({ log: () => undefined });
    if (isUnavailable(found)) throw new Error(found.unavailable);
    binaries = found;
    const [tool, ...args] = words(docCommand('kubectl wait'));
    if (tool !== 'kubectl') throw new Error(`unexpected ${tool}`);
    docWait = args;
    reader = await provideGitopsStatus();
    w = await gitopsWorld();
    states = await tenantStates(w, async (name) => {
      waitWhileBehind = wait(name, '3s');
    });
  }, 300_000);

  afterAll(async () => {
    await w?.close();
  }, 60_000);

  const kstatusOf = (state: keyof TenantStates) => gitopsStatus(reader, [states[state]])[0]?.kstatus;

  test('Ready True for the observed generation is Current, in Enforce and in Audit', () => {
    expect(kstatusOf('onboarded')).toEqual({ status: 'Current', message: 'Resource is Ready' });
    expect(kstatusOf('audit')).toEqual({ status: 'Current', message: 'Resource is Ready' });
    expect(kstatusOf('caughtUp')).toEqual({ status: 'Current', message: 'Resource is Ready' });
  });

  test('a generation the operator has not observed is InProgress, though Ready is still True', () => {
    const { behind } = states;
    expect(kstatusOf('behind')).toEqual({
      status: 'InProgress',
      message: `TenantIsolation generation is ${behind.metadata.generation}, but latest observed generation is ${behind.status?.observedGeneration}`,
    });
  });

  test('a tenant only a spec change can help (NamespaceConflict, InvalidSpec) is Failed: its Stalled condition is True', () => {
    expect(kstatusOf('conflict')?.status).toBe('Failed');
    expect(kstatusOf('conflict')?.message).toMatch(/cannot converge until the spec or the namespace claims change/);
    expect(kstatusOf('invalid')?.status).toBe('Failed');
  });

  test('a tenant without status yet is Current to kstatus (it cannot know a controller will write one), also while its first policies are being written', () => {
    expect(states.fresh.status).toBeUndefined();
    expect(kstatusOf('fresh')).toEqual({ status: 'Current', message: 'Resource is current' });
    // The operator writes the first status when the namespace's writes are done.
    expect(states.onboarding.status).toBeUndefined();
    expect(kstatusOf('onboarding')).toEqual({ status: 'Current', message: 'Resource is current' });
  });

  test('the documented kubectl wait returns once the tenant is Ready, and not while its generation is unobserved', () => {
    expect(waitWhileBehind?.code).not.toBe(0);
    expect(waitWhileBehind?.stderr).toMatch(/timed out/);
    const ready = wait(states.caughtUp.metadata.name);
    expect(ready.stderr).toBe('');
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain('condition met');
  });
});
