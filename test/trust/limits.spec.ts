/**
 * The checker's limits (issue 6/7): each one stops cleanly with a message that names the limit,
 * the run that hit it and how to get past it, the documented exit code and no stack trace.
 *
 *   threads         the model's 16 threads per execution (CPUs plus RCU-callback tasks); there
 *                   is no --max-threads option, so the message must not suggest one
 *   --max-steps     transitions per execution: a livelock (a loop that never ends under some
 *                   schedule) is reported as one, not hung on; exit 2 (GUPCHECK_LIMIT_STEPS)
 *   --max-executions  stops each run; the search says bounded, exit 0 if the expectations hold
 *                   on what was explored and 1 if not (a `sometimes` not seen yet)
 *   memory          gupcheck sets no memory limit of its own (Node's heap limit applies); nothing
 *                   to test here
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exploreWith } from '../../src/check/index.ts';
import { LimitError, SimThread, World } from '../../src/sim/world.ts';
import { read, tiny, write } from '../check/tiny.ts';
import { EXAMPLE, expectUserError, gupcheck, type Ran, tmp } from './helpers.ts';

const checkHelp = gupcheck(['check', '--help']).stdout;

/** Every `--option` an error mentions must be one `check` has. */
function optionsExist(r: Ran): void {
  for (const m of r.stderr.matchAll(/--[a-z][a-z-]+/g)) expect(checkHelp, `the error suggests ${m[0]}`).toContain(`${m[0]} `);
}

describe('the thread limit', () => {
  it('World refuses the thread past its limit with a LimitError naming it', () => {
    const w = new World(2);
    const add = () => w.addThread('T', (id, name, ctx, sp) => new SimThread(id, name, ctx, sp, true), function* () {});
    add();
    add();
    let err: unknown;
    try {
      add();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).limit).toBe('threads');
    expect((err as LimitError).value).toBe(2);
  });

  it('check: a scenario that spawns more than 16 threads is refused with the run and a fix that exists, exit 2', () => {
    // Ten CPUs; CPU0's munmaps free page tables through RCU on arm64, one callback task each.
    const d = tmp();
    const f = join(d, 'many-threads.yaml');
    const lines = ['name: many-threads', 'shows: more threads than the model allows', 'kernels: [6.5]', 'arches: [arm64]', 'layout:'];
    for (let i = 0; i < 8; i++) lines.push(`  - { name: b${i}, backing: anon, map: private, prot: rw, pages: 1, touch: write }`);
    lines.push('cpus:');
    for (let c = 0; c < 10; c++) {
      lines.push(`  CPU${c}:`);
      for (let i = 0; i < 8; i++) lines.push(`    - { op: ${c === 0 ? 'munmap' : 'madvise_dontneed'}, vma: b${i} }`);
    }
    writeFileSync(f, lines.join('\n') + '\n');
    const r = gupcheck(['check', f, '--out', join(d, 'out')]);
    expectUserError(r, 'GUPCHECK_LIMIT_THREADS', /more than 16 threads/);
    expect(r.stderr).toContain(`${f}: many-threads 6.5/arm64`);
    optionsExist(r);
  });
});

describe('--max-steps: a livelock is reported, not hung on', () => {
  // T0 spins until T1 writes x; depth-first search keeps running T0 (switching away would be a
  // preemption it tries later), so its first execution never ends.
  const spinUntilWritten = () =>
    tiny(1, [
      function* (t, s) {
        while ((yield* read(t, s.cells[0]!)) === 0);
      },
      function* (t, s) {
        yield* write(t, s.cells[0]!, 1);
      },
    ]);
  // A loop no schedule ends, for the samplers.
  const spinForever = () =>
    tiny(1, [
      function* (t, s) {
        while ((yield* read(t, s.cells[0]!)) === 0);
      },
    ]);

  const expectLivelock = (f: () => unknown, limit: number) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).limit).toBe('steps');
    expect((err as LimitError).value).toBe(limit);
    // check/ names the limit; the CLI says which option raises it (test below: --max-steps).
    expect((err as LimitError).message).toMatch(new RegExp(`more than ${limit} transitions in one execution \\(the steps limit\\)`));
    expect((err as LimitError).limit).toBe('steps');
    // It says who spun and where: the spinning thread T0, at its read of x.
    expect((err as LimitError).detail).toMatch(new RegExp(`^of the last ${Math.min(limit, 1000)} transitions, T0 ran \\d+ and is at tiny: access`));
  };

  it('DPOR and naive DFS stop the spinning execution at the limit', () => {
    expectLivelock(() => exploreWith(spinUntilWritten(), 'dpor', { maxSteps: 200 }), 200);
    expectLivelock(() => exploreWith(spinUntilWritten(), 'naive', { maxSteps: 200 }), 200);
  });

  it('random and PCT sampling stop a loop that never ends', () => {
    expectLivelock(() => exploreWith(spinForever(), 'random', { seed: 1, samples: 3, maxSteps: 100 }), 100);
    expectLivelock(() => exploreWith(spinForever(), 'pct', { seed: 1, samples: 3, maxSteps: 100 }), 100);
  });

  it('check: hitting --max-steps names the run, says livelock and how to raise it, exit 2', () => {
    const d = tmp();
    const file = EXAMPLE('11-fast-pin-vs-munmap.yaml');
    for (const workers of ['1', '2']) {
      const r = gupcheck(['check', file, '--max-steps', '10', '--workers', workers, '--out', d]);
      expectUserError(r, 'GUPCHECK_LIMIT_STEPS', /possible livelock: an execution ran more than 10 transitions \(--max-steps 10\)/);
      expect(r.stderr).toMatch(new RegExp(`${file}: fast-pin-vs-munmap \\S+/\\S+`));
      expect(r.stderr).toMatch(/of the last 10 transitions, CPU\d ran \d+ and is at \w+: /);
      expect(r.stderr).toMatch(/fix: .*--max-steps \d+/);
      expect(r.stdout).toBe('');
      optionsExist(r);
    }
  });
});

describe('--max-executions stops each run cleanly and says the search is bounded', () => {
  const file = EXAMPLE('10-fast-pin-vs-thp-split.yaml');

  it('JSON: complete false, limit "executions", exactly n executions; exit 0 when the expectations hold on them', () => {
    const r = gupcheck(['check', file, '--kernel', '6.5', '--arch', 'x86', '--max-executions', '5', '--json', '--out', tmp()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [res, ...rest] = (JSON.parse(r.stdout) as { results: { complete: boolean; limit: string | null; executions: number; verdict: string; stopReason: string | null }[] }).results;
    expect(rest).toEqual([]);
    expect(res).toMatchObject({ complete: false, limit: 'executions', executions: 5, verdict: 'holds' });
    expect(res!.stopReason).toMatch(/--max-executions 5/);
  });

  it('text: the search column says bounded and a line names the limit; a `sometimes` not reached yet fails, exit 1', () => {
    const r = gupcheck(['check', file, '--kernel', '6.5', '--arch', 'arm64', '--max-executions', '5', '--out', tmp()]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).toMatch(/bounded \(executions\)/);
    expect(r.stdout).toMatch(/stopped after --max-executions 5 executions; raise it to explore further/);
    expect(r.stdout).toMatch(/expected pin-on-reused-page: sometimes, observed in 0 of 5 executions/);
  });
});
