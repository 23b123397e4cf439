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
import { READ_ONCE, WRITE_ONCE } from '../../sim/cell.ts';
import type { Site, Step } from '../../sim/op.ts';
import { irqs_disabled } from '../../sim/sync.ts';
import { pin_folio_refs } from '../../kernel/gup.ts';
import { folio_is_longterm_pinnable, gup_must_unshare, gup_put_folio } from '../../kernel/internal.ts';
import { type Ctx, lockdep_assert_irqs_disabled, VM_BUG_ON, WARN_ON_ONCE } from '../../kernel/kernel.ts';
import type { AOps, Folio, Page } from '../../kernel/mm_types.ts';
import {
  atomic_add_pincount,
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

export const rt = {
  load: READ_ONCE,
  store: WRITE_ONCE,
  deref: deref_a_ops,
  atomic_add,
  atomic_add_unless,
  atomic_sub_and_test,
  xchg,
  /** C's == on values of mixed kinds: pointers by identity, integers and bools by value. */
  ceq(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a === 'object' || typeof b === 'object') return (a === null || a === undefined || a === 0) && (b === null || b === undefined || b === 0);
    return Number(a) === Number(b);
  },
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
    atomic_add_pincount,
    pin_folio_refs,
  },
};

export type Runtime = typeof rt;
