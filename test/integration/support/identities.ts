/**
 * For suites that need a control plane of their own (they install cluster-wide objects, or
 * stop the API server) and identities beyond the two the control plane starts with: real
 * ServiceAccount tokens minted by the API server (TokenRequest), and the kubectl binary of
 * the same release to apply config/ the way the README tells an admin to.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { isApiError, resourcePath, RESOURCES } from '../../../src/kube/client.js';
import { isUnavailable, provideBinaries, type Binaries } from '../../control-plane/binaries.js';
import { startControlPlane, type ControlPlane } from '../../control-plane/control-plane.js';
import { kubeConfig, REPO_ROOT, type Identities } from './harness.js';
import { World } from './operator.js';

export interface PrivatePlane {
  plane: ControlPlane;
  binaries: Binaries;
  world: Identities;
  /** system:masters, through the suites' client. */
  admin: World;
}

export async function privateControlPlane(): Promise<PrivatePlane> {
  const binaries = await provideBinaries({ log: () => undefined });
  if (isUnavailable(binaries)) throw new Error(`no control-plane binaries: ${binaries.unavailable}`);
  const plane = await startControlPlane({ binaries, log: () => undefined });
  const world = { admin: kubeConfig(plane.adminKubeconfig), operator: kubeConfig(plane.operatorKubeconfig) };
  return { plane, binaries, world, admin: new World(world.admin) };
}

/**
 * A kubeconfig file for ServiceAccount `namespace/name` (created when missing), holding a
 * token the API server minted for it: the API server authenticates it as
 * `system:serviceaccount:<namespace>:<name>`, with the groups every ServiceAccount gets.
 */
export async function serviceAccountKubeconfig(admin: World, adminFile: string, account: { namespace: string; name: string }, dir: string): Promise<string> {
  const { namespace, name } = account;
  await admin.api.request({ method: 'POST', path: resourcePath(RESOURCES.namespaces), body: { metadata: { name: namespace } } }).catch((error: unknown) => {
    if (!isApiError(error, 409)) throw error;
  });
  await admin.api
    .request({ method: 'POST', path: resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true }, { namespace }), body: { metadata: { name } } })
    .catch((error: unknown) => {
      if (!isApiError(error, 409)) throw error;
    });
  const minted = await admin.api.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const config = parse(readFileSync(adminFile, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { token: minted.status.token };
  const file = join(dir, `${namespace}.${name}.kubeconfig`);
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl from the repository root (so `-k config/...` works), nothing from the user's environment. */
export function kubectl(binaries: Binaries, kubeconfig: string | undefined, args: readonly string[], input?: string): KubectlResult {
  const result = spawnSync(binaries.kubectl, kubeconfig ? ['--kubeconfig', kubeconfig, ...args] : [...args], {
    cwd: REPO_ROOT,
    input,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent' },
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}
