/**
 * The model compiled to frames (src/build/frames.ts) runs like the native sources: every bundled
 * example's runs (mutants included), sampled with the same seeds, give the same executions,
 * transitions, findings (with counts and best schedules) and outcomes on both. The stateful
 * search relies on the compiled model; this is what says the compiler kept the kernel's meaning.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFramesBundle } from '../../src/build/frames-bundle.ts';
import type { Results } from '../../src/check/results.ts';
import { loadScenario } from '../../src/run/load.ts';
import { explore, plannedRuns } from '../../src/run/run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(ROOT, 'examples', f));

let framed: { explore: typeof explore };
beforeAll(async () => {
  const out = await buildFramesBundle(join(ROOT, 'src/run/frames-entry.ts'), join(ROOT, 'test/check/frames.bundle.mjs'));
  framed = (await import(pathToFileURL(out).href)) as { explore: typeof explore };
}, 120_000);

function summary(r: Results): unknown {
  return {
    executions: r.executions,
    transitions: r.transitions,
    findings: [...r.findings].map(([id, f]) => [id, f.count, f.best.schedule.join(','), f.best.values.join(',')]).sort(),
    outcomes: [...r.outcomes].map(([k, m]) => [k, [...m].sort()]).sort(),
  };
}

describe('the compiled model runs as the native one', () => {
  for (const file of examples) {
    const p = loadScenario(file);
    it(`${p.scenario.name}: every run, random and PCT samples with the same seeds`, () => {
      for (const run of plannedRuns(p.scenario, {})) {
        for (const strategy of ['random', 'pct'] as const) {
          const o = { strategy, seed: 7, samples: 60 };
          expect(summary(framed.explore(p.scenario, run, o)), `${run.kernel}/${run.arch}${run.mutant ? ` ${run.mutant}` : ''} ${strategy}`).toEqual(summary(explore(p.scenario, run, o)));
        }
      }
    }, 120_000);
  }
});
