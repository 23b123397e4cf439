/*
 * Models the parts of mm/mmap.c, mm/mprotect.c and mm/madvise.c the scenarios use (6.5):
 *   do_mmap(): vm_flags from prot and MAP_SHARED/MAP_PRIVATE, the file's ->mmap (vm_ops),
 *     VM_MAYWRITE, vm_page_prot (write-notify makes shared-writable PTEs start read-only);
 *   vma_is_shared_writable(), vma_fs_can_writeback(), vma_needs_dirty_tracking() and
 *     vma_wants_writenotify() in their merged (v9, "mm/mmap: separate writenotify and dirty
 *     tracking logic") form (docs/reference/kernel-gup-reference.md §3.2). v7's vma_needs_dirty_tracking()
 *     is in revisions/v7.ts;
 *   munmap (do_vmi_munmap() -> unmap_region(): zap, free_pgtables(), tlb_finish_mmu()) under
 *     mmap_lock held for write, then remove_vma() drops the VMA's file reference (inode.ts);
 *   madvise(MADV_DONTNEED) (zap_page_range_single() under mmap_lock held for read);
 *   mprotect(): vm_flags and write-protecting PTEs when write permission goes.
 *
 * Left out: VMA merging and splitting (ranges are whole VMAs), the maple tree, mmap_lock
 * downgrade in munmap, stack guard gaps, mlock, RLIMITs, soft-dirty and userfaultfd-wp
 * write-notify (they affect vma_wants_writenotify only).
 */
import { init } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { down_read, down_write, spin_lock, spin_unlock, up_read, up_write } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import { type File, type MmStruct, Vma } from './mm_types.ts';
import { type MmuGather, flush_tlb, tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.ts';
import { fput } from './inode.ts';
import { unmap_page_range, zap_page_range_single } from './memory.ts';
import { unmap_hugepage_range } from './hugetlb.ts';
import { update_entry, write_entry } from './pgtable-generic.ts';
import { PMD_LEVEL, PTE_LEVEL, type PageTable, pte_huge, pte_pfn, pte_present, pte_wrprotect } from './pgtable.ts';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from './types.ts';

export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;

/** vma_is_shared_writable(). */
export function vma_is_shared_writable(vma: Vma): boolean {
  return (vma.vm_flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED);
}

/** vma_fs_can_writeback(): not for VM_PFNMAP; else the file's mapping can write back. */
export function vma_fs_can_writeback(vma: Vma): boolean {
  if (vma.vm_flags & VM_PFNMAP) return false;
  return vma.vm_file !== null && vma.vm_file.f_mapping.fs.can_writeback;
}

/** vm_ops_needs_writenotify(): ->page_mkwrite or ->pfn_mkwrite. */
export function vm_ops_needs_writenotify(vma: Vma): boolean {
  return vma.vm_ops !== null && (vma.vm_ops.page_mkwrite || vma.vm_ops.pfn_mkwrite);
}

/** vma_needs_dirty_tracking() (merged v9 form). */
export function vma_needs_dirty_tracking(vma: Vma): boolean {
  if (!vma_is_shared_writable(vma)) return false;
  if (vm_ops_needs_writenotify(vma)) return true;
  return vma_fs_can_writeback(vma);
}

/** vma_wants_writenotify(): shared-writable PTEs start read-only so the first write faults. */
export function vma_wants_writenotify(vma: Vma): boolean {
  if (!vma_is_shared_writable(vma)) return false;
  if (vm_ops_needs_writenotify(vma)) return true;
  return vma_fs_can_writeback(vma);
}

/** Recompute vm_page_prot after vm_flags changed (vma_set_page_prot()). */
export function vma_set_page_prot(vma: Vma): void {
  vma.vm_page_prot_write = vma_is_shared_writable(vma) && !vma_wants_writenotify(vma);
}

/**
 * do_mmap() at a fixed address (setup: scheduling off, so no lock is taken). `file` null =
 * anonymous private memory.
 */
export function do_mmap(c: Ctx, mm: MmStruct, addr: number, len: number, prot: number, flags: number, file: File | null, label: string, pgoff = 0): Vma {
  let vm_flags = VM_MAYREAD | VM_MAYWRITE | 0x40; // VM_MAYEXEC
  if (prot & PROT_READ) vm_flags |= VM_READ;
  if (prot & PROT_WRITE) vm_flags |= VM_WRITE;
  if (flags & MAP_SHARED) vm_flags |= VM_SHARED | VM_MAYSHARE;
  const fs = file?.f_inode.fs;
  if (fs) vm_flags |= fs.mmapFlags;
  const vma = new Vma(mm, addr, addr + len, vm_flags, false, fs ? fs.vm_ops : null, file, pgoff, label);
  if (file) init(file.f_count, file.f_count.v + 1); // mmap_region(): vma->vm_file = get_file(file)
  vma_set_page_prot(vma);
  mm.vmas.push(vma);
  mm.vmas.sort((a, b) => a.vm_start - b.vm_start);
  c.why?.('do_mmap', `${vma.name}: ${fs ? fs.name : 'anonymous'} ${flags & MAP_SHARED ? 'MAP_SHARED' : 'MAP_PRIVATE'}`);
  return vma;
}

// ===== munmap =====

const S_munmap_lock = site('__vm_munmap', 'mmap_write_lock()');
const S_free_pgd = site('free_pgtables', 'pmd_clear()/pud_clear(): unlink the page-table page');

/** munmap(addr, len) of whole VMAs: zap, free page tables nobody else covers, flush, free. */
export function* munmap(c: Ctx, mm: MmStruct, start: number, len: number): Step<number> {
  const end = start + len;
  yield* down_write(c, mm.mmap_lock, S_munmap_lock);
  const victims = mm.vmas.filter((v) => v.vm_start >= start && v.vm_end <= end);
  for (const v of victims) mm.vmas.splice(mm.vmas.indexOf(v), 1); // vma_iter_clear(): detached first
  const tlb = tlb_gather_mmu();
  for (const v of victims) {
    if (v.vm_file?.hugetlb) yield* unmap_hugepage_range(c, v, v.vm_start, v.vm_end, tlb);
    else yield* unmap_page_range(c, v, v.vm_start, v.vm_end, tlb);
  }
  for (const v of victims) yield* free_pgtables(c, mm, v, tlb);
  yield* tlb_finish_mmu(c, tlb);
  yield* up_write(c, mm.mmap_lock, S_munmap_lock);
  // remove_vma(): fput(vma->vm_file) (6.12 mm/vma.c:334, 6.1 mm/mmap.c:142), after the unmap
  // and its TLB flush; the release it may start runs as task_work on the way back to user space.
  for (let i = 0; i < victims.length; i++) {
    const f = victims[i]!.vm_file;
    if (f) yield* fput(c, f);
  }
  return 0;
}

/** free_pgtables(): unlink PTE (and PMD) tables that no remaining VMA covers; they go to the mmu_gather. */
function* free_pgtables(c: Ctx, mm: MmStruct, v: Vma, tlb: MmuGather): Step<void> {
  const covered = (lo: number, hi: number) => mm.vmas.some((o) => o.vm_start < hi && o.vm_end > lo);
  for (let a = Math.floor(v.vm_start / PMD_SIZE) * PMD_SIZE; a < v.vm_end; a += PMD_SIZE) {
    if (covered(a, a + PMD_SIZE)) continue;
    const pmdTable = pmdTableFor(c, mm, a);
    if (!pmdTable) continue;
    const e = pmdTable.entry(a).v;
    if (!pte_present(e) || pte_huge(e)) continue;
    const pt = c.k.tables.get(pte_pfn(e));
    if (!pt || pt.level !== PTE_LEVEL) continue;
    yield* spin_lock(c, mm.page_table_lock, S_free_pgd);
    yield* write_entry(c, pmdTable, a, 0, S_free_pgd);
    yield* spin_unlock(c, mm.page_table_lock, S_free_pgd);
    tlb.tables.push(pt);
  }
  for (let a = Math.floor(v.vm_start / PUD_SIZE) * PUD_SIZE; a < v.vm_end; a += PUD_SIZE) {
    if (covered(a, a + PUD_SIZE)) continue;
    const pudTable = pudTableFor(c, mm, a);
    if (!pudTable) continue;
    const e = pudTable.entry(a).v;
    if (!pte_present(e) || pte_huge(e)) continue;
    const pmdt = c.k.tables.get(pte_pfn(e));
    if (!pmdt || pmdt.level !== PMD_LEVEL) continue;
    yield* spin_lock(c, mm.page_table_lock, S_free_pgd);
    yield* write_entry(c, pudTable, a, 0, S_free_pgd);
    yield* spin_unlock(c, mm.page_table_lock, S_free_pgd);
    tlb.tables.push(pmdt);
  }
}

function pudTableFor(c: Ctx, mm: MmStruct, a: number): PageTable | undefined {
  const e = mm.pgd.entry(a).v;
  return pte_present(e) ? c.k.tables.get(pte_pfn(e)) : undefined;
}
function pmdTableFor(c: Ctx, mm: MmStruct, a: number): PageTable | undefined {
  const pud = pudTableFor(c, mm, a);
  if (!pud) return undefined;
  const e = pud.entry(a).v;
  return pte_present(e) && !pte_huge(e) ? c.k.tables.get(pte_pfn(e)) : undefined;
}

// ===== madvise(MADV_DONTNEED) =====

const S_madv_lock = site('madvise', 'mmap_read_lock()');

export function* madvise_dontneed(c: Ctx, mm: MmStruct, start: number, len: number): Step<number> {
  yield* down_read(c, mm.mmap_lock, S_madv_lock);
  for (const v of mm.vmas) {
    const s = Math.max(start, v.vm_start);
    const e = Math.min(start + len, v.vm_end);
    if (s < e) yield* zap_page_range_single(c, v, s, e);
  }
  yield* up_read(c, mm.mmap_lock, S_madv_lock);
  return 0;
}

// ===== mprotect =====

const S_mprot_lock = site('do_mprotect_pkey', 'mmap_write_lock()');
const S_mprot_pte = site('change_pte_range', 'ptep_modify_prot_start/commit(): write-protect');

/** mprotect() of a whole VMA. Dropping PROT_WRITE write-protects the PTEs (then flushes). */
export function* mprotect(c: Ctx, mm: MmStruct, start: number, len: number, prot: number): Step<number> {
  yield* down_write(c, mm.mmap_lock, S_mprot_lock);
  for (const v of mm.vmas) {
    if (v.vm_start < start || v.vm_end > start + len) continue;
    const wasWrite = (v.vm_flags & VM_WRITE) !== 0;
    v.vm_flags = (v.vm_flags & ~(VM_READ | VM_WRITE)) | (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0);
    vma_set_page_prot(v);
    if (wasWrite && !(prot & PROT_WRITE)) {
      let changed = false;
      for (let a = v.vm_start; a < v.vm_end; a += PAGE_SIZE) {
        const pmdTable = pmdTableFor(c, mm, a);
        if (!pmdTable) continue;
        const e = pmdTable.entry(a).v;
        const t = pte_present(e) && !pte_huge(e) ? c.k.tables.get(pte_pfn(e)) : undefined;
        const tbl = pte_huge(e) ? pmdTable : t;
        if (!tbl || !pte_present(tbl.entry(a).v)) continue;
        yield* spin_lock(c, tbl.ptl, S_mprot_pte);
        yield* update_entry(c, tbl, a, (x) => (pte_present(x) ? pte_wrprotect(x) : x), S_mprot_pte);
        yield* spin_unlock(c, tbl.ptl, S_mprot_pte);
        changed = true;
      }
      if (changed) yield* flush_tlb(c);
    }
  }
  yield* up_write(c, mm.mmap_lock, S_mprot_lock);
  return 0;
}

export { VM_SHARED, VM_WRITE, tlb_finish_mmu };
