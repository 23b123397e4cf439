/**
 * The trace file format (docs/reference/design.md §12): one versioned schema that the checker writes and the
 * text narrator and the HTML viewer read. A trace is one execution replayed with recording on:
 * every transition in kernel words, with the state after it.
 *
 * Version history: 1 — first version; later `outcome` (optional: traces recorded for a revision
 * diff, which show an outcome rather than a finding; readers that do not know it can ignore it),
 * then `findings` and `ended` (optional: every finding the recorded execution reported, and
 * whether it ran to its end, so end-of-run findings appear only in traces that reach the end).
 */
export const TRACE_VERSION = 1;

export interface TraceStep {
  /** Transition index in the (minimized) schedule. */
  readonly i: number;
  /** CPU (or task) that ran it: "CPU0", "rcu-cb(CPU1)". */
  readonly cpu: string;
  /** Kernel function, as the revision names it. */
  readonly fn: string;
  /** What it did: "ptep_get_lockless(ptep)", "atomic_add_unless(_refcount, refs, 0)". */
  readonly action: string;
  /** The object touched: "pte@0x7f0000000000", "folio@pfn17._refcount" ('' for local steps). */
  readonly object: string;
  readonly access: 'read' | 'write' | 'rmw' | 'lock' | 'wait' | 'choice' | 'local';
  /** Value read, or value written (formatted). */
  readonly value?: string;
  /** Value before a write or read-modify-write (formatted). */
  readonly before?: string;
  /** State changes in words ("folio@pfn17 freed (back on the free list)"). */
  readonly notes: readonly string[];
  /**
   * A finding reported by this transition; `fn`, when set, is the function that raised it, which
   * ran after this step's access (an assertion or WARN with no scheduling point of its own).
   */
  readonly finding?: { readonly id: string; readonly message: string; readonly fn?: string };
  /** Preempted another CPU that could have run. */
  readonly preempted: boolean;
}

export interface FolioState {
  readonly pfn: number;
  readonly owner: string;
  readonly gen: number;
  readonly refcount: number;
  readonly pincount?: number;
  readonly mapcount: number;
  readonly mapping: string;
  readonly flags: readonly string[];
}

export interface EntryState {
  /** "pte@0x7f0000000000" */
  readonly name: string;
  readonly value: string;
}

export interface CpuState {
  readonly name: string;
  readonly irqs: 'on' | 'off';
  readonly rcu: boolean;
  /** What it is about to do, or 'done'. */
  readonly next: string;
  /** Blocked: waiting for an IPI acknowledgement, a grace period, a lock. */
  readonly blocked?: string;
}

export interface StateSnapshot {
  readonly folios: readonly FolioState[];
  readonly entries: readonly EntryState[];
  readonly cpus: readonly CpuState[];
  /** Kernel objects freed so far (inodes, page tables). */
  readonly freed: readonly string[];
}

export interface Trace {
  readonly version: typeof TRACE_VERSION;
  readonly tool: 'gupcheck';
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly mutant: string | null;
  readonly tableFree: string;
  readonly tlbFlush: string;
  readonly model: { readonly interleaving: 'SC'; readonly notCovered: readonly string[] };
  readonly finding: { readonly id: string; readonly message: string; readonly step: number } | null;
  /** Set on a trace recorded to show an outcome one revision reaches and another does not (finding is then null). */
  readonly outcome?: { readonly name: string; readonly value: string };
  /** The replay token and the command that re-runs it. */
  readonly replay: string;
  readonly command: string;
  readonly cpus: readonly string[];
  readonly steps: readonly TraceStep[];
  /** State after each step (index = step i); the state before step 0 is `initial`. */
  readonly initial: StateSnapshot;
  readonly states: readonly StateSnapshot[];
  readonly preemptions: number;
  /** Every finding the recorded execution reported, in order (step -1: an end-of-run check). */
  readonly findings?: readonly { readonly id: string; readonly message: string; readonly step: number }[];
  /** The recorded execution ran to its end (false: it stops at its finding, other CPUs mid-operation). */
  readonly ended?: boolean;
}
