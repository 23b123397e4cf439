/*
 * Helpers shared inside src/kernel/, as mm/internal.h and the inline parts of include/linux/mm.h
 * are shared inside mm/: the fault return codes and their errno, VMA predicates, the pinnability
 * test, and the small refcounting helpers both GUP and the faults and migration use
 * (try_grab_page(), gup_put_folio(), gup_must_unshare()). Keeping them here keeps the imports of
 * gup.ts, memory.ts, hugetlb.ts, filemap.ts and migrate.ts one-way.
 *
 * Left out: everything of mm/internal.h no modelled path uses.
 */
import type { Step } from '../sim/op.ts';
import { type Ctx, WARN_ON_ONCE } from './kernel.ts';
import type { Folio, Page, Vma } from './mm_types.ts';
import { atomic_add_pincount, folio_put_refs, folio_ref_add, folio_ref_count, folio_test_anon, folio_test_large, is_zero_page, PageAnonExclusive, page_folio } from './page_ref.ts';
import { EFAULT, EHWPOISON, ENOMEM, FOLL_GET, FOLL_HWPOISON, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, VM_MAYWRITE, VM_SHARED } from './types.ts';

// ===== vm_fault_t (include/linux/mm_types.h) and fault flags =====

export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_HWPOISON = 0x10;
export const VM_FAULT_SIGSEGV = 0x40;
export const VM_FAULT_NOPAGE = 0x100;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON;
export const FAULT_FLAG_WRITE = 0x1;
export const FAULT_FLAG_UNSHARE = 0x400;

/** vm_fault_to_errno(). */
export function vm_fault_to_errno(ret: number, foll: number): number {
  if (ret & VM_FAULT_OOM) return -ENOMEM;
  if (ret & VM_FAULT_HWPOISON) return foll & FOLL_HWPOISON ? -EHWPOISON : -EFAULT;
  if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) return -EFAULT;
  return 0;
}

/** The allocation zone for user pages: ZONE_MOVABLE if the backing says so, unless under memalloc_pin. */
export function userZone(c: Ctx, vma: Vma): 'normal' | 'movable' | 'cma' {
  if (c.memallocPin) return 'normal';
  return vma.vm_mm === c.k.mms[0] ? c.k.userZone : 'normal';
}

// ===== VMA predicates (include/linux/mm.h) =====

export function vma_is_anonymous(vma: Vma): boolean {
  return vma.vm_ops === null;
}

export function is_vm_hugetlb_page(vma: Vma): boolean {
  return vma.vm_file?.hugetlb === true;
}

export function vma_is_secretmem(vma: Vma): boolean {
  return vma.vm_file?.secretmem === true;
}

export function vma_is_shmem(vma: Vma): boolean {
  return vma.vm_file?.shmem === true;
}

/** is_cow_mapping(): private and may be written. */
export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** folio_is_longterm_pinnable() (6.5): not CMA, not ZONE_MOVABLE; the zero page always is. */
export function folio_is_longterm_pinnable(c: Ctx, folio: Folio): boolean {
  if (is_zero_page(c, folio)) return true;
  return folio.ghost.zone === 'normal';
}

/** try_grab_page() (6.5, slow path under the PTL): 0 or -errno. 6.1 (6.1.20 mm/gup.c:209) pins the zero page too (c.rev.pinsZeroPage). */
export function* try_grab_page(c: Ctx, page: Page, flags: number): Step<number> {
  const folio = yield* page_folio(c, page);
  if (WARN_ON_ONCE(c, (yield* folio_ref_count(c, folio)) <= 0, `try_grab_page(): ${folio.name} _refcount <= 0`)) return -ENOMEM;
  if (flags & FOLL_GET) {
    yield* folio_ref_add(c, folio, 1);
  } else if (flags & FOLL_PIN) {
    if (is_zero_page(c, page) && !c.rev.pinsZeroPage) return 0;
    if (yield* folio_test_large(c, folio)) {
      yield* folio_ref_add(c, folio, 1);
      yield* atomic_add_pincount(c, folio, 1);
    } else {
      yield* folio_ref_add(c, folio, GUP_PIN_COUNTING_BIAS);
    }
  }
  return 0;
}

/** gup_put_folio() (§2.4). */
export function* gup_put_folio(c: Ctx, folio: Folio, refs: number, flags: number): Step<void> {
  let n = refs;
  if (flags & FOLL_PIN) {
    if (is_zero_page(c, folio) && !c.rev.pinsZeroPage) return;
    if (yield* folio_test_large(c, folio)) yield* atomic_add_pincount(c, folio, -refs);
    else n = refs * GUP_PIN_COUNTING_BIAS;
  }
  yield* folio_put_refs(c, folio, n);
}

/**
 * gup_must_unshare() (mm/internal.h 6.5:969; 6.12.118 :1373, §3.3): only R/O FOLL_PIN. Non-anon:
 * only FOLL_LONGTERM, and with no VMA (GUP-fast) "must unshare" (= slow path); with a VMA,
 * only in COW mappings. Anon: unshare unless PageAnonExclusive. 6.1's (include/linux/mm.h
 * 6.1.20:3073, 6.1.192:3189; c.rev.gupMustUnshareNonAnon false) returns false for any non-anon
 * page.
 */
export function* gup_must_unshare(c: Ctx, vma: Vma | null, flags: number, page: Page): Step<boolean> {
  if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const folio = yield* page_folio(c, page);
  if (!(yield* folio_test_anon(c, folio))) {
    if (!c.rev.gupMustUnshareNonAnon) return false;
    if (!(flags & FOLL_LONGTERM)) return false;
    if (!vma) return true;
    return is_cow_mapping(vma.vm_flags);
  }
  return !(yield* PageAnonExclusive(c, page));
}
