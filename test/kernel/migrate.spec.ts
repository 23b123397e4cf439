/**
 * FOLL_LONGTERM migration (src/kernel/migrate.ts; kernel-gup-reference.md §11 row 9):
 * migrate_pages() tries a folio it cannot move yet (another reference held: the refcount freeze
 * fails) up to NR_MAX_MIGRATE_PAGES_RETRY = 10 times before the pin fails with -ENOMEM, and a
 * folio whose extra reference goes away meanwhile is migrated and pinned.
 */
import { describe, expect, it } from 'vitest';
import { pin_user_pages_fast, unpin_user_pages } from '../../src/kernel/gup.ts';
import { NR_MAX_MIGRATE_PAGES_RETRY } from '../../src/kernel/migrate.ts';
import { errnoName, FOLL_LONGTERM, FOLL_WRITE } from '../../src/kernel/types.ts';
import { lookup } from '../../src/kernel/pgtable-generic.ts';
import { pte_pfn } from '../../src/kernel/pgtable.ts';
import { type Env, env, expectWhy, folioAt, hugeFolioAt, run } from './helpers.ts';

/** A long-term pin of a ZONE_MOVABLE anon page while something else holds a reference on it for `passes` freeze attempts (Infinity: always). */
function pinWhileHeld(kernel: string, passes: number): { e: Env; ret: string | number; freezes: number; pages: number[]; movable: number } {
  const e = env({ rev: kernel, zone: 'movable' });
  const folio = folioAt(e);
  folio._refcount.v++; // another CPU's reference (a racing GUP, say)
  let freezes = 0;
  e.c.onAccess = (op) => {
    if (op.site.fn !== 'folio_ref_freeze') return;
    freezes++;
    if (freezes === passes) folio._refcount.v--; // dropped after this attempt
  };
  const pages: number[] = [];
  const r = run(e, () => pin_user_pages_fast(e.c, e.addr, 1, FOLL_WRITE | FOLL_LONGTERM, pages));
  e.c.onAccess = () => {};
  return { e, ret: r < 0 ? errnoName(r) : r, freezes, pages, movable: folio.pfn };
}

describe('long-term pins of ZONE_MOVABLE pages: migrate_pages() passes', () => {
  it('a reference held through every pass: ten freeze attempts, then -ENOMEM', () => {
    for (const k of ['6.1', '6.5', '6.12']) {
      const { e, ret, freezes } = pinWhileHeld(k, Infinity);
      expect(ret, k).toBe('ENOMEM');
      expect(freezes, k).toBe(NR_MAX_MIGRATE_PAGES_RETRY);
      expectWhy(e, 'migrate_pages', /could not be migrated in 10 passes/);
    }
  });

  it('a reference dropped after the third pass: the fourth migrates the page, and the pin is on the copy outside ZONE_MOVABLE', () => {
    const { e, ret, freezes, pages, movable } = pinWhileHeld('6.12', 3);
    expect(ret).toBe(1);
    expect(freezes).toBe(4); // three failed, the fourth froze it
    expect(pages[0]).not.toBe(movable);
    expect(e.k.page(pages[0]!).ghost.zone).toBe('normal');
    run(e, () => unpin_user_pages(e.c, pages));
  });

  it('__gup_longterm_locked() pins again as long as migration says -EAGAIN: twelve rounds, each finding the page back in ZONE_MOVABLE, still end in a pin', () => {
    const e = env({ rev: '6.12', zone: 'movable' });
    let rounds = 0;
    e.c.onAccess = (op) => {
      // Right after remove_migration_pte() mapped the copy: as if it, too, had to move (a
      // memory hot-unplug racing the pin, say), for the first eleven rounds.
      if (op.site.fn === 'remove_migration_pte' && ++rounds < 12) {
        const pfn = pte_pfn(lookup(e.c, e.p.mm, e.addr).pte!.entry(e.addr).v);
        e.k.page(pfn).ghost.zone = 'movable';
      }
    };
    const pages: number[] = [];
    const r = run(e, () => pin_user_pages_fast(e.c, e.addr, 1, FOLL_WRITE | FOLL_LONGTERM, pages));
    e.c.onAccess = () => {};
    expect(r).toBe(1);
    expect(rounds).toBe(12);
    expect(e.k.page(pages[0]!).ghost.zone).toBe('normal');
  });

  it('a large folio that may not be pinned long-term is an internal error, not a pin kept on it (large-folio migration is not modelled)', () => {
    const e = env({ rev: '6.12', backing: 'memfd_hugetlb', shared: true });
    hugeFolioAt(e).ghost.zone = 'movable'; // no layout puts one there
    const pages: number[] = [];
    expect(() => run(e, () => pin_user_pages_fast(e.c, e.addr, 1, FOLL_WRITE | FOLL_LONGTERM, pages))).toThrow(/large folio in ZONE_MOVABLE: large-folio migration .* is not modelled/);
  });
});
