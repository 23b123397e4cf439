/**
 * A trace as text, one line per step, in kernel words (docs/reference/design.md §7):
 *
 *   CPU0  gup_pte_range     ptep_get_lockless(ptep)        pte@0x7f0000000000 -> pfn 17 present|write|dirty
 *   CPU1  zap_pte_range     ptep_get_and_clear_full()      pte@0x7f0000000000: pfn 17 ... -> none
 *         ... folio@pfn17 freed (back on the free list)
 *
 * Local steps with nothing to say are folded away; notes and findings are indented under their
 * step.
 */
import type { Trace, TraceStep } from './schema.ts';

export interface NarrateOptions {
  /** Colour functions (identity when piped). */
  readonly c?: { red(s: string): string; yellow(s: string): string; dim(s: string): string; bold(s: string): string; cyan(s: string): string };
  /** Show every step, also IRQ toggles and lock operations (default: all). */
  readonly all?: boolean;
}

const id = (s: string) => s;

export function describeStep(s: TraceStep): string {
  const obj = s.object;
  switch (s.access) {
    case 'read':
      return `${obj}${s.value !== undefined ? ` -> ${s.value}` : ''}`;
    case 'write':
      if (s.value === 'released' || s.value?.startsWith('released')) return `${obj} ${s.value}`;
      return `${obj} := ${s.value ?? ''}${s.before !== undefined ? ` (was ${s.before})` : ''}`;
    case 'rmw':
      return s.before !== undefined ? `${obj}: ${s.before} -> ${s.value ?? '?'}` : `${obj} -> ${s.value ?? '?'}`;
    case 'lock':
      return `${obj} ${s.value ?? 'taken'}`;
    case 'wait':
      return obj ? `${obj}: done waiting` : 'done waiting';
    case 'choice':
      return `-> ${s.value ?? '?'}`;
    case 'local':
      return '';
  }
}

/** One step of the race in a few lines, with the index of its step in the trace. */
export interface KeyStep {
  readonly i: number;
  readonly cpu: string;
  readonly text: string;
}

/**
 * The race in a few lines: the steps that changed what other CPUs see (state-change notes), the
 * page-table reads and reference grabs of the CPU that hit the finding, and the finding. The
 * report's "key steps only" view shows the same steps.
 */
export function keySteps(t: Trace): KeyStep[] {
  const who = t.finding ? t.steps.find((s) => s.finding)?.cpu : undefined;
  const out: KeyStep[] = [];
  const seen = new Set<string>();
  for (const s of t.steps) {
    const mine = s.cpu === who;
    if (mine && /^(ptep_get_lockless|pmdp_get_lockless)/.test(s.action) && !seen.has(s.object)) {
      seen.add(s.object);
      out.push({ i: s.i, cpu: s.cpu, text: `${s.fn}: read ${s.object} -> ${s.value ?? '?'}` });
    } else if (mine && s.fn === 'folio_ref_try_add_rcu') {
      out.push({ i: s.i, cpu: s.cpu, text: `${s.fn}: took a reference (${s.object} ${s.before ?? '?'} -> ${s.value ?? '?'})` });
    }
    for (const n of s.notes) out.push({ i: s.i, cpu: s.cpu, text: n });
    if (s.finding) out.push({ i: s.i, cpu: s.cpu, text: `${s.finding.fn ?? s.fn}: ${s.finding.id}` });
  }
  return out;
}

/** keySteps() as lines of text, each starting with its CPU. */
export function story(t: Trace): string[] {
  return keySteps(t).map((k) => `${k.cpu} ${k.text}`);
}

export function narrate(t: Trace, o: NarrateOptions = {}): string {
  const c = o.c ?? { red: id, yellow: id, dim: id, bold: id, cyan: id };
  const lines: string[] = [];
  const head = t.finding ? `${c.red(c.bold(t.finding.id))}: ${t.finding.message}` : t.outcome ? `outcome ${t.outcome.name}: ${t.outcome.value}` : 'execution (no finding)';
  lines.push(head);
  lines.push(
    c.dim(
      `  scenario ${t.scenario}, kernel ${t.kernel}, ${t.arch} (page tables freed via ${t.tableFree === 'rcu' ? 'RCU' : 'IPI-synchronised TLB flush'}, TLB flush ${t.tlbFlush === 'ipi' ? 'by IPI' : 'broadcast'})${t.mutant ? `, mutant ${t.mutant}` : ''}`,
    ),
  );
  lines.push(c.dim(`  ${t.steps.length} steps, ${t.preemptions} preemption${t.preemptions === 1 ? '' : 's'}; model: SC interleavings only`));
  lines.push('');
  const st = story(t);
  if (st.length) {
    lines.push(c.bold('what happened:'));
    st.forEach((l, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${l}`));
    lines.push('');
    lines.push(c.bold('every step:'));
  }
  const cw = Math.max(4, ...t.steps.map((s) => s.cpu.length));
  const fw = Math.min(30, Math.max(8, ...t.steps.map((s) => s.fn.length)));
  for (const s of t.steps) {
    const d = describeStep(s);
    const line = `  ${c.cyan(s.cpu.padEnd(cw))}  ${s.fn.padEnd(fw)}  ${s.action}${d ? `  ${d}` : ''}`;
    lines.push(s.finding ? c.red(line) : line);
    for (const n of s.notes) lines.push(c.dim(`  ${' '.repeat(cw)}    ${n}`));
    if (s.finding) lines.push(c.red(`  ${' '.repeat(cw)}    ^ ${s.finding.fn ? `then, in ${s.finding.fn}(): ` : ''}${s.finding.id}: ${s.finding.message}`));
  }
  lines.push('');
  lines.push(`replay: ${t.command}`);
  return lines.join('\n') + '\n';
}
