/**
 * try_get_folio() and try_grab_folio() (src/kernel/gup.ts: the 6.1/6.5 shape) and the
 * replacement v7 and jg-proposal put their file-backed check in (src/kernel/revisions/v7.ts
 * makeTryGrabFolioWithCheck()). Called directly, with IRQs off as GUP-fast calls them unless a
 * test says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { pin_user_pages_unlocked, try_get_folio, try_grab_folio } from '../../src/kernel/gup.ts';
import type { Folio, Page } from '../../src/kernel/mm_types.ts';
import { jg_proposal } from '../../src/kernel/revisions/jg-proposal.ts';
import { v7 } from '../../src/kernel/revisions/v7.ts';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../src/kernel/types.ts';
import { kernelName } from '../../src/trace/names.ts';
import { type Env, env, expectWhy, findings, folioAt, hugeFolioAt, PIN_LONGTERM_WRITE, recordAccesses, rev, run, whyFns } from './helpers.ts';

const counts = (f: Folio) => ({ ref: f._refcount.v, pin: f._pincount.v });

function getFolio(e: Env, page: Page, refs: number): Folio | null {
  return run(e, () => try_get_folio(e.c, page, refs), true);
}
function grab(e: Env, page: Page, refs: number, flags: number, irqsOff = true): Folio | null {
  return run(e, () => try_grab_folio(e.c, page, refs, flags), irqsOff);
}
function grabV7(e: Env, page: Page, refs: number, flags: number, irqsOff = true): Folio | null {
  return run(e, () => v7.fns.try_grab_folio(e.c, page, refs, flags), irqsOff);
}

describe('try_get_folio', () => {
  it('adds the references to the folio of a mapped page and returns that folio', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(getFolio(e, folio, 3)).toBe(folio);
    expect(counts(folio)).toEqual({ ref: 4, pin: 0 });
    expect(e.why).toEqual([]);
  });

  it('takes a tail page\'s references on the head of its large folio', () => {
    const e = env({ rev: '6.5', backing: 'memfd_hugetlb', shared: true });
    const head = hugeFolioAt(e);
    const before = head._refcount.v;
    const tail = e.k.page(head.pfn + 5);
    expect(getFolio(e, tail, 2)).toBe(head);
    expect(head._refcount.v).toBe(before + 2);
    expect(tail._refcount.v).toBe(0);
  });

  it('refuses a free folio: add-unless-zero takes no reference', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    folio._refcount.v = 0;
    expect(getFolio(e, folio, 1)).toBeNull();
    expect(whyFns(e)).toEqual(['try_get_folio']);
    expectWhy(e, 'try_get_folio', /_refcount 0 \(free or frozen\): no reference taken/);
    expect(folio._refcount.v).toBe(0);
    expect(findings(e)).toEqual([]);
  });

  it('WARNs and refuses a folio whose _refcount is negative', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    folio._refcount.v = -1;
    expect(getFolio(e, folio, 1)).toBeNull();
    expect(findings(e)).toEqual(['warn']);
    expect(e.k.w.findings[0]!.message).toMatch(/WARN_ON_ONCE: .*_refcount < 0 in try_get_folio/);
    expect(folio._refcount.v).toBe(-1);
  });

  it('drops the references and retries on the new folio when the page was split away after the get', () => {
    const e = env({ rev: '6.5', backing: 'memfd_hugetlb', shared: true });
    const head = hugeFolioAt(e);
    const before = head._refcount.v;
    const tail = e.k.page(head.pfn + 1);
    let split = false;
    // Right after folio_ref_try_add_rcu() on the head, before page_folio() is read again: a split.
    e.c.onAccess = (op) => {
      if (!split && op.site.fn === 'folio_ref_try_add_rcu') {
        split = true;
        tail.compound_head.v = 0;
        tail._refcount.v = 1;
      }
    };
    expect(getFolio(e, tail, 2)).toBe(tail);
    expect(split).toBe(true);
    expect(head._refcount.v).toBe(before);
    expect(tail._refcount.v).toBe(3);
  });
});

describe('try_grab_folio (6.5)', () => {
  it('FOLL_GET takes plain references, no pin bias', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(grab(e, folio, 1, FOLL_GET)).toBe(folio);
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
  });

  it('FOLL_PIN adds GUP_PIN_COUNTING_BIAS per reference on a small folio', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(grab(e, folio, 2, FOLL_PIN)).toBe(folio);
    expect(counts(folio)).toEqual({ ref: 1 + 2 * GUP_PIN_COUNTING_BIAS, pin: 0 });
  });

  it('FOLL_PIN on a large folio adds the references to _refcount and the same number to _pincount', () => {
    const e = env({ rev: '6.5', backing: 'memfd_hugetlb', shared: true });
    const head = hugeFolioAt(e);
    const before = counts(head);
    expect(grab(e, e.k.page(head.pfn + 3), 3, FOLL_PIN | FOLL_WRITE)).toBe(head);
    expect(counts(head)).toEqual({ ref: before.ref + 3, pin: before.pin + 3 });
  });

  it('FOLL_PIN on the zero page returns its folio without touching the refcount', () => {
    const e = env({ rev: '6.5', touch: 'read' });
    const zero = e.k.page(e.k.zeroPfn);
    const before = zero._refcount.v;
    const seen = recordAccesses(e);
    expect(grab(e, zero, 1, FOLL_PIN)).toBe(zero);
    expect(zero._refcount.v).toBe(before);
    expect(seen).not.toContain('folio_ref_try_add_rcu');
  });

  it('FOLL_GET on the zero page does take a reference', () => {
    const e = env({ rev: '6.5', touch: 'read' });
    const zero = e.k.page(e.k.zeroPfn);
    const before = zero._refcount.v;
    expect(grab(e, zero, 1, FOLL_GET)).toBe(zero);
    expect(zero._refcount.v).toBe(before + 1);
  });

  it('WARNs and refuses without FOLL_GET or FOLL_PIN', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(grab(e, folio, 1, FOLL_WRITE)).toBeNull();
    expect(findings(e)).toEqual(['warn']);
    expect(e.k.w.findings[0]!.message).toMatch(/without FOLL_GET or FOLL_PIN/);
    expect(folio._refcount.v).toBe(1);
  });

  it('refuses a free folio for FOLL_PIN and adds no pin bias', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    folio._refcount.v = 0;
    expect(grab(e, folio, 1, FOLL_PIN)).toBeNull();
    expectWhy(e, 'try_get_folio', /_refcount 0/);
    expect(folio._refcount.v).toBe(0);
  });

  it('pins a ZONE_NORMAL folio long-term', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(grab(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBe(folio);
    expect(folio._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('checks folio_is_longterm_pinnable() after the get, then drops the reference (ZONE_MOVABLE)', () => {
    const e = env({ rev: '6.5', zone: 'movable' });
    const folio = folioAt(e);
    const seen = recordAccesses(e);
    expect(grab(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBeNull();
    expect(whyFns(e)).toEqual(['try_grab_folio']);
    expectWhy(e, 'try_grab_folio', /folio_is_longterm_pinnable\(\): .* is in ZONE_MOVABLE \(must be migrated first\)/);
    const got = seen.indexOf('folio_ref_try_add_rcu');
    expect(got).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('folio_put_refs')).toBeGreaterThan(got);
    expect(counts(folio)).toEqual({ ref: 1, pin: 0 });
  });

  it('on a frozen ZONE_MOVABLE folio, the get fails first: the zone is never asked', () => {
    const e = env({ rev: '6.5', zone: 'movable' });
    const folio = folioAt(e);
    folio._refcount.v = 0;
    expect(grab(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBeNull();
    expect(whyFns(e)).toEqual(['try_get_folio']);
    expect(folio._refcount.v).toBe(0);
  });
});

describe('try_grab_folio (6.1)', () => {
  it('checks is_longterm_pinnable_page() before the get: a ZONE_MOVABLE page is refused without touching its refcount', () => {
    const e = env({ rev: '6.1', zone: 'movable' });
    const folio = folioAt(e);
    const seen = recordAccesses(e);
    expect(grab(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBeNull();
    expect(whyFns(e)).toEqual(['try_grab_folio']);
    expectWhy(e, 'try_grab_folio', /is_longterm_pinnable_page\(\): .* is in ZONE_MOVABLE/);
    expect(seen).not.toContain('folio_ref_try_add_rcu');
    expect(seen).not.toContain('folio_put_refs');
    expect(folio._refcount.v).toBe(1);
  });

  it('on a frozen ZONE_MOVABLE folio, the zone test answers first', () => {
    const e = env({ rev: '6.1', zone: 'movable' });
    const folio = folioAt(e);
    folio._refcount.v = 0;
    expect(grab(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBeNull();
    expect(whyFns(e)).toEqual(['try_grab_folio']);
  });
});

describe('try_grab_folio (v7): the long-term write check inside try_grab_folio()', () => {
  it('refuses an ext4 MAP_SHARED folio for PIN|LONGTERM|WRITE and drops the references it took', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    const seen = recordAccesses(e);
    expect(grabV7(e, folio, 1, PIN_LONGTERM_WRITE)).toBeNull();
    expect(whyFns(e)).toEqual(['folio_longterm_write_pin_allowed']);
    expectWhy(e, 'folio_longterm_write_pin_allowed', /folio_mapping\(\) = address_space\(ext4.*not shmem or hugetlb: refused/);
    const got = seen.indexOf('folio_ref_try_add_rcu');
    expect(got).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('folio_put_refs')).toBeGreaterThan(got);
    expect(seen).not.toContain('folio_ref_add'); // the pin bias is never added
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
    expect(findings(e)).toEqual([]);
  });

  it('pins the ext4 folio when FOLL_WRITE is missing: the check is not run', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBe(folio);
    expect(e.why).toEqual([]);
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
  });

  it('pins the ext4 folio when FOLL_LONGTERM is missing', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, FOLL_PIN | FOLL_WRITE)).toBe(folio);
    expect(e.why).toEqual([]);
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
  });

  it('FOLL_GET returns before the check', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE)).toBe(folio);
    expect(folio._refcount.v).toBe(3);
  });

  it('pins an anon folio long-term and writable: folio_mapping() is NULL', () => {
    const e = env({ rev: 'v7' });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, PIN_LONGTERM_WRITE)).toBe(folio);
    expectWhy(e, 'folio_longterm_write_pin_allowed', /folio_mapping\(.*\) is NULL \(anonymous or no mapping\): allowed/);
    expect(folio._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });

  it('pins a memfd (shmem) folio long-term and writable', () => {
    const e = env({ rev: 'v7', backing: 'memfd', shared: true });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, PIN_LONGTERM_WRITE)).toBe(folio);
    expect(folio._refcount.v).toBe(2 + GUP_PIN_COUNTING_BIAS);
    expect(findings(e)).toEqual([]);
  });

  it('refuses a ZONE_MOVABLE page for FOLL_LONGTERM before the get, as 6.4 did', () => {
    const e = env({ rev: 'v7', zone: 'movable' });
    const folio = folioAt(e);
    const seen = recordAccesses(e);
    expect(grabV7(e, folio, 1, FOLL_PIN | FOLL_LONGTERM)).toBeNull();
    expect(seen).not.toContain('folio_ref_try_add_rcu');
    expect(folio._refcount.v).toBe(1);
    // v7's try_grab_folio() gives no explanation of its own for this refusal.
    expect(e.why).toEqual([]);
  });

  it('reports a lockdep splat (irqs-enabled-assert) when called with IRQs on', () => {
    const e = env({ rev: 'v7', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(grabV7(e, folio, 1, PIN_LONGTERM_WRITE, false)).toBeNull();
    expect(findings(e)).toEqual(['irqs-enabled-assert']);
    expect(e.k.w.findings[0]!.message).toMatch(/lockdep_assert_irqs_disabled\(\) in folio_longterm_write_pin_allowed\(\) with IRQs enabled/);
    expect(folio._refcount.v).toBe(2);
  });

  it('so the slow path hits that splat: pin_user_pages() of hugetlb calls it from follow_hugetlb_page() with IRQs on', () => {
    const e = env({ rev: 'v7', backing: 'memfd_hugetlb', shared: true });
    const head = hugeFolioAt(e);
    const before = counts(head);
    const pages: number[] = [];
    expect(run(e, () => pin_user_pages_unlocked(e.c, e.addr, 512, FOLL_LONGTERM | FOLL_WRITE, pages))).toBe(512);
    expect(pages[0]).toBe(head.pfn);
    expect(findings(e)).toEqual(['irqs-enabled-assert']);
    expectWhy(e, 'folio_longterm_write_pin_allowed', /hugetlb: allowed/);
    expect(counts(head)).toEqual({ ref: before.ref + 512, pin: before.pin + 512 });
  });

  it('on 6.5 the same slow-path hugetlb pin asserts nothing (the check moved out of try_grab_folio())', () => {
    const e = env({ rev: '6.5', backing: 'memfd_hugetlb', shared: true });
    const pages: number[] = [];
    expect(run(e, () => pin_user_pages_unlocked(e.c, e.addr, 512, FOLL_LONGTERM | FOLL_WRITE, pages))).toBe(512);
    expect(findings(e)).toEqual([]);
  });
});

describe('try_grab_folio (jg-proposal): the proposal\'s logic in v7\'s place', () => {
  it('refuses an ext4 MAP_SHARED folio for PIN|LONGTERM|WRITE, dropping the references', () => {
    const e = env({ rev: 'jg-proposal', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    expect(run(e, () => jg_proposal.fns.try_grab_folio(e.c, folio, 1, PIN_LONGTERM_WRITE), true)).toBeNull();
    expect(counts(folio)).toEqual({ ref: 2, pin: 0 });
    // jg_folio_allowed() explains only its last fallback (flagged or NULL mappings), not a non-shmem address_space.
    expect(e.why).toEqual([]);
  });

  it('pins an anon folio', () => {
    const e = env({ rev: 'jg-proposal' });
    const folio = folioAt(e);
    expect(run(e, () => jg_proposal.fns.try_grab_folio(e.c, folio, 1, PIN_LONGTERM_WRITE), true)).toBe(folio);
    expect(folio._refcount.v).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });
});

describe('try_grab_folio_fast (6.10+): GUP-fast\'s own grab', () => {
  it('pins as 6.5\'s try_grab_folio() does when called with IRQs off', () => {
    const e = env({ rev: '6.10' });
    const folio = folioAt(e);
    expect(run(e, () => rev('6.10').fns.try_grab_folio_fast(e.c, folio, 1, PIN_LONGTERM_WRITE), true)).toBe(folio);
    expect(counts(folio)).toEqual({ ref: 1 + GUP_PIN_COUNTING_BIAS, pin: 0 });
    expect(findings(e)).toEqual([]);
  });

  it('warns (VM_WARN_ON_ONCE(!irqs_disabled())) when called with IRQs on, and still grabs', () => {
    for (const name of ['6.10', '6.12', 'next']) {
      const e = env({ rev: name });
      const folio = folioAt(e);
      expect(run(e, () => rev(name).fns.try_grab_folio_fast(e.c, folio, 1, PIN_LONGTERM_WRITE), false)).toBe(folio);
      expect(findings(e)).toEqual(['warn']);
      expect(e.k.w.findings[0]!.message).toMatch(/VM_WARN_ON_ONCE: try_grab_folio_fast\(\) called with IRQs enabled/);
    }
  });

  it('6.5 has no such warning: GUP-fast and the slow path share try_grab_folio()', () => {
    const e = env({ rev: '6.5' });
    const folio = folioAt(e);
    expect(run(e, () => rev('6.5').fns.try_grab_folio_fast(e.c, folio, 1, PIN_LONGTERM_WRITE), false)).toBe(folio);
    expect(findings(e)).toEqual([]);
  });

  it('is named try_grab_folio_fast in 6.10\'s traces and pin explanations, try_grab_folio before', () => {
    expect(kernelName(rev('6.10'), 'try_grab_folio')).toBe('try_grab_folio_fast');
    expect(kernelName(rev('6.12'), 'try_grab_folio')).toBe('try_grab_folio_fast');
    expect(kernelName(rev('6.5'), 'try_grab_folio')).toBe('try_grab_folio');
  });
});
