// Dataplane suites: test/dataplane/**, real packets through kube-router's network policy
// controller in network namespaces, beside a control plane each suite starts (see
// test/dataplane/README.md). Without root, iptables, ipset or socat the suites skip with one
// line saying why, except with CI=true, where they fail.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/dataplane/**/*.test.ts'],
  globalSetup: '<rootDir>/test/dataplane/global-setup.mjs',
  globalTeardown: '<rootDir>/test/dataplane/global-teardown.ts',
  // One suite at a time: each starts a control plane, kube-router and tens of agents, and the
  // timings it prints mean more on a quiet machine.
  maxWorkers: 1,
  testTimeout: 60_000,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', { label: 'dataplane' }]],
};
