/** Tiny programs on the sim primitives alone (no kernel), for exact-count checker tests. */
import { Cell, READ_ONCE, WRITE_ONCE } from '../../src/sim/cell.ts';
import { type Step, site } from '../../src/sim/op.ts';
import { choose, spin_lock, spin_unlock, SpinLock } from '../../src/sim/sync.ts';
import { SimThread, World } from '../../src/sim/world.ts';
import type { Program } from '../../src/check/execution.ts';

export const S = site('tiny', 'access');

export interface Tiny {
  readonly cells: Cell<number>[];
  readonly locks: SpinLock[];
  readonly w: World;
}

/** A program of `n` threads over `ncells` cells and `nlocks` locks; the final state key is the cells' values and thread results. */
export function tiny(ncells: number, bodies: ((t: SimThread, s: Tiny) => Step<unknown>)[], nlocks = 0, finish?: (s: Tiny) => void): Program {
  let cur: Tiny | null = null;
  return {
    start() {
      const w = new World(8);
      const cells = Array.from({ length: ncells }, (_, i) => new Cell(w.newObject(() => `x${i}`), 0));
      const locks = Array.from({ length: nlocks }, (_, i) => new SpinLock(w.newObject(() => `l${i}`)));
      const st: Tiny = { cells, locks, w };
      cur = st;
      bodies.forEach((b, i) => w.addThread(`T${i}`, (id, name, ctx, sp) => new SimThread(id, name, ctx, sp, true), (t) => b(t, st)));
      return w;
    },
    finish(w) {
      if (cur && finish) finish(cur);
      void w;
    },
    stateKey(w) {
      return JSON.stringify([cur!.cells.map((c) => c.v), w.threads.map((t) => t.result ?? null)]);
    },
  };
}

export function* write(t: SimThread, c: Cell<number>, v: number): Step<void> {
  yield* WRITE_ONCE(t, c, v, S);
}
export function* read(t: SimThread, c: Cell<number>): Step<number> {
  return yield* READ_ONCE(t, c, S);
}
export { choose, spin_lock, spin_unlock };

/** T0: x=1; x=2   T1: x=3; x=4: four conflicting writes, so each of the 6 interleavings is its own trace. */
export function twoWritersOneCell(): Program {
  return tiny(1, [
    function* (t, s) {
      yield* write(t, s.cells[0]!, 1);
      yield* write(t, s.cells[0]!, 2);
    },
    function* (t, s) {
      yield* write(t, s.cells[0]!, 3);
      yield* write(t, s.cells[0]!, 4);
    },
  ]);
}
