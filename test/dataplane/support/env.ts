/** How the dataplane suites' global setup hands what it found to the suites (jest's workers inherit the environment). */

/** Set when the suites must skip; holds the reason (never with CI=true: the setup fails instead). */
export const DATAPLANE_SKIP_ENV = 'NETFENCE_DATAPLANE_SKIP';
/** The kube-router binary the setup found or built. */
export const DATAPLANE_KUBE_ROUTER_ENV = 'NETFENCE_DATAPLANE_KUBE_ROUTER_BINARY';
/** The folder holding `app/`, the image tree scripts/image-root.sh assembled. */
export const DATAPLANE_IMAGE_ENV = 'NETFENCE_DATAPLANE_IMAGE';
