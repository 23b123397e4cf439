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
  /** What GUP-fast grabs with: try_grab_folio() before 6.10, try_grab_folio_fast() from 6.10 (which adds VM_WARN_ON_ONCE(!irqs_disabled())). */
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
  /** x86 frees page tables via RCU (6.15, a37259732a7d) rather than after the IPI flush (which it still does: kernel/setup.ts archSchemes()). */
  readonly x86RcuTableFree: boolean;
  /** Traces use the 6.10 "gup_fast_*" names. */
  readonly gupFastNames: boolean;
  /** is_valid_gup_args(): FOLL_TOUCH is rejected from callers (6.7, 0f20bba1688b). */
  readonly internalFlagsIncludeTouch: boolean;
  /** pin_user_pages_fast() returns -EINVAL (not 0) on bad arguments (6.5). */
  readonly pinFastEinval: boolean;
  /** try_grab_folio() checks folio_is_longterm_pinnable() after taking the reference (6.5) rather than before (6.1). */
  readonly longtermCheckAfterGet: boolean;
  /**
   * The pin APIs check their arguments with is_valid_gup_args() (6.3+, so v7 and 6.5), and
   * GUP-fast falls back with FOLL_TOUCH|FOLL_UNLOCKABLE. false: 6.1's entry points, each with
   * its own checks (FOLL_GET -> -EINVAL; caller FOLL_PIN/FOLL_FAST_ONLY accepted; an
   * overflowing range -> 0), a long-term GUP-fast fallback with the caller's flags (no
   * FOLL_TOUCH), and pin_user_pages_unlocked() refusing FOLL_LONGTERM (kernel-gup-reference.md
   * §11 rows 3 and 5).
   */
  readonly isValidGupArgs: boolean;
  /**
   * gup_must_unshare() asks R/O long-term pins of non-anon pages in COW mappings to unshare
   * (6.5 mm/internal.h:969; v7 too). false: 6.1's (include/linux/mm.h:3073), false for any
   * non-anon page (§11 row 4).
   */
  readonly gupMustUnshareNonAnon: boolean;
  /**
   * try_grab_folio()/try_grab_page() take a pin on the zero page like on any page, and unpin
   * drops it (6.1, v7). false: the zero page is never pinned (6.5, c8070b787519 "mm: Don't pin
   * ZERO_PAGE in pin_user_pages()"; §11 row 12).
   */
  readonly pinsZeroPage: boolean;
  /** mm/gup_test.c has PIN_LONGTERM_TEST_START/STOP (6.5+). false: 6.1, whose ioctl returns -EINVAL for it (§11 row 6). */
  readonly gupTestPinLongterm: boolean;
  /**
   * struct slab puts slab_cache where page->mapping is (up to 6.4: 6.1 mm/slab.h SLUB layout).
   * false (6.5+, SLAB_MATCH(compound_head, slab_cache), mm/slab.h:107): slab_cache overlays
   * compound_head and the mapping word holds slab_list.prev (kernel/reuse.ts; §11 row 13).
   */
  readonly slabCacheInMappingWord: boolean;
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

// ===== comparing functions by structure (for mutants: kernel/mutants.ts mutantChanges()) =====

const builtFromArgs = new WeakMap<object, string>();

/**
 * Record that `fn` was made by `builder` from `args` (a variant, a wrapper around other
 * functions). Closures made by one builder share their source text; what tells them apart is
 * the arguments, so their structure is the builder's code plus the arguments' structures.
 */
export function builtFrom<F extends object>(fn: F, builder: (...a: never[]) => unknown, args: readonly unknown[]): F {
  builtFromArgs.set(fn, `${builder.toString()}(${args.map(argStructure).join(', ')})`);
  return fn;
}

function argStructure(a: unknown): string {
  return typeof a === 'function' ? fnStructure(a) : JSON.stringify(a) ?? 'undefined';
}

/**
 * A function's structure: its source text, or for one made by a builder (builtFrom()), the
 * builder's source and the structures of its arguments. Two table entries with the same
 * structure run the same code with the same parameters.
 */
export function fnStructure(fn: unknown): string {
  if (fn === undefined) return 'undefined';
  if (typeof fn !== 'function') return JSON.stringify(fn);
  return builtFromArgs.get(fn) ?? (fn as () => unknown).toString();
}
