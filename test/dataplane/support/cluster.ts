/**
 * What a dataplane suite starts: a control plane of its own with the CRD and config/rbac
 * applied as an admin would (kubectl apply --server-side -k), the dataplane beside it
 * (kube-router in a node network namespace), and `netfence run` from the image tree the
 * global setup assembled (scripts/image-root.sh), as uid 65532 on a read-only root, with the
 * identity config/rbac binds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts, type ControlPlane } from '../../control-plane/control-plane.js';
import { kubectl, privateControlPlane, type PrivatePlane } from '../../integration/support/identities.js';
import { imageRunCommand } from '../../integration/support/image.js';
import { REPO_ROOT } from '../../integration/support/cluster.js';
import type { World } from '../../integration/support/operator.js';
import { Dataplane } from '../dataplane.js';
import { DATAPLANE_IMAGE_ENV, DATAPLANE_KUBE_ROUTER_ENV, DATAPLANE_SKIP_ENV } from './env.js';

export { REPO_ROOT };

/** `describe` when the global setup found everything the dataplane needs, else `describe.skip`. */
export const describeDataplane: jest.Describe = process.env[DATAPLANE_SKIP_ENV] ? describe.skip : describe;

export const OPERATOR_NAMESPACE = 'netfence-system';

export interface DataplaneCluster {
  started: PrivatePlane;
  plane: ControlPlane;
  admin: World;
  dataplane: Dataplane;
  /** A folder for this suite's files, readable by uid 65532, inside the dataplane's (which goes with it). */
  dir: string;
  /** kubectl with the admin identity, from the repository root. */
  kubectl(args: readonly string[], input?: string): string;
}

export async function startCluster(log: (line: string) => void = (line) => process.stderr.write(line + '\n')): Promise<DataplaneCluster> {
  const kubeRouter = process.env[DATAPLANE_KUBE_ROUTER_ENV];
  if (!kubeRouter) throw new Error(`${DATAPLANE_KUBE_ROUTER_ENV} is not set: run the suites with jest.dataplane.config.js`);
  const started = await privateControlPlane();
  const plane = started.plane;
  const run = (args: readonly string[], input?: string): string => {
    const result = kubectl(started.binaries, plane.adminKubeconfig, args, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  try {
    run(['create', 'namespace', OPERATOR_NAMESPACE]);
    run(['apply', '--server-side', '-k', 'crds']);
    run(['apply', '--server-side', '-k', 'config/rbac']);
    run(['wait', '--for=condition=Established', '--timeout=30s', 'crd/tenantisolations.netfence.dev']);
    const dataplane = await Dataplane.start({ kubeRouter, admin: started.world.admin, adminKubeconfigFile: plane.adminKubeconfig, server: serverOf(plane), log });
    // Inside the dataplane's folder, so that its watchdog removes it too; uid 65532 reads it.
    const dir = join(dataplane.network.dir, 'suite');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dataplane.network.dir, 0o755);
    return { started, plane, admin: started.admin, dataplane, dir, kubectl: run };
  } catch (error) {
    await plane.stop();
    throw error;
  }
}

function serverOf(plane: ControlPlane): string {
  const server = plane.state.server;
  if (!server) throw new Error('the control plane records no server address');
  return server;
}

export async function stopCluster(cluster: DataplaneCluster | undefined): Promise<void> {
  if (!cluster) return;
  cluster.dataplane.stop();
  await cluster.plane.stop();
}

export interface ImageOperator {
  identity: string;
  process: ChildProcess;
  health: number;
  metrics: number;
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `netfence run` from the image tree, as uid 65532 on a read-only root, with the operator
 * identity config/rbac binds (the kubeconfig made readable as a mounted token is) and the
 * Deployment's heap flags; resolves once /readyz answers (a follower is ready too).
 */
export async function startImageOperator(cluster: DataplaneCluster, identity: string, flags: readonly string[] = []): Promise<ImageOperator> {
  const image = process.env[DATAPLANE_IMAGE_ENV];
  if (!image) throw new Error(`${DATAPLANE_IMAGE_ENV} is not set: run the suites with jest.dataplane.config.js`);
  const kubeconfig = join(cluster.dir, 'operator.kubeconfig');
  copyFileSync(cluster.plane.operatorKubeconfig, kubeconfig);
  chmodSync(kubeconfig, 0o644);
  const [health = 0, metrics = 0] = await freePorts(2);
  const [command, args] = imageRunCommand({ app: join(image, 'app'), kubeconfig, health, metrics, identity, flags });
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  cluster.dataplane.network.recordProcess(`netfence run (${identity})`, child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`netfence run (${identity}) exited ${child.exitCode}:\n${stderr.slice(-3000)}`);
    const ready = await fetch(`http://127.0.0.1:${health}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`netfence run (${identity}) not ready after 30 s:\n${stderr.slice(-3000)}`);
    await sleep(100);
  }
  return {
    identity,
    process: child,
    health,
    metrics,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      return exited;
    },
  };
}
