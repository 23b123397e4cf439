/**
 * A unified diff as a patch (issue 15 item 3, "a unified diff of mm/gup.c against the base also
 * accepted if you can make that reliable"). gupcheck has no mm/gup.c of any revision to apply a
 * diff to, so it takes the functions a diff changes only when each is whole in its hunk, as
 * `git diff --function-context` (-W) makes them, and refuses every other change with the diff's
 * file:line:col. The diffs here are made by git from a stand-in mm/gup.c built of the functions
 * examples/patches restates, the way a developer would make them in a kernel tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureKernel } from '../../src/patch/load.ts';
import { parseDiff } from '../../src/patch/c/diff.ts';
import { patchedName, type KernelSource } from '../../src/patch/source.ts';
import { bundledScenarios } from '../../src/run/load.ts';
import { type KernelChoice, plannedRuns, runOne, type RunResult } from '../../src/run/run.ts';
import { buildTrace } from '../../src/run/trace.ts';
import { gupcheck } from '../cli/helpers.ts';

const PATCHES = resolve('examples/patches');
const EX09 = 'examples/09-fast-pin-vs-unmap-reuse.yaml';
const reuse = bundledScenarios().find((p) => p.scenario.name === 'fast-pin-vs-unmap-reuse')!;
const dir = mkdtempSync(join(tmpdir(), 'gupcheck-c-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const from = (f: string, start: string) => {
  const s = readFileSync(join(PATCHES, f), 'utf8');
  return s.slice(s.indexOf(start));
};
const CHECK = from('fast-pin-allowed-6.5.c', 'static bool');
const WALK = from('gup-pte-range-6.5.c', 'static int');
const MOVED = from('gup-pte-range-check-before-recheck.c', 'static int');

/** A stand-in for mm/gup.c: the restated functions inside 6.5's conditionals, a stub in the #else arm, and a function gupcheck cannot take. */
function standIn(walk: string, o: { stub?: string; other?: string; define?: string } = {}): string {
  return `// SPDX-License-Identifier: GPL-2.0-only
#include <linux/mm.h>

#define GUP_EXAMPLE_BATCH ${o.define ?? '16'}

static int check_vma_flags(struct vm_area_struct *vma, unsigned long gup_flags)
{
	return ${o.other ?? '0'};
}

#ifdef CONFIG_HAVE_FAST_GUP
${CHECK}
/*
 * The lockless walk of one PTE table.
 */
#ifdef CONFIG_ARCH_HAS_PTE_SPECIAL
${walk}#else
static int gup_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr,
			 unsigned long end, unsigned int flags,
			 struct page **pages, int *nr)
{
	return ${o.stub ?? '0'};
}
#endif /* CONFIG_ARCH_HAS_PTE_SPECIAL */
#endif /* CONFIG_HAVE_FAST_GUP */
`;
}

let n = 0;
/** `git diff --no-index ARGS a/mm/gup.c b/mm/gup.c`, in a directory whose .gitattributes is the kernel's (`*.c diff=cpp`) unless `plain`. */
function gitDiff(a: string, b: string, args: readonly string[], plain = false): string {
  const d = join(dir, `d${n++}`);
  for (const side of ['a', 'b']) mkdirSync(join(d, side, 'mm'), { recursive: true });
  writeFileSync(join(d, 'a/mm/gup.c'), a);
  writeFileSync(join(d, 'b/mm/gup.c'), b);
  if (!plain) writeFileSync(join(d, '.gitattributes'), '*.c diff=cpp\n*.h diff=cpp\n');
  spawnSync('git', ['init', '-q', '.'], { cwd: d });
  const r = spawnSync('git', ['-c', 'core.quotePath=false', 'diff', '--no-index', '--no-color', ...args, 'a/mm/gup.c', 'b/mm/gup.c'], { cwd: d, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(1); // 1: the files differ
  const file = join(d, 'fix.diff');
  writeFileSync(file, r.stdout.replace(/ a\/a\/mm\//g, ' a/mm/').replace(/ b\/b\/mm\//g, ' b/mm/').replace(/^--- a\/a\//m, '--- a/').replace(/^\+\+\+ b\/b\//m, '+++ b/'));
  return file;
}

async function patched(file: string): Promise<KernelChoice> {
  const source: KernelSource = { kind: 'patch', base: '6.5', patches: [file], given: [file] };
  const rev = await ensureKernel(source);
  return { name: rev.name, spec: patchedName('6.5', source.patches), source };
}

function run(k: KernelChoice | string, mutant?: string): RunResult {
  const kc = typeof k === 'string' ? { name: k, spec: k } : k;
  const [r] = plannedRuns(reuse.scenario, { kernels: [kc], arches: ['arm64'], ...(mutant ? { mutant } : {}) }).filter((x) => x.mutant === (mutant ?? null));
  return runOne(reuse, r!, { strategy: 'dpor' });
}
const same = (r: RunResult) => [r.executions, r.complete, r.findings.map((f) => [f.id, f.executions]), r.outcomes];

describe('a unified diff as a patch', () => {
  it("examples/patches/check-before-recheck.diff (git diff -W) gives the check-before-recheck mutant's wild dereference on 09 arm64, and the trace names the changed file's lines", async () => {
    const file = join(PATCHES, 'check-before-recheck.diff');
    const k = await patched(file);
    expect(k.name).toBe('6.5+check-before-recheck.diff');
    const mine = run(k);
    expect(mine.findings.map((f) => f.id)).toContain('wild-deref');
    expect(same(mine)).toEqual(same(run('6.5', 'check-before-recheck')));
    expect(same(mine)).toEqual(same(run(await patched(join(PATCHES, 'gup-pte-range-check-before-recheck.c')))));
    // The trace's C steps say mm/gup.c:LINE, LINE of the new file, which holds the access named.
    const newText = new Map<number, string>();
    for (const h of parseDiff('x', readFileSync(file, 'utf8'))[0]!.hunks) {
      let line = h.newStart;
      for (const l of h.lines) if (l.kind !== '-') newText.set(line++, l.text);
    }
    const f = mine.findings.find((x) => x.id === 'wild-deref')!;
    const [planned] = plannedRuns(reuse.scenario, { kernels: [k], arches: ['arm64'] });
    const t = buildTrace(reuse, planned!, {}, { findingId: 'wild-deref', schedule: f.schedule, values: f.values });
    const steps = t.steps.filter((s) => s.action.startsWith('mm/gup.c:'));
    expect(steps.length).toBeGreaterThanOrEqual(1);
    for (const s of steps) {
      const [, line, access] = /^mm\/gup\.c:(\d+) (.+?)(?: \(plain load\))?$/.exec(s.action)!;
      expect(newText.get(Number(line)), s.action).toContain(access);
    }
  });

  it('takes the same change made fresh by git diff -W, and refuses it made without -W, pointing at the diff line and asking for -W', async () => {
    const w = gitDiff(standIn(WALK), standIn(MOVED), ['-W']);
    expect(same(run(await patched(w)))).toEqual(same(run('6.5', 'check-before-recheck')));
    const u3 = gitDiff(standIn(WALK), standIn(MOVED), []);
    const r = gupcheck(['check', EX09, '--kernel', '6.5', '--patch', u3, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GUPCHECK_PATCH_UNSUPPORTED\]: \S*fix\.diff:\d+:\d+ \(mm\/gup\.c:\d+\): the changed line mm\/gup\.c:\d+ is not inside a whole function in its hunk \(the hunk has only part of its function\)/);
    expect(r.stderr).toMatch(/fix: make the diff with whole functions in each hunk: git diff --function-context \(-W\)/);
    expect(r.stdout).toBe('');
  });

  it('refuses what a hunk cannot settle: a function cut short, a change in a conditional arm it does not open, a function gupcheck cannot take, a changed macro', () => {
    const cases: [string, string, RegExp][] = [
      // Without the kernel's '*.c diff=cpp', git takes the label 'pte_unmap:' in column 0 for a function's first line and -W stops there.
      [gitDiff(standIn(WALK), standIn(MOVED), ['-W'], true), 'GUPCHECK_PATCH_INVALID', /C syntax error in gup_pte_range\(\) \(changed at mm\/gup\.c:\d+\), or the hunk does not hold the whole function[\s\S]*diff=cpp/],
      [gitDiff(standIn(WALK), standIn(WALK, { stub: '1' }), ['-W']), 'GUPCHECK_PATCH_UNSUPPORTED', /the changed line mm\/gup\.c:\d+ is in a branch of a preprocessor conditional the hunk does not open/],
      [gitDiff(standIn(WALK), standIn(WALK, { other: '-EFAULT' }), ['-W']), 'GUPCHECK_PATCH_UNSUPPORTED', /\(mm\/gup\.c:6\): check_vma_flags\(\) is not a function gupcheck takes from a patch, and no function it takes calls it/],
      [gitDiff(standIn(WALK), standIn(WALK, { define: '32' }), ['-W']), 'GUPCHECK_PATCH_UNSUPPORTED', /\(mm\/gup\.c:4\): unsupported preprocessor directive #define/],
    ];
    for (const [file, code, want] of cases) {
      const r = gupcheck(['check', EX09, '--kernel', '6.5', '--patch', file, '--no-progress']);
      expect(r.code, file).toBe(2);
      expect(r.stderr, file).toContain(`error[${code}]`);
      expect(r.stderr, file).toMatch(want);
      expect(r.stderr, file).not.toMatch(/\n\s+at /);
      expect(r.stdout, file).toBe('');
    }
  });

  it('refuses a file that is not a unified diff, and a --patch of another kind, saying what is read', () => {
    const bad = join(dir, 'notes.diff');
    writeFileSync(bad, 'just some notes\n');
    const r = gupcheck(['check', EX09, '--kernel', '6.5', '--patch', bad, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notes\.diff:1:1: no hunks: this is not a unified diff/);
    const txt = join(dir, 'fix.txt');
    writeFileSync(txt, '');
    const t = gupcheck(['check', EX09, '--kernel', '6.5', '--patch', txt, '--no-progress']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/a C file \(\.c, \.h\) .* or a unified diff \(\.diff, \.patch\)/);
  });
});
