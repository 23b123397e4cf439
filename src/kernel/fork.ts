/*
 * Models dup_mmap() in kernel/fork.c (6.5; unchanged in the parts modelled through 7.x): fork()
 * copies the parent's VMAs into a new mm under mmap_write_lock(oldmm) (each file VMA takes a
 * reference to its file: get_file()), copies the page tables of
 * the VMAs that need it (copy_page_range(), mm/memory.c: private anonymous ones here), then
 * flushes the parent's TLB (the write-protected PTEs) and drops the lock.
 *
 * Left out: the child's own mmap_lock (nothing else can see the new mm yet), VM_DONTCOPY /
 * VM_WIPEONFORK, anon_vma_fork(), file and shared-anon VMAs' page tables (copy_page_range()
 * skips those that can fault their pages back in, vma_needs_copy()), khugepaged and uprobes.
 */
import { type Step, site } from '../sim/op.ts';
import { down_write, up_write } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import { copy_page_range } from './memory.ts';
import { get_file } from './inode.ts';
import { flush_tlb } from './mmu_gather.ts';
import { type MmStruct, Vma } from './mm_types.ts';
import { VM_SHARED } from './types.ts';

const S_fork_lock = site('dup_mmap', 'mmap_write_lock(oldmm)');
const S_fork_unlock = site('dup_mmap', 'mmap_write_unlock(oldmm)');

/** dup_mmap(): the child's mm, copied from `oldmm`. */
export function* dup_mmap(c: Ctx, oldmm: MmStruct): Step<MmStruct> {
  yield* down_write(c, oldmm.mmap_lock, S_fork_lock);
  const mm = c.k.newMm();
  for (const v of oldmm.vmas) {
    const tmp = new Vma(mm, v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot_write, v.vm_ops, v.vm_file, v.vm_pgoff, `${v.label} (child)`);
    // The child's VMA holds the file too: get_file() before the VMA goes into the child's tree (kernel/fork.c:748 in 6.12).
    if (v.vm_file) yield* get_file(c, v.vm_file);
    mm.vmas.push(tmp);
    // vma_needs_copy(): anonymous private memory cannot be faulted back in from anywhere.
    if (v.vm_ops === null && !(v.vm_flags & VM_SHARED)) yield* copy_page_range(c, mm, tmp, v);
  }
  yield* flush_tlb(c);
  yield* up_write(c, oldmm.mmap_lock, S_fork_unlock);
  return mm;
}
