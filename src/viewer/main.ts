/**
 * The report viewer's entry point (bundled by esbuild into one IIFE and inlined into the report).
 * Two views: the overview (limits, verdict matrix, findings, revision diff) and one trace (a
 * timeline with one lane per CPU, the state at the selected step). The URL hash keeps the place:
 * `#trace=3&step=12`, so a reload or a shared link opens the same step.
 */
import type { ReportData } from './data.ts';
import { REPORT_DATA_VERSION } from './data.ts';
import { byId, h, replace } from './dom.ts';
import { renderOverview } from './overview.ts';
import { traceTitle } from './model.ts';
import { TraceView } from './trace-view.ts';

function loadReportData(): ReportData {
  const el = document.getElementById('gupcheck-data');
  const data = JSON.parse(el?.textContent ?? 'null') as ReportData | null;
  if (!data || data.version !== REPORT_DATA_VERSION) throw new Error(`[gupcheck viewer] report data missing or of another version (want ${REPORT_DATA_VERSION})`);
  return data;
}

function parseHash(): { trace: number | null; step: number | null } {
  const p = new URLSearchParams(location.hash.replace(/^#/, ''));
  const num = (k: string): number | null => {
    const v = p.get(k);
    return v !== null && /^\d+$/.test(v) ? Number(v) : null;
  };
  return { trace: num('trace'), step: num('step') };
}

function start(): void {
  const app = byId('app');
  let data: ReportData;
  try {
    data = loadReportData();
  } catch (e) {
    replace(app, h('p', { class: 'error' }, String(e)));
    return;
  }
  let current: TraceView | null = null;
  let overviewScroll = 0;

  const openTrace = (index: number, step?: number): void => {
    location.hash = `trace=${index}${step !== undefined ? `&step=${step}` : ''}`;
  };

  const route = (): void => {
    const { trace, step } = parseHash();
    const t = trace !== null ? data.traces[trace] : undefined;
    if (trace !== null && t) {
      if (current && current.index === trace) {
        if (step !== null) current.select(step, false);
        return;
      }
      if (!current) overviewScroll = window.scrollY;
      current = new TraceView(data, trace, () => {
        location.hash = '';
      });
      replace(app, current.root);
      current.select(step ?? 0, false);
      document.title = `${traceTitle(t).badge} · ${t.scenario} ${t.kernel}/${t.arch} · gupcheck report`;
      window.scrollTo(0, 0);
      return;
    }
    current = null;
    replace(app, renderOverview(data, openTrace));
    document.title = 'gupcheck report';
    window.scrollTo(0, overviewScroll);
  };

  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => current?.relayout());
  document.addEventListener('keydown', (ev) => {
    if (!current || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const tag = (ev.target as HTMLElement | null)?.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    if (current.onKey(ev.key)) ev.preventDefault();
  });
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
