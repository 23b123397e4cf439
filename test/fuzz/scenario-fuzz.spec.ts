/**
 * Fuzzing the scenario parser (issue 6, part A). Every generated input must end in a valid
 * ParsedScenario or a ScenarioError with a position inside the file and a non-empty what and
 * hint, never another exception, in under a second and without a heap blow-up (harness.ts).
 *
 *   GUPCHECK_FUZZ_RUNS   inputs over all classes (default 3000, about 30 s); split by class weight
 *   GUPCHECK_FUZZ_SEED   fast-check seed (default: a new one each run, shown in the title)
 *   GUPCHECK_FUZZ_SAVE   where failing and slow inputs are written (default test/artifacts/fuzz/)
 *
 * Then the corpus (test/fixtures/fuzz/) is replayed, and the parser bugs the fuzzer found are
 * pinned one by one.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_NESTING, MAX_SCENARIO_BYTES, MAX_YAML_TOKENS, parseScenario, ScenarioError } from '../../src/scenarios/parse.ts';
import { CLASSES, EXAMPLES, type FuzzInput } from './generators.ts';
import { checkInput, ContractViolation, loadCorpus, saveInput, SLOW_MS, TIME_LIMIT_MS } from './harness.ts';

const RUNS = Number(process.env.GUPCHECK_FUZZ_RUNS ?? 3000);
const SEED = process.env.GUPCHECK_FUZZ_SEED !== undefined ? Number(process.env.GUPCHECK_FUZZ_SEED) : (Date.now() % 2 ** 31) | 0;
const TOTAL_WEIGHT = CLASSES.reduce((a, c) => a + c.weight, 0);

interface Stats {
  n: number;
  ok: number;
  err: number;
  slow: number;
  maxMs: number;
  totalMs: number;
}

function summary(src: string): string {
  const head = JSON.stringify(src.slice(0, 240));
  return `${src.length} chars: ${head}${src.length > 240 ? '...' : ''}`;
}

/** Checks one input against the contract and its class's own expectation. */
function judge(cls: string, inp: FuzzInput & { scenario?: unknown }, st: Stats): void {
  const v = checkInput(inp.src);
  st.n++;
  st.totalMs += v.ms;
  st.maxMs = Math.max(st.maxMs, v.ms);
  if (v.kind === 'ok') st.ok++;
  else st.err++;
  if (v.ms > SLOW_MS) {
    st.slow++;
    saveInput(`${cls}-slow`, inp.src, `${v.ms.toFixed(0)} ms`);
  }
  if (inp.expect === 'ok' && v.kind !== 'ok') throw new ContractViolation(`a valid file was refused: ${v.error!.message} (fix: ${v.error!.hint})`);
  if (inp.expect instanceof RegExp) {
    if (v.kind !== 'error') throw new ContractViolation(`accepted, but must be refused with ${String(inp.expect)}`);
    if (!inp.expect.test(v.error!.what)) throw new ContractViolation(`refused with "${v.error!.what}", expected ${String(inp.expect)}`);
  }
  if (inp.scenario !== undefined) expect(v.parsed!.scenario).toEqual(inp.scenario);
}

describe(`scenario parser fuzz: ${RUNS} generated inputs, seed ${SEED} (GUPCHECK_FUZZ_RUNS, GUPCHECK_FUZZ_SEED)`, () => {
  const stats = new Map<string, Stats>();
  CLASSES.forEach((c, i) => {
    const runs = Math.max(1, Math.round((RUNS * c.weight) / TOTAL_WEIGHT));
    const st: Stats = { n: 0, ok: 0, err: 0, slow: 0, maxMs: 0, totalMs: 0 };
    stats.set(c.name, st);
    const arb = c.arb.map((inp) => Object.assign(inp, { [fc.toStringMethod]: () => `${c.name} input, ${summary(inp.src)}` }));
    it(
      `${c.name}: ${runs} inputs (seed ${SEED + i})`,
      () => {
        const out = fc.check(
          fc.property(arb, (inp) => judge(c.name, inp, st)),
          { numRuns: runs, seed: SEED + i },
        );
        if (out.failed) {
          const ce = out.counterexample?.[0];
          const saved = ce ? saveInput(c.name, ce.src, String(out.errorInstance)) : '(none)';
          const why = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
          throw new Error(`${fc.defaultReportMessage(out)}\n${why}\nthe shrunk input is in ${saved}; add it to test/fixtures/fuzz/ once fixed`);
        }
      },
      60_000 + runs * 100,
    );
  });
  afterAll(() => {
    const rows = [...stats].map(([k, s]) => `  ${k.padEnd(18)} ${String(s.n).padStart(7)} inputs ${String(s.ok).padStart(6)} ok ${String(s.err).padStart(7)} refused  max ${s.maxMs.toFixed(0).padStart(4)} ms  mean ${(s.totalMs / Math.max(1, s.n)).toFixed(2)} ms  slow(>${SLOW_MS} ms) ${s.slow}`);
    const n = [...stats.values()].reduce((a, s) => a + s.n, 0);
    console.log(`scenario parser fuzz, seed ${SEED}: ${n} inputs checked (including shrinking)\n${rows.join('\n')}`);
  });
});

describe('scenario parser corpus (test/fixtures/fuzz/): every input keeps the contract', () => {
  const corpus = loadCorpus();
  it('has a representative corpus', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });
  for (const { name, src } of corpus) {
    it(name, () => {
      const v = checkInput(src, name);
      if (name.startsWith('ok-')) expect(v.kind, v.error?.message).toBe('ok');
    });
  }
});

function refusal(src: string): ScenarioError {
  const t0 = performance.now();
  try {
    parseScenario('bug.yaml', src);
  } catch (e) {
    expect(performance.now() - t0).toBeLessThan(TIME_LIMIT_MS);
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario parser bugs found by fuzzing stay fixed', () => {
  it('refuses block nesting (`- - - x`) before the Composer overflows the stack (was "YAML syntax error: Maximum call stack size exceeded")', () => {
    const e = refusal('x:\n' + '- '.repeat(1000) + 'a\n');
    expect(e.what).toBe(`nesting deeper than ${MAX_NESTING} levels`);
    expect([e.line, e.col]).toEqual([2, 2 * MAX_NESTING + 3]); // the first `-` right of column 128
  });
  it('survives 20000 nested explicit keys (`? ? ?`), which aborted the process (V8 fatal "RegExpCompiler Allocation failed")', () => {
    expect(refusal('? '.repeat(20000) + 'a\n').what).toMatch(/nesting deeper/);
    expect(refusal('? '.repeat(40) + 'a\n'.repeat(20000)).what).toMatch(/YAML tokens/);
    expect(refusal('x:\n  ' + '? '.repeat(64) + 'a\n').what).toMatch(/nesting deeper/); // found by the CST walk
  });
  it('counts flow nesting that hides behind quoted brackets (`[ "]", [ "]", ...`)', () => {
    expect(refusal('name: ' + '[ "]", '.repeat(1000) + ']'.repeat(1000)).what).toMatch(/nesting deeper/);
  });
  it('refuses 256 KiB files of tiny tokens quickly (many keys took 12.8 s, anchors and aliases 5 s, quotes 1.5 s)', () => {
    const fill = (unit: (i: number) => string) => {
      const parts: string[] = [];
      let n = 0;
      for (let i = 0; n < MAX_SCENARIO_BYTES - 100; i++) {
        const u = unit(i);
        parts.push(u);
        n += u.length;
      }
      return parts.join('');
    };
    for (const src of [fill((i) => `k${i}: 1\n`), '{' + fill((i) => `k${i}: 1, `) + '}', fill((i) => `- &a${i} x\n- *a${i}\n`), '"'.repeat(MAX_SCENARIO_BYTES - 100)]) {
      expect(refusal(src).what).toBe(`more than ${MAX_YAML_TOKENS} YAML tokens; scenario files are small`);
    }
  });
  it('says "give a string" for a value of the wrong type, not "add it: it is required"', () => {
    const e = refusal('name: [1]\nshows: x\n');
    expect(e.what).toMatch(/^name: expected a string, got a list$/);
    expect(e.hint).toBe('give a string');
    expect(refusal('shows: x\n').hint).toBe('add it: it is required');
  });
  it('refuses an outcome expectation with no CPU (`outcome: {}` parsed, then crashed the judge)', () => {
    const src = EXAMPLES[1]!.src.replace('outcome: { CPU0: pinned }', 'outcome: {}');
    const e = refusal(src);
    expect(e.what).toMatch(/^expect\[\d+\]\.outcome: an outcome expectation names no CPU$/);
    expect(refusal(EXAMPLES[1]!.src.replace('outcome: { CPU0: pinned }', 'outcome: { __proto__: pinned }')).what).toMatch(/names no CPU/);
  });
  it('measures the size limit in bytes, as its message says, and gives both sizes in MB too', () => {
    const n = Math.floor(MAX_SCENARIO_BYTES / 3) + 1; // fewer characters than the limit, more bytes
    const e = refusal('\u4e2d'.repeat(n));
    expect(e.what).toBe(`file is 0.25 MB (${3 * n} bytes); scenario files are at most 0.25 MB (${MAX_SCENARIO_BYTES} bytes)`);
    expect(refusal(' '.repeat(3 << 20)).what).toBe(`file is 3.00 MB (${3 << 20} bytes); scenario files are at most 0.25 MB (${MAX_SCENARIO_BYTES} bytes)`);
  });
  it('does not call a YAML 1.1 merge-key error an alias problem', () => {
    const e = refusal('%YAML 1.1\n---\na: &a 1\nb: {<<: *a}\n');
    expect(e.what).toMatch(/^YAML problem: Merge sources/);
  });
  it('tells how to fix a second document', () => {
    expect(refusal(EXAMPLES[0]!.src + '---\n' + EXAMPLES[0]!.src).hint).toMatch(/one YAML document/);
  });
  it('still accepts every bundled example', () => {
    for (const ex of EXAMPLES) expect(checkInput(ex.src, ex.file).kind).toBe('ok');
  });
});
