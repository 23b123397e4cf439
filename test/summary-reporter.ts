/*
 * Ends the run with the line CI reads: `Tests: N passed, N failed, N skipped`
 * (vitest's own summary is not in that form, and CI reads that last line).
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      const tests = [...m.children.allTests()];
      if (m.state() === 'failed' && tests.length === 0) failed++; // the file failed to load
      for (const t of tests) {
        const st = t.result().state;
        if (st === 'passed') passed++;
        else if (st === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
