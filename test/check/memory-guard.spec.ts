/**
 * A search stops itself, with partial results, before V8's heap limit ends the process or its
 * worker (check/explore.ts nearMemoryLimit()): past that limit every result is lost. Here a child
 * with a 160 MB heap grows its heap slowly; the guard must say so before V8 aborts it. And from
 * the command line, a stateful search on a small heap either stops cleanly (bounded (memory)) or,
 * when one allocation jumps past the guard's margin, ends with GUPCHECK_LIMIT_MEMORY and what to
 * do: never an internal error.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../trust/helpers.ts';

describe('the memory guard', () => {
  it('says the heap is near its limit before V8 runs out', () => {
    const explore = pathToFileURL(join(ROOT, 'src/check/explore.ts')).href;
    const code = `
      const { nearMemoryLimit } = await import(${JSON.stringify(explore)});
      const keep = [];
      for (let i = 0; i < 400; i++) {
        keep.push(Array.from({ length: 1 << 15 }, (_, j) => ({ j })));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 55);
        const why = nearMemoryLimit();
        if (why) { console.log('near: ' + why); process.exit(0); }
      }
      console.log('never near');`;
    const r = spawnSync(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^near: the JS heap holds \d+ MB, and about \d+ MB are left before its limit of \d+ MB$/m);
  }, 120_000);

  it('a stateful search on a small heap ends with its partial results or GUPCHECK_LIMIT_MEMORY, never an internal error', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/gupcheck.mjs'), 'check', 'bench/spin-l2.yaml', '--kernel', '6.5', '--arch', 'arm64', '--strategy', 'stateful', '--no-progress'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=128' },
    });
    if (r.status === 0) {
      expect(r.stdout).toMatch(/bounded \(memory\), [\d,]+ states/);
      expect(r.stdout).toMatch(/stopped before running out of memory: the JS heap holds \d+ MB, and about \d+ MB are left before its limit of \d+ MB/);
    } else {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/error\[GUPCHECK_LIMIT_MEMORY\]: bench\/spin-l2\.yaml: spin-l2 6\.5\/arm64: the search ran out of memory: the JS heap reached its limit of about \d+ MB/);
      expect(r.stderr).toMatch(/NODE_OPTIONS=--max-old-space-size=\d+/);
      expect(r.stdout).toBe('');
    }
    expect(r.stderr).not.toMatch(/internal error/);
  }, 300_000);
});
