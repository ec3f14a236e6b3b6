/**
 * What `check`, `matrix` and `explain` share: their input flags, and reading a scene from
 * manifests (with the policies netfence would add) or, with --live, from the cluster (read
 * only: list requests, nothing else).
 */
import type { Namespace, NetworkPolicy, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import { buildScene, type Scene } from '../analysis/scene.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { InputError } from '../io/manifests.js';
import { isApiError, kubeClient, resourcePath, RESOURCES, type KubeClient, type ResourceRef } from '../kube/client.js';
import { KubeConfigError, loadConnection } from '../kube/config.js';
import { many, one, UsageError, type FlagSpec, type ParsedArgs } from './args.js';
import { INPUT_FLAGS, readInputs, SETTINGS_FLAGS, settingsFrom, type CliIO } from './common.js';

export const SCENE_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  { name: 'live', value: false },
  { name: 'kubeconfig', value: true },
  ...SETTINGS_FLAGS,
  { name: 'help', short: 'h', value: false },
];

export const SCENE_HELP = `Input (one of):
  -f, --filename PATH        manifests: a file, a directory (read recursively) or - for stdin; repeatable.
                             The policies netfence would maintain are added to those in the input.
  --live                     the cluster of the kubeconfig instead, read only (list of Namespaces,
                             Pods, NetworkPolicies, TenantIsolations); its policies are taken as
                             they are, nothing is added
  --kubeconfig PATH          with --live (default $KUBECONFIG, ~/.kube/config, then in-cluster)`;

export interface LoadedScene {
  scene: Scene;
  /** What was analysed, for headings: the paths, or `live cluster (<kubeconfig source>)`. */
  title: string;
  counts: { tenants: number; namespaces: number; pods: number; workloads: number; policies: number };
}

export interface SceneNeeds {
  /** `check`: an input without any TenantIsolation proves nothing, and is refused (exit 2). */
  tenants?: boolean;
}

function nothingToCheck(what: string): InputError {
  return new InputError([`nothing to check: ${what}, so no fence can be proven (was a TenantIsolation left out, or its kind misspelt?)`]);
}

const PAGE = 500;

async function listAll<T>(client: KubeClient, ref: ResourceRef, what: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    let page: { items?: T[]; metadata?: { continue?: string } };
    try {
      page = await client.request({ method: 'GET', path: resourcePath(ref), query: { limit: PAGE, continue: next } });
    } catch (e) {
      if (isApiError(e, 404) && ref === RESOURCES.tenantIsolations) {
        throw new InputError([`the cluster has no TenantIsolation resource (is the netfence CRD installed? kubectl apply -k crds/)`]);
      }
      if (isApiError(e, 403)) throw new InputError([`not allowed to list ${what}: --live needs list on namespaces, pods, networkpolicies and tenantisolations (${e.message})`]);
      if (isApiError(e)) throw new InputError([`listing ${what} failed: ${e.message}`]);
      throw e;
    }
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next !== undefined);
  return items;
}

async function liveScene(args: ParsedArgs, settings: CompilerSettings, needs: SceneNeeds): Promise<LoadedScene> {
  let connection;
  try {
    connection = await loadConnection({ kubeconfig: one(args, 'kubeconfig') });
  } catch (e) {
    if (e instanceof KubeConfigError) throw new InputError([`kubeconfig: ${e.message}`]);
    throw e;
  }
  const client = kubeClient(connection);
  const [namespaces, pods, policies, tenants] = await Promise.all([
    listAll<Namespace>(client, RESOURCES.namespaces, 'namespaces'),
    listAll<Pod>(client, RESOURCES.pods, 'pods'),
    listAll<NetworkPolicy>(client, RESOURCES.networkPolicies, 'networkpolicies'),
    listAll<TenantIsolation>(client, RESOURCES.tenantIsolations, 'tenantisolations'),
  ]);
  if (needs.tenants === true && tenants.length === 0) throw nothingToCheck(`the cluster (${connection.source}) has no TenantIsolation`);
  const scene = buildScene({ tenants, namespaces, pods, policies, settings }, 'live');
  for (const t of scene.compiled.tenants) {
    for (const e of t.errors) scene.notes.push(`tenant ${t.name} cannot be compiled (${e}): the operator keeps its namespaces deny-only`);
  }
  return {
    scene,
    title: `live cluster (${connection.source})`,
    counts: { tenants: tenants.length, namespaces: namespaces.length, pods: pods.length, workloads: 0, policies: policies.length },
  };
}

/** Reads the scene the flags name; bad input throws InputError or UsageError (exit 2). */
export async function loadScene(args: ParsedArgs, io: CliIO, needs: SceneNeeds = {}): Promise<LoadedScene> {
  const settings = settingsFrom(args);
  const live = args.switches.has('live');
  if (live && many(args, 'filename').length > 0) throw new UsageError('give either -f PATH or --live, not both');
  if (!live && one(args, 'kubeconfig') !== undefined) throw new UsageError('--kubeconfig goes with --live');
  if (live) return liveScene(args, settings, needs);
  const inputs = readInputs(args, io);
  if (needs.tenants === true && inputs.tenants.length === 0) {
    const read = inputs.namespaces.length + inputs.pods.length + inputs.workloads.length + inputs.policies.length + [...inputs.ignored.values()].reduce((a, b) => a + b, 0);
    throw nothingToCheck(read === 0 ? 'the input holds no object' : `the input holds no TenantIsolation (${read} other object${read === 1 ? '' : 's'})`);
  }
  const scene = buildScene(
    { tenants: inputs.tenants, namespaces: inputs.namespaces, pods: inputs.pods, workloads: inputs.workloads, policies: inputs.policies, settings },
    'planned',
  );
  const problems = scene.compiled.tenants.flatMap((t) => {
    const object = inputs.tenants.find((x) => x.metadata.name === t.name);
    const where = (object !== undefined ? inputs.sourceOf.get(object) : undefined) ?? 'input';
    return t.errors.map((e) => `TenantIsolation ${t.name} (${where}): ${e}`);
  });
  if (problems.length > 0) throw new InputError([...problems, 'nothing analysed: the tenants above cannot be compiled (the operator would keep them deny-only)']);
  return {
    scene,
    title: many(args, 'filename').join(' '),
    counts: {
      tenants: inputs.tenants.length,
      namespaces: inputs.namespaces.length,
      pods: inputs.pods.length,
      workloads: inputs.workloads.length,
      policies: scene.policies.length,
    },
  };
}
