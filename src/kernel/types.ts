/*
 * Constants the model shares with the kernel, with the kernel's names and values.
 *
 * FOLL_* public flags: include/linux/mm_types.h enum (6.5); internal FOLL_* flags:
 * mm/internal.h (the enum starts at 1 << 16). VM_* flags: include/linux/mm.h. errno values:
 * include/uapi/asm-generic/errno-base.h and errno.h. (docs/reference/kernel-gup-reference.md §1.2.)
 *
 * Left out: flags no modelled path reads (FOLL_DUMP's core-dump semantics, FOLL_HWPOISON,
 * VM_GROWSDOWN, VM_SHADOW_STACK, pkeys).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PTRS_PER_TABLE = 512;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SHIFT = 30;
export const PUD_SIZE = 1024 * 1024 * 1024;
export const PGDIR_SHIFT = 39;
export const PGDIR_SIZE = 2 ** PGDIR_SHIFT;
/** TASK_SIZE on x86-64 and arm64 with 48-bit (4-level) virtual addresses: user space ends here. */
export const TASK_SIZE = 2 ** 47;
export const HPAGE_PMD_ORDER = 9;
export const HPAGE_PUD_ORDER = 18;

// ----- FOLL_* (public) -----
export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_DUMP = 1 << 2;
export const FOLL_FORCE = 1 << 3;
export const FOLL_NOWAIT = 1 << 4;
export const FOLL_NOFAULT = 1 << 5;
export const FOLL_HWPOISON = 1 << 6;
export const FOLL_ANON = 1 << 7;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_SPLIT_PMD = 1 << 9;
export const FOLL_PCI_P2PDMA = 1 << 10;
export const FOLL_INTERRUPTIBLE = 1 << 11;
export const FOLL_HONOR_NUMA_FAULT = 1 << 12;
// ----- FOLL_* (internal, mm/internal.h) -----
export const FOLL_TOUCH = 1 << 16;
export const FOLL_TRIED = 1 << 17;
export const FOLL_REMOTE = 1 << 18;
export const FOLL_PIN = 1 << 19;
export const FOLL_FAST_ONLY = 1 << 20;
export const FOLL_UNLOCKABLE = 1 << 21;

export const FOLL_NAMES: readonly (readonly [string, number])[] = [
  ['FOLL_WRITE', FOLL_WRITE],
  ['FOLL_GET', FOLL_GET],
  ['FOLL_DUMP', FOLL_DUMP],
  ['FOLL_FORCE', FOLL_FORCE],
  ['FOLL_NOWAIT', FOLL_NOWAIT],
  ['FOLL_NOFAULT', FOLL_NOFAULT],
  ['FOLL_HWPOISON', FOLL_HWPOISON],
  ['FOLL_ANON', FOLL_ANON],
  ['FOLL_LONGTERM', FOLL_LONGTERM],
  ['FOLL_SPLIT_PMD', FOLL_SPLIT_PMD],
  ['FOLL_PCI_P2PDMA', FOLL_PCI_P2PDMA],
  ['FOLL_INTERRUPTIBLE', FOLL_INTERRUPTIBLE],
  ['FOLL_HONOR_NUMA_FAULT', FOLL_HONOR_NUMA_FAULT],
  ['FOLL_TOUCH', FOLL_TOUCH],
  ['FOLL_TRIED', FOLL_TRIED],
  ['FOLL_REMOTE', FOLL_REMOTE],
  ['FOLL_PIN', FOLL_PIN],
  ['FOLL_FAST_ONLY', FOLL_FAST_ONLY],
  ['FOLL_UNLOCKABLE', FOLL_UNLOCKABLE],
];

export function follNames(flags: number): string {
  const out: string[] = [];
  for (const [n, v] of FOLL_NAMES) if (flags & v) out.push(n);
  return out.length ? out.join('|') : '0';
}

export function parseFoll(name: string): number | undefined {
  const n = name.startsWith('FOLL_') ? name : `FOLL_${name}`;
  for (const [k, v] of FOLL_NAMES) if (k === n.toUpperCase()) return v;
  return undefined;
}

// ----- vm_flags -----
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTEXPAND = 0x40000;
export const VM_HUGETLB = 0x400000;
export const VM_MIXEDMAP = 0x10000000;

export function vmFlagNames(f: number): string {
  const names: [string, number][] = [
    ['VM_READ', VM_READ],
    ['VM_WRITE', VM_WRITE],
    ['VM_SHARED', VM_SHARED],
    ['VM_MAYREAD', VM_MAYREAD],
    ['VM_MAYWRITE', VM_MAYWRITE],
    ['VM_MAYSHARE', VM_MAYSHARE],
    ['VM_PFNMAP', VM_PFNMAP],
    ['VM_LOCKED', VM_LOCKED],
    ['VM_IO', VM_IO],
    ['VM_HUGETLB', VM_HUGETLB],
    ['VM_MIXEDMAP', VM_MIXEDMAP],
  ];
  return (
    names
      .filter(([, v]) => f & v)
      .map(([n]) => n)
      .join('|') || '0'
  );
}

// ----- errno -----
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EMLINK = 31;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
export const EREMOTEIO = 121;
export const EHWPOISON = 133;

// ----- signals a user access can end in (include/uapi/asm-generic/signal.h) -----
export const SIGBUS = 7;
export const SIGSEGV = 11;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [EMLINK]: 'EMLINK',
  [EOVERFLOW]: 'EOVERFLOW',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [EREMOTEIO]: 'EREMOTEIO',
  [EHWPOISON]: 'EHWPOISON',
};

export function errnoName(e: number): string {
  return ERRNO_NAMES[Math.abs(e)] ?? `E${Math.abs(e)}`;
}

// ----- struct page mapping word: PAGE_MAPPING_* (include/linux/page-flags.h, 6.5) -----
export const PAGE_MAPPING_ANON = 0x1;
export const PAGE_MAPPING_MOVABLE = 0x2;
export const PAGE_MAPPING_KSM = PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE;
export const PAGE_MAPPING_FLAGS = PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE;

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h): a pin of a small folio adds 1024 to _refcount. */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;

/** The architectures modelled (by their TLB-flush and table-free protocols; see kernel.ts KernelConfig). */
export const ARCHES = ['x86', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];
export type TableFree = 'ipi' | 'rcu';
