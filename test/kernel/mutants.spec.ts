/**
 * Which kernels a mutant changes is decided by comparing function tables by structure
 * (kernel/mutants.ts mutantChanges(), revision.ts fnStructure()), and what the mutated
 * functions do. The no-read-once mutant on 6.10+ replaces gup_fast_folio_allowed()'s one
 * READ_ONCE(folio->mapping) (kernel-gup-reference.md §11 row 11).
 */
import { describe, expect, it } from 'vitest';
import { applyMutant, findMutant, MUTANTS, mutantChanges, revisionsChangedByMutant } from '../../src/kernel/mutants.ts';
import { derive, fnStructure } from '../../src/kernel/revision.ts';
import { makeGupFastFolioAllowed } from '../../src/kernel/revisions/linux-6.10.ts';
import { env, findings, folioAt, PIN_LONGTERM_WRITE, rev, run } from './helpers.ts';

const mutant = (name: string) => findMutant(name)!;

describe('which kernels a mutant changes', () => {
  it('no-read-once changes 6.5\'s folio_fast_pin_allowed() and, from 6.10, gup_fast_folio_allowed()', () => {
    expect(revisionsChangedByMutant(mutant('no-read-once'))).toEqual(['6.5', '6.10', '6.12', '6.15', 'next']);
    expect(mutantChanges(mutant('no-read-once'), rev('6.12'))).toEqual(['folio_fast_pin_allowed']);
  });

  it('a mutant with nothing to act on changes nothing: no check to move, no READ_ONCE or NULL test to drop', () => {
    for (const k of ['6.1', 'v7', 'jg-proposal']) expect(mutantChanges(mutant('check-before-recheck'), rev(k))).toEqual([]);
    for (const k of ['6.1', 'v7', 'jg-proposal', 'jg-proposal-after-recheck']) expect(mutantChanges(mutant('no-read-once'), rev(k))).toEqual([]);
    expect(() => applyMutant(rev('6.1'), mutant('no-null-check'))).toThrow(/changes nothing on 6\.1/);
  });

  it('compares by structure: a mutant applied to a kernel that already has its change changes nothing', () => {
    for (const name of ['no-null-check', 'no-read-once', 'no-recheck', 'no-irq-disable']) {
      const once = applyMutant(rev('6.12'), mutant(name));
      const again = derive(once, { name: 'twice' });
      expect(mutantChanges(mutant(name), again), name).toEqual([]);
    }
  });

  it('the same builder with the same parameters is the same structure; other parameters are not', () => {
    const a = makeGupFastFolioAllowed({ nullAllowsNonLongterm: false, nullCheck: true, readOnce: true });
    expect(fnStructure(a)).toBe(fnStructure(rev('6.12').fns.folio_fast_pin_allowed));
    expect(fnStructure(a)).not.toBe(fnStructure(rev('next').fns.folio_fast_pin_allowed));
    expect(fnStructure(makeGupFastFolioAllowed({ nullAllowsNonLongterm: false, nullCheck: true, readOnce: false }))).not.toBe(fnStructure(a));
  });

  it('every mutant changes 6.5 and 6.12 (the kernels the examples run most)', () => {
    for (const m of MUTANTS) for (const k of ['6.5', '6.12']) expect(mutantChanges(m, rev(k)).length, `${m.name} on ${k}`).toBeGreaterThan(0);
  });
});

describe('no-read-once on 6.12: gup_fast_folio_allowed() loads folio->mapping at each use', () => {
  const truncatedBetweenLoads = (kernel: string) => {
    const r = applyMutant(rev(kernel), mutant('no-read-once'));
    const e = env({ rev: r, backing: 'ext4', shared: true });
    const folio = folioAt(e);
    let loads = 0;
    // Right after the first load of ->mapping (its NULL test passed), truncation clears it.
    e.c.onAccess = (op) => {
      if (op.site.fn === 'gup_fast_folio_allowed' && /folio->mapping/.test(op.site.action) && ++loads === 1) folio.mapping.v = 0;
    };
    // A dereference of NULL is an oops: it stops the (sequential) run, which says so.
    expect(() => run(e, () => r.fns.folio_fast_pin_allowed!(e.c, folio, PIN_LONGTERM_WRITE), true)).toThrow(/execution stopped.*NULL pointer dereference/);
    return { e, loads };
  };

  it('dereferences NULL when truncate clears ->mapping between the NULL test and the next use', () => {
    const { e, loads } = truncatedBetweenLoads('6.12');
    expect(loads).toBe(3); // the NULL test, the flag bits, secretmem_mapping(): each its own load
    expect(findings(e)).toEqual(['null-deref']);
    expect(e.k.w.findings[0]!.message).toMatch(/secretmem_mapping\(\): NULL pointer dereference/);
  });

  it('unmutated 6.12 reads ->mapping once and is not affected by the same change after the read', () => {
    const e = env({ rev: '6.12', backing: 'ext4', shared: true });
    const folio = folioAt(e);
    let loads = 0;
    e.c.onAccess = (op) => {
      if (op.site.fn === 'gup_fast_folio_allowed' && /folio->mapping/.test(op.site.action) && ++loads === 1) folio.mapping.v = 0;
    };
    expect(run(e, () => rev('6.12').fns.folio_fast_pin_allowed!(e.c, folio, PIN_LONGTERM_WRITE), true)).toBe(false);
    expect(loads).toBe(1);
    expect(findings(e)).toEqual([]);
  });
});
