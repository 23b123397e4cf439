/**
 * Determinism (issue 6): the same scenarios, options and seed give byte-identical `--json`
 * output, trace files and HTML report, run after run and whatever the worker count.
 *
 * The only wall-time field is each result's `ms` (in the JSON and in the report's embedded run
 * list); it alone is normalised, and only where it is a result's own key, so any other
 * difference (exploration order, counts, traces, tokens, paths) fails the comparison. Each run
 * gets its own working directory and writes to the relative `--out out`, so even the trace paths
 * in the JSON must match.
 *
 * Runs: the bundled examples with DPOR (twice, and once with --workers 2), and examples 04 and
 * 09 sampled with --strategy random and pct (twice each, once more with --workers 2, and with
 * another seed to show the seed matters): 11 CLI runs. Example 10 (THP split, 13551 executions per arm64 run) is left out of the
 * DPOR runs: it is most of the time of `check examples/` and adds no kind of output the others
 * lack; `check examples/` as a whole is compared by hand (see the issue).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, gupcheck, readTree, tmp } from './helpers.ts';

interface Snapshot {
  readonly json: string;
  readonly files: Map<string, string>;
  readonly report: string | undefined;
  readonly results: number;
}

/** Zero each result's `ms`, checking there is exactly one per result and nothing else is touched. */
function normaliseJson(stdout: string): { text: string; results: number } {
  const results = (JSON.parse(stdout) as { results: unknown[] }).results.length;
  let n = 0;
  const text = stdout.replace(/^ {6}"ms": \d+,$/gm, () => (n++, '      "ms": 0,'));
  expect(n, 'one wall-time field per result').toBe(results);
  return { text, results };
}

/**
 * The report embeds the runs as JSON: zero their `ms` the same way. Its header shows the command
 * that produced it, --workers included: that option is taken out of the command, nothing else.
 */
function normaliseReport(html: string, results: number): string {
  let n = 0;
  const text = html
    .replace(/"ms":\d+,"strategy":/g, () => (n++, '"ms":0,"strategy":'))
    .replace(/("command":"gupcheck check [^"]*?) --workers \d+/, '$1');
  expect(n, 'one wall-time field per run in the report').toBe(results);
  expect(html.trimEnd().endsWith('</html>')).toBe(true);
  return text;
}

function run(args: readonly string[], report = false): Snapshot {
  const cwd = tmp();
  const r = gupcheck(['check', ...args, '--json', '--out', 'out', ...(report ? ['--report', 'report.html'] : [])], { cwd });
  expect(r.stderr).toBe('');
  expect([0, 1]).toContain(r.code);
  const { text, results } = normaliseJson(r.stdout);
  const files = existsSync(join(cwd, 'out')) ? readTree(join(cwd, 'out')) : new Map<string, string>();
  return { json: text, files, report: report ? normaliseReport(readFileSync(join(cwd, 'report.html'), 'utf8'), results) : undefined, results };
}

function expectSame(a: Snapshot, b: Snapshot): void {
  expect(b.json).toBe(a.json);
  expect([...b.files.keys()]).toEqual([...a.files.keys()]);
  for (const [k, v] of a.files) expect(b.files.get(k), k).toBe(v);
  expect(b.report).toBe(a.report);
}

const EXAMPLES = readdirSync(EXAMPLE(''))
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('10-'))
  .map(EXAMPLE);
let dpor: Snapshot | undefined;
const dporOnce = () => (dpor ??= run([...EXAMPLES, '--workers', '1'], true));

describe('determinism: the same scenario, options and seed give the same bytes', () => {
  it('dpor over the bundled examples: JSON, trace files and report identical across two runs', () => {
    const a = dporOnce();
    const b = run([...EXAMPLES, '--workers', '1'], true);
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(10);
    expect(a.results).toBeGreaterThanOrEqual(60);
    expect(a.files.size).toBeGreaterThanOrEqual(20);
    expectSame(a, b);
  }, 300_000);

  it('dpor with --workers 2 gives what one worker gives', () => {
    const a = dporOnce();
    const b = run([...EXAMPLES, '--workers', '2'], true);
    expectSame(a, b);
  }, 300_000);

  for (const strategy of ['random', 'pct'] as const) {
    it(`--strategy ${strategy} --seed 7: identical across two runs; --seed 8 differs`, () => {
      const args = [EXAMPLE('04-longterm-pin-writeback-ext4.yaml'), EXAMPLE('09-fast-pin-vs-unmap-reuse.yaml'), '--strategy', strategy, '--max-executions', '200'];
      const a = run([...args, '--seed', '7']);
      const b = run([...args, '--seed', '7']);
      expect(a.files.size, 'the sample finds something, so traces are compared too').toBeGreaterThanOrEqual(1);
      expectSame(a, b);
      expectSame(a, run([...args, '--seed', '7', '--workers', '2']));
      // Not vacuous: the seed reaches the sampler.
      expect(run([...args, '--seed', '8']).json).not.toBe(a.json);
    }, 300_000);
  }
});
