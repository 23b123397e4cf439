/*
 * The viewer's data model (src/viewer/model.ts) and the report page (src/report/html.ts), in
 * Node: the verdict matrix, revision diffs, state diffs across a page's free and reuse, and the
 * embedding of data and script. The browser test (browser.spec.ts) drives the real page.
 */
import { describe, expect, it } from 'vitest';
import { jsonForScript, renderReport, reportData } from '../../src/report/html.ts';
import type { StateSnapshot, Trace, TraceStep } from '../../src/trace/schema.ts';
import type { ReportData, ReportRun } from '../../src/viewer/data.ts';
import { withinBound } from '../../src/run/search-words.ts';
import { dporBoundNote } from '../../src/check/strategies/dfs.ts';
import { cellKey, defaultDiffPair, keySteps, revisionDiff, searchDetail, searchLabel, searchNotes, stateView, verdictMatrix } from '../../src/viewer/model.ts';

function run(kernel: string, arch: string, over: Partial<ReportRun> = {}): ReportRun {
  return {
    scenario: 's',
    kernel,
    arch,
    mutant: null,
    verdict: 'holds',
    executions: 10,
    complete: true,
    limit: null,
    findings: [],
    outcomes: { CPU0: { ok: 10 } },
    expectations: [],
    ...over,
  };
}

const cpus = (irqs: 'on' | 'off'): StateSnapshot['cpus'] => [{ name: 'CPU0', irqs, rcu: false, next: 'x' }];
const folio = (owner: string, gen: number, refcount: number, flags: string[] = []): StateSnapshot['folios'][number] => ({ pfn: 17, owner, gen, refcount, mapcount: 0, mapping: 'NULL', flags });
const step = (i: number, notes: string[] = [], finding?: TraceStep['finding']): TraceStep => ({
  i,
  cpu: 'CPU0',
  fn: 'f',
  action: 'a',
  object: 'o',
  access: 'write',
  notes,
  preempted: false,
  ...(finding ? { finding } : {}),
});

/** A page freed at step 1 (it leaves the snapshot), reused by a new owner at step 2. */
function reuseTrace(): Trace {
  const states: StateSnapshot[] = [
    { folios: [folio('anon page of buf', 1, 0, ['lru'])], entries: [{ name: 'pte@0x1000', value: 'none' }], cpus: cpus('off'), freed: [] },
    { folios: [], entries: [{ name: 'pte@0x1000', value: 'none' }], cpus: cpus('off'), freed: [] },
    { folios: [folio('a kernel user', 2, 1)], entries: [{ name: 'pte@0x1000', value: 'none' }], cpus: cpus('on'), freed: ['inode@1'] },
  ];
  return {
    version: 1,
    tool: 'gupcheck',
    scenario: 's',
    kernel: 'v7',
    arch: 'arm64',
    mutant: null,
    tableFree: 'rcu',
    tlbFlush: 'broadcast',
    model: { interleaving: 'SC', notCovered: ['SC only'] },
    finding: { id: 'wild-deref', message: 'm', step: 2 },
    replay: 'gc1:x',
    command: 'gupcheck replay gc1:x',
    cpus: ['CPU0'],
    steps: [step(0), step(1, ['folio@pfn17 freed']), step(2, ['folio@pfn17 allocated'], { id: 'wild-deref', message: 'm' })],
    initial: { folios: [folio('anon page of buf', 1, 1, ['lru'])], entries: [{ name: 'pte@0x1000', value: 'pfn 17 present' }], cpus: cpus('on'), freed: [] },
    states,
    preemptions: 0,
  };
}

describe('the verdict matrix', () => {
  it('should have one column per (kernel, arch) that ran and one row per scenario and mutant, unmodified first', () => {
    const m = verdictMatrix([
      run('6.5', 'arm64', { mutant: 'no-recheck' }),
      run('v7', 'arm64'),
      run('v7', 'x86'),
      run('6.5', 'arm64'),
    ]);
    expect(m.columns).toEqual([
      { kernel: '6.5', arch: 'arm64' },
      { kernel: 'v7', arch: 'arm64' },
      { kernel: 'v7', arch: 'x86' },
    ]);
    expect(m.rows.map((r) => r.mutant)).toEqual([null, 'no-recheck']);
    expect(m.rows[0]!.cells.get(cellKey('v7', 'x86'))?.arch).toBe('x86');
    expect(m.rows[1]!.cells.has(cellKey('v7', 'arm64'))).toBe(false);
  });
});

describe('what the report says of the searches', () => {
  const moved = run('6.5', 'arm64', { strategy: 'stateful', states: 4149, dporFirst: 2000, executions: 234 });
  const stopped = run('6.5', 'x86', { strategy: 'dpor', complete: false, limit: 'executions', stopReason: 'stopped after --max-executions 50 executions; raise it to explore further', executions: 50 });
  const plain = run('6.12', 'x86', { strategy: 'dpor' });

  it('should name the states the stateful search stored, as the text output does', () => {
    expect(searchLabel(moved)).toBe('complete, 4,149 states');
    expect(searchLabel(stopped)).toBe('bounded (executions)');
    expect(searchLabel(run('6.1', 'x86', { complete: false, limit: 'sampled' }))).toBe('sampled');
    // --stop-at-finding; 0 states: the stateful search's first passes found it before the search stored any.
    expect(searchLabel(run('v7', 'arm64', { strategy: 'stateful', complete: false, limit: 'finding', states: 0 }))).toBe('stopped at a finding, 0 states');
    // A report written before the states were kept has no such field.
    expect(searchLabel(run('6.1', 'x86'))).toBe('complete');
  });

  it('should say which search gave the result, after how many DPOR executions it moved, and why a search stopped', () => {
    expect(searchDetail(moved)).toBe('234 executions, complete, 4,149 states\nsearch: stateful, after 2,000 DPOR executions had not finished it');
    expect(searchDetail(stopped)).toBe('50 executions, bounded (executions)\nsearch: dpor\nstopped after --max-executions 50 executions; raise it to explore further');
  });

  it('should list the moved runs, the searches stopped early with their reasons, and the collision estimate; nothing when every search ran plainly to its end', () => {
    const n = searchNotes([moved, stopped, plain]);
    expect(n.moved?.runs).toEqual(['s 6.5/arm64']);
    expect(n.moved?.note).toMatch(/^1 run moved to the stateful search after 2,000 DPOR executions/);
    expect(n.stopped).toEqual([{ run: 's 6.5/x86', why: stopped.stopReason }]);
    expect(n.collisions).toMatch(/among the 4,149 states of the largest run is about 4\.7e-13/);
    expect(searchNotes([plain, run('6.1', 'x86', { complete: false, limit: 'sampled' })])).toEqual({ moved: null, stopped: [], withinBound: [], collisions: null });
  });

  it('should not count a search that explored every schedule within its preemption bound as stopped early, and list it as such', () => {
    const bounded = run('6.5', 'x86', { strategy: 'stateful', complete: false, limit: withinBound(1), states: 697 });
    const dporBounded = run('6.5', 'arm64', { strategy: 'dpor', complete: false, limit: 'preemption-bound', stopReason: dporBoundNote(1) });
    const n = searchNotes([bounded, dporBounded]);
    expect(n.withinBound).toEqual([{ run: 's 6.5/x86', why: 'every schedule within 1 preemption' }]);
    expect(n.stopped).toEqual([{ run: 's 6.5/arm64', why: dporBoundNote(1) }]);
    expect(searchLabel(bounded)).toBe('bounded (every schedule within 1 preemption), 697 states');
  });
});

describe('the revision diff', () => {
  const data: ReportData = {
    version: 1,
    runs: [
      run('v7', 'arm64', { findings: [{ id: 'wild-deref', executions: 3, replay: 'r', expected: true }], outcomes: { CPU0: { ok: 7, oops: 3 } } }),
      run('6.5', 'arm64', { complete: false, limit: 'max-executions' }),
      run('v7', 'x86'),
    ],
    traces: [
      { ...reuseTrace(), kernel: 'v7', arch: 'arm64' },
      { ...reuseTrace(), kernel: 'v7', arch: 'arm64', finding: null, outcome: { name: 'CPU0', value: 'oops' } },
    ],
    meta: { interrupted: false, command: 'c', notCovered: [] },
  };

  it('should list what A reaches and B does not, each linked to its trace, per shared arch', () => {
    const d = revisionDiff(data, 's', null, 'v7', '6.5');
    expect(d.map((x) => x.arch)).toEqual(['arm64']);
    expect(d[0]!.onlyA).toEqual([
      { kind: 'finding', what: 'wild-deref', executions: 3, of: 10, trace: 0 },
      { kind: 'outcome', what: 'CPU0: oops', executions: 3, of: 10, trace: 1 },
    ]);
    expect(d[0]!.onlyB).toEqual([]);
    expect(revisionDiff(data, 's', null, '6.5', 'v7')[0]!.onlyB.map((x) => x.what)).toEqual(['wild-deref', 'CPU0: oops']);
  });

  it('should compare a revision with findings against one without by default', () => {
    expect(defaultDiffPair(data, 's', null)).toEqual(['v7', '6.5']);
    expect(defaultDiffPair({ ...data, runs: [run('v7', 'x86')] }, 's', null)).toBeNull();
  });
});

describe('the state at a step', () => {
  const t = reuseTrace();

  it('should show a page that left the snapshot as freed, with its last owner', () => {
    const v = stateView(t, 1);
    expect(v.folios).toHaveLength(1);
    expect(v.folios[0]).toMatchObject({ pfn: 17, status: 'free', change: 'freed', lastOwner: 'anon page of buf (gen 1)' });
  });

  it('should compare a reused page with its last owner, and mark what changed', () => {
    const f = stateView(t, 2).folios[0]!;
    expect(f).toMatchObject({ status: 'live', change: 'reallocated' });
    const byName = new Map(f.fields.map((x) => [x.name, x]));
    expect(byName.get('owner')).toEqual({ name: 'owner', value: 'a kernel user', before: 'anon page of buf' });
    expect(byName.get('gen')).toEqual({ name: 'gen', value: '2', before: '1' });
    expect(byName.get('_refcount')).toEqual({ name: '_refcount', value: '1', before: '0' });
    expect(byName.get('mapping')).toEqual({ name: 'mapping', value: 'NULL' });
    expect(f.flags).toEqual([{ name: 'lru', change: 'cleared' }]);
    expect(stateView(t, 2).freed).toEqual([{ name: 'inode@1', isNew: true }]);
    expect(stateView(t, 2).cpus[0]!.fields.find((x) => x.name === 'IRQs')).toEqual({ name: 'IRQs', value: 'on', before: 'off' });
  });

  it('should mark the PTE a step changed, and nothing in the initial state', () => {
    expect(stateView(t, 0).entries).toEqual([{ name: 'pte@0x1000', value: 'none', before: 'pfn 17 present', isNew: false }]);
    expect(stateView(t, 0).folios[0]!.fields.find((x) => x.name === '_refcount')).toEqual({ name: '_refcount', value: '0', before: '1' });
    expect(stateView(t, -1).folios[0]!.fields.every((x) => x.before === undefined)).toBe(true);
  });

  it('should tell the race by its state-changing steps and the finding', () => {
    expect(keySteps(t).map((k) => k.i)).toEqual([1, 2, 2]);
  });
});

describe('the report page', () => {
  it('should embed the data as JSON that no string in it can close, and inline the viewer script', () => {
    const t = reuseTrace();
    const evil = '</script><script>alert(1)</script>\u2028';
    const html = renderReport([run('v7', 'arm64')], [{ ...t, finding: { ...t.finding!, message: evil } }], { interrupted: false, command: evil });
    const m = /<script type="application\/json" id="gupcheck-data">([\s\S]*?)<\/script>/.exec(html);
    expect(m).not.toBeNull();
    const data = JSON.parse(m![1]!) as ReportData;
    expect(data.traces[0]!.finding!.message).toBe(evil);
    expect(data.meta.command).toBe(evil);
    expect(html.match(/<\/script/gi)).toHaveLength(2); // the data's and the viewer's own closing tags
    expect(html).toContain('<script id="gupcheck-viewer">');
    expect(jsonForScript('a\u2028b')).toBe('"a\\u2028b"');
  });

  it('should state what the model does not cover even with no traces', () => {
    const d = reportData([run('v7', 'arm64')], [], { interrupted: false, command: 'c' });
    expect(d.meta.notCovered.length).toBeGreaterThan(0);
    expect(d.meta.notCovered[0]).toMatch(/Sequentially consistent/);
  });
});
