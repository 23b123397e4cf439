/*
 * The page allocator handing a page to a new owner, and what each owner writes into the
 * struct page words GUP-fast may still be looking at (docs/reference/kernel-gup-reference.md §5.2, §9):
 *
 *   slab      SLUB allocate_slab() / alloc_slab_page(): alloc_pages(), then __folio_set_slab()
 *             (PG_slab), then slab->slab_cache = s. struct slab overlays struct page. Up to
 *             6.4 (6.1 mm/slab.h: SLAB_MATCH(compound_head, slab_list)) slab_cache sits where
 *             page->mapping is: the folio's "mapping" word is a kmem_cache pointer. From 6.5
 *             (SLAB_MATCH(compound_head, slab_cache), mm/slab.h:107; 6.12.118 :103) slab_cache
 *             overlays compound_head (bit 0 clear, so page_folio() still sees no tail page; the
 *             model leaves that word at its "not a tail" 0), and page->mapping overlays
 *             slab_list.prev, which add_partial()'s list_add(&slab->slab_list, &n->partial)
 *             points at the kmem_cache_node's partial list (with CONFIG_SLUB_CPU_PARTIAL a
 *             per-CPU partial slab has `int slabs` there instead: left out).
 *   kernel    a kernel user of alloc_page() that keeps its own data in the word that overlays
 *             page->mapping (the seed's "whoever allocated it for something completely
 *             different"): junk as far as an address_space is concerned.
 *   anon      an anonymous fault at the same address (after MADV_DONTNEED): the page comes
 *             back as anon_vma | PAGE_MAPPING_ANON, mapped by a PTE equal to the old one.
 *   pagecache another file's page cache: a live address_space of the wrong file.
 *
 * Left out: the slab freelist and objects, page_pool, zsmalloc and the other struct page
 * overlays (the kernel owner stands for all of them).
 */
import { WRITE_ONCE } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, Folio, KObject } from './mm_types.ts';
import { alloc_pages } from './page_alloc.ts';
import { folio_put } from './page_ref.ts';
import { filemap_add_folio } from './filemap.ts';

export type OwnerName = 'slab' | 'kernel' | 'anon' | 'pagecache';
export const OWNERS: readonly OwnerName[] = ['slab', 'kernel', 'anon', 'pagecache'];

const S_set_slab = site('allocate_slab', '__folio_set_slab(): set PG_slab');
const S_slab_cache = site('allocate_slab', 'slab->slab_cache = s (overlays page->mapping)');
const S_slab_list = site('add_partial', 'list_add(&slab->slab_list, &n->partial): slab_list.prev overlays page->mapping');
const S_junk = site('kernel user', 'stores its own data in the word that overlays page->mapping');
const S_drop = site('kernel user', 'done with the page');

/** allocate_slab() (and, from 6.5, add_partial()): a new slab page for kmem_cache `cache`. */
export function* allocate_slab(c: Ctx, cache: KObject): Step<Folio> {
  const folio = yield* alloc_pages(c, 0, 'normal', 'slab', `slab page of ${cache.desc}`);
  yield* WRITE_ONCE(c, folio.PG_slab, true, S_set_slab);
  if (c.rev.slabCacheInMappingWord) {
    yield* WRITE_ONCE(c, folio.mapping, cache.ptr, S_slab_cache);
    c.note?.(`${folio.name} is now a slab page of ${cache.desc} (slab_cache in the mapping word)`);
  } else {
    const node = c.k.newKObjectOnce('kmem_cache_node', `${cache.desc} node 0`);
    yield* WRITE_ONCE(c, folio.mapping, node.ptr, S_slab_list);
    c.note?.(`${folio.name} is now a slab page of ${cache.desc} (its mapping word is slab_list.prev: the node's partial list; slab_cache overlays compound_head)`);
  }
  folio.ghost.ownerRefs = 1;
  c.k.ownerPages.add(folio.pfn);
  return folio;
}

/** A kernel user's page with its own data in the mapping word. */
export function* alloc_kernel_page(c: Ctx, junk: number): Step<Folio> {
  const folio = yield* alloc_pages(c, 0, 'normal', 'kernel', 'a kernel user (alloc_page())');
  yield* WRITE_ONCE(c, folio.mapping, junk, S_junk);
  folio.ghost.ownerRefs = 1;
  c.k.ownerPages.add(folio.pfn);
  c.note?.(`${folio.name} is now a kernel page whose mapping word holds 0x${junk.toString(16)}`);
  return folio;
}

/** The kernel user frees its page again (so the audit does not see a leak). */
export function* free_kernel_page(c: Ctx, folio: Folio): Step<void> {
  yield* WRITE_ONCE(c, folio.mapping, 0, S_drop);
  folio.ghost.ownerRefs = 0;
  c.k.ownerPages.delete(folio.pfn);
  yield* folio_put(c, folio);
}

/** A page-cache folio of another file. */
export function* alloc_pagecache_page(c: Ctx, as: AddressSpace, index: number): Step<Folio | null> {
  const folio = yield* alloc_pages(c, 0, 'normal', 'pagecache', `page cache of ${as.desc}`);
  const ok = yield* filemap_add_folio(c, as, folio, index);
  yield* folio_put(c, folio); // the cache holds it now
  return ok ? folio : null;
}
