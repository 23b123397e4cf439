/**
 * docs/scenario-format.md's operation and outcome tables are generated from the operation table
 * (src/scenarios/ops.ts): each must equal what the table says now. `UPDATE_DOCS=1 npx vitest run
 * test/docs/scenario-format.spec.ts` rewrites them from the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_NAMES, opTableMarkdown, outcomeTableMarkdown, SECTIONS } from '../../src/scenarios/ops.ts';
import { ROOT } from '../cli/helpers.ts';

const DOC = join(ROOT, 'docs/scenario-format.md');

/** The first Markdown table after `heading` (its lines, joined), and where it is. */
function tableAfter(lines: readonly string[], heading: string): { start: number; end: number; text: string } {
  const h = lines.indexOf(heading);
  expect(h, `heading '${heading}' in docs/scenario-format.md`).toBeGreaterThanOrEqual(0);
  let start = h + 1;
  while (start < lines.length && !lines[start]!.startsWith('|')) start++;
  let end = start;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  return { start, end, text: lines.slice(start, end).join('\n') };
}

describe('docs/scenario-format.md says what the operation table says', () => {
  const wanted: [string, string][] = [...SECTIONS.map((s) => [`### ${s}`, opTableMarkdown(s)] as [string, string]), ['## Outcomes', outcomeTableMarkdown()]];

  it('each operation table and the outcome table equal the generated ones', () => {
    let lines = readFileSync(DOC, 'utf8').split('\n');
    if (process.env.UPDATE_DOCS) {
      for (const [heading, table] of wanted) {
        const t = tableAfter(lines, heading);
        lines = [...lines.slice(0, t.start), ...table.split('\n'), ...lines.slice(t.end)];
      }
      writeFileSync(DOC, lines.join('\n'));
    }
    for (const [heading, table] of wanted) expect(tableAfter(lines, heading).text, heading).toBe(table);
  });

  it('every operation has a row, once', () => {
    const rows = SECTIONS.flatMap((s) => opTableMarkdown(s).split('\n').slice(2));
    expect(rows.map((r) => /^\| `([a-z_]+)`/.exec(r)?.[1])).toEqual([...OP_NAMES]);
  });
});
