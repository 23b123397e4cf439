/**
 * Progress on stderr for long runs: on a TTY a status line rewritten a few times a second, when
 * piped a plain line every few seconds; nothing before the first second, nothing with --json.
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
  return {
    update(what, executions, sinceMs, extra) {
      const now = Date.now();
      if (now - start < 1000) return;
      if (now - last < (tty ? 200 : 5000)) return;
      last = now;
      const rate = sinceMs > 0 ? Math.round((executions * 1000) / sinceMs) : 0;
      const line = `gupcheck: ${what}: ${executions.toLocaleString('en-US')}${extra?.samples !== undefined ? ` of ${extra.samples.toLocaleString('en-US')}` : ''} executions, ${rate.toLocaleString('en-US')}/s, ${((now - start) / 1000).toFixed(1)}s${describeFrontier(extra?.frontier, sinceMs)}`;
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
export function describeFrontier(f: Frontier | undefined, sinceMs = 0): string {
  if (!f) return '';
  const states =
    f.states === undefined
      ? ''
      : `, ${f.states.toLocaleString('en-US')} states${sinceMs > 0 ? ` (${Math.round((f.states * 1000) / sinceMs).toLocaleString('en-US')}/s)` : ''}, depth ${f.depth ?? '?'}, heap ${f.heapMB ?? '?'} MB`;
  if (f.pending === 0) return `${states}, no open branches left`;
  return `${states}, ${f.pending.toLocaleString('en-US')} open branch${f.pending === 1 ? '' : 'es'} (shallowest at step ${f.shallowest})${describeEstimate(f.explored, sinceMs)}`;
}

/** "~12% explored, about 3 min left": a rough estimate from the DFS position (split.ts exploredFraction). */
export function describeEstimate(explored: number | undefined, sinceMs: number): string {
  if (explored === undefined || !(explored > 0)) return '';
  const pct = explored * 100;
  const shown = pct < 0.1 ? '<0.1' : pct < 10 ? pct.toFixed(1) : pct.toFixed(0);
  if (explored < 0.001 || sinceMs <= 0) return `, ~${shown}% explored`;
  const left = (sinceMs * (1 - explored)) / explored / 1000;
  const t = left < 90 ? `${Math.round(left)} s` : left < 5400 ? `${Math.round(left / 60)} min` : left < 3 * 86400 ? `${Math.round(left / 3600)} h` : `${Math.round(left / 86400)} days`;
  return `, ~${shown}% explored, about ${t} left (rough)`;
}
