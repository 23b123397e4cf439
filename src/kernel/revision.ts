/*
 * A kernel revision is the common model plus a small table of the functions that differ
 * (kernel/revisions/*.ts). A user's own patch is one module of the same shape: a `Revision`
 * built with `derive(base, {...})` that replaces the functions the patch changes. See
 * docs/revisions.md.
 *
 * Mutants (kernel/mutants.ts) are named changes applied to a revision the same way; the
 * built-in ones that move or drop a single statement use the switches in `MutantSwitches`
 * instead of copying a 40-line function.
 */
import type { Step } from '../sim/op.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, Page, Vma } from './mm_types.ts';
import type { PageTable, pte_t } from './pgtable.ts';

export interface MutantSwitches {
  /** GUP-fast: run the file-backed check before the PMD/PTE re-check (v7's placement). */
  checkBeforeRecheck?: boolean;
  /** GUP-fast: drop the PMD/PTE value re-check after taking the reference. */
  noRecheck?: boolean;
  /** try_get_folio(): no page_folio(page) == folio re-check after taking the reference. */
  noFolioRecheck?: boolean;
  /** try_get_folio(): a plain folio_ref_add() on page_folio(), no "unless zero", no re-check of the folio. */
  plainGet?: boolean;
  /** The allowed-check reads folio->mapping with plain loads (one per use) instead of READ_ONCE. */
  noReadOnce?: boolean;
  /** The allowed-check drops its NULL test and dereferences whatever it read. */
  noNullCheck?: boolean;
  /** lockless_pages_from_mm(): ignore mm->write_protect_seq. */
  noWriteProtectSeq?: boolean;
  /** lockless_pages_from_mm(): walk with IRQs on. */
  noIrqDisable?: boolean;
  /** unpin_user_pages(): drop one reference too few (GUP_PIN_COUNTING_BIAS - 1 for small folios). */
  unpinWrongCount?: boolean;
  /** do_shared_fault()/wp_page_shared(): skip ->page_mkwrite on a write fault. */
  skipPageMkwrite?: boolean;
  /** Page tables are freed without waiting for IRQs-off CPUs (no IPI sync, no RCU). */
  tableFreeNoSync?: boolean;
  /** fork: do not copy pages that may be DMA-pinned (the pre-5.8 behaviour). */
  noCopyOnPin?: boolean;
}

/** The functions a revision may replace. All take the CPU context first, as kernel code does. */
export interface RevisionFns {
  /** try_grab_folio() as GUP-fast uses it: returns the folio with refs taken, or null. */
  try_grab_folio(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null>;
  /** The GUP-fast file-backed check after the re-check (6.5 folio_fast_pin_allowed, 6.10 gup_fast_folio_allowed); absent before 6.5. */
  folio_fast_pin_allowed: ((c: Ctx, folio: Folio, flags: number) => Step<boolean>) | undefined;
  /** The secretmem test GUP-fast makes before the re-check (6.1–6.6); absent from 6.10 (folded into the check). */
  page_is_secretmem: ((c: Ctx, page: Page) => Step<boolean>) | undefined;
  /** check_vma_flags(): 0 or -errno. */
  check_vma_flags(c: Ctx, vma: Vma, gup_flags: number): Step<number>;
  /** writable_file_mapping_allowed() (v7: writeable_...); absent before the series. */
  writable_file_mapping_allowed: ((vma: Vma, gup_flags: number) => boolean) | undefined;
  /** vma_needs_dirty_tracking() (mm/mmap.c); absent before the series. */
  vma_needs_dirty_tracking: ((vma: Vma) => boolean) | undefined;
  /** The slow-path hugetlb pinning (follow_hugetlb_page() in 6.1–6.5). */
  follow_hugetlb_page(c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[]): Step<number>;
  /** io_uring's io_pin_pages(): pinned pages or -errno. */
  io_pin_pages(c: Ctx, ubuf: number, nr_pages: number): Step<number[] | number>;
  /** GUP-fast PTE walk step (overridable whole, for user patches). */
  gup_pte_range(c: Ctx, pmd: pte_t, pmdTable: PageTable, addr: number, end: number, flags: number, pages: number[]): Step<boolean>;
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
  /** gup_longterm's R/O tests mprotect(PROT_READ) first (6.10+ selftest shape). */
  readonly fns: RevisionFns;
  readonly mut?: MutantSwitches;
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
