/*
 * Linux 6.1 (6.1.0-6.1.20, pristine; kernel-gup-reference.md §11 rows 3-6, 8, 12): before the
 * series. No file-backed check in GUP-fast or the slow path, so a FOLL_LONGTERM|FOLL_WRITE pin
 * of an ext4 MAP_SHARED page succeeds. Also:
 *  - io_uring's own VMA scan (kernel/io_uring.ts): -EINVAL for a buffer over VMAs of different
 *    files, -EOPNOTSUPP for file-backed buffers that are not shmem or hugetlbfs;
 *  - try_grab_folio() refuses non-longterm-pinnable pages before taking the reference;
 *  - no is_valid_gup_args(): pin_user_pages_fast() (mm/gup.c:3159) and pin_user_pages()
 *    (:3270) return -EINVAL for FOLL_GET (a NULL pages array too, which the model's callers never
 *    pass) and take caller FOLL_PIN/FOLL_FAST_ONLY; internal_get_user_pages_fast() returns 0 for
 *    an overflowing range (:3035); its long-term fallback, __gup_longterm_unlocked() (:2941),
 *    keeps the caller's flags (no FOLL_TOUCH); pin_user_pages_unlocked(FOLL_LONGTERM) is -EINVAL
 *    (get_user_pages_unlocked(), :3292);
 *  - gup_must_unshare(flags, page) (include/linux/mm.h:3073) is false for any non-anon page:
 *    R/O long-term pins of page-cache pages are taken on the fast path, and in MAP_PRIVATE
 *    the page-cache page itself is pinned (no unshare fault);
 *  - try_grab_folio() (:124) and try_grab_page() (:209) pin the zero page with the full bias;
 *  - mm/gup_test.c has no PIN_LONGTERM_TEST_START (only the BENCHMARK/BASIC/DUMP commands):
 *    the ioctl returns -EINVAL, which gup_longterm reports as SKIP;
 *  - struct slab (SLUB) puts slab_cache where page->mapping is (mm/slab.h,
 *    SLAB_MATCH(compound_head, slab_list)): a slab page's mapping word is its kmem_cache.
 * Debian's 6.1.192 has two of these changed by stable backports: the zero page is not pinned
 * (try_grab_folio()/try_grab_page()/gup_put_folio() skip it), and page_is_secretmem() has no
 * PageLRU shortcut (65291dcfcf89). The rest is as here (checked against 6.1.192's mm/gup.c,
 * include/linux/mm.h, mm/gup_test.c and io_uring/rsrc.c).
 */
import { io_pin_pages_pre65 } from '../io_uring.ts';
import { derive } from '../revision.ts';
import { linux_6_5 } from './linux-6.5.ts';

export const linux_6_1 = derive(linux_6_5, {
  name: '6.1',
  title: 'Linux 6.1 (before the series)',
  summary: 'no file-backed check anywhere; io_uring refuses non-shmem/hugetlb file buffers with EOPNOTSUPP; no PIN_LONGTERM_TEST_START',
  order: 601,
  pinFastEinval: false,
  longtermCheckAfterGet: false,
  isValidGupArgs: false,
  gupMustUnshareNonAnon: false,
  pinsZeroPage: true,
  gupTestPinLongterm: false,
  slabCacheInMappingWord: true,
  fns: {
    folio_fast_pin_allowed: undefined,
    writable_file_mapping_allowed: undefined,
    vma_needs_dirty_tracking: undefined,
    io_pin_pages: io_pin_pages_pre65,
  },
});
