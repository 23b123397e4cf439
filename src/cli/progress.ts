/**
 * Progress on stderr for long runs: on a TTY a status line rewritten a few times a second, when
 * piped a plain line every few seconds, and at once when a run meets a new finding (the line names
 * the findings so far: a reviewer waiting for one can stop there with Ctrl-C and get its trace);
 * nothing before the first second, nothing with --json.
 */
import type { Frontier } from '../check/results.ts';
import type { ProgressExtra } from '../run/pool.ts';

export interface Progress {
  update(what: string, executions: number, sinceMs: number, extra?: ProgressExtra): void;
  done(): void;
}

export function progress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return { update() {}, done() {} };
  const tty = stream.isTTY === true;
  const start = Date.now();
  let last = 0;
  let shown = false;
  const sizes = new Map<string, SizeEstimates>();
  /** Per run, how many findings its last line named. */
  const named = new Map<string, number>();
  return {
    update(what, executions, sinceMs, extra) {
      const explored = extra?.frontier?.explored;
      if (explored !== undefined) {
        let est = sizes.get(what);
        if (!est) sizes.set(what, (est = new SizeEstimates()));
        est.add(sinceMs, executions, explored);
      }
      const now = Date.now();
      if (now - start < 1000) return;
      const ids = extra?.findings;
      const nFound = ids?.size ?? 0;
      const fresh = nFound > (named.get(what) ?? 0);
      if (!fresh && now - last < (tty ? 200 : 5000)) return;
      last = now;
      named.set(what, nFound);
      const rate = sinceMs > 0 ? Math.round((executions * 1000) / sinceMs) : 0;
      const found = ids && nFound ? `; found so far: ${[...ids.keys()].join(', ')} (Ctrl-C stops with ${nFound === 1 ? 'its trace' : 'their traces'})` : '';
      const line = `gupcheck: ${what}: ${executions.toLocaleString('en-US')}${extra?.samples !== undefined ? ` of ${extra.samples.toLocaleString('en-US')}` : ''} executions, ${rate.toLocaleString('en-US')}/s, ${((now - start) / 1000).toFixed(1)}s${describeFrontier(extra?.frontier, sinceMs, sizes.get(what))}${found}`;
      if (tty) {
        stream.write(`\r\x1b[K${line}`);
        shown = true;
      } else stream.write(`${line}\n`);
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * The frontier of an exhaustive search: alternatives known but not yet explored. DPOR finds more
 * as it goes, so this is what is left so far, not an estimate of the total; while the shallowest
 * open branch stays near the start, most of the search is still ahead.
 */
export function describeFrontier(f: Frontier | undefined, sinceMs = 0, sizes?: SizeEstimates): string {
  if (!f) return '';
  const states =
    f.states === undefined
      ? ''
      : `, ${f.states.toLocaleString('en-US')} states${sinceMs > 0 ? ` (${Math.round((f.states * 1000) / sinceMs).toLocaleString('en-US')}/s)` : ''}, depth ${f.depth ?? '?'}, heap ${f.heapMB ?? '?'} MB`;
  if (f.pending === 0) return `${states}, no open branches left`;
  return `${states}, ${f.pending.toLocaleString('en-US')} open branch${f.pending === 1 ? '' : 'es'} (shallowest at step ${f.shallowest})${describeEstimate(f.explored, sinceMs, sizes)}`;
}

/**
 * The estimates of a run's size (its executions over the explored share, split.ts
 * exploredFraction) seen so far. The share assumes every branch still open is as large as those
 * explored, which DPOR breaks both ways: it finds new branches as it goes (the share falls back)
 * and sleep sets make later branches smaller. Measured (issue 16): on example 10's
 * fast-pin-vs-thp-split 6.5/arm64 (13,551 executions) it said 15-23% explored when 95% was done;
 * on bench/spin-l1 6.5/arm64 it stayed at 7% while the run went from 50,000 to 220,000
 * executions, the time left it implied growing from 4 s to 3 h. So a time is given only once the
 * size estimate has settled: over the last half of the run so far (at least 5 s and three
 * estimates), its largest and smallest differ by at most SETTLED.
 */
export class SizeEstimates {
  static readonly SETTLED = 1.25;
  private readonly samples: { readonly ms: number; readonly total: number }[] = [];

  add(ms: number, executions: number, explored: number): void {
    if (!(explored > 0)) return;
    const lastMs = this.samples.at(-1)?.ms;
    if (lastMs !== undefined && ms - lastMs < 100) return;
    this.samples.push({ ms, total: executions / explored });
  }

  /** How much the estimate moved over the last half of the run (undefined: too early to say). */
  spread(ms: number): { readonly ratio: number; readonly grew: boolean; readonly windowMs: number } | undefined {
    const from = ms / 2;
    const recent = this.samples.filter((x) => x.ms >= from);
    if (ms - from < 5000 || recent.length < 3) return undefined;
    const totals = recent.map((x) => x.total);
    return { ratio: Math.max(...totals) / Math.min(...totals), grew: recent.at(-1)!.total > recent[0]!.total, windowMs: ms - from };
  }
}

function duration(s: number): string {
  return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 3 * 86400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} days`;
}

/**
 * "~12% explored, about 3 min left (rough)" once the size estimate has settled (SizeEstimates);
 * before that, that the size is not known yet, and why. The share on its own is not shown: it
 * was as far off as the time (15% explored said when 80% was done).
 */
export function describeEstimate(explored: number | undefined, sinceMs: number, sizes?: SizeEstimates): string {
  if (explored === undefined || !(explored > 0)) return '';
  const spread = sizes?.spread(sinceMs);
  if (!spread || sinceMs <= 0) return ', size not known yet';
  if (spread.ratio > SizeEstimates.SETTLED) return `, size not known yet (its estimate ${spread.grew ? 'grew' : 'moved'} ${spread.ratio.toFixed(1)}x in the last ${duration(spread.windowMs / 1000)})`;
  const pct = explored * 100;
  const shown = pct < 0.1 ? '<0.1' : pct < 10 ? pct.toFixed(1) : pct.toFixed(0);
  return `, ~${shown}% explored, about ${duration((sinceMs * (1 - explored)) / explored / 1000)} left (rough)`;
}
