/**
 * How the global setup hands the control plane to the suites: environment variables, which
 * jest's workers inherit. A developer may also set NETFENCE_CONTROL_PLANE_DIR to the folder
 * of a running `npm run control-plane -- up --dir DIR` to reuse it across runs.
 */

/** Folder of the running control plane (state.json, admin.kubeconfig, operator.kubeconfig). */
export const CONTROL_PLANE_DIR_ENV = 'NETFENCE_CONTROL_PLANE_DIR';
/** Set instead when the suites must skip; holds the reason. */
export const CONTROL_PLANE_SKIP_ENV = 'NETFENCE_CONTROL_PLANE_SKIP';

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
