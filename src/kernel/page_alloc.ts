/*
 * Models the page allocator parts that matter for page reuse (mm/page_alloc.c, 6.5):
 * __alloc_pages() -> prep_new_page() (set_page_refcounted(), compound setup) and the free path
 * __folio_put() -> __page_cache_release() (off the LRU) -> free_unref_page() ->
 * free_pages_prepare() (page->mapping = NULL for anon/KSM/movable pages, flags cleared).
 *
 * Reuse is the point: free lists are LIFO per (zone, order), so the page just freed is the next
 * one handed out, as with the per-CPU lists under the workloads that hit these races. The
 * allocator word is one object: every alloc and free conflict, so the checker explores
 * "free before reuse" and "reuse of another page" both.
 *
 * Hugetlb folios go back to the hugetlb pool (free_huge_folio()) with PG_hugetlb kept.
 *
 * Left out: per-CPU lists and their draining, buddy merging, watermarks, GFP reclaim,
 * memcg charging, page poisoning, KASAN, init_on_free. A free with a non-NULL file mapping
 * is reported as the kernel's "Bad page state" (a `warn`).
 */
import { announce, init } from '../sim/cell.ts';
import { RMW, type Step, WRITE, site } from '../sim/op.ts';
import type { Ctx, Kernel } from './kernel.ts';
import type { Folio, OwnerKind, Page, Zone } from './mm_types.ts';
import { PAGE_MAPPING_FLAGS } from './types.ts';

const S_alloc = site('__alloc_pages', 'take a page from the zone free list');
const S_refcounted = site('prep_new_page', 'set_page_refcounted(): _refcount = 1');
const S_free = site('free_unref_page', 'put the page on the free list');
const S_clear_mapping = site('free_pages_prepare', 'page->mapping = NULL');
const S_clear_flags = site('free_pages_prepare', 'page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP');
const S_clear_lru = site('__page_cache_release', '__folio_clear_lru()');
const S_hugetlb_dequeue = site('dequeue_hugetlb_folio', 'take a huge page from the pool');
const S_hugetlb_free = site('free_huge_folio', 'return the huge page to the pool');

function listKey(zone: Zone | 'hugetlb', order: number): string {
  return `${zone}:${order}`;
}

export function freeList(k: Kernel, zone: Zone | 'hugetlb', order: number): number[] {
  const key = listKey(zone, order);
  let l = k.freeLists.get(key);
  if (!l) {
    l = [];
    k.freeLists.set(key, l);
  }
  return l;
}

/** Mark a compound range: head flags and the tails' compound_head (no scheduling: the page is ours). */
export function prep_compound_page(k: Kernel, head: Page, order: number): void {
  init(head.PG_head, order > 0);
  init(head._folio_order, order);
  init(head._pincount, 0);
  init(head._entire_mapcount, 0);
  if (order > 0) {
    k.compound.set(head.pfn, order);
    k.compoundOrders.add(order);
  }
  else k.compound.delete(head.pfn);
  // Tail pages that already have struct page objects: point them at the head.
  for (const [pfn, p] of k.pages) {
    if (pfn > head.pfn && pfn < head.pfn + 2 ** order) init(p.compound_head, head.pfn + 1);
  }
}

/**
 * Allocate 2^order pages in `zone` (the allocator first reuses the most recently freed page)
 * and hand it to `owner`: _refcount = 1, ghost generation bumped.
 */
export function* alloc_pages(c: Ctx, order: number, zone: Zone, owner: OwnerKind, desc: string): Step<Folio> {
  const k = c.k;
  const op = announce(c, k.freeListObj(listKey(zone, order)).id, RMW, S_alloc);
  yield op;
  const list = freeList(k, zone, order);
  const reused = list.length > 0;
  const pfn = reused ? list.pop()! : k.freshPfn(zone, order);
  op.after = `pfn ${pfn}${reused ? ' (reused)' : ''}`;
  const folio = newOwner(k, pfn, order, owner, desc);
  yield* writeRef(c, folio, 1, S_refcounted);
  c.note?.(`${folio.name} allocated${reused ? ' (reuses a freed page)' : ''} for ${desc} (gen ${folio.ghost.gen})`);
  return folio;
}

function* writeRef(c: Ctx, folio: Folio, v: number, s: typeof S_refcounted): Step<void> {
  const op = announce(c, folio._refcount.id, WRITE, s);
  yield op;
  op.before = folio._refcount.v;
  folio._refcount.v = v;
  op.after = v;
}

/** The struct page of a page handed to a new owner: compound if large, a new generation, fresh contents. */
function newOwner(k: Kernel, pfn: number, order: number, owner: OwnerKind, desc: string): Folio {
  const folio = k.page(pfn);
  prep_compound_page(k, folio, order);
  folio.ghost.gen++;
  folio.ghost.owner = owner;
  folio.ghost.ownerDesc = desc;
  folio.ghost.ownerRefs = 0;
  init(folio.fs_private, false);
  init(folio.data, 0);
  return folio;
}

/** Allocate outside any execution (setup): no scheduling points. */
export function alloc_pages_setup(k: Kernel, order: number, zone: Zone, owner: OwnerKind, desc: string): Folio {
  const list = freeList(k, zone, order);
  const pfn = list.length > 0 ? list.pop()! : k.freshPfn(zone, order);
  const folio = newOwner(k, pfn, order, owner, desc);
  init(folio._refcount, 1);
  return folio;
}

/**
 * The last reference is gone: release the folio. Called from folio_put_refs() when the count
 * reaches zero.
 */
export function* free_folio(c: Ctx, folio: Folio): Step<void> {
  const k = c.k;
  const g = folio.ghost;
  if (g.pins > 0 || g.gets > 0) {
    c.w.report(
      'refcount',
      `${folio.name} freed while a GUP caller still holds ${g.pins ? `${g.pins} pin(s)` : `${g.gets} reference(s)`} on it`,
      true,
    );
    return;
  }
  if (folio.PG_hugetlb.v) {
    // free_huge_folio(): back to the pool; the folio keeps PG_hugetlb and its compound shape.
    const op = announce(c, k.freeListObj(listKey('hugetlb', folio._folio_order.v)).id, RMW, S_hugetlb_free);
    yield op;
    folio.mapping.v = 0;
    folio.PG_anon_exclusive.v = false;
    folio.PG_dirty.v = false;
    g.owner = 'free';
    g.ownerDesc = 'hugetlb pool';
    freeList(k, 'hugetlb', folio._folio_order.v).push(folio.pfn);
    c.note?.(`${folio.name} returned to the hugetlb pool`);
    return;
  }
  // __page_cache_release(): off the LRU first.
  if (folio.PG_lru.v) yield* clearFlag(c, folio, 'PG_lru', S_clear_lru);
  // free_pages_prepare()
  const m = folio.mapping.v;
  if (m & PAGE_MAPPING_FLAGS) {
    const op = announce(c, folio.mapping.id, WRITE, S_clear_mapping);
    yield op;
    op.before = folio.mapping.v;
    folio.mapping.v = 0;
    op.after = 0;
  } else if (m !== 0) {
    c.w.report('warn', `Bad page state: ${folio.name} freed with page->mapping = ${k.describeWord(m)}`, false);
  }
  for (const f of ['PG_anon_exclusive', 'PG_dirty', 'PG_referenced', 'PG_uptodate', 'PG_swapcache', 'PG_writeback', 'PG_head', 'PG_slab'] as const) {
    if (folio[f].v) yield* clearFlag(c, folio, f, S_clear_flags);
  }
  const order = folio._folio_order.v;
  init(folio._folio_order, 0);
  init(folio._mapcount, 0);
  init(folio.private, 0);
  if (order > 0) {
    k.compound.delete(folio.pfn);
    for (const [pfn, p] of k.pages) if (pfn > folio.pfn && pfn < folio.pfn + 2 ** order) init(p.compound_head, 0);
  }
  const op = announce(c, k.freeListObj(listKey(folio.ghost.zone, order)).id, RMW, S_free);
  yield op;
  g.owner = 'free';
  g.ownerDesc = 'free';
  k.ownerPages.delete(folio.pfn);
  freeList(k, folio.ghost.zone, order).push(folio.pfn);
  op.after = `pfn ${folio.pfn} on the free list`;
  c.note?.(`${folio.name} freed (back on the free list)`);
}

function* clearFlag(
  c: Ctx,
  folio: Folio,
  f: 'PG_lru' | 'PG_anon_exclusive' | 'PG_dirty' | 'PG_referenced' | 'PG_uptodate' | 'PG_swapcache' | 'PG_writeback' | 'PG_head' | 'PG_slab',
  s: typeof S_clear_flags,
): Step<void> {
  const cell = folio[f];
  const op = announce(c, cell.id, WRITE, s);
  yield op;
  op.before = true;
  cell.v = false;
  op.after = false;
}

/** dequeue_hugetlb_folio(): a free huge page from the pool, or null if the pool is empty. */
export function* alloc_hugetlb_folio(c: Ctx, order: number, desc: string): Step<Folio | null> {
  const k = c.k;
  const op = announce(c, k.freeListObj(listKey('hugetlb', order)).id, RMW, S_hugetlb_dequeue);
  yield op;
  const list = freeList(k, 'hugetlb', order);
  const pfn = list.pop();
  if (pfn === undefined) {
    op.after = 'pool empty';
    return null;
  }
  const folio = k.page(pfn);
  folio.ghost.gen++;
  folio.ghost.owner = 'hugetlb';
  folio.ghost.ownerDesc = desc;
  init(folio.data, 0);
  yield* writeRef(c, folio, 1, S_refcounted);
  return folio;
}

/** Fill the hugetlb pool at boot (hugepages= on the command line). */
export function hugetlb_pool_init(k: Kernel, order: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const pfn = k.freshPfn('normal', order);
    const folio = k.page(pfn);
    prep_compound_page(k, folio, order);
    init(folio.PG_hugetlb, true);
    init(folio._refcount, 0);
    folio.ghost.owner = 'free';
    folio.ghost.ownerDesc = 'hugetlb pool';
    freeList(k, 'hugetlb', order).push(pfn);
  }
}

export function setOwner(folio: Folio, owner: OwnerKind, desc: string): void {
  folio.ghost.owner = owner;
  folio.ghost.ownerDesc = desc;
}
