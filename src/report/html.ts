/**
 * The self-contained HTML report: results and traces embedded as JSON in the page, the viewer
 * script and styles inlined, so it opens from file:// with no network. The interactive viewer
 * is src/viewer/ (bundled by scripts/build-viewer.mjs into src/viewer/dist/viewer.js); until it
 * is built this writes the same data with a plain text rendering.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { narrate } from '../trace/narrate.ts';
import type { Trace } from '../trace/schema.ts';

export interface ReportRun {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly mutant: string | null;
  readonly verdict: 'holds' | 'violated';
  readonly executions: number;
  readonly complete: boolean;
  readonly limit: string | null;
  readonly findings: readonly { readonly id: string; readonly executions: number; readonly replay: string; readonly expected: boolean }[];
  readonly outcomes: Record<string, Record<string, number>>;
  readonly expectations: readonly { readonly expect: string; readonly holds: boolean; readonly observed: string }[];
}

export interface ReportMeta {
  readonly interrupted: boolean;
  readonly command: string;
}

const VIEWER_JS = fileURLToPath(new URL('../viewer/dist/viewer.js', import.meta.url));
const VIEWER_CSS = fileURLToPath(new URL('../viewer/viewer.css', import.meta.url));

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** JSON that is safe inside <script type="application/json">. */
function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderReport(runs: readonly ReportRun[], traces: readonly Trace[], meta: ReportMeta): string {
  const data = { version: 1, runs, traces, meta };
  const js = existsSync(VIEWER_JS) ? readFileSync(VIEWER_JS, 'utf8') : '';
  const css = existsSync(VIEWER_CSS) ? readFileSync(VIEWER_CSS, 'utf8') : '';
  const fallback = traces.map((t) => `<pre>${esc(narrate(t))}</pre>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gupcheck report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}</style></head>
<body>
<script type="application/json" id="gupcheck-data">${jsonForScript(data)}</script>
<div id="app">${js ? '' : `<h1>gupcheck report</h1><p>${esc(meta.command)}</p>${fallback}`}</div>
${js ? `<script>${js.replace(/<\/script/gi, '<\\/script')}</script>` : ''}
</body></html>
`;
}

/** Write the report: to a temporary name first, then renamed, so a partial file never looks complete. */
export function writeReport(path: string, runs: readonly ReportRun[], traces: readonly Trace[], meta: ReportMeta): void {
  const html = renderReport(runs, traces, meta);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
}
