/*
 * Models mm/gup_test.c's PIN_LONGTERM_TEST_START / _STOP ioctls (CONFIG_GUP_TEST, 6.5;
 * docs/reference/kernel-gup-reference.md §7.1), the interface tools/testing/selftests/mm/gup_longterm.c uses:
 *   START: -EINVAL if a test is active, for unknown flag bits, unaligned addr/size or 0 pages;
 *     gup_flags = FOLL_LONGTERM (| FOLL_WRITE with USE_WRITE); USE_FAST -> pin_user_pages_fast()
 *     without mmap_lock, else pin_user_pages() under mmap_read_lock(); loop until all pages are
 *     pinned; a negative return stops the test (unpinning what was pinned) and is returned to
 *     user space.
 *   STOP: unpin_user_pages().
 *
 * Before 6.5 (6.1) there is no PIN_LONGTERM_TEST_START: gup_test_ioctl() returns -EINVAL for it
 * (c.rev.gupTestPinLongterm false), which tools/testing/selftests/mm/gup_longterm.c reports as SKIP.
 *
 * Left out: PIN_LONGTERM_TEST_READ, the benchmark ioctls (6.1's PIN_LONGTERM_BENCHMARK among
 * them), -EINTR from a killable lock. A return
 * of 0 pages (the kernel would loop forever: only possible with invalid arguments) is reported
 * as -EINVAL here.
 */
import { type Step, site } from '../sim/op.ts';
import { down_read, up_read } from '../sim/sync.ts';
import { pin_user_pages, pin_user_pages_fast, unpin_user_pages } from './gup.ts';
import type { Ctx } from './kernel.ts';
import { EINVAL, FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE } from './types.ts';

export const PIN_LONGTERM_TEST_FLAG_USE_WRITE = 1;
export const PIN_LONGTERM_TEST_FLAG_USE_FAST = 2;

const S_lock = site('pin_longterm_test_start', 'mmap_read_lock_killable()');

export interface PinLongtermTest {
  pages: number[] | null;
}

/** PIN_LONGTERM_TEST_START: 0 or -errno; on success the test holds the pins. */
export function* pin_longterm_test_start(c: Ctx, t: PinLongtermTest, addr: number, size: number, flags: number): Step<number> {
  if (!c.rev.gupTestPinLongterm) {
    // 6.1's gup_test_ioctl() (mm/gup_test.c 6.1.192:206-221) knows only the BENCHMARK/BASIC/DUMP commands.
    c.why?.('gup_test_ioctl', 'no PIN_LONGTERM_TEST_START on this kernel (6.1 has only the benchmark, basic and dump commands): -EINVAL');
    return -EINVAL;
  }
  if (t.pages) return -EINVAL;
  if (flags & ~(PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST)) return -EINVAL;
  if (addr % PAGE_SIZE || size % PAGE_SIZE) return -EINVAL;
  const nr_pages = size / PAGE_SIZE;
  if (!nr_pages) return -EINVAL;
  const pages: number[] = [];
  t.pages = pages;
  const gup_flags = FOLL_LONGTERM | (flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE ? FOLL_WRITE : 0);
  const fast = (flags & PIN_LONGTERM_TEST_FLAG_USE_FAST) !== 0;
  const mm = c.mm!;
  if (!fast) yield* down_read(c, mm.mmap_lock, S_lock);
  let remaining = nr_pages;
  let a = addr;
  let ret = 0;
  while (remaining) {
    const cur = fast
      ? yield* pin_user_pages_fast(c, a, remaining, gup_flags, pages)
      : yield* pin_user_pages(c, a, remaining, gup_flags, pages);
    if (cur <= 0) {
      yield* pin_longterm_test_stop(c, t);
      ret = cur < 0 ? cur : -EINVAL;
      break;
    }
    remaining -= cur;
    a += cur * PAGE_SIZE;
  }
  if (!fast) yield* up_read(c, mm.mmap_lock, S_lock);
  return ret;
}

/** PIN_LONGTERM_TEST_STOP. */
export function* pin_longterm_test_stop(c: Ctx, t: PinLongtermTest): Step<void> {
  if (!t.pages) return;
  const pages = t.pages;
  t.pages = null;
  yield* unpin_user_pages(c, pages);
}
