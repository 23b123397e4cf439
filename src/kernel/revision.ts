/*
 * A kernel revision is the common model plus a small table of the functions that differ
 * (kernel/revisions/*.ts). A user's own patch is one module of the same shape: a `Revision`
 * built with `derive(base, {...})` that replaces the functions the patch changes. See
 * docs/revisions.md.
 *
 * Mutants (kernel/mutants.ts) are named changes applied the same way: each one replaces some of
 * these functions, in that one file. So the function a revision table names is the function that
 * runs, and a kernel function that a revision or mutant replaces says so in its header.
 */
import type { Step } from '../sim/op.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, Page, Vma } from './mm_types.ts';
import type { Site } from '../sim/op.ts';
import type { PageTable, pte_t } from './pgtable.ts';

/** The functions a revision (or a mutant) may replace. All take the CPU context first, as kernel code does. */
export interface RevisionFns {
  /** try_grab_folio(): the folio with refs taken (FOLL_GET) or pinned (FOLL_PIN), or null. GUP-fast and follow_hugetlb_page() call it. */
  try_grab_folio: (c: Ctx, page: Page, refs: number, flags: number) => Step<Folio | null>;
  /** What GUP-fast grabs with: try_grab_folio() before 6.11, try_grab_folio_fast() from 6.11 (the same code for the paths modelled). */
  try_grab_folio_fast: (c: Ctx, page: Page, refs: number, flags: number) => Step<Folio | null>;
  /** try_get_folio(): add-unless-zero on page_folio(page), then re-check the page still belongs to it. */
  try_get_folio: (c: Ctx, page: Page, refs: number) => Step<Folio | null>;
  /** GUP-fast's PMD/PTE re-check after the grab (true: changed, drop the reference). */
  gup_fast_pte_changed: (c: Ctx, pmd: pte_t, pmdTable: PageTable, ptable: PageTable, addr: number, pte: pte_t) => Step<boolean>;
  /** The same re-check for a huge PMD/PUD leaf. */
  gup_fast_huge_changed: (c: Ctx, table: PageTable, addr: number, orig: pte_t, s: Site) => Step<boolean>;
  /** lockless_pages_from_mm() (6.10+: gup_fast()): write_protect_seq, IRQs off, the walk. */
  lockless_pages_from_mm: (c: Ctx, start: number, end: number, flags: number, pages: number[]) => Step<number>;
  /** unpin_user_pages()'s put of nr pins of one folio. */
  unpin_folio: (c: Ctx, folio: Folio, nr: number) => Step<void>;
  /** do_page_mkwrite(): tell the filesystem a folio is about to be written (0, or VM_FAULT_*). */
  do_page_mkwrite: (c: Ctx, vma: Vma, folio: Folio) => Step<number>;
  /** page_needs_cow_for_dma(): fork must copy this anon folio (it may be pinned). */
  page_needs_cow_for_dma: (c: Ctx, vma: Vma, folio: Folio) => Step<boolean>;
  /** tlb_table_flush(): free page tables batched by an unmap (after RCU, or after the IPI flush). */
  tlb_table_flush: (c: Ctx, tables: PageTable[]) => Step<void>;
  /** The GUP-fast file-backed check after the re-check (6.5 folio_fast_pin_allowed, 6.10 gup_fast_folio_allowed); absent before 6.5. */
  folio_fast_pin_allowed: ((c: Ctx, folio: Folio, flags: number) => Step<boolean>) | undefined;
  /** folio_mapping() (mm/util.c): the mapping word of the folio's address_space (the swap cache's for swap-cache folios), or 0. v7's GUP-fast check calls it through the table, so a patch may replace it. */
  folio_mapping: (c: Ctx, folio: Folio) => Step<number>;
  /** The secretmem test GUP-fast makes before the re-check (6.1–6.6); absent from 6.10 (folded into the check). */
  page_is_secretmem: ((c: Ctx, page: Page) => Step<boolean>) | undefined;
  /** check_vma_flags(): 0 or -errno. */
  check_vma_flags: (c: Ctx, vma: Vma, gup_flags: number) => Step<number>;
  /** writable_file_mapping_allowed() (v7: writeable_...); absent before the series. */
  writable_file_mapping_allowed: ((vma: Vma, gup_flags: number) => boolean) | undefined;
  /** vma_needs_dirty_tracking() (mm/mmap.c); absent before the series. */
  vma_needs_dirty_tracking: ((vma: Vma) => boolean) | undefined;
  /** The slow-path hugetlb pinning (follow_hugetlb_page() in 6.1–6.5). */
  follow_hugetlb_page: (c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[]) => Step<number>;
  /** io_uring's io_pin_pages(): pinned pages or -errno. */
  io_pin_pages: (c: Ctx, ubuf: number, nr_pages: number) => Step<number[] | number>;
  /** GUP-fast PTE walk step (overridable whole, for user patches). */
  gup_pte_range: (c: Ctx, pmd: pte_t, pmdTable: PageTable, addr: number, end: number, flags: number, pages: number[]) => Step<boolean>;
}

export interface Revision {
  /** Name used on the command line: '6.1', 'v7', '6.5', ... */
  readonly name: string;
  readonly title: string;
  /** What it is, in one line (for `gupcheck list`). */
  readonly summary: string;
  /** Sort key: 601 for 6.1, 604 for v7 (6.4-rc based), 605 for 6.5, ..., 9999 for next. */
  readonly order: number;
  /** x86 frees page tables via RCU (6.15, a37259732a7d) rather than after an IPI. */
  readonly x86RcuTableFree: boolean;
  /** Traces use the 6.10 "gup_fast_*" names. */
  readonly gupFastNames: boolean;
  /** is_valid_gup_args(): FOLL_TOUCH is rejected from callers (6.7, 0f20bba1688b). */
  readonly internalFlagsIncludeTouch: boolean;
  /** pin_user_pages_fast() returns -EINVAL (not 0) on bad arguments (6.5). */
  readonly pinFastEinval: boolean;
  /** try_grab_folio() checks folio_is_longterm_pinnable() after taking the reference (6.5) rather than before (6.1). */
  readonly longtermCheckAfterGet: boolean;
  readonly fns: RevisionFns;
  /** Set on a revision derived by a mutant. */
  readonly mutant?: string;
}

/** Build a revision from a base by replacing some functions and settings. */
export function derive(
  base: Revision,
  over: Partial<Omit<Revision, 'fns'>> & { fns?: Partial<RevisionFns> },
): Revision {
  return { ...base, ...over, fns: { ...base.fns, ...(over.fns ?? {}) } };
}
