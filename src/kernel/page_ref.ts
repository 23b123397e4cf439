/*
 * Models include/linux/page_ref.h, the folio refcount helpers of include/linux/mm.h, and the
 * page-flag tests of include/linux/page-flags.h that the modelled paths use (6.5).
 *
 * Every test of a flag or the refcount is a load (a scheduling point); page_folio() is a
 * READ_ONCE(page->compound_head). folio_put() frees the folio when the count reaches zero.
 *
 * Refcount findings (`refcount`): a count going negative, a folio freed while a caller still
 * holds a pin or reference GUP returned to it, and references lost by page_ref_unfreeze()
 * overwriting a count someone raised while it was frozen.
 *
 * Left out: devmap-managed pages (put_devmap_managed_page_refs), page_ref tracepoints,
 * folio_ref_try_add_rcu's CONFIG_TINY_RCU variant.
 */
import { atomic_add, atomic_add_unless, atomic_cmpxchg, atomic_sub_and_test, test_and_set } from '../sim/atomic.ts';
import { announce, READ_ONCE, init } from '../sim/cell.ts';
import { RMW, type Step, site } from '../sim/op.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, Page } from './mm_types.ts';
import { free_folio } from './page_alloc.ts';
import { PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS, PAGE_MAPPING_KSM } from './types.ts';

const S_page_folio = site('page_folio', 'READ_ONCE(page->compound_head)');
const S_ref_count = site('folio_ref_count', 'read _refcount');
const S_try_add = site('folio_ref_try_add_rcu', 'atomic_add_unless(_refcount, refs, 0)');
const S_ref_add = site('folio_ref_add', 'atomic_add(refs, _refcount)');
const S_put = site('folio_put_refs', 'atomic_sub_and_test(refs, _refcount)');
const S_freeze = site('folio_ref_freeze', 'atomic_cmpxchg(_refcount, expected, 0)');
const S_unfreeze = site('page_ref_unfreeze', 'atomic_set(_refcount, count)');
const S_pin_add = site('try_grab_folio', 'atomic_add(refs, _pincount)');
const S_pin_sub = site('gup_put_folio', 'atomic_sub(refs, _pincount)');

/** page_folio(): the folio a page belongs to right now (changes when a large folio is split). */
export function* page_folio(c: Ctx, page: Page): Step<Folio> {
  const head = yield* READ_ONCE(c, page.compound_head, S_page_folio);
  return head === 0 ? page : c.k.page(head - 1);
}

const S_page_folio_tail = site('page_folio', 'READ_ONCE(page->compound_head) (tail of a large folio)');

/**
 * page_folio() for a pfn: the same, without creating a struct page object for a tail page that
 * was never touched (a 1 GB hugetlb folio has 262,144). The scheduling point reads the head's
 * order word, which a split writes, so a racing split still conflicts with it.
 */
export function* page_folio_pfn(c: Ctx, pfn: number): Step<Folio> {
  const k = c.k;
  const p = k.pages.get(pfn);
  if (p) return yield* page_folio(c, p);
  const head = k.compoundHeadOf(pfn);
  if (head === undefined) return yield* page_folio(c, k.page(pfn));
  const h = k.page(head);
  yield* READ_ONCE(c, h._folio_order, S_page_folio_tail);
  return h;
}

/** The folio of a page without a scheduling point, for code that holds the page stable. */
export function page_folio_stable(c: Ctx, page: Page): Folio {
  const head = page.compound_head.v;
  return head === 0 ? page : c.k.page(head - 1);
}

export function* folio_ref_count(c: Ctx, folio: Folio): Step<number> {
  return yield* READ_ONCE(c, folio._refcount, S_ref_count);
}

/** folio_ref_try_add_rcu(): add unless zero (free or frozen). */
export function* folio_ref_try_add_rcu(c: Ctx, folio: Folio, refs: number): Step<boolean> {
  return yield* atomic_add_unless(c, folio._refcount, refs, 0, S_try_add);
}

/** folio_ref_add(): atomic_add. (Adding to a free or frozen folio is caught by page_ref_unfreeze() and the audit.) */
export function* folio_ref_add(c: Ctx, folio: Folio, refs: number): Step<void> {
  yield* atomic_add(c, folio._refcount, refs, S_ref_add);
}

/** folio_put_refs(): drop refs; the last put frees the folio. */
export function* folio_put_refs(c: Ctx, folio: Folio, refs: number): Step<void> {
  const nv = yield* atomic_sub_and_test(c, folio._refcount, refs, S_put);
  if (nv < 0) {
    c.w.report('refcount', `${folio.name} _refcount went negative (${nv}) in folio_put_refs`, true);
    return;
  }
  if (nv === 0) {
    if (folio.ghost.frozen) return; // back to 0 while frozen: the freezer (split, migration) owns it
    yield* free_folio(c, folio);
  }
}

export function* folio_put(c: Ctx, folio: Folio): Step<void> {
  yield* folio_put_refs(c, folio, 1);
}

export function* folio_get(c: Ctx, folio: Folio): Step<void> {
  yield* folio_ref_add(c, folio, 1);
}

/** folio_try_get(). */
export function* folio_try_get(c: Ctx, folio: Folio): Step<boolean> {
  return yield* atomic_add_unless(c, folio._refcount, 1, 0, S_try_add);
}

/** folio_ref_freeze(folio, count): _refcount := 0 iff it equals count. */
export function* folio_ref_freeze(c: Ctx, folio: Folio, count: number): Step<boolean> {
  const old = yield* atomic_cmpxchg(c, folio._refcount, count, 0, S_freeze);
  if (old === count) folio.ghost.frozen = true;
  return old === count;
}

/** page_ref_unfreeze(page, count): atomic_set. Anything added while frozen is overwritten. */
export function* page_ref_unfreeze(c: Ctx, page: Page, count: number): Step<void> {
  const op = announce(c, page._refcount.id, RMW, S_unfreeze);
  yield op;
  // A frozen count is 0: whatever is there now was added while frozen, and is lost.
  const lost = page.ghost.frozen ? page._refcount.v : 0;
  op.before = page._refcount.v;
  page._refcount.v = count;
  op.after = count;
  page.ghost.frozen = false;
  if (lost > 0) {
    c.w.report(
      'refcount',
      `page_ref_unfreeze(${page.name}, ${count}) overwrote ${lost} reference(s) taken while the folio was frozen`,
      false,
    );
  }
}

export function* atomic_add_pincount(c: Ctx, folio: Folio, refs: number): Step<void> {
  yield* atomic_add(c, folio._pincount, refs, refs > 0 ? S_pin_add : S_pin_sub);
}

// ===== page flags (include/linux/page-flags.h) =====

const S_test_large = site('folio_test_large', 'test PG_head');
const S_test_slab = site('folio_test_slab', 'test PG_slab');
const S_test_hugetlb = site('folio_test_hugetlb', 'test PG_hugetlb');
const S_test_swapcache = site('folio_test_swapcache', 'test PG_swapcache');
const S_test_lru = site('PageLRU', 'test PG_lru');
const S_test_dirty = site('folio_test_dirty', 'test PG_dirty');
const S_test_anon = site('folio_test_anon', 'test mapping & PAGE_MAPPING_ANON');
const S_test_ksm = site('folio_test_ksm', 'test (mapping & PAGE_MAPPING_FLAGS) == PAGE_MAPPING_KSM');
const S_anon_excl = site('PageAnonExclusive', 'test PG_anon_exclusive');
const S_set_referenced = site('folio_set_referenced', 'set_bit(PG_referenced)');
const S_set_dirty = site('folio_mark_dirty', 'set PG_dirty');
const S_clear_dirty = site('folio_clear_dirty_for_io', 'test_and_clear PG_dirty');
const S_set_excl = site('SetPageAnonExclusive', 'set PG_anon_exclusive');
const S_clear_excl = site('ClearPageAnonExclusive', 'clear PG_anon_exclusive');

export function* folio_test_large(c: Ctx, folio: Folio): Step<boolean> {
  return yield* READ_ONCE(c, folio.PG_head, S_test_large);
}
export function* folio_test_slab(c: Ctx, folio: Folio): Step<boolean> {
  return yield* READ_ONCE(c, folio.PG_slab, S_test_slab);
}
export function* folio_test_hugetlb(c: Ctx, folio: Folio): Step<boolean> {
  return yield* READ_ONCE(c, folio.PG_hugetlb, S_test_hugetlb);
}
export function* folio_test_swapcache(c: Ctx, folio: Folio): Step<boolean> {
  return yield* READ_ONCE(c, folio.PG_swapcache, S_test_swapcache);
}
export function* PageLRU(c: Ctx, page: Page): Step<boolean> {
  return yield* READ_ONCE(c, page.PG_lru, S_test_lru);
}
export function* folio_test_dirty(c: Ctx, folio: Folio): Step<boolean> {
  return yield* READ_ONCE(c, folio.PG_dirty, S_test_dirty);
}
/** folio_test_anon(): a bit test on the mapping word; never dereferences it. */
export function* folio_test_anon(c: Ctx, folio: Folio): Step<boolean> {
  const m = yield* READ_ONCE(c, folio.mapping, S_test_anon);
  return (m & PAGE_MAPPING_ANON) !== 0;
}
export function* folio_test_ksm(c: Ctx, folio: Folio): Step<boolean> {
  const m = yield* READ_ONCE(c, folio.mapping, S_test_ksm);
  return (m & PAGE_MAPPING_FLAGS) === PAGE_MAPPING_KSM;
}
/** For hugetlb the flag lives on the head page (PageAnonExclusive() uses compound_head for PageHuge). */
function exclPage(c: Ctx, page: Page): Page {
  const h = page.compound_head.v;
  if (h === 0) return page;
  const head = c.k.page(h - 1);
  return head.PG_hugetlb.v ? head : page;
}
export function* PageAnonExclusive(c: Ctx, page: Page): Step<boolean> {
  return yield* READ_ONCE(c, exclPage(c, page).PG_anon_exclusive, S_anon_excl);
}
export function* SetPageAnonExclusive(c: Ctx, page: Page): Step<void> {
  yield* test_and_set(c, exclPage(c, page).PG_anon_exclusive, true, S_set_excl);
}
export function* ClearPageAnonExclusive(c: Ctx, page: Page): Step<void> {
  yield* test_and_set(c, exclPage(c, page).PG_anon_exclusive, false, S_clear_excl);
}
export function* folio_set_referenced(c: Ctx, folio: Folio): Step<void> {
  yield* test_and_set(c, folio.PG_referenced, true, S_set_referenced);
}
export function* folio_test_set_dirty(c: Ctx, folio: Folio): Step<boolean> {
  return yield* test_and_set(c, folio.PG_dirty, true, S_set_dirty);
}
export function* folio_test_clear_dirty(c: Ctx, folio: Folio): Step<boolean> {
  return yield* test_and_set(c, folio.PG_dirty, false, S_clear_dirty);
}

/** is_zero_page(): a pfn compare, no memory access. */
export function is_zero_page(c: Ctx, page: Page): boolean {
  return page.pfn === c.k.zeroPfn;
}

/** Set up a fresh flag/field without scheduling (allocation paths own the page exclusively). */
export { init };
