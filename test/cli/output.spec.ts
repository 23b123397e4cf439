/**
 * Wide output (issue 16 item 8): on a terminal, tables fit its width, their widest columns
 * narrowed and wrapped with nothing cut off; piped, every row stays one full-width line.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fitColumns, type Out, table, visibleWidth, wrapCell } from '../../src/cli/output.ts';
import { gupcheck, ROOT } from './helpers.ts';
import { renderResults } from '../../src/cli/commands/check.ts';

const out = (isTTY: boolean, columns?: number): Out => ({ write() {}, isTTY, color: false, columns });
const LONG = 'an anonymous folio that is mapped writable but still in the swap cache, pinned by pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) and then split';

describe('fitting a table to the terminal', () => {
  it('narrows only the widest columns, to one width, and never below a minimum', () => {
    expect(fitColumns([10, 200], 100, 7)).toEqual([10, 83]);
    expect(fitColumns([30, 40, 50], 70, 10)).toEqual([20, 20, 20]);
    expect(fitColumns([5, 10], 100, 7)).toBeUndefined(); // fits as it is
    expect(fitColumns([50, 50, 50], 20, 10)).toBeUndefined(); // cannot fit: overflow rather than a column a few letters wide
    expect(fitColumns([30, 40], 40, 7, [12, 12])).toEqual([16, 16]);
    expect(fitColumns([30, 40], 40, 7, [25, 6])).toEqual([25, 8]); // a column's minimum holds
  });

  it('wraps after spaces and hyphens, breaks a word only when it alone is too wide, and loses nothing', () => {
    expect(wrapCell('fast-pin-vs-unmap-reuse', 10)).toBe('fast-pin-\nvs-unmap-\nreuse');
    expect(wrapCell('longterm-write-pin-on-dirty-tracked-file', 12)).toBe('longterm-\nwrite-pin-\non-dirty-\ntracked-file');
    expect(wrapCell('abcdefghijkl', 5)).toBe('abcde\nfghij\nkl');
    const w = wrapCell(LONG, 30);
    expect(w.split('\n').every((l) => visibleWidth(l) <= 30)).toBe(true);
    expect(w.replace(/\s+/g, '')).toBe(LONG.replace(/\s+/g, '')); // nothing cut off
  });

  it('on a terminal every line fits; piped each row is one line, as wide as it needs', () => {
    const rows = [['fast-pin-swapcache-anon', LONG], ['x', 'short']];
    const tty = table(out(true, 80), ['name', 'shows'], rows);
    for (const l of tty.trimEnd().split('\n')) expect(visibleWidth(l)).toBeLessThanOrEqual(80);
    expect(tty.replace(/[│\s]+/g, ' ')).toContain('fast-pin-swapcache-anon');
    const piped = table(out(false), ['name', 'shows'], rows);
    expect(piped.trimEnd().split('\n')).toHaveLength(3);
    expect(piped).toContain(LONG);
  });
});

describe('gupcheck on a 100-column terminal (util-linux script)', () => {
  const onTerminal = (args: string) => {
    const r = spawnSync('script', ['-qfec', `stty cols 100; ${process.execPath} bin/gupcheck.mjs ${args}`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return r.stdout.replace(/\r/g, '');
  };

  it('list fits in 100 columns (it padded to about 300), and piped it keeps full-width rows', () => {
    const lines = onTerminal('list').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(30);
    expect(Math.max(...lines.map(visibleWidth))).toBeLessThanOrEqual(100);
    const piped = gupcheck(['list']);
    expect(Math.max(...piped.stdout.split('\n').map(visibleWidth))).toBeGreaterThan(150);
  });

  it("check's verdict table fits in 100 columns", () => {
    const text = onTerminal('check examples/04-longterm-pin-writeback-ext4.yaml --no-progress --out .tmp/output-spec');
    const tableLines = text.split('\n').filter((l) => /^[┌│├└]/.test(l));
    expect(tableLines.length).toBeGreaterThan(5);
    expect(Math.max(...tableLines.map(visibleWidth))).toBeLessThanOrEqual(100);
    expect(text).toContain('dirty-without-');
  });
});

describe('check with no run ended', () => {
  it('says so, with no empty table and no "0/0 runs" (an interrupt before the first run ended)', () => {
    const s = renderResults(out(false), [], [], false);
    expect(s).toBe('No run finished. Model: SC interleavings only; see `gupcheck explain limits`.\n');
  });
});
