/**
 * Headless Chromium as bench/matrix.ts and test/unit/matrix-html.browser.test.ts run it: where
 * the executable is, and the flags that make one run quiet, offline and throwaway.
 */
import { delimiter, join } from 'node:path';
import { isExecutable as executable } from '../test/control-plane/binaries.js';

/** `CHROMIUM` when set (undefined when it is not executable), else chromium or chromium-browser on PATH, else /usr/bin/chromium. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')) {
    for (const name of ['chromium', 'chromium-browser']) if (executable(join(dir, name))) return join(dir, name);
  }
  return executable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/**
 * One headless run in the profile folder `profile`: no first-run or background traffic, and
 * nothing leaves the machine even if something asks, since every host name resolves to nothing.
 */
export function headlessFlags(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--host-resolver-rules=MAP * ~NOTFOUND',
  ];
}
