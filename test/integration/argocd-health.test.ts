/**
 * The Argo CD health check (config/argocd/health.lua) on TenantIsolations the real operator
 * wrote on the real API server, in every state it tells apart: run by wasmoon (Lua 5.4) with
 * `obj` a Lua table, as Argo CD passes the object, and by gopher-lua (the Lua 5.1 interpreter
 * Argo CD embeds, through test/kstatus) with the same result. The install command of
 * docs/gitops-health.md merges the check into an argocd-cm as Argo CD's install ships it.
 */
import { readFileSync } from 'node:fs';
import type { TenantIsolation } from '../../src/api/types.js';
import { isUnavailable, provideBinaries, type Binaries } from '../control-plane/binaries.js';
import {
  argoHealth,
  docCommand,
  gitopsStatus,
  gitopsWorld,
  HEALTH_KEY,
  HEALTH_LUA,
  provideGitopsStatus,
  tenantStates,
  words,
  type GitopsWorld,
  type TenantStates,
} from '../kstatus/support.js';
import { describeWithControlPlane } from './support/cluster.js';
import { kubectl } from './support/identities.js';

describeWithControlPlane("the Argo CD health check on the operator's status", () => {
  let w: GitopsWorld;
  let states: TenantStates;
  let goReader: string;
  let binaries: Binaries;

  beforeAll(async () => {
    const found = await provideBinaries({ log: () => undefined });
    if (isUnavailable(found)) throw new Error(found.unavailable);
    binaries = found;
    goReader = await provideGitopsStatus();
    w = await gitopsWorld();
    states = await tenantStates(w);
  }, 300_000);

  afterAll(async () => {
    await w?.close();
  }, 60_000);

  test('a tenant as created, before the operator wrote any status, is Progressing', async () => {
    expect(states.fresh.status).toBeUndefined();
    expect(await argoHealth(states.fresh)).toEqual({ status: 'Progressing', message: 'Waiting for the netfence operator to report status' });
  });

  test('a tenant whose first policies are being written is Progressing', async () => {
    // The operator writes its first status once the namespace's writes are done (see the
    // kstatus suite); a Ready False Progressing written earlier would be Progressing too.
    expect((await argoHealth(states.onboarding)).status).toBe('Progressing');
  });

  test('an onboarded tenant is Healthy, and so is an Audit tenant', async () => {
    const [onboarded, audit] = [await argoHealth(states.onboarded), await argoHealth(states.audit)];
    expect(onboarded.status).toBe('Healthy');
    expect(onboarded.message).toMatch(/^Reconciled: \d+ policies in place in 1 namespaces/);
    expect(audit.status).toBe('Healthy');
    expect(audit.message).toMatch(/^AuditOnly: Audit mode/);
  });

  test('a tenant claiming a namespace another tenant claims is Degraded, naming the namespace', async () => {
    const shared = states.conflict.status?.conflictingNamespaces?.[0];
    expect(shared).toBeDefined();
    const health = await argoHealth(states.conflict);
    expect(health.status).toBe('Degraded');
    expect(health.message).toContain(`Conflict: NamespaceConflict: ${shared} (claimed by`);
  });

  test("a tenant the CRD admits and the compiler refuses is Degraded, with the compiler's reason", async () => {
    const health = await argoHealth(states.invalid);
    expect(health.status).toBe('Degraded');
    expect(health.message).toMatch(/^InvalidSpec: metadata\.name: ".*\.v1" must be a DNS label/);
  });

  test('a spec changed while the operator is stopped is Progressing, though Ready is still True, until the operator observes it', async () => {
    const { behind, caughtUp } = states;
    expect(behind.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(behind.status?.observedGeneration).toBeLessThan(behind.metadata.generation ?? 0);
    expect(await argoHealth(behind)).toEqual({
      status: 'Progressing',
      message: `Waiting for the netfence operator to observe generation ${behind.metadata.generation} (observed ${behind.status?.observedGeneration})`,
    });
    expect((await argoHealth(caughtUp)).status).toBe('Healthy');
  });

  test('a condition left from an older generation does not count: Ready True from generation 1 on generation 2 is Progressing', async () => {
    // The operator writes status and conditions together; a writer that updated only
    // status.observedGeneration would leave conditions that describe the old spec.
    const stale: TenantIsolation = { ...states.behind, status: { ...states.behind.status, observedGeneration: states.behind.metadata.generation } };
    expect(await argoHealth(stale)).toEqual({ status: 'Progressing', message: `Waiting for the Ready condition of generation ${states.behind.metadata.generation}` });
  });

  test('gopher-lua, the interpreter Argo CD embeds, returns what wasmoon returns for every state', async () => {
    const { fresh, onboarding, onboarded, audit, conflict, invalid, behind, caughtUp } = states;
    const all = [fresh, onboarding, onboarded, audit, conflict, invalid, behind, caughtUp];
    const lines = gitopsStatus(goReader, all, { lua: HEALTH_LUA });
    expect(lines.map((l) => l.name)).toEqual(all.map((t) => t.metadata.name));
    const wasmoon = await Promise.all(all.map((t) => argoHealth(t)));
    expect(lines.map((l) => l.argocd)).toEqual(wasmoon);
    expect(new Set(wasmoon.map((h) => h.status))).toEqual(new Set(['Progressing', 'Healthy', 'Degraded']));
  });

  test('the documented kubectl patch adds the check to argocd-cm and keeps its other keys', () => {
    const admin = w.cluster.state.admin?.kubeconfig;
    if (!admin) throw new Error('no admin kubeconfig');
    const run = (args: string[], input?: string) => {
      const r = kubectl(binaries, admin, args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    // What Argo CD's install manifest creates (its argocd-cm holds no data by default; a key
    // of the user's shows the merge keeps what is there).
    run(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }));
    run(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' } },
        data: { 'users.anonymous.enabled': 'false' },
      }),
    );
    const [tool, ...args] = words(docCommand('kubectl patch configmap argocd-cm'));
    expect(tool).toBe('kubectl');
    run(args);
    const cm = JSON.parse(run(['get', 'configmap', 'argocd-cm', '-n', 'argocd', '-o', 'json'])) as { data: Record<string, string> };
    expect(cm.data[HEALTH_KEY]).toBe(readFileSync(HEALTH_LUA, 'utf8'));
    expect(cm.data['users.anonymous.enabled']).toBe('false');
    run(['delete', 'configmap', 'argocd-cm', '-n', 'argocd']);
  });
});
