/*
 * Models the hugetlb paths of mm/hugetlb.c (6.5) that GUP reaches:
 *   follow_hugetlb_page() (6.1–6.5; removed in 6.6 by the hugetlb GUP unification): the slow
 *     path for hugetlb VMAs. Under the huge PTE lock, with IRQs on, it grabs the subpages with
 *     try_grab_folio() — which in v7 contained the GUP-fast check and its
 *     lockdep_assert_irqs_disabled() (docs/reference/kernel-gup-reference.md §4.7; [v7-r-LS]).
 *   6.10+: follow_huge_pmd()/follow_huge_pud() (mm/gup.c, modelled here beside the hugetlb
 *     code they reach): the unshare (-EMLINK) and can_follow_write_pmd() tests as for other
 *     pages, try_grab_folio() on the subpage, the rest of the huge page in one more grab.
 *   hugetlb_fault() -> hugetlb_no_page() (page-cache lookup or pool allocation, SIGBUS past
 *     i_size; shared
 *     mappings map writable, private ones read-only until a write fault) and hugetlb_wp()
 *     (reuse an exclusive anon huge page, else copy).
 *   unmap_hugepage_range().
 *
 * A hugetlb "huge PTE" is a PMD leaf (2 MB) or a PUD leaf (1 GB).
 *
 * Left out: reservations and subpool accounting (the pool either has a free page or the fault
 * fails with VM_FAULT_OOM), PMD sharing, hugetlb migration entries, vmemmap optimisation,
 * surplus pages, FOLL_DUMP, the hugetlb fault mutex and the folio lock that order a fault
 * with truncation (remove_inode_hugepages()).
 */
import { READ_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import { type Ctx, WARN_ON_ONCE } from './kernel.ts';
import type { Folio, Vma } from './mm_types.ts';
import { flush_tlb, type MmuGather } from './mmu_gather.ts';
import { alloc_hugetlb_folio } from './page_alloc.ts';
import { atomic_add_pincount, folio_put, folio_put_refs, folio_ref_add, folio_test_anon, PageAnonExclusive, SetPageAnonExclusive } from './page_ref.ts';
import { ptep_get, ptep_get_and_clear, set_pte_at, update_entry, walk_alloc } from './pgtable-generic.ts';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, type PageTable, mk_pte, pte_mkdirty, pte_mkwrite, pte_mkyoung, pte_none, pte_pfn, pte_present, pte_write } from './pgtable.ts';
import { anon_vma_prepare, folio_add_new_anon_rmap } from './rmap.ts';
import { filemap_add_folio, filemap_get_folio } from './filemap.ts';


import { EFAULT, ENOMEM, FOLL_FORCE, FOLL_NOFAULT, FOLL_PIN, FOLL_WRITE, PAGE_SIZE, VM_MAYSHARE, VM_MAYWRITE, VM_SHARED, VM_WRITE } from './types.ts';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, gup_must_unshare, try_grab_page, VM_FAULT_ERROR, VM_FAULT_OOM, VM_FAULT_SIGBUS, vm_fault_to_errno } from './internal.ts';


export function hugeSize(vma: Vma): number {
  return 2 ** (12 + vma.vm_file!.f_inode.fs.hugeOrder);
}
function hugeOrder(vma: Vma): number {
  return vma.vm_file!.f_inode.fs.hugeOrder;
}

/** hugetlb_walk(): the table holding the huge PTE for addr (PMD table for 2 MB, PUD table for 1 GB). */
function* huge_pte_table(c: Ctx, vma: Vma, addr: number, alloc: boolean): Step<PageTable | null> {
  const gig = hugeOrder(vma) >= 18;
  const w = yield* walk_alloc(c, vma.vm_mm, addr, alloc, gig ? 'pud' : 'pmd');
  if (!w) return null;
  return gig ? w.pud : w.pmd;
}

const S_hwalk = site('follow_hugetlb_page', 'huge_ptep_get() under huge_pte_lock()');
const S_hfault = site('hugetlb_fault', 'huge_ptep_get()');
const S_hset = site('hugetlb_no_page', 'set_huge_pte_at()');
const S_hwp = site('hugetlb_wp', 'huge_ptep_set_access_flags(mkwrite, mkdirty)');
const S_hwp_copy = site('hugetlb_wp', 'replace the huge PTE with the copy');
const S_hzap = site('__unmap_hugepage_range', 'huge_ptep_get_and_clear()');

function make_huge_pte(pfn: number, writable: boolean): number {
  return mk_pte(pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_PSE | (writable ? _PAGE_RW | _PAGE_DIRTY : 0));
}

/**
 * follow_hugetlb_page() (6.5 shape): returns pages pinned or -errno. `grab` is the revision's
 * try_grab_folio (6.1–6.5) — in v7 that is where its GUP-fast check ran with IRQs on.
 */
export function* follow_hugetlb_page(c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[]): Step<number> {
  const size = hugeSize(vma);
  let vaddr = start;
  let remainder = nr_pages;
  let i = 0;
  let err = 0;
  while (vaddr < vma.vm_end && remainder) {
    const table = yield* huge_pte_table(c, vma, vaddr, false);
    if (table) yield* spin_lock(c, table.ptl, S_hwalk);
    const pte = table ? yield* ptep_get(c, table, vaddr, S_hwalk) : 0;
    const absent = pte === null || pte === 0 || pte_none(pte);
    const needWrite = flags & FOLL_WRITE && pte && !pte_write(pte);
    let unshare = false;
    if (!absent && !needWrite && pte && !pte_write(pte)) {
      unshare = yield* gup_must_unshare(c, vma, flags, c.k.page(pte_pfn(pte)));
    }
    if (absent || !pte_present(pte) || needWrite || unshare) {
      if (table) yield* spin_unlock(c, table.ptl, S_hwalk);
      let ff = 0;
      if (flags & FOLL_WRITE) ff |= FAULT_FLAG_WRITE;
      else if (unshare) ff |= FAULT_FLAG_UNSHARE;
      const ret = yield* hugetlb_fault(c, vma, vaddr, ff);
      if (ret & VM_FAULT_ERROR) {
        err = vm_fault_to_errno(ret, flags);
        c.why?.('follow_hugetlb_page', `hugetlb_fault() failed (huge page pool empty?)`);
        break;
      }
      continue;
    }
    const base = Math.floor(vaddr / size) * size;
    const pfn_offset = (vaddr - base) / PAGE_SIZE;
    const head = c.k.page(pte_pfn(pte));
    const refs = Math.min(size / PAGE_SIZE - pfn_offset, remainder, (vma.vm_end - vaddr) / PAGE_SIZE);
    const first = c.k.page(head.pfn + pfn_offset);
    const folio = yield* c.rev.fns.try_grab_folio(c, first, refs, flags);
    if (WARN_ON_ONCE(c, folio === null, 'follow_hugetlb_page(): try_grab_folio() failed under the PTL')) {
      yield* spin_unlock(c, table!.ptl, S_hwalk);
      err = -ENOMEM;
      break;
    }
    for (let j = 0; j < refs; j++) pages.push(head.pfn + pfn_offset + j);
    vaddr += refs * PAGE_SIZE;
    remainder -= refs;
    i += refs;
    yield* spin_unlock(c, table!.ptl, S_hwalk);
  }
  return i ? i : err;
}

const S_follow_huge_pmd = site('follow_huge_pmd', 'pmd_lock(); pmdval = *pmd');
const S_follow_huge_pud = site('follow_huge_pud', 'pud_lock(); pud = *pudp');

/**
 * can_follow_write_common() (the name 6.14's hugetlb FOLL_FORCE support gave the tail that
 * can_follow_write_pte() and can_follow_write_pmd() share): FOLL_FORCE writes to a read-only
 * private mapping once COW gave it an exclusive anon page. Left out: soft-dirty and userfaultfd-wp
 * (not modelled).
 */
function* can_follow_write_common(c: Ctx, head: Folio, vma: Vma, flags: number): Step<boolean> {
  if (!(flags & FOLL_FORCE)) return false;
  if (vma.vm_flags & (VM_MAYSHARE | VM_SHARED)) return false;
  if (!(vma.vm_flags & VM_MAYWRITE)) return false;
  if (vma.vm_flags & VM_WRITE) return false;
  if (!(yield* folio_test_anon(c, head))) return false;
  return yield* PageAnonExclusive(c, head);
}

/**
 * The slow path for hugetlb VMAs from 6.10, where hugetlb goes through the generic
 * follow_page_mask() ("mm/gup: handle hugetlb in the generic follow_page_mask code", Peter Xu;
 * hugetlb_follow_page_mask() is gone): follow_pmd_mask()/follow_pud_mask() find the leaf, and
 * under its lock follow_huge_pmd() (mm/gup.c 6.10:818; Debian 6.12.118:718) or
 * follow_huge_pud() (6.10:744; 6.12.118:625) decides:
 *   - FOLL_WRITE and the leaf may not be written: NULL, a write fault. For a PMD that is
 *     !can_follow_write_pmd() (pmd_write, or FOLL_FORCE on an exclusive anon page of a R/O
 *     private mapping); for a PUD !pud_write() in 6.10-6.12, !can_follow_write_pud() from the
 *     hugetlb FOLL_FORCE support (after 6.12, in 6.14.0: `canFollowWritePud`);
 *   - a read-only leaf and gup_must_unshare(vma, flags, page): -EMLINK, an unshare fault
 *     (FAULT_FLAG_UNSHARE), as for any page (R/O pins of a hugetlb page shared with a fork
 *     child; R/O long-term pins of MAP_PRIVATE hugetlbfs page cache);
 *   - else try_grab_folio(folio, 1, flags) on the subpage, and ctx->page_mask.
 * __get_user_pages() then takes the rest of the huge page's subpages in range with one
 * try_grab_folio(folio, page_increm - 1, flags) ("mm/gup: accelerate thp gup even for pages !=
 * NULL"). Faults go through faultin_page() -> handle_mm_fault() -> hugetlb_fault().
 * Left out: the FOLL_PIN && PageAnon && !PageAnonExclusive VM_BUG_ON_PAGE, FOLL_DUMP, NUMA
 * hinting (hugetlb is never PROT_NONE-hinted here), devmap PUDs.
 */
function* follow_huge_leaves(c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[], canFollowWritePud: boolean): Step<number> {
  let i = 0;
  let vaddr = start;
  const size = hugeSize(vma);
  const pud = hugeOrder(vma) >= 18;
  const fn = pud ? 'follow_huge_pud' : 'follow_huge_pmd';
  const s = pud ? S_follow_huge_pud : S_follow_huge_pmd;
  while (i < nr_pages && vaddr < vma.vm_end) {
    const table = yield* huge_pte_table(c, vma, vaddr, false);
    if (table) yield* spin_lock(c, table.ptl, s);
    const pte = (table ? yield* ptep_get(c, table, vaddr, s) : 0) ?? 0;
    let fault: 'write' | 'read' | 'unshare' | null = null;
    if (!pte || !pte_present(pte)) fault = flags & FOLL_WRITE ? 'write' : 'read';
    else {
      const head = c.k.page(pte_pfn(pte));
      if (flags & FOLL_WRITE && !pte_write(pte) && !((!pud || canFollowWritePud) && (yield* can_follow_write_common(c, head, vma, flags)))) {
        fault = 'write';
        c.why?.(fn, `${pud ? 'pud' : 'pmd'} not writable${flags & FOLL_FORCE ? ' and FOLL_FORCE cannot write through it here' : ''}: take a write fault first`);
      } else if (!pte_write(pte) && (yield* gup_must_unshare(c, vma, flags, head))) {
        fault = 'unshare';
        c.why?.(fn, 'gup_must_unshare(): R/O pin of a hugetlb page not exclusive to this COW mapping: -EMLINK, unshare fault');
      }
    }
    if (fault) {
      if (table) yield* spin_unlock(c, table.ptl, s);
      if (flags & FOLL_NOFAULT) return i ? i : -EFAULT;
      const ff = fault === 'write' ? FAULT_FLAG_WRITE : fault === 'unshare' ? FAULT_FLAG_UNSHARE : 0;
      const ret = yield* hugetlb_fault(c, vma, vaddr, ff);
      if (ret & VM_FAULT_ERROR) {
        c.why?.('faultin_page', 'hugetlb_fault() failed (huge page pool empty?)');
        return i ? i : vm_fault_to_errno(ret, flags);
      }
      continue;
    }
    const base = Math.floor(vaddr / size) * size;
    const off = (vaddr - base) / PAGE_SIZE;
    const page = c.k.page(pte_pfn(pte) + off);
    const r = yield* try_grab_page(c, page, flags);
    yield* spin_unlock(c, table!.ptl, s);
    if (r) return i ? i : r;
    const increm = Math.min(size / PAGE_SIZE - off, nr_pages - i, (vma.vm_end - vaddr) / PAGE_SIZE);
    if (increm > 1) yield* grab_more(c, c.k.page(pte_pfn(pte)), increm - 1, flags);
    for (let j = 0; j < increm; j++) pages.push(page.pfn + j);
    i += increm;
    vaddr += increm * PAGE_SIZE;
  }
  return i;
}

/** 6.10-6.12: follow_huge_pmd()/follow_huge_pud(); a FOLL_WRITE through a read-only PUD always faults. */
export function* follow_huge_leaf(c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[]): Step<number> {
  return yield* follow_huge_leaves(c, vma, start, nr_pages, flags, pages, false);
}

/** From the hugetlb FOLL_FORCE support (after 6.12, in 6.14.0): follow_huge_pud() asks can_follow_write_pud() too. */
export function* follow_huge_leaf_force(c: Ctx, vma: Vma, start: number, nr_pages: number, flags: number, pages: number[]): Step<number> {
  return yield* follow_huge_leaves(c, vma, start, nr_pages, flags, pages, true);
}

/** try_grab_folio(folio, refs, flags) (6.10 slow-path form, 6.12.118 mm/gup.c:1553): more references on a folio we already hold. */
function* grab_more(c: Ctx, folio: Folio, refs: number, flags: number): Step<void> {
  yield* folio_ref_add(c, folio, refs);
  if (flags & FOLL_PIN) yield* atomic_add_pincount(c, folio, refs);
}

/** hugetlb_fault(): returns a vm_fault_t. */
export function* hugetlb_fault(c: Ctx, vma: Vma, addr: number, flags: number): Step<number> {
  const size = hugeSize(vma);
  const haddr = Math.floor(addr / size) * size;
  const table = yield* huge_pte_table(c, vma, haddr, true);
  if (!table) return VM_FAULT_OOM;
  yield* spin_lock(c, table.ptl, S_hfault);
  const pte = yield* ptep_get(c, table, haddr, S_hfault);
  if (pte === null) {
    yield* spin_unlock(c, table.ptl, S_hfault);
    return VM_FAULT_SIGBUS;
  }
  if (pte === 0) {
    yield* spin_unlock(c, table.ptl, S_hfault);
    return yield* hugetlb_no_page(c, vma, table, haddr, flags);
  }
  if (flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && !pte_write(pte)) {
    return yield* hugetlb_wp(c, vma, table, haddr, pte, flags); // drops the lock
  }
  yield* update_entry(c, table, haddr, (v) => (flags & FAULT_FLAG_WRITE ? pte_mkdirty(pte_mkyoung(v)) : pte_mkyoung(v)), S_hwp);
  yield* spin_unlock(c, table.ptl, S_hfault);
  return 0;
}

const S_hsize = site('hugetlb_no_page', 'size = i_size_read(mapping->host) >> huge_page_shift(h)');

function* hugetlb_no_page(c: Ctx, vma: Vma, table: PageTable, haddr: number, flags: number): Step<number> {
  const as = vma.vm_file!.f_mapping;
  const idx = (haddr - vma.vm_start) / hugeSize(vma) + vma.vm_pgoff / (hugeSize(vma) / PAGE_SIZE);
  let folio: Folio | null = yield* filemap_get_folio(c, as, idx);
  if (!folio) {
    // Not in the page cache: past i_size is VM_FAULT_SIGBUS (6.12 mm/hugetlb.c:6179,
    // 6.1 :5868: size = i_size_read(mapping->host) >> huge_page_shift(h); if (idx >= size)).
    const size = yield* READ_ONCE(c, vma.vm_file!.f_inode.i_size, S_hsize);
    if (idx >= Math.floor(size / hugeSize(vma))) {
      c.why?.('hugetlb_no_page', `index ${idx} is at or past i_size of ${as.desc}: VM_FAULT_SIGBUS`);
      return VM_FAULT_SIGBUS;
    }
    folio = yield* alloc_hugetlb_folio(c, hugeOrder(vma), `hugetlb page of ${as.desc}`);
    if (!folio) {
      c.why?.('hugetlb_no_page', 'the hugetlb pool has no free huge page: VM_FAULT_OOM');
      return VM_FAULT_OOM;
    }
    folio.PG_hugetlb.v = true;
    if (vma.vm_flags & VM_MAYSHARE || vma.vm_file) {
      // hugetlb_add_to_page_cache(): the page cache holds a reference; ours becomes the mapping's.
      yield* filemap_add_folio(c, as, folio, idx);
      folio.ghost.owner = 'hugetlb';
    }
  }
  const shared = (vma.vm_flags & VM_SHARED) !== 0;
  yield* spin_lock(c, table.ptl, S_hset);
  const cur = yield* ptep_get(c, table, haddr, S_hset);
  if (cur !== 0) {
    yield* spin_unlock(c, table.ptl, S_hset);
    yield* folio_put(c, folio);
    return 0;
  }
  const writable = (vma.vm_flags & VM_WRITE) !== 0 && shared;
  yield* set_pte_at(c, table, haddr, make_huge_pte(folio.pfn, writable), S_hset);
  folio._entire_mapcount.v++;
  yield* spin_unlock(c, table.ptl, S_hset);
  if (flags & FAULT_FLAG_WRITE && !shared) {
    yield* spin_lock(c, table.ptl, S_hfault);
    const pte = (yield* ptep_get(c, table, haddr, S_hfault)) ?? 0;
    return yield* hugetlb_wp(c, vma, table, haddr, pte, flags);
  }
  return 0;
}

/** hugetlb_wp(): write (or unshare) fault on a read-only huge PTE; called with the lock held. */
function* hugetlb_wp(c: Ctx, vma: Vma, table: PageTable, haddr: number, pte: number, flags: number): Step<number> {
  const old = c.k.page(pte_pfn(pte));
  const unshare = (flags & FAULT_FLAG_UNSHARE) !== 0;
  if (vma.vm_flags & VM_SHARED) {
    if (!unshare) yield* update_entry(c, table, haddr, (v) => pte_mkdirty(pte_mkwrite(v)), S_hwp);
    yield* spin_unlock(c, table.ptl, S_hfault);
    return 0;
  }
  if ((yield* folio_test_anon(c, old)) && (yield* PageAnonExclusive(c, old))) {
    if (!unshare) yield* update_entry(c, table, haddr, (v) => pte_mkdirty(pte_mkwrite(v)), S_hwp);
    yield* spin_unlock(c, table.ptl, S_hfault);
    return 0;
  }
  yield* folio_ref_add(c, old, 1);
  yield* spin_unlock(c, table.ptl, S_hfault);
  const nf = yield* alloc_hugetlb_folio(c, hugeOrder(vma), `hugetlb CoW copy in ${vma.label}`);
  if (!nf) {
    yield* folio_put(c, old);
    return VM_FAULT_OOM;
  }
  nf.PG_hugetlb.v = true;
  nf.data.v = old.data.v;
  anon_vma_prepare(c, vma);
  yield* spin_lock(c, table.ptl, S_hwp_copy);
  const cur = yield* ptep_get(c, table, haddr, S_hwp_copy);
  if (cur === pte) {
    yield* ptep_get_and_clear(c, table, haddr, S_hwp_copy);
    yield* flush_tlb(c);
    yield* folio_add_new_anon_rmap(c, nf, vma, haddr);
    nf._mapcount.v = 0;
    nf._entire_mapcount.v = 1;
    yield* SetPageAnonExclusive(c, nf);
    yield* set_pte_at(c, table, haddr, make_huge_pte(nf.pfn, !unshare && (vma.vm_flags & VM_WRITE) !== 0), S_hwp_copy);
    old._entire_mapcount.v--;
    yield* spin_unlock(c, table.ptl, S_hwp_copy);
    yield* folio_put(c, old); // the old mapping's reference
  } else {
    yield* spin_unlock(c, table.ptl, S_hwp_copy);
    yield* folio_put(c, nf);
  }
  yield* folio_put(c, old); // our folio_get
  return 0;
}

/** __unmap_hugepage_range(): clear each huge PTE, drop the mapping's reference after the flush. */
export function* unmap_hugepage_range(c: Ctx, vma: Vma, start: number, end: number, tlb: MmuGather): Step<void> {
  const size = hugeSize(vma);
  for (let a = Math.floor(start / size) * size; a < end; a += size) {
    const table = yield* huge_pte_table(c, vma, a, false);
    if (!table || table.entry(a).v === 0) continue;
    yield* spin_lock(c, table.ptl, S_hzap);
    const old = yield* ptep_get_and_clear(c, table, a, S_hzap);
    yield* spin_unlock(c, table.ptl, S_hzap);
    if (pte_present(old)) {
      const f = c.k.page(pte_pfn(old));
      f._entire_mapcount.v--;
      tlb.pages.push(f);
    }
  }
}

export { folio_put_refs };
