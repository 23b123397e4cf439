/**
 * What the model does not cover, stated in every report (docs/reference/design.md §14: "tell the truth on the
 * label"). Keep this list and README.md's "What the model does not cover" in step.
 */
const COMMON = [
  'Sequentially consistent interleavings only: no store buffering, no load reordering, no hardware or LKMM weak-memory behaviour (barriers are not modelled as such).',
  'One page per struct page access granularity: each field or flag bit of struct page is one memory location; struct slab overlays only page->mapping.',
  'Left out of the kernel paths: devmap/ZONE_DEVICE and P2PDMA pages, hugepd (powerpc), fsdax, userfaultfd, NUMA balancing migration, soft-dirty, mlock, memcg, per-CPU page lists and buddy merging, readahead, large page-cache folios, VMA merging/splitting, VM_FAULT_RETRY (faults never drop mmap_lock), fatal signals, the inode cache shrinker and hard links (an unused inode that still has a name stays cached).',
  'THP: PMD-mapped and PTE-mapped anonymous THPs are set up directly (no THP fault path, no khugepaged collapse); split backs off on an extra reference as split_huge_page_to_list() does.',
  'x86 6.15+ is modelled as RCU table freeing with the TLB flushed by IPI, which waits for IRQs-off CPUs (Intel, and AMD for an mm without a global ASID); the INVLPGB broadcast an AMD mm gets once it has run on more than 3 CPUs is --tlb-flush broadcast.',
];

export function notCovered(mode: 'sequential' | 'checker'): string[] {
  if (mode === 'sequential') {
    return [
      'One process, one mapping, run to completion with no concurrency: the answer is what the kernel returns when nothing races with the pin.',
      ...COMMON.slice(2),
    ];
  }
  return COMMON;
}
