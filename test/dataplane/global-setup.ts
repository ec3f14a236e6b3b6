/**
 * Jest global setup of the dataplane suites: checks what the dataplane needs, finds or builds
 * kube-router (test/dataplane/kube-router.ts) and the control-plane binaries, and assembles
 * the image tree once (scripts/image-root.sh, from dist/ after `npm run build`). Each suite
 * then starts a control plane and a dataplane of its own.
 *
 * Missing pieces (not root, no iptables/ipset/socat, no Go): with CI=true the run fails
 * loudly; elsewhere every suite skips after one line saying why.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOW_TO_PROVIDE, isUnavailable, provideBinaries } from '../control-plane/binaries.js';
import { HOW_TO_PROVIDE_KUBE_ROUTER, provideKubeRouter } from './kube-router.js';
import { DATAPLANE_IMAGE_ENV, DATAPLANE_KUBE_ROUTER_ENV } from './support/env.js';
import { missing, skipOrFail } from './support/prerequisites.js';

declare global {
  var __netfenceDataplaneImage: string | undefined;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const log = (line: string): void => void process.stderr.write(line + '\n');
  process.stderr.write('\n');
  const why = missing();
  if (why) return skipOrFail(why);
  const binaries = await provideBinaries();
  if (isUnavailable(binaries)) return skipOrFail(`no Kubernetes control plane: ${binaries.unavailable}. To provide one: ${HOW_TO_PROVIDE}`);
  const kubeRouter = await provideKubeRouter(log);
  if ('unavailable' in kubeRouter) return skipOrFail(`no kube-router: ${kubeRouter.unavailable}. To provide one: ${HOW_TO_PROVIDE_KUBE_ROUTER}`);
  log(`[dataplane] kube-router from ${kubeRouter.origin}`);
  process.env[DATAPLANE_KUBE_ROUTER_ENV] = kubeRouter.path;

  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/src is missing: run `npm run build` first (npm run test:dataplane does)');
  const image = mkdtempSync(join(tmpdir(), 'netfence-dataplane-image-'));
  chmodSync(image, 0o755);
  globalThis.__netfenceDataplaneImage = image;
  const built = spawnSync('sh', ['scripts/image-root.sh', image], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  if (built.status !== 0) throw new Error(`scripts/image-root.sh failed: ${built.stderr}`);
  process.env[DATAPLANE_IMAGE_ENV] = image;
  log(`[dataplane] setup (kube-router, control-plane binaries, image tree) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
