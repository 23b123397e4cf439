/**
 * Kernel function names as a given revision spells them. The model's common code uses the 6.5
 * names; 6.10 renamed the GUP-fast functions ("mm/gup: consistently name GUP-fast functions").
 */
const GUP_FAST_RENAMES: Record<string, string> = {
  gup_pte_range: 'gup_fast_pte_range',
  gup_pmd_range: 'gup_fast_pmd_range',
  gup_pud_range: 'gup_fast_pud_range',
  gup_pgd_range: 'gup_fast_pgd_range',
  gup_huge_pmd: 'gup_fast_pmd_leaf',
  gup_huge_pud: 'gup_fast_pud_leaf',
  lockless_pages_from_mm: 'gup_fast',
  internal_get_user_pages_fast: 'gup_fast_fallback',
  folio_fast_pin_allowed: 'gup_fast_folio_allowed',
  unpin_user_pages_lockless: 'gup_fast_unpin_user_pages',
};

export interface Naming {
  readonly gupFastNames: boolean;
}

export function kernelName(rev: Naming, fn: string): string {
  if (!rev.gupFastNames) return fn;
  // GUP-fast's grab is try_grab_folio_fast() from 6.10 (f442fa614137, in 6.10.0); on these
  // revisions the model's try_grab_folio() runs only there.
  if (fn === 'try_grab_folio') return 'try_grab_folio_fast';
  return GUP_FAST_RENAMES[fn] ?? fn;
}
