/**
 * Each revision's distinctive pin behaviour, as docs/reference/kernel-gup-reference.md documents it, computed by
 * running the model (issue 3 "Done when"). Every test also requires the refcounts to balance.
 */
import { describe, expect, it } from 'vitest';
import { answerPin, type PinQuery } from '../../src/answer/pin.ts';
import { REVISION_NAMES } from '../../src/kernel/revisions/index.ts';

function pin(over: Partial<PinQuery>) {
  const q: PinQuery = {
    kernel: '6.5',
    arch: 'x86',
    via: 'pin_user_pages_fast',
    write: true,
    longterm: true,
    backing: 'ext4',
    shared: true,
    prot: 'rw',
    touch: 'write',
    ...over,
  };
  const a = answerPin(q);
  const refcount = a.findings.filter((f) => f.id === 'refcount' || f.id === 'warn');
  expect(refcount, 'refcounts balance after the pin and unpin').toEqual([]);
  return a;
}
const fns = (a: { path: readonly (readonly [string, string])[] }) => a.path.map(([fn]) => fn);

describe('6.1 (before the series)', () => {
  it('pins an ext4 MAP_SHARED page writable and long-term, on both paths', () => {
    for (const via of ['pin_user_pages', 'pin_user_pages_fast'] as const) {
      const a = pin({ kernel: '6.1', via });
      expect(a.result).toBe('ok');
      expect(a.findings.map((f) => f.id)).toContain('longterm-write-pin-on-dirty-tracked-file');
    }
  });
  it('io_uring refuses any file that is not shmem or hugetlbfs with EOPNOTSUPP, private or shared', () => {
    for (const backing of ['ext4', 'xfs', 'btrfs'] as const) {
      for (const shared of [true, false]) expect(pin({ kernel: '6.1', via: 'io_uring', backing, shared }).result).toBe('EOPNOTSUPP');
    }
    for (const backing of ['memfd', 'tmpfs', 'memfd_hugetlb', 'hugetlbfs', 'anon'] as const) {
      expect(pin({ kernel: '6.1', via: 'io_uring', backing }).result).toBe('ok');
    }
  });
});

describe('6.5 (merged)', () => {
  it('refuses a long-term write pin of ext4 MAP_SHARED with EFAULT on the slow path', () => {
    const a = pin({ via: 'pin_user_pages' });
    expect(a.result).toBe('EFAULT');
    expect(fns(a)).toEqual(['check_vma_flags']);
  });
  it('refuses it on the fast path too: folio_fast_pin_allowed() falls back, then the slow path says EFAULT', () => {
    const a = pin({ via: 'pin_user_pages_fast' });
    expect(a.result).toBe('EFAULT');
    expect(fns(a)).toEqual(['folio_fast_pin_allowed', 'gup_pte_range', 'internal_get_user_pages_fast', 'check_vma_flags']);
  });
  it('io_uring now gets EFAULT from GUP for ext4 MAP_SHARED and works for MAP_PRIVATE', () => {
    expect(pin({ via: 'io_uring' }).result).toBe('EFAULT');
    expect(pin({ via: 'io_uring', shared: false }).result).toBe('ok');
  });
  it('leaves short-term write pins and long-term read pins of ext4 MAP_SHARED alone', () => {
    expect(pin({ longterm: false }).result).toBe('ok');
    expect(pin({ write: false, via: 'pin_user_pages' }).result).toBe('ok');
  });
  it('allows shmem, memfd, hugetlb and anonymous memory', () => {
    for (const backing of ['memfd', 'tmpfs', 'memfd_hugetlb', 'hugetlbfs', 'anon'] as const) {
      expect(pin({ backing }).result, backing).toBe('ok');
    }
  });
  it('refuses secretmem (memfd_secret) on both paths', () => {
    expect(pin({ backing: 'secretmem' }).result).toBe('EFAULT');
    expect(pin({ backing: 'secretmem', longterm: false, write: false }).result).toBe('EFAULT');
  });
});

describe('v7 (the seed)', () => {
  it('refuses MAP_PRIVATE ext4 on the slow path (v7 1/3 has no shared-writable test)', () => {
    const a = pin({ kernel: 'v7', via: 'pin_user_pages', shared: false });
    expect(a.result).toBe('EFAULT');
    expect(a.path.at(-1)?.[1]).toMatch(/v7 1\/3/);
  });
  it("lets an already-CoWed MAP_PRIVATE page through on the fast path (it is anon now)", () => {
    const a = pin({ kernel: 'v7', via: 'pin_user_pages_fast', shared: false, touch: 'write' });
    expect(a.result).toBe('ok');
    expect(fns(a)).not.toContain('check_vma_flags');
  });
  it('but not a never-written MAP_PRIVATE page (read-only PTE: the slow path refuses it)', () => {
    expect(pin({ kernel: 'v7', shared: false, touch: 'read' }).result).toBe('EFAULT');
  });
  it('refuses even short-term FOLL_PIN writes to a dirty-tracked file on the slow path (v7 2/3)', () => {
    const a = pin({ kernel: 'v7', via: 'pin_user_pages', longterm: false });
    expect(a.result).toBe('EFAULT');
    expect(pin({ kernel: '6.5', via: 'pin_user_pages', longterm: false }).result).toBe('ok');
  });
  it('fires the lockdep assertion on the slow hugetlb path (try_grab_folio with IRQs on)', () => {
    const a = pin({ kernel: 'v7', via: 'pin_user_pages', backing: 'memfd_hugetlb' });
    expect(a.result).toBe('ok');
    expect(a.findings.map((f) => f.id)).toContain('irqs-enabled-assert');
    expect(pin({ kernel: '6.5', via: 'pin_user_pages', backing: 'memfd_hugetlb' }).findings.map((f) => f.id)).not.toContain(
      'irqs-enabled-assert',
    );
  });
});

describe('6.10 / 6.12 and next', () => {
  it('6.12 sends a vm_insert_page() driver page (NULL mapping, order 0) to the slow path even for a short-term pin', () => {
    const a = pin({ kernel: '6.12', backing: 'driver', longterm: false });
    expect(a.result).toBe('ok');
    expect(fns(a)).toContain('internal_get_user_pages_fast');
  });
  it('next (the 2026 fix) and 6.5 pin it on the fast path', () => {
    for (const kernel of ['next', '6.5']) {
      const a = pin({ kernel, backing: 'driver', longterm: false });
      expect(a.result).toBe('ok');
      expect(fns(a), kernel).not.toContain('internal_get_user_pages_fast');
    }
  });
});

describe('every revision', () => {
  it('a write pin of a PROT_READ mapping is EFAULT, whatever the API, backing or map', () => {
    for (const kernel of REVISION_NAMES) {
      for (const via of ['io_uring', 'pin_user_pages', 'pin_user_pages_fast'] as const) {
        for (const backing of ['anon', 'memfd', 'ext4', 'memfd_hugetlb'] as const) {
          for (const shared of [true, false]) {
            expect(pin({ kernel, via, backing, shared, prot: 'r', touch: 'read' }).result, `${kernel} ${via} ${backing} ${shared}`).toBe(
              'EFAULT',
            );
          }
        }
      }
    }
  });
  it('a long-term pin migrates pages out of ZONE_MOVABLE first (check_and_migrate_movable_pages)', () => {
    for (const via of ['pin_user_pages', 'pin_user_pages_fast'] as const) {
      const a = pin({ kernel: '6.5', via, backing: 'anon', shared: false, zone: 'movable' });
      expect(a.result).toBe('ok');
      expect(fns(a)).toContain('check_and_migrate_movable_pages');
    }
    expect(fns(pin({ kernel: '6.5', backing: 'anon', shared: false, zone: 'movable', longterm: false }))).not.toContain(
      'check_and_migrate_movable_pages',
    );
  });
});
