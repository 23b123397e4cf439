/*
 * Linux 6.5: the series merged as v9 ("mm/gup: disallow GUP writing to file-backed mappings by
 * default", 8ac268436e6d / a6e79df92e4a). This is the base the other revisions derive from.
 *
 * folio_fast_pin_allowed() (mm/gup.c 6.5, docs/reference/kernel-gup-reference.md §4.5), called by GUP-fast
 * after the PMD/PTE re-check: not all of PIN|LONGTERM|WRITE -> true; WARN on slab; hugetlb ->
 * true; lockdep_assert_irqs_disabled(); mapping = READ_ONCE(folio->mapping); NULL -> false;
 * flag bits -> anon (0x1) allowed, movable (0x2) refused; else shmem_mapping(mapping).
 *
 * page_is_secretmem() (include/linux/secretmem.h, 6.1–6.5): not compound and on the LRU, then
 * the mapping word read twice (stripped and compared), then mapping->a_ops compared — before
 * the PTE re-check in gup_pte_range().
 *
 * The no-read-once and no-null-check mutants replace folio_fast_pin_allowed() with a copy that
 * loads ->mapping at each use / skips the NULL test (kernel/mutants.ts).
 */
import { READ_ONCE, load } from '../../sim/cell.ts';
import { type Step, site } from '../../sim/op.ts';
import { check_vma_flags, gup_fast_huge_changed, gup_fast_pte_changed, gup_pte_range, lockless_pages_from_mm, try_get_folio, try_grab_folio, unpin_folio, writable_file_mapping_allowed } from '../gup.ts';
import { do_page_mkwrite, page_needs_cow_for_dma } from '../memory.ts';
import { tlb_table_flush } from '../mmu_gather.ts';
import { follow_hugetlb_page } from '../hugetlb.ts';
import { io_pin_pages } from '../io_uring.ts';
import { type Ctx, lockdep_assert_irqs_disabled, WARN_ON_ONCE } from '../kernel.ts';
import { vma_needs_dirty_tracking } from '../mmap.ts';
import type { Folio, Page } from '../mm_types.ts';
import { folio_test_hugetlb, folio_test_slab, PageLRU } from '../page_ref.ts';
import type { Revision } from '../revision.ts';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS } from '../types.ts';
import { deref_a_ops, folio_mapping, shmem_mapping } from '../util.ts';

const S_mapping = site('folio_fast_pin_allowed', 'mapping = READ_ONCE(folio->mapping)');
const PIN_LONGTERM_WRITE = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

/** folio_fast_pin_allowed() (6.5). */
export function* folio_fast_pin_allowed(c: Ctx, folio: Folio, flags: number): Step<boolean> {
  if ((flags & PIN_LONGTERM_WRITE) !== PIN_LONGTERM_WRITE) return true;
  if (WARN_ON_ONCE(c, yield* folio_test_slab(c, folio), `folio_fast_pin_allowed(): ${folio.name} is a slab page`)) return false;
  if (yield* folio_test_hugetlb(c, folio)) return true;
  lockdep_assert_irqs_disabled(c, 'folio_fast_pin_allowed');
  const mapping = yield* READ_ONCE(c, folio.mapping, S_mapping);
  if (!mapping) {
    c.why?.('folio_fast_pin_allowed', `${folio.name}->mapping is NULL (truncated?): let the slow path decide`);
    return false;
  }
  const mapping_flags = mapping & PAGE_MAPPING_FLAGS;
  if (mapping_flags) return anon_flags_allowed(c, folio, mapping_flags);
  return yield* shmem_allowed(c, folio, mapping);
}

/** The anon-or-movable verdict of folio_fast_pin_allowed() on a mapping word with flag bits. */
export function anon_flags_allowed(c: Ctx, folio: Folio, mapping_flags: number): boolean {
  const ok = (mapping_flags & PAGE_MAPPING_ANON) !== 0;
  c.why?.('folio_fast_pin_allowed', ok ? `${folio.name} is anonymous: allowed` : `${folio.name} is a non-LRU movable page: refused`);
  return ok;
}

/** The last step of folio_fast_pin_allowed(): shmem_mapping(mapping). */
export function* shmem_allowed(c: Ctx, folio: Folio, mapping: number): Step<boolean> {
  const shmem = yield* shmem_mapping(c, mapping);
  c.why?.(
    'folio_fast_pin_allowed',
    shmem ? `${folio.name} is shmem: allowed` : `${folio.name} is page cache of ${c.k.describeWord(mapping)}, not shmem: refused, fall back to the slow path`,
  );
  return shmem === true;
}

const S_sm_head = site('page_is_secretmem', 'PageCompound(): test PG_head');
const S_sm_tail = site('page_is_secretmem', 'PageCompound(): test compound_head & 1');
const S_sm_load = site('page_is_secretmem', 'load page->mapping');
const S_sm_deref = site('page_is_secretmem', 'mapping->a_ops == &secretmem_aops');

/** page_is_secretmem() (6.1–6.5). */
export function* page_is_secretmem(c: Ctx, page: Page): Step<boolean> {
  if (yield* READ_ONCE(c, page.PG_head, S_sm_head)) return false;
  if (yield* READ_ONCE(c, page.compound_head, S_sm_tail)) return false;
  if (!(yield* PageLRU(c, page))) return false;
  const m1 = yield* load(c, page.mapping, S_sm_load);
  const mapping = m1 - (m1 & PAGE_MAPPING_FLAGS);
  if (!mapping) return false;
  const m2 = yield* load(c, page.mapping, S_sm_load);
  if (mapping !== m2) return false;
  const aops = yield* deref_a_ops(c, mapping, S_sm_deref);
  return aops !== null && aops.name === 'secretmem_aops';
}

export const linux_6_5: Revision = {
  name: '6.5',
  title: 'Linux 6.5 (merged v9)',
  summary: 'the series as merged: folio_fast_pin_allowed() after the PTE re-check, READ_ONCE(mapping), NULL falls back',
  order: 605,
  x86RcuTableFree: false,
  gupFastNames: false,
  internalFlagsIncludeTouch: false,
  pinFastEinval: true,
  longtermCheckAfterGet: true,
  isValidGupArgs: true,
  gupMustUnshareNonAnon: true,
  pinsZeroPage: false,
  gupTestPinLongterm: true,
  slabCacheInMappingWord: false,
  fns: {
    try_grab_folio,
    // Before 6.11 GUP-fast calls try_grab_folio(); through the table, so v7's replacement is used.
    try_grab_folio_fast: (c, page, refs, flags) => c.rev.fns.try_grab_folio(c, page, refs, flags),
    try_get_folio,
    gup_fast_pte_changed,
    gup_fast_huge_changed,
    lockless_pages_from_mm,
    unpin_folio,
    do_page_mkwrite,
    page_needs_cow_for_dma,
    tlb_table_flush,
    folio_fast_pin_allowed,
    page_is_secretmem,
    folio_mapping,
    check_vma_flags,
    writable_file_mapping_allowed: (vma, gup_flags) => writable_file_mapping_allowed(null, vma, gup_flags, vma_needs_dirty_tracking),
    vma_needs_dirty_tracking,
    follow_hugetlb_page,
    io_pin_pages,
    gup_pte_range,
  },
};
