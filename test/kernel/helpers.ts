/**
 * Shared set-up for the kernel unit tests: a booted kernel with one process and one mapping,
 * run sequentially (scheduling off), with the explanation channel (`c.why`) collected.
 *
 * The pattern is src/answer/pin.ts answerPin(): boot(), new Process(), mapBacking(), p.ctx(),
 * touch the pages, then run kernel generator code with runSequential().
 */
import { expect } from 'vitest';
import { gup_pte_range } from '../../src/kernel/gup.ts';
import type { Ctx, Kernel } from '../../src/kernel/kernel.ts';
import type { Folio, Vma, Zone } from '../../src/kernel/mm_types.ts';
import { lookup } from '../../src/kernel/pgtable-generic.ts';
import { type PageTable, type pte_t, pte_huge, pte_pfn } from '../../src/kernel/pgtable.ts';
import type { Revision } from '../../src/kernel/revision.ts';
import { findRevision } from '../../src/kernel/revisions/index.ts';
import { type Backing, backingPageSize, boot, mapBacking, Process, runSequential, user_access } from '../../src/kernel/setup.ts';
import { type Arch, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_SIZE } from '../../src/kernel/types.ts';
import type { Cell } from '../../src/sim/cell.ts';
import type { Step } from '../../src/sim/op.ts';
import { local_irq_restore, local_irq_save } from '../../src/sim/sync.ts';

/** The flags of a long-term write pin (io_uring, RDMA): the ones the file-backed checks look for. */
export const PIN_LONGTERM_WRITE = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

export interface EnvOptions {
  /** Revision name ('6.5', 'v7', ...) or a Revision object (e.g. one built with derive()). */
  readonly rev: string | Revision;
  readonly backing?: Backing;
  readonly shared?: boolean;
  readonly prot?: 'rw' | 'r';
  /** How to touch the mapping before the test ('none': no page faulted in). */
  readonly touch?: 'write' | 'read' | 'none';
  /** How many bytes from the start to touch (default: the whole mapping). */
  readonly touchLen?: number;
  /** Mapping length (default: one page of the backing). */
  readonly len?: number;
  readonly zone?: Zone;
  readonly arch?: Arch;
}

export interface Env {
  readonly k: Kernel;
  readonly p: Process;
  /** The CPU context the test runs kernel code in (scheduling off). */
  readonly c: Ctx;
  readonly vma: Vma;
  /** vma.vm_start */
  readonly addr: number;
  /** Everything kernel code reported through c.why, in order: [function, message]. */
  readonly why: [string, string][];
}

export function rev(name: string): Revision {
  const r = findRevision(name);
  if (!r) throw new Error(`no revision ${name}`);
  return r;
}

/** Boot, map, touch; then start collecting c.why (the set-up's own explanations are not kept). */
export function env(o: EnvOptions): Env {
  const revision = typeof o.rev === 'string' ? rev(o.rev) : o.rev;
  const k = boot({ rev: revision, arch: o.arch ?? 'x86', userZone: o.zone ?? 'normal' });
  const p = new Process(k);
  const backing = o.backing ?? 'anon';
  const step = backingPageSize(backing);
  const len = o.len ?? step;
  const vma = mapBacking(p, { backing, shared: o.shared ?? false, prot: o.prot ?? 'rw', len, label: 'buf' });
  const c = p.ctx();
  const how = o.touch ?? 'write';
  if (how !== 'none') {
    const end = vma.vm_start + (o.touchLen ?? len);
    for (let a = vma.vm_start; a < end; a += step) {
      const r = runSequential(c, user_access(c, a, how === 'write'));
      if (r) throw new Error(`touching 0x${a.toString(16)} failed: ${r}`);
    }
  }
  const why: [string, string][] = [];
  c.why = (fn, msg) => why.push([fn, msg]);
  return { k, p, c, vma, addr: vma.vm_start, why };
}

/** Run kernel code to completion; with `irqsOff`, inside local_irq_save()/local_irq_restore() as GUP-fast is. */
export function run<T>(e: Env, body: () => Step<T>, irqsOff = false): T {
  const c = e.c;
  return runSequential(
    c,
    (function* (): Step<T> {
      const was = irqsOff ? yield* local_irq_save(c) : false;
      const r = yield* body();
      if (irqsOff) yield* local_irq_restore(c, was);
      return r;
    })(),
  );
}

export interface Tables {
  readonly pmdTable: PageTable;
  /** The PMD entry value GUP-fast passes to gup_pte_range(). */
  readonly pmd: pte_t;
  readonly ptable: PageTable;
  /** The PTE cell for the address (assign .v to edit the page table during set-up). */
  readonly pte: Cell<pte_t>;
}

/** The PMD table, PMD value, PTE table and PTE cell for addr (as gup_pmd_range() finds them). */
export function tables(e: Env, addr = e.addr): Tables {
  const t = lookup(e.c, e.p.mm, addr);
  if (!t.pmd || !t.pte) throw new Error(`no PTE table for 0x${addr.toString(16)}`);
  return { pmdTable: t.pmd, pmd: t.pmd.entry(addr).v, ptable: t.pte, pte: t.pte.entry(addr) };
}

/** The folio the PTE (or PMD leaf) at addr maps. */
export function folioAt(e: Env, addr = e.addr): Folio {
  return e.k.page(pte_pfn(tables(e, addr).pte.v));
}

/** The folio a PMD leaf (2 MB hugetlb page) at addr maps. */
export function hugeFolioAt(e: Env, addr = e.addr): Folio {
  const t = lookup(e.c, e.p.mm, addr);
  if (!t.pmd) throw new Error(`no PMD table for 0x${addr.toString(16)}`);
  const v = t.pmd.entry(addr).v;
  if (!pte_huge(v)) throw new Error(`no PMD leaf at 0x${addr.toString(16)}`);
  return e.k.page(pte_pfn(v));
}

export interface PteRangeResult {
  readonly ok: boolean;
  readonly pages: number[];
}

/**
 * gup_pte_range() over [start, end) with IRQs off, the way gup_pmd_range() calls it: the PMD
 * value and table read from the page table (or `pmd` to pass another value).
 */
export function pteRange(e: Env, flags: number, o: { start?: number; end?: number; pmd?: pte_t; irqsOff?: boolean } = {}): PteRangeResult {
  const start = o.start ?? e.addr;
  const end = o.end ?? start + PAGE_SIZE;
  const t = tables(e, start);
  const pages: number[] = [];
  const ok = run(e, () => gup_pte_range(e.c, o.pmd ?? t.pmd, t.pmdTable, start, end, flags, pages), o.irqsOff ?? true);
  return { ok, pages };
}

/**
 * Record the functions whose memory accesses run from now on (the c.onAccess hook sees each
 * access once the next one is announced, so the last access of a run is not seen, and the
 * first call shows the set-up's last access: callers look for functions, not positions).
 */
export function recordAccesses(e: Env): string[] {
  const fns: string[] = [];
  e.c.onAccess = (op) => fns.push(op.site.fn);
  return fns;
}

/** The ids of the findings recorded so far. */
export function findings(e: Env): string[] {
  return e.k.w.findings.map((f) => f.id);
}

/** Assert that `fn` explained itself with a message matching `re`. */
export function expectWhy(e: Env, fn: string, re: RegExp): void {
  expect(e.why).toContainEqual([fn, expect.stringMatching(re)]);
}

/** The functions that explained themselves, in order. */
export function whyFns(e: Env): string[] {
  return e.why.map(([fn]) => fn);
}

/** Forget the explanations so far (between two calls in one test). */
export function clearWhy(e: Env): void {
  e.why.length = 0;
}

export { PAGE_SIZE };
