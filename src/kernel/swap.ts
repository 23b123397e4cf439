/*
 * Models swap-out and swap-in of an anonymous folio (mm/vmscan.c shrink_folio_list(),
 * mm/swap_state.c add_to_swap() / __delete_from_swap_cache(), mm/rmap.c try_to_unmap(),
 * mm/memory.c do_swap_page(); 6.5):
 *   add_to_swap(): PG_swapcache, folio->swap = entry, the swap cache takes a reference. While
 *     the folio is still mapped it is an anon folio in the swap cache — the state v7's
 *     folio_mapping()-based check misclassified (docs/reference/kernel-gup-reference.md §4.7).
 *   try_to_unmap(): each PTE becomes a swap entry (ptep_clear_flush), the mapping's
 *     reference is dropped.
 *   pageout(): the data goes to the swap slot.
 *   __remove_mapping(): folio_ref_freeze(folio, 1 + swapcache); fails if anyone (GUP) holds a
 *     reference; else the folio leaves the swap cache and is freed.
 *   swapin: the folio from the swap cache, or a new anon folio read from the slot.
 *
 * Left out: swap slots caches, zswap, swap readahead, the LRU lists and their isolation rules
 * (the actor just takes the folio), cgroup charges, large-folio swap.
 */
import { WRITE_ONCE, init } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, Vma } from './mm_types.ts';
import { flush_tlb } from './mmu_gather.ts';
import { alloc_pages, free_folio } from './page_alloc.ts';
import { folio_get, folio_put, folio_ref_add, folio_ref_freeze, folio_try_get, page_ref_unfreeze } from './page_ref.ts';
import { ptep_get_and_clear, set_pte_at } from './pgtable-generic.ts';
import { SWP_SWAP, pte_pfn, pte_present, swp_entry_to_pte } from './pgtable.ts';
import { folio_add_new_anon_rmap, rmap_find } from './rmap.ts';
import { folio_lock, folio_unlock } from './page-writeback.ts';

const S_swapcache = site('add_to_swap', 'set PG_swapcache');
const S_swapentry = site('add_to_swap', 'folio->swap = entry');
const S_unmap = site('try_to_unmap_one', 'ptep_clear_flush(); set the swap entry');
const S_pageout = site('pageout', 'write the folio to the swap slot');
const S_del = site('__delete_from_swap_cache', 'clear PG_swapcache');

/** add_to_swap(): the folio enters the swap cache (it may still be mapped). Setup uses this too. */
export function* add_to_swap(c: Ctx, folio: Folio): Step<number> {
  const k = c.k;
  const off = k.nextSwapOffset++;
  yield* folio_ref_add(c, folio, 1);
  yield* WRITE_ONCE(c, folio.private, off, S_swapentry);
  yield* WRITE_ONCE(c, folio.PG_swapcache, true, S_swapcache);
  k.swapCache.set(off, folio.pfn);
  c.note?.(`${folio.name} added to the swap cache (entry ${off}); it is still mapped`);
  return off;
}

/**
 * The swap-out actor for one anon folio: add_to_swap(), try_to_unmap(), pageout(),
 * __remove_mapping(). Returns whether the folio was freed.
 */
export function* swap_out_folio(c: Ctx, folio: Folio): Step<boolean> {
  yield* folio_get(c, folio); // isolation from the LRU
  yield* folio_lock(c, folio);
  const off = folio.PG_swapcache.v ? folio.private.v : yield* add_to_swap(c, folio);
  for (const m of rmap_find(c, folio, 1)) {
    yield* spin_lock(c, m.table.ptl, S_unmap);
    const old = yield* ptep_get_and_clear(c, m.table, m.addr, S_unmap);
    if (pte_present(old) && pte_pfn(old) === folio.pfn) {
      yield* flush_tlb(c);
      yield* set_pte_at(c, m.table, m.addr, swp_entry_to_pte(SWP_SWAP, off), S_unmap);
      folio._mapcount.v--;
      yield* spin_unlock(c, m.table.ptl, S_unmap);
      yield* folio_put(c, folio);
    } else {
      if (old) yield* set_pte_at(c, m.table, m.addr, old, S_unmap);
      yield* spin_unlock(c, m.table.ptl, S_unmap);
    }
  }
  const data = folio.data.v;
  yield* WRITE_ONCE(c, folio.PG_writeback, false, S_pageout);
  c.k.swapData.set(off, data);
  // __remove_mapping(): only if nobody else holds a reference.
  if (!(yield* folio_ref_freeze(c, folio, 2))) {
    c.note?.(`${folio.name} still referenced (pinned?): stays in the swap cache`);
    yield* folio_unlock(c, folio);
    yield* folio_put(c, folio);
    return false;
  }
  yield* WRITE_ONCE(c, folio.PG_swapcache, false, S_del);
  c.k.swapCache.delete(off);
  yield* folio_unlock(c, folio);
  folio.ghost.frozen = false;
  yield* free_folio(c, folio);
  return true;
}

/** Swap-in for do_swap_page(): the swap-cache folio (with a reference) or a new one read from the slot. */
export function* swapin_folio(c: Ctx, vma: Vma, off: number): Step<Folio | null> {
  const k = c.k;
  const pfn = k.swapCache.get(off);
  if (pfn !== undefined) {
    const f = k.page(pfn);
    if (yield* folio_try_get(c, f)) return f;
  }
  const nf = yield* alloc_pages(c, 0, 'normal', 'anon', `anon page of ${vma.label} (swapped in)`);
  init(nf.data, k.swapData.get(off) ?? 0);
  init(nf.PG_uptodate, true);
  yield* folio_add_new_anon_rmap(c, nf, vma, vma.vm_start);
  init(nf._mapcount, 0); // do_swap_page() adds the mapping
  init(nf.PG_anon_exclusive, false);
  k.swapData.delete(off); // swap_free(): the slot is no longer needed
  return nf;
}

export { page_ref_unfreeze };
