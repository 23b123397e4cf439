/**
 * The checker catches every mutant with some bundled example, and no example fails unmutated
 * (issue 6: the kill matrix, asserted).
 */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../src/kernel/mutants.ts';
import { bundledScenarios } from '../../src/run/load.ts';
import { runSelftest } from '../../src/run/selftest.ts';

describe('gupcheck selftest', () => {
  it('has at least 10 mutants, each caught by some example; every unmutated example holds', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(10);
    const r = runSelftest(bundledScenarios());
    expect(r.unmutated.filter((u) => u.violated.length)).toEqual([]);
    const uncaught = MUTANTS.map((m) => m.name).filter((m) => !r.cells.some((c) => c.mutant === m && c.caughtBy));
    expect(uncaught).toEqual([]);
    // The headline mutants are caught by the example named for them.
    const by = (m: string) => r.cells.filter((c) => c.mutant === m && c.caughtBy).map((c) => c.scenario);
    expect(by('check-before-recheck')).toContain('fast-pin-vs-unmap-reuse');
    expect(by('no-read-once')).toContain('fast-pin-vs-truncate');
    expect(by('no-write-protect-seq')).toContain('fast-pin-vs-fork');
    expect(by('table-free-no-sync')).toContain('fast-pin-vs-munmap');
    // Every (mutant, kernel) it ran replaces code on that kernel, and only where the mutant
    // changes something: no-read-once never runs on 6.1 or v7 (no READ_ONCE to make plain).
    expect(r.pairs.filter((x) => x.changes.length === 0)).toEqual([]);
    const ranOn = (m: string) => r.pairs.filter((x) => x.mutant === m).map((x) => x.kernel).sort();
    expect(ranOn('no-read-once')).not.toContain('6.1');
    expect(ranOn('no-read-once')).not.toContain('v7');
    expect(ranOn('check-before-recheck')).not.toContain('v7');
    // On 6.12 no-read-once now mutates gup_fast_folio_allowed() (it used not to run there at all).
    expect(r.pairs.find((x) => x.mutant === 'no-read-once' && x.kernel === '6.12')).toMatchObject({ changes: ['folio_fast_pin_allowed'], observed: true });
    expect(by('no-irq-disable')).toContain('fast-pin-vs-close');
  }, 1_200_000); // every mutant on every example, with the model's invariants checked after every step (vitest.config.ts)
});
