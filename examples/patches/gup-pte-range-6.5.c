/*
 * 6.5's GUP-fast PTE walk, gup_pte_range(), restated for gupcheck from
 * docs/reference/kernel-gup-reference.md §4.3 (the step order) and a reading of mm/gup.c.
 * Applied to 6.5 it changes nothing:
 *
 *   gupcheck check examples/ --kernel 6.5 --patch examples/patches/gup-pte-range-6.5.c
 *
 * For each PTE of [addr, end): read it once, refuse what the slow path must handle, take a
 * reference, then prove the PMD and the PTE did not change before looking at the folio.
 */
#include <linux/mm.h>

static int gup_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr,
			 unsigned long end, unsigned int flags,
			 struct page **pages, int *nr)
{
	struct dev_pagemap *pgmap = NULL;
	int nr_start = *nr, ret = 0;
	pte_t *ptep, *ptem;

	/* The PTE table may be gone (or a huge PMD) by now: leave it to the slow path. */
	ptem = ptep = pte_offset_map(&pmd, addr);
	if (!ptep)
		return 0;
	do {
		pte_t pte = ptep_get_lockless(ptep);
		struct page *page;
		struct folio *folio;

		/* PROT_NONE and NUMA-hinting entries always take the slow path. */
		if (pte_protnone(pte))
			goto pte_unmap;

		/* Not present, or not writable for a write: fault it in slowly. */
		if (!pte_access_permitted(pte, flags & FOLL_WRITE))
			goto pte_unmap;

		if (pte_devmap(pte)) {
			if (unlikely(flags & FOLL_LONGTERM))
				goto pte_unmap;
			pgmap = get_dev_pagemap(pte_pfn(pte), pgmap);
			if (unlikely(!pgmap)) {
				undo_dev_pagemap(nr, nr_start, flags, pages);
				goto pte_unmap;
			}
		} else if (pte_special(pte)) {
			/* No struct page to take a reference on. */
			goto pte_unmap;
		}

		VM_BUG_ON(!pfn_valid(pte_pfn(pte)));
		page = pte_page(pte);

		/* Fails on a free (or frozen) folio, and on what may not be pinned long-term. */
		folio = try_grab_folio(page, 1, flags);
		if (!folio)
			goto pte_unmap;

		/* 6.5 tests secretmem here, still before the re-check. */
		if (unlikely(page_is_secretmem(page))) {
			gup_put_folio(folio, 1, flags);
			goto pte_unmap;
		}

		/*
		 * Reference first, re-check second: whoever zaps or replaces the entry clears it
		 * before looking for references, so one side always sees the other.
		 */
		if (unlikely(pmd_val(pmd) != pmd_val(*pmdp)) ||
		    unlikely(pte_val(pte) != pte_val(ptep_get(ptep)))) {
			gup_put_folio(folio, 1, flags);
			goto pte_unmap;
		}

		/* Only now is the folio known to be the one mapped here: look at it. */
		if (!folio_fast_pin_allowed(folio, flags)) {
			gup_put_folio(folio, 1, flags);
			goto pte_unmap;
		}

		if (!pte_write(pte) && gup_must_unshare(NULL, flags, page)) {
			gup_put_folio(folio, 1, flags);
			goto pte_unmap;
		}

		/* s390 secure guests only; nothing to do elsewhere. */
		if (flags & FOLL_PIN) {
			ret = arch_make_page_accessible(page);
			if (ret) {
				gup_put_folio(folio, 1, flags);
				goto pte_unmap;
			}
		}
		folio_set_referenced(folio);
		pages[*nr] = page;
		(*nr)++;
	} while (ptep++, addr += PAGE_SIZE, addr != end);

	ret = 1;

pte_unmap:
	if (pgmap)
		put_dev_pagemap(pgmap);
	pte_unmap(ptem);
	return ret;
}
