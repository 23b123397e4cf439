/*
 * `gupcheck/kernel`: what a revision module written outside the tool may use (docs/revisions.md,
 * "Check your own patch"). A revision module derives from a built-in revision and replaces the
 * functions its patch changes:
 *
 *   import { derive, linux_6_5, READ_ONCE, site, type Ctx, type Folio, type Step } from 'gupcheck/kernel';
 *   export default derive(linux_6_5, { name: 'my-check', fns: { *folio_fast_pin_allowed(c, folio, flags) { ... } } });
 *
 * Everything here is the model's own code: the same instances the tool runs (gupcheck loads the
 * module with this import bound to the running model, src/patch/module.ts), so the replaced
 * functions interleave with the rest of the model exactly as the built-in revisions do.
 *
 * The rules of the model apply (src/sim/cell.ts, src/kernel/revision.ts): every access to shared
 * state goes through a primitive (READ_ONCE/load, WRITE_ONCE/store, the atomics) or a kernel
 * function, each a scheduling point; a plain C load used twice is written as two loads; a site
 * (`site(fn, action)`) names each access in traces. Kernel functions take the CPU context first.
 */
export type { Revision, RevisionFns } from './revision.ts';
export { derive } from './revision.ts';
export type { Ctx } from './kernel.ts';
export { lockdep_assert_irqs_disabled, VM_BUG_ON, WARN_ON_ONCE } from './kernel.ts';
export type { AddressSpace, AOps, Folio, Page, Vma } from './mm_types.ts';
export type { PageTable, pte_t } from './pgtable.ts';
export type { Site, Step } from '../sim/op.ts';
export { site } from '../sim/op.ts';
export { load, READ_ONCE, rmw, store, WRITE_ONCE } from '../sim/cell.ts';
export { atomic_add, atomic_add_return, atomic_add_unless, atomic_cmpxchg, atomic_sub_and_test, xchg } from '../sim/atomic.ts';
export { irqs_disabled } from '../sim/sync.ts';

// The built-in revisions, to derive from.
export { findRevision, REVISION_NAMES } from './revisions/index.ts';
export { linux_6_1 } from './revisions/linux-6.1.ts';
export { linux_6_5, folio_fast_pin_allowed, page_is_secretmem } from './revisions/linux-6.5.ts';
export { linux_6_10, linux_6_12, linux_6_15, next, makeGupFastFolioAllowed } from './revisions/linux-6.10.ts';
export { v7, folio_longterm_write_pin_allowed, makeTryGrabFolioWithCheck } from './revisions/v7.ts';
export { jg_proposal, jg_proposal_after_recheck } from './revisions/jg-proposal.ts';

// Kernel functions (mm/gup.c, include/linux/mm.h, page_ref.h, page-flags.h, mm/util.c, mm/shmem.c).
export { gup_fast_pte_changed, gup_pte_range, pin_folio_refs, try_get_folio, try_grab_folio, unpin_folio } from './gup.ts';
export { folio_is_longterm_pinnable, gup_must_unshare, gup_put_folio, try_grab_page } from './internal.ts';
export {
  folio_put_refs,
  folio_ref_add,
  folio_ref_count,
  folio_ref_try_add_rcu,
  folio_test_anon,
  folio_test_dirty,
  folio_test_hugetlb,
  folio_test_ksm,
  folio_test_large,
  folio_test_slab,
  folio_test_swapcache,
  is_zero_page,
  page_folio,
  PageLRU,
} from './page_ref.ts';
export { deref_a_ops, folio_mapping, secretmem_mapping, shmem_mapping } from './util.ts';
export { ptep_get, ptep_get_lockless, read_entry, table_of } from './pgtable-generic.ts';
export { pte_access_permitted, pte_devmap, pte_dirty, pte_none, pte_pfn, pte_present, pte_protnone, pte_special, pte_write, PTE_LEVEL, PMD_LEVEL } from './pgtable.ts';

// Constants (include/linux/mm_types.h, page-flags.h, mm.h).
export {
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_TOUCH,
  FOLL_WRITE,
  GUP_PIN_COUNTING_BIAS,
  PAGE_MAPPING_ANON,
  PAGE_MAPPING_FLAGS,
  PAGE_MAPPING_KSM,
  PAGE_MAPPING_MOVABLE,
  PAGE_SIZE,
} from './types.ts';
