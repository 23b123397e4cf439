/*
 * Models folio_walk_start() / folio_walk_end() in mm/pagewalk.c (6.12; follow_page() before):
 * find the folio mapped at an address by walking the page tables under mmap_lock, reading the
 * leaf entry under its page-table lock. The swap_out and split_folio scenario operations use it
 * to find the folio they act on, as reclaim and split find theirs in the kernel (through the
 * LRU and rmap there; here through the page tables, which is where the racing CPUs meet).
 *
 * Every entry read is a scheduling point: a concurrent zap or fault may change the entry
 * before or after the walk reads it (an earlier version of the model looked the folio up
 * without one, a hidden race the checker could not reorder).
 *
 * Left out: FW_MIGRATION / FW_ZEROPAGE flags, PUD leaves, the PMD-level lock for THP leaves
 * (the PMD entry is read once, locklessly), and the folio reference the callers take
 * (swap_out's shrink_folio_list() holds an LRU isolation reference; callers here do what the
 * scenario operation did before: split_folio takes folio_try_get(), swap_out relies on the
 * mapping's reference).
 */
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { Folio, MmStruct } from './mm_types.ts';
import { page_folio_stable } from './page_ref.ts';
import { read_entry, walk_alloc } from './pgtable-generic.ts';
import { pte_huge, pte_pfn, pte_present } from './pgtable.ts';

const S_pmd = site('folio_walk_start', 'pmdp_get_lockless(pmdp)');
const S_lock = site('folio_walk_start', 'pte_offset_map_lock()');
const S_pte = site('folio_walk_start', 'ptep_get(ptep) under the PTL');
const S_unlock = site('folio_walk_end', 'pte_unmap_unlock()');

/** The folio mapped at addr in mm now, or null if none is mapped. */
export function* folio_walk_start(c: Ctx, mm: MmStruct, addr: number): Step<Folio | null> {
  const w = yield* walk_alloc(c, mm, addr, false, 'pmd');
  if (!w?.pmd) return null;
  const pmd = yield* read_entry(c, w.pmd, addr, S_pmd);
  if (pmd === null || !pte_present(pmd)) return null;
  if (pte_huge(pmd)) return c.k.page(pte_pfn(pmd)); // the THP's head page: the folio
  const pt = c.k.tables.get(pte_pfn(pmd));
  if (!pt) return null;
  yield* spin_lock(c, pt.ptl, S_lock);
  const pte = yield* read_entry(c, pt, addr, S_pte);
  const folio = pte !== null && pte_present(pte) ? page_folio_stable(c, c.k.page(pte_pfn(pte))) : null;
  yield* spin_unlock(c, pt.ptl, S_unlock);
  return folio;
}
