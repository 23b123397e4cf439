/**
 * The slow path for hugetlb VMAs from 6.10 (src/kernel/hugetlb.ts follow_huge_leaf();
 * kernel-gup-reference.md §11 rows 7 and 10): follow_huge_pmd()/follow_huge_pud() ask
 * gup_must_unshare() (-EMLINK, an unshare fault) and can_follow_write_pmd() like the other
 * leaves; and FOLL_FORCE|FOLL_WRITE on a read-only hugetlb VMA, refused up to 6.12, works from
 * 6.14 (the model's 6.15 and next).
 */
import { describe, expect, it } from 'vitest';
import { pin_user_pages, unpin_user_pages } from '../../src/kernel/gup.ts';
import type { Folio } from '../../src/kernel/mm_types.ts';
import { pte_huge, pte_pfn, pte_wrprotect } from '../../src/kernel/pgtable.ts';
import { lookup } from '../../src/kernel/pgtable-generic.ts';
import { site, type Step } from '../../src/sim/op.ts';
import { down_read, up_read } from '../../src/sim/sync.ts';
import { errnoName, FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE } from '../../src/kernel/types.ts';
import { type Env, env, expectWhy, findings, hugeFolioAt, run } from './helpers.ts';

const S_lock = site('caller', 'mmap_read_lock() around pin_user_pages()');

/** pin_user_pages() under mmap_read_lock(), as io_uring and gup_test call it. */
function pin(e: Env, flags: number, nr = 1): { ret: string | number; pages: number[] } {
  const pages: number[] = [];
  const c = e.c;
  const ret = run(e, function* (): Step<number> {
    yield* down_read(c, c.mm!.mmap_lock, S_lock);
    const r = yield* pin_user_pages(c, e.addr, nr, flags, pages);
    yield* up_read(c, c.mm!.mmap_lock, S_lock);
    return r;
  });
  return { ret: ret < 0 ? errnoName(ret) : ret, pages };
}

/** The folio a huge leaf (PMD or PUD) maps at the start of the mapping. */
function leafFolio(e: Env): Folio {
  const pgd = e.p.mm.pgd.entry(e.addr).v;
  const pudTable = e.k.tables.get(pte_pfn(pgd))!;
  const pud = pudTable.entry(e.addr).v;
  if (pte_huge(pud)) return e.k.page(pte_pfn(pud));
  return hugeFolioAt(e);
}

describe('6.10+: a R/O long-term pin of MAP_PRIVATE hugetlbfs unshares (follow_huge_pmd(): gup_must_unshare() -> -EMLINK)', () => {
  it('pins an anon copy, not the page-cache huge page, on 6.10, 6.12 and next (as 6.5\'s follow_hugetlb_page() does)', () => {
    for (const k of ['6.5', '6.10', '6.12', 'next']) {
      const e = env({ rev: k, backing: 'hugetlbfs', shared: false, touch: 'read' });
      const cache = hugeFolioAt(e);
      const r = pin(e, FOLL_LONGTERM);
      expect(r.ret, k).toBe(1);
      const pinned = e.k.page(r.pages[0]!);
      expect(pinned, k).not.toBe(cache);
      expect(pinned.ghost.owner === 'anon' || pinned.mapping.v % 2 === 1, `${k}: an anon copy`).toBe(true);
      expect(hugeFolioAt(e), `${k}: the mapping now maps the copy`).toBe(pinned);
      if (k !== '6.5') expectWhy(e, 'follow_huge_pmd', /gup_must_unshare\(\).*-EMLINK/);
      run(e, () => unpin_user_pages(e.c, r.pages));
      expect(findings(e), k).toEqual([]);
    }
  });

  it('6.1 pins the page-cache huge page itself (its gup_must_unshare() is false for non-anon pages)', () => {
    const e = env({ rev: '6.1', backing: 'hugetlbfs', shared: false, touch: 'read' });
    const cache = hugeFolioAt(e);
    expect(pin(e, FOLL_LONGTERM).pages).toEqual([cache.pfn]);
  });

  it('a MAP_SHARED one is pinned as it is (not a COW mapping)', () => {
    const e = env({ rev: '6.12', backing: 'hugetlbfs', shared: true, touch: 'read' });
    const cache = hugeFolioAt(e);
    expect(pin(e, FOLL_LONGTERM).pages).toEqual([cache.pfn]);
  });
});

describe('6.10+: a R/O pin of an anon hugetlb page shared with a fork child unshares', () => {
  it('a private hugetlb page that is no longer PageAnonExclusive is copied before the pin', () => {
    const e = env({ rev: '6.12', backing: 'memfd_hugetlb', shared: false, touch: 'write' });
    const shared = hugeFolioAt(e);
    expect(shared.PG_anon_exclusive.v).toBe(true);
    // As fork's copy_hugetlb_page_range() leaves the parent: not exclusive, write-protected.
    shared.PG_anon_exclusive.v = false;
    const pmd = lookup(e.c, e.p.mm, e.addr).pmd!.entry(e.addr);
    pmd.v = pte_wrprotect(pmd.v);
    const r = pin(e, 0);
    expect(r.ret).toBe(1);
    expect(r.pages[0]).not.toBe(shared.pfn);
    expect(e.k.page(r.pages[0]!).PG_anon_exclusive.v).toBe(true);
    expectWhy(e, 'follow_huge_pmd', /-EMLINK, unshare fault/);
  });
});

describe('FOLL_FORCE|FOLL_WRITE on a read-only private hugetlb mapping', () => {
  it('is refused by check_vma_flags() up to 6.12', () => {
    for (const k of ['6.5', '6.12']) {
      const e = env({ rev: k, backing: 'memfd_hugetlb', shared: false, prot: 'r', touch: 'read' });
      expect(pin(e, FOLL_FORCE | FOLL_WRITE).ret, k).toBe('EFAULT');
      expectWhy(e, 'check_vma_flags', /FOLL_FORCE\|FOLL_WRITE on a read-only hugetlb VMA/);
    }
  });

  it('from 6.14 (the model\'s 6.15 and next) breaks COW and pins the exclusive anon copy, through a PMD and through a PUD leaf', () => {
    for (const k of ['6.15', 'next']) {
      for (const backing of ['memfd_hugetlb', 'memfd_hugetlb_1g'] as const) {
        const e = env({ rev: k, backing, shared: false, prot: 'r', touch: 'read' });
        const before = leafFolio(e);
        const r = pin(e, FOLL_FORCE | FOLL_WRITE);
        expect(r.ret, `${k} ${backing}`).toBe(1);
        const copy = e.k.page(r.pages[0]!);
        expect(copy, `${k} ${backing}`).not.toBe(before);
        expect(copy.PG_anon_exclusive.v).toBe(true);
        run(e, () => unpin_user_pages(e.c, r.pages));
        expect(findings(e)).toEqual([]);
      }
    }
  });
});
