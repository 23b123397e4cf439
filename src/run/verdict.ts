/**
 * What a run's verdict is called wherever it is shown: `gupcheck check`'s table and summary
 * line, and the HTML report's matrix, legend and header. A new kind of verdict is one entry in
 * VERDICT_WORDS (the JSON keeps the keys: `holds`, `violated`).
 *
 * A verdict says whether the run's expectations hold, not whether the kernel is fine: v7 on
 * arm64 holds *because* it finds the wild-deref its scenario expects. "✓ holds" next to
 * "wild-deref ×15" read as "the kernel is fine" (issue 16), so the words keep the two apart:
 * "as expected" / "NOT as expected" for the verdict, and beside it the findings, or "no finding".
 *
 * Pure data and string functions: the report's viewer (a browser bundle) imports this file too.
 */

export const VERDICTS = ['holds', 'violated', 'interrupted', 'not-judged'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface VerdictWords {
  /** In a table cell and the summary: "as expected". */
  readonly word: string;
  /** Before the word in the report's matrix. */
  readonly mark: string;
  /** The legend: what the verdict means. */
  readonly meaning: string;
  /** How it is shown: good (green), bad (red, counted against the run), open (yellow: not judged, a problem only with --strict). */
  readonly tone: 'good' | 'bad' | 'open';
}

export const VERDICT_WORDS: Readonly<Record<Verdict, VerdictWords>> = {
  holds: { word: 'as expected', mark: '✓', meaning: 'every expectation holds: a finding shown is one the scenario expects', tone: 'good' },
  violated: { word: 'NOT as expected', mark: '✗', meaning: 'an expectation does not hold', tone: 'bad' },
  interrupted: {
    word: 'interrupted',
    mark: '…',
    meaning: 'stopped by Ctrl-C or SIGTERM before it met a finding or outcome expected to occur sometimes; nothing it explored went against an expectation, and what it left out is unknown',
    tone: 'open',
  },
  'not-judged': {
    word: 'not judged',
    mark: '?',
    meaning: 'no expectation of the scenario covers the run (a kernel or arch chosen with --kernel/--arch): its findings are shown, unjudged; --strict fails it',
    tone: 'open',
  },
};

/** What the findings column or cell says of a run that found nothing. */
export const NO_FINDING = 'no finding';

interface Judged {
  readonly verdict: Verdict;
  readonly findings: readonly unknown[];
}

/**
 * "75/75 runs as expected (23 with the findings expected, 52 with no finding)", or with runs
 * that are not: "73/75 runs as expected (...), 2 NOT as expected".
 */
export function verdictSummary(runs: readonly Judged[]): string {
  const by = (v: Verdict) => runs.filter((r) => r.verdict === v);
  const held = by('holds');
  const found = held.filter((r) => r.findings.length > 0).length;
  const parts = [found ? `${found} with the findings expected` : '', held.length - found ? `${held.length - found} with ${NO_FINDING}` : ''].filter(Boolean);
  let s = `${held.length}/${runs.length} run${runs.length === 1 ? '' : 's'} ${VERDICT_WORDS.holds.word}${parts.length ? ` (${parts.join(', ')})` : ''}`;
  for (const v of VERDICTS) {
    if (v === 'holds') continue;
    const n = by(v).length;
    if (n) s += `, ${n} ${VERDICT_WORDS[v].word}`;
  }
  return s;
}
