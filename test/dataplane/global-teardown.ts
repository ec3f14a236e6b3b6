/** Jest global teardown of the dataplane suites: removes the image tree the setup assembled. */
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const image = globalThis.__netfenceDataplaneImage;
  globalThis.__netfenceDataplaneImage = undefined;
  if (image) rmSync(image, { recursive: true, force: true });
}
