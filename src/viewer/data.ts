/**
 * The data a report embeds (as JSON in `<script type="application/json" id="gupcheck-data">`)
 * and the viewer reads. src/report/html.ts writes it; this file is the contract between the two.
 * The viewer reads it through `loadReportData()` only, so a live data source could replace the
 * embedded one without touching the views (docs/reference/design.md §12).
 */
import type { Trace } from '../trace/schema.ts';
import type { Verdict } from '../run/verdict.ts';

export const REPORT_DATA_VERSION = 1;

export interface ReportFinding {
  readonly id: string;
  /** Executions in which it happened. */
  readonly executions: number;
  readonly replay: string;
  /** Did an expectation say it may happen here? */
  readonly expected: boolean;
  readonly message?: string;
}

export interface ReportRun {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly mutant: string | null;
  /** not-judged: no expectation covers the run (e.g. a revision chosen with --kernel that the scenario does not list); interrupted: Ctrl-C came before it met a `sometimes`. */
  readonly verdict: Verdict;
  readonly executions: number;
  /** The search covered every interleaving (not bounded, not sampled). */
  readonly complete: boolean;
  /** Why the search was not complete ('sampled', 'max-executions', ...). */
  readonly limit: string | null;
  readonly findings: readonly ReportFinding[];
  /** Per CPU, each outcome value and how many executions ended with it. */
  readonly outcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly expectations: readonly { readonly expect: string; readonly holds: boolean; readonly observed: string }[];
  // What the search did, as `gupcheck check --json` gives it. Optional: reports written before
  // they were shown lack them.
  /** The search that ran ('dpor', 'stateful', ...; under `auto` the search that gave the result). */
  readonly strategy?: string;
  /** Why the search stopped early, in words, with how to go further; null if it did not. */
  readonly stopReason?: string | null;
  /** The stateful search: distinct states stored; null for the other searches. */
  readonly states?: number | null;
  /** `--strategy auto`: the DPOR executions explored before the run moved to the stateful search; null if it did not move. */
  readonly dporFirst?: number | null;
}

export interface ReportMeta {
  readonly interrupted: boolean;
  /** The command that produced the report. */
  readonly command: string;
  /** Interrupted: the runs that were not started ("scenario kernel/arch +mutant"). */
  readonly notStarted?: readonly string[];
}

export interface ReportData {
  readonly version: typeof REPORT_DATA_VERSION;
  readonly runs: readonly ReportRun[];
  readonly traces: readonly Trace[];
  readonly meta: ReportMeta & {
    /** What the model does not cover: every report shows it, with or without traces. */
    readonly notCovered: readonly string[];
    readonly generated?: string;
  };
}
