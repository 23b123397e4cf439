/*
 * The backings a mapping can have, as the modelled paths see them: vm_operations_struct
 * (does it have ->page_mkwrite / ->pfn_mkwrite, how does ->fault find the page),
 * address_space_operations, whether the backing_dev_info can write back, the statfs magic
 * gup_longterm's get_fs_type() reads, and the huge page size for hugetlbfs.
 *
 * Sources: docs/reference/kernel-gup-reference.md §3.2 (classification table) and the fs sources it cites:
 * ext4_file_vm_ops / xfs_file_vm_ops / btrfs_file_vm_ops all have ->page_mkwrite;
 * generic_file_vm_ops has filemap_page_mkwrite; shmem_vm_ops and hugetlb_vm_ops have none, and
 * shmem/hugetlbfs cannot write back (noop bdi); secretmem_vm_ops has only ->fault.
 *
 * Left out: fsdax (FOLL_LONGTERM -> -EOPNOTSUPP is in check_vma_flags, but no backing here is
 * DAX), NFS/FUSE specifics, per-fs ->page_mkwrite failure modes.
 */
import { constant } from '../sim/frames.ts';
import type { AOps, FsType, VmOps } from './mm_types.ts';
import { HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, VM_DONTEXPAND, VM_HUGETLB, VM_LOCKED, VM_MIXEDMAP } from './types.ts';

const vmops = (name: string, page_mkwrite: boolean, fault: VmOps['fault']): VmOps => ({
  name,
  page_mkwrite,
  pfn_mkwrite: false,
  fault,
});
const aops = (name: string, needsPrepare: boolean): AOps => ({ name, needsPrepare });

export const shmem_aops = aops('shmem_aops', false);
export const swap_aops = aops('swap_aops', false);

// statfs magics (include/uapi/linux/magic.h)
export const TMPFS_MAGIC = 0x01021994;
export const HUGETLBFS_MAGIC = 0x958458f6;
export const EXT4_SUPER_MAGIC = 0xef53;
export const XFS_SUPER_MAGIC = 0x58465342;
export const BTRFS_SUPER_MAGIC = 0x9123683e;
export const SECRETMEM_MAGIC = 0x5345434d;
export const F2FS_SUPER_MAGIC = 0xf2f52010;

const fs = (
  name: string,
  magic: number,
  vm_ops: VmOps,
  a_ops: AOps,
  can_writeback: boolean,
  hugeOrder = 0,
  mmapFlags = 0,
): FsType => ({ name, magic, vm_ops, a_ops, can_writeback, hugeOrder, mmapFlags });

export const FS = {
  tmpfs: fs('tmpfs', TMPFS_MAGIC, vmops('shmem_vm_ops', false, 'shmem'), shmem_aops, false),
  hugetlbfs: fs(
    'hugetlbfs',
    HUGETLBFS_MAGIC,
    vmops('hugetlb_vm_ops', false, 'hugetlb'),
    aops('hugetlbfs_aops', false),
    false,
    HPAGE_PMD_ORDER,
    VM_HUGETLB | VM_DONTEXPAND,
  ),
  hugetlbfs1g: fs(
    'hugetlbfs',
    HUGETLBFS_MAGIC,
    vmops('hugetlb_vm_ops', false, 'hugetlb'),
    aops('hugetlbfs_aops', false),
    false,
    HPAGE_PUD_ORDER,
    VM_HUGETLB | VM_DONTEXPAND,
  ),
  ext4: fs('ext4', EXT4_SUPER_MAGIC, vmops('ext4_file_vm_ops', true, 'filemap'), aops('ext4_aops', true), true),
  xfs: fs('xfs', XFS_SUPER_MAGIC, vmops('xfs_file_vm_ops', true, 'filemap'), aops('xfs_address_space_operations', true), true),
  btrfs: fs('btrfs', BTRFS_SUPER_MAGIC, vmops('btrfs_file_vm_ops', true, 'filemap'), aops('btrfs_aops', true), true),
  /** A filesystem gup_longterm does not know (f2fs here): generic_file_vm_ops-like, with ->page_mkwrite. */
  otherfs: fs('f2fs', F2FS_SUPER_MAGIC, vmops('f2fs_file_vm_ops', true, 'filemap'), aops('f2fs_dblock_aops', true), true),
  secretmem: fs(
    'secretmem',
    SECRETMEM_MAGIC,
    vmops('secretmem_vm_ops', false, 'secretmem'),
    aops('secretmem_aops', false),
    false,
    0,
    VM_LOCKED,
  ),
  driver: fs('driver', 0, vmops('drv_vm_ops', false, 'driver'), aops('(none)', false), false, 0, VM_MIXEDMAP | VM_DONTEXPAND),
  swap: fs('swap', 0, vmops('(swap)', false, 'filemap'), swap_aops, true),
} as const satisfies Record<string, FsType>;

export type FsName = keyof typeof FS;

// The filesystem table never changes: not part of a state.
constant(FS);
