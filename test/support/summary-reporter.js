// Prints one plain closing line that tools outside jest can read: "<suite>: N passed, N failed, N skipped".
export default class SummaryReporter {
  constructor(globalConfig, options) {
    this.label = options?.label ?? 'tests';
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`${this.label}: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
  }
}
