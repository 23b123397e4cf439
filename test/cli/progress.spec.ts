/**
 * The progress line (issue 7): nothing in the first second, TTY-aware pacing, cleared at the end,
 * and the exhaustive search's frontier (open branches on the DFS stack), exact on a tiny program;
 * on a real terminal, what a newcomer's long search says of its size (issue 16).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exploreWith } from '../../src/check/index.ts';
import type { Frontier } from '../../src/check/results.ts';
import { describeFrontier, progress } from '../../src/cli/progress.ts';
import { twoWritersOneCell } from '../check/tiny.ts';
import { ROOT } from './helpers.ts';

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream };
}

const T0 = 1_700_000_000_000;

describe('progress line', () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  it('when piped: silent for the first second, then a plain line every five seconds', () => {
    const { out, stream } = fakeStream(false);
    const p = progress(true, stream);
    p.update('run', 10, 500);
    expect(out).toEqual([]);
    vi.setSystemTime(T0 + 1200);
    p.update('run', 1000, 1200, { frontier: { pending: 3, shallowest: 4 } });
    expect(out).toEqual(['gupcheck: run: 1,000 executions, 833/s, 1.2s, 3 open branches (shallowest at step 4)\n']);
    vi.setSystemTime(T0 + 3000);
    p.update('run', 2000, 3000);
    expect(out).toHaveLength(1);
    vi.setSystemTime(T0 + 6300);
    p.update('run', 5000, 6300, { samples: 10_000 });
    expect(out[1]).toBe('gupcheck: run: 5,000 of 10,000 executions, 794/s, 6.3s\n');
  });

  it('names the findings met so far, and when piped writes a line at once for a new one', () => {
    const { out, stream } = fakeStream(false);
    const p = progress(true, stream);
    vi.setSystemTime(T0 + 1200);
    p.update('run', 1000, 1200, { frontier: { pending: 3, shallowest: 4 } });
    expect(out).toHaveLength(1);
    vi.setSystemTime(T0 + 1500);
    p.update('run', 1300, 1500, { frontier: { pending: 3, shallowest: 4 }, findings: new Set(['wild-deref']) });
    expect(out[1]).toBe('gupcheck: run: 1,300 executions, 867/s, 1.5s, 3 open branches (shallowest at step 4); found so far: wild-deref (Ctrl-C stops with its trace)\n');
    // The same finding again: back to a line every five seconds.
    vi.setSystemTime(T0 + 2000);
    p.update('run', 1800, 2000, { findings: new Set(['wild-deref']) });
    expect(out).toHaveLength(2);
    vi.setSystemTime(T0 + 2100);
    p.update('run', 1900, 2100, { findings: new Set(['wild-deref', 'warn']) });
    expect(out[2]).toBe('gupcheck: run: 1,900 executions, 905/s, 2.1s; found so far: wild-deref, warn (Ctrl-C stops with their traces)\n');
  });

  it('on a terminal: one line rewritten in place and cleared by done()', () => {
    const { out, stream } = fakeStream(true);
    const p = progress(true, stream);
    vi.setSystemTime(T0 + 1100);
    p.update('run', 1, 1100);
    vi.setSystemTime(T0 + 1400);
    p.update('run', 2, 1400);
    p.done();
    expect(out).toHaveLength(3);
    expect(out[0]!.startsWith('\r\x1b[Kgupcheck: run: 1 executions')).toBe(true);
    expect(out[1]!.startsWith('\r\x1b[Kgupcheck: run: 2 executions')).toBe(true);
    expect(out[2]).toBe('\r\x1b[K');
  });

  it('disabled (--json, --no-progress): writes nothing', () => {
    const { out, stream } = fakeStream(true);
    const p = progress(false, stream);
    vi.setSystemTime(T0 + 5000);
    p.update('run', 1, 5000);
    p.done();
    expect(out).toEqual([]);
  });

  it('says when no branch is left', () => {
    expect(describeFrontier({ pending: 0, shallowest: -1 })).toBe(', no open branches left');
    expect(describeFrontier({ pending: 1, shallowest: 0 })).toBe(', 1 open branch (shallowest at step 0)');
    expect(describeFrontier(undefined)).toBe('');
  });
});

describe('frontier of the exhaustive search', () => {
  /*
   * T0: x=1; x=2   T1: x=3; x=4. Naive DFS keeps running the thread that ran last, so the 6
   * interleavings come in the order 0011 0101 0110 1100 1001 1010.
   * After 0011 the alternatives T1@step0 and T1@step1 are open; after 0101, T1@step0 and T1@step2;
   * after 0110 only T1@step0; after 1100, T0@step1; after 1001, T1@step2; after 1010 nothing.
   */
  const sameCell = twoWritersOneCell();
  it('counts the open branches on the DFS stack after every execution', () => {
    const seen: Frontier[] = [];
    exploreWith(sameCell, 'naive', { onExecution: (r) => seen.push(r.frontier!) });
    expect(seen.map((f) => f.pending)).toEqual([2, 2, 1, 1, 1, 0]);
    expect(seen.map((f) => f.shallowest)).toEqual([0, 0, 0, 1, 2, -1]);
  });

  it('ends at zero under DPOR too', () => {
    const seen: Frontier[] = [];
    const r = exploreWith(sameCell, 'dpor', { onExecution: (res) => seen.push(res.frontier!) });
    expect(r.complete).toBe(true);
    expect(seen.at(-1)).toMatchObject({ pending: 0, shallowest: -1 });
    expect(seen.slice(0, -1).every((f) => f.pending > 0)).toBe(true);
  });
});

describe('a newcomer runs a long search on a terminal', () => {
  /*
   * `gupcheck check bench/spin-l1.yaml` (Spin's L1 configuration, which runs for many minutes) on a
   * pseudo-terminal (util-linux `script`), stopped with Ctrl-C after 8 s. The progress line must
   * be there, rewritten in place, and must not promise a time it cannot back: the estimate of
   * this search's size keeps growing (test/check/estimate.spec.ts), so it says the size is not
   * known yet.
   */
  it('the progress line shows the search and says the size is not known yet instead of guessing a time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gupcheck-tty-'));
    const cmd = `timeout -s INT 8 ${process.execPath} ${join(ROOT, 'bin', 'gupcheck.mjs')} check bench/spin-l1.yaml --kernel 6.5 --arch arm64 --strategy dpor --out ${join(dir, 'out')}`;
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
    const lines = r.stdout.split(new RegExp(`\r${String.fromCharCode(27)}\\[K|\r?\n`)).map((l) => l.trim()).filter((l) => l.startsWith('gupcheck: spin-l1 6.5/arm64:'));
    expect(lines.length, r.stdout).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toMatch(/^gupcheck: spin-l1 6\.5\/arm64: [\d,]+ executions, [\d,]+\/s, [\d.]+s, [\d,]+ open branch(es)? \(shallowest at step \d+\), size not known yet( \(its estimate (grew|moved) [\d.]+x in the last \d+ s\))?$/);
    }
    expect(r.stdout).toMatch(/bounded \(interrupted\)/);
  }, 150_000);
});

/*
 * A reviewer checking v7 waits for the wild-deref; an exhaustive search goes on long after it.
 * The progress line names it as soon as it is met (piped: a line at once), from the search in
 * this process and from a worker's, and Ctrl-C then stops with its trace.
 */
describe('a finding met during a long search', () => {
  for (const [how, flags] of [
    ['in this process (dpor, one worker)', ['--strategy', 'dpor']],
    ['on workers (dpor split over two)', ['--strategy', 'dpor', '--workers', '2']],
  ] as const) {
    it(`is named by the progress line, ${how}, and Ctrl-C stops with its trace`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'gupcheck-found-'));
      const r = spawnSync('timeout', ['-s', 'INT', '4', process.execPath, join(ROOT, 'bin', 'gupcheck.mjs'), 'check', 'bench/spin-l1.yaml', '--kernel', 'v7', '--arch', 'arm64', ...flags, '--out', join(dir, 'out')], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        timeout: 120_000,
      });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('gupcheck: spin-l1 v7/arm64:'));
      expect(lines.some((l) => l.endsWith('; found so far: wild-deref (Ctrl-C stops with its trace)')), r.stderr).toBe(true);
      expect(r.stdout).toMatch(/spin-l1 v7\/arm64: wild-deref in \d+\/\d+ executions, \d+-step trace/);
      expect(r.stdout).toMatch(/bounded \(interrupted\)/);
    }, 150_000);
  }
});
