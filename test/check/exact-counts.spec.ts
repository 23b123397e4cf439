/**
 * Exact execution counts on tiny programs (as loom's and Shuttle's dfs.rs tests do). The counts
 * are the number of interleavings (naive) and of Mazurkiewicz traces (DPOR), worked out by hand
 * in the comments.
 */
import { describe, expect, it } from 'vitest';
import { exploreWith } from '../../src/check/index.ts';
import { dporBoundNote } from '../../src/check/strategies/dfs.ts';
import { choose, read, S, spin_lock, spin_unlock, tiny, twoWritersOneCell, write } from './tiny.ts';

describe('exact execution counts', () => {
  /*
   * T0: x=1; x=2     T1: x=3; x=4
   * All four writes conflict, so every one of the C(4,2) = 6 interleavings is its own trace:
   *   0011 0101 0110 1001 1010 1100
   */
  const sameCell = twoWritersOneCell();
  it('explores 6 executions when two CPUs each write the same cell twice (naive and DPOR)', () => {
    expect(exploreWith(sameCell, 'naive').executions).toBe(6);
    expect(exploreWith(sameCell, 'dpor').executions).toBe(6);
  });

  // Disjoint cells: 6 interleavings, all equivalent: 1 trace.
  const diffCells = tiny(2, [
    function* (t, s) {
      yield* write(t, s.cells[0]!, 1);
      yield* write(t, s.cells[0]!, 2);
    },
    function* (t, s) {
      yield* write(t, s.cells[1]!, 3);
      yield* write(t, s.cells[1]!, 4);
    },
  ]);
  it('explores 6 interleavings naively but 1 with DPOR when they write different cells', () => {
    expect(exploreWith(diffCells, 'naive').executions).toBe(6);
    expect(exploreWith(diffCells, 'dpor').executions).toBe(1);
  });

  /*
   * Store buffering under SC: T0: x=1; r0=y   T1: y=1; r1=x
   * Races: (x=1, r1=x) and (y=1, r0=y); the trace where both reads come first is impossible
   * under SC, leaving 3 traces with (r0,r1) = (0,1), (1,0), (1,1).
   */
  const sb = tiny(2, [
    function* (t, s) {
      yield* write(t, s.cells[0]!, 1);
      return yield* read(t, s.cells[1]!);
    },
    function* (t, s) {
      yield* write(t, s.cells[1]!, 1);
      return yield* read(t, s.cells[0]!);
    },
  ]);
  it('explores the 3 store-buffering traces and reaches exactly the 3 SC outcomes', () => {
    const d = exploreWith(sb, 'dpor', { collectStates: true });
    const n = exploreWith(sb, 'naive', { collectStates: true });
    expect(d.executions).toBe(3);
    expect(n.executions).toBe(6);
    expect([...d.states!].sort()).toEqual([...n.states!].sort());
    expect(d.states!.size).toBe(3);
  });

  /*
   * Two readers of the same cell never conflict: 1 trace (naive: C(4,2) = 6).
   */
  const readers = tiny(1, [
    function* (t, s) {
      yield* read(t, s.cells[0]!);
      yield* read(t, s.cells[0]!);
    },
    function* (t, s) {
      yield* read(t, s.cells[0]!);
      yield* read(t, s.cells[0]!);
    },
  ]);
  it('explores 1 execution when both CPUs only read', () => {
    expect(exploreWith(readers, 'dpor').executions).toBe(1);
  });

  /*
   * A lock around one write each: the two critical sections can go in 2 orders (2 traces);
   * the blocked acquire is a disabled transition, not an execution.
   */
  const locked = tiny(
    1,
    [
      function* (t, s) {
        yield* spin_lock(t, s.locks[0]!, S);
        yield* write(t, s.cells[0]!, 1);
        yield* spin_unlock(t, s.locks[0]!, S);
      },
      function* (t, s) {
        yield* spin_lock(t, s.locks[0]!, S);
        yield* write(t, s.cells[0]!, 2);
        yield* spin_unlock(t, s.locks[0]!, S);
      },
    ],
    1,
  );
  it('explores 2 executions for two critical sections under one spinlock', () => {
    const d = exploreWith(locked, 'dpor', { collectStates: true });
    expect(d.executions).toBe(2);
    expect(d.states!.size).toBe(2);
    // Naive: after one CPU takes the lock the other is blocked until the unlock: 2 * C(2+... ) orders.
    const n = exploreWith(locked, 'naive', { collectStates: true });
    expect([...n.states!].sort()).toEqual([...d.states!].sort());
  });

  /*
   * A local choice with 3 values on one CPU and an independent write on the other:
   * DPOR explores one trace per value (3); naive 3 values x 3 interleavings... of two events = 6.
   */
  const chooser = tiny(2, [
    function* (t, s) {
      const v = yield* choose(t, 3, S);
      yield* write(t, s.cells[0]!, v + 1);
    },
    function* (t, s) {
      yield* write(t, s.cells[1]!, 9);
    },
  ]);
  it('branches over every value of a nondeterministic choice', () => {
    const d = exploreWith(chooser, 'dpor', { collectStates: true });
    expect(d.executions).toBe(3);
    expect(d.states!.size).toBe(3);
    expect(exploreWith(chooser, 'naive').executions).toBe(9);
  });

  it('reports a deadlock when two CPUs take two locks in opposite orders', () => {
    const abba = tiny(
      0,
      [
        function* (t, s) {
          yield* spin_lock(t, s.locks[0]!, S);
          yield* spin_lock(t, s.locks[1]!, S);
          yield* spin_unlock(t, s.locks[1]!, S);
          yield* spin_unlock(t, s.locks[0]!, S);
        },
        function* (t, s) {
          yield* spin_lock(t, s.locks[1]!, S);
          yield* spin_lock(t, s.locks[0]!, S);
          yield* spin_unlock(t, s.locks[0]!, S);
          yield* spin_unlock(t, s.locks[1]!, S);
        },
      ],
      2,
    );
    const d = exploreWith(abba, 'dpor');
    expect(d.findings.get('deadlock')?.count).toBeGreaterThan(0);
    const n = exploreWith(abba, 'naive');
    expect(n.findings.has('deadlock')).toBe(true);
  });

  it('with preemption bound 0, runs each CPU to completion and reports a bounded search', () => {
    const d = exploreWith(sameCell, 'dpor', { preemptionBound: 0 });
    expect(d.executions).toBe(2);
    expect(d.complete).toBe(false);
    // DPOR under a bound explores only some of the schedules within it, and says so; naive, every one.
    expect(d.stopReason).toBe(dporBoundNote(0));
    const n = exploreWith(sameCell, 'naive', { preemptionBound: 0 });
    expect(n.complete).toBe(false);
    expect(n.limit).toBe('preemption-bound');
    expect(n.stopReason).toBeUndefined();
  });

  it('--max-executions stops the search and says so', () => {
    const d = exploreWith(sameCell, 'dpor', { maxExecutions: 2 });
    expect(d.executions).toBe(2);
    expect(d.complete).toBe(false);
    expect(d.limit).toBe('executions');
  });
});
