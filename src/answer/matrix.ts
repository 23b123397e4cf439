/**
 * `gupcheck matrix`: tools/testing/selftests/mm/gup_longterm.c (6.5-era shape, torvalds/linux
 * 6cc0d5f4a9a5) run against the model. For each of its 10 test cases and each backing:
 *   do_test(): ftruncate, fallocate (shmem/hugetlb get their pages now), mmap(PROT_READ|
 *   PROT_WRITE, MAP_SHARED or MAP_PRIVATE), memset() (faults every page in writable), then
 *   PIN_LONGTERM_TEST_START (USE_WRITE / USE_FAST) or IORING_REGISTER_BUFFERS;
 * and the selftest's own verdict:
 *   GUP:      rw && shared && unknown fs -> SKIP "Unknown filesystem";
 *             should_work = !shared || !rw || fs is tmpfs/hugetlbfs;
 *             EINVAL -> SKIP; EFAULT -> PASS iff !should_work ("Should have failed");
 *             other errno -> FAIL; success -> PASS iff should_work ("Should have worked").
 *   io_uring: shared && unknown fs -> SKIP; should_work = !shared || tmpfs/hugetlbfs;
 *             ENOSPC/EOPNOTSUPP/EFAULT -> PASS iff !should_work; other error -> SKIP;
 *             success -> PASS iff should_work.
 * (The selftest reads errno after io_uring_register_buffers(); whether liburing sets it is
 * version-dependent — here the errno is the model's return value.) On 6.1, whose gup_test has no
 * PIN_LONGTERM_TEST_START, every GUP cell the selftest reaches is EINVAL -> SKIP, as on a real 6.1.
 */
import { PIN_LONGTERM_TEST_FLAG_USE_FAST, PIN_LONGTERM_TEST_FLAG_USE_WRITE, pin_longterm_test_start, pin_longterm_test_stop } from '../kernel/gup_test.ts';
import { unpin_user_pages } from '../kernel/gup.ts';
import { BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, FS, HUGETLBFS_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC } from '../kernel/fs.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import { type Backing, backingPageSize, boot, mapBacking, Process, runSequential, touch } from '../kernel/setup.ts';
import { type Arch, EFAULT, EINVAL, ENOSPC, EOPNOTSUPP, PAGE_SIZE, errnoName } from '../kernel/types.ts';
import { backingFs } from '../kernel/setup.ts';

export const TEST_CASES = [
  { name: 'R/W longterm GUP pin in MAP_SHARED file mapping', type: 'RW', shared: true },
  { name: 'R/W longterm GUP-fast pin in MAP_SHARED file mapping', type: 'RW_FAST', shared: true },
  { name: 'R/O longterm GUP pin in MAP_SHARED file mapping', type: 'RO', shared: true },
  { name: 'R/O longterm GUP-fast pin in MAP_SHARED file mapping', type: 'RO_FAST', shared: true },
  { name: 'R/W longterm GUP pin in MAP_PRIVATE file mapping', type: 'RW', shared: false },
  { name: 'R/W longterm GUP-fast pin in MAP_PRIVATE file mapping', type: 'RW_FAST', shared: false },
  { name: 'R/O longterm GUP pin in MAP_PRIVATE file mapping', type: 'RO', shared: false },
  { name: 'R/O longterm GUP-fast pin in MAP_PRIVATE file mapping', type: 'RO_FAST', shared: false },
  { name: 'io_uring fixed buffer with MAP_SHARED file mapping', type: 'IOURING', shared: true },
  { name: 'io_uring fixed buffer with MAP_PRIVATE file mapping', type: 'IOURING', shared: false },
] as const;

/** The selftest's backings, as a machine running it would see them. */
export const MATRIX_BACKINGS: readonly { readonly label: string; readonly backing: Backing; readonly runs: string }[] = [
  { label: 'memfd', backing: 'memfd', runs: 'with memfd' },
  { label: 'tmpfile (tmpfs)', backing: 'tmpfs', runs: 'with tmpfile' },
  { label: 'local tmpfile (ext4)', backing: 'ext4', runs: 'with local tmpfile' },
  { label: 'local tmpfile (xfs)', backing: 'xfs', runs: 'with local tmpfile' },
  { label: 'local tmpfile (btrfs)', backing: 'btrfs', runs: 'with local tmpfile' },
  { label: 'local tmpfile (unknown fs: f2fs)', backing: 'otherfs', runs: 'with local tmpfile' },
  { label: 'memfd hugetlb (2048 kB)', backing: 'memfd_hugetlb', runs: 'with memfd hugetlb (2048 kB)' },
  { label: 'memfd hugetlb (1048576 kB)', backing: 'memfd_hugetlb_1g', runs: 'with memfd hugetlb (1048576 kB)' },
];

export interface MatrixCell {
  /** The selftest's test-case name, exactly. */
  readonly test: string;
  readonly backing: string;
  /** The model's result: 'ok' or the errno name. */
  readonly result: string;
  /** The selftest's verdict on that result. */
  readonly selftest: 'PASS' | 'FAIL' | 'SKIP';
  /** The selftest's message ("Should have failed", "Unknown filesystem", ...). */
  readonly message: string;
  /** The line the selftest prints before the result. */
  readonly run: string;
}

function fsMagic(b: Backing): number {
  const f = backingFs(b, true).fs;
  return f ? FS[f].magic : 0;
}
const KNOWN = new Set([TMPFS_MAGIC, HUGETLBFS_MAGIC, BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC]);
const fs_is_unknown = (m: number) => !KNOWN.has(m);
const fs_supports_writable_longterm_pinning = (m: number) => m === TMPFS_MAGIC || m === HUGETLBFS_MAGIC;

export function runMatrix(kernel: string, arch: Arch = 'x86'): MatrixCell[] {
  const rev = findRevision(kernel);
  if (!rev) throw new Error(`unknown kernel ${kernel}`);
  const cells: MatrixCell[] = [];
  for (const tc of TEST_CASES) {
    for (const b of MATRIX_BACKINGS) {
      const run = `[RUN] ${tc.name} ... ${b.runs}`;
      const magic = fsMagic(b.backing);
      const rw = tc.type === 'RW' || tc.type === 'RW_FAST';
      const push = (result: string, selftest: MatrixCell['selftest'], message: string) =>
        cells.push({ test: tc.name, backing: b.label, result, selftest, message, run });
      // The selftest skips before pinning here: no model result to report.
      if (tc.type !== 'IOURING' && rw && tc.shared && fs_is_unknown(magic)) {
        push('-', 'SKIP', 'Unknown filesystem');
        continue;
      }
      if (tc.type === 'IOURING' && tc.shared && fs_is_unknown(magic)) {
        push('-', 'SKIP', 'Unknown filesystem');
        continue;
      }
      const size = backingPageSize(b.backing);
      const k = boot({ rev, arch, hugetlbPool: { 9: 4, 18: 2 } });
      const p = new Process(k);
      const vma = mapBacking(p, { backing: b.backing, shared: tc.shared, prot: 'rw', len: size, label: 'mem', fallocate: true });
      const c = p.ctx();
      if (runSequential(c, touch(c, vma, 'write', size === PAGE_SIZE ? PAGE_SIZE : size))) {
        push('SIGBUS', 'FAIL', 'memset() faulted');
        continue;
      }
      if (tc.type === 'IOURING') {
        const should_work = !tc.shared || fs_supports_writable_longterm_pinning(magic);
        const r = runSequential(c, rev.fns.io_pin_pages(c, vma.vm_start, size / PAGE_SIZE));
        if (typeof r === 'number') {
          if (r === -ENOSPC || r === -EOPNOTSUPP || r === -EFAULT) push(errnoName(r), !should_work ? 'PASS' : 'FAIL', 'Should have failed');
          else push(errnoName(r), 'SKIP', 'io_uring_register_buffers() failed');
        } else {
          runSequential(c, unpin_user_pages(c, r));
          push('ok', should_work ? 'PASS' : 'FAIL', 'Should have worked');
        }
        continue;
      }
      const fast = tc.type === 'RO_FAST' || tc.type === 'RW_FAST';
      const should_work = !tc.shared || !rw || fs_supports_writable_longterm_pinning(magic);
      const flags = (fast ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0) | (rw ? PIN_LONGTERM_TEST_FLAG_USE_WRITE : 0);
      const test = { pages: null as number[] | null };
      const ret = runSequential(c, pin_longterm_test_start(c, test, vma.vm_start, size, flags));
      if (ret === -EINVAL) push('EINVAL', 'SKIP', 'PIN_LONGTERM_TEST_START failed');
      else if (ret === -EFAULT) push('EFAULT', !should_work ? 'PASS' : 'FAIL', 'Should have failed');
      else if (ret) push(errnoName(ret), 'FAIL', 'PIN_LONGTERM_TEST_START failed');
      else {
        runSequential(c, pin_longterm_test_stop(c, test));
        push('ok', should_work ? 'PASS' : 'FAIL', 'Should have worked');
      }
    }
  }
  return cells;
}
