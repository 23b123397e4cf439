/**
 * The fuzzer's scenarios run on the model with its sanity invariants checked after every step
 * (src/kernel/invariants.ts; issue 14 item 2). The parser fuzz (scenario-fuzz.spec.ts) only
 * parses; here every generated file the parser accepts (mutated and JSON-restyled examples,
 * with odd operation mixes the examples never have) is explored by random sampling, each of its
 * planned runs, and no state no kernel can be in may be reached: a ModelInvariantError fails the
 * test with the file and the run. A configured limit (a livelock under --max-steps, more than
 * 16 threads) is an answer the CLI gives too, and counted.
 *
 *   GUPCHECK_MODEL_FUZZ_INPUTS   accepted files to explore (default 40)
 *   GUPCHECK_FUZZ_SEED           fast-check seed (default: a new one each run, shown in the title)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelInvariantError } from '../../src/errors.ts';
import { explore, plannedRuns } from '../../src/run/run.ts';
import { parseScenario, type ParsedScenario } from '../../src/scenarios/parse.ts';
import { LimitError } from '../../src/sim/world.ts';
import { jsonVariants, mutatedExample } from './generators.ts';

const INPUTS = Number(process.env.GUPCHECK_MODEL_FUZZ_INPUTS ?? 40);
const SEED = process.env.GUPCHECK_FUZZ_SEED !== undefined ? Number(process.env.GUPCHECK_FUZZ_SEED) : (Date.now() % 2 ** 31) | 0;

function accepted(src: string): ParsedScenario | undefined {
  try {
    return parseScenario('fuzz.yaml', src);
  } catch {
    return undefined;
  }
}

describe(`fuzzed scenarios explored with the model's invariants checked: ${INPUTS} accepted files, seed ${SEED}`, () => {
  it('reach no state no kernel can be in', () => {
    expect(process.env.GUPCHECK_CHECK_MODEL).toBe('1'); // vitest.config.ts turns the checks on
    const inputs = fc.sample(fc.oneof({ weight: 4, arbitrary: mutatedExample }, { weight: 1, arbitrary: jsonVariants }), { numRuns: INPUTS * 30, seed: SEED });
    let files = 0;
    let runs = 0;
    let executions = 0;
    const limits: string[] = [];
    for (const inp of inputs) {
      if (files >= INPUTS) break;
      const p = accepted(inp.src);
      if (!p) continue;
      files++;
      for (const run of plannedRuns(p.scenario, {}).slice(0, 4)) {
        runs++;
        try {
          executions += explore(p.scenario, run, { strategy: 'random', seed: SEED, samples: 8 }).executions;
        } catch (e) {
          if (e instanceof LimitError) {
            limits.push(`${p.scenario.name} ${run.kernel}/${run.arch}: ${e.limit}`);
            continue;
          }
          const what = e instanceof ModelInvariantError ? 'a model invariant broke' : 'the run threw';
          throw new Error(`${what} on ${run.kernel}/${run.arch}${run.mutant ? ` +${run.mutant}` : ''}: ${e instanceof Error ? e.message : String(e)}\nthe file:\n${inp.src}`, { cause: e });
        }
      }
    }
    console.log(`model fuzz, seed ${SEED}: ${files} accepted files, ${runs} runs, ${executions} executions with the invariants checked; ${limits.length} runs hit a limit${limits.length ? ` (${limits.slice(0, 5).join('; ')})` : ''}`);
    expect(files).toBeGreaterThanOrEqual(Math.min(INPUTS, 10));
    expect(executions).toBeGreaterThan(files);
  }, 600_000);
});
