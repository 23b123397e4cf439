/**
 * The GUP-fast file-backed check, per revision, called directly on folios of each kind:
 *   6.5  folio_fast_pin_allowed()            (src/kernel/revisions/linux-6.5.ts)
 *   6.10 gup_fast_folio_allowed(), and next's NULL-mapping fix (linux-6.10.ts)
 *   v7   folio_longterm_write_pin_allowed()  (v7.ts; its flag gate is in try_grab_folio())
 *   jg-proposal-after-recheck's folio_fast_pin_allowed() over jg_folio_allowed() (jg-proposal.ts)
 * IRQs are off, as in GUP-fast, unless a test says otherwise.
 */
import { describe, expect, it } from 'vitest';
import type { Ctx } from '../../src/kernel/kernel.ts';
import type { Folio } from '../../src/kernel/mm_types.ts';
import { alloc_pages_setup } from '../../src/kernel/page_alloc.ts';
import { allocate_slab } from '../../src/kernel/reuse.ts';
import { jg_proposal_after_recheck } from '../../src/kernel/revisions/jg-proposal.ts';
import { folio_fast_pin_allowed } from '../../src/kernel/revisions/linux-6.5.ts';
import { folio_longterm_write_pin_allowed } from '../../src/kernel/revisions/v7.ts';
import { add_to_swap } from '../../src/kernel/swap.ts';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_MAPPING_KSM, PAGE_MAPPING_MOVABLE } from '../../src/kernel/types.ts';
import type { Step } from '../../src/sim/op.ts';
import { type Env, type EnvOptions, env, expectWhy, findings, folioAt, hugeFolioAt, PIN_LONGTERM_WRITE, recordAccesses, rev, run } from './helpers.ts';

type Kind = 'anon' | 'shmem' | 'ext4' | 'null' | 'slab' | 'hugetlb' | 'secretmem' | 'ksm' | 'movable' | 'swapcache';

/** How to get a folio of each kind on a fresh kernel. */
const KINDS: Record<Kind, { opts: Omit<EnvOptions, 'rev'>; folio: (e: Env) => Folio }> = {
  anon: { opts: {}, folio: (e) => folioAt(e) },
  shmem: { opts: { backing: 'memfd', shared: true }, folio: (e) => folioAt(e) },
  ext4: { opts: { backing: 'ext4', shared: true }, folio: (e) => folioAt(e) },
  /** A driver's vm_insert_page() page: order 0, ->mapping NULL. */
  null: { opts: { backing: 'driver', shared: true, touch: 'none' }, folio: (e) => folioAt(e) },
  slab: {
    opts: { touch: 'none' },
    folio: (e) => run(e, () => allocate_slab(e.c, e.k.newKObjectOnce('kmem_cache', 'kmalloc-64'))),
  },
  hugetlb: { opts: { backing: 'memfd_hugetlb', shared: true }, folio: (e) => hugeFolioAt(e) },
  secretmem: { opts: { backing: 'secretmem', shared: true }, folio: (e) => folioAt(e) },
  ksm: {
    opts: {},
    folio: (e) => {
      const f = folioAt(e);
      f.mapping.v = e.k.newKObject('ksm_stable_node', 'stable node').ptr + PAGE_MAPPING_KSM;
      return f;
    },
  },
  /** A non-LRU movable page (zsmalloc, balloon): movable_ops | PAGE_MAPPING_MOVABLE. */
  movable: {
    opts: { touch: 'none' },
    folio: (e) => {
      const f = alloc_pages_setup(e.k, 0, 'normal', 'kernel', 'a zsmalloc page');
      f.mapping.v = e.k.newKObject('movable_ops', 'zsmalloc').ptr + PAGE_MAPPING_MOVABLE;
      return f;
    },
  },
  /** An anon folio that is also in the swap cache (still mapped). */
  swapcache: {
    opts: {},
    folio: (e) => {
      const f = folioAt(e);
      run(e, () => add_to_swap(e.c, f));
      return f;
    },
  },
};

type Check = (c: Ctx, folio: Folio, flags: number) => Step<boolean>;

interface Outcome {
  readonly ok: boolean;
  readonly e: Env;
  readonly folio: Folio;
  /** Functions whose accesses ran during the check. */
  readonly accessed: string[];
}

/** A fresh kernel on `revName`, a folio of `kind`, then the check on it. */
function check(revName: string, fn: Check, kind: Kind, flags: number, irqsOff = true): Outcome {
  const k = KINDS[kind];
  const e = env({ rev: revName, ...k.opts });
  const folio = k.folio(e);
  e.why.length = 0;
  const accessed = recordAccesses(e);
  const ok = run(e, () => fn(e.c, folio, flags), irqsOff);
  return { ok, e, folio, accessed };
}

const f65: Check = folio_fast_pin_allowed;
const f610: Check = (c, f, fl) => rev('6.10').fns.folio_fast_pin_allowed!(c, f, fl);
const fNext: Check = (c, f, fl) => rev('next').fns.folio_fast_pin_allowed!(c, f, fl);
const fV7: Check = (c, f) => folio_longterm_write_pin_allowed(c, f);
const fJg: Check = (c, f, fl) => jg_proposal_after_recheck.fns.folio_fast_pin_allowed!(c, f, fl);

const PARTIAL_FLAGS: readonly (readonly [string, number])[] = [
  ['FOLL_PIN', FOLL_PIN],
  ['FOLL_PIN|FOLL_LONGTERM', FOLL_PIN | FOLL_LONGTERM],
  ['FOLL_PIN|FOLL_WRITE', FOLL_PIN | FOLL_WRITE],
  ['FOLL_LONGTERM|FOLL_WRITE', FOLL_LONGTERM | FOLL_WRITE],
];

describe('folio_fast_pin_allowed (6.5), for PIN|LONGTERM|WRITE', () => {
  it('allows an anonymous folio', () => {
    const o = check('6.5', f65, 'anon', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_fast_pin_allowed', /is anonymous: allowed/);
  });

  it('allows a KSM folio (its mapping word has the ANON bit)', () => {
    const o = check('6.5', f65, 'ksm', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_fast_pin_allowed', /is anonymous: allowed/);
  });

  it('allows an anon folio in the swap cache (->mapping is still the anon_vma)', () => {
    expect(check('6.5', f65, 'swapcache', PIN_LONGTERM_WRITE).ok).toBe(true);
  });

  it('allows a shmem (memfd) folio', () => {
    const o = check('6.5', f65, 'shmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_fast_pin_allowed', /is shmem: allowed/);
  });

  it('refuses an ext4 page-cache folio', () => {
    const o = check('6.5', f65, 'ext4', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_fast_pin_allowed', /page cache of address_space\(ext4:.*not shmem: refused, fall back to the slow path/);
    expect(findings(o.e)).toEqual([]);
  });

  it('refuses a secretmem folio (not shmem)', () => {
    const o = check('6.5', f65, 'secretmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_fast_pin_allowed', /address_space\(secretmem.*not shmem: refused/);
  });

  it('refuses a folio with a NULL ->mapping, leaving it to the slow path', () => {
    const o = check('6.5', f65, 'null', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_fast_pin_allowed', /->mapping is NULL \(truncated\?\): let the slow path decide/);
  });

  it('refuses a non-LRU movable page', () => {
    const o = check('6.5', f65, 'movable', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_fast_pin_allowed', /non-LRU movable page: refused/);
  });

  it('WARNs on and refuses a slab folio, without reading its mapping word', () => {
    const o = check('6.5', f65, 'slab', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual(['warn']);
    expect(o.e.k.w.findings[0]!.message).toMatch(/folio_fast_pin_allowed\(\): .* is a slab page/);
    expect(o.accessed).not.toContain('folio_fast_pin_allowed');
    expect(o.e.why).toEqual([]);
  });

  it('allows a hugetlb folio before the lockdep assertion and the mapping read', () => {
    const o = check('6.5', f65, 'hugetlb', PIN_LONGTERM_WRITE, false);
    expect(o.ok).toBe(true);
    expect(o.e.why).toEqual([]);
    expect(findings(o.e)).toEqual([]);
    expect(o.accessed).not.toContain('folio_fast_pin_allowed');
  });

  it('asserts IRQs are disabled before reading ->mapping (irqs-enabled-assert with IRQs on)', () => {
    const o = check('6.5', f65, 'ext4', PIN_LONGTERM_WRITE, false);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual(['irqs-enabled-assert']);
    expect(o.e.k.w.findings[0]!.message).toMatch(/in folio_fast_pin_allowed\(\) with IRQs enabled/);
  });
});

describe('folio_fast_pin_allowed (6.5), without all of PIN|LONGTERM|WRITE', () => {
  for (const [name, flags] of PARTIAL_FLAGS) {
    it(`allows ext4, NULL-mapping and even slab folios for ${name} without looking at them`, () => {
      for (const kind of ['ext4', 'null', 'slab'] as const) {
        const o = check('6.5', f65, kind, flags);
        expect(o.ok, kind).toBe(true);
        expect(o.e.why, kind).toEqual([]);
        expect(findings(o.e), kind).toEqual([]);
        expect(o.accessed, kind).not.toContain('folio_test_slab');
      }
    });
  }
});

describe('gup_fast_folio_allowed (6.10), for PIN|LONGTERM|WRITE', () => {
  it('allows an anonymous folio from the mapping flags alone', () => {
    const o = check('6.10', f610, 'anon', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(o.e.why).toEqual([]);
  });

  it('allows a shmem folio', () => {
    const o = check('6.10', f610, 'shmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'gup_fast_folio_allowed', /is shmem: allowed/);
  });

  it('refuses an ext4 page-cache folio', () => {
    const o = check('6.10', f610, 'ext4', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'gup_fast_folio_allowed', /page cache of address_space\(ext4.*not shmem: refused/);
  });

  it('refuses a secretmem folio in the secretmem test, before the shmem test', () => {
    const o = check('6.10', f610, 'secretmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(o.accessed).toContain('secretmem_mapping');
    expect(o.accessed).not.toContain('shmem_mapping');
  });

  it('refuses a NULL-mapping folio', () => {
    const o = check('6.10', f610, 'null', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'gup_fast_folio_allowed', /->mapping is NULL: fall back to the slow path$/);
  });

  it('refuses a non-LRU movable page (flag bits without ANON)', () => {
    expect(check('6.10', f610, 'movable', PIN_LONGTERM_WRITE).ok).toBe(false);
  });

  it('WARNs on and refuses a slab folio', () => {
    const o = check('6.10', f610, 'slab', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual(['warn']);
    expect(o.e.k.w.findings[0]!.message).toMatch(/gup_fast_folio_allowed\(\): .* is a slab page/);
  });

  it('allows a hugetlb folio', () => {
    const o = check('6.10', f610, 'hugetlb', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(o.accessed).not.toContain('gup_fast_folio_allowed');
  });

  it('asserts IRQs are disabled (irqs-enabled-assert with IRQs on)', () => {
    const o = check('6.10', f610, 'ext4', PIN_LONGTERM_WRITE, false);
    expect(findings(o.e)).toEqual(['irqs-enabled-assert']);
    expect(o.e.k.w.findings[0]!.message).toMatch(/gup_fast_folio_allowed\(\) with IRQs enabled/);
  });
});

describe('gup_fast_folio_allowed (6.10): a short-term FOLL_PIN of an order-0 folio still runs the secretmem test', () => {
  it('allows an ext4 page-cache folio (not secretmem; file-backed folios are only rejected for long-term writes)', () => {
    const o = check('6.10', f610, 'ext4', FOLL_PIN | FOLL_WRITE);
    expect(o.ok).toBe(true);
    expect(o.accessed).toContain('secretmem_mapping');
    expect(o.e.why).toEqual([]);
  });

  it('refuses a secretmem folio', () => {
    expect(check('6.10', f610, 'secretmem', FOLL_PIN).ok).toBe(false);
  });

  it('refuses a NULL-mapping folio too: the driver-buffer regression', () => {
    const o = check('6.10', f610, 'null', FOLL_PIN | FOLL_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'gup_fast_folio_allowed', /->mapping is NULL: fall back to the slow path \(also for this non-long-term pin: check_secretmem\)/);
  });

  it('WARNs on a slab folio even for a short-term pin', () => {
    const o = check('6.10', f610, 'slab', FOLL_PIN);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual(['warn']);
  });

  it('allows a large (hugetlb) folio without any test: the secretmem test is for order 0 only', () => {
    const o = check('6.10', f610, 'hugetlb', FOLL_PIN, false);
    expect(o.ok).toBe(true);
    expect(o.accessed).not.toContain('folio_test_slab');
    expect(findings(o.e)).toEqual([]);
  });
});

describe('gup_fast_folio_allowed (next): the NULL-mapping fix', () => {
  it('allows a NULL-mapping folio for a short-term pin', () => {
    const o = check('next', fNext, 'null', FOLL_PIN | FOLL_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'gup_fast_folio_allowed', /->mapping is NULL and this is not a long-term write pin: allowed \(2026 fix\)/);
  });

  it('still refuses it for a long-term write pin', () => {
    const o = check('next', fNext, 'null', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'gup_fast_folio_allowed', /->mapping is NULL: fall back to the slow path$/);
  });

  it('still refuses a secretmem folio for a short-term pin', () => {
    expect(check('next', fNext, 'secretmem', FOLL_PIN).ok).toBe(false);
  });

  it('still refuses an ext4 folio for a long-term write pin', () => {
    expect(check('next', fNext, 'ext4', PIN_LONGTERM_WRITE).ok).toBe(false);
  });
});

describe('folio_longterm_write_pin_allowed (v7): !mapping || shmem_mapping(mapping) || folio_test_hugetlb(folio)', () => {
  it('allows an anonymous folio: folio_mapping() is NULL for a flagged mapping word', () => {
    const o = check('v7', fV7, 'anon', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /folio_mapping\(.*\) is NULL \(anonymous or no mapping\): allowed/);
  });

  it('allows a KSM folio the same way', () => {
    expect(check('v7', fV7, 'ksm', PIN_LONGTERM_WRITE).ok).toBe(true);
  });

  it('allows a shmem folio', () => {
    const o = check('v7', fV7, 'shmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(o.accessed).toContain('shmem_mapping');
  });

  it('refuses an ext4 page-cache folio', () => {
    const o = check('v7', fV7, 'ext4', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /folio_mapping\(\) = address_space\(ext4.*not shmem or hugetlb: refused/);
  });

  it('refuses an anon folio in the swap cache: folio_mapping() is the swap address_space', () => {
    const o = check('v7', fV7, 'swapcache', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /address_space\(swapper_space\).*refused/);
  });

  it('allows a NULL-mapping folio', () => {
    const o = check('v7', fV7, 'null', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /is NULL/);
  });

  it('allows a slab folio without a WARN: folio_mapping() of a slab is NULL', () => {
    const o = check('v7', fV7, 'slab', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(findings(o.e)).toEqual([]);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /is NULL/);
  });

  it('allows a hugetlb folio after the shmem test fails', () => {
    const o = check('v7', fV7, 'hugetlb', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /is hugetlb: allowed/);
  });

  it('refuses a secretmem folio', () => {
    const o = check('v7', fV7, 'secretmem', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'folio_longterm_write_pin_allowed', /address_space\(secretmem.*refused/);
  });

  it('asserts IRQs are disabled first, even for an anonymous folio', () => {
    const o = check('v7', fV7, 'anon', PIN_LONGTERM_WRITE, false);
    expect(o.ok).toBe(true);
    expect(findings(o.e)).toEqual(['irqs-enabled-assert']);
    expect(o.e.k.w.findings[0]!.message).toMatch(/folio_longterm_write_pin_allowed\(\) with IRQs enabled/);
  });
});

describe('folio_fast_pin_allowed (jg-proposal-after-recheck), for PIN|LONGTERM|WRITE', () => {
  it('allows an anonymous folio (mapping flags == PAGE_MAPPING_ANON)', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'anon', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(o.e.why).toEqual([]);
  });

  it('refuses a KSM folio: the strict == PAGE_MAPPING_ANON sends it to the slow path', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'ksm', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'jg_folio_allowed', /\|KSM: do GUP slow/);
  });

  it('refuses a non-LRU movable page', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'movable', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'jg_folio_allowed', /movable_ops\(zsmalloc\)\|MOVABLE: do GUP slow/);
  });

  it('refuses an anon folio in the swap cache before looking at the mapping', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'swapcache', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(o.accessed).not.toContain('jg_folio_allowed');
  });

  it('allows a shmem folio', () => {
    expect(check('jg-proposal-after-recheck', fJg, 'shmem', PIN_LONGTERM_WRITE).ok).toBe(true);
  });

  it('refuses an ext4 page-cache folio', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'ext4', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(o.accessed).toContain('shmem_mapping');
  });

  it('refuses a NULL-mapping folio', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'null', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expectWhy(o.e, 'jg_folio_allowed', /mapping NULL: do GUP slow/);
  });

  it('refuses a slab folio quietly: no WARN, no mapping read', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'slab', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual([]);
    expect(o.accessed).not.toContain('jg_folio_allowed');
  });

  it('allows a hugetlb folio', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'hugetlb', PIN_LONGTERM_WRITE);
    expect(o.ok).toBe(true);
    expect(o.accessed).not.toContain('jg_folio_allowed');
  });

  it('has no IRQ assertion', () => {
    const o = check('jg-proposal-after-recheck', fJg, 'ext4', PIN_LONGTERM_WRITE, false);
    expect(o.ok).toBe(false);
    expect(findings(o.e)).toEqual([]);
  });
});

describe('folio_fast_pin_allowed (jg-proposal-after-recheck), without all of PIN|LONGTERM|WRITE', () => {
  for (const [name, flags] of PARTIAL_FLAGS) {
    it(`allows ext4, NULL-mapping, KSM and slab folios for ${name}`, () => {
      for (const kind of ['ext4', 'null', 'ksm', 'slab'] as const) {
        const o = check('jg-proposal-after-recheck', fJg, kind, flags);
        expect(o.ok, kind).toBe(true);
        expect(o.e.why, kind).toEqual([]);
      }
    });
  }
});
