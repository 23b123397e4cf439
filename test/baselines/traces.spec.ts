/**
 * Traces as baselines (docs/reference/design.md §11; TypeScript's baselines, fast-check's NoRegression): the
 * narrated trace of every finding of every bundled example is written to test/baselines/local/
 * and compared with test/baselines/reference/. A change in what a trace says (a step, a value, a
 * note, the order the search found) then shows as a diff in review. After a change you mean,
 * `npm run baselines:accept` promotes local/ to reference/; read the diff before committing it.
 * An unexpected change in an unrelated baseline is a clue (the exploration order changed).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { narrate } from '../../src/trace/narrate.ts';
import type { Trace } from '../../src/trace/schema.ts';
import { gupcheck, ROOT, tmp } from '../trust/helpers.ts';

const REFERENCE = join(ROOT, 'test/baselines/reference');
const LOCAL = join(ROOT, 'test/baselines/local');

let written: string[] = [];

beforeAll(() => {
  const out = tmp('gupcheck-baselines-');
  const r = gupcheck(['check', 'examples/', '--json', '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  rmSync(LOCAL, { recursive: true, force: true });
  mkdirSync(LOCAL, { recursive: true });
  written = [];
  for (const f of readdirSync(out).filter((x) => x.endsWith('.trace.json')).sort()) {
    const t = JSON.parse(readFileSync(join(out, f), 'utf8')) as Trace;
    const name = f.replace(/\.json$/, '.txt');
    writeFileSync(join(LOCAL, name), narrate(t));
    written.push(name);
  }
}, 300_000);

describe('the narrated traces of the bundled examples equal their baselines', () => {
  it('every finding of every example has a trace, and each reads as its baseline says', () => {
    expect(written.length).toBeGreaterThanOrEqual(20);
    const changed = written.filter((n) => !existsSync(join(REFERENCE, n)) || readFileSync(join(REFERENCE, n), 'utf8') !== readFileSync(join(LOCAL, n), 'utf8'));
    const stale = existsSync(REFERENCE) ? readdirSync(REFERENCE).filter((n) => !written.includes(n)) : [];
    const what = [...changed.map((n) => `changed or new: ${n}`), ...stale.map((n) => `no longer produced: ${n}`)];
    // One readable diff first (the first changed trace), then the list.
    if (changed[0] && existsSync(join(REFERENCE, changed[0]))) {
      expect(readFileSync(join(LOCAL, changed[0]), 'utf8'), `${changed[0]} (compare test/baselines/local/ with reference/; npm run baselines:accept if the change is meant)`).toBe(
        readFileSync(join(REFERENCE, changed[0]), 'utf8'),
      );
    }
    expect(what, 'trace baselines differ: read test/baselines/local/ against reference/, then `npm run baselines:accept` if the change is meant').toEqual([]);
  });
});
