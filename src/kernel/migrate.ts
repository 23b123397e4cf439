/*
 * Models FOLL_LONGTERM migration (mm/gup.c check_and_migrate_movable_pages() and
 * migrate_longterm_unpinnable_pages(), mm/migrate.c migrate_pages() for order-0 folios; 6.5,
 * docs/reference/kernel-gup-reference.md §3.4, §11 row 9; Debian 6.12.118 mm/gup.c:2354-2531,
 * mm/migrate.c:1597-2110):
 *   collect the folios that are not longterm-pinnable (CMA or ZONE_MOVABLE), isolating each
 *   (a reference; off the LRU); if none, keep the pins. Otherwise unpin *all* pages, migrate
 *   the collected folios (allocating the copy outside CMA/ZONE_MOVABLE: memalloc_pin), and
 *   return -EAGAIN so __gup_longterm_locked() pins again (it loops while -EAGAIN, with no bound).
 *   migrate_pages() tries each folio up to NR_MAX_MIGRATE_PAGES_RETRY = 10 times (6.5
 *   mm/migrate.c:1484; 6.12.118 :1597: three MIGRATE_ASYNC passes, then seven MIGRATE_SYNC ones
 *   in migrate_pages_sync()): a folio someone else holds a reference on fails the refcount
 *   freeze (-EAGAIN), its PTEs are put back, and the next pass tries again; one that fails all
 *   ten is a failure, and GUP returns -ENOMEM.
 *
 * migrate_folio() here: lock; try_to_migrate() (each PTE -> migration entry, the mapping's
 * reference dropped); freeze the refcount at the expected value (isolation + page cache);
 * move the page-cache slot and the data; remove_migration_ptes() (each migration entry -> a
 * PTE of the new folio, with a reference); free the old folio.
 *
 * Left out: hugetlb and large-folio migration. collect_longterm_unpinnable_folios() (6.12.118
 * mm/gup.c:2354) collects large folios too, and migrate_pages() moves them or splits them; no
 * large folio of the model is ever in CMA or ZONE_MOVABLE (THPs are set up in ZONE_NORMAL, the
 * hugetlb pools are not CMA), so that branch cannot be reached, and reaching it is an internal
 * error rather than a pin kept on an unpinnable folio. Also left out: device coherent pages,
 * migration of folios under writeback, the difference between the ASYNC passes (folio_trylock())
 * and the SYNC ones (folio_lock(): every pass here waits for the lock), NUMA node choice.
 */
import { WRITE_ONCE, init } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import { InternalError } from '../errors.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, Folio } from './mm_types.ts';
import { flush_tlb } from './mmu_gather.ts';
import { alloc_pages, free_folio } from './page_alloc.ts';
import { folio_get, folio_put, folio_ref_add, folio_ref_freeze, page_folio_pfn } from './page_ref.ts';
import { ptep_get_and_clear, set_pte_at } from './pgtable-generic.ts';
import { mk_pte, pte_flags, pte_present, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, swp_entry_to_pte, pte_write } from './pgtable.ts';
import { rmap_find } from './rmap.ts';
import { EAGAIN, ENOMEM, FOLL_PIN, PAGE_MAPPING_FLAGS } from './types.ts';

import { folio_lock, folio_unlock } from './page-writeback.ts';
import { folio_is_longterm_pinnable, gup_put_folio } from './internal.ts';

const S_isolate = site('folio_isolate_lru', 'take the folio off the LRU (with a reference)');
const S_mig_entry = site('try_to_migrate_one', 'set a migration entry in place of the PTE');
const S_remove_mig = site('remove_migration_pte', 'map the new folio where the migration entry was');
const S_new_mapping = site('folio_migrate_mapping', 'newfolio->mapping = folio->mapping');

/** check_and_migrate_movable_pages(): 0 (keep the pins), -EAGAIN (migrated: pin again) or -ENOMEM. */
export function* check_and_migrate_movable_pages(c: Ctx, pfns: readonly number[], flags: number): Step<number> {
  const collected: Folio[] = [];
  let prev: Folio | null = null;
  for (const pfn of pfns) {
    const folio = yield* page_folio_pfn(c, pfn);
    if (folio === prev) continue;
    prev = folio;
    if (folio_is_longterm_pinnable(c, folio)) continue;
    if (folio.PG_head.v) {
      throw new InternalError(
        `[gupcheck internal bug] ${folio.name} is a large folio in ZONE_${folio.ghost.zone.toUpperCase()}: large-folio migration for long-term pins is not modelled (src/kernel/migrate.ts header)`,
      );
    }
    yield* folio_get(c, folio);
    yield* WRITE_ONCE(c, folio.PG_lru, false, S_isolate);
    collected.push(folio);
  }
  if (!collected.length) return 0;
  c.why?.(
    'check_and_migrate_movable_pages',
    `${collected.map((f) => `${f.name} (ZONE_${f.ghost.zone.toUpperCase()})`).join(', ')} cannot be pinned long-term: unpin all, migrate, pin again`,
  );
  // migrate_longterm_unpinnable_pages(): drop every pin just taken.
  for (const pfn of pfns) {
    const folio = yield* page_folio_pfn(c, pfn);
    yield* gup_put_folio(c, folio, 1, flags & FOLL_PIN ? FOLL_PIN : flags);
  }
  // migrate_pages(): up to NR_MAX_MIGRATE_PAGES_RETRY passes over the folios not yet moved.
  let left = collected;
  for (let pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && left.length; pass++) {
    const retry: Folio[] = [];
    for (const folio of left) if (!(yield* migrate_folio(c, folio))) retry.push(folio);
    left = retry;
  }
  if (left.length) {
    // putback_movable_pages(), and migrate_longterm_unpinnable_pages() returns -ENOMEM.
    c.why?.('migrate_pages', `${left.map((f) => f.name).join(', ')} could not be migrated in ${NR_MAX_MIGRATE_PAGES_RETRY} passes (another reference held): -ENOMEM`);
    for (const folio of left) {
      yield* WRITE_ONCE(c, folio.PG_lru, true, S_isolate);
      yield* folio_put(c, folio);
    }
    return -ENOMEM;
  }
  return -EAGAIN;
}

/** mm/migrate.c: the passes migrate_pages() makes over a folio that keeps failing with -EAGAIN. */
export const NR_MAX_MIGRATE_PAGES_RETRY = 10;

/**
 * One pass of migrating one isolated order-0 folio (migrate_folio_unmap() + migrate_folio_move()).
 * Success consumes our isolation reference; on failure (the refcount freeze found another
 * reference: -EAGAIN) the PTEs are put back and the folio stays isolated for the next pass.
 */
function* migrate_folio(c: Ctx, folio: Folio): Step<boolean> {
  const k = c.k;
  yield* folio_lock(c, folio);
  const nf = yield* alloc_pages(c, 0, 'normal', folio.ghost.owner, `${folio.ghost.ownerDesc} (migrated)`);
  // try_to_migrate(): replace each PTE with a migration entry, drop the mapping's reference.
  const maps = rmap_find(c, folio, 1);
  const restored: { table: (typeof maps)[number]['table']; addr: number; flags: number }[] = [];
  for (const m of maps) {
    yield* spin_lock(c, m.table.ptl, S_mig_entry);
    const old = yield* ptep_get_and_clear(c, m.table, m.addr, S_mig_entry);
    if (pte_present(old)) {
      yield* flush_tlb(c);
      yield* set_pte_at(c, m.table, m.addr, swp_entry_to_pte(pte_write(old) ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ, folio.pfn), S_mig_entry);
      folio._mapcount.v--;
      restored.push({ table: m.table, addr: m.addr, flags: pte_flags(old) });
    }
    yield* spin_unlock(c, m.table.ptl, S_mig_entry);
    if (pte_present(old)) yield* folio_put(c, folio);
  }
  const mappingWord = folio.mapping.v;
  const isCache = mappingWord !== 0 && (mappingWord & PAGE_MAPPING_FLAGS) === 0;
  const as = isCache ? (k.kobjs.get(mappingWord) as AddressSpace | undefined) : undefined;
  const expected = 1 + (isCache ? 1 : 0);
  if (!(yield* folio_ref_freeze(c, folio, expected))) {
    // Someone holds an extra reference (a racing GUP): put the PTEs back and give up.
    for (const r of restored) {
      yield* folio_get(c, folio);
      folio._mapcount.v++;
      yield* set_pte_at(c, r.table, r.addr, mk_pte(folio.pfn, r.flags), S_remove_mig);
    }
    yield* folio_unlock(c, folio);
    yield* folio_put(c, nf);
    return false;
  }
  // folio_migrate_mapping() + folio_migrate_copy().
  init(nf.data, folio.data.v);
  init(nf.PG_uptodate, folio.PG_uptodate.v);
  init(nf.PG_dirty, folio.PG_dirty.v);
  init(nf.PG_anon_exclusive, folio.PG_anon_exclusive.v);
  init(nf.fs_private, folio.fs_private.v);
  yield* WRITE_ONCE(c, nf.mapping, mappingWord, S_new_mapping);
  init(nf.index, folio.index.v);
  if (as) {
    yield* spin_lock(c, as.i_pages_lock, S_new_mapping);
    as.i_pages.set(folio.index.v, nf.pfn);
    yield* folio_ref_add(c, nf, 1);
    yield* spin_unlock(c, as.i_pages_lock, S_new_mapping);
  }
  // remove_migration_ptes(): the new folio takes each mapping.
  for (const r of restored) {
    yield* folio_get(c, nf);
    nf._mapcount.v++;
    yield* set_pte_at(c, r.table, r.addr, mk_pte(nf.pfn, r.flags), S_remove_mig);
  }
  nf.PG_lru.v = true;
  yield* folio_put(c, nf); // the allocation reference: the mappings and the cache hold it now
  c.note?.(`${folio.name} migrated to ${nf.name}`);
  folio.ghost.frozen = false;
  yield* folio_unlock(c, folio);
  if (isCache) init(folio.mapping, 0);
  yield* free_folio(c, folio);
  return true;
}
