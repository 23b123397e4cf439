/*
 * Models the parts of mm/rmap.c the modelled paths use (6.5): folio_add_new_anon_rmap()
 * (mapping = anon_vma | PAGE_MAPPING_ANON, exclusive), page_add_file_rmap(),
 * page_remove_rmap(), and rmap walks (folio_mkclean(), try_to_unmap(), try_to_migrate()).
 *
 * Mapcounts are kept per page as "number of page-table mappings" (_mapcount + 1) and per folio
 * as _entire_mapcount for PMD/PUD mappings. An rmap walk finds the PTEs that map a folio by
 * looking at every VMA of every mm whose anon_vma or file matches (ghost lookup, like the
 * anon_vma / i_mmap trees) and then touches each PTE under its lock, with scheduling points.
 *
 * Left out: anon_vma chains and forking hierarchies (the child shares the parent's anon_vma
 * here), nonlinear i_mmap, mlock, the deferred-split queue, KSM rmap items.
 */
import { atomic_add } from '../sim/atomic.ts';
import { WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { AnonVma, Folio, MmStruct, Page, Vma } from './mm_types.ts';
import { SetPageAnonExclusive } from './page_ref.ts';
import { lookup } from './pgtable-generic.ts';
import { type PageTable, pte_huge, pte_pfn, pte_present } from './pgtable.ts';
import { PAGE_MAPPING_ANON, PAGE_SIZE } from './types.ts';

const S_new_anon_mapping = site('folio_add_new_anon_rmap', 'WRITE_ONCE(folio->mapping, anon_vma | PAGE_MAPPING_ANON)');
const S_new_anon_index = site('folio_add_new_anon_rmap', 'folio->index = linear_page_index()');
const S_new_anon_mapcount = site('folio_add_new_anon_rmap', 'atomic_set(&folio->_mapcount, 0)');
const S_file_rmap = site('page_add_file_rmap', 'atomic_inc(&page->_mapcount)');
const S_remove_rmap = site('page_remove_rmap', 'atomic_dec(&page->_mapcount)');
const S_lru = site('folio_add_lru_vma', 'set PG_lru');

/** folio_add_new_anon_rmap(): a freshly allocated anon folio mapped once, exclusively. */
export function* folio_add_new_anon_rmap(c: Ctx, folio: Folio, vma: Vma, addr: number): Step<void> {
  const av = anon_vma_prepare(c, vma);
  yield* WRITE_ONCE(c, folio._mapcount, 1, S_new_anon_mapcount);
  yield* WRITE_ONCE(c, folio.mapping, av.ptr | PAGE_MAPPING_ANON, S_new_anon_mapping);
  yield* WRITE_ONCE(c, folio.index, linear_page_index(vma, addr), S_new_anon_index);
  yield* SetPageAnonExclusive(c, folio);
  folio.ghost.owner = 'anon';
  folio.ghost.ownerDesc = `anon page of ${vma.label}`;
  c.note?.(`${folio.name} is now an anon page of ${vma.label} at 0x${addr.toString(16)} (exclusive)`);
}

export function* folio_add_lru(c: Ctx, folio: Folio): Step<void> {
  yield* WRITE_ONCE(c, folio.PG_lru, true, S_lru);
}

/** anon_vma_prepare(): the VMA's anon_vma, created on first anonymous fault (under mmap_lock). */
export function anon_vma_prepare(c: Ctx, vma: Vma): AnonVma {
  if (!vma.anon_vma) vma.anon_vma = c.k.newAnonVma(vma.label);
  return vma.anon_vma;
}

export function linear_page_index(vma: Vma, addr: number): number {
  return Math.floor((addr - vma.vm_start) / PAGE_SIZE) + vma.vm_pgoff;
}

export function* page_add_file_rmap(c: Ctx, page: Page): Step<void> {
  yield* atomic_add(c, page._mapcount, 1, S_file_rmap);
}

export function* page_remove_rmap(c: Ctx, page: Page): Step<void> {
  yield* atomic_add(c, page._mapcount, -1, S_remove_rmap);
}

// ===== rmap walks =====

export interface Mapping {
  readonly mm: MmStruct;
  readonly vma: Vma;
  readonly addr: number;
  /** The table holding the entry (a PTE table, or a PMD/PUD table for a huge mapping). */
  readonly table: PageTable;
  readonly huge: boolean;
}

/**
 * Every page-table entry currently mapping a page of `folio` (ghost lookup: which VMAs could
 * map it, then the entries there). The caller re-reads each entry under the PTL.
 */
export function rmap_find(c: Ctx, folio: Folio, nr: number): Mapping[] {
  const out: Mapping[] = [];
  const k = c.k;
  for (const mm of k.mms) {
    for (const vma of mm.vmas) {
      for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
        const t = lookup(c, mm, a);
        const tbl = t.pte;
        if (tbl) {
          const v = tbl.entry(a).v;
          if (pte_present(v) && pte_pfn(v) >= folio.pfn && pte_pfn(v) < folio.pfn + nr) {
            out.push({ mm, vma, addr: a, table: tbl, huge: false });
          }
        } else if (t.pmd) {
          const v = t.pmd.entry(a).v;
          if (pte_present(v) && pte_huge(v) && pte_pfn(v) === folio.pfn && a % (2 * 1024 * 1024) === 0) {
            out.push({ mm, vma, addr: a, table: t.pmd, huge: true });
          }
        }
      }
    }
  }
  return out;
}

/** Run `f` on each mapping of the folio with the entry's lock held. */
export function* rmap_walk(c: Ctx, folio: Folio, nr: number, fn: string, f: (m: Mapping) => Step<void>): Step<void> {
  const s = site(fn, 'rmap walk: take the PTL');
  for (const m of rmap_find(c, folio, nr)) {
    yield* spin_lock(c, m.table.ptl, s);
    yield* f(m);
    yield* spin_unlock(c, m.table.ptl, s);
  }
}
