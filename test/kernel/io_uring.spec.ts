/**
 * io_uring's io_pin_pages() per revision (src/kernel/io_uring.ts; kernel-gup-reference.md §11
 * rows 1 and 8): before 6.10 pin_user_pages() under mmap_read_lock() (and before 6.5 a VMA scan
 * of its own), from 6.10 pin_user_pages_fast() with no lock held.
 */
import { describe, expect, it } from 'vitest';
import { createFile, user_access, runSequential } from '../../src/kernel/setup.ts';
import { do_mmap, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/kernel/mmap.ts';
import { FS } from '../../src/kernel/fs.ts';
import { init } from '../../src/sim/cell.ts';
import { errnoName, PAGE_SIZE } from '../../src/kernel/types.ts';
import type { Vma } from '../../src/kernel/mm_types.ts';
import { type Env, env, findings, recordAccesses, rev, run, whyFns } from './helpers.ts';

function register(e: Env, kernel: string, nr = 1): string {
  const r = run(e, () => rev(kernel).fns.io_pin_pages(e.c, e.addr, nr));
  return typeof r === 'number' ? errnoName(r) : `pinned ${r.length}`;
}

/** A second one-page VMA right after e.vma (the model's mmap gives each mapping its own slot otherwise). */
function adjacent(e: Env, what: 'anon' | 'ext4' | 'tmpfs' | 'same-file'): Vma {
  const file = what === 'anon' ? null : what === 'same-file' ? e.vma.vm_file : createFile(e.k, FS[what], `/mnt/${what}/other`);
  const v = do_mmap(e.c, e.p.mm, e.vma.vm_end, PAGE_SIZE, PROT_READ | PROT_WRITE, file && what !== 'ext4' ? MAP_SHARED : MAP_PRIVATE, file, 'second', what === 'same-file' ? 1 : 0);
  // ftruncate() the file to cover the mapping first, as mapBacking() does: a touch past i_size is SIGBUS.
  if (file) init(file.f_inode.i_size, Math.max(file.f_inode.i_size.v, (v.vm_pgoff + 1) * PAGE_SIZE));
  expect(runSequential(e.c, user_access(e.c, v.vm_start, true))).toBe(0);
  return v;
}

describe('io_pin_pages() from 6.10: pin_user_pages_fast() without mmap_lock', () => {
  it('pins an anonymous buffer on the fast path: no mmap_lock taken, nothing falls back', () => {
    for (const k of ['6.10', '6.12', '6.15', 'next']) {
      const e = env({ rev: k });
      const fns = recordAccesses(e);
      expect(register(e, k)).toBe('pinned 1');
      expect(fns).toContain('gup_pte_range');
      expect(fns).not.toContain('io_pin_pages');
      expect(fns.filter((f) => /mmap_read_lock|down_read/.test(f))).toEqual([]);
      expect(whyFns(e)).toEqual([]);
    }
  });

  it('an ext4 MAP_SHARED buffer: gup_fast_folio_allowed() refuses it, the slow path (FOLL_TOUCH|FOLL_UNLOCKABLE) says EFAULT', () => {
    const e = env({ rev: '6.12', backing: 'ext4', shared: true });
    expect(register(e, '6.12')).toBe('EFAULT');
    expect(whyFns(e)).toEqual(['gup_fast_folio_allowed', 'gup_pte_range', 'internal_get_user_pages_fast', 'check_vma_flags', 'io_pin_pages']);
    expect(findings(e)).toEqual([]);
  });

  it('6.5 still pins with pin_user_pages() under mmap_read_lock(): no GUP-fast step at all', () => {
    const e = env({ rev: '6.5' });
    const fns = recordAccesses(e);
    expect(register(e, '6.5')).toBe('pinned 1');
    expect(fns).toContain('io_pin_pages');
    expect(fns).not.toContain('gup_pte_range');
  });

  it('a buffer partly not mapped: the pages pinned are unpinned and registration fails with EFAULT', () => {
    const e = env({ rev: '6.12', len: 2 * PAGE_SIZE });
    const before = e.k.page(e.k.zeroPfn)._refcount.v;
    expect(register(e, '6.12', 3)).toBe('EFAULT');
    expect(e.k.page(e.k.zeroPfn)._refcount.v).toBe(before);
    expect(whyFns(e).at(-1)).toBe('io_pin_pages');
  });
});

describe('io_pin_pages() before 6.5: its own VMA scan', () => {
  it('refuses a buffer over VMAs of different files with EINVAL, before looking at the file type', () => {
    // anon then ext4 (6.1 lets GUP pin both): the second VMA's file differs from the first's
    // (NULL), and the scan says so before it sees that ext4 is not shmem.
    const e = env({ rev: '6.1' });
    adjacent(e, 'ext4');
    expect(register(e, '6.1', 2)).toBe('EINVAL');
    expect(e.why.at(-1)).toEqual(['io_pin_pages', expect.stringMatching(/different files .*-EINVAL/)]);
    for (const k of ['6.1', 'v7']) {
      // two tmpfs files: each allowed alone, but not together.
      const t = env({ rev: k, backing: 'tmpfs', shared: true });
      adjacent(t, 'tmpfs');
      expect(register(t, k, 2)).toBe('EINVAL');
    }
  });

  it('two VMAs of one shmem file are one file: registered', () => {
    const e = env({ rev: '6.1', backing: 'tmpfs', shared: true });
    adjacent(e, 'same-file');
    expect(register(e, '6.1', 2)).toBe('pinned 2');
  });

  it('a buffer over anonymous VMAs only is fine; an ext4 one alone is EOPNOTSUPP', () => {
    const e = env({ rev: '6.1' });
    adjacent(e, 'anon');
    expect(register(e, '6.1', 2)).toBe('pinned 2');
    expect(register(env({ rev: '6.1', backing: 'ext4', shared: true }), '6.1')).toBe('EOPNOTSUPP');
  });

  it('6.5 has no scan: the same anon-then-ext4 buffer is pinned (GUP allows a MAP_PRIVATE ext4 pin)', () => {
    const e = env({ rev: '6.5' });
    adjacent(e, 'ext4');
    expect(register(e, '6.5', 2)).toBe('pinned 2');
  });
});
