/** Jest global teardown: stops the control plane the global setup started (never a reused one). */
export default async function globalTeardown(): Promise<void> {
  const plane = globalThis.__netfenceControlPlane;
  globalThis.__netfenceControlPlane = undefined;
  await plane?.stop();
}
