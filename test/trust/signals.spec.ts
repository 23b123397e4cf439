/**
 * Ctrl-C and SIGTERM during a long check (issue 6/7): the real CLI, on a run that takes minutes
 * (bench/scaled-reuse-anon.yaml), is signalled after about two seconds. It must stop at the next
 * execution boundary, print the partial results marked interrupted, write a complete report
 * marked interrupted, leave no half-written `*.tmp-*` file, and exit 130 for SIGINT, 143 for
 * SIGTERM (128 + the signal number; src/cli/errors.ts).
 *
 * The signal must arrive after the CLI installed its handler (before that Node's default kills
 * the process, which says nothing about gupcheck): if the process died of the signal itself, the
 * test tries again with a longer wait. No assertion is about time.
 *
 * The last test needs two signals to reach gupcheck's handler before it has printed the partial
 * results, which no sender can promise: signals are delivered to whichever of Node's threads
 * does not block them, and on a loaded machine the thread that took the second one may run its
 * (C) handler only after the main thread has handled the first, finished and printed. So the two
 * are sent while the CLI is stopped (SIGSTOP ... SIGCONT: both pending when it runs again, which
 * is the usual case), and a run in which only one of them reached the handler (the partial
 * results printed, no "again" message) is tried again. That run tested nothing about a second
 * signal; a CLI that ignored second signals would fail every try.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, type Spawned, spawnCli, tmp } from './helpers.ts';

const LONG = join(ROOT, 'bench', 'scaled-reuse-anon.yaml');
const AGAIN = /gupcheck: (Ctrl-C|SIGTERM) again: quitting without printing or writing the partial results/;

async function interrupt(args: readonly string[], signal: NodeJS.Signals, then?: NodeJS.Signals | 'twice'): Promise<{ r: Spawned; dir: string }> {
  const tries: string[] = [];
  for (const wait of [2000, 5000, 10000, 10000, 10000]) {
    const dir = tmp();
    const r = await spawnCli(['check', LONG, ...args, '--out', join(dir, 'out'), '--report', join(dir, 'report.html')], {
      onStart: (p) =>
        void setTimeout(() => {
          if (!then || then === 'twice') {
            p.kill(signal);
            // As `timeout -s INT N` does: to the child, then to its process group. 20 ms apart, so
            // that the kernel cannot merge them into one pending signal.
            if (then === 'twice') setTimeout(() => p.kill(signal), 20);
            return;
          }
          // Two signals that must both reach the handler (see the header): stopped, the CLI
          // cannot handle the first and print its results before the second is sent.
          p.kill('SIGSTOP');
          p.kill(signal);
          p.kill(then);
          p.kill('SIGCONT');
        }, wait),
    });
    if (r.signal === signal || (then && r.signal === then)) {
      tries.push('the handler was not installed yet');
      continue; // wait longer
    }
    if (then && then !== 'twice' && !AGAIN.test(r.stderr) && /: stopping; the partial results follow/.test(r.stderr)) {
      tries.push(`only one of ${signal} and ${then} reached the handler before the results were printed (exit ${r.code})`);
      continue;
    }
    return { r, dir };
  }
  throw new Error(`no try could test ${then ? `${signal} then ${then}` : signal}: ${tries.join('; ')}`);
}

function tmpFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      if (f.isDirectory()) walk(join(d, f.name));
      else if (/\.tmp-/.test(f.name)) out.push(join(d, f.name));
    }
  };
  walk(dir);
  return out;
}

function expectReport(dir: string): void {
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  expect(html.startsWith('<!doctype html>')).toBe(true);
  expect(html.trimEnd().endsWith('</html>')).toBe(true);
  const m = /<script type="application\/json" id="gupcheck-data">(.*?)<\/script>/s.exec(html);
  expect(m).not.toBeNull();
  const data = JSON.parse(m![1]!) as { meta: { interrupted: boolean }; runs: { limit: string | null }[] };
  expect(data.meta.interrupted).toBe(true);
  expect(data.runs.some((x) => x.limit === 'interrupted')).toBe(true);
}

interface Json {
  interrupted?: boolean;
  results: { complete: boolean; limit: string | null; executions: number }[];
}

describe('a long check stopped by a signal', () => {
  it('SIGINT (Ctrl-C) with --json: exit 130, partial results marked interrupted, a complete report, no temp files', async () => {
    const { r, dir } = await interrupt(['--json'], 'SIGINT');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(130);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.interrupted).toBe(true);
    // The run being explored is interrupted. Under --strategy auto (the default) so are the runs
    // whose DPOR executions had ended, moving them to the stateful search, before the signal:
    // every run explores DPOR first, then the ones that move their stateful search.
    const stopped = j.results.filter((x) => x.limit === 'interrupted');
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    for (const x of stopped) {
      expect(x.complete).toBe(false);
      expect(x.executions).toBeGreaterThan(0);
    }
    expectReport(dir);
    expect(tmpFiles(dir)).toEqual([]);
  }, 120_000);

  it('SIGTERM with --json on two workers: exit 143, the same partial results and report', async () => {
    const { r, dir } = await interrupt(['--json', '--workers', '2'], 'SIGTERM');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(143);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.interrupted).toBe(true);
    expect(j.results.some((x) => x.limit === 'interrupted' && !x.complete)).toBe(true);
    expectReport(dir);
    expect(tmpFiles(dir)).toEqual([]);
  }, 120_000);

  it('SIGINT without --json: the table says bounded (interrupted) and the last line says the results are partial', async () => {
    const { r, dir } = await interrupt(['--no-progress'], 'SIGINT');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/bounded \(interrupted\)/);
    expect(r.stdout).toMatch(/^interrupted \(Ctrl-C\): the results above are partial$/m);
    expect(r.stderr).toMatch(/gupcheck: Ctrl-C: stopping; the partial results follow \(Ctrl-C again to quit without them\)/);
    expect(r.stdout).toContain(`report: ${join(dir, 'report.html')}`);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(tmpFiles(dir)).toEqual([]);
  }, 120_000);

  it('the same signal twice back to back (as timeout -s INT sends it) is one interrupt: the partial results follow', async () => {
    const { r } = await interrupt(['--json'], 'SIGINT', 'twice');
    expect(r.stderr).not.toMatch(AGAIN);
    expect(r.code).toBe(130);
    expect((JSON.parse(r.stdout) as Json).interrupted).toBe(true);
  }, 120_000);

  it('a second signal quits at once: no partial results printed, no report, no temp files', async () => {
    // SIGINT then SIGTERM (two different signals, so the kernel cannot merge them into one).
    const { r, dir } = await interrupt(['--json'], 'SIGINT', 'SIGTERM');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // Both signals are pending at once (see interrupt()); whichever is handled second quits, with its own code.
    const again = AGAIN.exec(r.stderr);
    expect(again, r.stderr).not.toBeNull();
    expect(r.code).toBe(again![1] === 'SIGTERM' ? 143 : 130);
    expect(r.stdout).toBe('');
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
  }, 120_000);
});

describe('a long check run through npx (issue 16)', () => {
  /*
   * npm runs gupcheck under `sh -c` and forwards a signal to that shell only; the shell dies, npm
   * exits at once, and gupcheck never saw the signal (src/cli/parent.ts). The check is started as
   * `npx gupcheck check ...` in text mode; once its progress line shows (its handlers are then
   * installed), the signal is sent. stdout and stderr are read until gupcheck itself closes them.
   */
  function throughNpx(signalGroup: boolean): Promise<{ stdout: string; stderr: string; out: string }> {
    const out = join(tmp(), 'out');
    return new Promise((resolve, reject) => {
      const p = spawn('npx', ['gupcheck', 'check', LONG, '--out', out], { cwd: ROOT, detached: signalGroup, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      let sent = false;
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (sent || !/gupcheck: scaled-reuse-anon 6\.5\/arm64: /.test(stderr)) return;
        sent = true;
        // As `timeout N` does (the whole process group), or as a process manager does (npx alone).
        if (signalGroup) process.kill(-p.pid!, 'SIGTERM');
        else p.kill('SIGTERM');
      });
      p.on('error', reject);
      p.on('close', () => resolve({ stdout, stderr, out }));
    });
  }

  /** gupcheck processes still running with this --out directory. */
  function leftRunning(out: string): string[] {
    const found: string[] = [];
    for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(out) && cmd.includes('gupcheck')) found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
      } catch {
        // gone
      }
    }
    return found;
  }

  it('SIGTERM to npx alone: gupcheck notices npm is gone, prints the partial results and the runs not started, and exits', async () => {
    const r = await throughNpx(false);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).toMatch(/gupcheck: npm, which started gupcheck, exited \(a signal for it did not reach gupcheck\): stopping; the partial results follow/);
    expect(r.stdout).toMatch(/ scaled-reuse-anon +6\.5 +arm64 .*bounded \(interrupted\)/);
    expect(r.stdout).toMatch(/^interrupted \(npm, which started gupcheck, exited: it was signalled\): the results above are partial$/m);
    expect(r.stdout).toMatch(/^not started \(1 run\): scaled-reuse-anon v7\/arm64$/m);
    expect(leftRunning(r.out)).toEqual([]);
  }, 180_000);

  it('SIGTERM to the process group (timeout N npx ...): one signal, not "again"; the partial results and the runs not started', async () => {
    const r = await throughNpx(true);
    expect(r.stderr).toMatch(/gupcheck: SIGTERM: stopping; the partial results follow/);
    expect(r.stderr).not.toMatch(/again: quitting|npm, which started gupcheck, exited/);
    expect(r.stdout).toMatch(/^interrupted \(SIGTERM\): the results above are partial$/m);
    expect(r.stdout).toMatch(/^not started \(1 run\): scaled-reuse-anon v7\/arm64$/m);
    expect(leftRunning(r.out)).toEqual([]);
  }, 180_000);
});
