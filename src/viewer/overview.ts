/**
 * The overview: what the model does not cover, the verdict matrix (scenario × revision × arch,
 * mutants as extra rows), every finding with its trace, and the revision diff.
 */
import type { ReportData, ReportRun } from './data.ts';
import { type Child, h, plural, replace } from './dom.ts';
import { NO_FINDING, VERDICTS, VERDICT_WORDS, verdictSummary } from '../run/verdict.ts';
import { cellKey, defaultDiffPair, revisionDiff, runLabel, searchDetail, searchLabel, searchNotes, traceIndexFor, verdictMatrix, type DiffItem } from './model.ts';

type OpenTrace = (index: number, step?: number) => void;

/** The one-line reminder of the model's limits, expandable to the full list (shown on every view). */
export function limitsLine(notCovered: readonly string[]): HTMLElement {
  return h(
    'details',
    { class: 'limits-line', id: 'limits-line' },
    h('summary', null, h('strong', null, 'Not covered by the model: '), notCovered[0] ?? 'see gupcheck explain limits', notCovered.length > 1 ? ` (+${notCovered.length - 1} more)` : ''),
    h('ul', null, notCovered.map((n) => h('li', null, n))),
  );
}

function header(data: ReportData): HTMLElement {
  const runs = data.runs;
  const bad = runs.filter((r) => VERDICT_WORDS[r.verdict].tone === 'bad').length;
  const bounded = runs.filter((r) => !r.complete).length;
  const nFind = runs.reduce((n, r) => n + r.findings.length, 0);
  return h(
    'header',
    { class: 'top' },
    h('h1', null, 'gupcheck report'),
    h('p', { class: 'command' }, h('code', null, data.meta.command), data.meta.generated ? h('span', { class: 'sub' }, ` · ${data.meta.generated}`) : null),
    h(
      'p',
      { class: `summary${bad ? ' bad' : ''}`, id: 'summary' },
      verdictSummary(runs),
      ` · ${plural(nFind, 'finding')} (${plural(data.traces.filter((t) => !t.outcome).length, 'trace')})`,
      ` · ${bounded ? `${bounded} bounded or sampled search${bounded === 1 ? '' : 'es'}` : 'every search complete'}`,
    ),
    data.meta.interrupted
      ? h('p', { class: 'banner bad', id: 'interrupted' }, 'Interrupted: the results below are partial.', data.meta.notStarted?.length ? ` Not started: ${data.meta.notStarted.join(', ')}.` : '')
      : null,
    h(
      'section',
      { class: 'limits', id: 'limits', 'aria-label': 'what the model does not cover' },
      h('h2', null, 'What the model does not cover'),
      h('ul', null, data.meta.notCovered.map((n) => h('li', null, n))),
    ),
  );
}

// ===== verdict matrix =====

function findingButton(data: ReportData, r: ReportRun, f: ReportRun['findings'][number], open: OpenTrace): HTMLElement {
  const ti = traceIndexFor(data, r, f.id);
  const label = `${f.id} ×${f.executions}${f.expected ? '' : ' !'}`;
  const title = `${f.message ?? f.id} (in ${f.executions} of ${r.executions} executions${f.expected ? ', expected' : ', NOT expected'})${ti >= 0 ? ' - open its trace' : ''}`;
  const cls = `badge finding${f.expected ? '' : ' unexpected'}`;
  return ti >= 0
    ? h('button', { type: 'button', class: cls, title, 'data-trace': ti, 'data-finding': f.id, onclick: () => open(ti) }, label)
    : h('span', { class: cls, title, 'data-finding': f.id }, label);
}

function matrix(data: ReportData, open: OpenTrace): HTMLElement {
  const m = verdictMatrix(data.runs);
  const kernelCols = m.kernels.map((k) => ({ k, arches: m.columns.filter((c) => c.kernel === k) })).filter((x) => x.arches.length);
  const table = h(
    'table',
    { class: 'matrix', id: 'matrix' },
    h(
      'thead',
      null,
      h('tr', null, h('th', { rowspan: 2, class: 'rowhead' }, 'scenario'), kernelCols.map((x) => h('th', { colspan: x.arches.length, class: 'kernel' }, x.k))),
      h('tr', null, m.columns.map((c) => h('th', { class: 'arch' }, c.arch))),
    ),
    h(
      'tbody',
      null,
      m.rows.map((row) =>
        h(
          'tr',
          { 'data-scenario': row.scenario, 'data-mutant': row.mutant ?? '' },
          h('th', { class: 'rowhead' }, row.mutant ? h('span', { class: 'mutant' }, `+ mutant ${row.mutant}`) : row.scenario),
          m.columns.map((c) => {
            const r = row.cells.get(cellKey(c.kernel, c.arch));
            if (!r) return h('td', { class: 'cell empty' }, '');
            const failed = r.expectations.filter((e) => !e.holds);
            const title = [
              `${r.scenario} ${runLabel(r)}: ${VERDICT_WORDS[r.verdict].word}: ${VERDICT_WORDS[r.verdict].meaning}`,
              ...r.expectations.map((e) => `${e.holds ? '✓' : '✗'} expected ${e.expect}; observed ${e.observed}`),
            ].join('\n');
            return h(
              'td',
              { class: `cell ${r.verdict}${r.findings.length ? ' has-findings' : ''}`, 'data-kernel': r.kernel, 'data-arch': r.arch, title },
              h('div', { class: 'verdict' }, `${VERDICT_WORDS[r.verdict].mark} ${VERDICT_WORDS[r.verdict].word}`),
              r.findings.length ? h('div', { class: 'findings' }, r.findings.map((f) => findingButton(data, r, f, open))) : h('div', { class: 'clean' }, NO_FINDING),
              h(
                'div',
                { class: 'execs', title: searchDetail(r) },
                `${r.executions} exec${r.executions === 1 ? '' : 's'} · `,
                h('span', { class: r.complete ? 'complete' : 'bounded' }, searchLabel({ ...r, states: null })),
                r.states != null ? h('div', { class: 'states' }, `${r.states.toLocaleString('en-US')} states${r.dporFirst != null ? ' (moved)' : ''}`) : null,
              ),
              failed.length ? h('div', { class: 'failed' }, failed.map((e) => h('div', null, `expected ${e.expect}; ${e.observed}`))) : null,
            );
          }),
        ),
      ),
    ),
  );
  return h(
    'section',
    { id: 'verdicts' },
    h('h2', null, 'Verdicts'),
    h(
      'p',
      { class: 'legend' },
      VERDICTS.map((v) => [h('span', { class: `swatch ${v}` }), `${VERDICT_WORDS[v].word}: ${VERDICT_WORDS[v].meaning}`]),
      h('span', { class: 'badge finding' }, 'finding ×n'),
      'reached in n executions (click for its trace; ! = not expected)',
      ' · complete = every interleaving explored',
    ),
    h('div', { class: 'matrix-wrap' }, table),
    searchSection(data),
  );
}

/** The notes on the searches under the matrix: runs moved to the stateful search, searches stopped early and why, fingerprint collisions. */
function searchSection(data: ReportData): HTMLElement | null {
  const n = searchNotes(data.runs);
  if (!n.moved && !n.stopped.length && !n.withinBound.length && !n.collisions) return null;
  return h(
    'div',
    { class: 'search-notes', id: 'search-notes' },
    n.moved ? h('p', { class: 'moved' }, `${n.moved.note}: ${n.moved.runs.join(', ')}.`) : null,
    runNotes('stopped', n.stopped, (one) => `stopped early; what ${one ? 'it' : 'they'} found holds, what ${one ? 'it' : 'they'} did not reach is unknown`),
    runNotes('within-bound', n.withinBound, () => 'explored every schedule within a preemption bound, and none beyond it'),
    n.collisions ? h('p', { class: 'collisions' }, `Stateful search: ${n.collisions}.`) : null,
  );
}

/** "2 searches <what>:" and a list of the runs with why, or nothing when there are none. */
function runNotes(cls: string, runs: readonly { readonly run: string; readonly why: string }[], what: (one: boolean) => string): HTMLElement | null {
  if (!runs.length) return null;
  const one = runs.length === 1;
  return h('div', { class: cls }, h('p', null, `${one ? '1 search' : `${runs.length} searches`} ${what(one)}:`), h('ul', null, runs.map((x) => h('li', null, h('strong', null, x.run), `: ${x.why}`))));
}

// ===== findings =====

function findings(data: ReportData, open: OpenTrace): HTMLElement {
  const shown = data.traces.map((t, i) => [t, i] as const).filter(([t]) => !t.outcome); // outcome traces belong to the revision diff
  const rows: Child[] = shown.map(([t, i]) => {
    const run = data.runs.find((r) => r.scenario === t.scenario && r.kernel === t.kernel && r.arch === t.arch && r.mutant === t.mutant);
    const f = run?.findings.find((x) => x.id === t.finding?.id);
    return h(
      'tr',
      { 'data-trace': i },
      h('td', null, h('span', { class: `badge finding${f && !f.expected ? ' unexpected' : ''}` }, t.finding?.id ?? 'execution'), h('div', { class: 'msg' }, t.finding?.message ?? '')),
      h('td', null, t.scenario),
      h('td', { class: 'nowrap' }, runLabel(t)),
      h('td', { class: 'num' }, f && run ? `${f.executions} / ${run.executions}` : ''),
      h('td', { class: 'num' }, `${t.steps.length}`),
      h('td', null, h('button', { type: 'button', class: 'open-trace', 'data-trace': i, onclick: () => open(i) }, 'Open trace →')),
    );
  });
  return h(
    'section',
    { id: 'findings' },
    h('h2', null, 'Findings'),
    shown.length
      ? h(
          'table',
          { class: 'findings-table' },
          h('thead', null, h('tr', null, h('th', null, 'finding'), h('th', null, 'scenario'), h('th', null, 'run'), h('th', null, 'executions'), h('th', null, 'steps'), h('th', null, ''))),
          h('tbody', null, rows),
        )
      : h('p', { class: 'none' }, 'No findings: no explored execution reached a finding.'),
  );
}

// ===== revision diff =====

interface DiffChoice {
  scenario: string;
  mutant: string | null;
  a: string;
  b: string;
}

let diffChoice: DiffChoice | null = null;

function initialChoice(data: ReportData): DiffChoice | null {
  const scenarios = [...new Set(data.runs.map((r) => r.scenario))];
  let fallback: DiffChoice | null = null;
  for (const sc of scenarios) {
    const pair = defaultDiffPair(data, sc, null);
    if (!pair) continue;
    const c = { scenario: sc, mutant: null, a: pair[0], b: pair[1] };
    fallback ??= c;
    if (revisionDiff(data, sc, null, pair[0], pair[1]).some((d) => d.onlyA.some((x) => x.kind === 'finding') || d.onlyB.some((x) => x.kind === 'finding'))) return c;
  }
  return fallback;
}

function diffItem(it: DiffItem, open: OpenTrace): HTMLElement {
  return h(
    'li',
    { class: `diff-item ${it.kind}`, 'data-kind': it.kind, 'data-what': it.what },
    it.kind === 'finding' ? h('span', { class: 'badge finding' }, it.what) : h('span', { class: 'outcome' }, it.what),
    ` in ${it.executions} of ${it.of} executions`,
    it.message ? h('div', { class: 'msg' }, it.message) : null,
    it.trace >= 0
      ? h('button', { type: 'button', class: 'open-trace', 'data-trace': it.trace, onclick: () => open(it.trace) }, 'Open trace →')
      : h('span', { class: 'sub' }, ' (no trace recorded; outcome traces are in reports written with --report)'),
  );
}

function diffResult(data: ReportData, c: DiffChoice, open: OpenTrace): Child {
  const diffs = revisionDiff(data, c.scenario, c.mutant, c.a, c.b);
  if (!diffs.length) return h('p', { class: 'none' }, `${c.a} and ${c.b} were not both run on one architecture for this scenario.`);
  return diffs.map((d) => {
    const side = (rev: string, other: string, items: readonly DiffItem[], otherRun: ReportRun): HTMLElement =>
      h(
        'div',
        { class: 'diff-side', 'data-only': rev, 'data-not': other },
        h('h4', null, `Reachable in ${rev}, not in ${other}`),
        items.length ? h('ul', null, items.map((it) => diffItem(it, open))) : h('p', { class: 'none' }, 'nothing'),
        items.length && !otherRun.complete ? h('p', { class: 'warn' }, `${other}'s search was ${searchLabel(otherRun)}: "not in ${other}" means not found, not proven unreachable.`) : null,
      );
    return h(
      'div',
      { class: 'diff-arch', 'data-arch': d.arch },
      h('h3', null, `${d.arch}`, h('span', { class: 'sub' }, ` · ${c.a}: ${d.a.executions} executions, ${searchLabel(d.a)} · ${c.b}: ${d.b.executions} executions, ${searchLabel(d.b)}`)),
      h('div', { class: 'diff-cols' }, side(c.a, c.b, d.onlyA, d.b), side(c.b, c.a, d.onlyB, d.a)),
    );
  });
}

function diffSection(data: ReportData, open: OpenTrace): HTMLElement {
  const section = h('section', { id: 'diff' }, h('h2', null, 'Revision diff'));
  diffChoice ??= initialChoice(data);
  if (!diffChoice) {
    section.append(h('p', { class: 'none' }, 'Only one revision was run per scenario: nothing to compare.'));
    return section;
  }
  const body = h('div', { class: 'diff-body', id: 'diff-body' });
  const controls = h('div', { class: 'diff-controls' });
  const select = (id: string, label: string, options: readonly string[], value: string, onChange: (v: string) => void): HTMLElement => {
    const el = h('select', { id }, options.map((o) => h('option', { value: o, selected: o === value }, o === '' ? '(none)' : o)));
    el.addEventListener('change', () => onChange(el.value));
    return h('label', null, `${label} `, el);
  };
  const draw = (): void => {
    const c = diffChoice!;
    const runs = data.runs.filter((r) => r.scenario === c.scenario);
    const mutants = [...new Set(runs.map((r) => r.mutant ?? ''))];
    const kernels = [...new Set(runs.filter((r) => r.mutant === c.mutant).map((r) => r.kernel))];
    const set = (patch: Partial<DiffChoice>): void => {
      const next = { ...c, ...patch };
      if (patch.scenario !== undefined || patch.mutant !== undefined) {
        const pair = defaultDiffPair(data, next.scenario, next.mutant);
        if (pair) [next.a, next.b] = pair;
      }
      diffChoice = next;
      draw();
    };
    replace(
      controls,
      select('diff-scenario', 'scenario', [...new Set(data.runs.map((r) => r.scenario))], c.scenario, (v) => set({ scenario: v, mutant: null })),
      mutants.length > 1 ? select('diff-mutant', 'mutant', mutants, c.mutant ?? '', (v) => set({ mutant: v === '' ? null : v })) : null,
      select('diff-a', 'reachable in', kernels, c.a, (v) => set({ a: v })),
      select('diff-b', 'and not in', kernels, c.b, (v) => set({ b: v })),
      h('button', { type: 'button', id: 'diff-swap', onclick: () => set({ a: c.b, b: c.a }) }, '⇄ swap'),
    );
    replace(body, kernels.length < 2 ? h('p', { class: 'none' }, 'This scenario ran on one revision only.') : diffResult(data, c, open));
  };
  draw();
  section.append(h('p', { class: 'sub' }, 'For one scenario: the findings and outcomes one revision reaches and the other does not, on each architecture both ran.'), controls, body);
  return section;
}

export function renderOverview(data: ReportData, open: OpenTrace): HTMLElement {
  return h('div', { class: 'overview' }, header(data), matrix(data, open), findings(data, open), diffSection(data, open));
}
