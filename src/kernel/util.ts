/*
 * Models folio_mapping() (mm/util.c, 6.1–6.5) and the dereferences of a mapping pointer that
 * the GUP-fast checks make: shmem_mapping() (mm/shmem.c: mapping->a_ops == &shmem_aops) and
 * secretmem_mapping() (mapping->a_ops == &secretmem_aops).
 *
 * folio_mapping(): slab -> NULL; swap cache -> swap_address_space(folio->swap); mapping word
 * with PAGE_MAPPING_FLAGS bits -> NULL; else the address_space. It reads folio->mapping with
 * a plain load and uses it twice (the flag test and the return), so the model loads it twice:
 * the compiler may (Peter Zijlstra on v7 3/3: "folio_mapping() itself seems to be missing a
 * READ_ONCE() to avoid the compiler from emitting the load multiple times").
 *
 * Dereferencing (deref_a_ops) is where a wild pointer becomes a finding: the word must point
 * at a live address_space. NULL is `null-deref`; junk, a slab's word (its kmem_cache up to 6.4,
 * slab_list.prev from 6.5), an anon_vma or a freed inode is `wild-deref`. Both end the execution (the kernel would oops or compare
 * garbage).
 */
import { announce, load } from '../sim/cell.ts';
import { READ, type Site, type Step, site } from '../sim/op.ts';
import type { Ctx } from './kernel.ts';
import type { AddressSpace, AOps, Folio } from './mm_types.ts';
import { folio_test_slab, folio_test_swapcache } from './page_ref.ts';
import { PAGE_MAPPING_FLAGS } from './types.ts';

const S_fm_load = site('folio_mapping', 'load folio->mapping (plain)');
const S_fm_swap = site('folio_mapping', 'load folio->swap');
const S_deref = site('shmem_mapping', 'read mapping->a_ops');

/** folio_mapping(): returns the mapping word of an address_space, or 0. */
export function* folio_mapping(c: Ctx, folio: Folio): Step<number> {
  if (yield* folio_test_slab(c, folio)) return 0;
  if (yield* folio_test_swapcache(c, folio)) {
    yield* load(c, folio.private, S_fm_swap);
    return c.k.swapSpace.ptr; // swap_address_space(entry)
  }
  const tested = yield* load(c, folio.mapping, S_fm_load);
  if (tested & PAGE_MAPPING_FLAGS) return 0;
  // Second use of the plain load: the compiler may load again.
  return yield* load(c, folio.mapping, S_fm_load);
}

/**
 * `mapping->a_ops`: the dereference. Returns the a_ops, or null after recording a finding
 * (the execution then stops).
 */
export function* deref_a_ops(c: Ctx, word: number, s: Site = S_deref): Step<AOps | null> {
  const k = c.k;
  if (word === 0) {
    yield announce(c, 0, READ, s);
    c.w.report('null-deref', `${s.fn}(): NULL pointer dereference reading mapping->a_ops`, true);
    return null;
  }
  const obj = k.kobjs.get(word);
  if (!obj) {
    const flagged = k.kobjs.get(word - (word & 3));
    yield announce(c, flagged ? flagged.live.id : 0, READ, s);
    const what = flagged ? `${k.describeWord(word)} (a tagged pointer, not an address_space)` : `junk word 0x${word.toString(16)}`;
    c.w.report('wild-deref', `${s.fn}(): dereferenced mapping = ${what} as an address_space`, true);
    return null;
  }
  const op = announce(c, obj.live.id, READ, s);
  yield op;
  if (!obj.live.v) {
    c.w.report('wild-deref', `${s.fn}(): dereferenced a freed ${obj.kind} (${obj.desc}): use after free`, true);
    return null;
  }
  if (obj.kind !== 'address_space') {
    c.w.report('wild-deref', `${s.fn}(): dereferenced ${obj.kind}(${obj.desc}) as an address_space`, true);
    return null;
  }
  const aops = (obj as AddressSpace).a_ops;
  op.after = aops.name;
  return aops;
}

const S_shmem = site('shmem_mapping', 'mapping->a_ops == &shmem_aops');
const S_secretmem = site('secretmem_mapping', 'mapping->a_ops == &secretmem_aops');

/** shmem_mapping(mapping). Returns null if the dereference was a finding. */
export function* shmem_mapping(c: Ctx, word: number): Step<boolean | null> {
  const a = yield* deref_a_ops(c, word, S_shmem);
  return a === null ? null : a === c.k.shmemAops;
}

export function* secretmem_mapping(c: Ctx, word: number): Step<boolean | null> {
  const a = yield* deref_a_ops(c, word, S_secretmem);
  return a === null ? null : a.name === 'secretmem_aops';
}
