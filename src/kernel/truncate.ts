/*
 * Models mm/truncate.c and the unmap_mapping_range() of mm/memory.c. Sources, Debian's 6.12.118
 * tree (6.1.192 in brackets):
 *   truncate_setsize() (mm/truncate.c:770 [794]): i_size_write(inode, newsize), then
 *     truncate_pagecache() (:737 [761]): unmap_mapping_range(mapping, holebegin, 0, 1) (zap every
 *     PTE of the range in every VMA, private CoW copies included), truncate_inode_pages() (lock
 *     each folio, unmap it again if it is still mapped, remove it from the page cache:
 *     truncate_cleanup_folio() :155, filemap_remove_folio() -> folio->mapping = NULL), then
 *     unmap_mapping_range() once more, for private CoW pages made meanwhile;
 *   truncate_inode_pages_final() (:461 [489]): evict()'s last truncation of an inode nobody
 *     maps or holds open any more (inode.ts).
 *
 * Truncation never frees the inode: the VMA's file holds it (inode.ts). A fault at or past the
 * new i_size is SIGBUS (filemap.ts), so no new page enters the truncated range through a VMA.
 *
 * The i_pages walk and each folio_mapped() read are scheduling points. The walk is taken under
 * the i_pages lock (the kernel walks under RCU and takes a reference): it sees each insert
 * entirely before or after it.
 *
 * The second unmap_mapping_range() is made for private VMAs only: in a shared VMA it finds
 * nothing, as every PTE there maps a page-cache folio, and a fault maps one only with the folio
 * locked and i_size re-checked under that lock (filemap.ts): one it mapped before this
 * truncation's i_size_write() was in the page cache then, so truncate_inode_pages() finds it,
 * waits for its lock and unmaps it.
 *
 * Left out: partial-page zeroing, the i_mmap tree (VMAs are found by scanning every mm),
 * invalidate_lock, shadow entries, writeback waits, find_lock_entries()' trylock pass,
 * mapping_set_exiting().
 */
import { READ_ONCE, WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import { filemap_remove_folio } from './filemap.ts';
import type { Ctx } from './kernel.ts';
import { zap_page_range_single } from './memory.ts';
import type { AddressSpace, Inode } from './mm_types.ts';
import { folio_lock, folio_unlock } from './page-writeback.ts';
import { PAGE_SIZE, VM_SHARED } from './types.ts';

const S_isize = site('truncate_setsize', 'i_size_write(inode, newsize)');
const S_find_entries = site('find_lock_entries', 'walk mapping->i_pages from the truncation point');
const S_recheck_mapping = site('find_lock_entries', 'folio->mapping != mapping: truncated meanwhile?');
const S_folio_mapped = site('truncate_cleanup_folio', 'folio_mapped(folio): atomic_read(&folio->_mapcount)');

/** unmap_mapping_range(): zap the file range [from, to) in every VMA mapping the file (`cowOnly`: private VMAs only). */
function* unmap_mapping_range(c: Ctx, as: AddressSpace, fromIdx: number, toIdx: number, cowOnly = false): Step<void> {
  for (const mm of c.k.mms) {
    for (const vma of mm.vmas) {
      if (vma.vm_file?.f_mapping !== as) continue;
      if (cowOnly && vma.vm_flags & VM_SHARED) continue;
      const start = Math.max(vma.vm_start, vma.vm_start + (fromIdx - vma.vm_pgoff) * PAGE_SIZE);
      const end = Math.min(vma.vm_end, vma.vm_start + (toIdx - vma.vm_pgoff) * PAGE_SIZE);
      if (start < end) yield* zap_page_range_single(c, vma, start, end);
    }
  }
}

/** truncate_setsize(inode, newsize): the new i_size first, then the page cache from it on. */
export function* truncate_setsize(c: Ctx, inode: Inode, newsize: number): Step<void> {
  yield* WRITE_ONCE(c, inode.i_size, newsize, S_isize);
  yield* truncate_pagecache(c, inode.i_mapping, newsize);
}

/**
 * truncate_pagecache(inode, newsize): unmap, then remove every folio from newsize on from the
 * page cache (truncate_inode_pages_range() -> truncate_inode_folio()), then unmap private CoW
 * copies made meanwhile.
 */
export function* truncate_pagecache(c: Ctx, as: AddressSpace, newsize: number): Step<void> {
  const from = Math.ceil(newsize / PAGE_SIZE);
  yield* unmap_mapping_range(c, as, from, Number.MAX_SAFE_INTEGER);
  yield* truncate_inode_pages(c, as, from);
  yield* unmap_mapping_range(c, as, from, Number.MAX_SAFE_INTEGER, true);
}

/** truncate_inode_pages_final(): evict()'s truncation of the whole page cache. */
export function* truncate_inode_pages_final(c: Ctx, as: AddressSpace): Step<void> {
  yield* truncate_inode_pages(c, as, 0);
}

/** truncate_inode_pages_range() from index `from`: lock each folio, unmap it if mapped, remove it. */
function* truncate_inode_pages(c: Ctx, as: AddressSpace, from: number): Step<void> {
  // find_lock_entries() walks i_pages under RCU while a fault may insert (under the i_pages
  // lock): the walk is a scheduling point, taken here as the lock, which orders it with inserts.
  yield* spin_lock(c, as.i_pages_lock, S_find_entries);
  const idxs = [...as.i_pages.keys()].filter((i) => i >= from).sort((a, b) => a - b);
  const pfns = idxs.map((i) => as.i_pages.get(i)!);
  yield* spin_unlock(c, as.i_pages_lock, S_find_entries);
  for (let j = 0; j < pfns.length; j++) {
    const folio = c.k.page(pfns[j]!);
    yield* folio_lock(c, folio);
    // The folio may have been truncated (or freed and reused) since the walk: only a folio
    // still in this mapping is removed (find_lock_entries(): folio->mapping != mapping ->
    // unlock and skip). Its index is stable while the folio lock is held.
    if ((yield* READ_ONCE(c, folio.mapping, S_recheck_mapping)) !== as.ptr || folio.index.v < from) {
      yield* folio_unlock(c, folio);
      continue;
    }
    // truncate_cleanup_folio(): if (folio_mapped(folio)) unmap_mapping_folio(folio): a racy read
    // (a fault maps the folio under the PTL, not the folio lock), so a scheduling point.
    if ((yield* READ_ONCE(c, folio._mapcount, S_folio_mapped)) > 0) yield* unmap_mapping_range(c, as, folio.index.v, folio.index.v + 1);
    yield* filemap_remove_folio(c, as, folio);
    yield* folio_unlock(c, folio);
  }
}
