/*
 * Models the page-cache paths of mm/filemap.c, mm/shmem.c and mm/secretmem.c that the modelled
 * scenarios use (truncation is in truncate.ts). Sources, Debian's 6.12.118 tree (6.1.192 in
 * brackets):
 *   filemap_fault() (mm/filemap.c:3305 [3219]): max_idx = DIV_ROUND_UP(i_size_read(inode),
 *     PAGE_SIZE); index >= max_idx is VM_FAULT_SIGBUS (:3317-3319 [3231]); find the folio in
 *     i_pages or allocate one and add it (__filemap_add_folio(): folio_ref_add(nr),
 *     folio->mapping = mapping, folio->index, store in i_pages; then the LRU; a new folio is
 *     added locked); lock it; "Did it get truncated?" folio->mapping != mapping: unlock, put,
 *     look again (:3372 [3279]); "We must recheck i_size under page lock" (:3421-3426 [3322]);
 *     return it locked, with a reference (VM_FAULT_LOCKED);
 *   shmem_fault() -> shmem_get_folio_gfp() (mm/shmem.c:2338): the i_size test before each
 *     lookup (:2355-2357, -EINVAL: VM_FAULT_SIGBUS), the truncated test under the folio lock
 *     (goto repeat), the i_size test again for a folio it allocated (:2494-2498; the new folio
 *     is taken out of the page cache again);
 *   secretmem_fault() (mm/secretmem.c:110): the i_size test at entry (:123), then as shmem;
 *   filemap_remove_folio() -> page_cache_delete(): folio->mapping = NULL, drop the cache's
 *     references.
 *
 * Left out: readahead, large page-cache folios, xarray marks and multi-index entries, the
 * i_mmap tree (VMAs are found by scanning), invalidate_lock (a fault that read i_size before a
 * truncation may leave a folio past EOF in the page cache, as the kernel can after a racing
 * read; nothing maps it), shadow entries, fallocate, lock_folio_maybe_drop_mmap()'s
 * VM_FAULT_RETRY.
 */
import { READ_ONCE, WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, Folio, Vma } from './mm_types.ts';
import { alloc_pages, setOwner } from './page_alloc.ts';
import { folio_put_refs, folio_ref_add, folio_try_get } from './page_ref.ts';
import { userZone, VM_FAULT_SIGBUS } from './internal.ts';
import { __folio_set_locked, folio_lock, folio_unlock } from './page-writeback.ts';
import { PAGE_SIZE } from './types.ts';

const S_lookup = site('filemap_get_folio', 'xa_load(&mapping->i_pages, index) under the i_pages lock');
const S_add_mapping = site('__filemap_add_folio', 'folio->mapping = mapping');
const S_add_index = site('__filemap_add_folio', 'folio->index = index');
const S_add_lru = site('filemap_add_folio', 'folio_add_lru()');
const S_uptodate = site('filemap_read_folio', 'read from disk; folio_mark_uptodate()');
const S_delete = site('page_cache_delete', 'folio->mapping = NULL');
const S_delete_lock = site('filemap_remove_folio', 'spin_lock(&mapping->i_pages lock): delete the entry');
const S_isize = site('filemap_fault', 'max_idx = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)');
const S_isize_locked = site('filemap_fault', 'recheck i_size under the folio lock');
const S_truncated = site('filemap_fault', 'folio->mapping != mapping: did it get truncated?');

/** index >= DIV_ROUND_UP(i_size, PAGE_SIZE). */
function past_eof(i_size: number, index: number): boolean {
  return index >= Math.ceil(i_size / PAGE_SIZE);
}

/**
 * filemap_fault() and friends: the folio at `pgoff` of the VMA's file, locked and with a
 * reference for the caller (VM_FAULT_LOCKED), or a vm_fault_t on failure: VM_FAULT_SIGBUS at or
 * past i_size.
 */
export function* filemap_fault(c: Ctx, vma: Vma, pgoff: number): Step<Folio | number> {
  const inode = vma.vm_file!.f_inode;
  const as = inode.i_mapping;
  // shmem_get_folio_gfp() and secretmem_fault() test i_size before every lookup; filemap_fault()
  // tests it at entry, then again under the folio lock for any folio.
  const shmemLike = vma.vm_ops?.fault !== 'filemap';
  if (past_eof(yield* READ_ONCE(c, inode.i_size, S_isize), pgoff)) return sigbus(c, as, pgoff);
  for (;;) {
    let folio = yield* filemap_get_folio(c, as, pgoff);
    let fresh = false;
    if (folio) {
      yield* folio_lock(c, folio);
      if ((yield* READ_ONCE(c, folio.mapping, S_truncated)) !== as.ptr) {
        yield* folio_unlock(c, folio);
        yield* folio_put_refs(c, folio, 1);
        if (shmemLike && past_eof(yield* READ_ONCE(c, inode.i_size, S_isize), pgoff)) return sigbus(c, as, pgoff);
        continue;
      }
    } else {
      const nf = yield* alloc_pages(c, 0, userZone(c, vma), 'pagecache', `${as.fs.name} page cache of ${as.desc}`);
      __folio_set_locked(c, nf);
      if (!(yield* filemap_add_folio(c, as, nf, pgoff))) {
        yield* folio_unlock(c, nf);
        yield* folio_put_refs(c, nf, 1);
        continue;
      }
      folio = nf;
      fresh = true;
    }
    if (!shmemLike || fresh) {
      if (past_eof(yield* READ_ONCE(c, inode.i_size, S_isize_locked), pgoff)) {
        if (shmemLike) yield* filemap_remove_folio(c, as, folio);
        yield* folio_unlock(c, folio);
        yield* folio_put_refs(c, folio, 1);
        return sigbus(c, as, pgoff);
      }
    }
    return folio;
  }
}

function sigbus(c: Ctx, as: AddressSpace, pgoff: number): number {
  c.why?.('filemap_fault', `index ${pgoff} is at or past i_size of ${as.desc}: VM_FAULT_SIGBUS`);
  c.note?.(`fault at index ${pgoff} of ${as.desc}: past i_size, VM_FAULT_SIGBUS`);
  return VM_FAULT_SIGBUS;
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
  yield* spin_lock(c, as.i_pages_lock, S_delete_lock);
  as.i_pages.delete(folio.index.v);
  yield* WRITE_ONCE(c, folio.mapping, 0, S_delete);
  yield* spin_unlock(c, as.i_pages_lock, S_delete_lock);
  c.note?.(`${folio.name} removed from the page cache of ${as.desc} (mapping = NULL)`);
  yield* folio_put_refs(c, folio, 1);
}

