/*
 * Models mm/memory.c (6.5): handle_mm_fault() -> handle_pte_fault() with do_anonymous_page(),
 * do_read_fault(), do_cow_fault(), do_shared_fault() (->page_mkwrite), do_wp_page()
 * (wp_page_shared / reuse of an exclusive anon page / wp_page_copy), do_swap_page(),
 * zap_pte_range() (munmap, MADV_DONTNEED), vm_normal_page(), vm_insert_page() and fork's
 * copy_page_range() / copy_present_pte() with write_protect_seq and copy-on-pin.
 *
 * PTEs installed by faults follow do_set_pte()/wp_page_reuse(): a read fault maps with
 * vm_page_prot (writable only for a shared-writable mapping that does not want write-notify);
 * a write fault maps writable and dirty. Mappings that want write-notify (ext4/xfs/btrfs
 * MAP_SHARED) therefore get read-only PTEs until a write fault runs ->page_mkwrite.
 *
 * Left out: THP faults (do_huge_pmd_anonymous_page: THPs are set up directly by scenarios),
 * fault-around, userfaultfd, NUMA balancing (a PROT_NONE PTE is just made accessible again),
 * mmu notifiers, memcg, VM_FAULT_RETRY (faults never drop mmap_lock), uprobes, device-private
 * and hwpoison entries.
 */
import { announce, init, READ_ONCE, WRITE_ONCE } from '../sim/cell.ts';
import { READ, type Step, site } from '../sim/op.ts';
import { raw_write_seqcount_bump, spin_lock, spin_unlock } from '../sim/sync.ts';
import { type Ctx, WARN_ON_ONCE } from './kernel.ts';
import { filemap_fault } from './filemap.ts';
import { hugetlb_fault, unmap_hugepage_range } from './hugetlb.ts';
import { __split_huge_pmd, zap_huge_pmd } from './huge_memory.ts';
import type { Folio, MmStruct, Page, Vma } from './mm_types.ts';
import { flush_tlb, type MmuGather, tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.ts';
import { alloc_pages } from './page_alloc.ts';
import { ClearPageAnonExclusive, folio_get, folio_put, folio_ref_count, folio_test_anon, folio_test_swapcache, PageAnonExclusive, SetPageAnonExclusive, page_folio } from './page_ref.ts';
import { fault_dirty_shared_page, folio_lock, folio_unlock, set_page_dirty } from './page-writeback.ts';
import { PTE_LEVEL, ptep_get, ptep_get_and_clear, ptep_get_lockless, set_pte_at, table_of, update_entry, walk_alloc } from './pgtable-generic.ts';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_USER, type PageTable, type pte_t, is_migration_entry, is_swap_pte, mk_pte, pte_dirty, pte_huge, pte_mkclean, pte_mkdirty, pte_mkwrite, pte_mkyoung, pte_none, pte_pfn, pte_present, pte_protnone, pte_special, pte_write, pte_wrprotect, swp_offset } from './pgtable.ts';
import { anon_vma_prepare, folio_add_lru, folio_add_new_anon_rmap, page_add_file_rmap, page_remove_rmap } from './rmap.ts';
import { swapin_folio } from './swap.ts';
import { GUP_PIN_COUNTING_BIAS, PAGE_SIZE, VM_MAYSHARE, VM_SHARED, VM_WRITE } from './types.ts';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, userZone, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS } from './internal.ts';

// ----- vm_fault_t -----
/** vm_normal_page(): the struct page behind a PTE, or null for special mappings (zero page, PFNMAP). */
export function vm_normal_page(c: Ctx, _vma: Vma, pte: pte_t): Page | null {
  if (pte_special(pte)) return null;
  return c.k.page(pte_pfn(pte));
}

/** The initial PTE protection of a new mapping (vm_page_prot). */
function vm_page_prot(vma: Vma, pfn: number): pte_t {
  return mk_pte(pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | (vma.vm_page_prot_write ? _PAGE_RW : 0));
}
/** maybe_mkwrite(): writable only in a VM_WRITE VMA. */
function maybe_mkwrite(pte: pte_t, vma: Vma): pte_t {
  return vma.vm_flags & VM_WRITE ? pte_mkwrite(pte) : pte;
}

const S_fault_read = site('handle_pte_fault', 'vmf->orig_pte = ptep_get_lockless()');
const S_fault_ptl = site('handle_pte_fault', 'spin_lock(vmf->ptl)');
const S_fault_unlock = site('handle_pte_fault', 'pte_unmap_unlock()');
const S_access_flags = site('handle_pte_fault', 'ptep_set_access_flags()');
const S_anon_ptl = site('do_anonymous_page', 'pte_offset_map_lock()');
const S_anon_unlock = site('do_anonymous_page', 'pte_unmap_unlock()');
const S_anon_set = site('do_anonymous_page', 'set_pte_at()');
const S_zero_set = site('do_anonymous_page', 'set_pte_at(zero page, special, read-only)');
const S_uptodate = site('__folio_mark_uptodate', 'set PG_uptodate');
const S_set_pte_fault = site('do_set_pte', 'set_pte_at()');
const S_finish_ptl = site('finish_fault', 'pte_offset_map_lock()');
const S_finish_unlock = site('finish_fault', 'pte_unmap_unlock()');
const S_wp_reuse = site('wp_page_reuse', 'ptep_set_access_flags(mkwrite, mkdirty)');
const S_wp_copy_ptl = site('wp_page_copy', 'pte_offset_map_lock()');
const S_wp_copy_clear = site('wp_page_copy', 'ptep_clear_flush()');
const S_wp_copy_set = site('wp_page_copy', 'set_pte_at_notify(new page)');
const S_numa = site('do_numa_page', 'restore the PTE protections');
const S_mkwrite = site('do_page_mkwrite', 'vma->vm_ops->page_mkwrite(): folio->mapping != inode->i_mapping: truncated?');
const S_mkwrite_size = site('do_page_mkwrite', '->page_mkwrite(): size = i_size_read(inode)');
const S_mkwrite_prep = site('do_page_mkwrite', '->page_mkwrite(): attach and reserve the folio\'s blocks (folio->private)');

/**
 * handle_mm_fault(): returns a vm_fault_t. Called with mmap_lock held (read or write).
 */
export function* handle_mm_fault(c: Ctx, vma: Vma, addr: number, flags: number): Step<number> {
  if (vma.vm_file?.hugetlb) return yield* hugetlb_fault(c, vma, addr, flags);
  const mm = vma.vm_mm;
  const walk = yield* walk_alloc(c, mm, addr, true, 'pmd');
  if (!walk?.pmd) return VM_FAULT_OOM;
  const pmdv = walk.pmd.entry(addr).v;
  if (pte_huge(pmdv)) return yield* huge_pmd_fault(c, vma, walk.pmd, addr, flags);
  const w2 = yield* walk_alloc(c, mm, addr, true, 'pte');
  if (!w2?.pte) return VM_FAULT_OOM;
  return yield* handle_pte_fault(c, vma, w2.pte, addr, flags);
}

function* handle_pte_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number, flags: number): Step<number> {
  const orig = yield* ptep_get_lockless(c, pt, addr, S_fault_read);
  if (orig === null) return VM_FAULT_SIGBUS;
  if (pte_none(orig)) {
    return vma.vm_ops === null ? yield* do_anonymous_page(c, vma, pt, addr, flags) : yield* do_fault(c, vma, pt, addr, flags);
  }
  if (!pte_present(orig)) {
    if (is_migration_entry(orig)) {
      yield* migration_entry_wait(c, pt, addr, orig);
      return 0;
    }
    return yield* do_swap_page(c, vma, pt, addr, orig, flags);
  }
  if (pte_protnone(orig)) {
    // do_numa_page(): make it accessible again (NUMA migration left out).
    yield* update_entry(c, pt, addr, (v) => (v === orig ? vm_page_prot(vma, pte_pfn(v)) : v), S_numa);
    return 0;
  }
  yield* spin_lock(c, pt.ptl, S_fault_ptl);
  const entry = yield* ptep_get(c, pt, addr);
  if (entry !== orig) {
    yield* spin_unlock(c, pt.ptl, S_fault_unlock);
    return 0;
  }
  let ne = entry;
  if (flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!pte_write(entry)) return yield* do_wp_page(c, vma, pt, addr, entry, flags); // drops the PTL
    if (flags & FAULT_FLAG_WRITE) ne = pte_mkdirty(ne);
  }
  ne = pte_mkyoung(ne);
  if (ne !== entry) yield* update_entry(c, pt, addr, () => ne, S_access_flags);
  yield* spin_unlock(c, pt.ptl, S_fault_unlock);
  return 0;
}

const S_mig_wait = site('migration_entry_wait', 'wait for the migration entry to be replaced');

/** migration_entry_wait(): sleep until the entry changes (modelled as a blocking read). */
function* migration_entry_wait(c: Ctx, pt: PageTable, addr: number, orig: pte_t): Step<void> {
  const cell = pt.entry(addr);
  const op = announce(c, cell.id, READ, S_mig_wait);
  op.wait = { kind: 'cell-change', cell, value: orig };
  yield op;
}

/** do_anonymous_page(): the zero page for reads, a new exclusive anon page for writes. */
function* do_anonymous_page(c: Ctx, vma: Vma, pt: PageTable, addr: number, flags: number): Step<number> {
  if (vma.vm_flags & VM_SHARED) return VM_FAULT_SIGBUS;
  if (!(flags & FAULT_FLAG_WRITE)) {
    const entry = mk_pte(c.k.zeroPfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL);
    yield* spin_lock(c, pt.ptl, S_anon_ptl);
    const cur = yield* ptep_get(c, pt, addr);
    if (cur === 0) yield* set_pte_at(c, pt, addr, entry, S_zero_set);
    yield* spin_unlock(c, pt.ptl, S_anon_unlock);
    return 0;
  }
  anon_vma_prepare(c, vma);
  const folio = yield* alloc_pages(c, 0, userZone(c, vma), 'anon', `anon page of ${vma.label}`);
  yield* WRITE_ONCE(c, folio.PG_uptodate, true, S_uptodate);
  let entry = vm_page_prot(vma, folio.pfn);
  if (vma.vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry));
  yield* spin_lock(c, pt.ptl, S_anon_ptl);
  const cur = yield* ptep_get(c, pt, addr);
  if (cur !== 0) {
    yield* spin_unlock(c, pt.ptl, S_anon_unlock);
    yield* folio_put(c, folio);
    return 0;
  }
  yield* folio_add_new_anon_rmap(c, folio, vma, addr);
  yield* folio_add_lru(c, folio);
  yield* set_pte_at(c, pt, addr, entry, S_anon_set);
  yield* spin_unlock(c, pt.ptl, S_anon_unlock);
  return 0;
}

/** do_fault(): read / CoW / shared. */
function* do_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number, flags: number): Step<number> {
  if (vma.vm_ops!.fault === 'driver') return VM_FAULT_SIGBUS; // vm_insert_page() mappings are populated at mmap time
  if (!(flags & FAULT_FLAG_WRITE)) return yield* do_read_fault(c, vma, pt, addr);
  if (!(vma.vm_flags & VM_SHARED)) return yield* do_cow_fault(c, vma, pt, addr);
  return yield* do_shared_fault(c, vma, pt, addr);
}

/** __do_fault(): ->fault returns the folio with a reference. */
function* __do_fault(c: Ctx, vma: Vma, addr: number): Step<Folio | number> {
  const pgoff = Math.floor((addr - vma.vm_start) / PAGE_SIZE) + vma.vm_pgoff;
  return yield* filemap_fault(c, vma, pgoff);
}

/** finish_fault() -> do_set_pte(): map `page` (file rmap, or new anon rmap for a CoW page). */
function* finish_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number, folio: Folio, write: boolean, cow: boolean): Step<boolean> {
  yield* spin_lock(c, pt.ptl, S_finish_ptl);
  const cur = yield* ptep_get(c, pt, addr);
  if (cur !== 0) {
    yield* spin_unlock(c, pt.ptl, S_finish_unlock);
    return false;
  }
  let entry = vm_page_prot(vma, folio.pfn);
  if (write) entry = maybe_mkwrite(pte_mkdirty(entry), vma);
  if (cow) {
    yield* folio_add_new_anon_rmap(c, folio, vma, addr);
    yield* folio_add_lru(c, folio);
  } else {
    yield* page_add_file_rmap(c, folio);
  }
  yield* set_pte_at(c, pt, addr, entry, S_set_pte_fault);
  yield* spin_unlock(c, pt.ptl, S_finish_unlock);
  return true;
}

/** do_read_fault(): map the page-cache folio read-only (or as vm_page_prot says); the fault returns it locked. */
function* do_read_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number): Step<number> {
  const r = yield* __do_fault(c, vma, addr);
  if (typeof r === 'number') return r;
  const mapped = yield* finish_fault(c, vma, pt, addr, r, false, false);
  yield* folio_unlock(c, r);
  if (!mapped) yield* folio_put(c, r);
  return 0;
}

/** do_cow_fault(): copy the page-cache page into a new anon page, map that writable. */
function* do_cow_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number): Step<number> {
  anon_vma_prepare(c, vma);
  const cow = yield* alloc_pages(c, 0, userZone(c, vma), 'anon', `anon CoW copy in ${vma.label}`);
  const r = yield* __do_fault(c, vma, addr);
  if (typeof r === 'number') {
    yield* folio_put(c, cow);
    return r;
  }
  init(cow.data, r.data.v); // copy_user_highpage()
  yield* WRITE_ONCE(c, cow.PG_uptodate, true, S_uptodate);
  const mapped = yield* finish_fault(c, vma, pt, addr, cow, true, true);
  if (!mapped) yield* folio_put(c, cow);
  yield* folio_unlock(c, r);
  yield* folio_put(c, r); // the page-cache page's fault reference
  return 0;
}

/**
 * do_page_mkwrite(): tell the filesystem the folio is about to be written (replaced by the
 * skip-page-mkwrite mutant). Called with the folio unlocked; 0 returns it locked (the kernel's
 * VM_FAULT_LOCKED), VM_FAULT_NOPAGE unlocked. The filesystems modelled use
 * block_page_mkwrite() (fs/buffer.c:2636 in 6.12): folio_lock(); a folio truncated meanwhile
 * (folio->mapping changed, or at or past i_size) is -EFAULT, "We overload EFAULT to mean page
 * got truncated", which ext4 turns into VM_FAULT_NOPAGE: the fault is retried (and is SIGBUS
 * past i_size).
 */
export function* do_page_mkwrite(c: Ctx, vma: Vma, folio: Folio): Step<number> {
  yield* folio_lock(c, folio);
  if (!vma.vm_ops?.page_mkwrite) return 0;
  const inode = vma.vm_file!.f_inode;
  const size = yield* READ_ONCE(c, inode.i_size, S_mkwrite_size);
  const op = announce(c, folio.mapping.id, READ, S_mkwrite);
  yield op;
  if (folio.mapping.v !== inode.i_mapping.ptr || folio.index.v * PAGE_SIZE >= size) {
    yield* folio_unlock(c, folio);
    return VM_FAULT_NOPAGE;
  }
  yield* WRITE_ONCE(c, folio.fs_private, true, S_mkwrite_prep);
  c.note?.(`${vma.vm_ops.name}.page_mkwrite(): the filesystem prepares ${folio.name} for writing`);
  yield* set_page_dirty(c, folio);
  return 0;
}

/** do_shared_fault(): ->page_mkwrite, map writable, dirty the page (fault_dirty_shared_page() unlocks it). */
function* do_shared_fault(c: Ctx, vma: Vma, pt: PageTable, addr: number): Step<number> {
  const r = yield* __do_fault(c, vma, addr);
  if (typeof r === 'number') return r;
  if (vma.vm_ops?.page_mkwrite) {
    yield* folio_unlock(c, r);
    const mk = yield* c.rev.fns.do_page_mkwrite(c, vma, r);
    if (mk) {
      yield* folio_put(c, r);
      return mk & VM_FAULT_NOPAGE ? 0 : mk;
    }
  }
  const mapped = yield* finish_fault(c, vma, pt, addr, r, true, false);
  if (!mapped) {
    yield* folio_unlock(c, r);
    yield* folio_put(c, r);
    return 0;
  }
  yield* fault_dirty_shared_page(c, vma, r);
  yield* folio_unlock(c, r);
  return 0;
}

/**
 * do_wp_page(): a write (or unshare) fault on a present read-only PTE; called with the PTL
 * held, returns with it dropped.
 */
function* do_wp_page(c: Ctx, vma: Vma, pt: PageTable, addr: number, orig: pte_t, flags: number): Step<number> {
  const unshare = (flags & FAULT_FLAG_UNSHARE) !== 0;
  const page = vm_normal_page(c, vma, orig);
  if (vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) {
    if (!page || unshare) {
      yield* spin_unlock(c, pt.ptl, S_fault_unlock);
      return 0;
    }
    return yield* wp_page_shared(c, vma, pt, addr, orig, yield* page_folio(c, page));
  }
  const folio = page ? yield* page_folio(c, page) : null;
  if (folio && page && (yield* folio_test_anon(c, folio))) {
    const excl = yield* PageAnonExclusive(c, page);
    if (excl || (yield* wp_can_reuse_anon_folio(c, folio))) {
      if (!excl) yield* SetPageAnonExclusive(c, page);
      if (!unshare) yield* update_entry(c, pt, addr, (v) => maybe_mkwrite(pte_mkdirty(pte_mkyoung(v)), vma), S_wp_reuse);
      yield* spin_unlock(c, pt.ptl, S_fault_unlock);
      return 0;
    }
  }
  if (folio) yield* folio_get(c, folio);
  yield* spin_unlock(c, pt.ptl, S_fault_unlock);
  return yield* wp_page_copy(c, vma, pt, addr, orig, folio, unshare);
}

/** wp_can_reuse_anon_folio() (simplified: no LRU drain, no swap freeing): the only reference is ours. */
function* wp_can_reuse_anon_folio(c: Ctx, folio: Folio): Step<boolean> {
  const ref = yield* folio_ref_count(c, folio);
  const swap = (yield* folio_test_swapcache(c, folio)) ? 1 : 0;
  return ref <= 1 + swap;
}

/** wp_page_shared(): ->page_mkwrite (which returns the folio locked), then make the PTE writable and dirty the folio. */
function* wp_page_shared(c: Ctx, vma: Vma, pt: PageTable, addr: number, orig: pte_t, folio: Folio): Step<number> {
  yield* folio_get(c, folio);
  yield* spin_unlock(c, pt.ptl, S_fault_unlock);
  const mk = yield* c.rev.fns.do_page_mkwrite(c, vma, folio);
  if (mk) {
    yield* folio_put(c, folio);
    return mk & VM_FAULT_NOPAGE ? 0 : mk;
  }
  // finish_mkwrite_fault(): re-take the PTL, re-check, reuse.
  yield* spin_lock(c, pt.ptl, S_fault_ptl);
  const cur = yield* ptep_get(c, pt, addr);
  if (cur === orig) yield* update_entry(c, pt, addr, (v) => maybe_mkwrite(pte_mkdirty(pte_mkyoung(v)), vma), S_wp_reuse);
  yield* spin_unlock(c, pt.ptl, S_fault_unlock);
  if (cur === orig) {
    yield* fault_dirty_shared_page(c, vma, folio);
  }
  yield* folio_unlock(c, folio);
  yield* folio_put(c, folio);
  return 0;
}

/** wp_page_copy(): break CoW (or unshare) into a new exclusive anon page. */
function* wp_page_copy(c: Ctx, vma: Vma, pt: PageTable, addr: number, orig: pte_t, old: Folio | null, unshare: boolean): Step<number> {
  anon_vma_prepare(c, vma);
  const nf = yield* alloc_pages(c, 0, userZone(c, vma), 'anon', `anon ${unshare ? 'unshare' : 'CoW'} copy in ${vma.label}`);
  init(nf.data, old ? old.data.v : 0); // copy_user_highpage() / zeroing
  yield* WRITE_ONCE(c, nf.PG_uptodate, true, S_uptodate);
  yield* spin_lock(c, pt.ptl, S_wp_copy_ptl);
  const cur = yield* ptep_get(c, pt, addr);
  let freeNew = true;
  if (cur === orig) {
    let entry = vm_page_prot(vma, nf.pfn);
    entry = pte_mkyoung(entry);
    entry = unshare ? entry - (entry % 4096 & _PAGE_RW) : maybe_mkwrite(pte_mkdirty(entry), vma);
    yield* ptep_get_and_clear(c, pt, addr, S_wp_copy_clear);
    yield* flush_tlb(c);
    yield* folio_add_new_anon_rmap(c, nf, vma, addr);
    yield* folio_add_lru(c, nf);
    yield* set_pte_at(c, pt, addr, entry, S_wp_copy_set);
    if (old) yield* page_remove_rmap(c, old);
    freeNew = false;
  }
  yield* spin_unlock(c, pt.ptl, S_wp_copy_ptl);
  if (freeNew) yield* folio_put(c, nf);
  else if (old) yield* folio_put(c, old); // the old mapping's reference
  if (old) yield* folio_put(c, old); // do_wp_page()'s folio_get()
  return 0;
}

/** Faults on a PMD-mapped THP: reuse if allowed; otherwise split the PMD and retry at PTE level. */
function* huge_pmd_fault(c: Ctx, vma: Vma, pmdTable: PageTable, addr: number, flags: number): Step<number> {
  yield* __split_huge_pmd(c, vma, pmdTable, addr);
  const w = yield* walk_alloc(c, vma.vm_mm, addr, true, 'pte');
  if (!w?.pte) return VM_FAULT_OOM;
  return yield* handle_pte_fault(c, vma, w.pte, addr, flags);
}

/** do_swap_page(): bring the folio back from swap (or the swap cache) and map it. */
function* do_swap_page(c: Ctx, vma: Vma, pt: PageTable, addr: number, orig: pte_t, flags: number): Step<number> {
  if (!is_swap_pte(orig)) return VM_FAULT_SIGBUS;
  const folio = yield* swapin_folio(c, vma, swp_offset(orig));
  if (!folio) return VM_FAULT_OOM;
  yield* spin_lock(c, pt.ptl, S_fault_ptl);
  const cur = yield* ptep_get(c, pt, addr);
  if (cur !== orig) {
    yield* spin_unlock(c, pt.ptl, S_fault_unlock);
    yield* folio_put(c, folio);
    return 0;
  }
  let entry = vm_page_prot(vma, folio.pfn);
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  if (write) entry = maybe_mkwrite(pte_mkdirty(entry), vma);
  yield* page_add_file_rmap(c, folio); // mapcount only: the folio keeps its anon mapping
  yield* SetPageAnonExclusive(c, folio);
  yield* set_pte_at(c, pt, addr, entry, S_set_pte_fault);
  yield* spin_unlock(c, pt.ptl, S_fault_unlock);
  return 0;
}

// ===== zap (munmap / MADV_DONTNEED) =====

const S_zap_ptl = site('zap_pte_range', 'pte_offset_map_lock()');
const S_zap_unlock = site('zap_pte_range', 'pte_unmap_unlock()');
const S_zap_clear = site('zap_pte_range', 'ptep_get_and_clear_full()');

/**
 * zap_pte_range() for [start, end) of a VMA: clear each PTE, drop the rmap, batch the page in
 * the mmu_gather (freed after the TLB flush in tlb_finish_mmu()).
 */
export function* zap_pte_range(c: Ctx, vma: Vma, pt: PageTable, start: number, end: number, tlb: MmuGather): Step<void> {
  yield* spin_lock(c, pt.ptl, S_zap_ptl);
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const cell = pt.entry(addr);
    if (cell.v === 0) continue;
    const ptent = yield* ptep_get_and_clear(c, pt, addr, S_zap_clear);
    if (ptent === 0) continue;
    if (!pte_present(ptent)) {
      // free_swap_and_cache(): the swap slot's data is dropped; a swap-cache folio loses that mapping.
      continue;
    }
    const page = vm_normal_page(c, vma, ptent);
    if (!page) continue;
    const folio = yield* page_folio(c, page);
    if (!(yield* folio_test_anon(c, folio)) && pte_dirty(ptent)) yield* set_page_dirty(c, folio);
    yield* page_remove_rmap(c, page);
    tlb.pages.push(folio);
    c.note?.(`zap: PTE for 0x${addr.toString(16)} cleared; ${folio.name} queued for freeing after the TLB flush`);
  }
  yield* spin_unlock(c, pt.ptl, S_zap_unlock);
}

/** Zap the PTE-mapped and PMD-mapped pages of [start, end) in a VMA (unmap_page_range()). */
export function* unmap_page_range(c: Ctx, vma: Vma, start: number, end: number, tlb: MmuGather): Step<void> {
  for (let a = start; a < end; ) {
    const pmdEnd = Math.min(end, (Math.floor(a / (2 * 1024 * 1024)) + 1) * 2 * 1024 * 1024);
    const w = yield* walk_alloc(c, vma.vm_mm, a, false, 'pmd');
    if (w?.pmd) {
      const pmdv = w.pmd.entry(a).v;
      if (pte_huge(pmdv)) yield* zap_huge_pmd(c, vma, w.pmd, a, tlb);
      else {
        const pt = table_of(c, pmdv, PTE_LEVEL);
        if (pt) yield* zap_pte_range(c, vma, pt, a, pmdEnd, tlb);
      }
    }
    a = pmdEnd;
  }
}

/** zap_page_range_single() (MADV_DONTNEED): zap, flush, free; tables stay. */
export function* zap_page_range_single(c: Ctx, vma: Vma, start: number, end: number): Step<void> {
  const tlb = tlb_gather_mmu();
  if (vma.vm_file?.hugetlb) yield* unmap_hugepage_range(c, vma, start, end, tlb);
  else yield* unmap_page_range(c, vma, start, end, tlb);
  yield* tlb_finish_mmu(c, tlb);
}

// ===== vm_insert_page() =====

/** vm_insert_page(): map a driver's kernel page (NULL ->mapping, order 0) into a VM_MIXEDMAP VMA. Setup only. */
export function vm_insert_page_setup(vma: Vma, pt: PageTable, addr: number, page: Page): void {
  page._refcount.v += 1;
  page._mapcount.v += 1;
  const entry = mk_pte(page.pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | (vma.vm_flags & VM_WRITE ? _PAGE_RW | _PAGE_DIRTY : 0));
  pt.entry(addr).v = entry;
}

// ===== fork: copy_page_range() =====

const S_fork_ptl = site('copy_pte_range', 'spin_lock(src_ptl)');
const S_fork_wps_begin = site('copy_page_range', 'raw_write_seqcount_begin(&src_mm->write_protect_seq)');
const S_fork_wps_end = site('copy_page_range', 'raw_write_seqcount_end(&src_mm->write_protect_seq)');
const S_fork_wrprotect = site('copy_present_pte', 'ptep_set_wrprotect(src_mm, addr, src_pte)');
const S_fork_dst = site('copy_present_pte', 'set_pte_at(dst_mm, addr, dst_pte)');
const S_fork_has_pinned = site('page_needs_cow_for_dma', 'test_bit(MMF_HAS_PINNED, &mm->flags)');
const S_fork_pinned = site('page_needs_cow_for_dma', 'folio_maybe_dma_pinned(): _refcount >= GUP_PIN_COUNTING_BIAS');

/**
 * page_needs_cow_for_dma() (include/linux/mm.h): the mm has ever pinned (MMF_HAS_PINNED) and the
 * folio may be DMA-pinned (folio_maybe_dma_pinned(): _refcount >= GUP_PIN_COUNTING_BIAS for a
 * small folio). Replaced by the no-copy-on-pin mutant.
 */
export function* page_needs_cow_for_dma(c: Ctx, vma: Vma, folio: Folio): Step<boolean> {
  const hasPinned = yield* READ_ONCE(c, vma.vm_mm.has_pinned, S_fork_has_pinned);
  const op = announce(c, folio._refcount.id, READ, S_fork_pinned);
  yield op;
  const maybePinned = folio._refcount.v >= GUP_PIN_COUNTING_BIAS;
  op.after = maybePinned ? 'maybe pinned' : 'not pinned';
  return hasPinned && maybePinned;
}

/**
 * copy_page_range() for a private anonymous VMA (called by dup_mmap() with both mmap_locks held
 * for write): bump write_protect_seq, then for each present anon PTE either copy the page (it may
 * be DMA-pinned: copy-on-pin) or share it: clear PageAnonExclusive and write-protect both PTEs.
 */
export function* copy_page_range(c: Ctx, dst: MmStruct, dvma: Vma, src: Vma): Step<void> {
  const smm = src.vm_mm;
  const cow = (src.vm_flags & (VM_SHARED | 0x20)) === 0x20; // is_cow_mapping()
  if (cow) yield* raw_write_seqcount_bump(c, smm.write_protect_seq, S_fork_wps_begin);
  for (let addr = src.vm_start; addr < src.vm_end; addr += PAGE_SIZE) {
    const sw = yield* walk_alloc(c, smm, addr, false, 'pte');
    if (!sw?.pte) continue;
    const dw = yield* walk_alloc(c, dst, addr, true, 'pte');
    if (!dw?.pte) continue;
    yield* spin_lock(c, sw.pte.ptl, S_fork_ptl);
    const pte = yield* ptep_get(c, sw.pte, addr);
    if (pte !== null && pte !== 0 && pte_present(pte)) {
      yield* copy_present_pte(c, dvma, src, sw.pte, dw.pte, addr, pte, cow);
    }
    yield* spin_unlock(c, sw.pte.ptl, S_fork_ptl);
  }
  if (cow) yield* raw_write_seqcount_bump(c, smm.write_protect_seq, S_fork_wps_end);
}

function* copy_present_pte(
  c: Ctx,
  dvma: Vma,
  src: Vma,
  spt: PageTable,
  dpt: PageTable,
  addr: number,
  pte: pte_t,
  cow: boolean,
): Step<void> {
  const page = vm_normal_page(c, src, pte);
  let entry = pte;
  if (page) {
    const folio = yield* page_folio(c, page);
    if (yield* folio_test_anon(c, folio)) {
      // page_try_dup_anon_rmap(): a maybe-pinned exclusive page must be copied for the child.
      const excl = yield* PageAnonExclusive(c, page);
      if (excl && (yield* c.rev.fns.page_needs_cow_for_dma(c, src, folio))) {
        const nf = yield* alloc_pages(c, 0, 'normal', 'anon', `anon copy for the fork child (copy-on-pin)`);
        init(nf.data, folio.data.v);
        anon_vma_prepare(c, dvma);
        yield* folio_add_new_anon_rmap(c, nf, dvma, addr);
        yield* set_pte_at(c, dpt, addr, mk_pte(nf.pfn, (pte % 4096) | _PAGE_RW), S_fork_dst);
        c.note?.(`fork: ${folio.name} may be pinned, the child gets a copy (${nf.name})`);
        return;
      }
      if (excl) yield* ClearPageAnonExclusive(c, page);
      c.note?.(`fork: ${folio.name} is now shared with the child (not exclusive)`);
    }
    yield* folio_get(c, folio);
    yield* page_add_file_rmap(c, page);
  }
  if (cow && pte_write(pte)) {
    yield* update_entry(c, spt, addr, (v) => pte_wrprotect(v), S_fork_wrprotect);
    entry = pte_wrprotect(entry);
  }
  yield* set_pte_at(c, dpt, addr, pte_mkclean(entry), S_fork_dst);
  if (!dvma.anon_vma) dvma.anon_vma = src.anon_vma;
}


export { WARN_ON_ONCE, pte_wrprotect, pte_mkclean, pte_write, pte_dirty };
