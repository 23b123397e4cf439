/**
 * What compiled C (compile.ts) calls at run time: the model's primitives and kernel functions,
 * and C's integer operators on JavaScript numbers. Every shared access goes through a model
 * primitive with the C line's site, so a patched function's accesses are the same scheduling
 * points the TypeScript model has (src/sim/cell.ts).
 *
 * C integers are JavaScript numbers (the model's words fit in 53 bits). Bit operators take the
 * 32-bit fast path when both operands fit, else compute on 64-bit unsigned BigInts, as C's
 * unsigned long does.
 */
import { atomic_add, atomic_add_unless, atomic_sub_and_test, xchg } from '../../sim/atomic.ts';
import { announce, READ_ONCE, WRITE_ONCE } from '../../sim/cell.ts';
import { READ, type Site, type Step } from '../../sim/op.ts';
import { irqs_disabled } from '../../sim/sync.ts';
import { checkRecord, pin_folio_refs, unwatch, watch } from '../../kernel/gup.ts';
import type { PteWatcher } from '../../kernel/kernel.ts';
import { read_entry, table_of } from '../../kernel/pgtable-generic.ts';
import {
  type PageTable,
  type pte_t,
  PGD_LEVEL,
  PMD_LEVEL,
  pte_access_permitted,
  pte_devmap,
  pte_dirty,
  pte_none,
  pte_pfn,
  pte_present,
  pte_protnone,
  pte_special,
  pte_write,
  PTE_LEVEL,
  PUD_LEVEL,
} from '../../kernel/pgtable.ts';
import { PAGE_SIZE, PGDIR_SIZE, PMD_SIZE, PUD_SIZE } from '../../kernel/types.ts';
import { folio_is_longterm_pinnable, gup_must_unshare, gup_put_folio } from '../../kernel/internal.ts';
import { type Ctx, lockdep_assert_irqs_disabled, VM_BUG_ON, WARN_ON_ONCE } from '../../kernel/kernel.ts';
import type { AOps, Folio, Page } from '../../kernel/mm_types.ts';
import {
  atomic_add_pincount,
  folio_put_refs,
  folio_set_referenced,
  folio_ref_add,
  folio_ref_count,
  folio_ref_try_add_rcu,
  folio_test_anon,
  folio_test_dirty,
  folio_test_hugetlb,
  folio_test_ksm,
  folio_test_large,
  folio_test_slab,
  folio_test_swapcache,
  is_zero_page,
  page_folio,
  PageLRU,
} from '../../kernel/page_ref.ts';
import { deref_a_ops, secretmem_mapping, shmem_mapping } from '../../kernel/util.ts';
import type { Cell } from '../../sim/cell.ts';

const FAST = 0x80000000;
const big = (x: number) => BigInt.asUintN(64, BigInt(Math.trunc(x)));
const num = (x: bigint) => Number(BigInt.asUintN(64, x));

/** A sentinel a_ops no address_space has (for `&name_aops` of a kind that was never created). */
const NO_AOPS = { name: '(none)' };

/**
 * A pointer to a page-table entry (`pte_t *ptep`, `pmd_t *pmdp`): the table page and an address
 * the entry maps. `ptep++` is the next entry; `*ptep` and ptep_get_lockless(ptep) read the entry's
 * cell, a scheduling point, as the TypeScript model's read_entry() does.
 */
export class EntryPtr {
  constructor(
    readonly t: PageTable,
    readonly a: number,
  ) {}
}

/** `struct page **pages`: the caller's array (the model keeps pfns) and an offset into it. */
export class PagesPtr {
  constructor(
    readonly arr: number[],
    readonly off: number,
  ) {}
}

/** `int *nr`: the count GUP-fast threads through the walk. Private to the CPU walking: not shared memory. */
export class IntBox {
  constructor(public v: number) {}
}

const SPAN: Record<number, number> = { [PTE_LEVEL]: PAGE_SIZE, [PMD_LEVEL]: PMD_SIZE, [PUD_LEVEL]: PUD_SIZE, [PGD_LEVEL]: PGDIR_SIZE };

/** A grab the walk holds and has not yet recorded or dropped (ghost state, as in gup.ts's gup_pte_range). */
interface Held {
  readonly w: PteWatcher;
  readonly folio: Folio;
  readonly addr: number;
}

/**
 * The ghost bookkeeping of one call of a patched PTE walk (gup_pte_range() / gup_fast_pte_range()),
 * the same the TypeScript walk does in src/kernel/gup.ts: when a grab succeeds, watch whether the
 * PTE last read maps the page while the reference is held; when the walk drops the reference,
 * stop watching; when it stores the page in pages[], check the record (pin-on-reused-page). None
 * of it is a memory access.
 */
export class WalkFrame {
  /** The PTE the walk read last (what a grab that follows is watched against). */
  ptep: EntryPtr | undefined = undefined;
  readonly held: Held[] = [];
}

export const rt = {
  load: READ_ONCE,
  store: WRITE_ONCE,
  deref: deref_a_ops,
  atomic_add,
  atomic_add_unless,
  atomic_sub_and_test,
  xchg,
  /** C's == on values of mixed kinds: pointers by identity (entry and array pointers by what they point at), integers and bools by value. */
  ceq(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (a instanceof EntryPtr && b instanceof EntryPtr) return a.t === b.t && a.a === b.a;
    if (a instanceof PagesPtr && b instanceof PagesPtr) return a.arr === b.arr && a.off === b.off;
    if (typeof a === 'object' || typeof b === 'object') return (a === null || a === undefined || a === 0) && (b === null || b === undefined || b === 0);
    return Number(a) === Number(b);
  },
  /** Pointer arithmetic: `p + n` on an entry pointer (n entries on), on pages (n slots on), or on an integer. */
  padd(p: unknown, n: number): unknown {
    if (p instanceof EntryPtr) return new EntryPtr(p.t, p.a + n * SPAN[p.t.level]!);
    if (p instanceof PagesPtr) return new PagesPtr(p.arr, p.off + n);
    return (p as number) + n;
  },
  /** pte_offset_map(&pmd, addr): the PTE table the PMD value points to, or NULL (not a table: the walk bails). */
  pte_offset_map(c: Ctx, pmd: pte_t, addr: number): EntryPtr | 0 {
    const t = table_of(c, pmd, PTE_LEVEL);
    return t ? new EntryPtr(t, addr) : 0;
  },
  /**
   * Read the entry a pointer points at (`*ptep`, ptep_get_lockless(ptep), pmdp_get_lockless(pmdp),
   * READ_ONCE(*pmdp)): one load, a scheduling point. A read of a freed table page is the model's
   * pt-use-after-free (this CPU stops; the value it sees afterwards is never used).
   */
  *entry(c: Ctx, g: WalkFrame | null, p: EntryPtr | 0, s: Site): Step<pte_t> {
    if (!p) {
      yield announce(c, 0, READ, s);
      c.w.report('null-deref', `${s.fn}(): NULL pointer dereference reading a page-table entry`, true);
      return 0;
    }
    if (g && p.t.level === PTE_LEVEL) g.ptep = p;
    return (yield* read_entry(c, p.t, p.a, s)) ?? 0;
  },
  /** pages[i]: the struct page stored there. */
  pget(c: Ctx, p: PagesPtr, i: number): Page {
    const pfn = p.arr[p.off + i];
    if (pfn === undefined) throw new Error(`[gupcheck internal bug] a patch read pages[${i}] before storing it`);
    return c.k.page(pfn);
  },
  /** pages[i] = page: store the page (its pfn: the model's page arrays hold pfns); in a walk, check the record (a step: kernel/gup.ts checkRecord()). */
  *pstore(c: Ctx, g: WalkFrame | null, p: PagesPtr, i: number, page: Page): Step<Page> {
    if (g) {
      const h = g.held.pop();
      if (h) yield* checkRecord(c, h.w, page, h.folio, h.addr);
    }
    p.arr[p.off + i] = page.pfn;
    return page;
  },
  /** The walk's ghost frame (one per call). */
  walk(): WalkFrame {
    return new WalkFrame();
  },
  /** A grab in the walk returned `folio` for `page`: watch the PTE last read while the reference is held (a step: kernel/gup.ts watch()). */
  *grabbed(c: Ctx, g: WalkFrame, page: Page, folio: Folio | null): Step<Folio | null> {
    if (folio && g.ptep) g.held.push({ w: yield* watch(c, g.ptep.t, g.ptep.a, page.pfn), folio, addr: g.ptep.a });
    return folio;
  },
  /** The walk drops its reference on `folio` (gup_put_folio() and friends): stop watching. */
  released<T>(c: Ctx, g: WalkFrame, folio: T): T {
    const i = g.held.findIndex((h) => h.folio === (folio as unknown));
    if (i >= 0) {
      unwatch(c, g.held[i]!.w);
      g.held.splice(i, 1);
    }
    return folio;
  },
  /** The walk returns: nothing is watched any more. */
  walkExit(c: Ctx, g: WalkFrame): void {
    for (const h of g.held) unwatch(c, h.w);
    g.held.length = 0;
  },
  /**
   * undo_dev_pagemap(nr, nr_start, flags, pages) (6.10+: gup_fast_undo_dev_pagemap()): drop the
   * pages recorded since nr_start. The model has no devmap PTEs, so a walk never gets here.
   */
  *undo_dev_pagemap(c: Ctx, nr: IntBox, start: number, flags: number, pages: PagesPtr): Step<void> {
    while (nr.v > start) {
      nr.v--;
      const page = c.k.page(pages.arr[pages.off + nr.v]!);
      yield* gup_put_folio(c, yield* page_folio(c, page), 1, flags);
    }
  },
  pte: { pte_access_permitted, pte_devmap, pte_dirty, pte_none, pte_pfn, pte_present, pte_protnone, pte_special, pte_write },
  band(a: number, b: number): number {
    return a >= 0 && a < FAST && b >= 0 && b < FAST ? a & b : num(big(a) & big(b));
  },
  bor(a: number, b: number): number {
    return a >= 0 && a < FAST && b >= 0 && b < FAST ? a | b : num(big(a) | big(b));
  },
  bxor(a: number, b: number): number {
    return a >= 0 && a < FAST && b >= 0 && b < FAST ? a ^ b : num(big(a) ^ big(b));
  },
  /** ~x as a 64-bit unsigned long; kept as the negative number -x-1 while it is only and-ed (band takes it to BigInts). */
  bnot(a: number): number {
    return -Math.trunc(a) - 1;
  },
  shl(a: number, b: number): number {
    return num(big(a) << BigInt(b));
  },
  shr(a: number, b: number): number {
    return num(big(a) >> BigInt(b));
  },
  div(a: number, b: number): number {
    return Math.trunc(a / b);
  },
  /** A C truth value as a JavaScript boolean (bool-returning functions). */
  bool(v: unknown): boolean {
    return !!v;
  },
  /** `&shmem_aops` / `&secretmem_aops`: the a_ops object of that name. */
  aops(c: Ctx, name: string): AOps | typeof NO_AOPS {
    if (name === 'shmem_aops') return c.k.shmemAops;
    for (const m of c.k.mappings) if (m.a_ops.name === name) return m.a_ops;
    return NO_AOPS;
  },
  /** shmem_mapping() / secretmem_mapping() as C bools (a dereference that was a finding reads as false; the CPU is stopped anyway). */
  *shmem_mapping(c: Ctx, m: number): Step<boolean> {
    return (yield* shmem_mapping(c, m)) === true;
  },
  *secretmem_mapping(c: Ctx, m: number): Step<boolean> {
    return (yield* secretmem_mapping(c, m)) === true;
  },
  *PageCompound(c: Ctx, page: Page, s1: Site, s2: Site): Step<boolean> {
    if (yield* READ_ONCE(c, page.PG_head, s1)) return true;
    return (yield* READ_ONCE(c, page.compound_head, s2)) !== 0;
  },
  WARN(c: Ctx, cond: unknown, what: string): boolean {
    return WARN_ON_ONCE(c, !!cond, what);
  },
  BUG(c: Ctx, cond: unknown, what: string): boolean {
    return VM_BUG_ON(c, !!cond, what);
  },
  lockdep: lockdep_assert_irqs_disabled,
  irqs_disabled,
  longterm_pinnable: (c: Ctx, f: Folio): boolean => folio_is_longterm_pinnable(c, f),
  is_zero_page: (c: Ctx, p: Page): boolean => is_zero_page(c, p),
  config: (c: Ctx, name: 'CONFIG_SECRETMEM' | 'CONFIG_PROVE_LOCKING' | 'CONFIG_DEBUG_VM'): boolean => c.k.config[name],
  /** A field of struct page / struct folio that is a shared cell, or undefined. */
  cell(obj: unknown, field: string): Cell<unknown> | undefined {
    const v = (obj as Record<string, unknown> | null)?.[field];
    return v && typeof v === 'object' && 'id' in v && 'v' in v ? (v as Cell<unknown>) : undefined;
  },
  fn: {
    page_folio,
    folio_put_refs,
    folio_ref_add,
    folio_ref_count,
    folio_ref_try_add_rcu,
    folio_test_anon,
    folio_test_dirty,
    folio_test_hugetlb,
    folio_test_ksm,
    folio_test_large,
    folio_test_slab,
    folio_test_swapcache,
    PageLRU,
    gup_put_folio,
    gup_must_unshare,
    folio_set_referenced,
    atomic_add_pincount,
    pin_folio_refs,
  },
};

export type Runtime = typeof rt;
