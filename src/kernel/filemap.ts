/*
 * Models the page-cache paths of mm/filemap.c, mm/shmem.c, mm/secretmem.c and
 * mm/truncate.c (6.5) that the modelled scenarios use:
 *   filemap_fault() / shmem_fault() / secretmem_fault(): find the folio in i_pages or allocate
 *     one and add it (__filemap_add_folio(): folio_ref_add(nr), folio->mapping = mapping,
 *     folio->index, store in i_pages; then the LRU); return it with a reference;
 *   filemap_remove_folio() -> page_cache_delete(): folio->mapping = NULL, drop the cache's
 *     references;
 *   truncate_pagecache(): unmap_mapping_range() (zap every PTE of the file range in every
 *     VMA), then truncate_inode_pages_range() (lock each folio, unmap again if mapped,
 *     remove it from the page cache);
 *   evict(): the inode and its address_space are freed after an RCU grace period
 *     (destroy_inode() -> call_rcu(i_callback)).
 *
 * Left out: readahead, large page-cache folios, xarray marks and multi-index entries, the
 * i_mmap tree (VMAs are found by scanning), invalidate_lock, shadow entries, fallocate.
 */
import { WRITE_ONCE } from '../sim/cell.ts';
import { type Step, WRITE, site } from '../sim/op.ts';
import { call_rcu, spin_lock, spin_unlock } from '../sim/sync.ts';
import { announce } from '../sim/cell.ts';
import { type Ctx, ctxMaker } from './kernel.ts';
import type { AddressSpace, Folio, Vma } from './mm_types.ts';
import { userZone, zap_page_range_single } from './memory.ts';
import { alloc_pages, setOwner } from './page_alloc.ts';
import { folio_put_refs, folio_ref_add, folio_try_get } from './page_ref.ts';
import { folio_lock, folio_unlock } from './page-writeback.ts';
import { PAGE_SIZE } from './types.ts';

const S_lookup = site('filemap_get_folio', 'xa_load(&mapping->i_pages, index) under the i_pages lock');
const S_add_mapping = site('__filemap_add_folio', 'folio->mapping = mapping');
const S_add_index = site('__filemap_add_folio', 'folio->index = index');
const S_add_lru = site('filemap_add_folio', 'folio_add_lru()');
const S_uptodate = site('filemap_read_folio', 'read from disk; folio_mark_uptodate()');
const S_delete = site('page_cache_delete', 'folio->mapping = NULL');
const S_free_inode = site('i_callback', 'free the inode (and its address_space)');

/**
 * filemap_fault() and friends: the folio at `pgoff` of the VMA's file, with a reference for
 * the caller, or a vm_fault_t on failure.
 */
export function* filemap_fault(c: Ctx, vma: Vma, pgoff: number): Step<Folio | number> {
  const as = vma.vm_file!.f_mapping;
  const got = yield* filemap_get_folio(c, as, pgoff);
  if (got) return got;
  const kind = as.fs.name;
  const folio = yield* alloc_pages(c, 0, userZone(c, vma), 'pagecache', `${kind} page cache of ${as.desc}`);
  const added = yield* filemap_add_folio(c, as, folio, pgoff);
  if (!added) {
    yield* folio_put_refs(c, folio, 1);
    return yield* filemap_fault(c, vma, pgoff);
  }
  return folio;
}

/** Look a folio up in the page cache and take a reference (filemap_get_folio()). */
export function* filemap_get_folio(c: Ctx, as: AddressSpace, index: number): Step<Folio | null> {
  yield* spin_lock(c, as.i_pages_lock, S_lookup);
  const pfn = as.i_pages.get(index);
  let folio: Folio | null = null;
  if (pfn !== undefined) {
    const f = c.k.page(pfn);
    if (yield* folio_try_get(c, f)) folio = f;
  }
  yield* spin_unlock(c, as.i_pages_lock, S_lookup);
  return folio;
}

/**
 * filemap_add_folio(): the new folio enters the page cache (+1 reference held by the cache) and
 * the LRU, with its data read from disk (or zeroed for shmem/secretmem).
 */
export function* filemap_add_folio(c: Ctx, as: AddressSpace, folio: Folio, index: number): Step<boolean> {
  yield* spin_lock(c, as.i_pages_lock, S_lookup);
  if (as.i_pages.has(index)) {
    yield* spin_unlock(c, as.i_pages_lock, S_lookup);
    return false;
  }
  yield* folio_ref_add(c, folio, 1);
  yield* WRITE_ONCE(c, folio.mapping, as.ptr, S_add_mapping);
  yield* WRITE_ONCE(c, folio.index, index, S_add_index);
  as.i_pages.set(index, folio.pfn);
  yield* spin_unlock(c, as.i_pages_lock, S_lookup);
  folio.data.v = as.disk.get(index) ?? 0;
  setOwner(folio, 'pagecache', `${as.fs.name} ${as.desc} index ${index}`);
  yield* WRITE_ONCE(c, folio.PG_uptodate, true, S_uptodate);
  yield* WRITE_ONCE(c, folio.PG_lru, true, S_add_lru);
  c.note?.(`${folio.name} is now page cache of ${as.desc} (index ${index})`);
  return true;
}

/** filemap_remove_folio(): out of i_pages, ->mapping = NULL, the cache's reference dropped. */
export function* filemap_remove_folio(c: Ctx, as: AddressSpace, folio: Folio): Step<void> {
  yield* spin_lock(c, as.i_pages_lock, S_lookup);
  as.i_pages.delete(folio.index.v);
  yield* WRITE_ONCE(c, folio.mapping, 0, S_delete);
  yield* spin_unlock(c, as.i_pages_lock, S_lookup);
  c.note?.(`${folio.name} removed from the page cache of ${as.desc} (mapping = NULL)`);
  yield* folio_put_refs(c, folio, 1);
}

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
  const idxs = [...as.i_pages.keys()].filter((i) => i >= from).sort((a, b) => a - b);
  for (const i of idxs) {
    const pfn = as.i_pages.get(i);
    if (pfn === undefined) continue;
    const folio = c.k.page(pfn);
    yield* folio_lock(c, folio);
    if (folio._mapcount.v > 0) yield* unmap_mapping_range(c, as, i, i + 1);
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
