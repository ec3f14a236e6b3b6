/**
 * Jest global setup of the integration suites: one control plane for the whole run.
 *
 * - NETFENCE_CONTROL_PLANE_DIR names a running `control-plane up`: reuse it (and leave it up).
 * - Otherwise find or build the binaries (see test/control-plane/binaries.ts) and start one.
 * - No binaries and no Go: with CI=true the run fails; elsewhere every suite skips, after
 *   one loud line saying why and how to get them.
 */
import { HOW_TO_PROVIDE, isUnavailable, provideBinaries } from '../control-plane/binaries.js';
import { runningControlPlane, startControlPlane, type ControlPlane } from '../control-plane/control-plane.js';
import { CONTROL_PLANE_DIR_ENV, CONTROL_PLANE_SKIP_ENV, isCi } from './support/env.js';

declare global {
  // Read back by global-teardown.ts (jest runs both in its parent process).
  var __netfenceControlPlane: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  const reuse = process.env[CONTROL_PLANE_DIR_ENV];
  if (reuse) {
    if (!runningControlPlane(reuse)) {
      throw new Error(`${CONTROL_PLANE_DIR_ENV}=${reuse} holds no running control plane (start one with npm run control-plane -- up --dir ${reuse})`);
    }
    process.stderr.write(`\n[control-plane] reusing the control plane in ${reuse}\n`);
    return;
  }

  process.stderr.write('\n');
  const binaries = await provideBinaries();
  if (isUnavailable(binaries)) {
    const why = `no Kubernetes control plane: ${binaries.unavailable}`;
    if (isCi()) throw new Error(`CI=true and ${why}. To provide one: ${HOW_TO_PROVIDE}.`);
    process.stderr.write(`!!! SKIPPING every integration suite: ${why}. To run them: ${HOW_TO_PROVIDE}. !!!\n`);
    process.env[CONTROL_PLANE_SKIP_ENV] = binaries.unavailable;
    return;
  }

  const plane = await startControlPlane({ binaries });
  globalThis.__netfenceControlPlane = plane;
  process.env[CONTROL_PLANE_DIR_ENV] = plane.state.dir;
}
