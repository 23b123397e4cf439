/*
 * The seed's posting: [PATCH v7 0/3..3/3] "mm/gup: disallow GUP writing to file-backed
 * mappings by default" (Lorenzo Stoakes, 2 May 2023), on a 6.4-rc base
 * (docs/reference/kernel-gup-reference.md §4.6, §4.7).
 *
 * v7 3/3 puts the GUP-fast check *inside try_grab_folio()*, right after try_get_folio()
 * succeeded (plain references only, before the pin bias) and before the caller's PTE re-check:
 *   folio_longterm_write_pin_allowed(): lockdep_assert_irqs_disabled() first; then
 *   mapping = folio_mapping(folio) (through the revision table, so a patch may replace it; plain loads; the swap cache's address_space for swap-cache
 *   anon folios); return !mapping || shmem_mapping(mapping) || folio_test_hugetlb(folio).
 * Refusal: folio_put_refs(folio, refs); return NULL. Because try_grab_folio() is also called
 * by the slow path's follow_hugetlb_page() with IRQs on, the lockdep assertion fires there.
 *
 * v7 2/3 writeable_file_mapping_allowed(): "allowed" only when neither FOLL_PIN nor
 * FOLL_LONGTERM is set, so any FOLL_PIN write (short-term too) to a dirty-tracked file VMA is
 * refused ([v7-r-DH2], [v7-r-MR]).
 * v7 1/3 vma_needs_dirty_tracking(): no shared-writable test, so MAP_PRIVATE ext4/xfs/btrfs
 * mappings are refused too ([v7-r-DH1]).
 */
import type { Step } from '../../sim/op.ts';
import { is_zero_page, page_folio, folio_put_refs, folio_test_hugetlb } from '../page_ref.ts';
import { pin_folio_refs } from '../gup.ts';
import { type Ctx, lockdep_assert_irqs_disabled, WARN_ON_ONCE } from '../kernel.ts';
import { vm_ops_needs_writenotify, vma_fs_can_writeback } from '../mmap.ts';
import type { Folio, Page, Vma } from '../mm_types.ts';
import { derive } from '../revision.ts';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, VM_PFNMAP } from '../types.ts';
import { shmem_mapping } from '../util.ts';
import { linux_6_1 } from './linux-6.1.ts';
import { folio_is_longterm_pinnable } from '../internal.ts';


/** v7's folio_longterm_write_pin_allowed(). */
export function* folio_longterm_write_pin_allowed(c: Ctx, folio: Folio): Step<boolean> {
  lockdep_assert_irqs_disabled(c, 'folio_longterm_write_pin_allowed');
  const mapping = yield* c.rev.fns.folio_mapping(c, folio);
  if (!mapping) {
    c.why?.('folio_longterm_write_pin_allowed', `folio_mapping(${folio.name}) is NULL (anonymous or no mapping): allowed`);
    return true;
  }
  const shmem = yield* shmem_mapping(c, mapping);
  if (shmem === null) return false; // the dereference was a finding
  if (shmem) return true;
  const huge = yield* folio_test_hugetlb(c, folio);
  c.why?.(
    'folio_longterm_write_pin_allowed',
    huge ? `${folio.name} is hugetlb: allowed` : `folio_mapping() = ${c.k.describeWord(mapping)}, not shmem or hugetlb: refused`,
  );
  return huge;
}

/**
 * v7's try_grab_folio(): the 6.4 FOLL_PIN branch plus the check. `check` is the allowed-test
 * (v7's, or another placed the same way, e.g. the jg-proposal revision).
 */
export function makeTryGrabFolioWithCheck(check: (c: Ctx, folio: Folio) => Step<boolean>) {
  return function* try_grab_folio(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null> {
    if (WARN_ON_ONCE(c, (flags & (FOLL_GET | FOLL_PIN)) === 0, 'try_grab_folio() without FOLL_GET or FOLL_PIN')) return null;
    if (flags & FOLL_GET) return yield* c.rev.fns.try_get_folio(c, page, refs);
    if (is_zero_page(c, page) && !c.rev.pinsZeroPage) return yield* page_folio(c, page);
    const is_longterm = (flags & FOLL_LONGTERM) !== 0;
    if (is_longterm && !folio_is_longterm_pinnable(c, page)) return null;
    const folio = yield* c.rev.fns.try_get_folio(c, page, refs);
    if (!folio) return null;
    // "Can this folio be safely pinned? We need to perform this check after the folio is stabilised."
    if (flags & FOLL_WRITE && is_longterm && !(yield* check(c, folio))) {
      yield* folio_put_refs(c, folio, refs);
      return null;
    }
    yield* pin_folio_refs(c, folio, refs);
    return folio;
  };
}

/** v7 1/3 vma_needs_dirty_tracking(): without the shared-writable test. */
export function vma_needs_dirty_tracking_v7(vma: Vma): boolean {
  if (vm_ops_needs_writenotify(vma)) return true;
  if (vma.vm_flags & VM_PFNMAP) return false;
  return vma_fs_can_writeback(vma);
}

/** v7 2/3 writeable_file_mapping_allowed(): the FOLL_PIN / FOLL_LONGTERM test is either/or. */
export function writeable_file_mapping_allowed_v7(vma: Vma, gup_flags: number): boolean {
  if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) === 0) return true;
  return !vma_needs_dirty_tracking_v7(vma);
}

export const v7 = derive(linux_6_1, {
  name: 'v7',
  title: 'v7 posting (seed)',
  summary: "the seed's v7: check inside try_grab_folio() before the PTE re-check; slow-path bugs of v7 1/3 and 2/3",
  order: 604,
  // A 6.4-rc base (6.1 is only the model's neighbour): is_valid_gup_args() (6.3) and
  // gup_must_unshare()'s non-anon COW branch are there; the zero page is still pinned (6.5 stops
  // that). gup_test's PIN_LONGTERM_TEST_START came with the series' own tests (6.5): the model
  // gives v7 6.5's gup_test so `matrix --kernel v7` shows v7's semantics.
  isValidGupArgs: true,
  gupMustUnshareNonAnon: true,
  gupTestPinLongterm: true,
  fns: {
    try_grab_folio: makeTryGrabFolioWithCheck(folio_longterm_write_pin_allowed),
    folio_fast_pin_allowed: undefined,
    writable_file_mapping_allowed: writeable_file_mapping_allowed_v7,
    vma_needs_dirty_tracking: vma_needs_dirty_tracking_v7,
  },
});
