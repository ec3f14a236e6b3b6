/**
 * What the dataplane suites' setup decides before any namespace is made: where kube-router
 * comes from (NETFENCE_KUBE_ROUTER, then the cache), and that a dataplane that cannot start
 * fails the run under CI=true instead of skipping.
 */
import { jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { missingTool, skipOrFail } from '../dataplane/support/prerequisites.js';
import { KUBE_ROUTER_ENV, kubeRouterCacheDir, provideKubeRouter } from '../dataplane/kube-router.js';
import { DATAPLANE_SKIP_ENV } from '../dataplane/support/env.js';

describe('provideKubeRouter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'netfence-kube-router-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const noLog = (): void => undefined;

  test(`${KUBE_ROUTER_ENV} names the binary to use, and one that does not exist is said so`, async () => {
    const binary = join(dir, 'kube-router');
    writeFileSync(binary, '');
    expect(await provideKubeRouter(noLog, { [KUBE_ROUTER_ENV]: binary, PATH: '' })).toEqual({ path: binary, origin: `${KUBE_ROUTER_ENV}=${binary}` });
    expect(await provideKubeRouter(noLog, { [KUBE_ROUTER_ENV]: join(dir, 'nothing'), PATH: '' })).toEqual({
      unavailable: `${KUBE_ROUTER_ENV}=${join(dir, 'nothing')} does not exist`,
    });
  });

  test('takes a cached build under XDG_CACHE_HOME, keyed by the Go version, without building', async () => {
    const go = spawnSync('go', ['env', 'GOVERSION'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${process.env['PATH']}:/usr/local/go/bin`, GOTOOLCHAIN: 'local' },
    }).stdout?.trim();
    if (!go) return void console.warn('no go on PATH: the cache lookup is not checked here');
    const cache = kubeRouterCacheDir({ XDG_CACHE_HOME: dir }, go);
    expect(cache).toBe(join(dir, 'netfence', 'dataplane', `kube-router-v2.1.0_${go}`));
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'kube-router'), '');
    const lines: string[] = [];
    expect(await provideKubeRouter((l) => void lines.push(l), { XDG_CACHE_HOME: dir, PATH: `${process.env['PATH']}:/usr/local/go/bin` })).toEqual({
      path: join(cache, 'kube-router'),
      origin: `cache ${cache}`,
    });
    expect(lines).toEqual([]);
  });
});

describe('a dataplane that cannot start', () => {
  test('names the missing tool', () => {
    expect(missingTool(['sh', 'netfence-no-such-tool'])).toMatch(/^no netfence-no-such-tool on PATH/);
    expect(missingTool(['sh'])).toBeUndefined();
  });

  test('fails the run with CI=true and skips every suite otherwise, saying why', () => {
    expect(() => skipOrFail('no socat on PATH', { CI: 'true' })).toThrow('CI=true and the dataplane cannot start: no socat on PATH');
    const env: NodeJS.ProcessEnv = {};
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      skipOrFail('no socat on PATH', env);
      expect(write).toHaveBeenCalledWith('\n!!! SKIPPING every dataplane suite: no socat on PATH !!!\n');
    } finally {
      write.mockRestore();
    }
    expect(env[DATAPLANE_SKIP_ENV]).toBe('no socat on PATH');
  });
});
