/*
 * Linux 6.10 (and 6.12): f002882ca369 "mm: merge folio_is_secretmem() and
 * folio_fast_pin_allowed() into gup_fast_folio_allowed()" (docs/reference/kernel-gup-reference.md §8):
 * the secretmem test moves after the PTE re-check and is made for *every* order-0 folio
 * GUP-fast grabs (CONFIG_SECRETMEM=y), long-term or not. A NULL ->mapping then falls back to
 * the slow path for all of them, which is what hurt alloc_page()+vm_insert_page() buffers
 * pinned with pin_user_pages_fast() (fixed in 2026, see next.ts).
 * Also 6.10: the GUP-fast functions are renamed gup_fast_* (traces use those names) and GUP-fast
 * grabs with try_grab_folio_fast(), which warns when IRQs are on; 6.7's
 * INTERNAL_GUP_FLAGS rejects FOLL_TOUCH from callers; hugetlb pages go through the generic
 * follow_page_mask(): follow_huge_pmd()/follow_huge_pud() with their unshare (-EMLINK) and
 * can_follow_write_pmd() tests (kernel/hugetlb.ts follow_huge_leaf()). io_uring registers buffers with
 * pin_user_pages_fast() and no mmap_lock (io_uring/memmap.c, kernel/io_uring.ts).
 */
import { load, READ_ONCE } from '../../sim/cell.ts';
import { type Step, site } from '../../sim/op.ts';
import { check_vma_flags_614 } from '../gup.ts';
import { follow_huge_leaf, follow_huge_leaf_force } from '../hugetlb.ts';
import { io_pin_pages_fast } from '../io_uring.ts';
import { type Ctx, lockdep_assert_irqs_disabled, VM_WARN_ON_ONCE, WARN_ON_ONCE } from '../kernel.ts';
import type { Folio, Page } from '../mm_types.ts';
import { irqs_disabled } from '../../sim/sync.ts';
import { folio_test_hugetlb, folio_test_large, folio_test_slab } from '../page_ref.ts';
import { builtFrom, derive } from '../revision.ts';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS } from '../types.ts';
import { secretmem_mapping, shmem_mapping } from '../util.ts';
import { linux_6_5 } from './linux-6.5.ts';

const S_mapping = site('gup_fast_folio_allowed', 'mapping = READ_ONCE(folio->mapping)');
const S_mapping_plain = site('gup_fast_folio_allowed', 'load folio->mapping (plain, mutant no-read-once)');
const PIN_LONGTERM_WRITE = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

/** The variants of gup_fast_folio_allowed() the model builds (a revision's, or a mutant's). */
export interface GupFastFolioAllowedVariant {
  /** The 2026 fix (next): a NULL mapping falls back only when file-backed folios are to be rejected. */
  readonly nullAllowsNonLongterm: boolean;
  /** The NULL test on ->mapping (false: the no-null-check mutant, which dereferences NULL). */
  readonly nullCheck: boolean;
  /**
   * `mapping = READ_ONCE(folio->mapping)` read once (false: the no-read-once mutant, a plain
   * load the compiler may emit again at each use of `mapping`).
   */
  readonly readOnce: boolean;
}

const variants = new WeakMap<object, GupFastFolioAllowedVariant>();
const built = new Map<string, ReturnType<typeof buildGupFastFolioAllowed>>();

/** Which variant a revision's gup_fast_folio_allowed() is (undefined: not this function). */
export function gupFastFolioAllowedVariant(fn: object | undefined): GupFastFolioAllowedVariant | undefined {
  return fn ? variants.get(fn) : undefined;
}

/**
 * gup_fast_folio_allowed() (mm/gup.c 6.10:2832 through 7.1.5:2738; Debian 6.12.118
 * mm/gup.c:2808), in the variant asked for. The same variant is always the same function
 * object, so a mutant that asks for the variant a revision already has changes nothing there
 * (kernel/mutants.ts mutantChanges() compares by structure, which builtFrom() records).
 */
export function makeGupFastFolioAllowed(v: GupFastFolioAllowedVariant) {
  const key = `${v.nullAllowsNonLongterm}/${v.nullCheck}/${v.readOnce}`;
  let fn = built.get(key);
  if (!fn) {
    fn = builtFrom(buildGupFastFolioAllowed(v), buildGupFastFolioAllowed, [v]);
    variants.set(fn, { ...v });
    built.set(key, fn);
  }
  return fn;
}

function buildGupFastFolioAllowed(v: GupFastFolioAllowedVariant) {
  const { nullAllowsNonLongterm, nullCheck, readOnce } = v;
  return function* gup_fast_folio_allowed(c: Ctx, folio: Folio, flags: number): Step<boolean> {
    const reject_file_backed = (flags & PIN_LONGTERM_WRITE) === PIN_LONGTERM_WRITE;
    const check_secretmem = c.k.config.CONFIG_SECRETMEM && !(yield* folio_test_large(c, folio));
    if (!reject_file_backed && !check_secretmem) return true;
    if (WARN_ON_ONCE(c, yield* folio_test_slab(c, folio), `gup_fast_folio_allowed(): ${folio.name} is a slab page`)) return false;
    if (yield* folio_test_hugetlb(c, folio)) return true;
    lockdep_assert_irqs_disabled(c, 'gup_fast_folio_allowed');
    const mapping = readOnce ? yield* READ_ONCE(c, folio.mapping, S_mapping) : yield* load(c, folio.mapping, S_mapping_plain);
    // Each later use of `mapping`: the value read once, or (no-read-once) the load emitted again.
    const use = function* (): Step<number> {
      return readOnce ? mapping : yield* load(c, folio.mapping, S_mapping_plain);
    };
    if (!mapping && nullCheck) {
      const r = nullAllowsNonLongterm ? !reject_file_backed : false;
      c.why?.(
        'gup_fast_folio_allowed',
        r
          ? `${folio.name}->mapping is NULL and this is not a long-term write pin: allowed (2026 fix)`
          : `${folio.name}->mapping is NULL: fall back to the slow path${reject_file_backed ? '' : ' (also for this non-long-term pin: check_secretmem)'}`,
      );
      return r;
    }
    const mapping_flags = (yield* use()) & PAGE_MAPPING_FLAGS;
    if (mapping_flags) return (mapping_flags & PAGE_MAPPING_ANON) !== 0;
    if (check_secretmem) {
      const sm = yield* secretmem_mapping(c, yield* use());
      if (sm !== false) return false;
    }
    if (!reject_file_backed) return true;
    const m = yield* use();
    const shmem = yield* shmem_mapping(c, m);
    c.why?.(
      'gup_fast_folio_allowed',
      shmem ? `${folio.name} is shmem: allowed` : `${folio.name} is page cache of ${c.k.describeWord(m)}, not shmem: refused, fall back to the slow path`,
    );
    return shmem === true;
  };
}

/**
 * try_grab_folio_fast() (mm/gup.c 6.10:460-466, f442fa614137 "mm: gup: stop abusing
 * try_grab_folio", already in 6.10.0; Debian 6.12.118 mm/gup.c:531): what GUP-fast grabs with
 * from 6.10. The body is 6.5's try_grab_folio() (the FOLL_PIN zero-page skip, the long-term test
 * after the reference, the pin bias); new is `VM_WARN_ON_ONCE(!irqs_disabled())` first, "Raise
 * warn if it is not called in fast GUP". The slow path's grab became try_grab_folio(folio, refs,
 * flags) (the old try_grab_page()). Left out: the P2PDMA test (no P2PDMA pages are modelled).
 */
export function* try_grab_folio_fast(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null> {
  VM_WARN_ON_ONCE(c, !irqs_disabled(c), 'try_grab_folio_fast() called with IRQs enabled (not from GUP-fast)');
  return yield* c.rev.fns.try_grab_folio(c, page, refs, flags);
}

export const linux_6_10 = derive(linux_6_5, {
  name: '6.10',
  title: 'Linux 6.10',
  summary: 'gup_fast_folio_allowed() with the secretmem fold: every order-0 folio with NULL ->mapping falls back',
  order: 610,
  gupFastNames: true,
  internalFlagsIncludeTouch: true,
  fns: {
    folio_fast_pin_allowed: makeGupFastFolioAllowed({ nullAllowsNonLongterm: false, nullCheck: true, readOnce: true }),
    page_is_secretmem: undefined,
    try_grab_folio_fast,
    follow_hugetlb_page: follow_huge_leaf,
    io_pin_pages: io_pin_pages_fast,
  },
});

export const linux_6_12 = derive(linux_6_10, {
  name: '6.12',
  title: 'Linux 6.12',
  summary: 'as 6.10 for the modelled paths',
  order: 612,
});

/**
 * 6.15: x86 frees page tables via RCU (kernel/setup.ts archSchemes()). Also in it, from before:
 * "mm/hugetlb: support FOLL_FORCE|FOLL_WRITE" (Guillaume Morin; after 6.12, in 6.14.0, 6.19 and
 * 7.1.5): check_vma_flags() no longer refuses FOLL_FORCE|FOLL_WRITE on a read-only hugetlb VMA,
 * and follow_huge_pud() asks can_follow_write_pud() (kernel/hugetlb.ts follow_huge_leaf_force()).
 */
export const linux_6_15 = derive(linux_6_12, {
  name: '6.15',
  title: 'Linux 6.15',
  summary: 'x86 frees page tables via RCU (a37259732a7d), the TLB flush still IPIs (INVLPGB: --tlb-flush broadcast); FOLL_FORCE|FOLL_WRITE on R/O hugetlb allowed (6.14)',
  order: 615,
  x86RcuTableFree: true,
  fns: { check_vma_flags: check_vma_flags_614, follow_hugetlb_page: follow_huge_leaf_force },
});

export const next = derive(linux_6_15, {
  name: 'next',
  title: 'linux-next (2026)',
  summary: '"mm/gup: fix GUP-fast fallback for NULL-mapping order-0 folios": NULL ->mapping falls back only for long-term write pins',
  order: 9999,
  fns: { folio_fast_pin_allowed: makeGupFastFolioAllowed({ nullAllowsNonLongterm: true, nullCheck: true, readOnce: true }) },
});
