/**
 * The gup_longterm selftest against the model: the 6.5-era expectation matrix
 * (docs/reference/kernel-gup-reference.md §7.2) passes on 6.5+, and the older revisions fail exactly where the
 * series changed behaviour.
 */
import { describe, expect, it } from 'vitest';
import { MATRIX_BACKINGS, runMatrix, TEST_CASES } from '../../src/answer/matrix.ts';

const cache = new Map<string, ReturnType<typeof runMatrix>>();
const matrix = (k: string) => {
  if (!cache.has(k)) cache.set(k, runMatrix(k));
  return cache.get(k)!;
};
const failing = (kernel: string) =>
  matrix(kernel)
    .filter((c) => c.selftest === 'FAIL')
    .map((c) => `${c.test} | ${c.backing}`)
    .sort();

describe('gup_longterm matrix', () => {
  it('has the selftest\'s 10 test cases, in order, on 8 backings', () => {
    const cells = matrix('6.5');
    expect(cells).toHaveLength(TEST_CASES.length * MATRIX_BACKINGS.length);
    expect(TEST_CASES.map((t) => t.name)).toEqual([
      'R/W longterm GUP pin in MAP_SHARED file mapping',
      'R/W longterm GUP-fast pin in MAP_SHARED file mapping',
      'R/O longterm GUP pin in MAP_SHARED file mapping',
      'R/O longterm GUP-fast pin in MAP_SHARED file mapping',
      'R/W longterm GUP pin in MAP_PRIVATE file mapping',
      'R/W longterm GUP-fast pin in MAP_PRIVATE file mapping',
      'R/O longterm GUP pin in MAP_PRIVATE file mapping',
      'R/O longterm GUP-fast pin in MAP_PRIVATE file mapping',
      'io_uring fixed buffer with MAP_SHARED file mapping',
      'io_uring fixed buffer with MAP_PRIVATE file mapping',
    ]);
  });

  it('passes on 6.5, 6.12 and next; skips only the writable MAP_SHARED tests on the unknown filesystem', () => {
    for (const k of ['6.5', '6.12', 'next']) {
      const cells = matrix(k);
      expect(failing(k), k).toEqual([]);
      const skipped = cells.filter((c) => c.selftest === 'SKIP');
      expect(skipped.map((c) => c.backing)).toEqual(Array(3).fill('local tmpfile (unknown fs: f2fs)'));
      expect(skipped.every((c) => c.message === 'Unknown filesystem')).toBe(true);
    }
  });

  it('6.5 refuses R/W long-term pins of ext4/xfs/btrfs MAP_SHARED with EFAULT on both paths and io_uring', () => {
    const cells = matrix('6.5');
    for (const b of ['local tmpfile (ext4)', 'local tmpfile (xfs)', 'local tmpfile (btrfs)']) {
      for (const t of [0, 1, 8]) expect(cells.find((c) => c.test === TEST_CASES[t]!.name && c.backing === b)!.result).toBe('EFAULT');
    }
  });

  it('6.1 has no PIN_LONGTERM_TEST_START: every GUP cell the selftest reaches is SKIP (EINVAL), as on a real 6.1; io_uring fails where it refused files (EOPNOTSUPP)', () => {
    const cells = matrix('6.1');
    const gup = cells.filter((c) => !c.test.startsWith('io_uring') && c.message !== 'Unknown filesystem');
    expect(gup.length).toBe(8 * MATRIX_BACKINGS.length - 2); // the two R/W MAP_SHARED tests skip f2fs before pinning
    for (const c of gup) expect([c.result, c.selftest, c.message]).toEqual(['EINVAL', 'SKIP', 'PIN_LONGTERM_TEST_START failed']);
    const expected = ['ext4', 'xfs', 'btrfs', 'unknown fs: f2fs'].map((x) => `io_uring fixed buffer with MAP_PRIVATE file mapping | local tmpfile (${x})`).sort();
    expect(failing('6.1')).toEqual(expected);
    expect(cells.find((c) => c.test.startsWith('io_uring fixed buffer with MAP_PRIVATE') && c.backing.includes('ext4'))!.result).toBe('EOPNOTSUPP');
  });

  it('v7 fails the slow-path R/W MAP_PRIVATE tests on real filesystems (v7 1/3) but passes the GUP-fast one', () => {
    const f = failing('v7');
    expect(f.filter((x) => x.startsWith('R/W longterm GUP pin in MAP_PRIVATE'))).toHaveLength(4);
    expect(f.filter((x) => x.startsWith('R/W longterm GUP-fast pin in MAP_PRIVATE'))).toHaveLength(0);
  });
});
