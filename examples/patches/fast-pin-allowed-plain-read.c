/*
 * 6.5's folio_fast_pin_allowed() with a plain read of ->mapping instead of READ_ONCE(), restated for gupcheck from
 * docs/reference/kernel-gup-reference.md §4.5. GUP-fast calls it after the PTE re-check.
 * Against truncate on arm64 the NULL test and the dereference may see different loads:
 *
 *   gupcheck check examples/07-fast-pin-vs-truncate.yaml --kernel 6.5 --arch arm64 --patch examples/patches/fast-pin-allowed-plain-read.c
 */
#include <linux/mm.h>

static bool folio_fast_pin_allowed(struct folio *folio, unsigned int flags)
{
	struct address_space *mapping;
	unsigned long mapping_flags;

	/* Only FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE pins are restricted. */
	if ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) !=
	    (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))
		return true;

	/* The folio is pinned and proven still mapped: its fields can be read. */
	if (WARN_ON_ONCE(folio_test_slab(folio)))
		return false;

	/* hugetlb folios never need dirty tracking. */
	if (folio_test_hugetlb(folio))
		return true;

	/* IRQs off keep an RCU-freed address_space from going away under us. */
	lockdep_assert_irqs_disabled();

	/* A plain load: the compiler may load ->mapping again at each use below. */
	mapping = folio->mapping;

	/* Truncated (or unknown): let the slow path decide. */
	if (!mapping)
		return false;

	/* Anonymous (and KSM) folios are fine; non-LRU movable pages are not. */
	mapping_flags = (unsigned long)mapping & PAGE_MAPPING_FLAGS;
	if (mapping_flags)
		return mapping_flags & PAGE_MAPPING_ANON;

	/* A file: only shmem needs no dirty tracking. */
	return shmem_mapping(mapping);
}
