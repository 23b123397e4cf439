/*
 * Named changes to a revision, each undoing a protection the kernel relies on, so the checker
 * can show it catches the bug that follows (McKenney: test tools with bug-injected code).
 * `gupcheck selftest` runs every mutant against the bundled examples.
 *
 * This is the one place mutants are applied: each replaces some of the revision's functions
 * (kernel/revision.ts RevisionFns), with a mutated copy written out here or a small wrapper. The
 * kernel model itself has no mutant switches.
 *
 * Whether a mutant changes a revision is decided by comparing the function tables, not by a
 * list of revisions: a mutant's replace() builds its functions from the revision's (a wrapper
 * around the revision's try_grab_folio_fast, a variant of its gup_fast_folio_allowed, ...), and
 * where the revision has nothing to mutate it replaces nothing. mutantChanges() then lists the
 * entries whose structure differs (revision.ts fnStructure(): the source text, or for a built
 * function the builder's source and its arguments' structures). A mutant with none changes
 * nothing there and is refused (`check --mutant`, scenario files, replay tokens); `gupcheck
 * selftest` checks every (mutant, revision) it runs this way, and reports which of them also
 * explored something else than the unmutated run on some example.
 */
import { READ_ONCE, load } from '../sim/cell.ts';
import { type Step, site } from '../sim/op.ts';
import { local_irq_restore, local_irq_save, raw_read_seqcount, read_seqcount_retry } from '../sim/sync.ts';
import { gup_pgd_range, sanity_check_pinned_pages, unpin_user_pages_lockless } from './gup.ts';
import { type Ctx, lockdep_assert_irqs_disabled, WARN_ON_ONCE } from './kernel.ts';
import type { Folio, Page } from './mm_types.ts';
import { folio_put_refs, folio_ref_add, folio_ref_try_add_rcu, folio_test_hugetlb, folio_test_slab, page_folio } from './page_ref.ts';
import { builtFrom, fnStructure, type Revision, type RevisionFns } from './revision.ts';
import { REVISIONS } from './revisions/index.ts';
import { anon_flags_allowed, folio_fast_pin_allowed, shmem_allowed } from './revisions/linux-6.5.ts';
import { gupFastFolioAllowedVariant, makeGupFastFolioAllowed } from './revisions/linux-6.10.ts';
import { free_table_now } from './mmu_gather.ts';
import { folio_lock } from './page-writeback.ts';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, PAGE_MAPPING_FLAGS } from './types.ts';
import { gup_put_folio } from './internal.ts';

export interface Mutant {
  readonly name: string;
  /** What it changes, in kernel words. */
  readonly change: string;
  /** What should catch it. */
  readonly expect: string;
  /**
   * Its functions for `rev`'s table, built from `rev`'s (an entry equal to `rev`'s own function
   * changes nothing: see mutantChanges()).
   */
  readonly replace: (rev: Revision) => Partial<RevisionFns>;
}

/** A builder whose functions record what they were built from (revision.ts builtFrom()). */
function builder<A extends readonly unknown[], R extends object>(build: (...a: A) => R): (...a: A) => R {
  return (...a: A): R => builtFrom(build(...a), build, a);
}

// ===== the mutated functions =====

/** check-before-recheck: the file-backed check runs right after the grab, before the re-check (v7's placement). */
const grabThenCheck = builder((grab: RevisionFns['try_grab_folio_fast'], check: NonNullable<RevisionFns['folio_fast_pin_allowed']>): RevisionFns['try_grab_folio_fast'] => {
  return function* try_grab_folio_fast(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null> {
    const folio = yield* grab(c, page, refs, flags);
    if (!folio || (yield* check(c, folio, flags))) return folio;
    c.why?.('gup_pte_range', 'the file-backed check refused the folio (run before the re-check)');
    yield* gup_put_folio(c, folio, refs, flags);
    return null;
  };
});

const S_tgf_count = site('try_get_folio', 'WARN_ON_ONCE(folio_ref_count(folio) < 0)');

/** no-folio-recheck: try_get_folio() without the page_folio(page) == folio re-check. */
function* try_get_folio_no_recheck(c: Ctx, page: Page, refs: number): Step<Folio | null> {
  const folio = yield* page_folio(c, page);
  if (WARN_ON_ONCE(c, (yield* READ_ONCE(c, folio._refcount, S_tgf_count)) < 0, `${folio.name} _refcount < 0 in try_get_folio`)) return null;
  return (yield* folio_ref_try_add_rcu(c, folio, refs)) ? folio : null;
}

/** plain-get: get_page()-style, as if GUP-fast held the page stable. */
function* try_get_folio_plain(c: Ctx, page: Page, refs: number): Step<Folio | null> {
  const folio = yield* page_folio(c, page);
  yield* folio_ref_add(c, folio, refs);
  return folio;
}

const S_mapping_plain = site('folio_fast_pin_allowed', 'load folio->mapping (plain, mutant no-read-once)');
const S_mapping = site('folio_fast_pin_allowed', 'mapping = READ_ONCE(folio->mapping)');
const PIN_LONGTERM_WRITE = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

/**
 * 6.5's folio_fast_pin_allowed() with `mapping` a plain load (no-read-once: the compiler may
 * load it again at each use) or without the NULL test (no-null-check).
 */
const folioFastPinAllowedMutated = builder((plainLoads: boolean, nullCheck: boolean): NonNullable<RevisionFns['folio_fast_pin_allowed']> => {
  return function* folio_fast_pin_allowed(c: Ctx, folio: Folio, flags: number): Step<boolean> {
    if ((flags & PIN_LONGTERM_WRITE) !== PIN_LONGTERM_WRITE) return true;
    if (WARN_ON_ONCE(c, yield* folio_test_slab(c, folio), `folio_fast_pin_allowed(): ${folio.name} is a slab page`)) return false;
    if (yield* folio_test_hugetlb(c, folio)) return true;
    lockdep_assert_irqs_disabled(c, 'folio_fast_pin_allowed');
    const first = plainLoads ? yield* load(c, folio.mapping, S_mapping_plain) : yield* READ_ONCE(c, folio.mapping, S_mapping);
    const use = function* (): Step<number> {
      return plainLoads ? yield* load(c, folio.mapping, S_mapping_plain) : first;
    };
    if (!first && nullCheck) return false;
    const mapping_flags = (yield* use()) & PAGE_MAPPING_FLAGS;
    if (mapping_flags) return anon_flags_allowed(c, folio, mapping_flags);
    return yield* shmem_allowed(c, folio, yield* use());
  };
});

/** no-irq-disable / no-write-protect-seq: lockless_pages_from_mm() without one of its protections. */
const locklessPagesFromMmMutated = builder((irqs: boolean, seqcount: boolean): RevisionFns['lockless_pages_from_mm'] => {
  const S_read = site('lockless_pages_from_mm', 'raw_read_seqcount(&mm->write_protect_seq)');
  const S_retry = site('lockless_pages_from_mm', 'read_seqcount_retry(&mm->write_protect_seq)');
  const S_off = site('lockless_pages_from_mm', 'local_irq_save()');
  const S_on = site('lockless_pages_from_mm', 'local_irq_restore()');
  return function* lockless_pages_from_mm(c: Ctx, start: number, end: number, flags: number, pages: number[]): Step<number> {
    const mm = c.mm!;
    const pin = (flags & FOLL_PIN) !== 0 && seqcount;
    const seq = pin ? yield* raw_read_seqcount(c, mm.write_protect_seq, S_read) : 0;
    if (seq & 1) return 0;
    const first = pages.length;
    const wasOff = irqs ? yield* local_irq_save(c, S_off) : false;
    yield* gup_pgd_range(c, mm, start, end, flags, pages);
    if (irqs) yield* local_irq_restore(c, wasOff, S_on);
    if (pin && (yield* read_seqcount_retry(c, mm.write_protect_seq, seq, S_retry))) {
      yield* unpin_user_pages_lockless(c, pages.splice(first));
      return 0;
    }
    if (pin) yield* sanity_check_pinned_pages(c, pages.slice(first));
    return pages.length - first;
  };
});

// ===== the mutants =====

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'check-before-recheck',
    change: 'GUP-fast runs the file-backed check before the PMD/PTE re-check, as v7 did',
    expect: 'wild-deref when the page is freed and reused in between (RCU table-free architectures)',
    // Without a check after the re-check (6.1, v7, jg-proposal) there is nothing to move: the
    // grab is wrapped with no check, and the check stays absent.
    replace: (r) => {
      const check = r.fns.folio_fast_pin_allowed;
      return check ? { try_grab_folio_fast: grabThenCheck(r.fns.try_grab_folio_fast, check), folio_fast_pin_allowed: undefined } : { folio_fast_pin_allowed: undefined };
    },
  },
  {
    name: 'no-recheck',
    change: 'GUP-fast drops the PMD/PTE value re-check after taking the reference',
    expect: 'pin-on-reused-page: a freed and reused page is returned as pinned',
    replace: () => ({
      *gup_fast_pte_changed() {
        return false;
      },
      *gup_fast_huge_changed() {
        return false;
      },
    }),
  },
  {
    name: 'no-folio-recheck',
    change: "try_get_folio() takes its add-unless-zero reference but does not re-check page_folio(page) afterwards",
    expect: 'pin-on-reused-page: the page was split away from the folio the reference is on',
    replace: () => ({ try_get_folio: try_get_folio_no_recheck }),
  },
  {
    name: 'plain-get',
    change: 'try_get_folio() takes a plain reference on page_folio() (no add-unless-zero, no folio re-check)',
    expect: 'pin-on-reused-page / refcount when a THP is split or the page freed meanwhile',
    replace: () => ({ try_get_folio: try_get_folio_plain }),
  },
  {
    name: 'no-read-once',
    change: "the file-backed check reads folio->mapping with plain loads (the compiler may reload it at each use)",
    expect: 'null-deref when truncate clears ->mapping between the NULL test and the dereference',
    // 6.5's folio_fast_pin_allowed() or 6.10's gup_fast_folio_allowed(), each with its one
    // READ_ONCE() made a plain load at every use. v7's folio_mapping() already uses plain loads;
    // another check (jg-proposal-after-recheck's) has no mutated copy here: it is left as it is.
    replace: (r) => {
      const f = r.fns.folio_fast_pin_allowed;
      if (f === folio_fast_pin_allowed) return { folio_fast_pin_allowed: folioFastPinAllowedMutated(true, true) };
      const v = gupFastFolioAllowedVariant(f);
      return v ? { folio_fast_pin_allowed: makeGupFastFolioAllowed({ ...v, readOnce: false }) } : {};
    },
  },
  {
    name: 'no-null-check',
    change: 'the file-backed check does not test ->mapping for NULL',
    expect: 'null-deref on a truncated folio',
    replace: (r) => {
      const f = r.fns.folio_fast_pin_allowed;
      if (f === folio_fast_pin_allowed) return { folio_fast_pin_allowed: folioFastPinAllowedMutated(false, false) };
      const v = gupFastFolioAllowedVariant(f);
      return v ? { folio_fast_pin_allowed: makeGupFastFolioAllowed({ ...v, nullCheck: false }) } : {};
    },
  },
  {
    name: 'no-write-protect-seq',
    change: 'GUP-fast ignores mm->write_protect_seq (fork may write-protect anon pages during the walk)',
    expect: 'anon-pin-not-exclusive: a pinned anon page shared with the fork child',
    replace: () => ({ lockless_pages_from_mm: locklessPagesFromMmMutated(true, false) }),
  },
  {
    name: 'no-irq-disable',
    change: 'GUP-fast walks with IRQs enabled (no local_irq_save)',
    expect: 'irqs-enabled-assert; page tables or inodes freed under the walk',
    replace: () => ({ lockless_pages_from_mm: locklessPagesFromMmMutated(false, true) }),
  },
  {
    name: 'unpin-wrong-count',
    change: 'unpin_user_pages() drops GUP_PIN_COUNTING_BIAS - 1 references for a small folio instead of 1024',
    expect: 'refcount: a reference is leaked',
    replace: (r) => ({
      *unpin_folio(c, folio, nr) {
        if (folio.PG_head.v) yield* r.fns.unpin_folio(c, folio, nr);
        else yield* folio_put_refs(c, folio, nr * (GUP_PIN_COUNTING_BIAS - 1));
      },
    }),
  },
  {
    name: 'skip-page-mkwrite',
    change: 'a write fault on a shared file mapping does not call ->page_mkwrite',
    expect: 'dirty-without-mkwrite: the folio is dirtied without the filesystem preparing it',
    replace: () => ({
      // do_shared_fault() keeps the folio locked when it does not call ->page_mkwrite: the
      // model's do_page_mkwrite() returns it locked (memory.ts).
      *do_page_mkwrite(c, _vma, folio) {
        yield* folio_lock(c, folio);
        return 0;
      },
    }),
  },
  {
    name: 'table-free-no-sync',
    change: 'page tables are freed at once, without waiting for IRQs-off CPUs (no IPI sync, no RCU)',
    expect: 'pt-use-after-free: GUP-fast reads a freed page-table page',
    replace: () => ({
      *tlb_table_flush(c, tables) {
        for (const t of tables) yield* free_table_now(c, t);
      },
    }),
  },
  {
    name: 'no-copy-on-pin',
    change: 'fork shares a possibly-pinned anon page with the child instead of copying it',
    expect: 'anon-pin-not-exclusive',
    replace: () => ({
      *page_needs_cow_for_dma() {
        return false;
      },
    }),
  },
];

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}

/**
 * The entries of the revision's function table the mutant changes: those whose replacement has
 * another structure than the revision's function (another source text, or another builder or
 * arguments). Empty: the mutant changes nothing on this revision.
 */
export function mutantChanges(m: Mutant, rev: Revision): (keyof RevisionFns)[] {
  const fns = m.replace(rev);
  return (Object.keys(fns) as (keyof RevisionFns)[]).filter((k) => fns[k] !== rev.fns[k] && fnStructure(fns[k]) !== fnStructure(rev.fns[k]));
}

/** Does the mutant change anything on this revision? */
export function mutantApplies(m: Mutant, rev: Revision): boolean {
  return mutantChanges(m, rev).length > 0;
}

/** The revisions (of `revs`) the mutant changes, by name. */
export function revisionsChangedBy(m: Mutant, revs: readonly Revision[]): string[] {
  return revs.filter((r) => mutantApplies(m, r)).map((r) => r.name);
}

/** The revisions gupcheck models that the mutant changes, by name. */
export function revisionsChangedByMutant(m: Mutant): string[] {
  return revisionsChangedBy(m, REVISIONS);
}

/** Why a mutant is refused on these kernels, in words (for the CLI's and the parser's errors). */
export function mutantChangesNothing(m: Mutant, kernels: readonly string[]): { what: string; hint: string } {
  const where = revisionsChangedByMutant(m);
  return {
    what: `mutant '${m.name}' changes nothing on ${kernels.length === 1 ? 'kernel' : 'kernels'} ${kernels.join(', ')} (its change, "${m.change}", has nothing to act on there): the run would check the unmutated kernel`,
    hint: where.length ? `run it on a kernel it changes: ${where.join(', ')}` : 'it changes no kernel gupcheck models',
  };
}

/** The revision with the mutant applied. */
export function applyMutant(rev: Revision, m: Mutant): Revision {
  if (!mutantApplies(m, rev)) throw new Error(`[gupcheck internal bug] mutant ${m.name} changes nothing on ${rev.name}`);
  return { ...rev, fns: { ...rev.fns, ...m.replace(rev) }, mutant: m.name };
}
