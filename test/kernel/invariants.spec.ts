/**
 * The model's sanity invariants (src/kernel/invariants.ts; issue 14 item 2). Each one is shown
 * to fire: a state is set up by the scenario's own setup, then broken by hand the way a model
 * bug would break it, and the check names the invariant. Then the hook: an execution that
 * checks the model stops at the first step after the state broke, with an internal error
 * (exit 3) naming the CPU, the kernel function and the scenario operation; one that does not
 * check goes on. And the compiled-frames model (the stateful search's) checks them too.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFramesBundle } from '../../src/build/frames-bundle.ts';
import { Execution } from '../../src/check/execution.ts';
import { exitCodeOf } from '../../src/cli/errors.ts';
import { GupcheckError, ModelInvariantError } from '../../src/errors.ts';
import { checkModelInvariants } from '../../src/kernel/invariants.ts';
import type { Ctx, Kernel } from '../../src/kernel/kernel.ts';
import type { Page } from '../../src/kernel/mm_types.ts';
import { alloc_pages_setup, freeList } from '../../src/kernel/page_alloc.ts';
import { PTE_LEVEL, pte_huge, pte_pfn, pte_present } from '../../src/kernel/pgtable.ts';
import { deserializeError, serializeError } from '../../src/run/pool.ts';
import { buildProgram } from '../../src/scenarios/build.ts';
import { parseScenario } from '../../src/scenarios/parse.ts';
import type { World } from '../../src/sim/world.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function scenarioSrc(layout: string[], cpus: Record<string, string[]>): string {
  const lines = ['name: invariants', 'shows: a state to break', 'layout:', ...layout.map((v) => `  - ${v}`), 'cpus:'];
  for (const [cpu, ops] of Object.entries(cpus)) lines.push(`  ${cpu}:`, ...ops.map((o) => `    - ${o}`));
  return lines.join('\n') + '\n';
}

const LAYOUT = [
  '{ name: anon, backing: anon, map: private, prot: rw, pages: 1, touch: write }',
  '{ name: file, backing: memfd, map: shared, prot: rw, pages: 1, touch: write }',
];
const CPUS = { CPU0: ['{ op: touch, vma: anon }', '{ op: touch, vma: file }', '{ op: touch, vma: anon, how: read }'] };

/** A booted kernel after the scenario's setup (an anon page and a memfd page, mapped). */
function setUp(): { k: Kernel; w: World } {
  const s = parseScenario('invariants.yaml', scenarioSrc(LAYOUT, CPUS)).scenario;
  const w = buildProgram(s, { kernel: '6.5', arch: 'arm64', mutant: null }).start();
  return { k: (w.threads[0] as Ctx).k, w };
}

/** The folio a VMA's first page maps. */
function mappedFolio(k: Kernel, label: string): Page {
  const v = k.mms[0]!.vmas.find((x) => x.label === label)!;
  for (const t of k.tables.values()) {
    if (t.level !== PTE_LEVEL) continue;
    for (const [va, cell] of t.existing()) if (va === v.vm_start && pte_present(cell.v)) return k.page(pte_pfn(cell.v));
  }
  throw new Error(`nothing mapped in ${label}`);
}

const fileOf = (k: Kernel) => k.mms[0]!.vmas.find((x) => x.label === 'file')!.vm_file!;
const broken = (k: Kernel, trusted = true) => checkModelInvariants(k, trusted)?.invariant;

describe('each model invariant holds after a real setup and fires when the model breaks it', () => {
  it('a consistent state breaks none', () => {
    const { k } = setUp();
    expect(checkModelInvariants(k, true)).toBeNull();
  });

  it('freed-inode-page-cache: a freed address_space whose page cache still holds a folio', () => {
    const { k } = setUp();
    const f = fileOf(k);
    // The file is gone too (else file-reference fires first), but i_pages was never emptied.
    k.mms[0]!.vmas.splice(k.mms[0]!.vmas.findIndex((x) => x.label === 'file'), 1);
    Object.assign(f, { released: true });
    f.fd.v = false;
    f.f_count.v = 0;
    f.f_mapping.live.v = false;
    expect(broken(k, false)).toBe('freed-inode-page-cache');
  });

  it('file-reference: a VMA mapping a released file, a count below its holders, an open file whose inode was evicted', () => {
    let { k } = setUp();
    Object.assign(fileOf(k), { released: true });
    expect(broken(k, false)).toBe('file-reference');
    ({ k } = setUp());
    fileOf(k).f_count.v = 1; // the VMA's and the descriptor's: 2
    expect(checkModelInvariants(k, false)?.message).toMatch(/f_count is 1, but 1 VMA\(s\) and an open descriptor hold a reference/);
    ({ k } = setUp());
    fileOf(k).f_inode.freeing = true;
    expect(broken(k, false)).toBe('file-reference');
  });

  it('page-tables: a PMD entry pointing at a freed PTE table', () => {
    const { k } = setUp();
    const pmd = [...k.tables.values()].find((t) => t.level === 2 && t.existing().some(([, c]) => pte_present(c.v) && !pte_huge(c.v)))!;
    const [, cell] = pmd.existing().find(([, c]) => pte_present(c.v))!;
    k.tables.get(pte_pfn(cell.v))!.live.v = false;
    expect(checkModelInvariants(k, false)?.message).toMatch(/^pmd@0x[0-9a-f]+ \(in pmd-table@[0-9a-f]+\) points at a freed pte table/);
  });

  it('free-list: a page on the free list that still has a reference', () => {
    const { k } = setUp();
    const p = mappedFolio(k, 'anon');
    // Freed by hand the way a model bug might: owner and free list, but the PTE and its reference stay.
    p.ghost.owner = 'free';
    freeList(k, 'normal', 0).push(p.pfn);
    expect(checkModelInvariants(k, true)?.message).toMatch(/^folio@pfn\d+ is on the free list normal:0 but has _refcount 1/);
    expect(broken(k, false)).toBeUndefined(); // refcount-based: not checked once the kernel may have miscounted
  });

  it('pte-maps-free-page: a present PTE mapping a page the allocator has back', () => {
    const { k } = setUp();
    const p = mappedFolio(k, 'anon');
    p.ghost.owner = 'free';
    p._refcount.v = 0;
    expect(checkModelInvariants(k, true)?.message).toMatch(/^pte@0x[0-9a-f]+ maps folio@pfn\d+, which is free/);
  });

  it('closed-file-mapped: a PTE left mapping the page cache of a file with no reference left', () => {
    const { k } = setUp();
    const f = fileOf(k);
    // munmap detached the VMA and the file went, but the zap was skipped: the PTE stays.
    k.mms[0]!.vmas.splice(k.mms[0]!.vmas.findIndex((x) => x.label === 'file'), 1);
    Object.assign(f, { released: true });
    f.fd.v = false;
    f.f_count.v = 0;
    expect(checkModelInvariants(k, true)?.message).toMatch(/maps folio@pfn\d+, page cache of tmpfs:memfd:test, whose file has no reference left/);
  });

  it('page-cache-entry: an i_pages entry whose folio has another index', () => {
    const { k } = setUp();
    mappedFolio(k, 'file').index.v = 5;
    expect(checkModelInvariants(k, true)?.message).toMatch(/index 0 holds folio@pfn\d+, whose ->mapping is address_space\(tmpfs:memfd:test\) and ->index 5/);
  });

  it('freed-mapping-word: a folio whose ->mapping still points at a freed address_space', () => {
    const { k } = setUp();
    const f = fileOf(k);
    // A kernel page nothing maps, with the stale pointer in its mapping word.
    const p = alloc_pages_setup(k, 0, 'normal', 'kernel', 'a kernel user');
    p.ghost.ownerRefs = 1;
    const cached = mappedFolio(k, 'file');
    p.mapping.v = f.f_mapping.ptr;
    // The memfd is gone, properly: unmapped, closed, its page cache emptied, freed.
    k.mms[0]!.vmas.splice(k.mms[0]!.vmas.findIndex((x) => x.label === 'file'), 1);
    Object.assign(f, { released: true });
    f.fd.v = false;
    f.f_count.v = 0;
    for (const t of k.tables.values()) for (const [, c] of t.existing()) if (t.level === PTE_LEVEL && pte_present(c.v) && pte_pfn(c.v) === cached.pfn) c.v = 0;
    f.f_mapping.i_pages.clear();
    cached.mapping.v = 0;
    cached._refcount.v = 0;
    cached.ghost.owner = 'free';
    freeList(k, 'normal', 0).push(cached.pfn);
    f.f_mapping.live.v = false;
    expect(checkModelInvariants(k, true)?.message).toMatch(/^folio@pfn\d+->mapping points at the freed address_space\(tmpfs:memfd:test\)/);
  });

  it('refcount: a mapped folio whose _refcount is below its mappings, and a pinned one below its pins', () => {
    let { k } = setUp();
    mappedFolio(k, 'anon')._refcount.v = 0;
    expect(checkModelInvariants(k, true)?.message).toMatch(/has _refcount 0, below the 1 its mappings, caches, owner and GUP callers hold/);
    ({ k } = setUp());
    mappedFolio(k, 'file').ghost.pins = 1;
    expect(checkModelInvariants(k, true)?.message).toMatch(/has _refcount 2, below the 1026/);
  });
});

describe('the hook: an execution that checks the model stops at the first broken step', () => {
  const s = parseScenario('invariants.yaml', scenarioSrc(LAYOUT, CPUS)).scenario;
  const run = { kernel: '6.5', arch: 'arm64' as const, mutant: null };

  /** Run CPU0 one step, break the anon folio's refcount, then step until the end. */
  function breakAfterFirstStep(check: boolean): Execution {
    const ex = new Execution(buildProgram(s, run), false, 1000, check);
    ex.step(0);
    mappedFolio((ex.w.threads[0] as Ctx).k, 'anon')._refcount.v = 0;
    while (ex.enabledMask() !== 0) ex.step(0);
    return ex;
  }

  it('throws ModelInvariantError naming the step, the CPU, the kernel function and the scenario operation', () => {
    let err: unknown;
    try {
      breakAfterFirstStep(true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelInvariantError);
    const e = err as ModelInvariantError;
    expect(e.code).toBe('GUPCHECK_MODEL_INVARIANT');
    expect(e.message).toMatch(/^\[gupcheck internal bug\] at step 1: model invariant 'refcount' broken after CPU0 ran [a-z_]+: .+ \(its operation 0, touch\): folio@pfn\d+ \(anon page of anon\) has _refcount 0/);
    expect(exitCodeOf(e)).toBe(3);
    // What a worker thread sends back for it keeps the code and the exit status.
    const back = deserializeError(serializeError(e));
    expect(back).toBeInstanceOf(GupcheckError);
    expect([(back as GupcheckError).code, exitCodeOf(back as GupcheckError)]).toEqual(['GUPCHECK_MODEL_INVARIANT', 3]);
  });

  it('an execution that does not check the model runs the same broken state to its end', () => {
    const ex = breakAfterFirstStep(false);
    expect(ex.liveMask()).toBe(0);
  });

  it('a state broken by the setup is caught before the first step', () => {
    const prog = buildProgram(s, run);
    const start = prog.start.bind(prog);
    prog.start = () => {
      const w = start();
      mappedFolio((w.threads[0] as Ctx).k, 'anon')._refcount.v = 0;
      return w;
    };
    expect(() => new Execution(prog, false, 1000, true)).toThrow(/before the first step: model invariant 'refcount' broken after the setup/);
  });
});

describe('the compiled-frames model (the stateful search) checks the same invariants', () => {
  let framed: { buildProgram: typeof buildProgram; Execution: typeof Execution };
  beforeAll(async () => {
    const out = await buildFramesBundle(join(ROOT, 'src/run/frames-entry.ts'), join(ROOT, 'test/check/frames.bundle.mjs'));
    framed = (await import(pathToFileURL(out).href)) as typeof framed;
  }, 120_000);

  it('stops with GUPCHECK_MODEL_INVARIANT at the step after the state broke', () => {
    const s = parseScenario('invariants.yaml', scenarioSrc(LAYOUT, CPUS)).scenario;
    const ex = new framed.Execution(framed.buildProgram(s, { kernel: '6.5', arch: 'arm64', mutant: null }), true, 1000, true);
    ex.step(0);
    mappedFolio((ex.w.threads[0] as Ctx).k, 'anon')._refcount.v = 0;
    let err: unknown;
    try {
      while (ex.enabledMask() !== 0) ex.step(0);
    } catch (e) {
      err = e;
    }
    expect((err as GupcheckError).code).toBe('GUPCHECK_MODEL_INVARIANT');
    expect((err as Error).message).toMatch(/model invariant 'refcount' broken after CPU0 ran/);
  });
});
