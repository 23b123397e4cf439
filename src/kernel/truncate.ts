/*
 * Models mm/truncate.c and the unmap_mapping_range() of mm/memory.c (6.5):
 *   truncate_pagecache(): unmap_mapping_range() (zap every PTE of the file range in every
 *     VMA), then truncate_inode_pages_range() (lock each folio, unmap again if mapped,
 *     remove it from the page cache);
 *   evict(): the inode and its address_space are freed after an RCU grace period
 *     (destroy_inode() -> call_rcu(i_callback)).
 *
 * The i_pages walk and each folio_mapped() read are scheduling points. The walk is taken under
 * the i_pages lock (the kernel walks under RCU and takes a reference): it sees each insert
 * entirely before or after it.
 *
 * Left out: partial-page zeroing, the i_mmap tree (VMAs are found by scanning every mm),
 * invalidate_lock, shadow entries, writeback waits, find_lock_entries()' trylock pass.
 */
import { announce, READ_ONCE } from '../sim/cell.ts';
import { type Step, WRITE, site } from '../sim/op.ts';
import { call_rcu, spin_lock, spin_unlock } from '../sim/sync.ts';
import { filemap_remove_folio } from './filemap.ts';
import { type Ctx, ctxMaker } from './kernel.ts';
import { zap_page_range_single } from './memory.ts';
import type { AddressSpace } from './mm_types.ts';
import { folio_lock, folio_unlock } from './page-writeback.ts';
import { PAGE_SIZE } from './types.ts';

/** unmap_mapping_range(): zap the file range [from, to) in every VMA mapping the file. */
function* unmap_mapping_range(c: Ctx, as: AddressSpace, fromIdx: number, toIdx: number): Step<void> {
  for (const mm of c.k.mms) {
    for (const vma of mm.vmas) {
      if (vma.vm_file?.f_mapping !== as) continue;
      const start = Math.max(vma.vm_start, vma.vm_start + (fromIdx - vma.vm_pgoff) * PAGE_SIZE);
      const end = Math.min(vma.vm_end, vma.vm_start + (toIdx - vma.vm_pgoff) * PAGE_SIZE);
      if (start < end) yield* zap_page_range_single(c, vma, start, end);
    }
  }
}

/**
 * truncate_pagecache(inode, newsize): unmap, then remove every folio from newsize on from the
 * page cache (truncate_inode_pages_range() -> truncate_inode_folio()).
 */
export function* truncate_pagecache(c: Ctx, as: AddressSpace, newsize: number): Step<void> {
  const from = Math.ceil(newsize / PAGE_SIZE);
  yield* unmap_mapping_range(c, as, from, Number.MAX_SAFE_INTEGER);
  // find_lock_entries() walks i_pages under RCU while a fault may insert (under the i_pages
  // lock): the walk is a scheduling point, taken here as the lock, which orders it with inserts.
  yield* spin_lock(c, as.i_pages_lock, S_find_entries);
  const idxs = [...as.i_pages.keys()].filter((i) => i >= from).sort((a, b) => a - b);
  const pfns = idxs.map((i) => as.i_pages.get(i));
  yield* spin_unlock(c, as.i_pages_lock, S_find_entries);
  for (let j = 0; j < idxs.length; j++) {
    const i = idxs[j]!;
    const pfn = pfns[j];
    if (pfn === undefined) continue;
    const folio = c.k.page(pfn);
    yield* folio_lock(c, folio);
    // truncate_cleanup_folio(): if (folio_mapped(folio)) unmap_mapping_folio(folio): a racy read
    // (a fault maps the folio under the PTL, not the folio lock), so a scheduling point.
    if ((yield* READ_ONCE(c, folio._mapcount, S_folio_mapped)) > 0) yield* unmap_mapping_range(c, as, i, i + 1);
    yield* filemap_remove_folio(c, as, folio);
    yield* folio_unlock(c, folio);
  }
}

/**
 * evict() -> destroy_inode(): the last reference to the inode is gone; the inode and the
 * address_space embedded in it are freed after an RCU grace period.
 */
export function* evict_inode(c: Ctx, as: AddressSpace): Step<void> {
  yield* call_rcu(c, `rcu-cb(i_callback)`, ctxMaker(c.k, false), function* (task: Ctx) {
    const op = announce(task, as.live.id, WRITE, S_free_inode);
    yield op;
    as.live.v = false;
    op.after = 'freed';
    task.note?.(`address_space(${as.desc}) freed (inode RCU callback)`);
  });
}

const S_free_inode = site('i_callback', 'free the inode (and its address_space)');
const S_find_entries = site('find_lock_entries', 'walk mapping->i_pages from the truncation point');
const S_folio_mapped = site('truncate_cleanup_folio', 'folio_mapped(folio): atomic_read(&folio->_mapcount)');
