/**
 * The scenario file format (docs/scenario-format.md), as a zod schema. The parser checks files
 * against it and points errors at file:line:col; `gupcheck schema` prints the JSON Schema
 * generated from it for editors.
 */
import { z } from 'zod';

export const FINDING_IDS = [
  'wild-deref',
  'null-deref',
  'pin-on-reused-page',
  'refcount',
  'irqs-enabled-assert',
  'warn',
  'longterm-write-pin-on-dirty-tracked-file',
  'dirty-without-mkwrite',
  'deadlock',
  'anon-pin-not-exclusive',
  'pt-use-after-free',
] as const;

export const KERNEL_NAMES = ['6.1', 'v7', '6.5', 'jg-proposal', 'jg-proposal-after-recheck', '6.10', '6.12', '6.15', 'next'] as const;
export const ARCH_NAMES = ['x86', 'arm64'] as const;
export const BACKING_NAMES = [
  'anon',
  'memfd',
  'memfd_hugetlb',
  'memfd_hugetlb_1g',
  'tmpfs',
  'hugetlbfs',
  'ext4',
  'xfs',
  'btrfs',
  'otherfs',
  'secretmem',
  'driver',
] as const;
export const FOLL_FLAG_NAMES = [
  'FOLL_WRITE',
  'FOLL_LONGTERM',
  'FOLL_FORCE',
  'FOLL_NOFAULT',
  'FOLL_PCI_P2PDMA',
  'FOLL_HONOR_NUMA_FAULT',
  'FOLL_FAST_ONLY',
  'FOLL_GET',
  'FOLL_PIN',
  'FOLL_TOUCH',
  'FOLL_ANON',
] as const;
export const OWNER_NAMES = ['slab', 'kernel', 'anon', 'pagecache'] as const;

const kernelName = z.enum(KERNEL_NAMES);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);
const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a name: letters, digits, _ and -');
const count = (max: number) => z.number().int().min(1).max(max);

export const VmaSpec = z
  .object({
    name,
    backing: z.enum(BACKING_NAMES),
    map: z.enum(['shared', 'private']).default('private'),
    prot: z.enum(['rw', 'r']).default('rw'),
    pages: count(64).default(1).describe('length in pages of the backing page size (huge pages for hugetlb)'),
    touch: z.enum(['write', 'read', 'none']).default('write').describe('how the process touches every page during setup'),
    thp: z.enum(['pmd', 'pte']).optional().describe('anonymous THP: PMD-mapped (2 MB), or a PTE-mapped order-2 folio'),
    swapcache: z.boolean().default(false).describe('put the (touched, anonymous) pages in the swap cache, still mapped'),
    zone: z.enum(['normal', 'movable']).default('normal'),
    file: name.optional().describe('map the same file as another VMA (by its name)'),
  })
  .strict();

const flags = z.array(z.enum(FOLL_FLAG_NAMES)).default([]);
const vmaRef = name.describe('a layout VMA name');

const PinOp = z
  .object({
    op: z.enum(['pin_user_pages_fast', 'pin_user_pages', 'get_user_pages_fast', 'io_uring_register']),
    vma: vmaRef,
    page: z.number().int().min(0).max(63).default(0).describe('first page (in the VMA) to pin'),
    pages: count(64).default(1),
    flags,
    unpin: z.enum(['yes', 'no', 'dirty']).default('yes').describe('release the pages when the CPU finishes its list (dirty: unpin_user_pages_dirty_lock)'),
  })
  .strict();

const UnpinOp = z.object({ op: z.literal('unpin'), dirty: z.boolean().default(false) }).strict();
const VmaOp = z
  .object({ op: z.enum(['munmap', 'madvise_dontneed', 'swap_out', 'split_folio', 'writeback', 'fork', 'ksm_merge']), vma: vmaRef, page: z.number().int().min(0).max(63).default(0) })
  .strict();
const TouchOp = z.object({ op: z.literal('touch'), vma: vmaRef, page: z.number().int().min(0).max(63).default(0), how: z.enum(['read', 'write']).default('write') }).strict();
const MprotectOp = z.object({ op: z.literal('mprotect'), vma: vmaRef, prot: z.enum(['rw', 'r']) }).strict();
const TruncateOp = z
  .object({ op: z.literal('truncate'), vma: vmaRef, free_inode: z.boolean().default(true).describe('the last reference goes: the inode is freed after an RCU grace period') })
  .strict();
const ReuseOp = z
  .object({
    op: z.literal('reuse'),
    owner: z.union([z.enum([...OWNER_NAMES, 'any']), z.array(z.enum(OWNER_NAMES)).min(1)]).default('any'),
    vma: vmaRef.optional().describe('for the anon owner: fault at this VMA'),
    page: z.number().int().min(0).max(63).default(0),
    times: count(8).default(1),
  })
  .strict();
const DeviceWriteOp = z.object({ op: z.literal('device_write') }).strict();

export const OpSpec = z.discriminatedUnion('op', [PinOp, UnpinOp, VmaOp, TouchOp, MprotectOp, TruncateOp, ReuseOp, DeviceWriteOp]);

const Selector = {
  kernel: oneOrMany(kernelName).optional(),
  arch: oneOrMany(z.enum(ARCH_NAMES)).optional(),
  mutant: z.string().optional().describe("omitted: only unmutated runs; '*': every run"),
};

export const Expectation = z
  .object({
    ...Selector,
    finding: z.enum([...FINDING_IDS, 'any']).optional(),
    outcome: z.record(z.string(), z.string()).optional().describe('e.g. {CPU0: fell-back}'),
    is: z.enum(['never', 'sometimes', 'always']),
    why: z.string().optional(),
  })
  .strict()
  .refine((e) => (e.finding === undefined) !== (e.outcome === undefined), { message: 'give exactly one of `finding` or `outcome`' });

export const MutantRun = z
  .object({ mutant: z.string(), kernel: oneOrMany(kernelName).optional(), arch: oneOrMany(z.enum(ARCH_NAMES)).optional() })
  .strict();

export const Scenario = z
  .object({
    name,
    shows: z.string().describe('what the scenario shows, in a sentence or two'),
    kernels: z.array(kernelName).min(1).default(['6.5']),
    arches: z.array(z.enum(ARCH_NAMES)).min(1).default(['x86', 'arm64']),
    mutants: z.array(MutantRun).default([]),
    'table-free': z.enum(['ipi', 'rcu']).optional(),
    'preemption-bound': z.number().int().min(0).max(20).optional(),
    strict: z.boolean().default(true).describe('a finding no expectation mentions makes the run fail'),
    layout: z.array(VmaSpec).min(1).max(8),
    files: z.array(z.object({ name, fs: z.enum(['ext4', 'xfs', 'btrfs', 'tmpfs']) }).strict()).default([]),
    cpus: z.record(z.string().regex(/^CPU[0-9]$/, 'CPU0 .. CPU9'), z.array(OpSpec).min(1).max(16)),
    expect: z.array(Expectation).default([]),
  })
  .strict();

export type ScenarioT = z.infer<typeof Scenario>;
export type VmaSpecT = z.infer<typeof VmaSpec>;
export type OpSpecT = z.infer<typeof OpSpec>;
export type ExpectationT = z.infer<typeof Expectation>;

/** Base (4 KB) pages in a layout VMA: THPs are 512 or 4 pages, hugetlb pages count 512 or 262144. */
export function basePages(v: Pick<VmaSpecT, 'thp' | 'backing' | 'pages'>): number {
  if (v.thp === 'pmd') return 512;
  if (v.thp === 'pte') return 4;
  const huge = v.backing === 'memfd_hugetlb' || v.backing === 'hugetlbfs' ? 512 : v.backing === 'memfd_hugetlb_1g' ? 262144 : 1;
  return v.pages * huge;
}
