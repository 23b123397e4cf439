/*
 * Named changes to a revision, each undoing a protection the kernel relies on, so the checker
 * can show it catches the bug that follows (McKenney: test tools with bug-injected code).
 * `gupcheck selftest` runs every mutant against the bundled examples.
 */
import type { MutantSwitches, Revision } from './revision.ts';

export interface Mutant {
  readonly name: string;
  /** What it changes, in kernel words. */
  readonly change: string;
  /** What should catch it. */
  readonly expect: string;
  readonly switches: MutantSwitches;
  /** Revisions it makes sense for. */
  readonly appliesTo: (r: Revision) => boolean;
}

const hasFastCheck = (r: Revision) => r.fns.folio_fast_pin_allowed !== undefined;
const any = () => true;

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'check-before-recheck',
    change: 'GUP-fast runs the file-backed check before the PMD/PTE re-check, as v7 did',
    expect: 'wild-deref when the page is freed and reused in between (RCU table-free architectures)',
    switches: { checkBeforeRecheck: true },
    appliesTo: hasFastCheck,
  },
  {
    name: 'no-recheck',
    change: 'GUP-fast drops the PMD/PTE value re-check after taking the reference',
    expect: 'pin-on-reused-page: a freed and reused page is returned as pinned',
    switches: { noRecheck: true },
    appliesTo: any,
  },
  {
    name: 'no-folio-recheck',
    change: "try_get_folio() takes its add-unless-zero reference but does not re-check page_folio(page) afterwards",
    expect: 'pin-on-reused-page: the page was split away from the folio the reference is on',
    switches: { noFolioRecheck: true },
    appliesTo: any,
  },
  {
    name: 'plain-get',
    change: 'try_get_folio() takes a plain reference on page_folio() (no add-unless-zero, no folio re-check)',
    expect: 'pin-on-reused-page / refcount when a THP is split or the page freed meanwhile',
    switches: { plainGet: true },
    appliesTo: any,
  },
  {
    name: 'no-read-once',
    change: "the file-backed check reads folio->mapping with plain loads (the compiler may reload it at each use)",
    expect: 'null-deref when truncate clears ->mapping between the NULL test and the dereference',
    switches: { noReadOnce: true },
    appliesTo: hasFastCheck,
  },
  {
    name: 'no-null-check',
    change: 'the file-backed check does not test ->mapping for NULL',
    expect: 'null-deref on a truncated folio',
    switches: { noNullCheck: true },
    appliesTo: hasFastCheck,
  },
  {
    name: 'no-write-protect-seq',
    change: 'GUP-fast ignores mm->write_protect_seq (fork may write-protect anon pages during the walk)',
    expect: 'anon-pin-not-exclusive: a pinned anon page shared with the fork child',
    switches: { noWriteProtectSeq: true },
    appliesTo: any,
  },
  {
    name: 'no-irq-disable',
    change: 'GUP-fast walks with IRQs enabled (no local_irq_save)',
    expect: 'irqs-enabled-assert; page tables or inodes freed under the walk',
    switches: { noIrqDisable: true },
    appliesTo: any,
  },
  {
    name: 'unpin-wrong-count',
    change: 'unpin_user_pages() drops GUP_PIN_COUNTING_BIAS - 1 references for a small folio instead of 1024',
    expect: 'refcount: a reference is leaked',
    switches: { unpinWrongCount: true },
    appliesTo: any,
  },
  {
    name: 'skip-page-mkwrite',
    change: 'a write fault on a shared file mapping does not call ->page_mkwrite',
    expect: 'dirty-without-mkwrite: the folio is dirtied without the filesystem preparing it',
    switches: { skipPageMkwrite: true },
    appliesTo: any,
  },
  {
    name: 'table-free-no-sync',
    change: 'page tables are freed at once, without waiting for IRQs-off CPUs (no IPI sync, no RCU)',
    expect: 'pt-use-after-free: GUP-fast reads a freed page-table page',
    switches: { tableFreeNoSync: true },
    appliesTo: any,
  },
  {
    name: 'no-copy-on-pin',
    change: 'fork shares a possibly-pinned anon page with the child instead of copying it',
    expect: 'anon-pin-not-exclusive',
    switches: { noCopyOnPin: true },
    appliesTo: any,
  },
];

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}

/** The revision with the mutant applied. */
export function applyMutant(rev: Revision, m: Mutant): Revision {
  return { ...rev, mut: { ...(rev.mut ?? {}), ...m.switches }, mutant: m.name };
}
