/**
 * One trace: a header (the finding, the run, the replay command), a timeline with one lane per
 * CPU (SVG, one row per step), and the state after the selected step with what it changed.
 * Click a step or use ←/→ (Home/End) to move; Esc goes back to the overview.
 */
import type { Trace, TraceStep } from '../trace/schema.ts';
import type { ReportData } from './data.ts';
import { type Child, h, plural, replace, s } from './dom.ts';
import { keySteps, lanes, stateAt, stateView, stepEffect, traceTitle, type Field, type FolioView } from './model.ts';
import { limitsLine } from './overview.ts';

// ===== timeline geometry =====

const GUTTER = 40;
const GAP = 6; // between rows
const HIDDEN_GAP = 16; // where key-steps-only mode leaves steps out
const LINE = 16; // text line height in a step box
const PAD = 8; // box padding, top and bottom
const TOP = 6;
const FONT = 12;
const MONO_CHAR = 0.602; // DejaVu Sans Mono / most monospace fonts: advance width in em
/** Lines of note or finding text a state-changing step may wrap to (plain steps get one). */
const MAX_NOTE_LINES = 3;

const charsIn = (px: number, fontPx: number): number => Math.max(4, Math.floor(px / (fontPx * MONO_CHAR)));

function fit(text: string, px: number, fontPx: number): string {
  const n = charsIn(px, fontPx);
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** Word-wrap into at most `max` lines of `px` width (the last one cut with an ellipsis). */
function wrap(text: string, px: number, fontPx: number, max: number): string[] {
  const n = charsIn(px, fontPx);
  const lines: string[] = [];
  let rest = text.trim();
  while (rest && lines.length < max) {
    if (rest.length <= n) {
      lines.push(rest);
      rest = '';
      break;
    }
    let cut = rest.lastIndexOf(' ', n);
    if (cut < n / 2) cut = n;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) lines[lines.length - 1] = fit(`${lines[lines.length - 1] ?? ''} ${rest}`, px, fontPx);
  return lines;
}

function stepLine2(st: TraceStep): string {
  if (st.finding) return `${st.finding.fn ? `then, in ${st.finding.fn}(): ` : ''}${st.finding.id}: ${st.finding.message}`;
  if (st.notes.length) return st.notes.join('; ');
  return stepEffect(st);
}

function tableFreeWords(t: Trace): string {
  return `page tables freed via ${t.tableFree === 'rcu' ? 'RCU' : 'IPI-synchronised TLB flush'}, TLB flush ${t.tlbFlush === 'ipi' ? 'by IPI' : 'broadcast'}`;
}

async function copyText(text: string, fallbackFrom: HTMLElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // file:// pages may not get the async clipboard: select the text and use the old command.
    const range = document.createRange();
    range.selectNodeContents(fallbackFrom);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    return document.execCommand('copy');
  }
}

export class TraceView {
  readonly root: HTMLElement;
  private readonly t: Trace;
  private selected = -1;
  /** Show only the key steps (the race in a few lines) instead of every step. */
  private keyOnly = false;
  private readonly keyIdx: readonly number[];
  private readonly stepEls = new Map<number, SVGGElement>();
  private readonly rowBands = new Map<number, SVGRectElement>();
  private readonly rowTop = new Map<number, number>();
  private readonly rowH = new Map<number, number>();
  private readonly panel: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly counter: HTMLElement;
  private readonly keyToggle: HTMLInputElement;
  private readonly keyItems: HTMLLIElement[] = [];
  private drawnFor = -1;

  constructor(
    data: ReportData,
    readonly index: number,
    private readonly back: () => void,
  ) {
    const t = data.traces[index];
    if (!t) throw new Error(`[gupcheck viewer] no trace ${index}`);
    this.t = t;
    this.keyIdx = [...new Set(keySteps(t).map((k) => k.i))].sort((x, y) => x - y);
    this.panel = h('aside', { class: 'state-panel', id: 'state-panel', 'aria-live': 'polite' });
    this.scroller = h('div', { class: 'timeline-scroll', id: 'timeline-scroll' });
    this.counter = h('span', { class: 'step-counter', id: 'step-counter' });
    this.keyToggle = h('input', { type: 'checkbox', id: 'key-only' });
    this.keyToggle.addEventListener('change', () => this.setKeyOnly(this.keyToggle.checked));
    this.root = h(
      'div',
      { class: 'trace-view', 'data-trace': index },
      this.header(),
      h('div', { class: 'trace-body' }, h('section', { class: 'timeline-wrap', 'aria-label': 'timeline' }, this.toolbar(), this.scroller), this.panel),
    );
    this.drawTimeline();
    // Lay the timeline out again once the view is in the document and has its real width.
    requestAnimationFrame(() => this.relayout());
  }

  /** Redraw the timeline if the space for it changed (on first display, on window resize). */
  relayout(): void {
    if (this.scroller.clientWidth && this.scroller.clientWidth !== this.drawnFor) this.drawTimeline();
  }

  // ===== header =====

  private header(): HTMLElement {
    const t = this.t;
    const title = traceTitle(t);
    const cmd = h('code', { id: 'replay-cmd' }, t.command);
    const status = h('span', { class: 'copy-status', id: 'copy-status', role: 'status' });
    const copyBtn = h(
      'button',
      {
        id: 'copy-replay',
        type: 'button',
        title: 'Copy the replay command',
        onclick: () => {
          void copyText(t.command, cmd).then((ok) => {
            status.textContent = ok ? 'copied' : 'select and copy by hand';
          });
        },
      },
      'Copy',
    );
    const story = keySteps(t);
    const storyList = h('ol', { class: 'story' });
    for (const k of story) {
      const li = h('li', { 'data-step': k.i }, h('button', { type: 'button', class: 'linklike', onclick: () => this.select(k.i) }, `step ${k.i + 1}`), ` ${t.steps[k.i]?.cpu ?? ''} ${k.text}`);
      this.keyItems.push(li);
      storyList.append(li);
    }
    return h(
      'header',
      { class: 'trace-head' },
      h(
        'div',
        { class: 'trace-title' },
        h('button', { type: 'button', class: 'back', id: 'back', onclick: this.back, title: 'Back to all results (Esc)' }, '← All results'),
        h('h1', null, h('span', { class: `badge${title.kind === 'finding' ? ' finding' : ''}` }, title.badge), ' ', title.text),
      ),
      h(
        'p',
        { class: 'ctx' },
        `scenario ${t.scenario} · kernel ${t.kernel} · ${t.arch} (${tableFreeWords(t)})${t.mutant ? ` · mutant ${t.mutant}` : ''} · ${plural(t.steps.length, 'step')}, ${plural(t.preemptions, 'preemption')}`,
      ),
      h('div', { class: 'replay' }, h('span', { class: 'label' }, 'replay'), cmd, copyBtn, status),
      h('div', { class: 'head-row' }, story.length ? h('details', { class: 'story-box' }, h('summary', null, `What happened (${plural(story.length, 'line')})`), storyList) : null, limitsLine(this.t.model.notCovered)),
    );
  }

  private toolbar(): HTMLElement {
    const legend = (cls: string, label: string): HTMLElement => h('span', { class: 'legend-item' }, h('span', { class: `swatch ${cls}` }), label);
    return h(
      'div',
      { class: 'timeline-toolbar' },
      h('button', { type: 'button', id: 'prev-step', onclick: () => this.move(-1), title: 'Previous step (←)' }, '◀ Prev'),
      this.counter,
      h('button', { type: 'button', id: 'next-step', onclick: () => this.move(1), title: 'Next step (→)' }, 'Next ▶'),
      h('span', { class: 'hint', title: '← → step, Home/End first/last, K key steps only, Esc back' }, h('kbd', null, '←'), h('kbd', null, '→')),
      h('label', { class: 'key-toggle', title: 'Show only the steps that tell the race (K)' }, this.keyToggle, ` key steps only (${this.keyIdx.length})`),
      h('span', { class: 'legend' }, legend('irq', 'IRQs off'), legend('rcu', 'RCU'), legend('key', 'state change'), legend('bad', 'finding'), h('span', { class: 'legend-item' }, h('span', { class: 'preempt-mark' }, '↯'), 'preempt')),
    );
  }

  // ===== timeline =====

  /** The steps on screen, in order. */
  private shown(): readonly number[] {
    return this.keyOnly && this.keyIdx.length ? this.keyIdx : this.t.steps.map((_, i) => i);
  }

  private setKeyOnly(on: boolean): void {
    if (on === this.keyOnly) return;
    this.keyOnly = on;
    this.keyToggle.checked = on;
    if (on && this.selected >= 0 && !this.keyIdx.includes(this.selected)) this.selected = this.keyIdx.find((k) => k >= this.selected) ?? this.keyIdx[this.keyIdx.length - 1] ?? this.selected;
    this.drawTimeline();
    if (this.selected >= 0) this.select(this.selected);
  }

  private drawTimeline(): void {
    const t = this.t;
    const names = lanes(t);
    const rows = this.shown();
    this.drawnFor = this.scroller.clientWidth;
    const avail = (this.scroller.clientWidth || 820) - GUTTER - 14;
    const laneW = Math.max(190, Math.min(400, Math.floor(avail / names.length)));
    const width = GUTTER + laneW * names.length + 6;
    const laneX = (c: number): number => GUTTER + c * laneW;
    const boxW = laneW - 24;
    const textW = boxW - 14;

    // Each step's text first: its row is as tall as its lines. Hidden steps leave a taller gap.
    const texts = new Map<number, string[]>();
    for (const i of rows) {
      const st = t.steps[i]!;
      const line1 = fit(`${st.fn}  ${st.action}`, textW, FONT);
      const rest = st.finding || st.notes.length ? wrap(stepLine2(st), textW, FONT, MAX_NOTE_LINES) : [fit(stepLine2(st), textW, FONT)];
      texts.set(i, [line1, ...rest.filter((l) => l !== '')]);
    }
    this.rowTop.clear();
    this.rowH.clear();
    const hiddenBefore = new Map<number, number>();
    let y0 = TOP;
    rows.forEach((i, r) => {
      const skipped = i - (r === 0 ? 0 : rows[r - 1]! + 1);
      if (skipped > 0) {
        hiddenBefore.set(i, skipped);
        y0 += HIDDEN_GAP;
      }
      const hgt = PAD * 2 + LINE * (texts.get(i)?.length ?? 1) - 4;
      this.rowTop.set(i, y0);
      this.rowH.set(i, hgt);
      y0 += hgt + GAP;
    });
    const after = t.steps.length - 1 - (rows[rows.length - 1] ?? t.steps.length - 1);
    const height = y0 + TOP + (after > 0 ? HIDDEN_GAP : 0);
    const rowY = (i: number): number => this.rowTop.get(i) ?? height;
    const mid = (i: number): number => rowY(i) + (this.rowH.get(i) ?? 0) / 2;

    const heads = h(
      'div',
      { class: 'lane-heads', style: `width:${width}px` },
      h('div', { class: 'lane-head gutter', style: `width:${GUTTER}px` }, 'step'),
      names.map((n) => h('div', { class: 'lane-head', style: `width:${laneW}px`, 'data-lane': n }, n)),
    );
    const svg = s('svg', { id: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'list', 'aria-label': `${rows.length} steps on ${names.length} CPUs` });
    const rowsG = s('g', { class: 'rows' }); // selection highlight, under everything
    const bg = s('g', { class: 'bands' });
    const fg = s('g', { class: 'steps' });
    svg.append(rowsG, bg, fg);

    // Lanes: a guide line each, and the CPU's IRQs-off / RCU / blocked state as bands along it
    // (the state after a shown step holds from the middle of its row to the middle of the next).
    names.forEach((name, c) => {
      const x = laneX(c);
      if (c > 0) bg.append(s('line', { class: 'lane-sep', x1: x, x2: x, y1: 0, y2: height }));
      let blockedShown: string | undefined;
      for (let r = -1; r < rows.length; r++) {
        const cpu = stateAt(t, r < 0 ? (rows[0] ?? 0) - 1 : rows[r]!).cpus.find((x2) => x2.name === name);
        if (!cpu) continue;
        const y1 = r < 0 ? 0 : mid(rows[r]!);
        const y2 = r + 1 < rows.length ? mid(rows[r + 1]!) : height;
        if (cpu.irqs === 'off') bg.append(s('rect', { class: 'band irq', x: x + 3, y: y1, width: 5, height: y2 - y1 }, s('title', null, `${name}: IRQs off`)));
        if (cpu.rcu) bg.append(s('rect', { class: 'band rcu', x: x + 10, y: y1, width: 3, height: y2 - y1 }, s('title', null, `${name}: inside rcu_read_lock()`)));
        if (cpu.blocked) {
          bg.append(s('rect', { class: 'band blocked', x: x + 15, y: y1, width: 3, height: y2 - y1 }, s('title', null, `${name} waits: ${cpu.blocked}`)));
          if (blockedShown !== cpu.blocked && r + 1 < rows.length) {
            bg.append(s('text', { class: 'blocked-label', x: x + 22, y: mid(rows[r + 1]!) + 4 }, fit(`⏸ ${cpu.blocked}`, laneW - 30, 11)));
          }
        }
        blockedShown = cpu.blocked;
      }
    });

    this.stepEls.clear();
    this.rowBands.clear();
    let prevLane = -1;
    let prevStep = -1;
    for (const i of rows) {
      const st = t.steps[i]!;
      const c = names.indexOf(st.cpu);
      const x = laneX(c) + 20;
      const y = rowY(i);
      const bh = this.rowH.get(i) ?? 0;
      const hidden = hiddenBefore.get(i);
      if (hidden) fg.append(s('text', { class: 'hidden-steps', x: 6, y: y - GAP - 4 }, `⋯ ${plural(hidden, 'step')} hidden`));
      const band = s('rect', { class: 'row-band', x: 0, y: y - GAP / 2, width, height: bh + GAP });
      rowsG.append(band);
      this.rowBands.set(i, band);
      if (prevLane >= 0 && prevLane !== c) {
        // A context switch: from under the previous step across to this one.
        const px = laneX(prevLane) + 20 + boxW / 2;
        const py = y - GAP;
        const cx = x + boxW / 2;
        bg.append(
          s(
            'path',
            { class: `switch${st.preempted ? ' preempt' : ''}`, d: `M${px},${rowY(prevStep) + (this.rowH.get(prevStep) ?? 0)} L${px},${py} L${cx},${py} L${cx},${y}` },
            s('title', null, st.preempted ? `${st.cpu} preempts ${t.steps[i - 1]?.cpu ?? ''}` : `${st.cpu} runs`),
          ),
        );
      }
      prevLane = c;
      prevStep = i;
      const kind = st.finding ? 'bad' : st.notes.length ? 'key' : st.access === 'local' ? 'local' : 'plain';
      const lines = texts.get(i) ?? [];
      const g = s(
        'g',
        { class: `step ${kind}`, 'data-step': i, 'data-cpu': st.cpu, role: 'listitem', 'aria-label': `step ${i + 1}, ${st.cpu}: ${st.fn}: ${st.action}` },
        s('title', null, `${i + 1}. ${st.cpu} ${st.fn}: ${st.action}\n${stepEffect(st)}${st.notes.map((n) => `\n${n}`).join('')}${st.finding ? `\n${st.finding.id}: ${st.finding.message}` : ''}`),
        s('rect', { class: 'box', x, y, width: boxW, height: bh, rx: 4 }),
        lines.map((l, k) => s('text', { class: k === 0 ? 'fn' : 'eff', x: x + 7, y: y + PAD + 9 + k * LINE }, l)),
      );
      g.addEventListener('click', () => this.select(i));
      fg.append(g);
      this.stepEls.set(i, g);
      fg.append(
        s(
          'text',
          { class: `step-no${st.preempted ? ' preempted' : ''}`, x: GUTTER - 6, y: y + PAD + 9, 'text-anchor': 'end' },
          st.preempted ? s('title', null, `preemption: ${st.cpu} runs while ${t.steps[i - 1]?.cpu ?? 'another CPU'} could have continued`) : null,
          st.preempted ? `↯${i + 1}` : String(i + 1),
        ),
      );
    }
    if (after > 0) fg.append(s('text', { class: 'hidden-steps', x: 6, y: height - 6 }, `⋯ ${plural(after, 'step')} hidden`));
    replace(this.scroller, heads, svg);
    if (this.selected >= 0) this.highlight(this.selected, true);
  }

  // ===== selection =====

  /** Select step `i` (clamped); `updateHash` keeps the URL pointing at it. A hidden step shows every step again. */
  select(i: number, updateHash = true): void {
    const n = this.t.steps.length;
    if (n === 0) return;
    const j = Math.max(0, Math.min(n - 1, i));
    if (this.keyOnly && !this.keyIdx.includes(j)) {
      this.keyOnly = false;
      this.keyToggle.checked = false;
      this.drawTimeline();
    }
    this.selected = j;
    this.highlight(j, true);
    this.renderPanel(j);
    const rows = this.shown();
    this.counter.textContent = this.keyOnly ? `key step ${rows.indexOf(j) + 1} / ${rows.length}` : `step ${j + 1} / ${n}`;
    for (const li of this.keyItems) li.classList.toggle('current', li.dataset.step === String(j));
    if (updateHash) history.replaceState(null, '', `#trace=${this.index}&step=${j}`);
  }

  /** One shown step forward (+1) or back (-1). */
  private move(d: 1 | -1): void {
    const rows = this.shown();
    const at = rows.indexOf(this.selected);
    const next = at < 0 ? (d > 0 ? rows.find((r) => r > this.selected) : [...rows].reverse().find((r) => r < this.selected)) : rows[Math.max(0, Math.min(rows.length - 1, at + d))];
    this.select(next ?? this.selected);
  }

  onKey(key: string): boolean {
    const rows = this.shown();
    switch (key) {
      case 'ArrowRight':
        this.move(1);
        return true;
      case 'ArrowLeft':
        this.move(-1);
        return true;
      case 'Home':
        this.select(rows[0] ?? 0);
        return true;
      case 'End':
        this.select(rows[rows.length - 1] ?? 0);
        return true;
      case 'k':
      case 'K':
        this.setKeyOnly(!this.keyOnly);
        return true;
      case 'Escape':
        this.back();
        return true;
      default:
        return false;
    }
  }

  private highlight(i: number, scroll: boolean): void {
    for (const [k, g] of this.stepEls) {
      g.classList.toggle('selected', k === i);
      g.setAttribute('aria-current', k === i ? 'step' : 'false');
    }
    for (const [k, r] of this.rowBands) r.classList.toggle('selected', k === i);
    if (!scroll) return;
    const y = this.rowTop.get(i) ?? 0;
    const hgt = this.rowH.get(i) ?? 0;
    const sc = this.scroller;
    const headH = 30;
    if (y < sc.scrollTop + 8 || y + hgt + headH + 8 > sc.scrollTop + sc.clientHeight) sc.scrollTop = Math.max(0, y + hgt / 2 - sc.clientHeight / 2);
  }

  // ===== state panel =====

  private renderPanel(i: number): void {
    const t = this.t;
    const st = t.steps[i]!;
    const v = stateView(t, i);
    const val = (f: Field, attrs: Record<string, string> = {}): HTMLElement =>
      h('td', { class: f.before !== undefined ? 'changed' : '', ...attrs }, h('span', { class: 'v' }, f.value), f.before !== undefined ? h('span', { class: 'was' }, `was ${f.before}`) : null);

    const detail = h(
      'section',
      { class: `step-detail${st.finding ? ' bad' : st.notes.length ? ' key' : ''}`, id: 'step-detail', 'data-step': i },
      h('div', { class: 'step-no' }, `Step ${i + 1} of ${t.steps.length} · ${st.cpu}${st.preempted ? ' · preempted another CPU' : ''}`),
      h('div', { class: 'fn' }, st.fn),
      h('div', { class: 'action' }, st.action),
      stepEffect(st) ? h('div', { class: 'effect' }, stepEffect(st)) : null,
      st.notes.length ? h('ul', { class: 'notes' }, st.notes.map((n) => h('li', null, n))) : null,
      st.finding ? h('div', { class: 'finding-box', id: 'finding-box' }, st.finding.fn ? `then, in ${st.finding.fn}(): ` : '', h('strong', null, st.finding.id), `: ${st.finding.message}`) : null,
    );

    const tagFor: Record<FolioView['change'], string> = { none: '', allocated: 'allocated', reallocated: 'reused: new owner', freed: 'freed' };
    const folios: Child[] = v.folios.map((f) =>
      h(
        'table',
        { class: `kv folio ${f.status}${f.change !== 'none' ? ` ${f.change}` : ''}`, 'data-pfn': f.pfn, 'data-status': f.status },
        h('caption', null, `folio@pfn${f.pfn}`, f.status === 'free' ? h('span', { class: 'free-label' }, ' free') : null, tagFor[f.change] ? h('span', { class: `tag ${f.change}` }, tagFor[f.change]) : null),
        h(
          'tbody',
          null,
          f.fields.map((x) => h('tr', { 'data-field': x.name }, h('th', null, x.name), val(x))),
          f.lastOwner ? h('tr', { 'data-field': 'last owner' }, h('th', null, 'last owner'), h('td', null, f.lastOwner)) : null,
          f.status === 'live'
            ? h(
                'tr',
                { 'data-field': 'flags' },
                h('th', null, 'flags'),
                h(
                  'td',
                  { class: f.flags.some((x) => x.change !== 'same') ? 'changed' : '' },
                  f.flags.length ? f.flags.map((x) => h('span', { class: `flag ${x.change}`, title: x.change === 'same' ? '' : `${x.change} by this step` }, x.name)) : h('span', { class: 'none' }, 'none'),
                ),
              )
            : null,
        ),
      ),
    );
    const entries = h(
      'table',
      { class: 'kv entries' },
      h('tbody', null, v.entries.map((e) => h('tr', { 'data-entry': e.name }, h('th', null, e.name), val(e)))),
    );
    const cpus = h(
      'table',
      { class: 'cpus' },
      h('thead', null, h('tr', null, h('th', null, 'CPU'), h('th', null, 'IRQs'), h('th', null, 'RCU'), h('th', null, 'blocked on / next'))),
      h(
        'tbody',
        null,
        v.cpus.map((c) => {
          const [irq, rcu, blocked, next] = c.fields as [Field, Field, Field, Field];
          const wait = c.blocked ? blocked : next;
          return h(
            'tr',
            { 'data-cpu': c.name, class: c.name === st.cpu ? 'running' : '' },
            h('th', null, c.name),
            h('td', { class: `irq ${irq.value}${irq.before !== undefined ? ' changed' : ''}`, 'data-field': 'IRQs' }, irq.value),
            h('td', { class: `${rcu.before !== undefined ? 'changed' : ''}`, 'data-field': 'RCU' }, rcu.value),
            h('td', { class: `${c.blocked ? 'blocked' : ''}${wait.before !== undefined ? ' changed' : ''}`, 'data-field': c.blocked ? 'blocked' : 'next' }, c.blocked ? `⏸ waits: ${c.blocked}` : `next: ${next.value}`),
          );
        }),
      ),
    );
    const freed = v.freed.length ? h('ul', { class: 'freed' }, v.freed.map((f) => h('li', { class: f.isNew ? 'changed' : '' }, f.name))) : h('p', { class: 'none' }, 'nothing freed yet');

    replace(
      this.panel,
      detail,
      h('h2', null, 'State after this step', h('span', { class: 'sub' }, ' (changes highlighted)')),
      h('h3', null, 'Folios'),
      folios.length ? folios : h('p', { class: 'none' }, 'no folios'),
      h('h3', null, 'Page-table entries'),
      v.entries.length ? entries : h('p', { class: 'none' }, 'none'),
      h('h3', null, 'CPUs'),
      cpus,
      h('h3', null, 'Freed kernel objects'),
      freed,
    );
  }
}
