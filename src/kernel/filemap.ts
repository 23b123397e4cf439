/*
 * Models the page-cache paths of mm/filemap.c, mm/shmem.c and mm/secretmem.c (6.5) that the
 * modelled scenarios use (truncation is in truncate.ts):
 *   filemap_fault() / shmem_fault() / secretmem_fault(): find the folio in i_pages or allocate
 *     one and add it (__filemap_add_folio(): folio_ref_add(nr), folio->mapping = mapping,
 *     folio->index, store in i_pages; then the LRU); return it with a reference;
 *   filemap_remove_folio() -> page_cache_delete(): folio->mapping = NULL, drop the cache's
 *     references;
 *
 * Left out: readahead, large page-cache folios, xarray marks and multi-index entries, the
 * i_mmap tree (VMAs are found by scanning), invalidate_lock, shadow entries, fallocate.
 */
import { WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, Folio, Vma } from './mm_types.ts';
import { alloc_pages, setOwner } from './page_alloc.ts';
import { folio_put_refs, folio_ref_add, folio_try_get } from './page_ref.ts';
import { userZone } from './internal.ts';

const S_lookup = site('filemap_get_folio', 'xa_load(&mapping->i_pages, index) under the i_pages lock');
const S_add_mapping = site('__filemap_add_folio', 'folio->mapping = mapping');
const S_add_index = site('__filemap_add_folio', 'folio->index = index');
const S_add_lru = site('filemap_add_folio', 'folio_add_lru()');
const S_uptodate = site('filemap_read_folio', 'read from disk; folio_mark_uptodate()');
const S_delete = site('page_cache_delete', 'folio->mapping = NULL');
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

