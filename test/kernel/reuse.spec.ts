/**
 * What a page handed to a slab holds in its mapping word, per revision (src/kernel/reuse.ts;
 * kernel-gup-reference.md §11 row 13): up to 6.4 struct slab puts slab_cache there; from 6.5
 * SLAB_MATCH(compound_head, slab_cache) moves it, and the word is slab_list.prev.
 */
import { describe, expect, it } from 'vitest';
import { allocate_slab } from '../../src/kernel/reuse.ts';
import { page_folio } from '../../src/kernel/page_ref.ts';
import { env, run } from './helpers.ts';

function slab(kernel: string) {
  const e = env({ rev: kernel });
  const notes: string[] = [];
  e.c.note = (n) => notes.push(n);
  const cache = e.k.newKObjectOnce('kmem_cache', 'kmalloc-64');
  const folio = run(e, () => allocate_slab(e.c, cache));
  return { e, folio, cache, word: e.k.describeWord(folio.mapping.v), notes };
}

describe('a slab page\'s mapping word', () => {
  it('is the kmem_cache on 6.1 and v7', () => {
    for (const k of ['6.1', 'v7']) {
      const { folio, cache, word } = slab(k);
      expect(folio.mapping.v, k).toBe(cache.ptr);
      expect(word).toBe('kmem_cache(kmalloc-64)');
    }
  });

  it('is slab_list.prev, the kmem_cache_node\'s partial list, from 6.5 (slab_cache overlays compound_head)', () => {
    for (const k of ['6.5', '6.12', 'next']) {
      const { e, folio, cache, word, notes } = slab(k);
      expect(folio.mapping.v, k).not.toBe(cache.ptr);
      expect(word, k).toBe('kmem_cache_node(kmalloc-64 node 0)');
      expect(notes.at(-1)).toMatch(/slab_list\.prev/);
      // compound_head holds slab_cache with bit 0 clear: still "not a tail page" to page_folio().
      expect(run(e, () => page_folio(e.c, folio))).toBe(folio);
    }
  });
});
