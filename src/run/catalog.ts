/** What each finding means, for `gupcheck list` and `gupcheck explain`. */

export interface FindingInfo {
  readonly id: string;
  readonly line: string;
  readonly explain: string;
}

export const FINDINGS: readonly FindingInfo[] = [
  {
    id: 'wild-deref',
    line: 'a mapping word that is not a live address_space was dereferenced (junk, a slab, an anon_vma, a freed inode)',
    explain: `GUP-fast read folio->mapping and dereferenced it (mapping->a_ops) while the word did not point at a live
address_space: the folio had been freed and reused (a slab: its kmem_cache up to 6.4, its slab_list.prev from
6.5; a kernel user's own data), or the inode was freed. This is the bug David Hildenbrand found in v7 3/3: the
check ran before the PTE re-check, and on architectures whose TLB flush does not wait for IRQs-off CPUs (arm64;
x86 6.15+ with INVLPGB broadcast, --tlb-flush broadcast) the page can be freed and reused in between. Fixed in v8/v9 by moving the check after
the re-check: a folio proven still mapped cannot be reused, and its address_space is RCU-protected while IRQs
are off.`,
  },
  {
    id: 'null-deref',
    line: 'a NULL mapping was dereferenced',
    explain: `The check dereferenced folio->mapping when it was NULL: a truncate cleared ->mapping. Merged code reads it
once with READ_ONCE() and falls back to the slow path on NULL; without READ_ONCE the compiler may re-load the
word between the NULL test and the dereference (Peter Zijlstra's review point).`,
  },
  {
    id: 'pin-on-reused-page',
    line: 'GUP-fast returned a page it does not validly hold (freed and reused since the PTE read, or split away)',
    explain: `GUP-fast handed out a page although, while it held its reference, the page table never mapped that page at
the address (it was freed and reused after the PTE was read), or the reference it holds is on another folio
(a THP split moved the page). The PTE/PMD re-check and try_get_folio()'s add-unless-zero plus folio re-check
prevent it.`,
  },
  {
    id: 'refcount',
    line: 'a refcount went negative, a folio was freed while pinned, or the counts do not balance at the end',
    explain: `_refcount must always equal what its holders account for: page-table mappings, page/swap cache, the owner,
and the pins (GUP_PIN_COUNTING_BIAS each for small folios) and references GUP handed out. Reported when a count
goes negative, a folio is freed while a caller still holds a pin, page_ref_unfreeze() overwrites references
taken while frozen, or the end-of-run audit finds a leak or an over-put.`,
  },
  {
    id: 'irqs-enabled-assert',
    line: 'lockdep_assert_irqs_disabled() with IRQs on',
    explain: `v7 placed its check in try_grab_folio(), whose first statement asserts IRQs are disabled (GUP-fast's
protection). try_grab_folio() is also called by the slow path's follow_hugetlb_page() with IRQs on, so pinning
hugetlb memory long-term and writable through the slow path trips the assertion (found by David Hildenbrand and
Lorenzo Stoakes in the v7 review).`,
  },
  {
    id: 'warn',
    line: 'a modelled WARN_ON_ONCE / VM_BUG_ON fired (including "Bad page state")',
    explain: `The kernel warned: e.g. the merged helper's WARN_ON_ONCE(folio_test_slab()) (only reachable if the folio
was inspected before the re-check), sanity_check_pinned_pages()'s VM_BUG_ON on a pinned anon page that is not
exclusive, or a free with a non-NULL file mapping.`,
  },
  {
    id: 'longterm-write-pin-on-dirty-tracked-file',
    line: 'a FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE pin succeeded on a page-cache folio of a dirty-tracked filesystem',
    explain: `What the series forbids: a long-term writable pin of a page-cache folio of ext4/xfs/btrfs (or any filesystem
with ->page_mkwrite or writeback). Expected on 6.1; from 6.5 the slow path returns -EFAULT and GUP-fast falls
back to it.`,
  },
  {
    id: 'dirty-without-mkwrite',
    line: 'a dirty-tracked file folio was written or dirtied after writeback cleaned it, without ->page_mkwrite',
    explain: `The problem the series exists for (Jan Kara, 2018): writeback cleaned the folio and write-protected its PTEs,
the filesystem released its reservation (buffers, delalloc), then a device wrote through a pin and the holder
marked the folio dirty on unpin. ext4 BUGged on such a page until 2022 and now warns and drops it: data loss.
Long-term pins are refused since 6.5; short-term pins still reach it.`,
  },
  {
    id: 'deadlock',
    line: 'no CPU can make progress',
    explain: `Every remaining CPU waits: for a lock held by a waiting CPU, for a TLB-flush IPI a CPU with IRQs off never
acknowledges, or for a grace period a reader never ends.`,
  },
  {
    id: 'anon-pin-not-exclusive',
    line: 'a pinned anonymous page is shared with a fork child (not PageAnonExclusive)',
    explain: `A FOLL_PIN'd anonymous page must stay exclusive to the pinning process: if fork() shares it with the child,
the parent's next write fault copies the page away from the pin and the device writes where nobody reads. fork
copies maybe-pinned pages (copy-on-pin) and GUP-fast re-checks mm->write_protect_seq to close the race.`,
  },
  {
    id: 'pt-use-after-free',
    line: 'GUP-fast read a page-table page that was already freed',
    explain: `munmap() freed a page-table page while GUP-fast still walked it. IRQs-off protects GUP-fast: the table is
freed only after an IPI every CPU acknowledged (x86 before 6.15) or after an RCU grace period
(CONFIG_MMU_GATHER_RCU_TABLE_FREE).`,
  },
];

export const LIMITS_EXPLAIN = `What gupcheck's model does not cover:
- Sequentially consistent interleavings only: no weak memory (store buffering, load reordering), so barrier
  placement (smp_mb__after_atomic, smp_rmb) is not checked; the checker assumes each access is atomic.
- Kernel paths left out: devmap/ZONE_DEVICE and P2PDMA pages, hugepd (powerpc), fsdax, userfaultfd, NUMA
  migration, soft-dirty, mlock, memcg, per-CPU page lists, readahead and large page-cache folios, VMA
  merging/splitting, VM_FAULT_RETRY (faults never drop mmap_lock), fatal signals, khugepaged collapse, THP
  faults (THPs are set up directly), large-folio swap and migration of hugetlb pages.
- Architectures are modelled by their protocols only: x86 = TLB flush by IPI, which waits for IRQs-off CPUs,
  with page tables freed after it (before 6.15) or via RCU (6.15+); arm64 = broadcast TLB invalidation and RCU
  table freeing. x86 6.15+'s INVLPGB broadcast (AMD, an mm with a global ASID: one that ran on more than 3
  CPUs) is --tlb-flush broadcast, not the default (--tlb-flush and --table-free override).
- Every file header in src/kernel/ names the kernel function it models, the revision, and what it leaves out.`;
