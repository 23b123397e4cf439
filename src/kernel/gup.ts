/*
 * Models mm/gup.c (6.5 names; 6.10 renamed the GUP-fast functions to gup_fast_*, and traces
 * of 6.10+ revisions use those names). Per-revision differences are in kernel/revisions/*.ts;
 * this file is the common code they share. Step orders follow docs/reference/kernel-gup-reference.md
 * §1.3 (is_valid_gup_args), §2.2–2.4 (refcounting), §3 (slow path), §4 (fast path).
 *
 * Left out, for the whole file:
 *  - devmap / ZONE_DEVICE pages (dev_pagemap refs, undo_dev_pagemap), P2PDMA pages;
 *  - hugepd (powerpc) and gup_huge_pgd (no architecture modelled has PGD leaves);
 *  - FOLL_UNLOCKABLE retries: no modelled fault drops mmap_lock (VM_FAULT_RETRY never
 *    happens), so __get_user_pages_locked() runs __get_user_pages() once;
 *  - fatal signals (-EINTR), cond_resched(), the gate area, stack expansion;
 *  - arch_make_page_accessible() (s390 secure guests; a no-op on x86 and arm64);
 *  - NR_FOLL_PIN_ACQUIRED/RELEASED statistics;
 *  - untagged addresses, access_ok(), TASK_SIZE checks beyond "the range is in user space".
 *
 * Page arrays hold pfns (a `struct page *` is just an identity).
 */
import { byValue } from '../sim/frames.ts';
import { READ_ONCE, announce } from '../sim/cell.ts';
import { READ, type Site, type Step, site } from '../sim/op.ts';
import { down_read, local_irq_restore, local_irq_save, raw_read_seqcount, read_seqcount_retry, spin_lock, spin_unlock, up_read } from '../sim/sync.ts';
import { type Ctx, type PteWatcher, VM_BUG_ON, WARN_ON_ONCE } from './kernel.ts';
import { handle_mm_fault, vm_normal_page } from './memory.ts';
import { check_and_migrate_movable_pages } from './migrate.ts';
import type { AddressSpace, Folio, MmStruct, Page, Vma } from './mm_types.ts';
import { atomic_add_pincount, folio_put_refs, folio_ref_add, folio_ref_try_add_rcu, folio_set_referenced, folio_test_anon, folio_test_dirty, folio_test_large, folio_test_set_dirty, is_zero_page, PageAnonExclusive, page_folio, page_folio_pfn } from './page_ref.ts';
import { PMD_LEVEL, PTE_LEVEL, PUD_LEVEL, read_entry, table_of, ptep_get, ptep_get_lockless, walk_alloc } from './pgtable-generic.ts';
import { type PageTable, type pte_t, pte_access_permitted, pte_devmap, pte_dirty, pte_huge, pte_none, pte_pfn, pte_present, pte_protnone, pte_special, pte_write } from './pgtable.ts';
import { EAGAIN, EEXIST, EFAULT, EINVAL, EMLINK, ENOMEM, EOPNOTSUPP, EOVERFLOW, FOLL_ANON, FOLL_FAST_ONLY, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_REMOTE, FOLL_TOUCH, FOLL_TRIED, FOLL_UNLOCKABLE, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, PAGE_SIZE, PGDIR_SIZE, PMD_SIZE, PUD_SIZE, TASK_SIZE, VM_IO, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, errnoName, follNames } from './types.ts';
import { set_page_dirty_lock } from './page-writeback.ts';
import { folio_is_longterm_pinnable, gup_must_unshare, gup_put_folio, is_cow_mapping, is_vm_hugetlb_page, try_grab_page, VM_FAULT_ERROR, vm_fault_to_errno, vma_is_anonymous, vma_is_secretmem } from './internal.ts';

// ===== small helpers (include/linux/mm.h) =====

// ===== refcounting: try_get_folio / try_grab_folio / try_grab_page / gup_put_folio =====

const S_tgf_count = site('try_get_folio', 'WARN_ON_ONCE(folio_ref_count(folio) < 0)');
const S_mm_pinned = site('mm_set_has_pinned_flag', 'test_and_set MMF_HAS_PINNED');

/**
 * try_get_folio() (6.5, §2.2): add-unless-zero on the folio the page belongs to, then check
 * the page still belongs to it (a split may have moved it) and retry if not.
 */
export function* try_get_folio(c: Ctx, page: Page, refs: number): Step<Folio | null> {
  for (;;) {
    const folio = yield* page_folio(c, page);
    if (WARN_ON_ONCE(c, (yield* READ_ONCE(c, folio._refcount, S_tgf_count)) < 0, `${folio.name} _refcount < 0 in try_get_folio`)) {
      return null;
    }
    if (!(yield* folio_ref_try_add_rcu(c, folio, refs))) {
      c.why?.('try_get_folio', `${folio.name} has _refcount 0 (free or frozen): no reference taken`);
      return null;
    }
    const again = yield* page_folio(c, page);
    if (again === folio) return folio;
    // The page was split away from the folio meanwhile: drop and retry.
    yield* folio_put_refs(c, folio, refs);
  }
}

/** Add the pin on top of the refs try_get_folio() took (§2.3 step 6). */
export function* pin_folio_refs(c: Ctx, folio: Folio, refs: number): Step<void> {
  if (yield* folio_test_large(c, folio)) yield* atomic_add_pincount(c, folio, refs);
  else yield* folio_ref_add(c, folio, refs * (GUP_PIN_COUNTING_BIAS - 1));
  // smp_mb__after_atomic(): orders the pin before the caller's PTE re-check (SC here).
}

/**
 * try_grab_folio() (6.5 shape, §2.3; try_grab_folio_fast() on GUP-fast's side from 6.11). Replaced
 * by v7.ts and jg-proposal.ts, which put their check inside it. FOLL_GET -> try_get_folio; FOLL_PIN -> zero page
 * untouched (6.5; 6.1 pins it), else try_get_folio, refuse non-longterm-pinnable folios for FOLL_LONGTERM
 * (checked after the get in 6.5, before it in 6.1), then add the pin bias / _pincount.
 */
export function* try_grab_folio(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null> {
  if (WARN_ON_ONCE(c, (flags & (FOLL_GET | FOLL_PIN)) === 0, 'try_grab_folio() without FOLL_GET or FOLL_PIN')) return null;
  if (flags & FOLL_GET) return yield* c.rev.fns.try_get_folio(c, page, refs);
  // "Don't take a pin on the zero page" (6.5); 6.1 pins it like any page (c.rev.pinsZeroPage).
  if (is_zero_page(c, page) && !c.rev.pinsZeroPage) return yield* page_folio(c, page);
  if (!c.rev.longtermCheckAfterGet && flags & FOLL_LONGTERM && !folio_is_longterm_pinnable(c, page)) {
    c.why?.('try_grab_folio', `is_longterm_pinnable_page(): ${page.name} is in ZONE_${page.ghost.zone.toUpperCase()} (must be migrated first)`);
    return null;
  }
  const folio = yield* c.rev.fns.try_get_folio(c, page, refs);
  if (!folio) return null;
  if (c.rev.longtermCheckAfterGet && flags & FOLL_LONGTERM && !folio_is_longterm_pinnable(c, folio)) {
    c.why?.('try_grab_folio', `folio_is_longterm_pinnable(): ${folio.name} is in ZONE_${folio.ghost.zone.toUpperCase()} (must be migrated first)`);
    yield* folio_put_refs(c, folio, refs);
    return null;
  }
  yield* pin_folio_refs(c, folio, refs);
  return folio;
}

/**
 * How many entries of pfns, from i on, are consecutive pages of `folio` (a large folio held
 * pinned, so it cannot be split meanwhile): the run gup_folio_next() would find page by page.
 */
function folioRun(c: Ctx, pfns: readonly number[], i: number, folio: Folio): number {
  const order = folio._folio_order.v;
  if (!folio.PG_head.v || order === 0) return 1;
  const end = folio.pfn + 2 ** order;
  let n = 1;
  while (i + n < pfns.length && pfns[i + n] === pfns[i]! + n && pfns[i + n]! < end) {
    const p = c.k.pages.get(pfns[i + n]!);
    if (p && p.compound_head.v !== folio.pfn + 1) break;
    n++;
  }
  return n;
}

// ===== ghost bookkeeping for the checker =====
// (Exported for a PTE walk patched in C, src/patch/c/runtime.ts, which keeps the same books.)

type WalkFn = 'gup_pte_range' | 'gup_huge_pmd' | 'gup_huge_pud';
const CHECKER_FNS: readonly WalkFn[] = ['gup_pte_range', 'gup_huge_pmd', 'gup_huge_pud'];
const S_watch: Readonly<Record<string, Site>> = Object.fromEntries(CHECKER_FNS.map((fn) => [fn, site(fn, "gupcheck's books, with the reference held: does the PTE map the page now? (not kernel code)")]));
const S_record: Readonly<Record<string, Site>> = Object.fromEntries(CHECKER_FNS.map((fn) => [fn, site(fn, "gupcheck's check as the page is recorded: page_folio(page), and did the PTE map it while the reference was held? (not kernel code)")]));

/**
 * Start watching whether the entry maps `pfn` while a reference is held (pin-on-reused-page):
 * right after the grab, a step of the checker's own that reads the PTE. As a declared read it is
 * ordered against the PTE's writes like any kernel read; sampled inside the grab's last step
 * instead (undeclared), the search took "the PTE maps the page again before the sample" and
 * "after it" as one interleaving and could explore only the order that hides the finding (the
 * stateful search against DPOR on example 10, no-recheck, 6.5/x86). A write to the PTE later
 * sets `seen` (pgtable-generic.ts notePte()).
 *
 * A watcher is fingerprinted by its contents (byValue()): the stateful search matches two states
 * whichever CPU's watcher was made or registered first, and an unwatched one leaves no term
 * behind (docs/perf.md, "Watchers by value"). Identity cannot matter: notePte()
 * changes every watcher of a (cell, pfn) alike, so equal ones stay equal, and no local refers to
 * a watcher at a scheduling point after unwatch() (checkRecord() reads `seen` in the same step).
 */
export function* watch(c: Ctx, table: PageTable, addr: number, pfn: number, fn: WalkFn = 'gup_pte_range'): Step<PteWatcher> {
  const cell = table.entry(addr);
  const op = announce(c, cell.id, READ, S_watch[fn]!);
  yield op;
  const v = cell.v;
  op.after = v;
  const w: PteWatcher = byValue({ cellId: cell.id, pfn, seen: pte_present(v) && pte_pfn(v) === pfn });
  c.k.pteWatchers.push(w);
  return w;
}
export function unwatch(c: Ctx, w: PteWatcher): void {
  const ws = c.k.pteWatchers;
  const i = ws.indexOf(w);
  if (i >= 0) ws.splice(i, 1);
}

/**
 * GUP-fast records `page` while holding a reference on `held`: the reference must be on the
 * page's folio, and the entry must have mapped the page at some moment while it was held. The
 * check is a step of its own that reads page->compound_head and the PTE (the watcher's `seen`
 * follows the PTE's writes): a THP split or a PTE write races it as they would a kernel read.
 */
export function* checkRecord(c: Ctx, w: PteWatcher, page: Page, held: Folio, addr: number, fn: WalkFn = 'gup_pte_range'): Step<void> {
  const op = announce(c, page.compound_head.id, READ, S_record[fn]!);
  op.obj2 = w.cellId;
  yield op;
  unwatch(c, w);
  const head = page.compound_head.v;
  op.after = head;
  const now = head === 0 ? page : c.k.page(head - 1);
  if (now !== held) {
    c.w.report(
      'pin-on-reused-page',
      `GUP-fast returned ${page.name} for 0x${addr.toString(16)} but holds its reference on ${held.name}: the page's folio changed (split) after page_folio() was read`,
      false,
    );
  } else if (!w.seen) {
    c.w.report(
      'pin-on-reused-page',
      `GUP-fast returned ${page.name} for 0x${addr.toString(16)}, but the page table never mapped it there while GUP held the reference: it was freed and reused after the PTE was read`,
      false,
    );
  }
}

// ===== GUP-fast (§4) =====

const S_pgd = site('gup_pgd_range', 'READ_ONCE(*pgdp)');
const S_pud = site('gup_pud_range', 'READ_ONCE(*pudp)');
const S_pmd = site('gup_pmd_range', 'pmdp_get_lockless(pmdp)');
const S_pte = site('gup_pte_range', 'ptep_get_lockless(ptep)');
const S_recheck_pmd = site('gup_pte_range', 're-check: pmd_val(pmd) != pmd_val(*pmdp)');
const S_recheck_pte = site('gup_pte_range', 're-check: pte_val(pte) != pte_val(ptep_get(ptep))');
const S_recheck_hpmd = site('gup_huge_pmd', 're-check: pmd_val(orig) != pmd_val(*pmdp)');
const S_recheck_hpud = site('gup_huge_pud', 're-check: pud_val(orig) != pud_val(*pudp)');
const S_wps_read = site('lockless_pages_from_mm', 'raw_read_seqcount(&mm->write_protect_seq)');
const S_wps_retry = site('lockless_pages_from_mm', 'read_seqcount_retry(&mm->write_protect_seq)');
const S_irq_off = site('lockless_pages_from_mm', 'local_irq_save()');
const S_irq_on = site('lockless_pages_from_mm', 'local_irq_restore()');

function addrEnd(addr: number, end: number, size: number): number {
  const b = (Math.floor(addr / size) + 1) * size;
  return b < end ? b : end;
}

/** The common bail-out: drop the reference just taken, say why. */
function* bail(c: Ctx, fn: string, folio: Folio, refs: number, flags: number, w: PteWatcher | null, why: string): Step<false> {
  if (w) unwatch(c, w);
  c.why?.(fn, why);
  yield* gup_put_folio(c, folio, refs, flags);
  return false;
}

/**
 * The PMD/PTE re-check of gup_pte_range() (6.10+: gup_fast_pte_range()), inline in the kernel:
 * `pmd_val(pmd) != pmd_val(*pmdp) || pte_val(pte) != pte_val(ptep_get(ptep))`. A function of
 * its own so the no-recheck mutant can replace it (kernel/mutants.ts).
 */
export function* gup_fast_pte_changed(c: Ctx, pmd: pte_t, pmdTable: PageTable, ptable: PageTable, addr: number, pte: pte_t): Step<boolean> {
  if ((yield* read_entry(c, pmdTable, addr, S_recheck_pmd)) !== pmd) {
    c.why?.('gup_pte_range', 'the PMD changed since it was read');
    return true;
  }
  if ((yield* ptep_get(c, ptable, addr, S_recheck_pte)) !== pte) {
    c.why?.('gup_pte_range', 'the PTE changed since it was read');
    return true;
  }
  return false;
}

/** The huge-leaf re-check of gup_huge_pmd()/gup_huge_pud(): `pmd_val(orig) != pmd_val(*pmdp)`. */
export function* gup_fast_huge_changed(c: Ctx, table: PageTable, addr: number, orig: pte_t, s: Site): Step<boolean> {
  return (yield* read_entry(c, table, addr, s)) !== orig;
}

/**
 * gup_pte_range() (6.10+: gup_fast_pte_range(); 6.5 step order, §4.3): read the PTE, check it, grab the folio, (6.1–6.6:
 * secretmem), re-check PMD and PTE, the file-backed check, the unshare check, record.
 * Revisions differ in try_grab_folio (v7 puts its check there), in whether
 * folio_fast_pin_allowed exists, and in page_is_secretmem.
 */
export function* gup_pte_range(
  c: Ctx,
  pmd: pte_t,
  pmdTable: PageTable,
  start: number,
  end: number,
  flags: number,
  pages: number[],
): Step<boolean> {
  const ptable = table_of(c, pmd, PTE_LEVEL);
  if (!ptable) return false; // pte_offset_map() failed
  const fns = c.rev.fns;
  const write = (flags & FOLL_WRITE) !== 0;
  let addr = start;
  do {
    const pte = yield* ptep_get_lockless(c, ptable, addr, S_pte);
    if (pte === null) return false;
    if (pte_protnone(pte)) {
      c.why?.('gup_pte_range', 'pte_protnone(): PROT_NONE / NUMA-hinting PTE, left to the slow path');
      return false;
    }
    if (!pte_access_permitted(pte, write)) {
      c.why?.(
        'gup_pte_range',
        pte_none(pte)
          ? `no PTE for 0x${addr.toString(16)} (not faulted in): the slow path will fault it`
          : !pte_present(pte)
            ? `PTE for 0x${addr.toString(16)} is not present (swap/migration entry)`
            : `pte_access_permitted(pte, FOLL_WRITE) is false: the PTE is read-only (write-protected for CoW or write-notify)`,
      );
      return false;
    }
    if (pte_devmap(pte)) {
      c.why?.('gup_pte_range', 'devmap PTE (not modelled): bail');
      return false;
    } else if (pte_special(pte)) {
      c.why?.('gup_pte_range', 'pte_special(): no struct page to refcount (zero page / PFN mapping)');
      return false;
    }
    const page = c.k.page(pte_pfn(pte));
    const folio = yield* fns.try_grab_folio_fast(c, page, 1, flags);
    if (!folio) {
      c.why?.('gup_pte_range', `${c.rev.gupFastNames ? 'try_grab_folio_fast' : 'try_grab_folio'}() failed for ${page.name}`);
      return false;
    }
    const w = yield* watch(c, ptable, addr, page.pfn);
    if (fns.page_is_secretmem && (yield* fns.page_is_secretmem(c, page))) {
      return yield* bail(c, 'gup_pte_range', folio, 1, flags, w, 'page_is_secretmem(): secretmem pages are never pinned');
    }
    /*
     * Pin first, then recheck: a racing zap clears the PTE before it looks for pins, so one
     * side always sees the other (the comment above gup_fast_pte_range()).
     */
    if (yield* fns.gup_fast_pte_changed(c, pmd, pmdTable, ptable, addr, pte)) {
      return yield* bail(c, 'gup_pte_range', folio, 1, flags, w, 'the PMD or PTE changed since it was read');
    }
    if (fns.folio_fast_pin_allowed && !(yield* fns.folio_fast_pin_allowed(c, folio, flags))) {
      return yield* bail(c, 'gup_pte_range', folio, 1, flags, w, 'the file-backed check refused the folio: fall back to the slow path');
    }
    if (!pte_write(pte) && (yield* gup_must_unshare(c, null, flags, page))) {
      return yield* bail(c, 'gup_pte_range', folio, 1, flags, w, 'gup_must_unshare(NULL, ...): R/O pin needs the VMA to decide, slow path');
    }
    yield* folio_set_referenced(c, folio);
    yield* checkRecord(c, w, page, folio, addr);
    pages.push(page.pfn);
    addr += PAGE_SIZE;
  } while (addr !== end);
  return true;
}

/** gup_huge_pmd() / gup_huge_pud() (6.10+: gup_fast_pmd_leaf() / gup_fast_pud_leaf(); §4.3 "Huge leaves"): one grab for all subpages in range. */
function* gup_huge_leaf(
  c: Ctx,
  orig: pte_t,
  table: PageTable,
  start: number,
  end: number,
  flags: number,
  pages: number[],
  size: number,
  s: Site,
  fn: string,
): Step<boolean> {
  const fns = c.rev.fns;
  if (!pte_access_permitted(orig, (flags & FOLL_WRITE) !== 0)) {
    c.why?.(fn, `${fn === 'gup_huge_pmd' ? 'pmd' : 'pud'}_access_permitted() is false: the huge entry is read-only`);
    return false;
  }
  if (pte_devmap(orig)) return false;
  const base = Math.floor(start / size) * size;
  const firstPfn = pte_pfn(orig) + (start - base) / PAGE_SIZE;
  const refs = (end - start) / PAGE_SIZE;
  const page = c.k.page(firstPfn);
  const folio = yield* fns.try_grab_folio_fast(c, page, refs, flags);
  if (!folio) return false;
  const w = yield* watch(c, table, start, pte_pfn(orig), fn === 'gup_huge_pmd' ? 'gup_huge_pmd' : 'gup_huge_pud');
  if (yield* fns.gup_fast_huge_changed(c, table, start, orig, s)) {
    return yield* bail(c, fn, folio, refs, flags, w, 'the huge entry changed since it was read');
  }
  if (fns.folio_fast_pin_allowed && !(yield* fns.folio_fast_pin_allowed(c, folio, flags))) {
    return yield* bail(c, fn, folio, refs, flags, w, 'the file-backed check refused the folio: fall back to the slow path');
  }
  if (!pte_write(orig) && (yield* gup_must_unshare(c, null, flags, folio))) {
    return yield* bail(c, fn, folio, refs, flags, w, 'gup_must_unshare(NULL, ...): R/O pin needs the VMA to decide');
  }
  yield* checkRecord(c, w, c.k.page(pte_pfn(orig)), folio, start, fn === 'gup_huge_pmd' ? 'gup_huge_pmd' : 'gup_huge_pud');
  for (let i = 0; i < refs; i++) pages.push(firstPfn + i);
  yield* folio_set_referenced(c, folio);
  return true;
}

export function* gup_huge_pmd(c: Ctx, orig: pte_t, t: PageTable, a: number, e: number, f: number, p: number[]): Step<boolean> {
  return yield* gup_huge_leaf(c, orig, t, a, e, f, p, PMD_SIZE, S_recheck_hpmd, 'gup_huge_pmd');
}
export function* gup_huge_pud(c: Ctx, orig: pte_t, t: PageTable, a: number, e: number, f: number, p: number[]): Step<boolean> {
  return yield* gup_huge_leaf(c, orig, t, a, e, f, p, PUD_SIZE, S_recheck_hpud, 'gup_huge_pud');
}

/** gup_pmd_range() (6.10+: gup_fast_pmd_range()). */
function* gup_pmd_range(c: Ctx, pmdTable: PageTable, start: number, end: number, flags: number, pages: number[]): Step<boolean> {
  let addr = start;
  do {
    const pmd = yield* read_entry(c, pmdTable, addr, S_pmd);
    if (pmd === null) return false;
    const next = addrEnd(addr, end, PMD_SIZE);
    if (!pte_present(pmd)) {
      c.why?.('gup_pmd_range', pmd === 0 ? `no page table for 0x${addr.toString(16)} yet` : 'PMD not present (migration entry)');
      return false;
    }
    if (pte_huge(pmd)) {
      if (pte_protnone(pmd)) return false;
      if (!(yield* gup_huge_pmd(c, pmd, pmdTable, addr, next, flags, pages))) return false;
    } else if (!(yield* c.rev.fns.gup_pte_range(c, pmd, pmdTable, addr, next, flags, pages))) {
      return false;
    }
    addr = next;
  } while (addr !== end);
  return true;
}

/** gup_pud_range() (6.10+: gup_fast_pud_range()). */
function* gup_pud_range(c: Ctx, pudTable: PageTable, start: number, end: number, flags: number, pages: number[]): Step<boolean> {
  let addr = start;
  do {
    const pud = yield* read_entry(c, pudTable, addr, S_pud);
    if (pud === null) return false;
    const next = addrEnd(addr, end, PUD_SIZE);
    if (!pte_present(pud)) {
      c.why?.('gup_pud_range', `no page table for 0x${addr.toString(16)} yet`);
      return false;
    }
    if (pte_huge(pud)) {
      if (!(yield* gup_huge_pud(c, pud, pudTable, addr, next, flags, pages))) return false;
    } else {
      const pmdTable = table_of(c, pud, PMD_LEVEL);
      if (!pmdTable || !(yield* gup_pmd_range(c, pmdTable, addr, next, flags, pages))) return false;
    }
    addr = next;
  } while (addr !== end);
  return true;
}

/** gup_pgd_range() (6.10+: gup_fast_pgd_range()). */
export function* gup_pgd_range(c: Ctx, mm: MmStruct, start: number, end: number, flags: number, pages: number[]): Step<void> {
  let addr = start;
  do {
    const pgd = yield* read_entry(c, mm.pgd, addr, S_pgd);
    if (pgd === null || pte_none(pgd)) {
      c.why?.('gup_pgd_range', `no page table for 0x${addr.toString(16)} yet`);
      return;
    }
    const next = addrEnd(addr, end, PGDIR_SIZE);
    const pudTable = table_of(c, pgd, PUD_LEVEL);
    if (!pudTable || !(yield* gup_pud_range(c, pudTable, addr, next, flags, pages))) return;
    addr = next;
  } while (addr !== end);
}

/**
 * lockless_pages_from_mm() (6.5; gup_fast() in 6.10), §4.1. Replaced by the no-irq-disable and
 * no-write-protect-seq mutants. FOLL_PIN reads
 * mm->write_protect_seq and refuses to start on an odd value; the walk runs with IRQs off;
 * if a fork write-protected anon pages meanwhile, everything pinned is dropped.
 */
export function* lockless_pages_from_mm(c: Ctx, start: number, end: number, flags: number, pages: number[]): Step<number> {
  const mm = c.mm!;
  let seq = 0;
  if (flags & FOLL_PIN) {
    seq = yield* raw_read_seqcount(c, mm.write_protect_seq, S_wps_read);
    if (seq & 1) {
      c.why?.('lockless_pages_from_mm', 'mm->write_protect_seq is odd: a fork is write-protecting anon pages');
      return 0;
    }
  }
  const first = pages.length;
  const wasOff = yield* local_irq_save(c, S_irq_off);
  yield* gup_pgd_range(c, mm, start, end, flags, pages);
  yield* local_irq_restore(c, wasOff, S_irq_on);
  const nr = pages.length - first;
  if (flags & FOLL_PIN) {
    if (yield* read_seqcount_retry(c, mm.write_protect_seq, seq, S_wps_retry)) {
      c.why?.('lockless_pages_from_mm', 'mm->write_protect_seq changed (fork ran): unpin everything, use the slow path');
      const got = pages.splice(first);
      yield* unpin_user_pages_lockless(c, got);
      return 0;
    }
    yield* sanity_check_pinned_pages(c, pages.slice(first));
  }
  return nr;
}

/** sanity_check_pinned_pages() (DEBUG_VM): a pinned anon page must be exclusive. */
export function* sanity_check_pinned_pages(c: Ctx, pfns: number[]): Step<void> {
  if (!c.k.config.CONFIG_DEBUG_VM) return;
  for (let i = 0; i < pfns.length; ) {
    const pfn = pfns[i]!;
    if (pfn === c.k.zeroPfn) {
      i++;
      continue;
    }
    const folio = yield* page_folio_pfn(c, pfn);
    const run = folioRun(c, pfns, i, folio);
    if (!(yield* folio_test_anon(c, folio))) {
      i += run; // not anonymous: nothing to check on any of its pages
      continue;
    }
    for (let j = 0; j < run; j++) {
      const page = c.k.page(pfns[i + j]!);
      if (!(yield* PageAnonExclusive(c, page))) {
        VM_BUG_ON(c, true, `sanity_check_pinned_pages(): pinned anon ${page.name} is not PageAnonExclusive`);
        return;
      }
    }
    i += run;
  }
}

/** unpin_user_pages_lockless() (6.10+: gup_fast_unpin_user_pages()): drop pins taken by GUP-fast before handing them out. */
export function* unpin_user_pages_lockless(c: Ctx, pfns: number[]): Step<void> {
  for (const pfn of pfns) {
    const folio = yield* page_folio_pfn(c, pfn);
    yield* gup_put_folio(c, folio, 1, FOLL_PIN);
  }
}

const FAST_OK_FLAGS =
  FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT | FOLL_PCI_P2PDMA | FOLL_HONOR_NUMA_FAULT;

/**
 * internal_get_user_pages_fast() (gup_fast_fallback() in 6.10), §1.3/§4.1: the fast walk,
 * then the slow path for the remaining pages (with FOLL_TOUCH|FOLL_UNLOCKABLE); a slow-path
 * error after a partial fast pin returns the partial count. 6.1 (c.rev.isValidGupArgs false;
 * 6.1.20 mm/gup.c:3035, :2941): an overflowing range returns 0, and the slow path is
 * __gup_longterm_unlocked(): a long-term pin under mmap_read_lock() with the caller's flags, any
 * other through get_user_pages_unlocked() (FOLL_TOUCH).
 */
export function* internal_get_user_pages_fast(c: Ctx, start: number, nr_pages: number, flags: number, pages: number[]): Step<number> {
  if (WARN_ON_ONCE(c, (flags & ~FAST_OK_FLAGS) !== 0, `internal_get_user_pages_fast(): unsupported flags ${follNames(flags & ~FAST_OK_FLAGS)}`)) {
    return -EINVAL;
  }
  const mm = c.mm!;
  if (flags & FOLL_PIN) yield* mm_set_has_pinned_flag(c, mm);
  const len = nr_pages * PAGE_SIZE;
  const end = start + len;
  if (!Number.isSafeInteger(end)) return c.rev.isValidGupArgs ? -EOVERFLOW : 0;
  if (end > TASK_SIZE) return -EFAULT;
  const nr_pinned = nr_pages === 0 ? 0 : yield* c.rev.fns.lockless_pages_from_mm(c, start, end, flags, pages);
  if (nr_pinned === nr_pages || flags & FOLL_FAST_ONLY) return nr_pinned;
  const slowFlags = c.rev.isValidGupArgs ? flags | FOLL_TOUCH | FOLL_UNLOCKABLE : flags & FOLL_LONGTERM ? flags : flags | FOLL_TOUCH;
  c.why?.(
    'internal_get_user_pages_fast',
    `GUP-fast pinned ${nr_pinned} of ${nr_pages} page(s); the slow path takes the rest${slowFlags & FOLL_TOUCH ? '' : ' (__gup_longterm_unlocked(): a long-term pin keeps the caller\'s flags, no FOLL_TOUCH)'}`,
  );
  c.gupSlowUsed = true;
  const slowStart = start + nr_pinned * PAGE_SIZE;
  const ret = yield* __gup_longterm_locked(c, mm, slowStart, nr_pages - nr_pinned, pages, false, slowFlags);
  if (ret < 0) return nr_pinned ? nr_pinned : ret;
  return ret + nr_pinned;
}

function* mm_set_has_pinned_flag(c: Ctx, mm: MmStruct): Step<void> {
  const op = announce(c, mm.has_pinned.id, READ, S_mm_pinned);
  yield op;
  op.before = mm.has_pinned.v;
  if (!mm.has_pinned.v) mm.has_pinned.v = true;
  op.after = true;
}

// ===== the slow path (§3) =====

const S_follow_pte = site('follow_page_pte', 'ptep_get(ptep) under the PTL');
const S_follow_lock = site('follow_page_pte', 'pte_offset_map_lock()');
const S_follow_unlock = site('follow_page_pte', 'pte_unmap_unlock()');
const S_follow_pmd = site('follow_pmd_mask', 'pmdp_get_lockless(pmd)');

/** writable_file_mapping_allowed() (merged v8/v9, §3.2). */
export function writable_file_mapping_allowed(c: Ctx | null, vma: Vma, gup_flags: number, needs: (v: Vma) => boolean): boolean {
  if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) !== (FOLL_PIN | FOLL_LONGTERM)) return true;
  const r = !needs(vma);
  if (!r) c?.why?.('writable_file_mapping_allowed', 'FOLL_PIN|FOLL_LONGTERM write to a mapping that needs dirty tracking');
  return r;
}

/**
 * check_vma_flags() (6.5, §1.4 table; 6.1.192 and 6.12.118 mm/gup.c the same order), in the
 * kernel's order. The series' file check (writable_file_mapping_allowed()) is absent in 6.1.
 * 6.1-6.12 refuse FOLL_FORCE|FOLL_WRITE on a read-only hugetlb VMA ("hugetlb does not support
 * FOLL_FORCE|FOLL_WRITE"); the hugetlb FOLL_FORCE support (Guillaume Morin, after 6.12, in
 * 6.14.0, 6.19 and 7.1.5) removed that: check_vma_flags_614().
 */
export function* check_vma_flags(c: Ctx, vma: Vma, gup_flags: number): Step<number> {
  return yield* check_vma_flags_body(c, vma, gup_flags, true);
}

/** check_vma_flags() from the hugetlb FOLL_FORCE support (6.14.0): no hugetlb refusal. */
export function* check_vma_flags_614(c: Ctx, vma: Vma, gup_flags: number): Step<number> {
  return yield* check_vma_flags_body(c, vma, gup_flags, false);
}

function* check_vma_flags_body(c: Ctx, vma: Vma, gup_flags: number, hugetlbNoForce: boolean): Step<number> {
  const vm_flags = vma.vm_flags;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  const vma_anon = vma_is_anonymous(vma);
  const why = (m: string) => c.why?.('check_vma_flags', m);
  if (vm_flags & (VM_IO | VM_PFNMAP)) {
    why('VM_IO or VM_PFNMAP mapping: -EFAULT');
    return -EFAULT;
  }
  if (gup_flags & FOLL_ANON && !vma_anon) {
    why('FOLL_ANON on a non-anonymous VMA: -EFAULT');
    return -EFAULT;
  }
  // (FOLL_LONGTERM on an fsdax VMA -> -EOPNOTSUPP: no modelled backing is DAX.)
  if (vma_is_secretmem(vma)) {
    why('secretmem VMA (memfd_secret): never pinned, -EFAULT');
    return -EFAULT;
  }
  if (write) {
    const allowed = c.rev.fns.writable_file_mapping_allowed;
    if (!vma_anon && allowed && !allowed(vma, gup_flags)) {
      why(`FOLL_WRITE to a non-anonymous VMA and writable_file_mapping_allowed() is false: ${dirtyTrackingReason(vma, gup_flags)}: -EFAULT`);
      return -EFAULT;
    }
    if (!(vm_flags & VM_WRITE)) {
      if (!(gup_flags & FOLL_FORCE)) {
        why('FOLL_WRITE on a VMA without VM_WRITE (PROT_READ) and no FOLL_FORCE: -EFAULT');
        return -EFAULT;
      }
      if (hugetlbNoForce && is_vm_hugetlb_page(vma)) {
        why('FOLL_FORCE|FOLL_WRITE on a read-only hugetlb VMA ("hugetlb does not support FOLL_FORCE|FOLL_WRITE"): -EFAULT');
        return -EFAULT;
      }
      if (!is_cow_mapping(vm_flags)) {
        why('FOLL_FORCE|FOLL_WRITE on a shared (non-COW) read-only VMA: -EFAULT');
        return -EFAULT;
      }
    }
  } else if (!(vm_flags & VM_READ)) {
    if (!(gup_flags & FOLL_FORCE)) {
      why('read from a VMA without VM_READ and no FOLL_FORCE: -EFAULT');
      return -EFAULT;
    }
    if (!(vm_flags & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/** Why a VMA counts as needing dirty tracking, in words (for the `pin` explanation). */
function dirtyTrackingReason(vma: Vma, gup_flags: number): string {
  const parts: string[] = [];
  if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) !== (FOLL_PIN | FOLL_LONGTERM)) {
    parts.push('the pin is not FOLL_LONGTERM, yet the FOLL_PIN|FOLL_LONGTERM test refuses it (v7 2/3: "either/or")');
  } else parts.push('FOLL_PIN|FOLL_LONGTERM');
  const shared = (vma.vm_flags & VM_SHARED) !== 0;
  const writable = (vma.vm_flags & VM_WRITE) !== 0;
  parts.push(
    shared && writable
      ? 'MAP_SHARED and writable'
      : `${shared ? 'MAP_SHARED but read-only' : 'MAP_PRIVATE'}, yet vma_needs_dirty_tracking() says yes (v7 1/3 lacks the shared-writable test)`,
  );
  const ops = vma.vm_ops;
  if (ops?.page_mkwrite) parts.push(`${ops.name} has ->page_mkwrite`);
  else if (vma.vm_file?.f_mapping.fs.can_writeback) parts.push(`${vma.vm_file.f_mapping.fs.name} can write back`);
  return parts.join('; ');
}

/** can_follow_write_pte() (6.5, §3.3). */
function* can_follow_write_pte(c: Ctx, pte: pte_t, page: Page | null, vma: Vma, flags: number): Step<boolean> {
  if (pte_write(pte)) return true;
  if (!(flags & FOLL_FORCE)) return false;
  if (vma.vm_flags & (VM_MAYSHARE | VM_SHARED)) return false;
  if (!(vma.vm_flags & VM_MAYWRITE)) return false;
  if (vma.vm_flags & VM_WRITE) return false;
  if (!page) return false;
  const folio = yield* page_folio(c, page);
  if (!(yield* folio_test_anon(c, folio))) return false;
  return yield* PageAnonExclusive(c, page);
}

type Follow = { page: Page } | { err: number } | null;

/** follow_page_pte() (6.5): under the PTL. null = fault needed; {err: -EMLINK} = unshare fault. */
function* follow_page_pte(c: Ctx, vma: Vma, addr: number, ptable: PageTable, flags: number): Step<Follow> {
  yield* spin_lock(c, ptable.ptl, S_follow_lock);
  const r = yield* follow_page_pte_locked(c, vma, addr, ptable, flags);
  // out: pte_unmap_unlock(ptep, ptl)
  yield* spin_unlock(c, ptable.ptl, S_follow_unlock);
  return r;
}

/** The body of follow_page_pte() between pte_offset_map_lock() and its `out:` label. */
function* follow_page_pte_locked(c: Ctx, vma: Vma, addr: number, ptable: PageTable, flags: number): Step<Follow> {
  const pte = yield* ptep_get(c, ptable, addr, S_follow_pte);
  if (pte === null) return { err: -EFAULT };
  if (!pte_present(pte)) return null;
  // gup_can_follow_protnone(): only FOLL_HONOR_NUMA_FAULT makes a PROT_NONE PTE fault.
  if (pte_protnone(pte) && flags & FOLL_HONOR_NUMA_FAULT) return null;
  let page = vm_normal_page(c, vma, pte);
  if (flags & FOLL_WRITE && !(yield* can_follow_write_pte(c, pte, page, vma, flags))) {
    c.why?.('follow_page_pte', 'PTE not writable: take a write fault first (CoW or ->page_mkwrite)');
    return null;
  }
  if (!page) {
    if (pte_pfn(pte) === c.k.zeroPfn) page = c.k.page(c.k.zeroPfn);
    else return { err: flags & FOLL_GET ? -EFAULT : -EEXIST };
  }
  if (!pte_write(pte) && (yield* gup_must_unshare(c, vma, flags, page))) {
    c.why?.('follow_page_pte', 'gup_must_unshare(): R/O pin of a page not exclusive to this COW mapping (page cache, or anon shared with a fork): unshare fault');
    return { err: -EMLINK };
  }
  const ret = yield* try_grab_page(c, page, flags);
  if (ret) return { err: ret };
  if (flags & FOLL_TOUCH) {
    if (flags & FOLL_WRITE && !pte_dirty(pte)) {
      const folio = yield* page_folio(c, page);
      if (!(yield* folio_test_dirty(c, folio))) yield* set_page_dirty_lock(c, folio, false);
    }
    yield* folio_set_referenced(c, yield* page_folio(c, page));
  }
  return { page };
}

/**
 * follow_page_mask() (6.5): walk to the leaf. A THP PMD leaf is followed like
 * follow_trans_huge_pmd() (the subpage, one reference). Returns the page with a reference, an
 * error, or null (fault needed).
 */
function* follow_page_mask(c: Ctx, vma: Vma, addr: number, flags: number): Step<Follow> {
  const mm = vma.vm_mm;
  const walk = yield* walk_alloc(c, mm, addr, false, 'pmd');
  if (!walk || !walk.pmd) return null;
  const pmd = yield* read_entry(c, walk.pmd, addr, S_follow_pmd);
  if (pmd === null) return { err: -EFAULT };
  if (!pte_present(pmd)) return null;
  if (pte_huge(pmd)) {
    // follow_trans_huge_pmd(): same checks as a PTE, on the PMD.
    if (flags & FOLL_WRITE && !pte_write(pmd)) return null;
    const page = c.k.page(pte_pfn(pmd) + Math.floor((addr % PMD_SIZE) / PAGE_SIZE));
    if (!pte_write(pmd) && (yield* gup_must_unshare(c, vma, flags, page))) return { err: -EMLINK };
    const ret = yield* try_grab_page(c, page, flags);
    return ret ? { err: ret } : { page };
  }
  const ptable = table_of(c, pmd, PTE_LEVEL);
  if (!ptable) return null;
  return yield* follow_page_pte(c, vma, addr, ptable, flags);
}

const FAULT_FLAG_WRITE = 0x1;
const FAULT_FLAG_UNSHARE = 0x400;
export { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE };

/** faultin_page() (6.5): map FOLL_* to fault flags and fault. 0 = retry the lookup. */
function* faultin_page(c: Ctx, vma: Vma, addr: number, flags: number, unshare: boolean): Step<number> {
  if (flags & FOLL_NOFAULT) {
    c.why?.('faultin_page', 'FOLL_NOFAULT and the page is not present: -EFAULT');
    return -EFAULT;
  }
  let fault_flags = 0;
  if (flags & FOLL_WRITE) fault_flags |= FAULT_FLAG_WRITE;
  if (unshare) fault_flags |= FAULT_FLAG_UNSHARE;
  const ret = yield* handle_mm_fault(c, vma, addr, fault_flags);
  if (ret & VM_FAULT_ERROR) {
    const err = vm_fault_to_errno(ret, flags);
    c.why?.('faultin_page', `handle_mm_fault() failed: ${errnoName(err)}`);
    return err;
  }
  return 0;
}

/**
 * __get_user_pages() (6.5): per VMA check_vma_flags(), hugetlb VMAs via follow_hugetlb_page(),
 * else follow_page_mask() and fault until each page is found. Returns i ? i : ret.
 */
export function* __get_user_pages(c: Ctx, mm: MmStruct, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  if (!nr_pages) return 0;
  let i = 0;
  let ret = 0;
  let vma: Vma | undefined;
  let addr = start;
  let left = nr_pages;
  const foll_flags = gup_flags;
  out: do {
    if (!vma || addr >= vma.vm_end) {
      vma = mm.find_vma(addr);
      if (!vma) {
        c.why?.('__get_user_pages', `no VMA at 0x${addr.toString(16)}: -EFAULT`);
        ret = -EFAULT;
        break out;
      }
      ret = yield* c.rev.fns.check_vma_flags(c, vma, gup_flags);
      if (ret) break out;
      if (is_vm_hugetlb_page(vma)) {
        const n = yield* c.rev.fns.follow_hugetlb_page(c, vma, addr, left, foll_flags, pages);
        if (n < 0) {
          ret = n;
          break out;
        }
        i += n;
        addr += n * PAGE_SIZE;
        left -= n;
        continue;
      }
    }
    for (;;) {
      const f = yield* follow_page_mask(c, vma, addr, foll_flags);
      if (f === null || ('err' in f && f.err === -EMLINK)) {
        const r = yield* faultin_page(c, vma, addr, foll_flags, f !== null);
        if (r === 0) continue;
        ret = r;
        break out;
      }
      if ('err' in f) {
        ret = f.err === -EEXIST ? -EEXIST : f.err;
        break out;
      }
      pages.push(f.page.pfn);
      break;
    }
    i++;
    addr += PAGE_SIZE;
    left--;
  } while (left);
  return i ? i : ret;
}

/** __get_user_pages_locked() (6.5): take mmap_lock if the caller does not hold it; no retries (see header). */
function* __get_user_pages_locked(c: Ctx, mm: MmStruct, start: number, nr_pages: number, pages: number[], locked: boolean, flags: number): Step<number> {
  const S_lock = site('__get_user_pages_locked', 'mmap_read_lock()');
  if (!locked) yield* down_read(c, mm.mmap_lock, S_lock);
  if (flags & FOLL_PIN) yield* mm_set_has_pinned_flag(c, mm);
  const ret = yield* __get_user_pages(c, mm, start, nr_pages, flags, pages);
  if (!locked) yield* up_read(c, mm.mmap_lock, S_lock);
  return ret;
}

/**
 * __gup_longterm_locked() (6.5, §3.4): for FOLL_LONGTERM, pin, then migrate folios that
 * must not be pinned long-term (CMA / ZONE_MOVABLE) and pin again.
 */
export function* __gup_longterm_locked(c: Ctx, mm: MmStruct, start: number, nr_pages: number, pages: number[], locked: boolean, flags: number): Step<number> {
  if (!(flags & FOLL_LONGTERM)) return yield* __get_user_pages_locked(c, mm, start, nr_pages, pages, locked, flags);
  const saved = c.memallocPin; // memalloc_pin_save(): faults now allocate outside CMA / ZONE_MOVABLE
  c.memallocPin = true;
  const r = yield* __gup_longterm_migrate(c, mm, start, nr_pages, pages, locked, flags);
  c.memallocPin = saved; // memalloc_pin_restore()
  return r;
}

/**
 * __gup_longterm_locked()'s loop under memalloc_pin_save() (6.12.118 mm/gup.c:2560): pin,
 * migrate what may not stay pinned, pin again, `while (rc == -EAGAIN)` with no bound (a run
 * that loops too long is caught by --max-steps).
 */
function* __gup_longterm_migrate(c: Ctx, mm: MmStruct, start: number, nr_pages: number, pages: number[], locked: boolean, flags: number): Step<number> {
  for (;;) {
    const first = pages.length;
    const nr = yield* __get_user_pages_locked(c, mm, start, nr_pages, pages, locked, flags);
    if (nr <= 0) return nr;
    const rc = yield* check_and_migrate_movable_pages(c, pages.slice(first, first + nr), flags);
    if (rc === -EAGAIN) {
      pages.length = first;
      continue;
    }
    if (rc) {
      pages.length = first;
      return rc;
    }
    return nr;
  }
}

// ===== argument checks and the APIs (§1.1, §1.3) =====

/** is_valid_gup_args() (6.5/6.6; FOLL_TOUCH rejected from 6.7): the flags to use, or null. */
export function is_valid_gup_args(c: Ctx, pages: boolean, locked: boolean, gup_flags: number, to_set: number): number | null {
  const internal = FOLL_PIN | FOLL_TRIED | FOLL_UNLOCKABLE | FOLL_REMOTE | FOLL_FAST_ONLY | (c.rev.internalFlagsIncludeTouch ? FOLL_TOUCH : 0);
  const why = (m: string) => c.why?.('is_valid_gup_args', m);
  if (WARN_ON_ONCE(c, (gup_flags & internal) !== 0, `is_valid_gup_args(): caller passed internal flag(s) ${follNames(gup_flags & internal)}`)) {
    why(`internal flag(s) ${follNames(gup_flags & internal)} passed by the caller`);
    return null;
  }
  let f = gup_flags | to_set;
  if (locked) f |= FOLL_UNLOCKABLE;
  if (WARN_ON_ONCE(c, (f & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET), 'FOLL_PIN and FOLL_GET both set')) {
    why('FOLL_PIN and FOLL_GET are mutually exclusive');
    return null;
  }
  if (WARN_ON_ONCE(c, (f & FOLL_LONGTERM) !== 0 && !(f & FOLL_PIN), 'FOLL_LONGTERM without FOLL_PIN')) {
    why('FOLL_LONGTERM requires FOLL_PIN (use pin_user_pages*, not get_user_pages*)');
    return null;
  }
  if (WARN_ON_ONCE(c, (f & (FOLL_GET | FOLL_PIN)) !== 0 && !pages, 'FOLL_GET/FOLL_PIN without a pages array')) {
    why('FOLL_GET/FOLL_PIN need a pages array');
    return null;
  }
  if (WARN_ON_ONCE(c, (f & FOLL_LONGTERM) !== 0 && (f & FOLL_PCI_P2PDMA) !== 0, 'FOLL_LONGTERM with FOLL_PCI_P2PDMA')) {
    why('FOLL_LONGTERM with FOLL_PCI_P2PDMA is refused');
    return null;
  }
  return f;
}

/**
 * 6.1's own checks in pin_user_pages_fast() (mm/gup.c 6.1.20:3159; 6.1.192:3187), pin_user_pages()
 * (:3270; :3304) and pin_user_pages_unlocked() (:3329): `WARN_ON_ONCE(gup_flags & FOLL_GET)` and
 * `WARN_ON_ONCE(!pages)` give -EINVAL; nothing else is refused (a caller's FOLL_PIN or
 * FOLL_FAST_ONLY is taken). The model's callers always pass a pages array. The flags, or null.
 */
function pin_args_61(c: Ctx, gup_flags: number): number | null {
  if (WARN_ON_ONCE(c, (gup_flags & FOLL_GET) !== 0, 'pin_user_pages*(): FOLL_GET and FOLL_PIN are mutually exclusive')) {
    c.why?.('pin_user_pages', 'FOLL_GET passed to a pin_user_pages*() call (6.1 checks it itself, no is_valid_gup_args()): -EINVAL');
    return null;
  }
  return gup_flags | FOLL_PIN;
}

/** Run an API call's GUP and account for the pages it returns (which the caller now holds). */
function* hand_out(c: Ctx, pages: number[], flags: number, gup: Step<number>): Step<number> {
  const first = pages.length;
  const ret = yield* gup;
  if (ret > 0) yield* handed_out(c, pages.slice(first, first + ret), flags);
  return ret;
}

/** Results of the API calls a caller now holds (ghost: for the refcount audit and findings). */
function* handed_out(c: Ctx, pfns: readonly number[], flags: number): Step<void> {
  for (let i = 0; i < pfns.length; ) {
    const pfn = pfns[i]!;
    if (pfn === c.k.zeroPfn && flags & FOLL_PIN) {
      i++;
      continue;
    }
    const existing = c.k.pages.get(pfn);
    const head = existing ? (existing.compound_head.v === 0 ? pfn : existing.compound_head.v - 1) : (c.k.compoundHeadOf(pfn) ?? pfn);
    const folio = c.k.page(head);
    const run = folioRun(c, pfns, i, folio);
    i += run;
    if (flags & FOLL_PIN) folio.ghost.pins += run;
    else folio.ghost.gets += run;
    if ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) === (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE) && needsDirtyTracking(c, folio)) {
      c.w.report(
        'longterm-write-pin-on-dirty-tracked-file',
        `FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE pin succeeded on ${folio.name}, a page-cache folio of ${folio.ghost.ownerDesc} (dirty-tracked, has ->page_mkwrite)`,
        false,
      );
    }
  }
  yield* noop();
}

function* noop(): Step<void> {}

/** The folio is page cache of a filesystem that needs dirty tracking (->page_mkwrite or writeback). */
export function needsDirtyTracking(c: Ctx, folio: Folio): boolean {
  if (folio.ghost.owner !== 'pagecache') return false;
  const o = c.k.kobjs.get(folio.mapping.v);
  if (!o || o.kind !== 'address_space') return false;
  const fs = (o as AddressSpace).fs;
  return fs.vm_ops.page_mkwrite || fs.can_writeback;
}

/** pin_user_pages() (6.5): caller holds mmap_lock; bad arguments return 0 (6.1: -EINVAL, pin_args_61()). */
export function* pin_user_pages(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  const f = c.rev.isValidGupArgs ? is_valid_gup_args(c, true, false, gup_flags, FOLL_PIN) : pin_args_61(c, gup_flags);
  if (f === null) return c.rev.isValidGupArgs ? 0 : -EINVAL;
  return yield* hand_out(c, pages, f, __gup_longterm_locked(c, c.mm!, start, nr_pages, pages, true, f));
}

/**
 * pin_user_pages_unlocked(): GUP takes mmap_lock itself; FOLL_TOUCH set. 6.1 goes through
 * get_user_pages_unlocked() (6.1.20:3292), which refuses FOLL_LONGTERM with a WARN and -EINVAL
 * ("FOLL_LONGTERM behavior is incompatible with FAULT_FLAG_ALLOW_RETRY").
 */
export function* pin_user_pages_unlocked(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  if (!c.rev.isValidGupArgs) {
    const f = pin_args_61(c, gup_flags);
    if (f === null) return -EINVAL;
    if (WARN_ON_ONCE(c, (f & FOLL_LONGTERM) !== 0, 'get_user_pages_unlocked(): FOLL_LONGTERM')) {
      c.why?.('get_user_pages_unlocked', 'FOLL_LONGTERM is refused by get_user_pages_unlocked() on 6.1: -EINVAL');
      return -EINVAL;
    }
    return yield* hand_out(c, pages, f | FOLL_TOUCH, __gup_longterm_locked(c, c.mm!, start, nr_pages, pages, false, f | FOLL_TOUCH));
  }
  const f = is_valid_gup_args(c, true, true, gup_flags, FOLL_PIN | FOLL_TOUCH);
  if (f === null) return 0;
  return yield* hand_out(c, pages, f, __gup_longterm_locked(c, c.mm!, start, nr_pages, pages, false, f));
}

/** pin_user_pages_fast() (6.5): -EINVAL on bad arguments (0 in 6.3/6.4, v7's base; 6.1: -EINVAL, pin_args_61()). */
export function* pin_user_pages_fast(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  const f = c.rev.isValidGupArgs ? is_valid_gup_args(c, true, false, gup_flags, FOLL_PIN) : pin_args_61(c, gup_flags);
  if (f === null) return c.rev.pinFastEinval || !c.rev.isValidGupArgs ? -EINVAL : 0;
  return yield* hand_out(c, pages, f, internal_get_user_pages_fast(c, start, nr_pages, f, pages));
}

/**
 * GUP-fast alone for a pin: FOLL_PIN|FOLL_FAST_ONLY, no slow path; 0 if GUP-fast pins nothing.
 * This is pin_user_pages_fast_only() of 5.8 (mm/gup.c: "the FOLL_PIN equivalent of
 * get_user_pages_fast_only()"), which the revisions modelled here no longer offer: "there are no
 * APIs allowing users to specify FOLL_FAST_ONLY for a PUP-fast" (Lorenzo Stoakes, v7 3/3, May
 * 2023). So no caller of these revisions can make this call; the scenario op's `fast_only: true`
 * uses it to check GUP-fast on its own, as abstract models of GUP-fast do (bench/spin-*.yaml,
 * bench/spin/gup-fast.pml).
 */
export function* pin_user_pages_fast_only(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  const f = is_valid_gup_args(c, true, false, gup_flags, FOLL_PIN);
  if (f === null) return 0;
  const nr = yield* hand_out(c, pages, f, internal_get_user_pages_fast(c, start, nr_pages, f | FOLL_FAST_ONLY, pages));
  return nr < 0 ? 0 : nr;
}

/** get_user_pages_fast(): FOLL_GET. */
export function* get_user_pages_fast(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  const f = is_valid_gup_args(c, true, false, gup_flags, FOLL_GET);
  if (f === null) return -EINVAL;
  return yield* hand_out(c, pages, f, internal_get_user_pages_fast(c, start, nr_pages, f, pages));
}

/** get_user_pages() (6.5): caller holds mmap_lock; FOLL_TOUCH (+FOLL_GET). */
export function* get_user_pages(c: Ctx, start: number, nr_pages: number, gup_flags: number, pages: number[]): Step<number> {
  const f = is_valid_gup_args(c, true, false, gup_flags, FOLL_TOUCH | FOLL_GET);
  if (f === null) return -EINVAL;
  return yield* hand_out(c, pages, f, __gup_longterm_locked(c, c.mm!, start, nr_pages, pages, true, f));
}

// ===== release (§1.1, §2.4) =====

const S_dirty_lock = site('unpin_user_pages_dirty_lock', 'folio_lock(); folio_mark_dirty(); folio_unlock()');

/** unpin_user_pages(): group by folio (gup_folio_next), gup_put_folio() once per group. */
export function* unpin_user_pages(c: Ctx, pfns: readonly number[]): Step<void> {
  yield* unpin_groups(c, pfns, false);
}

/** unpin_user_pages_dirty_lock(pages, n, make_dirty): dirty each not-yet-dirty folio first. */
export function* unpin_user_pages_dirty_lock(c: Ctx, pfns: readonly number[], make_dirty: boolean): Step<void> {
  yield* unpin_groups(c, pfns, make_dirty);
}

function* unpin_groups(c: Ctx, pfns: readonly number[], make_dirty: boolean): Step<void> {
  let i = 0;
  while (i < pfns.length) {
    const folio = yield* page_folio_pfn(c, pfns[i]!);
    let nr = folioRun(c, pfns, i, folio);
    while (i + nr < pfns.length && (yield* page_folio_pfn(c, pfns[i + nr]!)) === folio) nr++;
    if (make_dirty && !(yield* folio_test_dirty(c, folio))) {
      // "Racing with clear_page_dirty_for_io() is OK" (the kernel comment): the fs is not asked.
      c.note?.(`${S_dirty_lock.fn}: ${folio.name} marked dirty without ->page_mkwrite`);
      yield* set_page_dirty_lock(c, folio, true);
    }
    if (!is_zero_page(c, folio)) {
      folio.ghost.pins = Math.max(0, folio.ghost.pins - nr);
      yield* c.rev.fns.unpin_folio(c, folio, nr);
    } else if (c.rev.pinsZeroPage) {
      yield* c.rev.fns.unpin_folio(c, folio, nr); // 6.1: the zero page's pins are dropped like any others
    }
    i += nr;
  }
}

/**
 * gup_put_folio(folio, nr, FOLL_PIN) as unpin_user_pages() makes it (6.11 calls the one-page
 * form unpin_folio()). A pinned folio cannot be split, so PG_head is read without a scheduling
 * point.
 */
export function* unpin_folio(c: Ctx, folio: Folio, nr: number): Step<void> {
  if (folio.PG_head.v) yield* gup_put_folio(c, folio, nr, FOLL_PIN);
  else yield* folio_put_refs(c, folio, nr * GUP_PIN_COUNTING_BIAS);
}

/** put_page() for FOLL_GET callers. */
export function* put_user_pages(c: Ctx, pfns: readonly number[]): Step<void> {
  for (const pfn of pfns) {
    const folio = yield* page_folio_pfn(c, pfn);
    folio.ghost.gets = Math.max(0, folio.ghost.gets - 1);
    yield* folio_put_refs(c, folio, 1);
  }
}

// re-export for revisions
export { ENOMEM, EOPNOTSUPP, folio_put_refs, folio_test_set_dirty };
