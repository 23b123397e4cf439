/**
 * Kernel C functions as written (issue 15 item 3): examples/patches/*.c, written for this project
 * from the reference's description, compiled against the model and explored like the built-in
 * revisions. The acceptance cases: v7's check inside try_grab_folio() applied to 6.1 gives v7's
 * verdicts; 6.5's check restated in C changes nothing on 6.5; the same with a plain read gives
 * the null-deref against truncate on arm64, and its trace names the C lines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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

async function patched(base: string, file: string): Promise<KernelChoice> {
  const source: KernelSource = { kind: 'patch', base, patches: [resolve(PATCHES, file)], given: [file] };
  const rev = await ensureKernel(source);
  return { name: rev.name, spec: patchedName(base, source.patches), source };
}

function run(p: ParsedScenario, k: KernelChoice | string, arch: Arch): RunResult {
  const kc = typeof k === 'string' ? { name: k, spec: k } : k;
  const [r] = plannedRuns(p.scenario, { kernels: [kc], arches: [arch] }).filter((x) => x.mutant === null);
  return runOne(p, r!, { strategy: 'dpor' });
}
const ids = (r: RunResult) => r.findings.map((f) => f.id).sort();

describe('C patches', () => {
  it("v7's check inside try_grab_folio(), applied to 6.1, gives v7's verdicts: wild-deref on arm64 and none on x86 in 09, the swap-cache fallback in 01", async () => {
    const k = await patched('6.1', 'v7-check-in-try_grab_folio.c');
    expect(k.name).toBe('6.1+v7-check-in-try_grab_folio.c');
    const reuse = byName('fast-pin-vs-unmap-reuse');
    for (const arch of ['x86', 'arm64'] as const) {
      const mine = run(reuse, k, arch);
      const v7 = run(reuse, 'v7', arch);
      expect(mine.complete).toBe(true);
      expect(ids(mine), arch).toEqual(ids(v7));
      expect(mine.executions, arch).toBe(v7.executions);
    }
    expect(ids(run(reuse, k, 'arm64'))).toEqual(['wild-deref']);
    expect(ids(run(reuse, k, 'x86'))).toEqual([]);
    // Without the patch, 6.1 has no check at all: the difference is the patch's.
    expect(ids(run(reuse, '6.1', 'arm64'))).toEqual([]);
    const swap = byName('fast-pin-swapcache-anon');
    for (const arch of ['x86', 'arm64'] as const) {
      expect(run(swap, k, arch).outcomes.CPU0).toEqual({ 'fell-back': 1 });
      expect(run(swap, 'v7', arch).outcomes.CPU0).toEqual({ 'fell-back': 1 });
      expect(run(swap, '6.1', arch).outcomes.CPU0).toEqual({ 'pinned-fast': 1 });
    }
  });

  it("6.5's folio_fast_pin_allowed() restated in C changes no verdict, finding, outcome or execution count on any example", async () => {
    const k = await patched('6.5', 'fast-pin-allowed-6.5.c');
    let compared = 0;
    for (const p of examples) {
      for (const arch of p.scenario.arches) {
        const mine = run(p, k, arch);
        const base = run(p, '6.5', arch);
        const what = `${p.scenario.name} ${arch}`;
        expect(mine.executions, what).toBe(base.executions);
        expect(mine.complete, what).toBe(base.complete);
        expect(mine.findings.map((f) => [f.id, f.executions]), what).toEqual(base.findings.map((f) => [f.id, f.executions]));
        expect(mine.outcomes, what).toEqual(base.outcomes);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  });

  it('the same check with a plain read of ->mapping gives null-deref against truncate on arm64, and the trace names the C lines', async () => {
    const k = await patched('6.5', 'fast-pin-allowed-plain-read.c');
    const p = byName('fast-pin-vs-truncate');
    const r = run(p, k, 'arm64');
    expect(ids(r)).toContain('null-deref');
    expect(ids(run(p, await patched('6.5', 'fast-pin-allowed-6.5.c'), 'arm64'))).not.toContain('null-deref');
    const f = r.findings.find((x) => x.id === 'null-deref')!;
    const [planned] = plannedRuns(p.scenario, { kernels: [k], arches: ['arm64'] });
    const t = buildTrace(p, planned!, {}, { findingId: 'null-deref', schedule: f.schedule, values: f.values });
    const cSteps = t.steps.filter((s) => /^fast-pin-allowed-plain-read\.c:\d+ /.test(s.action));
    // Each use of `mapping` is its own load: the NULL test saw a mapping, a later use NULL.
    expect(cSteps.length).toBeGreaterThanOrEqual(2);
    expect(cSteps.every((s) => s.fn === 'folio_fast_pin_allowed' && s.object.endsWith('.mapping'))).toBe(true);
    expect(cSteps.at(-1)!.value).toBe('NULL');
    expect(t.command).toContain('--patch');
  });

  it('refuses unknown identifiers and unsupported constructs with file:line:col and what is supported', () => {
    const bad = (name: string, body: string) => {
      const dir = resolve('gupcheck-out/c-errors');
      return { dir, file: `${dir}/${name}.c`, text: `static bool folio_fast_pin_allowed(struct folio *folio, unsigned int flags)\n{\n${body}\n}\n` };
    };
    const cases: [string, string, RegExp][] = [
      ['unknown', '\treturn frob(folio);', /unknown\.c:3:9: unknown function frob\(\)/],
      ['ident', '\treturn flags & FOLL_BOGUS;', /ident\.c:3:17: unknown identifier 'FOLL_BOGUS'/],
      ['switch', '\tswitch (flags) { default: return true; }', /switch\.c:3:2: unsupported C statement 'switch_statement'/],
      ['syntax', '\treturn flags &;', /syntax\.c:3:\d+: C syntax error/],
    ];
    for (const [name, body, want] of cases) {
      const b = bad(name, body);
      mkdirSync(b.dir, { recursive: true });
      writeFileSync(b.file, b.text);
      const r = gupcheck(['check', 'examples/07-fast-pin-vs-truncate.yaml', '--kernel', '6.5', '--patch', b.file, '--no-progress']);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(want);
      expect(r.stderr, name).toMatch(/fix: supported: |fix: check the C syntax/);
      expect(r.stderr, name).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout, name).toBe('');
    }
  });

  it('is refused by the stateful search with the strategies to use instead', () => {
    const r = gupcheck(['check', 'examples/07-fast-pin-vs-truncate.yaml', '--kernel', '6.5', '--patch', 'examples/patches/fast-pin-allowed-6.5.c', '--strategy', 'stateful']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GUPCHECK_STRATEGY_UNSUPPORTED.*\n\s+fix: use --strategy auto \(the default: it keeps such runs on dpor\), dpor, naive, random or pct/);
  });
});

