/*
 * The model's own sanity invariants (issue 14 item 2), checked after every step when asked
 * (`--check-model`, GUPCHECK_CHECK_MODEL=1, always in the test suite): states no kernel can be
 * in. A violation is a bug in the model (check/execution.ts throws ModelInvariantError, exit 3),
 * never a kernel finding.
 *
 * Only what the kernel itself keeps true is checked, each with the kernel's reason:
 *
 *   freed-inode-page-cache  A freed address_space has no page-cache entries: evict() empties it
 *     (truncate_inode_pages_final(), fs/inode.c:723 in 6.12) before destroy_inode() queues the
 *     RCU free, and nothing can add to it after the last reference is gone.
 *   file-reference  A VMA holds a reference to its file (mmap_region()'s get_file(),
 *     remove_vma()'s fput() only after the VMA is detached), and so does an open descriptor: a
 *     file's f_count is at least its attached VMAs plus its descriptor, a file a VMA maps is not
 *     released, and a file not released keeps its inode (f_path holds the dentry, which holds
 *     the inode): not evicted, not freed.
 *   page-tables  No page-table entry of a live table points at a freed table, or at a table of
 *     the wrong level: free_pgtables() clears the PMD/PUD entry (pmd_clear()) before the table
 *     goes to the mmu_gather, which frees it only after the TLB flush or an RCU grace period.
 *
 * The rest hold as long as the kernel's references are counted right. The code under test can
 * break that (a mutant such as plain-get takes a reference on a free page; unpin-wrong-count
 * drops too many), which is a kernel bug the end-of-run audit and the findings report, not a
 * model bug. So these are checked on unmutated revisions only, and only until the execution's
 * first finding:
 *
 *   free-list  A page on a free list (or in the hugetlb pool) has no owner, _refcount 0, no
 *     pins or references handed out, no page-cache or swap-cache entry, and is listed once:
 *     free_pages_prepare() and the buddy allocator's checks (bad_page(): "nonzero _refcount").
 *   pte-maps-free-page  No present page-table entry maps a free page. The zap clears the PTE
 *     (ptep_get_and_clear_full()) before it queues the page in the mmu_gather, and
 *     tlb_finish_mmu() frees it only after the TLB flush: until then a stale translation may sit
 *     in a TLB (the model's tlb_access() rechecks the entry), never in the page table.
 *   closed-file-mapped  No present entry maps a page-cache folio of a file whose last reference
 *     is gone (or whose address_space is freed): the PTE lives in a VMA, which holds the file.
 *   page-cache-entry  An i_pages entry at index i holds a folio whose ->mapping is that
 *     address_space and ->index is i (__filemap_add_folio() sets both before storing it;
 *     page_cache_delete() clears the entry before ->mapping).
 *   freed-mapping-word  No folio's ->mapping points at a freed address_space: the page cache is
 *     emptied, and each folio's ->mapping cleared, before the inode is freed.
 *   refcount  A folio's _refcount is at least what its holders account for: its page-table
 *     entries, the page cache, the swap cache, its owner, and the pins and references GUP handed
 *     out (GUP_PIN_COUNTING_BIAS each for a small folio) — the kernel's
 *     folio_ref_count() >= folio_mapcount() + pins; a large folio's _pincount is at least its
 *     pins. Transient references (a fault's, GUP-fast's speculative one) only add to it.
 *
 * Not checked: _mapcount against the page tables (the rmap update and the PTE write are separate
 * steps), LRU membership, exact refcounts (the audit checks those when every CPU is done).
 */
import type { Kernel } from './kernel.ts';
import type { AddressSpace, File, Inode, Page } from './mm_types.ts';
import { type PageTable, PTE_LEVEL, pte_huge, pte_pfn, pte_present, pte_special } from './pgtable.ts';
import { nolog } from '../sim/frames.ts';
import { GUP_PIN_COUNTING_BIAS, PAGE_MAPPING_FLAGS } from './types.ts';

/** A broken invariant: its name and what is wrong, in kernel words. */
export interface ModelViolation {
  readonly invariant: string;
  readonly message: string;
}

/**
 * The head folio of the page at pfn, read without side effects: k.page() would create a struct
 * page (and its compound_head cell) for a tail never touched, and the check must not change
 * the state it checks.
 */
function headAt(k: Kernel, pfn: number): Page | undefined {
  const p = k.pages.get(pfn);
  if (p !== undefined) {
    const h = p.peek('compound_head');
    return h === 0 ? p : k.pages.get(h - 1);
  }
  const h = k.compoundHeadOf(pfn);
  return h === undefined ? undefined : k.pages.get(h);
}

/** Where a page-table entry is, for a message (built only when something is wrong). */
function entryName(t: PageTable, index: number): string {
  return `${t.levelName}@0x${t.addressOf(index).toString(16)}`;
}

// Scratch space, reused by every check (nolog: not state, and not logged for the stateful
// search's undo trail). Per head pfn: the entries and caches holding it.
const held = nolog(new Map<number, number>());
/** The present leaf entries of the last walk: table, index, head folio. */
const leafTables = nolog([] as PageTable[]);
const leafIndex = nolog([] as number[]);
const leafHeads = nolog([] as Page[]);
const listed = nolog(new Set<number>());
const vmaRefs = nolog(new Map<File, number>());

function hold(pfn: number): void {
  held.set(pfn, (held.get(pfn) ?? 0) + 1);
}

/**
 * The first broken invariant of the kernel state, or null. `trusted`: the kernel's references
 * are counted right so far (an unmutated revision, no finding yet), so the refcount-based
 * invariants apply too.
 */
export function checkModelInvariants(k: Kernel, trusted: boolean): ModelViolation | null {
  // ----- freed-inode-page-cache -----
  for (let i = 0; i < k.mappings.length; i++) {
    const as = k.mappings[i]!;
    if (!as.live.v && as.i_pages.size > 0) {
      return { invariant: 'freed-inode-page-cache', message: `address_space(${as.desc}) is freed but its page cache still holds ${as.i_pages.size} folio(s) (index ${[...as.i_pages.keys()].join(', ')})` };
    }
  }
  // ----- file-reference -----
  vmaRefs.clear();
  for (let i = 0; i < k.mms.length; i++) {
    const mm = k.mms[i]!;
    for (let j = 0; j < mm.vmas.length; j++) {
      const v = mm.vmas[j]!;
      const f = v.vm_file;
      if (!f) continue;
      vmaRefs.set(f, (vmaRefs.get(f) ?? 0) + 1);
      if (f.released || f.f_inode.freeing || !f.f_mapping.live.v) {
        const what = f.released ? 'released (__fput() ran)' : f.f_mapping.live.v ? 'evicted' : 'freed';
        return { invariant: 'file-reference', message: `${v.name} of mm${mm.id} maps the file of ${f.f_mapping.desc}, which is ${what}` };
      }
    }
  }
  for (let i = 0; i < k.files.length; i++) {
    const f = k.files[i]!;
    if (!f.released && (f.f_inode.freeing || !f.f_mapping.live.v)) {
      return { invariant: 'file-reference', message: `file(${f.f_mapping.desc}) is still open (f_count ${f.f_count.v}) but its inode is ${f.f_mapping.live.v ? 'evicted' : 'freed'}` };
    }
    const n = vmaRefs.get(f) ?? 0;
    if (f.f_count.v < n + (f.fd.v ? 1 : 0)) {
      return { invariant: 'file-reference', message: `file(${f.f_mapping.desc}).f_count is ${f.f_count.v}, but ${n} VMA(s)${f.fd.v ? ' and an open descriptor' : ''} hold a reference` };
    }
  }
  // ----- page-tables; and what maps each folio, for the refcount-based ones -----
  held.clear();
  leafTables.length = leafIndex.length = leafHeads.length = 0;
  curK = k;
  curTrusted = trusted;
  found = null;
  // Map.forEach with module-level functions: the check allocates nothing per step.
  k.tables.forEach(visitTable);
  if (found !== null || !trusted) return found;
  return refcounted(k);
}

// The walk's context (one check runs at a time).
let curK: Kernel;
let curTrusted = false;
let curAs: AddressSpace;
let curList = '';
let found: ModelViolation | null = null;

function visitTable(t: PageTable): void {
  // Without the refcount-based checks, a PTE table has nothing to check: its entries are leaves.
  if (found !== null || !t.live.v || (!curTrusted && t.level === PTE_LEVEL)) return;
  const k = curK;
  const n = t.entryCount();
  for (let i = 0; i < n; i++) {
    const e = t.entryValueAt(i);
    if (!pte_present(e)) continue;
    if (t.level === PTE_LEVEL || pte_huge(e)) {
      if (!curTrusted || (t.level === PTE_LEVEL && pte_special(e))) continue;
      const head = headAt(k, pte_pfn(e));
      if (head === undefined) {
        found = { invariant: 'pte-maps-free-page', message: `${entryName(t, t.entryIndexAt(i))} maps pfn ${pte_pfn(e)}, which no allocation ever handed out` };
        return;
      }
      hold(head.pfn);
      leafTables.push(t);
      leafIndex.push(t.entryIndexAt(i));
      leafHeads.push(head);
      continue;
    }
    const sub = k.tables.get(pte_pfn(e));
    if (!sub || !sub.live.v || sub.level !== t.level - 1) {
      const what = !sub ? 'no page table' : !sub.live.v ? `a freed ${sub.levelName} table` : `a ${sub.levelName} table`;
      found = { invariant: 'page-tables', message: `${entryName(t, t.entryIndexAt(i))} (in ${t.levelName}-table@${t.tpfn.toString(16)}) points at ${what} (table@${pte_pfn(e).toString(16)})` };
      return;
    }
  }
}

function visitCacheEntry(pfn: number, idx: number): void {
  if (found !== null) return;
  const as = curAs;
  const p = curK.pages.get(pfn);
  if (p === undefined || p.peek('mapping') !== as.ptr || p.peek('index') !== idx) {
    const what = p === undefined ? 'a pfn no allocation handed out' : `${p.name}, whose ->mapping is ${curK.describeWord(p.peek('mapping'))} and ->index ${p.peek('index')}`;
    found = { invariant: 'page-cache-entry', message: `address_space(${as.desc}) index ${idx} holds ${what}` };
    return;
  }
  hold(pfn);
}

function visitFreeList(list: number[], key: string): void {
  curList = key;
  for (let i = 0; i < list.length && found === null; i++) {
    const pfn = list[i]!;
    const p = curK.pages.get(pfn);
    if (p === undefined) {
      found = { invariant: 'free-list', message: `pfn ${pfn} is on the free list ${curList} but has no struct page` };
      return;
    }
    const problem =
      listed.has(pfn) ? 'is on the free lists twice'
      : p.ghost.owner !== 'free' ? `is owned (${p.ghost.ownerDesc})`
      : p.peek('_refcount') !== 0 ? `has _refcount ${p.peek('_refcount')}`
      : p.ghost.pins || p.ghost.gets ? `has ${p.ghost.pins} pin(s) and ${p.ghost.gets} reference(s) handed out`
      : held.has(pfn) ? `is mapped or cached (${held.get(pfn)} holder(s))`
      : '';
    if (problem) {
      found = { invariant: 'free-list', message: `${p.name} is on the free list ${curList} but ${problem}` };
      return;
    }
    listed.add(pfn);
  }
}

function visitPage(p: Page): void {
  if (found !== null || p.peek('compound_head') !== 0 || p.pfn === curK.zeroPfn) return;
  const m = p.peek('mapping');
  if (m !== 0 && (m & PAGE_MAPPING_FLAGS) === 0) {
    const o = curK.kobjs.get(m);
    if (o?.kind === 'address_space' && !o.live.v) {
      found = { invariant: 'freed-mapping-word', message: `${p.name}->mapping points at the freed address_space(${o.desc})` };
      return;
    }
  }
  const g = p.ghost;
  if (g.owner === 'free' || g.frozen) return;
  const large = p.peekHead();
  const need = (held.get(p.pfn) ?? 0) + g.ownerRefs + g.gets + (large ? g.pins : g.pins * GUP_PIN_COUNTING_BIAS);
  const rc = p.peek('_refcount');
  if (rc < need) found = { invariant: 'refcount', message: `${p.name} (${g.ownerDesc}) has _refcount ${rc}, below the ${need} its mappings, caches, owner and GUP callers hold` };
  else if (large && p.peek('_pincount') < g.pins) found = { invariant: 'refcount', message: `${p.name} has _pincount ${p.peek('_pincount')}, below the ${g.pins} pin(s) GUP handed out` };
}

function refcounted(k: Kernel): ModelViolation | null {
  // ----- page-cache-entry -----
  for (let i = 0; i < k.mappings.length && found === null; i++) {
    const as = k.mappings[i]!;
    if (as === k.swapSpace) continue;
    curAs = as;
    as.i_pages.forEach(visitCacheEntry);
  }
  if (found !== null) return found;
  k.swapCache.forEach(hold);
  // ----- free-list -----
  listed.clear();
  k.freeLists.forEach(visitFreeList);
  if (found !== null) return found;
  // ----- pte-maps-free-page, closed-file-mapped -----
  for (let i = 0; i < leafHeads.length; i++) {
    const t = leafTables[i]!;
    const index = leafIndex[i]!;
    const head = leafHeads[i]!;
    if (head.ghost.owner === 'free') return { invariant: 'pte-maps-free-page', message: `${entryName(t, index)} maps ${head.name}, which is free (${head.ghost.ownerDesc})` };
    const m = head.peek('mapping');
    if (m === 0 || m & PAGE_MAPPING_FLAGS) continue;
    const o = k.kobjs.get(m);
    if (o?.kind !== 'address_space') continue;
    const host = (o as AddressSpace).host;
    if (!o.live.v || (host !== null && (host.freeing || !hasOpenFile(k, host)))) {
      return { invariant: 'closed-file-mapped', message: `${entryName(t, index)} maps ${head.name}, page cache of ${o.desc}, whose file ${o.live.v ? 'has no reference left' : 'is freed'}` };
    }
  }
  // ----- freed-mapping-word, refcount -----
  k.pages.forEach(visitPage);
  return found;
}

function hasOpenFile(k: Kernel, inode: Inode): boolean {
  for (let i = 0; i < k.files.length; i++) if (k.files[i]!.f_inode === inode && !k.files[i]!.released) return true;
  return false;
}
