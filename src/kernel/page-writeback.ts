/*
 * Models the writeback paths of mm/page-writeback.c and mm/rmap.c (6.5) that the
 * "GUP writing to file-backed mappings" problem is about (docs/reference/kernel-gup-reference.md §6):
 *
 *   folio_mark_dirty() -> ->dirty_folio(): a filesystem that needs the folio prepared
 *     (ext4/xfs/btrfs: buffers attached, delalloc reserved by ->page_mkwrite) must have been
 *     told first; otherwise this is `dirty-without-mkwrite` (ext4 before cc5095747edf BUGged in
 *     mpage_prepare_extent_to_map(); after it, warns and drops the page: data loss).
 *   set_page_dirty_lock(): folio_lock(); folio_mark_dirty(); folio_unlock() — what
 *     unpin_user_pages_dirty_lock() does, without asking the filesystem.
 *   folio_clear_dirty_for_io(): folio_mkclean() (write-protect and clean every PTE via the
 *     rmap, with a TLB flush), then test-and-clear PG_dirty; the filesystem's per-folio write
 *     state (folio->private) is dropped: the next write must fault and call ->page_mkwrite.
 *   writeback_folio(): the writeback actor: lock, clear dirty for io, start writeback, write
 *     the data, end writeback.
 *   dma_write(): a device writing through a pin: no fault, no ->page_mkwrite. Writing a
 *     dirty-tracked file folio whose write state was dropped is `dirty-without-mkwrite`.
 *
 * Left out: dirty accounting and throttling (balance_dirty_pages), bdi writeback queues,
 * stable pages (folio_wait_stable), the folio lock's waiters, writeback errors.
 */
import { atomic_add } from '../sim/atomic.ts';
import { READ_ONCE, WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, Folio, Vma } from './mm_types.ts';
import { flush_tlb } from './mmu_gather.ts';
import { folio_test_clear_dirty, folio_test_dirty, folio_test_set_dirty } from './page_ref.ts';
import { update_entry } from './pgtable-generic.ts';
import { pte_dirty, pte_mkclean, pte_wrprotect, pte_write } from './pgtable.ts';
import { rmap_find } from './rmap.ts';

const S_dirty_folio_check = site('folio_mark_dirty', 'mapping->a_ops->dirty_folio(): check folio->private');
const S_lock = site('folio_lock', 'lock the folio (PG_locked)');
const S_unlock = site('folio_unlock', 'unlock the folio');
const S_mkclean = site('folio_mkclean', 'page_mkclean_one(): ptep_clear_flush + wrprotect + clean');
const S_drop_private = site('folio_clear_dirty_for_io', 'the folio is clean: its write reservation (folio->private) is released');
const S_start_wb = site('folio_start_writeback', 'set PG_writeback');
const S_end_wb = site('folio_end_writeback', 'clear PG_writeback');
const S_io = site('writeback', 'submit the folio\'s data to disk');
const S_dma = site('device write', 'DMA into the pinned page (no fault, no ->page_mkwrite)');

function mappingOf(c: Ctx, folio: Folio): AddressSpace | null {
  const o = c.k.kobjs.get(folio.mapping.v);
  return o && o.kind === 'address_space' ? (o as AddressSpace) : null;
}

/** folio_mark_dirty() for a page-cache folio: ->dirty_folio. */
export function* folio_mark_dirty(c: Ctx, folio: Folio, how: string): Step<void> {
  const as = mappingOf(c, folio);
  if (as?.a_ops.needsPrepare) {
    const prepared = yield* READ_ONCE(c, folio.fs_private, S_dirty_folio_check);
    if (!prepared) {
      c.w.report(
        'dirty-without-mkwrite',
        `${how}: ${folio.name} of ${as.desc} marked dirty without ->page_mkwrite (${as.a_ops.name} has no buffers/reservation for it: ext4 warns "page does not have buffers attached" and drops it; before 2022 it BUGged)`,
        false,
      );
    }
  }
  yield* folio_test_set_dirty(c, folio);
}

/** set_page_dirty(): folio_mark_dirty() of the page's folio. */
export function* set_page_dirty(c: Ctx, folio: Folio): Step<void> {
  yield* folio_mark_dirty(c, folio, 'set_page_dirty()');
}

/** set_page_dirty_lock(): lock the folio around folio_mark_dirty(). */
export function* set_page_dirty_lock(c: Ctx, folio: Folio, unpin: boolean): Step<void> {
  yield* folio_lock(c, folio);
  yield* folio_mark_dirty(c, folio, unpin ? 'unpin_user_pages_dirty_lock()' : 'set_page_dirty_lock()');
  yield* folio_unlock(c, folio);
}

/** fault_dirty_shared_page(): dirty the folio after a write fault on a shared mapping. */
export function* fault_dirty_shared_page(c: Ctx, _vma: Vma, folio: Folio): Step<void> {
  if (!(yield* folio_test_dirty(c, folio))) yield* folio_mark_dirty(c, folio, 'fault_dirty_shared_page()');
}

/**
 * folio_lock(): PG_locked as a sleeping lock (a blocking acquire on the folio's lock object).
 * The folio lock is modelled with a per-folio SpinLock-shaped object so a blocked locker is a
 * disabled transition.
 */
export function* folio_lock(c: Ctx, folio: Folio): Step<void> {
  yield* spin_lock(c, folioLock(c, folio), S_lock);
  folio.PG_locked.v = true;
}
/**
 * __folio_set_locked(): lock a new folio nobody else can reach yet (non-atomic, before it enters
 * the page cache), so no scheduling point.
 */
export function __folio_set_locked(c: Ctx, folio: Folio): void {
  folioLock(c, folio).owner = c.id;
  folio.PG_locked.v = true;
}
export function* folio_unlock(c: Ctx, folio: Folio): Step<void> {
  folio.PG_locked.v = false;
  yield* spin_unlock(c, folioLock(c, folio), S_unlock);
}
function folioLock(c: Ctx, folio: Folio) {
  return c.k.folioLock(folio);
}

/** folio_mkclean(): write-protect and clean every PTE mapping the folio; returns whether one was dirty. */
export function* folio_mkclean(c: Ctx, folio: Folio): Step<boolean> {
  let dirty = false;
  for (const m of rmap_find(c, folio, 1)) {
    yield* spin_lock(c, m.table.ptl, S_mkclean);
    const old = yield* update_entry(c, m.table, m.addr, (v) => (v !== 0 ? pte_mkclean(pte_wrprotect(v)) : v), S_mkclean);
    if (old !== 0 && (pte_dirty(old) || pte_write(old))) {
      yield* flush_tlb(c);
      if (pte_dirty(old)) dirty = true;
    }
    yield* spin_unlock(c, m.table.ptl, S_mkclean);
  }
  return dirty;
}

/** folio_clear_dirty_for_io() (mapping can write back): mkclean, then clear PG_dirty. */
export function* folio_clear_dirty_for_io(c: Ctx, folio: Folio): Step<boolean> {
  if (yield* folio_mkclean(c, folio)) yield* folio_test_set_dirty(c, folio);
  const was = yield* folio_test_clear_dirty(c, folio);
  if (was) {
    yield* WRITE_ONCE(c, folio.fs_private, false, S_drop_private);
    c.note?.(`${folio.name} cleaned for writeback: PTEs write-protected, PG_dirty cleared, reservation released`);
  }
  return was;
}

const S_wb_lookup = site('write_cache_pages', 'look the folio up in i_pages under the i_pages lock');
const S_wb_lookup_done = site('write_cache_pages', 'drop the i_pages lock');

/**
 * write_cache_pages()'s lookup of the folio at `index` (filemap_get_folios_tag() walks i_pages),
 * as a scheduling point: a fault on another CPU may add the folio before or after it (found by
 * the DPOR=naive property test, seed 305013979, when the lookup read i_pages without one). The
 * reference filemap_get_folios_tag() takes is left out: the folio is locked before it is used.
 */
export function* write_cache_pages_lookup(c: Ctx, as: AddressSpace, index: number): Step<Folio | null> {
  yield* spin_lock(c, as.i_pages_lock, S_wb_lookup);
  const pfn = as.i_pages.get(index);
  yield* spin_unlock(c, as.i_pages_lock, S_wb_lookup_done);
  return pfn === undefined ? null : c.k.page(pfn);
}

/**
 * The writeback actor: write_cache_pages() for one folio of a mapping that can write back.
 * Returns whether it wrote.
 */
export function* writeback_folio(c: Ctx, folio: Folio): Step<boolean> {
  const as = mappingOf(c, folio);
  if (!as || !as.fs.can_writeback) {
    c.note?.(`${folio.name}: its mapping cannot write back (${as ? as.fs.name : 'no mapping'}): nothing to do`);
    return false;
  }
  yield* folio_lock(c, folio);
  const dirty = yield* folio_clear_dirty_for_io(c, folio);
  if (!dirty) {
    yield* folio_unlock(c, folio);
    return false;
  }
  yield* WRITE_ONCE(c, folio.PG_writeback, true, S_start_wb);
  yield* folio_unlock(c, folio);
  const data = yield* READ_ONCE(c, folio.data, S_io);
  as.disk.set(folio.index.v, data);
  yield* WRITE_ONCE(c, folio.PG_writeback, false, S_end_wb);
  return true;
}

/** A device writing through a pin (or a kernel access via kmap): no fault, the fs is not told. */
export function* dma_write(c: Ctx, folio: Folio): Step<void> {
  const as = mappingOf(c, folio);
  if (as?.a_ops.needsPrepare && folio.ghost.owner === 'pagecache') {
    const prepared = yield* READ_ONCE(c, folio.fs_private, S_dma);
    if (!prepared) {
      c.w.report(
        'dirty-without-mkwrite',
        `device write into ${folio.name} of ${as.desc} after writeback cleaned it, without ->page_mkwrite (the new data is not known to ${as.fs.name})`,
        false,
      );
    }
  }
  yield* atomic_add(c, folio.data, 1, S_dma);
}
