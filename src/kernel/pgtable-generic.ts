/*
 * Page-table accessors as scheduling points (include/linux/pgtable.h, mm/pgtable-generic.c,
 * arch pgtable.h): pgd_offset() .. pte_offset_map(), ptep_get_lockless(), ptep_get(),
 * set_pte_at(), ptep_get_and_clear(), ptep_set_wrprotect(), pmdp_get_lockless(),
 * pmd_populate(), pmd_clear(), and the table allocation of __pte_alloc()/__pmd_alloc().
 *
 * Every entry read also reads the liveness of the page-table page it lives in: reading a
 * table page that was freed is `pt-use-after-free` (the execution stops). That is what
 * GUP-fast's IRQs-off window prevents: the table can only be freed after an IPI every CPU
 * acknowledged (x86 before 6.15) or after an RCU grace period.
 *
 * set_pte_at() also updates the ghost watchers GUP-fast uses to check that a folio it pinned
 * was mapped at the address while it held the reference (pin-on-reused-page).
 *
 * Left out: pte_offset_map()'s failure when a THP collapse swaps the PMD (the model re-reads
 * the PMD value GUP-fast passed in), the 32-bit split-PTE read protocol of
 * ptep_get_lockless() on PAE, arch-specific TLB batching.
 */
import { announce } from '../sim/cell.ts';
import { READ, RMW, type Site, type Step, WRITE, site } from '../sim/op.ts';
import { spin_lock, spin_unlock } from '../sim/sync.ts';
import type { Ctx } from './kernel.ts';
import type { MmStruct } from './mm_types.ts';
import { PGD_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL, type PageTable, type pte_t, pte_huge, pte_pfn, pte_present, tableEntry } from './pgtable.ts';

const S_lockless = site('ptep_get_lockless', 'read PTE');
const S_get = site('ptep_get', 'read PTE');
const S_set = site('set_pte_at', 'write PTE');
const S_clear = site('ptep_get_and_clear', 'read and clear PTE');

/** Read an entry of `table` at addr (a load of *ptep). Returns null on use-after-free of the table. */
export function* read_entry(c: Ctx, table: PageTable, addr: number, s: Site): Step<pte_t | null> {
  const cell = table.entry(addr);
  const op = announce(c, cell.id, READ, s);
  op.obj2 = table.live.id;
  yield op;
  if (!table.live.v) {
    c.w.report(
      'pt-use-after-free',
      `${s.fn}(): read ${table.levelName} entry for 0x${addr.toString(16)} from a page-table page that was already freed`,
      true,
    );
    return null;
  }
  op.after = cell.v;
  return cell.v;
}

export function* ptep_get_lockless(c: Ctx, table: PageTable, addr: number, s: Site = S_lockless): Step<pte_t | null> {
  return yield* read_entry(c, table, addr, s);
}
export function* ptep_get(c: Ctx, table: PageTable, addr: number, s: Site = S_get): Step<pte_t | null> {
  return yield* read_entry(c, table, addr, s);
}

/** Write an entry (set_pte_at / pmd_populate / pmd_clear ...). */
export function* write_entry(c: Ctx, table: PageTable, addr: number, v: pte_t, s: Site): Step<void> {
  const cell = table.entry(addr);
  const op = announce(c, cell.id, WRITE, s);
  op.obj2 = table.live.id;
  yield op;
  op.before = cell.v;
  cell.v = v;
  op.after = v;
  notePte(c, cell.id, v);
}

export function* set_pte_at(c: Ctx, table: PageTable, addr: number, v: pte_t, s: Site = S_set): Step<void> {
  yield* write_entry(c, table, addr, v, s);
}

/** ptep_get_and_clear(): xchg(ptep, 0). */
export function* ptep_get_and_clear(c: Ctx, table: PageTable, addr: number, s: Site = S_clear): Step<pte_t> {
  return yield* update_entry(c, table, addr, none, s);
}
const none = (): pte_t => 0;

/** An atomic update of an entry (ptep_set_wrprotect(), ptep_set_access_flags(), pmdp_invalidate()). */
export function* update_entry(c: Ctx, table: PageTable, addr: number, f: (v: pte_t) => pte_t, s: Site): Step<pte_t> {
  const cell = table.entry(addr);
  const op = announce(c, cell.id, RMW, s);
  op.obj2 = table.live.id;
  yield op;
  const old = cell.v;
  op.before = old;
  cell.v = f(old);
  op.after = cell.v;
  notePte(c, cell.id, cell.v);
  return old;
}

function notePte(c: Ctx, cellId: number, v: pte_t): void {
  const ws = c.k.pteWatchers;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (w.cellId === cellId && pte_present(v) && pte_pfn(v) === w.pfn) w.seen = true;
  }
}

// ===== walking =====

/** The table an entry points to, or undefined if it is not a table pointer. */
export function table_of(c: Ctx, entry: pte_t, level: number): PageTable | undefined {
  if (!pte_present(entry) || (level > PTE_LEVEL && level < PGD_LEVEL && pte_huge(entry))) return undefined;
  const t = c.k.tables.get(pte_pfn(entry));
  return t && t.level === level ? t : undefined;
}

export interface Walk {
  readonly pud: PageTable; // table holding the PUD entry
  readonly pmd: PageTable | undefined; // table holding the PMD entry
  readonly pte: PageTable | undefined; // table holding the PTE
}

const S_walk_pgd = site('pgd_offset', 'READ_ONCE(*pgdp)');
const S_walk_pud = site('pud_offset', 'READ_ONCE(*pudp)');
const S_walk_pmd = site('pmd_offset', 'pmdp_get_lockless(pmdp)');
const S_pud_alloc = site('__pud_alloc', 'pgd_populate()');
const S_pmd_alloc = site('__pmd_alloc', 'pud_populate()');
const S_pte_alloc = site('__pte_alloc', 'pmd_populate()');

/**
 * Walk (and with `alloc`, allocate) the tables down to the level holding addr's PMD and PTE.
 * Used by the slow paths and faults (which hold mmap_lock), not by GUP-fast.
 * Returns null if a table is missing and alloc is false, or on a finding.
 */
export function* walk_alloc(
  c: Ctx,
  mm: MmStruct,
  addr: number,
  alloc: boolean,
  upto: 'pud' | 'pmd' | 'pte',
): Step<{ pud: PageTable; pmd: PageTable | null; pte: PageTable | null } | null> {
  const pud = yield* descend(c, mm, mm.pgd, addr, PUD_LEVEL, alloc, S_walk_pgd, S_pud_alloc);
  if (!pud) return null;
  if (upto === 'pud') return { pud, pmd: null, pte: null };
  const pmd = yield* descend(c, mm, pud, addr, PMD_LEVEL, alloc, S_walk_pud, S_pmd_alloc);
  if (!pmd) return { pud, pmd: null, pte: null };
  if (upto === 'pmd') return { pud, pmd, pte: null };
  const pte = yield* descend(c, mm, pmd, addr, PTE_LEVEL, alloc, S_walk_pmd, S_pte_alloc);
  return { pud, pmd, pte };
}

function* descend(
  c: Ctx,
  mm: MmStruct,
  parent: PageTable,
  addr: number,
  level: number,
  alloc: boolean,
  s: Site,
  sAlloc: Site,
): Step<PageTable | null> {
  const v = yield* read_entry(c, parent, addr, s);
  if (v === null) return null;
  const t = table_of(c, v, level);
  if (t) return t;
  if (v !== 0 || !alloc) return null; // a huge leaf or a non-present entry, or no allocation wanted
  // __pte_alloc() and friends: allocate, then populate under the parent's lock if still none.
  const span = level === PTE_LEVEL ? 2 ** 21 : level === PMD_LEVEL ? 2 ** 30 : 2 ** 39;
  const base = Math.floor(addr / span) * span;
  const nt = c.k.newTable(level, base, mm);
  yield* spin_lock(c, parent.ptl, sAlloc);
  const cur = parent.entry(addr).v;
  if (cur === 0) yield* write_entry(c, parent, addr, tableEntry(nt.tpfn), sAlloc);
  yield* spin_unlock(c, parent.ptl, sAlloc);
  if (cur !== 0) return table_of(c, cur, level) ?? null;
  return nt;
}

/** Ghost/setup helper: find the tables for addr without scheduling (for state dumps, rmap, audits). */
export function lookup(c: { k: Ctx['k'] }, mm: MmStruct, addr: number): { pmd?: PageTable; pte?: PageTable } {
  const k = c.k;
  const pgdE = mm.pgd.entry(addr).v;
  const pud = pte_present(pgdE) ? k.tables.get(pte_pfn(pgdE)) : undefined;
  if (!pud) return {};
  const pudE = pud.entry(addr).v;
  const pmd = pte_present(pudE) && !pte_huge(pudE) ? k.tables.get(pte_pfn(pudE)) : undefined;
  if (!pmd) return {};
  const pmdE = pmd.entry(addr).v;
  const pte = pte_present(pmdE) && !pte_huge(pmdE) ? k.tables.get(pte_pfn(pmdE)) : undefined;
  return pte ? { pmd, pte } : { pmd };
}

export { PGD_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL };
