// Integration suites: test/integration/**, against a real kube-apiserver and etcd that the
// global setup starts once per run (see test/control-plane/). Without binaries the suites
// skip with one line saying why, except with CI=true, where a missing control plane fails.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
  // Jest loads global setup files without moduleNameMapper; the .mjs shim loads the TS sources.
  globalSetup: '<rootDir>/test/integration/global-setup.mjs',
  globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
  // Watches and waits for the API server need more than the default 5 s.
  testTimeout: 30_000,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', { label: 'integration' }]],
};
