/*
 * Models struct mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h, 6.5): pages and
 * page-table pages removed by a zap are batched; tlb_finish_mmu() flushes the TLB, then frees
 * the batched page tables and pages (tlb_flush_mmu_tlbonly(), then tlb_flush_mmu_free():
 * tlb_table_flush() before tlb_batch_pages_flush()).
 *
 * The flush is where the architectures differ (docs/reference/kernel-gup-reference.md §5.1):
 *  - IPI shootdown (x86): flush_tlb_mm_range() IPIs the other CPUs and waits, which cannot
 *    complete while a CPU runs GUP-fast with IRQs off. Before 6.15 page tables are freed like
 *    pages, after that flush; from 6.15 (a37259732a7d) via RCU, and the flush still IPIs
 *    unless the mm has a global ASID (6.19 arch/x86/mm/tlb.c:1468-1473: INVLPGB only if
 *    mm_global_asid(mm), AMD only, an mm that ran on more than 3 CPUs).
 *  - broadcast invalidation (arm64 TLBI; x86 INVLPGB with a global ASID, `--tlb-flush
 *    broadcast`): no wait. Page tables are freed via call_rcu() (CONFIG_MMU_GATHER_RCU_TABLE_FREE);
 *    an IRQs-off CPU holds the grace period off.
 * `--table-free` and `--tlb-flush` override the schemes (kernel/setup.ts archSchemes()).
 *
 * Data pages are never RCU-deferred: after the flush they are freed at once, which is why a
 * GUP-fast CPU that read the PTE earlier may find the page freed and reused (§5.2).
 *
 * Left out: tlb_remove_table_one()'s IPI fallback when the batch page cannot be allocated,
 * batch sizes and intermediate flushes, delayed rmap for dirty shared pages, range tracking.
 */
import { announce } from '../sim/cell.ts';
import { type Step, WRITE, site } from '../sim/op.ts';
import { call_rcu, flush_tlb_ipi_wait } from '../sim/sync.ts';
import { type Ctx, ctxMaker } from './kernel.ts';
import type { Folio } from './mm_types.ts';
import { folio_put } from './page_ref.ts';
import type { PageTable } from './pgtable.ts';

export interface MmuGather {
  readonly pages: Folio[];
  readonly tables: PageTable[];
}

export function tlb_gather_mmu(): MmuGather {
  return { pages: [], tables: [] };
}

const S_flush_ipi = site('flush_tlb_mm_range', 'IPI the other CPUs and wait (IRQs-off CPUs hold it up)');
const S_flush_bcast = site('flush_tlb_mm_range', 'broadcast TLB invalidation (no IPI, no wait)');
const S_free_table = site('tlb_remove_table', 'free the page-table page');
const S_rcu_free_table = site('tlb_remove_table_rcu', 'free the page-table page after the grace period');

/** The TLB flush of a zap / ptep_clear_flush(), per the architecture. */
export function* flush_tlb(c: Ctx): Step<void> {
  if (c.k.config.tlbFlush === 'ipi') yield* flush_tlb_ipi_wait(c, S_flush_ipi);
  else {
    // A broadcast TLBI touches no state any other modelled CPU reads: one local step.
    yield announce(c, 0, WRITE, S_flush_bcast);
  }
}

export function* free_table_now(c: Ctx, t: PageTable, s = S_free_table): Step<void> {
  const op = announce(c, t.live.id, WRITE, s);
  yield op;
  t.live.v = false;
  op.after = 'freed';
  c.note?.(`${t.levelName}-table@${t.tpfn.toString(16)} freed`);
}

/** tlb_finish_mmu(): flush, free the tables (RCU: after a grace period), free the pages. */
export function* tlb_finish_mmu(c: Ctx, tlb: MmuGather): Step<void> {
  if (tlb.pages.length === 0 && tlb.tables.length === 0) return;
  yield* flush_tlb(c);
  if (tlb.tables.length) yield* c.rev.fns.tlb_table_flush(c, tlb.tables.splice(0));
  for (const folio of tlb.pages.splice(0)) yield* folio_put(c, folio);
}

/**
 * tlb_table_flush() (mm/mmu_gather.c): free the batched page tables. With
 * CONFIG_MMU_GATHER_RCU_TABLE_FREE, after an RCU grace period (tlb_remove_table_rcu(), which
 * IRQs-off GUP-fast holds off); without it, like pages, after the IPI flush tlb_finish_mmu() just
 * made. Replaced by the table-free-no-sync mutant.
 */
export function* tlb_table_flush(c: Ctx, tables: PageTable[]): Step<void> {
  if (c.k.config.tableFree === 'rcu') {
    yield* call_rcu(c, `rcu-cb(${c.name})`, ctxMaker(c.k, false), function* (task: Ctx) {
      for (const t of tables) yield* free_table_now(task, t, S_rcu_free_table);
    });
  } else {
    for (const t of tables) yield* free_table_now(c, t);
  }
}
