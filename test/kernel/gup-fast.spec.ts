/**
 * gup_pte_range() (src/kernel/gup.ts; gup_fast_pte_range() in 6.10+), one test per exit path,
 * on hand-edited page tables, run sequentially with IRQs off as GUP-fast runs. Each test checks
 * the result, the explanation (c.why), the folio's refcounts afterwards and the pages recorded.
 */
import { describe, expect, it } from 'vitest';
import { pin_user_pages_fast } from '../../src/kernel/gup.ts';
import type { Ctx } from '../../src/kernel/kernel.ts';
import type { Folio, Page } from '../../src/kernel/mm_types.ts';
import {
  _PAGE_ACCESSED,
  _PAGE_DEVMAP,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_PSE,
  _PAGE_SPECIAL,
  _PAGE_USER,
  mk_pte,
  pte_mkclean,
  pte_pfn,
  pte_wrprotect,
  SWP_MIGRATION_READ,
  SWP_SWAP,
  swp_entry_to_pte,
} from '../../src/kernel/pgtable.ts';
import { derive, type Revision } from '../../src/kernel/revision.ts';
import type { Step } from '../../src/sim/op.ts';
import { EFAULT, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../src/kernel/types.ts';
import { type Env, env, expectWhy, findings, folioAt, PAGE_SIZE, PIN_LONGTERM_WRITE, pteRange, rev, run, tables, whyFns } from './helpers.ts';

/**
 * A kernel whose GUP-fast grab calls the real one, then lets `race` edit the page table, as a
 * CPU racing between the PTE read and the re-check would (plain assignments: scheduling is off).
 */
function envWithRaceAfterGrab(base: Revision, race: (e: Env) => void): Env {
  const box: { e?: Env } = {};
  const racing = derive(base, {
    name: `${base.name}+race-after-grab`,
    fns: {
      *try_grab_folio_fast(c: Ctx, page: Page, refs: number, flags: number): Step<Folio | null> {
        const folio = yield* base.fns.try_grab_folio_fast(c, page, refs, flags);
        race(box.e!);
        return folio;
      },
    },
  });
  box.e = env({ rev: racing });
  return box.e;
}

/** Refcount and pincount of a folio, for before/after comparisons. */
const counts = (f: Folio) => ({ ref: f._refcount.v, pin: f._pincount.v });

describe('gup_pte_range (6.5): the success path', () => {
  it('records the page of a writable anon PTE and raises a small folio\'s _refcount by GUP_PIN_COUNTING_BIAS', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(counts(folio)).toEqual({ ref: 1, pin: 0 });
    const r = pteRange(e, FOLL_PIN | FOLL_WRITE);
    expect(r).toEqual({ ok: true, pages: [folio.pfn] });
    expect(counts(folio)).toEqual({ ref: 1 + GUP_PIN_COUNTING_BIAS, pin: 0 });
    expect(folio.PG_referenced.v).toBe(true);
    expect(e.why).toEqual([]);
    expect(findings(e)).toEqual([]);
  });

  it('takes one plain reference for FOLL_GET (get_user_pages_fast)', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const r = pteRange(e, FOLL_GET | FOLL_WRITE);
    expect(r).toEqual({ ok: true, pages: [folio.pfn] });
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
  });

  it('walks every PTE of the range, recording the pages in order', () => {
    const e = env({ rev: '6.5', len: 3 * PAGE_SIZE });
    const pfns = [0, 1, 2].map((i) => folioAt(e, e.addr + i * PAGE_SIZE).pfn);
    const r = pteRange(e, FOLL_PIN | FOLL_WRITE, { end: e.addr + 3 * PAGE_SIZE });
    expect(r).toEqual({ ok: true, pages: pfns });
    for (const pfn of pfns) expect(e.k.page(pfn)._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('pins an ext4 MAP_SHARED folio long-term and writable on 6.1, which has no file-backed check', () => {
    const e = env({ rev: '6.1', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    const r = pteRange(e, PIN_LONGTERM_WRITE);
    expect(r).toEqual({ ok: true, pages: [folio.pfn] });
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
    expect(e.why).toEqual([]);
  });
});

describe('gup_pte_range (6.5): bails before grabbing, taking no reference', () => {
  it('stops at a PTE that was never faulted in, leaving it to the slow path', () => {
    const e = env({ rev: '6.5', len: 2 * PAGE_SIZE, touchLen: PAGE_SIZE });
    const first = folioAt(e);
    const second = e.addr + PAGE_SIZE;
    expect(tables(e, second).pte.v).toBe(0);
    const r = pteRange(e, FOLL_PIN | FOLL_WRITE, { end: e.addr + 2 * PAGE_SIZE });
    // The first page is pinned and stays recorded; the walk stops at the second.
    expect(r).toEqual({ ok: false, pages: [first.pfn] });
    expect(first._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
    expectWhy(e, 'gup_pte_range', new RegExp(`no PTE for 0x${second.toString(16)}.*not faulted in`));
  });

  it('stops at a swap entry (not present)', () => {
    const e = env({ rev: '6.5' });
    const t = tables(e);
    t.pte.v = swp_entry_to_pte(SWP_SWAP, 7);
    const r = pteRange(e, FOLL_PIN | FOLL_WRITE);
    expect(r).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /not present \(swap\/migration entry\)/);
  });

  it('stops at a migration entry (not present), even for a read pin', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    tables(e).pte.v = swp_entry_to_pte(SWP_MIGRATION_READ, folio.pfn);
    const r = pteRange(e, FOLL_PIN);
    expect(r).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /not present/);
    expect(folio._refcount.v).toBe(1);
  });

  it('leaves a PROT_NONE (NUMA-hinting) PTE to the slow path', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    tables(e).pte.v = mk_pte(folio.pfn, _PAGE_PROTNONE | _PAGE_USER | _PAGE_ACCESSED);
    const r = pteRange(e, FOLL_PIN);
    expect(r).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /pte_protnone\(\).*PROT_NONE/);
    expect(counts(folio)).toEqual({ ref: 1, pin: 0 });
  });

  it('refuses a write pin through a read-only PTE (an ext4 MAP_PRIVATE page read in, CoW pending)', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: false, touch: 'read' });
    const folio = folioAt(e);
    const r = pteRange(e, FOLL_PIN | FOLL_WRITE);
    expect(r).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /pte_access_permitted\(pte, FOLL_WRITE\) is false.*read-only/);
    expect(folio._refcount.v).toBe(2);
  });

  it('refuses a special PTE (the zero page an anon read fault maps): no struct page to refcount', () => {
    const e = env({ rev: '6.5', touch: 'read' });
    const zero = folioAt(e);
    expect(zero.pfn).toBe(e.k.zeroPfn);
    const before = zero._refcount.v;
    const r = pteRange(e, FOLL_PIN);
    expect(r).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /pte_special\(\).*no struct page/);
    expect(zero._refcount.v).toBe(before);
  });

  it('refuses a special PTE on a page it could refcount as well (PFN mappings)', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const t = tables(e);
    t.pte.v += _PAGE_SPECIAL;
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /pte_special/);
    expect(folio._refcount.v).toBe(1);
  });

  it('bails on a devmap PTE (ZONE_DEVICE is not modelled)', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    tables(e).pte.v += _PAGE_DEVMAP;
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /devmap/);
    expect(folio._refcount.v).toBe(1);
  });

  it('returns false without reading a PTE when the PMD does not point at a PTE table (pte_offset_map() fails)', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const hugeLeaf = mk_pte(folio.pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_PSE);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE, { pmd: hugeLeaf })).toEqual({ ok: false, pages: [] });
    expect(e.why).toEqual([]);
    expect(folio._refcount.v).toBe(1);
  });

  it('stops, with a pt-use-after-free finding, when the PTE table page was already freed', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    tables(e).ptable.live.v = false;
    // The finding is fatal (an oops): nothing may run after it, so no local_irq_restore() either.
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE, { irqsOff: false })).toEqual({ ok: false, pages: [] });
    expect(e.k.w.stopped).toBe(true);
    expect(findings(e)).toEqual(['pt-use-after-free']);
    expect(e.k.w.findings[0]!.message).toMatch(/gup_pte_range\(\).*already freed/);
    expect(folio._refcount.v).toBe(1);
  });
});

describe('gup_pte_range: try_grab_folio() fails', () => {
  it('gives up on a folio whose _refcount is 0 (frozen for split/migration, or freed), taking nothing', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    folio._refcount.v = 0;
    folio.ghost.frozen = true;
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['try_get_folio', 'gup_pte_range']);
    expectWhy(e, 'try_get_folio', /_refcount 0 \(free or frozen\): no reference taken/);
    expectWhy(e, 'gup_pte_range', new RegExp(`try_grab_folio\\(\\) failed for ${folio.name}`));
    expect(counts(folio)).toEqual({ ref: 0, pin: 0 });
  });

  it('refuses a ZONE_MOVABLE folio for FOLL_LONGTERM on 6.5, dropping the reference it took first', () => {
    const e = env({ rev: '6.5', zone: 'movable' });
    const folio = folioAt(e);
    expect(folio.ghost.zone).toBe('movable');
    expect(pteRange(e, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['try_grab_folio', 'gup_pte_range']);
    expectWhy(e, 'try_grab_folio', /folio_is_longterm_pinnable\(\).*ZONE_MOVABLE.*migrated/);
    expect(counts(folio)).toEqual({ ref: 1, pin: 0 });
  });

  it('refuses a ZONE_MOVABLE folio for FOLL_LONGTERM on 6.1 with the page-based test', () => {
    const e = env({ rev: '6.1', zone: 'movable' });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_LONGTERM)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'try_grab_folio', /is_longterm_pinnable_page\(\).*ZONE_MOVABLE/);
    expect(folio._refcount.v).toBe(1);
  });

  it('pins a ZONE_MOVABLE folio when the pin is not long-term', () => {
    const e = env({ rev: '6.5', zone: 'movable' });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: true, pages: [folio.pfn] });
    expect(folio._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('on v7, the in-try_grab_folio file check refuses an ext4 MAP_SHARED long-term write pin before the re-check', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, PIN_LONGTERM_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['folio_longterm_write_pin_allowed', 'gup_pte_range']);
    expectWhy(e, 'folio_longterm_write_pin_allowed', /not shmem or hugetlb: refused/);
    expectWhy(e, 'gup_pte_range', /try_grab_folio\(\) failed/);
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
    expect(findings(e)).toEqual([]);
  });
});

describe('gup_pte_range: secretmem', () => {
  for (const name of ['6.1', '6.5']) {
    it(`drops the pin on a secretmem page on ${name}: page_is_secretmem() before the re-check`, () => {
      const e = env({ rev: name, backing: 'secretmem', shared: true });
      const folio = folioAt(e);
      expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
      expect(whyFns(e)).toEqual(['gup_pte_range']);
      expectWhy(e, 'gup_pte_range', /page_is_secretmem\(\).*never pinned/);
      expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
    });
  }

  it('on 6.10 refuses it in gup_fast_folio_allowed() instead, after the re-check, for a short-term pin too', () => {
    const e = env({ rev: '6.10', backing: 'secretmem', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['gup_pte_range']);
    expectWhy(e, 'gup_pte_range', /file-backed check refused/);
    expect(folio._refcount.v).toBe(2);
  });
});

describe('gup_pte_range (6.5): the PMD/PTE re-check after the grab', () => {
  it('drops the pin when the PTE changed between the read and the re-check', () => {
    const e = envWithRaceAfterGrab(rev('6.5'), (x) => {
      const t = tables(x);
      t.pte.v = pte_mkclean(t.pte.v); // writeback cleaned it meanwhile
    });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['gup_pte_range', 'gup_pte_range']);
    expectWhy(e, 'gup_pte_range', /^the PTE changed since it was read/);
    expectWhy(e, 'gup_pte_range', /the PMD or PTE changed/);
    expect(counts(folio)).toEqual({ ref: 1, pin: 0 });
    expect(findings(e)).toEqual([]);
  });

  it('drops the pin when the PMD changed between the read and the re-check', () => {
    const e = envWithRaceAfterGrab(rev('6.5'), (x) => {
      tables(x).pmdTable.entry(x.addr).v -= _PAGE_ACCESSED;
    });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /^the PMD changed since it was read/);
    expectWhy(e, 'gup_pte_range', /the PMD or PTE changed/);
    expect(folio._refcount.v).toBe(1);
  });

  it('drops a FOLL_GET reference (one, not the pin bias) when the PTE was zapped meanwhile', () => {
    const e = envWithRaceAfterGrab(rev('6.5'), (x) => {
      tables(x).pte.v = 0;
    });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_GET)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /the PTE changed/);
    expect(folio._refcount.v).toBe(1);
  });
});

describe('gup_pte_range: the file-backed check after the re-check', () => {
  it('refuses a long-term write pin of an ext4 MAP_SHARED folio on 6.5, falling back to the slow path', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, PIN_LONGTERM_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['folio_fast_pin_allowed', 'gup_pte_range']);
    expectWhy(e, 'folio_fast_pin_allowed', /page cache of address_space\(ext4.*not shmem: refused/);
    expectWhy(e, 'gup_pte_range', /file-backed check refused the folio: fall back to the slow path/);
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
  });

  it('refuses the same pin on 6.10 in gup_fast_folio_allowed()', () => {
    const e = env({ rev: '6.10', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, PIN_LONGTERM_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['gup_fast_folio_allowed', 'gup_pte_range']);
    expectWhy(e, 'gup_fast_folio_allowed', /not shmem: refused/);
    expect(folio._refcount.v).toBe(2);
  });

  it('lets a long-term write pin of a memfd (shmem) folio through on 6.5', () => {
    const e = env({ rev: '6.5', backing: 'memfd', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, PIN_LONGTERM_WRITE)).toEqual({ ok: true, pages: [folio.pfn] });
    expectWhy(e, 'folio_fast_pin_allowed', /is shmem: allowed/);
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
  });

  it('lets a short-term write pin of the ext4 folio through on 6.5 (the check wants all of PIN|LONGTERM|WRITE)', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: true, pages: [folio.pfn] });
    expect(e.why).toEqual([]);
  });

  it('pin_user_pages_fast() then takes the slow path, where check_vma_flags() says -EFAULT', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    const pages: number[] = [];
    expect(run(e, () => pin_user_pages_fast(e.c, e.addr, 1, FOLL_LONGTERM | FOLL_WRITE, pages))).toBe(-EFAULT);
    expect(pages).toEqual([]);
    expect(whyFns(e)).toEqual(['folio_fast_pin_allowed', 'gup_pte_range', 'internal_get_user_pages_fast', 'check_vma_flags']);
    expectWhy(e, 'internal_get_user_pages_fast', /pinned 0 of 1 page\(s\); the slow path takes the rest/);
    expect(e.c.gupSlowUsed).toBe(true);
    expect(folio._refcount.v).toBe(2);
  });
});

describe('gup_pte_range: gup_must_unshare() for R/O pins', () => {
  it('sends a long-term read pin of a read-only page-cache PTE to the slow path (no VMA to tell a COW mapping)', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: false, touch: 'read' });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_LONGTERM)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['gup_pte_range']);
    expectWhy(e, 'gup_pte_range', /gup_must_unshare\(NULL, \.\.\.\): R\/O pin needs the VMA/);
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
  });

  it('pins the same read-only page-cache PTE when the pin is short-term', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: false, touch: 'read' });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN)).toEqual({ ok: true, pages: [folio.pfn] });
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
  });

  it('sends a read pin of a write-protected anon page that is not PageAnonExclusive (shared after fork) to the slow path', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const t = tables(e);
    t.pte.v = pte_wrprotect(t.pte.v);
    folio.PG_anon_exclusive.v = false;
    expect(pteRange(e, FOLL_PIN)).toEqual({ ok: false, pages: [] });
    expectWhy(e, 'gup_pte_range', /gup_must_unshare/);
    expect(folio._refcount.v).toBe(1);
  });

  it('pins a write-protected anon page that is still PageAnonExclusive', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const t = tables(e);
    t.pte.v = pte_wrprotect(t.pte.v);
    expect(folio.PG_anon_exclusive.v).toBe(true);
    expect(pteRange(e, FOLL_PIN | FOLL_LONGTERM)).toEqual({ ok: true, pages: [folio.pfn] });
    expect(pte_pfn(t.pte.v)).toBe(folio.pfn);
    expect(folio._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('does not ask gup_must_unshare() for FOLL_GET: a read reference of the non-exclusive page is fine', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    const t = tables(e);
    t.pte.v = pte_wrprotect(t.pte.v);
    folio.PG_anon_exclusive.v = false;
    expect(pteRange(e, FOLL_GET)).toEqual({ ok: true, pages: [folio.pfn] });
    expect(folio._refcount.v).toBe(2);
  });
});

describe('gup_pte_range: a short-term pin of a NULL-mapping driver page (vm_insert_page())', () => {
  it('falls back to the slow path on 6.10: gup_fast_folio_allowed() refuses every order-0 NULL mapping', () => {
    const e = env({ rev: '6.10', backing: 'driver', shared: true, touch: 'none' });
    const folio = folioAt(e);
    expect(pteRange(e, FOLL_PIN | FOLL_WRITE)).toEqual({ ok: false, pages: [] });
    expect(whyFns(e)).toEqual(['gup_fast_folio_allowed', 'gup_pte_range']);
    expectWhy(e, 'gup_fast_folio_allowed', /->mapping is NULL: fall back.*check_secretmem/);
    expect(folio._refcount.v).toBe(2);
  });

  it('is pinned by GUP-fast on next (the 2026 fix) and on 6.5 (no secretmem fold)', () => {
    for (const name of ['next', '6.5']) {
      const e = env({ rev: name, backing: 'driver', shared: true, touch: 'none' });
      const folio = folioAt(e);
      expect(pteRange(e, FOLL_PIN | FOLL_WRITE), name).toEqual({ ok: true, pages: [folio.pfn] });
      expect(folio._refcount.v, name).toBe(2 + GUP_PIN_COUNTING_BIAS);
    }
  });
});
