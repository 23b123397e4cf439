/*
 * Linux 6.1: before the series. No file-backed check in GUP-fast or the slow path, so a
 * FOLL_LONGTERM|FOLL_WRITE pin of an ext4 MAP_SHARED page succeeds; io_uring refuses every
 * file-backed buffer that is not shmem or hugetlbfs with -EOPNOTSUPP from its own VMA scan;
 * try_grab_folio() refuses non-longterm-pinnable pages before taking the reference;
 * pin_user_pages_fast() returns 0 on bad arguments.
 */
import { io_pin_pages_pre65 } from '../io_uring.ts';
import { derive } from '../revision.ts';
import { linux_6_5 } from './linux-6.5.ts';

export const linux_6_1 = derive(linux_6_5, {
  name: '6.1',
  title: 'Linux 6.1 (before the series)',
  summary: 'no file-backed check anywhere; io_uring refuses non-shmem/hugetlb file buffers with EOPNOTSUPP',
  order: 601,
  pinFastEinval: false,
  longtermCheckAfterGet: false,
  fns: {
    folio_fast_pin_allowed: undefined,
    writable_file_mapping_allowed: undefined,
    vma_needs_dirty_tracking: undefined,
    io_pin_pages: io_pin_pages_pre65,
  },
});
