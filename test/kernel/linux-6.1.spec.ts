/**
 * Linux 6.1's own GUP behaviour where it differs from 6.5 (src/kernel/revisions/linux-6.1.ts;
 * kernel-gup-reference.md §11 rows 3, 4, 5 and 12): its argument checks, its gup_must_unshare(),
 * GUP-fast's long-term fallback without FOLL_TOUCH, pin_user_pages_unlocked(FOLL_LONGTERM), and
 * the zero page pinned with the full bias. Each test runs the same call on 6.1 and on a later
 * revision.
 */
import { describe, expect, it } from 'vitest';
import { pin_user_pages, pin_user_pages_fast, pin_user_pages_unlocked, unpin_user_pages } from '../../src/kernel/gup.ts';
import { pin_longterm_test_start, PIN_LONGTERM_TEST_FLAG_USE_WRITE } from '../../src/kernel/gup_test.ts';
import { down_read, up_read } from '../../src/sim/sync.ts';
import { EINVAL, errnoName, FOLL_FAST_ONLY, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, PAGE_SIZE } from '../../src/kernel/types.ts';
import { site, type Step } from '../../src/sim/op.ts';
import { type Env, env, expectWhy, findings, folioAt, run, whyFns } from './helpers.ts';

type Api = 'fast' | 'locked' | 'unlocked';
const S_lock = site('caller', 'mmap_read_lock() around pin_user_pages()');
function pin(e: Env, api: Api, flags: number, nr = 1, start = e.addr): { ret: number; pages: number[] } {
  const pages: number[] = [];
  const c = e.c;
  const ret = run(e, function* (): Step<number> {
    if (api === 'fast') return yield* pin_user_pages_fast(c, start, nr, flags, pages);
    if (api === 'unlocked') return yield* pin_user_pages_unlocked(c, start, nr, flags, pages);
    yield* down_read(c, c.mm!.mmap_lock, S_lock);
    const r = yield* pin_user_pages(c, start, nr, flags, pages);
    yield* up_read(c, c.mm!.mmap_lock, S_lock);
    return r;
  });
  return { ret, pages };
}
const result = (r: { ret: number }) => (r.ret < 0 ? errnoName(r.ret) : r.ret);

describe('6.1: each pin API checks its own arguments (no is_valid_gup_args())', () => {
  it('FOLL_GET is -EINVAL with a WARN from pin_user_pages_fast() and pin_user_pages(); v7 (is_valid_gup_args(), 6.3/6.4) returns 0 and 6.5 -EINVAL from the fast one', () => {
    for (const api of ['fast', 'locked'] as const) {
      const e = env({ rev: '6.1' });
      expect(result(pin(e, api, FOLL_GET | FOLL_WRITE))).toBe('EINVAL');
      expect(findings(e)).toEqual(['warn']);
      expectWhy(e, 'pin_user_pages', /FOLL_GET .*-EINVAL/);
    }
    expect(result(pin(env({ rev: 'v7' }), 'fast', FOLL_GET))).toBe(0);
    expect(result(pin(env({ rev: 'v7' }), 'locked', FOLL_GET))).toBe(0);
    expect(result(pin(env({ rev: '6.5' }), 'fast', FOLL_GET))).toBe('EINVAL');
  });

  it('a caller\'s FOLL_PIN|FOLL_FAST_ONLY is taken: GUP-fast only, nothing on an unfaulted page and no fallback; 6.5 refuses the internal flags', () => {
    const e = env({ rev: '6.1', touch: 'none' });
    expect(result(pin(e, 'fast', FOLL_PIN | FOLL_FAST_ONLY | FOLL_WRITE))).toBe(0);
    expect(whyFns(e)).not.toContain('internal_get_user_pages_fast');
    expect(findings(e)).toEqual([]);
    const t = env({ rev: '6.1' });
    expect(result(pin(t, 'fast', FOLL_PIN | FOLL_FAST_ONLY | FOLL_WRITE))).toBe(1);
    const f = env({ rev: '6.5', touch: 'none' });
    expect(result(pin(f, 'fast', FOLL_PIN | FOLL_FAST_ONLY | FOLL_WRITE))).toBe('EINVAL');
    expect(findings(f)).toEqual(['warn']);
  });

  it('an overflowing range returns 0 on 6.1 and -EOVERFLOW from 6.5', () => {
    const huge = 2 ** 52;
    expect(result(pin(env({ rev: '6.1' }), 'fast', FOLL_WRITE, huge))).toBe(0);
    expect(result(pin(env({ rev: '6.5' }), 'fast', FOLL_WRITE, huge))).toBe('EOVERFLOW');
  });

  it('pin_user_pages_unlocked(FOLL_LONGTERM) is -EINVAL (get_user_pages_unlocked() refuses it); without FOLL_LONGTERM it pins', () => {
    const e = env({ rev: '6.1' });
    expect(result(pin(e, 'unlocked', FOLL_LONGTERM | FOLL_WRITE))).toBe('EINVAL');
    expect(findings(e)).toEqual(['warn']);
    expectWhy(e, 'get_user_pages_unlocked', /FOLL_LONGTERM .*-EINVAL/);
    const ok = env({ rev: '6.1' });
    const r = pin(ok, 'unlocked', FOLL_WRITE);
    expect(result(r)).toBe(1);
    run(ok, () => unpin_user_pages(ok.c, r.pages));
    expect(result(pin(env({ rev: '6.5' }), 'unlocked', FOLL_LONGTERM | FOLL_WRITE))).toBe(1);
  });
});

describe('6.1: GUP-fast\'s long-term fallback keeps the caller\'s flags (no FOLL_TOUCH)', () => {
  // A page GUP-fast cannot pin long-term (ZONE_MOVABLE) and whose PTE is writable but clean: the
  // slow path's FOLL_TOUCH would mark the folio dirty (follow_page_pte(): FOLL_WRITE && !pte_dirty).
  const fallback = (kernel: string) => {
    const e = env({ rev: kernel, backing: 'memfd', shared: true, touch: 'read', zone: 'movable' });
    const r = pin(e, 'fast', FOLL_WRITE | FOLL_LONGTERM);
    expect(result(r)).toBe(1);
    const folio = e.k.page(r.pages[0]!);
    return { e, dirty: folio.PG_dirty.v };
  };
  it('so the pinned folio is not dirtied on 6.1, and is on 6.5 (FOLL_TOUCH|FOLL_UNLOCKABLE)', () => {
    const old = fallback('6.1');
    expectWhy(old.e, 'internal_get_user_pages_fast', /keeps the caller's flags, no FOLL_TOUCH/);
    expect(old.dirty).toBe(false);
    const now = fallback('6.5');
    expect(whyFns(now.e)).toContain('internal_get_user_pages_fast');
    expect(now.dirty).toBe(true);
  });
});

describe('6.1: gup_must_unshare() is false for any page that is not anonymous', () => {
  it('a R/O long-term pin of an ext4 MAP_PRIVATE page is taken on the fast path, of the page-cache page itself', () => {
    const e = env({ rev: '6.1', backing: 'ext4', shared: false, touch: 'read' });
    const cache = folioAt(e);
    const r = pin(e, 'fast', FOLL_LONGTERM);
    expect(r.pages).toEqual([cache.pfn]);
    expect(e.why).toEqual([]);
  });
  it('6.5 sends it to the slow path, which unshares: the pin is on an anon copy, not the page cache', () => {
    const e = env({ rev: '6.5', backing: 'ext4', shared: false, touch: 'read' });
    const cache = folioAt(e);
    const r = pin(e, 'fast', FOLL_LONGTERM);
    expect(result(r)).toBe(1);
    expect(r.pages).not.toEqual([cache.pfn]);
    expect(whyFns(e)).toEqual(['gup_pte_range', 'internal_get_user_pages_fast', 'follow_page_pte']);
    expect(e.k.page(r.pages[0]!).ghost.owner).toBe('anon');
  });
  it('the slow path on 6.1 pins the page-cache page too (no unshare fault)', () => {
    const e = env({ rev: '6.1', backing: 'ext4', shared: false, touch: 'read' });
    expect(pin(e, 'locked', FOLL_LONGTERM).pages).toEqual([folioAt(e).pfn]);
    expect(e.why).toEqual([]);
  });
});

describe('6.1: the zero page is pinned with the full bias', () => {
  const zeroPin = (kernel: string) => {
    const e = env({ rev: kernel, touch: 'read' }); // a read fault maps the zero page
    const zero = e.k.page(e.k.zeroPfn);
    const before = zero._refcount.v;
    const r = pin(e, 'locked', 0);
    expect(r.pages).toEqual([e.k.zeroPfn]);
    const during = zero._refcount.v - before;
    run(e, () => unpin_user_pages(e.c, r.pages));
    return { during, after: zero._refcount.v - before, e };
  };
  it('on 6.1 and v7 a R/O pin adds GUP_PIN_COUNTING_BIAS to the zero page and the unpin takes it off', () => {
    for (const k of ['6.1', 'v7']) expect(zeroPin(k), k).toMatchObject({ during: GUP_PIN_COUNTING_BIAS, after: 0 });
  });
  it('from 6.5 the zero page is never pinned', () => {
    for (const k of ['6.5', '6.12']) expect(zeroPin(k), k).toMatchObject({ during: 0, after: 0 });
  });
});

describe('6.1: no PIN_LONGTERM_TEST_START in mm/gup_test.c', () => {
  it('the ioctl is -EINVAL on 6.1 and pins on 6.5', () => {
    for (const [k, want] of [['6.1', -EINVAL], ['6.5', 0]] as const) {
      const e = env({ rev: k });
      expect(run(e, () => pin_longterm_test_start(e.c, { pages: null }, e.addr, PAGE_SIZE, PIN_LONGTERM_TEST_FLAG_USE_WRITE)), k).toBe(want);
    }
  });
});
