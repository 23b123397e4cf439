/**
 * GUP-fast's PTE walk patched in C (issue 15 item 3: gup_pte_range / gup_fast_pte_range). The
 * walks in examples/patches/ were written for this project from the reference's description
 * (§4.3, §8), not copied. Acceptance: 6.5's walk restated in C changes nothing on 6.5 (every
 * example, every architecture: verdicts, findings, outcomes, execution counts); the check moved
 * before the re-check, in C, finds what the check-before-recheck mutant finds, with the C lines in
 * the trace; the re-check taken out, in C, finds the pin on a reused page the no-recheck mutant
 * finds (the walk's ghost books are kept). Also: 6.10's shape and the later count-returning shape.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { answerPin, type PinQuery } from '../../src/answer/pin.ts';
import { ensureKernel } from '../../src/patch/load.ts';
import { patchedName, type KernelSource } from '../../src/patch/source.ts';
import { bundledScenarios } from '../../src/run/load.ts';
import { type KernelChoice, plannedRuns, runOne, type RunResult } from '../../src/run/run.ts';
import { buildTrace } from '../../src/run/trace.ts';
import type { Arch } from '../../src/kernel/types.ts';
import type { ParsedScenario } from '../../src/scenarios/parse.ts';
import { gupcheck } from '../cli/helpers.ts';

const examples = bundledScenarios();
const byName = (n: string): ParsedScenario => examples.find((p) => p.scenario.name === n)!;
const PATCHES = resolve('examples/patches');
const dir = mkdtempSync(join(tmpdir(), 'gupcheck-c-walk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function patched(base: string, path: string): Promise<KernelChoice> {
  const file = resolve(PATCHES, path);
  const source: KernelSource = { kind: 'patch', base, patches: [file], given: [path] };
  const rev = await ensureKernel(source);
  return { name: rev.name, spec: patchedName(base, source.patches), source };
}

/** A variant of a patch in examples/patches, edited by `edit` (which must change it), in a temporary directory. */
function variant(from: string, name: string, edit: (s: string) => string): string {
  const src = readFileSync(join(PATCHES, from), 'utf8');
  const out = edit(src);
  expect(out, `${name}: the edit applies`).not.toBe(src);
  const file = join(dir, name);
  writeFileSync(file, out);
  return file;
}

function run(p: ParsedScenario, k: KernelChoice | string, arch: Arch, mutant?: string): RunResult {
  const kc = typeof k === 'string' ? { name: k, spec: k } : k;
  const runs = plannedRuns(p.scenario, { kernels: [kc], arches: [arch], ...(mutant ? { mutant } : {}) }).filter((x) => x.mutant === (mutant ?? null));
  expect(runs.length, `${p.scenario.name} ${kc.name} ${arch} ${mutant ?? ''}`).toBe(1);
  return runOne(p, runs[0]!, { strategy: 'dpor' });
}
const ids = (r: RunResult) => r.findings.map((f) => f.id).sort();

/** The same exploration: executions, completeness, findings (with how often), outcomes. */
function expectSame(mine: RunResult, base: RunResult, what: string): void {
  expect(mine.executions, what).toBe(base.executions);
  expect(mine.complete, what).toBe(base.complete);
  expect(mine.findings.map((f) => [f.id, f.executions]), what).toEqual(base.findings.map((f) => [f.id, f.executions]));
  expect(mine.outcomes, what).toEqual(base.outcomes);
}

describe('the GUP-fast PTE walk in C', () => {
  it("6.5's gup_pte_range() restated in C, applied to 6.5, changes no verdict, finding, outcome or execution count on any example", async () => {
    const k = await patched('6.5', 'gup-pte-range-6.5.c');
    expect(k.name).toBe('6.5+gup-pte-range-6.5.c');
    let compared = 0;
    for (const p of examples) {
      for (const arch of p.scenario.arches) {
        expectSame(run(p, k, arch), run(p, '6.5', arch), `${p.scenario.name} ${arch}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  });

  it('the file-backed check moved before the re-check, in C, gives the wild dereference on 09 arm64 that the check-before-recheck mutant gives, and the trace names the C lines', async () => {
    const k = await patched('6.5', 'gup-pte-range-check-before-recheck.c');
    const p = byName('fast-pin-vs-unmap-reuse');
    const mine = run(p, k, 'arm64');
    const mutant = run(p, '6.5', 'arm64', 'check-before-recheck');
    expect(ids(mine)).toContain('wild-deref');
    expectSame(mine, mutant, '09 arm64');
    // The walk as written changes nothing there; the move is what finds it.
    expect(ids(run(p, await patched('6.5', 'gup-pte-range-6.5.c'), 'arm64'))).toEqual([]);
    const f = mine.findings.find((x) => x.id === 'wild-deref')!;
    const [planned] = plannedRuns(p.scenario, { kernels: [k], arches: ['arm64'] });
    const t = buildTrace(p, planned!, {}, { findingId: 'wild-deref', schedule: f.schedule, values: f.values });
    const cLines = readFileSync(join(PATCHES, 'gup-pte-range-check-before-recheck.c'), 'utf8').split('\n');
    const cSteps = t.steps.filter((s) => /^gup-pte-range-check-before-recheck\.c:\d+ /.test(s.action));
    expect(cSteps.length).toBeGreaterThanOrEqual(1);
    for (const s of cSteps) {
      expect(s.fn).toBe('gup_pte_range');
      // Each C step names its line, and that line holds the access it names.
      const [, line, access] = /^[^:]+:(\d+) (.+?)(?: \(plain load\))?$/.exec(s.action)!;
      expect(cLines[Number(line) - 1], s.action).toContain(access);
    }
    expect(cSteps[0]!.action).toMatch(/ptep_get_lockless\(ptep\)/);
    expect(cSteps[0]!.object).toMatch(/^pte@/);
    // The wild dereference comes after the walk read the PTE and before it re-checked it.
    const last = t.steps.at(-1)!;
    expect(last.fn).toBe('shmem_mapping');
    expect(t.steps.some((s) => /re-check|ptep_get\(ptep\)/.test(s.action))).toBe(false);
    expect(t.command).toContain('--patch');
  });

  it('the PTE re-check taken out, in C, returns a freed and reused page as pinned (pin-on-reused-page), as the no-recheck mutant does', async () => {
    const file = variant('gup-pte-range-6.5.c', 'gup-pte-range-no-recheck.c', (s) =>
      s.replace(/\t\tif \(unlikely\(pmd_val\(pmd\)[\s\S]*?goto pte_unmap;\n\t\t\}\n/, ''),
    );
    const k = await patched('6.5', file);
    const p = byName('fast-pin-vs-unmap-reuse');
    const mine = run(p, k, 'arm64');
    expect(ids(mine)).toContain('pin-on-reused-page');
    expectSame(mine, run(p, '6.5', 'arm64', 'no-recheck'), '09 arm64');
    expectSame(run(p, k, 'x86'), run(p, '6.5', 'x86', 'no-recheck'), '09 x86');
  });

  it("6.10's gup_fast_pte_range() in C, applied to 6.10, changes nothing; neither does the later shape that returns the count", async () => {
    const k = await patched('6.10', 'gup-fast-pte-range-6.10.c');
    const counting = variant('gup-fast-pte-range-6.10.c', 'gup-fast-pte-range-count.c', (s) =>
      s
        .replace('static int gup_fast_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr,\n\t\tunsigned long end, unsigned int flags, struct page **pages,\n\t\tint *nr)', 'static unsigned long gup_fast_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr,\n\t\tunsigned long end, unsigned int flags, struct page **pages)')
        .replace('\tstruct dev_pagemap *pgmap = NULL;\n\tint nr_start = *nr, ret = 0;', '\tunsigned long nr_pages = 0;\n\tint ret = 0;')
        .replace(/\t\tif \(pte_devmap\(pte\)\) \{[\s\S]*?\} else if \(pte_special\(pte\)\) \{/, '\t\tif (pte_special(pte)) {')
        .replace('\t\tpages[*nr] = page;\n\t\t(*nr)++;', '\t\tpages[nr_pages++] = page;')
        .replace('\tret = 1;\n\npte_unmap:\n\tif (pgmap)\n\t\tput_dev_pagemap(pgmap);\n\tpte_unmap(ptem);\n\treturn ret;', 'pte_unmap:\n\tpte_unmap(ptem);\n\treturn nr_pages;'),
    );
    expect(readFileSync(counting, 'utf8')).not.toMatch(/\*nr|pgmap/);
    const kc = await patched('6.10', counting);
    for (const name of ['fast-pin-swapcache-anon', 'fast-pin-null-mapping-order0', 'fast-pin-vs-truncate', 'fast-pin-vs-unmap-reuse', 'fast-pin-vs-munmap']) {
      const p = byName(name);
      for (const arch of p.scenario.arches) {
        const base = run(p, '6.10', arch);
        expectSame(run(p, k, arch), base, `${name} ${arch}`);
        expectSame(run(p, kc, arch), base, `${name} ${arch} (count)`);
      }
    }
  });

  it('explains a fallback with the C line and condition that decided it (gupcheck pin), with the same answer as the built-in walk', async () => {
    const k = await patched('6.5', 'gup-pte-range-6.5.c');
    const q: PinQuery = { kernel: '6.5', arch: 'x86', via: 'pin_user_pages_fast', write: true, longterm: true, backing: 'ext4', shared: true, prot: 'rw', touch: 'write' };
    const native = answerPin(q);
    const mine = answerPin({ ...q, kernel: k.name });
    expect(mine.result).toBe(native.result);
    expect(mine.findings).toEqual(native.findings);
    const line = readFileSync(join(PATCHES, 'gup-pte-range-6.5.c'), 'utf8').split('\n').findIndex((l) => l.includes('if (!folio_fast_pin_allowed(folio, flags))')) + 1;
    expect(mine.path).toContainEqual(['gup_pte_range', `gup-pte-range-6.5.c:${line}: !folio_fast_pin_allowed(folio, flags): goto pte_unmap`]);
    // The built-in walk says the same in its own words, at the same point of the path.
    expect(native.path.map(([fn]) => fn)).toEqual(mine.path.map(([fn]) => fn));
  });

  it('refuses what it cannot interpret in a walk with file:line:col and the pointer forms it supports', () => {
    const cases: [string, (s: string) => string, RegExp][] = [
      ['index.c', (s) => s.replace('pte_t pte = ptep_get_lockless(ptep);', 'pte_t pte = ptep[0];'), /index\.c:26:\d+: 'ptep\[0\]': arrays other than the pages array/],
      ['deref.c', (s) => s.replace('folio_set_referenced(folio);', 'folio_set_referenced(folio); *pages = page;'), /deref\.c:\d+:\d+: '\*pages': a store through a pointer other than an int \*/],
      ['offset.c', (s) => s.replace('pte_offset_map(&pmd, addr)', 'pte_offset_map(pmdp, addr)'), /offset\.c:22:\d+: pte_offset_map\(pmdp, \.\.\.\): the PMD must be given as &pmd/],
    ];
    for (const [name, edit, want] of cases) {
      const file = variant('gup-pte-range-6.5.c', name, edit);
      const r = gupcheck(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', '6.5', '--patch', file, '--no-progress']);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(want);
      expect(r.stderr, name).toMatch(/fix: supported: .*pte_t \*ptep/);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
      expect(r.stdout, name).toBe('');
    }
  });

  it('refuses a walk that counts a page it did not store, naming the function, when the run reaches it', () => {
    const file = variant('gup-pte-range-6.5.c', 'nostore.c', (s) => s.replace('\t\tpages[*nr] = page;\n', ''));
    const r = gupcheck(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', '6.5', '--arch', 'x86', '--patch', file, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GUPCHECK_PATCH_INVALID.*nostore\.c:13:1: gup_pte_range\(\) counted 1 page\(s\) but stored 0/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
