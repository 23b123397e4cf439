/**
 * The self-contained HTML report: results and traces embedded as JSON in the page, the viewer
 * script and styles inlined, so it opens from file:// with no network. The interactive viewer
 * is src/viewer/ (bundled on demand by ./viewer-bundle.ts); where it cannot be built, this writes
 * the same data with a plain text rendering. Either way the page states what the model does not
 * cover.
 *
 * Everything from the results is data: it goes into the page as JSON inside
 * <script type="application/json"> (with `<` escaped, so no `</script>` can close it) or as
 * HTML-escaped text, and the viewer puts it into the DOM as text nodes only.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { notCovered } from '../answer/limits.ts';
import { narrate } from '../trace/narrate.ts';
import type { Trace } from '../trace/schema.ts';
import { REPORT_DATA_VERSION, type ReportData, type ReportMeta, type ReportRun } from '../viewer/data.ts';
import { viewerScript, viewerStyles } from './viewer-bundle.ts';

export type { ReportMeta, ReportRun } from '../viewer/data.ts';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside <script type="application/json">. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The report's data: what the viewer reads. */
export function reportData(runs: readonly ReportRun[], traces: readonly Trace[], meta: ReportMeta): ReportData {
  return {
    version: REPORT_DATA_VERSION,
    runs,
    traces,
    meta: { interrupted: meta.interrupted, command: meta.command, ...(meta.notStarted?.length ? { notStarted: meta.notStarted } : {}), notCovered: traces[0]?.model.notCovered ?? notCovered('checker') },
  };
}

export function renderReport(runs: readonly ReportRun[], traces: readonly Trace[], meta: ReportMeta): string {
  const data = reportData(runs, traces, meta);
  const js = viewerScript();
  const css = viewerStyles();
  const fallback = `<h1>gupcheck report</h1><p><code>${esc(meta.command)}</code></p>
<p>(The interactive viewer could not be built: run <code>npm ci</code> so that esbuild is installed.)</p>
<h2>What the model does not cover</h2><ul>${data.meta.notCovered.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
${traces.map((t) => `<pre>${esc(narrate(t))}</pre>`).join('\n')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gupcheck report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${css.replace(/<\/style/gi, '<\\/style')}</style></head>
<body>
<script type="application/json" id="gupcheck-data">${jsonForScript(data)}</script>
<div id="app">${js !== undefined ? '<noscript>This report needs JavaScript for its viewer.</noscript>' : fallback}</div>
${js !== undefined ? `<script id="gupcheck-viewer">${js.replace(/<\/script/gi, '<\\/script')}</script>` : ''}
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
