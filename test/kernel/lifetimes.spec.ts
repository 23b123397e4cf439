/**
 * Files, inodes and address_spaces live as long as the kernel keeps them (issue 14 item 1;
 * docs/reference/kernel-gup-reference.md §11 row 14): a mapped file's inode cannot be freed,
 * truncation makes later faults SIGBUS rather than new pages, and GUP-fast can see a freed
 * address_space only after the file is unmapped and closed (and unlinked, if it had a name) and
 * an RCU grace period has passed, which its IRQs-off walk holds off.
 *
 * Each scenario here is explored by the checker (DPOR, complete, or PCT with a fixed seed); the
 * assertions are on what the exploration reached.
 */
import { describe, expect, it } from 'vitest';
import type { Results } from '../../src/check/results.ts';
import { REVISIONS } from '../../src/kernel/revisions/index.ts';
import { ARCHES, type Arch } from '../../src/kernel/types.ts';
import { explore } from '../../src/run/run.ts';
import { parseScenario } from '../../src/scenarios/parse.ts';

function scenario(name: string, layout: string, cpus: Record<string, string[]>, extra = ''): string {
  const lines = [`name: ${name}`, 'shows: a lifetime regression', 'layout:', `  - ${layout}`, 'cpus:'];
  for (const [cpu, ops] of Object.entries(cpus)) lines.push(`  ${cpu}:`, ...ops.map((o) => `    - ${o}`));
  return `${lines.join('\n')}\n${extra}`;
}

function run(src: string, kernel: string, arch: Arch, mutant: string | null = null, strategy: 'dpor' | 'pct' = 'dpor', samples?: number): Results {
  const s = parseScenario('lifetimes.yaml', src).scenario;
  return explore(s, { kernel, arch, mutant }, { strategy, seed: 7, samples, collectStates: strategy === 'dpor' });
}

const findingIds = (r: Results) => [...r.findings.keys()].sort();
const outcome = (r: Results, key: string) => [...(r.outcomes.get(key)?.keys() ?? [])].sort();
/** The final states' lines about files (scenarios/present.ts stateKey()). */
const fileStates = (r: Results) => [...new Set([...r.states!].flatMap((s) => s.split('\n').filter((l) => l.startsWith('file '))))].sort();

const EXT4 = '{ name: f, backing: ext4, map: shared, prot: rw, pages: 1, touch: write }';
const MEMFD = '{ name: f, backing: memfd, map: shared, prot: rw, pages: 1, touch: write }';
const PIN = '{ op: pin_user_pages_fast, vma: f, flags: [FOLL_WRITE, FOLL_LONGTERM] }';

describe('truncation never frees a mapped file, and a fault past EOF is SIGBUS', () => {
  const src = scenario('truncate-touch-pin', EXT4, { CPU0: ['{ op: truncate, vma: f }', '{ op: touch, vma: f }', PIN] });
  for (const rev of REVISIONS) {
    for (const arch of ARCHES) {
      it(`truncate, touch and pin on one CPU find nothing on ${rev.name}/${arch}: the touch is SIGBUS and the inode stays`, () => {
        const r = run(src, rev.name, arch);
        expect(r.complete).toBe(true);
        expect(findingIds(r)).toEqual([]);
        expect(outcome(r, 'CPU0.0')).toEqual(['truncated']);
        expect(outcome(r, 'CPU0.1')).toEqual(['SIGBUS']);
        expect(outcome(r, 'CPU0.2')).not.toContain('pinned-fast');
        expect(fileStates(r).join('\n')).not.toMatch(/freed|freeing/);
      });
    }
  }

  it('a fault past EOF after truncation is SIGBUS on shmem (memfd), hugetlbfs and xfs too', () => {
    for (const layout of [MEMFD, '{ name: f, backing: hugetlbfs, map: shared, prot: rw, pages: 1, touch: write }', '{ name: f, backing: xfs, map: private, prot: rw, pages: 1, touch: read }']) {
      const r = run(scenario('truncate-touch', layout, { CPU0: ['{ op: truncate, vma: f }', '{ op: touch, vma: f, how: read }'] }), '6.5', 'x86');
      expect(outcome(r, 'CPU0.1'), layout).toEqual(['SIGBUS']);
    }
  });

  it('a fault racing truncation either maps the page before it goes (truncate then unmaps it) or is SIGBUS', () => {
    const r = run(scenario('truncate-vs-touch', MEMFD.replace('touch: write', 'touch: none'), { CPU0: ['{ op: truncate, vma: f }'], CPU1: ['{ op: touch, vma: f }'] }), '6.5', 'arm64');
    expect(r.complete).toBe(true);
    expect(findingIds(r)).toEqual([]);
    expect(outcome(r, 'CPU1')).toEqual(['SIGBUS', 'ok']);
    // Whatever the order, nothing stays mapped and the page cache past EOF holds no mapped page.
    for (const s of r.states!) expect(s, s).not.toMatch(/^pte@.*present/m);
  });

  it('truncate racing GUP-fast and a page reuse on ext4 gives no wild or NULL dereference on 6.1, 6.5, 6.12 and next (complete DPOR)', () => {
    const src = scenario('truncate-vs-pin-reuse', EXT4, { CPU0: [PIN], CPU1: ['{ op: truncate, vma: f }'], CPU2: ['{ op: reuse, owner: any, vma: f }'] });
    for (const kernel of ['6.1', '6.5', '6.12', 'next']) {
      for (const arch of ARCHES) {
        const r = run(src, kernel, arch);
        expect(r.complete, `${kernel}/${arch}`).toBe(true);
        expect(r.executions, `${kernel}/${arch}`).toBeGreaterThan(30);
        expect(findingIds(r).filter((f) => f === 'wild-deref' || f === 'null-deref'), `${kernel}/${arch}`).toEqual([]);
        // The reuse did hand out the truncated page in some execution.
        expect([...(r.outcomes.get('CPU2')?.keys() ?? [])].some((v) => v.includes('reused page')), `${kernel}/${arch}`).toBe(true);
      }
    }
  });

  it('the same race sampled by PCT gives no wild dereference either (it did when truncate freed the inode)', () => {
    const src = scenario('truncate-vs-pin-reuse', EXT4, { CPU0: [PIN], CPU1: ['{ op: truncate, vma: f }'], CPU2: ['{ op: reuse, owner: any, vma: f }'] });
    for (const kernel of ['6.1', '6.5', '6.12', 'next']) {
      for (const arch of ARCHES) {
        const r = run(src, kernel, arch, null, 'pct', 1000);
        expect(r.executions).toBe(1000);
        expect(findingIds(r).filter((f) => f === 'wild-deref' || f === 'null-deref'), `${kernel}/${arch}`).toEqual([]);
      }
    }
  });
});

describe('the inode goes only when the file is unmapped, closed and nameless', () => {
  it('closing a mapped memfd keeps its inode (the VMA holds the file); munmap then frees it', () => {
    const closeOnly = run(scenario('close', MEMFD, { CPU0: ['{ op: close, vma: f }'] }), '6.5', 'x86');
    expect(fileStates(closeOnly)).toEqual(['file tmpfs:memfd:test: f_count 1; i_size 4096 i_nlink 0']);
    const both = run(scenario('close-munmap', MEMFD, { CPU0: ['{ op: close, vma: f }', '{ op: munmap, vma: f }'] }), '6.5', 'x86');
    expect(fileStates(both)).toEqual(['file tmpfs:memfd:test: f_count 0 released; i_size 4096 i_nlink 0 freeing freed']);
  });

  it('an ext4 file that still has a name stays cached after munmap and close; unlink lets it go', () => {
    const kept = run(scenario('munmap-close', EXT4, { CPU0: ['{ op: munmap, vma: f }', '{ op: close, vma: f }'] }), '6.5', 'arm64');
    expect(fileStates(kept)).toEqual(['file ext4:/mnt/ext4/file: f_count 0 released; i_size 4096 i_nlink 1']);
    const gone = run(scenario('munmap-close-unlink', EXT4, { CPU0: ['{ op: munmap, vma: f }', '{ op: close, vma: f }'], CPU1: ['{ op: unlink, vma: f }'] }), '6.5', 'arm64');
    expect(gone.complete).toBe(true);
    // Whichever of the last dput() and unlink() comes second evicts, once.
    expect(fileStates(gone)).toEqual(['file ext4:/mnt/ext4/file: f_count 0 released; i_size 4096 i_nlink 0 freeing freed']);
    expect(findingIds(gone)).toEqual([]);
  });

  it('a fork child keeps the file: the parent unmapping and closing a memfd does not free it', () => {
    const r = run(scenario('fork-munmap-close', MEMFD, { CPU0: ['{ op: fork, vma: f }', '{ op: munmap, vma: f }', '{ op: close, vma: f }'] }), '6.5', 'x86');
    expect(fileStates(r)).toEqual(['file tmpfs:memfd:test: f_count 1; i_size 4096 i_nlink 0']);
  });

  it('a second close is EBADF, a second unlink ENOENT, and ftruncate after close EBADF', () => {
    const r = run(scenario('twice', EXT4, { CPU0: ['{ op: close, vma: f }', '{ op: close, vma: f }', '{ op: unlink, vma: f }', '{ op: unlink, vma: f }', '{ op: truncate, vma: f }'] }), '6.5', 'x86');
    expect([outcome(r, 'CPU0.0'), outcome(r, 'CPU0.1'), outcome(r, 'CPU0.2'), outcome(r, 'CPU0.3'), outcome(r, 'CPU0.4')]).toEqual([['closed'], ['EBADF'], ['unlinked'], ['ENOENT'], ['EBADF']]);
  });

  it('a truncate racing the last close holds the file: it either truncates (and may evict at fdput) or gets EBADF', () => {
    const r = run(scenario('truncate-vs-close', MEMFD, { CPU0: ['{ op: munmap, vma: f }', '{ op: close, vma: f }'], CPU1: ['{ op: truncate, vma: f }'] }), '6.5', 'arm64');
    expect(r.complete).toBe(true);
    expect(findingIds(r)).toEqual([]);
    expect(outcome(r, 'CPU1')).toEqual(['EBADF', 'truncated']);
    expect(fileStates(r).every((l) => l.endsWith('freeing freed'))).toBe(true);
  });
});

describe('GUP-fast against the RCU free of a closed file (example 13 and its ext4 form)', () => {
  const memfd = scenario('pin-vs-munmap-close', MEMFD, { CPU0: [PIN], CPU1: ['{ op: munmap, vma: f }', '{ op: close, vma: f }'] });
  const ext4 = scenario('pin-vs-munmap-close-unlink', EXT4, { CPU0: [PIN], CPU1: ['{ op: munmap, vma: f }', '{ op: close, vma: f }', '{ op: unlink, vma: f }'] });

  it('munmap and close racing GUP-fast on 6.5/arm64 is clean: IRQs off hold off the grace period that frees the inode', () => {
    for (const src of [memfd, ext4]) {
      const r = run(src, '6.5', 'arm64');
      expect(r.complete).toBe(true);
      expect(findingIds(r)).toEqual([]);
      // The address_space was freed in every execution: the race was there to lose.
      expect(fileStates(r).every((l) => l.endsWith('freed'))).toBe(true);
    }
  });

  it('with the no-irq-disable mutant the use after free of the address_space is found', () => {
    for (const src of [memfd, ext4]) {
      const r = run(src, '6.5', 'arm64', 'no-irq-disable');
      expect(r.complete).toBe(true);
      const wild = r.findings.get('wild-deref');
      expect(wild).toBeDefined();
      expect(wild!.best.message).toMatch(/dereferenced a freed address_space \((tmpfs:memfd:test|ext4:\/mnt\/ext4\/file)\): use after free/);
    }
  });
});

describe('scenario errors for lifetimes that cannot be', () => {
  const bad = (layout: string, op: string, extra = '') => () => parseScenario('bad.yaml', scenario('bad', layout, { CPU0: [op] }, extra));
  it('truncate with free_inode: true is refused, with how to free the inode instead', () => {
    expect(bad(EXT4, '{ op: truncate, vma: f, free_inode: true }')).toThrow(/bad\.yaml:\d+:\d+: .*truncate cannot free the inode: the VMA's file holds it/);
    expect(bad(EXT4, '{ op: truncate, vma: f, free_inode: false }')).not.toThrow();
  });
  it('close of anonymous memory and unlink of a nameless file are refused', () => {
    expect(bad('{ name: f, backing: anon, map: shared }', '{ op: close, vma: f }')).toThrow(/anonymous memory has no file descriptor/);
    expect(bad(MEMFD, '{ op: unlink, vma: f }')).toThrow(/unlink needs a VMA of a file with a name \('f' is memfd, which has no name\)/);
  });
  it('an outcome expectation names the key the outcome is recorded under', () => {
    const two = scenario('two', EXT4, { CPU0: ['{ op: truncate, vma: f }', '{ op: touch, vma: f }'] }, 'expect:\n  - { outcome: { CPU0: SIGBUS }, is: always }\n');
    expect(() => parseScenario('two.yaml', two)).toThrow(/CPU0 records 2 outcomes \(truncate as CPU0\.0, touch as CPU0\.1\) under CPU0\.0, CPU0\.1, not 'CPU0'/);
    const ok = two.replace('CPU0: SIGBUS', 'CPU0.1: SIGBUS');
    expect(() => parseScenario('two.yaml', ok)).not.toThrow();
  });
});
