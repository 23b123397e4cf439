/*
 * Models io_uring fixed-buffer registration (io_uring/rsrc.c io_sqe_buffer_register() ->
 * io_pin_pages(); docs/reference/kernel-gup-reference.md §7.3):
 *   6.5+: mmap_read_lock(); pin_user_pages(ubuf, nr, FOLL_WRITE | FOLL_LONGTERM, pages);
 *     fewer pages than asked -> the error (or -EFAULT); partial pins are unpinned.
 *   before 6.5: the same pin, then a scan of the VMAs: any file-backed VMA that is neither shmem
 *     nor hugetlbfs -> -EOPNOTSUPP (MAP_PRIVATE or MAP_SHARED alike). Removed by
 *     "io_uring: rsrc: delegate VMA file-backed check to GUP" (34ed8d0dcd69, 6.5).
 *
 * Left out: RLIMIT_MEMLOCK accounting (io_buffer_account_pin), buffer coalescing, the
 * io_uring instance itself (IORING_REGISTER_BUFFERS with one iovec).
 */
import { type Step, site } from '../sim/op.ts';
import { down_read, up_read } from '../sim/sync.ts';
import { pin_user_pages, unpin_user_pages } from './gup.ts';
import type { Ctx } from './kernel.ts';
import { EFAULT, EOPNOTSUPP, FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE } from './types.ts';
import { is_vm_hugetlb_page, vma_is_shmem } from './internal.ts';

const S_lock = site('io_pin_pages', 'mmap_read_lock()');

/** io_pin_pages() (6.5 form): the pinned pfns, or -errno. */
export function* io_pin_pages(c: Ctx, ubuf: number, nr_pages: number): Step<number[] | number> {
  const mm = c.mm!;
  const pages: number[] = [];
  yield* down_read(c, mm.mmap_lock, S_lock);
  const pret = yield* pin_user_pages(c, ubuf, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
  const ret = pret === nr_pages ? 0 : pret < 0 ? pret : -EFAULT;
  yield* up_read(c, mm.mmap_lock, S_lock);
  if (ret) {
    if (pret > 0) yield* unpin_user_pages(c, pages.slice(0, pret));
    c.why?.('io_pin_pages', `pin_user_pages() returned ${pret}: registration fails`);
    return ret;
  }
  return pages;
}

/** io_pin_pages() before 6.5: the extra VMA scan that refused file-backed buffers with -EOPNOTSUPP. */
export function* io_pin_pages_pre65(c: Ctx, ubuf: number, nr_pages: number): Step<number[] | number> {
  const mm = c.mm!;
  const pages: number[] = [];
  yield* down_read(c, mm.mmap_lock, S_lock);
  const pret = yield* pin_user_pages(c, ubuf, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
  let ret = 0;
  if (pret === nr_pages) {
    for (let a = ubuf; a < ubuf + nr_pages * PAGE_SIZE; a += PAGE_SIZE) {
      const vma = mm.find_vma(a);
      if (!vma || vma_is_shmem(vma)) continue;
      if (vma.vm_file && !is_vm_hugetlb_page(vma)) {
        c.why?.('io_pin_pages', `"don't support file backed memory": ${vma.vm_file.f_inode.fs.name} VMA is neither shmem nor hugetlbfs: -EOPNOTSUPP`);
        ret = -EOPNOTSUPP;
        break;
      }
    }
  } else {
    ret = pret < 0 ? pret : -EFAULT;
  }
  yield* up_read(c, mm.mmap_lock, S_lock);
  if (ret) {
    if (pret > 0) yield* unpin_user_pages(c, pages.slice(0, pret));
    return ret;
  }
  return pages;
}
