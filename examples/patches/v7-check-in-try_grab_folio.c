/*
 * v7's GUP-fast check (the seed's "mm/gup: disallow GUP writing to file-backed mappings by
 * default", v7 3/3), restated for gupcheck from docs/reference/kernel-gup-reference.md §2.3 and
 * §4.6, to apply to 6.1:
 *
 *   gupcheck check examples/09-fast-pin-vs-unmap-reuse.yaml --kernel 6.1 --patch examples/patches/v7-check-in-try_grab_folio.c
 *
 * The check runs inside try_grab_folio(), after try_get_folio() took plain references and
 * before the pin bias is added, so before GUP-fast re-checks the PTE.
 */
#include <linux/mm.h>

static bool folio_longterm_write_pin_allowed(struct folio *folio)
{
	struct address_space *mapping;

	/* GUP-fast runs with IRQs off; the slow hugetlb path does not. */
	lockdep_assert_irqs_disabled();

	mapping = folio_mapping(folio);
	return !mapping || shmem_mapping(mapping) || folio_test_hugetlb(folio);
}

struct folio *try_grab_folio(struct page *page, int refs, unsigned int flags)
{
	struct folio *folio;

	if (WARN_ON_ONCE((flags & (FOLL_GET | FOLL_PIN)) == 0))
		return NULL;

	if (flags & FOLL_GET)
		return try_get_folio(page, refs);

	/* FOLL_PIN: the zero page is returned without a reference. */
	if (is_zero_page(page))
		return page_folio(page);

	/* 6.1 refuses pages that may not be pinned long-term before taking a reference. */
	if (unlikely((flags & FOLL_LONGTERM) && !is_longterm_pinnable_page(page)))
		return NULL;

	folio = try_get_folio(page, refs);
	if (!folio)
		return NULL;

	if ((flags & FOLL_WRITE) && (flags & FOLL_LONGTERM) &&
	    !folio_longterm_write_pin_allowed(folio)) {
		folio_put_refs(folio, refs);
		return NULL;
	}

	if (folio_test_large(folio))
		atomic_add(refs, &folio->_pincount);
	else
		folio_ref_add(folio, refs * (GUP_PIN_COUNTING_BIAS - 1));

	/* Orders the pin before the caller's PTE re-check. */
	smp_mb__after_atomic();
	return folio;
}
