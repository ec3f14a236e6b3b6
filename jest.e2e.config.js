// End-to-end suites: test/e2e/**, against a real cluster (kind with Calico) that the current
// kubeconfig context points at, with netfence installed from config/default by the suite
// itself. Nothing starts a cluster here: .github/workflows/e2e.yaml does, and
// test/e2e/README.md says how to do it by hand. Without a kind context the suite fails at once.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  // The suites share one cluster and change it (the operator install, namespace labels):
  // one file at a time.
  maxWorkers: 1,
  // Connection probes retry for tens of seconds; each test waits on real pods and a real CNI.
  testTimeout: 120_000,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', { label: 'e2e' }]],
};
