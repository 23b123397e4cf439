/**
 * What the viewer shows, computed from the report data without touching the DOM (so it can be
 * unit-tested in Node): the verdict matrix, revision differences, a trace's key steps, and the
 * state at a step with what changed since the step before.
 */
import type { CpuState, FolioState, StateSnapshot, Trace, TraceStep } from '../trace/schema.ts';
import type { ReportData, ReportRun } from './data.ts';
import { describeStep, keySteps, type KeyStep } from '../trace/narrate.ts';
import { collisionNote, isWithinBound, movedNote, searchLabel } from '../run/search-words.ts';

export { keySteps, type KeyStep, searchLabel };

// ===== runs and traces =====

const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

export function runKey(r: { scenario: string; kernel: string; arch: string; mutant: string | null }): string {
  return `${r.scenario}\u0000${r.kernel}\u0000${r.arch}\u0000${r.mutant ?? ''}`;
}

/** The trace recorded for a run's finding, by its index in data.traces (-1 if none). */
export function traceIndexFor(data: ReportData, run: ReportRun, findingId: string): number {
  const k = runKey(run);
  return data.traces.findIndex((t) => runKey(t) === k && t.finding?.id === findingId);
}

/** The trace recorded (for the revision diff) showing a run reach an outcome value (-1 if none). */
export function outcomeTraceIndex(data: ReportData, run: ReportRun, name: string, value: string): number {
  const k = runKey(run);
  return data.traces.findIndex((t) => runKey(t) === k && t.outcome?.name === name && t.outcome.value === value);
}

/** What a trace shows, in a few words: its finding, or the outcome it reaches. */
export function traceTitle(t: Trace): { badge: string; text: string; kind: 'finding' | 'outcome' | 'execution' } {
  if (t.finding) return { badge: t.finding.id, text: t.finding.message, kind: 'finding' };
  if (t.outcome) return { badge: 'outcome', text: `${t.outcome.name}: ${t.outcome.value}`, kind: 'outcome' };
  return { badge: 'execution', text: 'no finding', kind: 'execution' };
}

export function runLabel(r: { kernel: string; arch: string; mutant: string | null }): string {
  return `${r.kernel}/${r.arch}${r.mutant ? ` +${r.mutant}` : ''}`;
}

/** How a run's search went, in a sentence or two (the matrix cell's tooltip): which search, whether it moved, why it stopped. */
export function searchDetail(r: ReportRun): string {
  const parts = [`${r.executions.toLocaleString('en-US')} executions, ${searchLabel(r)}`];
  if (r.strategy) parts.push(r.dporFirst != null ? `search: ${r.strategy}, after ${r.dporFirst.toLocaleString('en-US')} DPOR executions had not finished it` : `search: ${r.strategy}`);
  if (r.stopReason) parts.push(r.stopReason);
  return parts.join('\n');
}

export interface SearchNotes {
  /** The runs `auto` moved to the stateful search, and the note that says what that means; null if none moved. */
  readonly moved: { readonly note: string; readonly runs: readonly string[] } | null;
  /** The runs whose search stopped early (not sampled, which is never complete), each with why and how to go further. */
  readonly stopped: readonly { readonly run: string; readonly why: string }[];
  /** The runs whose search explored every schedule within a preemption bound (and none beyond), with the bound in words. */
  readonly withinBound: readonly { readonly run: string; readonly why: string }[];
  /** The fingerprint-collision estimate for the largest stateful search; null if none stored states. */
  readonly collisions: string | null;
}

/** What the report says about its searches below the matrix: the same notes as `gupcheck check`'s text output. */
export function searchNotes(runs: readonly ReportRun[]): SearchNotes {
  const name = (r: ReportRun) => `${r.scenario} ${runLabel(r)}`;
  const moved = runs.filter((r) => r.dporFirst != null);
  return {
    moved: moved.length ? { note: movedNote(moved.length, Math.max(...moved.map((r) => r.dporFirst!))), runs: moved.map(name) } : null,
    stopped: runs.filter((r) => !r.complete && r.limit !== 'sampled' && !isWithinBound(r.limit)).map((r) => ({ run: name(r), why: r.stopReason ?? searchLabel({ ...r, states: null }) })),
    withinBound: runs.filter((r) => !r.complete && isWithinBound(r.limit)).map((r) => ({ run: name(r), why: r.limit! })),
    collisions: collisionNote(runs.map((r) => r.states)),
  };
}

// ===== verdict matrix =====

export interface MatrixRow {
  readonly scenario: string;
  readonly mutant: string | null;
  /** Keyed by `${kernel}\u0000${arch}`. */
  readonly cells: ReadonlyMap<string, ReportRun>;
}

export interface Matrix {
  readonly kernels: readonly string[];
  readonly arches: readonly string[];
  /** The (kernel, arch) columns that have at least one run, kernels in the order runs list them. */
  readonly columns: readonly { readonly kernel: string; readonly arch: string }[];
  readonly rows: readonly MatrixRow[];
}

export const cellKey = (kernel: string, arch: string): string => `${kernel}\u0000${arch}`;

export function verdictMatrix(runs: readonly ReportRun[]): Matrix {
  const kernels = uniq(runs.map((r) => r.kernel));
  const arches = uniq(runs.map((r) => r.arch));
  const present = new Set(runs.map((r) => cellKey(r.kernel, r.arch)));
  const columns = kernels.flatMap((kernel) => arches.filter((arch) => present.has(cellKey(kernel, arch))).map((arch) => ({ kernel, arch })));
  const rows = new Map<string, { scenario: string; mutant: string | null; cells: Map<string, ReportRun> }>();
  for (const r of runs) {
    const k = `${r.scenario}\u0000${r.mutant ?? ''}`;
    let row = rows.get(k);
    if (!row) rows.set(k, (row = { scenario: r.scenario, mutant: r.mutant, cells: new Map() }));
    row.cells.set(cellKey(r.kernel, r.arch), r);
  }
  // Unmodified revisions first within each scenario, then its mutants; scenarios in run order.
  const order = uniq(runs.map((r) => r.scenario));
  const sorted = [...rows.values()].sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || (a.mutant === null ? -1 : 0) - (b.mutant === null ? -1 : 0));
  return { kernels, arches, columns, rows: sorted };
}

// ===== revision diff =====

export interface DiffItem {
  readonly kind: 'finding' | 'outcome';
  /** Finding id, or "CPU2: kernel(reused page)". */
  readonly what: string;
  /** Executions with it in the revision that reaches it. */
  readonly executions: number;
  readonly of: number;
  /** Index into data.traces of a trace showing it (-1 when none was recorded). */
  readonly trace: number;
  readonly message?: string;
}

export interface ArchDiff {
  readonly arch: string;
  readonly a: ReportRun;
  readonly b: ReportRun;
  /** Reachable in A, not in B. */
  readonly onlyA: readonly DiffItem[];
  /** Reachable in B, not in A. */
  readonly onlyB: readonly DiffItem[];
}

function reachable(data: ReportData, r: ReportRun): DiffItem[] {
  const items: DiffItem[] = [];
  for (const f of r.findings) {
    items.push({ kind: 'finding', what: f.id, executions: f.executions, of: r.executions, trace: traceIndexFor(data, r, f.id), ...(f.message !== undefined ? { message: f.message } : {}) });
  }
  for (const [cpu, vals] of Object.entries(r.outcomes)) {
    for (const [v, n] of Object.entries(vals)) if (n > 0) items.push({ kind: 'outcome', what: `${cpu}: ${v}`, executions: n, of: r.executions, trace: outcomeTraceIndex(data, r, cpu, v) });
  }
  return items;
}

function minus(data: ReportData, x: ReportRun, y: ReportRun): DiffItem[] {
  const inY = new Set(reachable(data, y).map((d) => `${d.kind}\u0000${d.what}`));
  return reachable(data, x).filter((d) => !inY.has(`${d.kind}\u0000${d.what}`));
}

/** For one scenario (and mutant), what revision A reaches and B does not, and the reverse, per architecture both ran on. */
export function revisionDiff(data: ReportData, scenario: string, mutant: string | null, a: string, b: string): ArchDiff[] {
  const runs = data.runs.filter((r) => r.scenario === scenario && r.mutant === mutant);
  const out: ArchDiff[] = [];
  for (const arch of uniq(runs.map((r) => r.arch))) {
    const ra = runs.find((r) => r.kernel === a && r.arch === arch);
    const rb = runs.find((r) => r.kernel === b && r.arch === arch);
    if (!ra || !rb) continue;
    out.push({ arch, a: ra, b: rb, onlyA: minus(data, ra, rb), onlyB: minus(data, rb, ra) });
  }
  return out;
}

/** A pair of revisions worth comparing first: one with findings against one without, if there is such a pair. */
export function defaultDiffPair(data: ReportData, scenario: string, mutant: string | null): [string, string] | null {
  const runs = data.runs.filter((r) => r.scenario === scenario && r.mutant === mutant);
  const kernels = uniq(runs.map((r) => r.kernel));
  if (kernels.length < 2) return null;
  const withF = kernels.find((k) => runs.some((r) => r.kernel === k && r.findings.length > 0));
  const a = withF ?? kernels[0]!;
  const b = kernels.find((k) => k !== a && !runs.some((r) => r.kernel === k && r.findings.length > 0)) ?? kernels.find((k) => k !== a)!;
  return [a, b];
}

// ===== a trace =====

/** State after step `i` (`i = -1`: the initial state). */
export function stateAt(t: Trace, i: number): StateSnapshot {
  return i < 0 ? t.initial : (t.states[i] ?? t.states[t.states.length - 1] ?? t.initial);
}

export interface Field {
  readonly name: string;
  readonly value: string;
  /** The value before this step, when it changed. */
  readonly before?: string;
}

export interface FolioView {
  readonly pfn: number;
  /** 'free': the page is on the allocator's free list (the snapshot has no folio for it). */
  readonly status: 'live' | 'free';
  /**
   * What this step did to it: 'allocated' (first seen), 'reallocated' (taken off the free list
   * again: the values shown as before are its last owner's), 'freed' (just put on the free list).
   */
  readonly change: 'none' | 'allocated' | 'reallocated' | 'freed';
  /** For a free page: its last owner, as "owner (gen n)". */
  readonly lastOwner?: string;
  readonly fields: readonly Field[];
  readonly flags: readonly { readonly name: string; readonly change: 'same' | 'set' | 'cleared' }[];
}

export interface EntryView extends Field {
  readonly isNew: boolean;
}

export interface CpuView {
  readonly name: string;
  readonly fields: readonly Field[];
  readonly irqsOff: boolean;
  readonly blocked?: string;
}

export interface StateView {
  readonly folios: readonly FolioView[];
  readonly entries: readonly EntryView[];
  readonly cpus: readonly CpuView[];
  readonly freed: readonly { readonly name: string; readonly isNew: boolean }[];
}

function field(name: string, now: string, was: string | undefined): Field {
  return was !== undefined && was !== now ? { name, value: now, before: was } : { name, value: now };
}

const folioFields = (f: FolioState): [string, string][] => [
  ['owner', f.owner],
  ['gen', String(f.gen)],
  ['_refcount', String(f.refcount)],
  ['_pincount', f.pincount === undefined ? '-' : String(f.pincount)],
  ['_mapcount', String(f.mapcount)],
  ['mapping', f.mapping],
];

const cpuFields = (c: CpuState): [string, string][] => [
  ['IRQs', c.irqs],
  ['RCU read side', c.rcu ? 'yes' : 'no'],
  ['blocked on', c.blocked ?? '-'],
  ['next', c.next],
];

/** The folio for `pfn` in the last state at or before step `i` that has one (-1: initial). */
function lastKnown(t: Trace, pfn: number, i: number): FolioState | undefined {
  for (let k = i; k >= -1; k--) {
    const f = stateAt(t, k).folios.find((x) => x.pfn === pfn);
    if (f) return f;
  }
  return undefined;
}

function folioView(t: Trace, pfn: number, i: number, now: StateSnapshot, prev: StateSnapshot | undefined): FolioView {
  const f = now.folios.find((x) => x.pfn === pfn);
  const inPrev = prev?.folios.find((x) => x.pfn === pfn);
  const last = prev ? (inPrev ?? lastKnown(t, pfn, i - 2)) : undefined;
  if (!f) {
    const lo = lastKnown(t, pfn, i);
    return {
      pfn,
      status: 'free',
      change: inPrev ? 'freed' : 'none',
      ...(lo ? { lastOwner: `${lo.owner} (gen ${lo.gen})` } : {}),
      fields: [field('owner', 'none: on the free list', inPrev ? inPrev.owner : undefined)],
      flags: [],
    };
  }
  const pf = last ? new Map(folioFields(last)) : undefined;
  const flags: FolioView['flags'] = [
    ...f.flags.map((name) => ({ name, change: last && !last.flags.includes(name) ? ('set' as const) : ('same' as const) })),
    ...(last ? last.flags.filter((x) => !f.flags.includes(x)).map((name) => ({ name, change: 'cleared' as const })) : []),
  ];
  const change = !prev || inPrev ? 'none' : last ? 'reallocated' : 'allocated';
  return { pfn, status: 'live', change, fields: folioFields(f).map(([k, v]) => field(k, v, pf?.get(k))), flags };
}

/**
 * The state after step `i`, with each value that differs from the state before step `i`. A page
 * that left the snapshot is shown as free; one that comes back is compared with its last owner.
 */
export function stateView(t: Trace, i: number): StateView {
  const now = stateAt(t, i);
  const prev = i < 0 ? undefined : stateAt(t, i - 1);
  const pfns: number[] = [];
  for (let k = -1; k <= i; k++) for (const f of stateAt(t, k).folios) if (!pfns.includes(f.pfn)) pfns.push(f.pfn);
  const folios = pfns.map((pfn) => folioView(t, pfn, i, now, prev));
  const entries = now.entries.map((e): EntryView => {
    const p = prev?.entries.find((x) => x.name === e.name);
    return { ...field(e.name, e.value, p?.value), isNew: prev !== undefined && !p };
  });
  const cpus = now.cpus.map((c): CpuView => {
    const p = prev?.cpus.find((x) => x.name === c.name);
    const pf = p ? new Map(cpuFields(p)) : undefined;
    return { name: c.name, fields: cpuFields(c).map(([k, v]) => field(k, v, pf?.get(k))), irqsOff: c.irqs === 'off', ...(c.blocked ? { blocked: c.blocked } : {}) };
  });
  const freed = now.freed.map((name) => ({ name, isNew: prev !== undefined && !prev.freed.includes(name) }));
  return { folios, entries, cpus, freed };
}

/** What a step did, in one line (the value read, the value written and what it was): the narrator's words. */
export function stepEffect(s: TraceStep): string {
  return s.access === 'choice' ? `chose ${s.value ?? '?'}` : describeStep(s);
}

/** One lane per CPU, in the trace's order; any other task that ran steps gets a lane after them. */
export function lanes(t: Trace): string[] {
  return uniq([...t.cpus, ...t.steps.map((s) => s.cpu)]);
}
