/*
 * End-of-run checks (the `refcount` and `anon-pin-not-exclusive` findings): the checker's
 * equivalent of the kernel's "Bad page state" and DEBUG_VM page sanity checks, run when every
 * CPU has finished.
 *
 * refcount audit: every allocated folio's _refcount must equal what its holders account for —
 *   page-table entries mapping it (one per PTE; one per PMD/PUD leaf for a large folio),
 *   the page cache and the swap cache (one each), the owner of a kernel page (slab, driver),
 *   and the pins and references GUP handed to callers that have not been released
 *   (GUP_PIN_COUNTING_BIAS each for a small folio; one each plus _pincount for a large one).
 *   More is a leak, less means someone dropped a reference it did not own. A free page must
 *   have _refcount 0.
 *
 * exclusivity: a FOLL_PIN'd anonymous page still mapped in the pinning process must be
 *   PageAnonExclusive; otherwise a later CoW fault leaves the pin on the child's copy (the fork
 *   race mm->write_protect_seq closes).
 *
 * Left out: mapcount and _entire_mapcount consistency, LRU membership, memcg charges.
 */
import type { Finding } from '../sim/world.ts';
import type { Kernel } from './kernel.ts';
import type { Page } from './mm_types.ts';
import { PTE_LEVEL, pte_huge, pte_pfn, pte_present, pte_special } from './pgtable.ts';
import { GUP_PIN_COUNTING_BIAS, PAGE_MAPPING_ANON } from './types.ts';

function headOf(k: Kernel, p: Page): Page {
  const h = p.compound_head.v;
  return h === 0 ? p : k.page(h - 1);
}

/** References each folio's holders account for, by head pfn. */
function accountedRefs(k: Kernel): Map<number, { n: number; how: string[] }> {
  const acc = new Map<number, { n: number; how: string[] }>();
  const add = (pfn: number, n: number, how: string) => {
    let e = acc.get(pfn);
    if (!e) acc.set(pfn, (e = { n: 0, how: [] }));
    e.n += n;
    e.how.push(how);
  };
  for (const t of k.tables.values()) {
    if (!t.live.v) continue;
    for (const [va, cell] of t.existing()) {
      const v = cell.v;
      if (!pte_present(v)) continue;
      if (t.level === PTE_LEVEL) {
        if (pte_special(v)) continue;
        const head = headOf(k, k.page(pte_pfn(v)));
        add(head.pfn, 1, `PTE at 0x${va.toString(16)}`);
      } else if (pte_huge(v)) {
        add(pte_pfn(v), 1, `huge entry at 0x${va.toString(16)}`);
      }
    }
  }
  for (const as of k.mappings) {
    if (as === k.swapSpace) continue;
    for (const [idx, pfn] of as.i_pages) add(pfn, 1, `page cache of ${as.desc} [${idx}]`);
  }
  for (const pfn of k.swapCache.values()) add(pfn, 1, 'swap cache');
  return acc;
}

export function auditRefcounts(k: Kernel): Finding[] {
  const out: Finding[] = [];
  const acc = accountedRefs(k);
  for (const p of k.pages.values()) {
    if (p.compound_head.v !== 0) continue; // tail page: accounted on the head
    if (p.pfn === k.zeroPfn) continue;
    const g = p.ghost;
    const rc = p._refcount.v;
    if (g.owner === 'free') {
      if (rc !== 0) {
        out.push(finding(`${p.name} is free but its _refcount is ${rc}: a reference was taken on a free page`));
      }
      continue;
    }
    if (g.frozen) continue;
    const large = p.PG_head.v;
    const a = acc.get(p.pfn) ?? { n: 0, how: [] };
    const expected = a.n + g.ownerRefs + g.gets + (large ? g.pins : g.pins * GUP_PIN_COUNTING_BIAS);
    if (rc !== expected) {
      const holders = [...a.how];
      if (g.ownerRefs) holders.push(`owner (${g.ownerDesc})`);
      if (g.pins) holders.push(`${g.pins} pin(s) held by GUP callers`);
      if (g.gets) holders.push(`${g.gets} FOLL_GET reference(s)`);
      out.push(
        finding(
          `${p.name} (${g.ownerDesc}) has _refcount ${rc} but its holders account for ${expected}: ${holders.join(', ') || 'none'} — ${rc > expected ? 'a reference was leaked' : 'a reference was dropped that its holder still counts on'}`,
        ),
      );
    }
    if (large && p._pincount.v !== g.pins) {
      out.push(finding(`${p.name} has _pincount ${p._pincount.v} but GUP callers hold ${g.pins} pin(s)`));
    }
  }
  return out;
}

function finding(message: string): Finding {
  return { id: 'refcount', message, thread: -1, step: -1, fatal: false };
}

/** Pinned anonymous pages that are mapped but no longer exclusive (see header). */
export function auditPinnedExclusive(k: Kernel): Finding[] {
  const out: Finding[] = [];
  for (const p of k.pages.values()) {
    if (p.compound_head.v !== 0 || p.ghost.pins === 0) continue;
    if ((p.mapping.v & PAGE_MAPPING_ANON) === 0) continue;
    const excl = p.PG_hugetlb.v ? p.PG_anon_exclusive.v : p.PG_anon_exclusive.v;
    if (!excl && p._mapcount.v > 0) {
      out.push({
        id: 'anon-pin-not-exclusive',
        message: `${p.name} is pinned (FOLL_PIN) and mapped, but no longer PageAnonExclusive: it is shared with a fork child, and the next write fault in the parent copies it away from the pin`,
        thread: -1,
        step: -1,
        fatal: false,
      });
    }
  }
  return out;
}
