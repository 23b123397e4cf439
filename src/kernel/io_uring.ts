/*
 * Models io_uring fixed-buffer registration (IORING_REGISTER_BUFFERS: io_sqe_buffer_register()
 * -> io_pin_pages(); docs/reference/kernel-gup-reference.md §7.3, §11 rows 1 and 8):
 *   before 6.5 (6.1.20 io_uring/rsrc.c; Debian 6.1.192 rsrc.c:979-1046): mmap_read_lock();
 *     pin_user_pages(ubuf, nr, FOLL_WRITE | FOLL_LONGTERM, pages, vmas); all pages pinned ->
 *     a scan of the VMAs: a VMA whose file differs from the first page's VMA's file -> -EINVAL
 *     (6.1.20 rsrc.c:1154, 6.1.192 :1013), before a file VMA that is neither shmem nor
 *     hugetlbfs -> -EOPNOTSUPP (6.1.20 :1161, 6.1.192 :1019); fewer pages -> the error or
 *     -EFAULT; on any error the pages pinned are unpinned.
 *   6.5 (io_uring/rsrc.c:1046): the same pin under mmap_read_lock(), no VMA scan: "io_uring:
 *     rsrc: delegate VMA file-backed check to GUP" (34ed8d0dcd69).
 *   6.10+ (io_uring/memmap.c:148 in 6.10 and 6.12, :63 in 6.19 and 7.1.5; Debian 6.12.118
 *     memmap.c:134-172): pin_user_pages_fast(uaddr, nr, FOLL_WRITE | FOLL_LONGTERM, pages) with
 *     no mmap_lock: GUP-fast first, then the slow path with FOLL_TOUCH|FOLL_UNLOCKABLE, which
 *     takes mmap_lock itself. Fewer pages -> -EFAULT, after unpinning them. (The switch came
 *     between 6.6 and 6.10; 6.10 is the first modelled revision with it.)
 *
 * Left out: RLIMIT_MEMLOCK accounting (io_buffer_account_pin), buffer coalescing, the
 * io_uring instance itself (IORING_REGISTER_BUFFERS with one iovec), the length overflow checks
 * (-EOVERFLOW: callers pass a valid page count).
 */
import { type Step, site } from '../sim/op.ts';
import { down_read, up_read } from '../sim/sync.ts';
import { pin_user_pages, pin_user_pages_fast, unpin_user_pages } from './gup.ts';
import type { Ctx } from './kernel.ts';
import { EFAULT, EINVAL, EOPNOTSUPP, errnoName, FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE } from './types.ts';
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
    c.why?.('io_pin_pages', pret < 0 ? `pin_user_pages() returned ${errnoName(pret)}: registration fails` : `pin_user_pages() pinned ${pret} of ${nr_pages} page(s): registration fails with -EFAULT`);
    return ret;
  }
  return pages;
}

/** io_pin_pages() before 6.5: the pin, then the VMA scan (-EINVAL for buffers over several files, -EOPNOTSUPP for file-backed ones). */
export function* io_pin_pages_pre65(c: Ctx, ubuf: number, nr_pages: number): Step<number[] | number> {
  const mm = c.mm!;
  const pages: number[] = [];
  yield* down_read(c, mm.mmap_lock, S_lock);
  const pret = yield* pin_user_pages(c, ubuf, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
  let ret = 0;
  if (pret === nr_pages) {
    // vmas[i] as pin_user_pages() filled it in (under the same mmap_read_lock).
    const vmas = Array.from({ length: nr_pages }, (_, i) => mm.find_vma(ubuf + i * PAGE_SIZE)!);
    const file = vmas[0]!.vm_file;
    // "don't support file backed memory"
    for (let i = 0; i < nr_pages; i++) {
      const vma = vmas[i]!;
      if (vma.vm_file !== file) {
        c.why?.('io_pin_pages', `the buffer spans VMAs of different files (${vmas[0]!.label} and ${vma.label}): -EINVAL`);
        ret = -EINVAL;
        break;
      }
      if (!file) continue;
      if (!vma_is_shmem(vma) && !is_vm_hugetlb_page(vma)) {
        c.why?.('io_pin_pages', `"don't support file backed memory": ${file.f_inode.fs.name} VMA is neither shmem nor hugetlbfs: -EOPNOTSUPP`);
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

/** io_pin_pages() (6.10+, io_uring/memmap.c): pin_user_pages_fast() with no mmap_lock held. */
export function* io_pin_pages_fast(c: Ctx, uaddr: number, nr_pages: number): Step<number[] | number> {
  const pages: number[] = [];
  const ret = yield* pin_user_pages_fast(c, uaddr, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
  // success, mapped all pages
  if (ret === nr_pages) return pages;
  // partial map, or didn't map anything
  if (ret >= 0) {
    if (ret) yield* unpin_user_pages(c, pages.slice(0, ret));
    c.why?.('io_pin_pages', `pin_user_pages_fast() pinned ${ret} of ${nr_pages} page(s): registration fails with -EFAULT`);
    return -EFAULT;
  }
  c.why?.('io_pin_pages', `pin_user_pages_fast() returned ${errnoName(ret)}: registration fails`);
  return ret;
}
