/**
 * What a run's search is called wherever it is shown: `gupcheck check`'s table and the notes
 * after it, and the HTML report's matrix and its notes on the searches. The report said only
 * "bounded (memory)" where the text said why and how to go further, and nothing of the states
 * the stateful search stored or of the runs `auto` moved to it; both now read these words.
 *
 * Pure data and string functions: the report's viewer (a browser bundle) imports this file too.
 */

/** What these words need of a run (ResultOut in the CLI, ReportRun in the report). */
export interface SearchFacts {
  readonly complete: boolean;
  /** Why the search was not complete ('sampled', 'executions', 'memory', 'interrupted', ...). */
  readonly limit: string | null;
  /** The stateful search: distinct states stored. Absent in reports written before it was kept. */
  readonly states?: number | null;
}

/**
 * "complete", "sampled", "bounded (memory)", "stopped at a finding" (--stop-at-finding), with
 * ", 52,831 states" for the stateful search.
 */
export function searchLabel(r: SearchFacts): string {
  const kind = r.complete ? 'complete' : r.limit === 'sampled' ? 'sampled' : r.limit === 'finding' ? 'stopped at a finding' : `bounded${r.limit ? ` (${r.limit})` : ''}`;
  return r.states != null ? `${kind}, ${r.states.toLocaleString('en-US')} states` : kind;
}

/**
 * The chance that two of n states share a 64-bit fingerprint, n²/2⁶⁵ (TLC's "optimistic"
 * estimate, which assumes the fingerprints are uniformly spread). A collision would make the
 * stateful search skip a state it never explored.
 */
export function fingerprintCollision(n: number): number {
  return Math.min(1, (n * n) / 2 ** 65);
}

/** The note on fingerprint collisions for the largest number of states any run stored (none if no run stored any). */
export function collisionNote(states: readonly (number | null | undefined)[]): string | null {
  const stored = states.reduce<number>((m, s) => Math.max(m, s ?? -1), -1);
  if (stored <= 0) return null;
  return `64-bit state fingerprints; the chance of a collision among the ${stored.toLocaleString('en-US')} states of the largest run is about ${fingerprintCollision(stored).toPrecision(2)} (n²/2⁶⁵, as TLC estimates it)`;
}

/** The note on the runs `--strategy auto` moved to the stateful search after `dporFirst` DPOR executions. */
export function movedNote(moved: number, dporFirst: number): string {
  const n = moved === 1 ? '1 run' : `${moved} runs`;
  return `${n} moved to the stateful search after ${dporFirst.toLocaleString('en-US')} DPOR executions had not finished ${moved === 1 ? 'it' : 'them'} (--strategy auto, the default); the time includes those. Its executions are paths that end where a state was already explored, not whole interleavings`;
}

/** The limit a preemption-bounded stateful search reports: it explored every schedule within the bound, and none beyond. */
export function withinBound(k: number): string {
  return `every schedule within ${k} preemption${k === 1 ? '' : 's'}`;
}

/** Is this the limit of a search that explored every schedule within a preemption bound (withinBound())? */
export function isWithinBound(limit: string | null | undefined): boolean {
  return limit != null && /^every schedule within \d+ preemptions?$/.test(limit);
}
