/**
 * The model compiled to frames (src/build/frames.ts) runs like the native sources. The stateful
 * search relies on the compiled model; this is what says the compiler kept the kernel's meaning.
 *
 *   1. every bundled example's runs (mutants included), sampled with the same seeds, give the
 *      same executions, transitions, findings (with counts and best schedules) and outcomes;
 *   2. op streams: random schedules per example (GUPCHECK_FRAMES_SCHEDULES, default 500; issue
 *      13 asks for 10,000, which takes several minutes here), each run on both in lockstep: at
 *      every step the same threads enabled, the same op announced (site, objects, access, wait,
 *      choices), the same values seen, and at the end the same findings and outcomes.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFramesBundle } from '../../src/build/frames-bundle.ts';
import type { Results } from '../../src/check/results.ts';
import { loadScenario } from '../../src/run/load.ts';
import { explore, plannedRuns } from '../../src/run/run.ts';
import { Execution } from '../../src/check/execution.ts';
import { buildProgram } from '../../src/scenarios/build.ts';
import type { Op } from '../../src/sim/op.ts';
import { LimitError } from '../../src/sim/world.ts';

const SCHEDULES = Number(process.env.GUPCHECK_FRAMES_SCHEDULES ?? 500);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(ROOT, 'examples', f));

let framed: { explore: typeof explore; buildProgram: typeof buildProgram; Execution: typeof Execution };
beforeAll(async () => {
  const out = await buildFramesBundle(join(ROOT, 'src/run/frames-entry.ts'), join(ROOT, 'test/check/frames.bundle.mjs'));
  framed = (await import(pathToFileURL(out).href)) as typeof framed;
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

/** A value an op saw, as text (cells may hold objects; cycles and functions by name). */
function seen(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? 'fn' : String(v);
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'function' ? 'fn' : typeof x === 'bigint' ? String(x) : x));
  } catch {
    return (v).constructor?.name ?? 'object';
  }
}

function opText(op: Op): string {
  return [op.site.fn, op.site.action, op.obj, op.obj2, op.acc, op.group, op.choices, op.release, op.counter, op.wait?.kind ?? '-'].join('|');
}

describe('the compiled model announces the same ops and sees the same values as the native one', () => {
  for (const file of examples) {
    const p = loadScenario(file);
    it(`${p.scenario.name}: ${SCHEDULES} random schedules over its runs, in lockstep`, () => {
      const runs = plannedRuns(p.scenario, {});
      const per = Math.max(1, Math.ceil(SCHEDULES / runs.length));
      let rng = 0x9e3779b9;
      const rand = (n: number): number => {
        rng ^= rng << 13;
        rng ^= rng >>> 17;
        rng ^= rng << 5;
        return (rng >>> 0) % n;
      };
      for (const run of runs) {
        const native = buildProgram(p.scenario, run);
        const compiled = framed.buildProgram(p.scenario, run);
        for (let k = 0; k < per; k++) {
          const a = new Execution(native, false);
          const b = new framed.Execution(compiled, false);
          const where = `${run.kernel}/${run.arch}${run.mutant ? ` ${run.mutant}` : ''} schedule ${k}`;
          let limit = false;
          for (let step = 0; ; step++) {
            const en = a.enabledMask();
            expect(b.enabledMask(), `${where} step ${step}: enabled threads`).toBe(en);
            if (en === 0) break;
            const ids: number[] = [];
            for (let m = en; m; m &= m - 1) ids.push(31 - Math.clz32(m & -m));
            const tid = ids[rand(ids.length)]!;
            const oa = a.pending(tid);
            const ob = b.pending(tid);
            expect(opText(ob), `${where} step ${step}: op of thread ${tid}`).toBe(opText(oa));
            const value = oa.choices ? rand(oa.choices) : 0;
            try {
              a.step(tid, value, en);
            } catch (e) {
              if (!(e instanceof LimitError)) throw e;
              limit = true;
            }
            try {
              b.step(tid, value, en);
            } catch (e) {
              if (!(e instanceof Error) || !e.message.includes('limit reached')) throw e;
              expect(limit, `${where} step ${step}: only the compiled model hit a limit`).toBe(true);
            }
            if (limit) break;
            expect(`${seen(ob.before)} -> ${seen(ob.after)}`, `${where} step ${step}: values seen`).toBe(`${seen(oa.before)} -> ${seen(oa.after)}`);
          }
          if (!limit && !a.w.stopped) {
            native.finish(a.w);
            compiled.finish(b.w);
          }
          expect(b.w.findings.map((f) => `${f.id}: ${f.message}`), `${where}: findings`).toEqual(a.w.findings.map((f) => `${f.id}: ${f.message}`));
          expect([...b.w.outcomes].sort(), `${where}: outcomes`).toEqual([...a.w.outcomes].sort());
        }
      }
    }, 600_000);
  }
});
