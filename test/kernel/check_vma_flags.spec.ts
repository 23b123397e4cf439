/**
 * check_vma_flags() (src/kernel/gup.ts), the slow path's per-VMA test, with the series'
 * writable_file_mapping_allowed() as each revision has it: 6.5's (FOLL_PIN and FOLL_LONGTERM
 * both, shared-writable dirty-tracked VMAs only), v7's (either flag; no shared-writable test in
 * its vma_needs_dirty_tracking()), and 6.1's (none).
 */
import { describe, expect, it } from 'vitest';
import { check_vma_flags } from '../../src/kernel/gup.ts';
import {
  EFAULT,
  FOLL_ANON,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  VM_IO,
  VM_MAYREAD,
  VM_PFNMAP,
  VM_READ,
} from '../../src/kernel/types.ts';
import { type Env, type EnvOptions, env, expectWhy, PIN_LONGTERM_WRITE, rev, run, whyFns } from './helpers.ts';

function vmaEnv(o: EnvOptions): Env {
  return env({ touch: 'none', ...o });
}
function checkVma(e: Env, flags: number): number {
  return run(e, () => check_vma_flags(e.c, e.vma, flags));
}

describe('check_vma_flags: the revisions model the same function', () => {
  it('6.1, v7 and 6.5 all use gup.ts check_vma_flags(); only writable_file_mapping_allowed() differs', () => {
    for (const name of ['6.1', 'v7', '6.5']) expect(rev(name).fns.check_vma_flags).toBe(check_vma_flags);
    expect(rev('6.1').fns.writable_file_mapping_allowed).toBeUndefined();
    expect(rev('v7').fns.writable_file_mapping_allowed).not.toBe(rev('6.5').fns.writable_file_mapping_allowed);
  });
});

describe('check_vma_flags (6.5): VMAs GUP never touches', () => {
  it('accepts a pin of ordinary anonymous memory', () => {
    const e = vmaEnv({ rev: '6.5' });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('refuses a VM_IO mapping with -EFAULT', () => {
    const e = vmaEnv({ rev: '6.5' });
    e.vma.vm_flags |= VM_IO;
    expect(checkVma(e, FOLL_PIN)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /VM_IO or VM_PFNMAP mapping: -EFAULT/);
  });

  it('refuses a VM_PFNMAP mapping with -EFAULT', () => {
    const e = vmaEnv({ rev: '6.5' });
    e.vma.vm_flags |= VM_PFNMAP;
    expect(checkVma(e, FOLL_GET)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /VM_IO or VM_PFNMAP/);
  });

  it('tests VM_IO before FOLL_ANON', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true });
    e.vma.vm_flags |= VM_IO;
    expect(checkVma(e, FOLL_PIN | FOLL_ANON)).toBe(-EFAULT);
    expect(e.why).toEqual([['check_vma_flags', expect.stringMatching(/VM_IO/)]]);
  });

  it('refuses FOLL_ANON on a file-backed VMA', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true });
    expect(checkVma(e, FOLL_GET | FOLL_ANON)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /FOLL_ANON on a non-anonymous VMA: -EFAULT/);
  });

  it('accepts FOLL_ANON on an anonymous VMA', () => {
    const e = vmaEnv({ rev: '6.5' });
    expect(checkVma(e, FOLL_GET | FOLL_ANON)).toBe(0);
  });

  it('refuses any pin of a secretmem VMA, even a short-term read pin', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'secretmem', shared: true });
    expect(checkVma(e, FOLL_PIN)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /secretmem VMA \(memfd_secret\): never pinned/);
  });

  it('refuses a secretmem VMA on 6.1 too', () => {
    const e = vmaEnv({ rev: '6.1', backing: 'secretmem', shared: true });
    expect(checkVma(e, FOLL_GET)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /secretmem/);
  });
});

describe('check_vma_flags (6.5): writable_file_mapping_allowed()', () => {
  it('refuses a long-term write pin of an ext4 MAP_SHARED mapping (it needs dirty tracking)', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(-EFAULT);
    expect(whyFns(e)).toEqual(['check_vma_flags']);
    expectWhy(e, 'check_vma_flags', /writable_file_mapping_allowed\(\) is false: FOLL_PIN\|FOLL_LONGTERM; MAP_SHARED and writable; ext4_file_vm_ops has ->page_mkwrite: -EFAULT/);
  });

  it('refuses xfs and btrfs MAP_SHARED the same way', () => {
    for (const backing of ['xfs', 'btrfs'] as const) {
      const e = vmaEnv({ rev: '6.5', backing, shared: true });
      expect(checkVma(e, PIN_LONGTERM_WRITE), backing).toBe(-EFAULT);
      expectWhy(e, 'check_vma_flags', /has ->page_mkwrite/);
    }
  });

  it('accepts a short-term write pin of the ext4 MAP_SHARED mapping', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true });
    expect(checkVma(e, FOLL_PIN | FOLL_WRITE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('accepts a long-term write pin of an ext4 MAP_PRIVATE mapping (writes go to anon CoW copies)', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: false });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('accepts a long-term write pin of a memfd (shmem: no dirty tracking)', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'memfd', shared: true });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(0);
  });

  it('accepts a long-term read pin of the ext4 MAP_SHARED mapping (no FOLL_WRITE, no check)', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true });
    expect(checkVma(e, FOLL_PIN | FOLL_LONGTERM)).toBe(0);
  });
});

describe('check_vma_flags (v7): writeable_file_mapping_allowed() and vma_needs_dirty_tracking() as posted', () => {
  it('refuses a long-term write pin of ext4 MAP_SHARED', () => {
    const e = vmaEnv({ rev: 'v7', backing: 'ext4', shared: true });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /FOLL_PIN\|FOLL_LONGTERM; MAP_SHARED and writable/);
  });

  it('also refuses a short-term FOLL_PIN write: the PIN/LONGTERM test is "either/or"', () => {
    const e = vmaEnv({ rev: 'v7', backing: 'ext4', shared: true });
    expect(checkVma(e, FOLL_PIN | FOLL_WRITE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /the pin is not FOLL_LONGTERM, yet the FOLL_PIN\|FOLL_LONGTERM test refuses it \(v7 2\/3: "either\/or"\)/);
  });

  it('accepts a FOLL_GET write (neither FOLL_PIN nor FOLL_LONGTERM)', () => {
    const e = vmaEnv({ rev: 'v7', backing: 'ext4', shared: true });
    expect(checkVma(e, FOLL_GET | FOLL_WRITE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('refuses a long-term write pin of ext4 MAP_PRIVATE: no shared-writable test', () => {
    const e = vmaEnv({ rev: 'v7', backing: 'ext4', shared: false });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /MAP_PRIVATE, yet vma_needs_dirty_tracking\(\) says yes \(v7 1\/3 lacks the shared-writable test\)/);
  });

  it('accepts a long-term write pin of a memfd', () => {
    const e = vmaEnv({ rev: 'v7', backing: 'memfd', shared: true });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(0);
  });

  it('accepts a long-term write pin of anonymous memory (the check is for non-anon VMAs)', () => {
    const e = vmaEnv({ rev: 'v7' });
    expect(checkVma(e, PIN_LONGTERM_WRITE)).toBe(0);
  });

  it('on a read-only ext4 MAP_SHARED mapping, refuses FOLL_FORCE writes in the file check, where 6.5 refuses them as shared', () => {
    const v = vmaEnv({ rev: 'v7', backing: 'ext4', shared: true, prot: 'r' });
    expect(checkVma(v, PIN_LONGTERM_WRITE | FOLL_FORCE)).toBe(-EFAULT);
    expectWhy(v, 'check_vma_flags', /writable_file_mapping_allowed\(\) is false.*MAP_SHARED but read-only, yet vma_needs_dirty_tracking\(\) says yes/);
    const m = vmaEnv({ rev: '6.5', backing: 'ext4', shared: true, prot: 'r' });
    expect(checkVma(m, PIN_LONGTERM_WRITE | FOLL_FORCE)).toBe(-EFAULT);
    expectWhy(m, 'check_vma_flags', /FOLL_FORCE\|FOLL_WRITE on a shared \(non-COW\) read-only VMA/);
  });
});

describe('check_vma_flags (6.1): no file-backed check', () => {
  it('accepts a long-term write pin of ext4 MAP_SHARED and MAP_PRIVATE', () => {
    for (const shared of [true, false]) {
      const e = vmaEnv({ rev: '6.1', backing: 'ext4', shared });
      expect(checkVma(e, PIN_LONGTERM_WRITE), `shared=${shared}`).toBe(0);
      expect(e.why).toEqual([]);
    }
  });
});

describe('check_vma_flags (6.5): writes to read-only VMAs and reads without VM_READ', () => {
  it('refuses a write to a PROT_READ VMA without FOLL_FORCE', () => {
    const e = vmaEnv({ rev: '6.5', prot: 'r' });
    expect(checkVma(e, FOLL_PIN | FOLL_WRITE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /FOLL_WRITE on a VMA without VM_WRITE \(PROT_READ\) and no FOLL_FORCE/);
  });

  it('accepts a FOLL_FORCE write to a private PROT_READ VMA (ptrace poking a COW mapping)', () => {
    const e = vmaEnv({ rev: '6.5', prot: 'r' });
    expect(checkVma(e, FOLL_GET | FOLL_WRITE | FOLL_FORCE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('refuses a FOLL_FORCE write to a read-only hugetlb VMA', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'memfd_hugetlb', shared: false, prot: 'r' });
    expect(checkVma(e, FOLL_GET | FOLL_WRITE | FOLL_FORCE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /FOLL_FORCE\|FOLL_WRITE on a read-only hugetlb VMA/);
  });

  it('refuses a FOLL_FORCE write to a read-only shared VMA', () => {
    const e = vmaEnv({ rev: '6.5', backing: 'memfd', shared: true, prot: 'r' });
    expect(checkVma(e, FOLL_GET | FOLL_WRITE | FOLL_FORCE)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /shared \(non-COW\) read-only VMA/);
  });

  it('refuses a read from a VMA without VM_READ and no FOLL_FORCE', () => {
    const e = vmaEnv({ rev: '6.5' });
    e.vma.vm_flags &= ~VM_READ;
    expect(checkVma(e, FOLL_PIN)).toBe(-EFAULT);
    expectWhy(e, 'check_vma_flags', /read from a VMA without VM_READ and no FOLL_FORCE/);
  });

  it('accepts a FOLL_FORCE read from a VMA without VM_READ but with VM_MAYREAD', () => {
    const e = vmaEnv({ rev: '6.5' });
    e.vma.vm_flags &= ~VM_READ;
    expect(checkVma(e, FOLL_GET | FOLL_FORCE)).toBe(0);
    expect(e.why).toEqual([]);
  });

  it('refuses a FOLL_FORCE read from a VMA without VM_MAYREAD (with no explanation)', () => {
    const e = vmaEnv({ rev: '6.5' });
    e.vma.vm_flags &= ~(VM_READ | VM_MAYREAD);
    expect(checkVma(e, FOLL_GET | FOLL_FORCE)).toBe(-EFAULT);
    expect(e.why).toEqual([]);
  });

  it('a read pin ignores VM_WRITE: a PROT_READ VMA can be pinned for reading', () => {
    const e = vmaEnv({ rev: '6.5', prot: 'r' });
    expect(checkVma(e, FOLL_PIN | FOLL_LONGTERM)).toBe(0);
  });
});
