/**
 * The scenario's memory layout, built with scheduling off before the CPUs start: each VMA
 * mmap()ed (or, for anonymous THPs, set up directly), touched as the scenario says, and put in
 * the swap cache if asked.
 */
import { type File, Vma } from '../kernel/mm_types.ts';
import { alloc_pages_setup, prep_compound_page } from '../kernel/page_alloc.ts';
import { lookup, walk_alloc } from '../kernel/pgtable-generic.ts';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, mk_pte, pte_pfn, pte_present } from '../kernel/pgtable.ts';
import { anon_vma_prepare } from '../kernel/rmap.ts';
import { mapBacking, type Process, runSequential, touch } from '../kernel/setup.ts';
import { add_to_swap } from '../kernel/swap.ts';
import { PAGE_MAPPING_ANON, PAGE_SIZE, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from '../kernel/types.ts';
import { basePages, type VmaSpecT } from './schema.ts';

export function buildVma(proc: Process, v: VmaSpecT, file: File | undefined): Vma {
  const k = proc.k;
  if (v.thp) return buildThp(proc, v);
  const len = basePages(v) * PAGE_SIZE;
  const vma = mapBacking(proc, { backing: v.backing, shared: v.map === 'shared', prot: v.prot, len, label: v.name, ...(file ? { file } : {}) });
  const c = proc.ctx();
  if (v.zone === 'movable') k.userZone = 'movable';
  if (v.touch !== 'none') {
    const step = v.backing.includes('hugetlb') ? (v.backing === 'memfd_hugetlb_1g' ? 2 ** 30 : 2 ** 21) : PAGE_SIZE;
    const r = runSequential(c, touch(c, vma, v.touch, step));
    if (r) throw new Error(`setup: touching ${v.name} failed`);
  }
  k.userZone = 'normal';
  if (v.swapcache) {
    for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
      const t = lookup(c, proc.mm, a);
      const e = t.pte?.entry(a).v ?? 0;
      if (pte_present(e)) runSequential(c, add_to_swap(c, k.page(pte_pfn(e))));
    }
  }
  return vma;
}

/** An anonymous THP, set up directly: PMD-mapped (order 9) or PTE-mapped (order 2). */
function buildThp(proc: Process, v: VmaSpecT): Vma {
  const k = proc.k;
  const c = proc.ctx();
  const order = v.thp === 'pmd' ? 9 : 2;
  const nr = 2 ** order;
  const base = proc.slot();
  const vma = new Vma(proc.mm, base, base + nr * PAGE_SIZE, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, false, null, null, 0, v.name);
  proc.mm.vmas.push(vma);
  const av = anon_vma_prepare(c, vma);
  const folio = alloc_pages_setup(k, order, 'normal', 'anon', `anon THP of ${v.name}`);
  prep_compound_page(k, folio, order);
  folio.mapping.v = av.ptr | PAGE_MAPPING_ANON;
  folio.PG_lru.v = true;
  folio.PG_uptodate.v = true;
  for (let i = 0; i < nr; i++) k.page(folio.pfn + i).PG_anon_exclusive.v = true;
  const flags = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY;
  if (v.thp === 'pmd') {
    const w = runSequential(c, walk_alloc(c, proc.mm, base, true, 'pmd'));
    w!.pmd!.entry(base).v = mk_pte(folio.pfn, flags | _PAGE_PSE);
    folio._entire_mapcount.v = 1;
    folio._refcount.v = 1;
  } else {
    const w = runSequential(c, walk_alloc(c, proc.mm, base, true, 'pte'));
    for (let i = 0; i < nr; i++) {
      w!.pte!.entry(base + i * PAGE_SIZE).v = mk_pte(folio.pfn + i, flags);
      k.page(folio.pfn + i)._mapcount.v = 1;
    }
    folio._refcount.v = nr;
  }
  return vma;
}

