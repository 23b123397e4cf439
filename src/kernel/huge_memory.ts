/*
 * Models the THP paths of mm/huge_memory.c (6.5) that race with GUP-fast
 * (docs/reference/kernel-gup-reference.md §5.4; Jason Gunthorpe's three cases in the seed thread):
 *   __split_huge_pmd(): a PMD-mapped THP becomes PTE-mapped: pmdp_invalidate(), fill a new
 *     PTE table (not yet visible), pmd_populate(). Each PTE holds a reference.
 *   split_folio() (split_huge_page_to_list()) on an anonymous large folio: unmap_folio()
 *     (every PTE -> migration entry, the mapping's reference dropped), folio_ref_freeze(folio,
 *     1): fails if anybody (a racing GUP-fast) holds an extra reference, and the split backs
 *     off. Otherwise each tail page becomes its own folio (compound_head cleared,
 *     page_ref_unfreeze(tail, 1)), the head too, and remap_page() puts the PTEs back.
 *     GUP-fast's add-unless-zero fails while the count is frozen; its page_folio() re-check
 *     catches a split between reading the folio and taking the reference.
 *   zap_huge_pmd().
 *
 * Left out: file/shmem THP, the deferred split queue, PMD migration entries (the PMD split
 * goes straight to a PTE table), khugepaged collapse, THP on the LRU, large-folio swap.
 */
import { WRITE_ONCE, init } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, Vma } from './mm_types.ts';
import { flush_tlb, type MmuGather } from './mmu_gather.ts';
import { folio_get, folio_put, folio_ref_add, folio_ref_freeze, page_ref_unfreeze } from './page_ref.ts';
import { ptep_get, ptep_get_and_clear, set_pte_at, update_entry, write_entry } from './pgtable-generic.ts';
import { _PAGE_PSE, PTE_LEVEL, type PageTable, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, is_migration_entry, mk_pte, pte_flags, pte_pfn, pte_present, pte_write, swp_entry_to_pte, swp_offset, tableEntry } from './pgtable.ts';
import { rmap_find } from './rmap.ts';
import { folio_lock, folio_unlock } from './page-writeback.ts';
import { PAGE_SIZE, PMD_SIZE } from './types.ts';

const S_pmd_lock = site('__split_huge_pmd', 'pmd_lock()');
const S_pmd_invalidate = site('__split_huge_pmd_locked', 'pmdp_invalidate()');
const S_pmd_populate = site('__split_huge_pmd_locked', 'pmd_populate(): the PTE table replaces the huge PMD');
const S_unmap = site('unmap_folio', 'try_to_migrate_one(): migration entry in place of the PTE');
const S_tail = site('__split_huge_page_tail', 'clear page_tail->compound_head: the tail is its own folio');
const S_order = site('__split_huge_page', 'the head becomes an order-0 folio');
const S_remap = site('remap_page', 'remove_migration_pte(): map the (now small) page again');
const S_zap = site('zap_huge_pmd', 'pmdp_huge_get_and_clear_full()');

/** __split_huge_pmd(): replace the huge PMD at addr with a PTE table mapping the same pages. */
export function* __split_huge_pmd(c: Ctx, vma: Vma, pmdTable: PageTable, addr: number): Step<void> {
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  yield* spin_lock(c, pmdTable.ptl, S_pmd_lock);
  const pmd = yield* ptep_get(c, pmdTable, haddr, S_pmd_invalidate);
  if (pmd === null || !pte_present(pmd) || !(pte_flags(pmd) & _PAGE_PSE)) {
    yield* spin_unlock(c, pmdTable.ptl, S_pmd_lock);
    return;
  }
  yield* update_entry(c, pmdTable, haddr, (v) => v - (pte_flags(v) & 1), S_pmd_invalidate); // not present to the MMU
  yield* flush_tlb(c);
  const pt = c.k.newTable(PTE_LEVEL, haddr, vma.vm_mm);
  const head = c.k.page(pte_pfn(pmd));
  const nr = PMD_SIZE / PAGE_SIZE;
  const fl = pte_flags(pmd) & ~_PAGE_PSE;
  for (let i = 0; i < nr; i++) {
    const cell = pt.entry(haddr + i * PAGE_SIZE);
    cell.v = mk_pte(head.pfn + i, fl);
    c.k.page(head.pfn + i)._mapcount.v++;
  }
  head._entire_mapcount.v--;
  yield* folio_ref_add(c, head, nr - 1); // each PTE holds a reference now
  yield* write_entry(c, pmdTable, haddr, tableEntry(pt.tpfn), S_pmd_populate);
  yield* spin_unlock(c, pmdTable.ptl, S_pmd_lock);
  c.note?.(`THP ${head.name} is now mapped by ${nr} PTEs`);
}

/**
 * split_folio() on a PTE-mapped anonymous large folio. The caller holds a reference
 * (expected count 1 once unmapped). Returns 0, or -EAGAIN (-11) if the freeze failed.
 */
export function* split_folio(c: Ctx, folio: Folio): Step<number> {
  const order = folio._folio_order.v;
  const nr = 2 ** order;
  yield* folio_lock(c, folio);
  // unmap_folio(): migration entries.
  const maps = rmap_find(c, folio, nr);
  const saved: { m: (typeof maps)[number]; write: boolean }[] = [];
  for (const m of maps) {
    yield* spin_lock(c, m.table.ptl, S_unmap);
    const old = yield* ptep_get_and_clear(c, m.table, m.addr, S_unmap);
    if (pte_present(old)) {
      yield* flush_tlb(c);
      const w = pte_write(old);
      yield* set_pte_at(c, m.table, m.addr, swp_entry_to_pte(w ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ, pte_pfn(old)), S_unmap);
      c.k.page(pte_pfn(old))._mapcount.v--;
      saved.push({ m, write: w });
    }
    yield* spin_unlock(c, m.table.ptl, S_unmap);
    if (pte_present(old)) yield* folio_put(c, folio);
  }
  let ret = 0;
  if (!(yield* folio_ref_freeze(c, folio, 1))) {
    c.note?.(`split of ${folio.name} backs off: an extra reference (a pin?) is held`);
    ret = -11;
  } else {
    // __split_huge_page(): tails first (each becomes its own folio), then the head.
    for (let i = nr - 1; i >= 1; i--) {
      const tail = c.k.page(folio.pfn + i);
      yield* WRITE_ONCE(c, tail.compound_head, 0, S_tail);
      init(tail.mapping, folio.mapping.v);
      init(tail.index, folio.index.v + i);
      init(tail.PG_lru, true);
      tail.ghost.owner = folio.ghost.owner;
      tail.ghost.ownerDesc = folio.ghost.ownerDesc;
      tail.ghost.gen++;
      yield* page_ref_unfreeze(c, tail, 1);
    }
    yield* WRITE_ONCE(c, folio._folio_order, 0, S_order);
    yield* WRITE_ONCE(c, folio.PG_head, false, S_order);
    c.k.compound.delete(folio.pfn);
    yield* page_ref_unfreeze(c, folio, 1);
    c.note?.(`${folio.name} split into ${nr} order-0 folios`);
  }
  // remap_page(): each migration entry back to a present PTE, with a reference.
  for (const { m, write } of saved) {
    yield* spin_lock(c, m.table.ptl, S_remap);
    const cur = yield* ptep_get(c, m.table, m.addr, S_remap);
    if (cur !== null && is_migration_entry(cur)) {
      const pfn = swp_offset(cur);
      const pg = c.k.page(pfn);
      const f = ret === 0 ? pg : folio;
      yield* folio_get(c, f);
      pg._mapcount.v++;
      yield* set_pte_at(c, m.table, m.addr, mk_pte(pfn, 0x001 | 0x004 | 0x020 | (write ? 0x002 | 0x040 : 0)), S_remap);
    }
    yield* spin_unlock(c, m.table.ptl, S_remap);
  }
  yield* folio_unlock(c, folio);
  if (ret === 0) {
    // The split tails' own reference from page_ref_unfreeze(tail, 1) goes (free_page_and_swap_cache()).
    for (let i = 1; i < nr; i++) yield* folio_put(c, c.k.page(folio.pfn + i));
  }
  return ret;
}

/** zap_huge_pmd(): clear a huge PMD; the folio's mapping reference goes after the flush. */
export function* zap_huge_pmd(c: Ctx, _vma: Vma, pmdTable: PageTable, addr: number, tlb: MmuGather): Step<void> {
  yield* spin_lock(c, pmdTable.ptl, S_zap);
  const old = yield* ptep_get_and_clear(c, pmdTable, addr, S_zap);
  yield* spin_unlock(c, pmdTable.ptl, S_zap);
  if (pte_present(old)) {
    const f = c.k.page(pte_pfn(old));
    f._entire_mapcount.v--;
    tlb.pages.push(f);
  }
}
