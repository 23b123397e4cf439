/*
 * Jason Gunthorpe's proposed check logic from the seed thread (2 May 2023, "So.. Your
 * function really ought to be doing this logic"):
 *   slab -> slow; swap cache -> slow; hugetlb -> fast; mapping = READ_ONCE(folio->mapping);
 *   (mapping & FLAGS) == PAGE_MAPPING_ANON -> fast; no flags and non-NULL -> a_ops == shmem;
 *   else slow.
 * Two placements:
 *   jg-proposal                where v7 placed its check: inside try_grab_folio(), before the
 *                              PTE re-check (David Hildenbrand's point: better logic does not
 *                              fix the placement);
 *   jg-proposal-after-recheck  where 6.5 placed it: after the re-check.
 * Note the strict `== PAGE_MAPPING_ANON`: KSM folios (mapping | 3) go to the slow path.
 */
import { READ_ONCE } from '../../sim/cell.ts';
import { type Step, site } from '../../sim/op.ts';
import type { Ctx } from '../kernel.ts';
import type { Folio } from '../mm_types.ts';
import { folio_test_hugetlb, folio_test_slab, folio_test_swapcache } from '../page_ref.ts';
import { derive } from '../revision.ts';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS } from '../types.ts';
import { shmem_mapping } from '../util.ts';
import { linux_6_5 } from './linux-6.5.ts';
import { makeTryGrabFolioWithCheck, v7 } from './v7.ts';

const S_mapping = site('jg_folio_allowed', 'mapping = READ_ONCE(folio->mapping)');

/** The proposal's logic (no flag gate: the caller decides when to call it). */
export function* jg_folio_allowed(c: Ctx, folio: Folio): Step<boolean> {
  if (yield* folio_test_slab(c, folio)) return false;
  if (yield* folio_test_swapcache(c, folio)) return false;
  if (yield* folio_test_hugetlb(c, folio)) return true;
  const mapping = yield* READ_ONCE(c, folio.mapping, S_mapping);
  if ((mapping & PAGE_MAPPING_FLAGS) === PAGE_MAPPING_ANON) return true;
  if ((mapping & PAGE_MAPPING_FLAGS) === 0 && mapping) return (yield* shmem_mapping(c, mapping)) === true;
  c.why?.('jg_folio_allowed', `mapping ${c.k.describeWord(mapping)}: do GUP slow`);
  return false;
}

const PLW = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

export const jg_proposal = derive(v7, {
  name: 'jg-proposal',
  title: "Jason Gunthorpe's proposal, v7 placement",
  summary: "the seed's proposed check logic, inside try_grab_folio() before the PTE re-check (as v7 placed it)",
  order: 606,
  fns: { try_grab_folio: makeTryGrabFolioWithCheck(jg_folio_allowed) },
});

export const jg_proposal_after_recheck = derive(linux_6_5, {
  name: 'jg-proposal-after-recheck',
  title: "Jason Gunthorpe's proposal, after the re-check",
  summary: "the seed's proposed check logic, placed after the PTE re-check (as 6.5 placed its check)",
  order: 607,
  fns: {
    *folio_fast_pin_allowed(c: Ctx, folio: Folio, flags: number): Step<boolean> {
      if ((flags & PLW) !== PLW) return true;
      return yield* jg_folio_allowed(c, folio);
    },
  },
});
