/**
 * `gupcheck probe`: every combination of mechanism x backing x map x prot x touch, each on a
 * fresh kernel and mapping (one page; 2 MB for hugetlb), pinned the way the selftests do it:
 *   iouring      IORING_REGISTER_BUFFERS (io_pin_pages(): FOLL_WRITE|FOLL_LONGTERM)
 *   gup_rw       PIN_LONGTERM_TEST_START with USE_WRITE (pin_user_pages, FOLL_LONGTERM|FOLL_WRITE)
 *   gup_rw_fast  ... with USE_WRITE|USE_FAST (pin_user_pages_fast)
 *   gup_ro       ... without USE_WRITE
 *   gup_ro_fast  ... with USE_FAST
 * Combinations a process cannot set up (a write touch on a PROT_READ mapping) are left out.
 * io_uring pins with pin_user_pages() under mmap_read_lock() before 6.10 and with
 * pin_user_pages_fast() from 6.10 (kernel/io_uring.ts). 6.1 has no PIN_LONGTERM_TEST_START, so
 * its gup_* rows are EINVAL, as that ioctl is on a real 6.1 (the legacy PIN_LONGTERM_BENCHMARK
 * ioctl, which reports no errno, is not modelled).
 */
import { PIN_LONGTERM_TEST_FLAG_USE_FAST, PIN_LONGTERM_TEST_FLAG_USE_WRITE, pin_longterm_test_start, pin_longterm_test_stop } from '../kernel/gup_test.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import { type Backing, backingPageSize, boot, mapBacking, ModelError, Process, runSequential, touch } from '../kernel/setup.ts';
import { auditRefcounts } from '../kernel/audit.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { unpin_user_pages } from '../kernel/gup.ts';
import { type Arch, PAGE_SIZE, errnoName } from '../kernel/types.ts';
import { setupProblem, type Touch } from './pin.ts';

export const MECHANISMS = ['iouring', 'gup_rw', 'gup_rw_fast', 'gup_ro', 'gup_ro_fast'] as const;
export type Mechanism = (typeof MECHANISMS)[number];
export const PROBE_BACKINGS = ['anon', 'memfd', 'memfd_hugetlb', 'tmpfs', 'hugetlbfs', 'ext4', 'xfs', 'btrfs'] as const;

export interface ProbeRow {
  mechanism: Mechanism;
  backing: (typeof PROBE_BACKINGS)[number];
  map: 'shared' | 'private';
  prot: 'rw' | 'r';
  touch: Touch;
  result: string;
}

/** Run one mechanism on one fresh mapping; 'ok' or the errno name. */
export function probeOne(kernel: string, arch: Arch, mechanism: Mechanism, backing: Backing, shared: boolean, prot: 'rw' | 'r', t: Touch): string {
  const rev = findRevision(kernel)!;
  const k = boot({ rev, arch });
  const p = new Process(k);
  const len = backingPageSize(backing);
  const vma = mapBacking(p, { backing, shared, prot, len, label: 'buf' });
  const c = p.ctx();
  if (t !== 'none') runSequential(c, touch(c, vma, t));
  if (mechanism === 'iouring') {
    const r = runSequential(c, rev.fns.io_pin_pages(c, vma.vm_start, len / PAGE_SIZE));
    if (typeof r !== 'number') runSequential(c, unpin_user_pages(c, r));
    selfCheck(k, `${mechanism} ${backing}`);
    return typeof r === 'number' ? errnoName(r) : 'ok';
  }
  const flags =
    (mechanism.startsWith('gup_rw') ? PIN_LONGTERM_TEST_FLAG_USE_WRITE : 0) | (mechanism.endsWith('_fast') ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0);
  const test = { pages: null as number[] | null };
  const r = runSequential(c, pin_longterm_test_start(c, test, vma.vm_start, len, flags));
  if (r === 0) runSequential(c, pin_longterm_test_stop(c, test));
  selfCheck(k, `${mechanism} ${backing}`);
  return r < 0 ? errnoName(r) : 'ok';
}

/** After a pin and unpin every refcount must balance; a mismatch is a bug in the model. */
function selfCheck(k: Kernel, what: string): void {
  const bad = [...k.w.findings.filter((f) => f.id === 'refcount' || f.id === 'warn'), ...auditRefcounts(k)];
  if (bad.length) throw new ModelError(`[gupcheck internal bug] ${what}: ${bad.map((f) => f.message).join('; ')}`);
}

export function probe(kernel: string, arch: Arch): ProbeRow[] {
  const rows: ProbeRow[] = [];
  for (const mechanism of MECHANISMS) {
    for (const backing of PROBE_BACKINGS) {
      for (const map of ['shared', 'private'] as const) {
        for (const prot of ['rw', 'r'] as const) {
          for (const touch of ['write', 'read', 'none'] as const) {
            if (setupProblem({ backing, shared: map === 'shared', prot, touch })) continue;
            rows.push({ mechanism, backing, map, prot, touch, result: probeOne(kernel, arch, mechanism, backing, map === 'shared', prot, touch) });
          }
        }
      }
    }
  }
  return rows;
}
