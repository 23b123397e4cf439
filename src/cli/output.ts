/**
 * Output helpers: colours only on a TTY (honouring NO_COLOR / FORCE_COLOR, via picocolors),
 * aligned tables (cli-table3 without its default colours when piped: its default style writes ANSI codes even to a pipe).
 * On a terminal a table fits its width: the widest columns are narrowed and their text wrapped
 * (as vitest fits its output); piped, rows keep their full width, one line each, for tools.
 */
import Table from 'cli-table3';
import pc from 'picocolors';

export interface Out {
  write(s: string): void;
  readonly isTTY: boolean;
  readonly color: boolean;
  /** The terminal's width in columns (undefined when piped: no limit). */
  readonly columns?: number | undefined;
}

export function stdoutOut(): Out {
  const isTTY = process.stdout.isTTY === true;
  return { write: (s) => void process.stdout.write(s), isTTY, color: pc.isColorSupported, columns: isTTY ? process.stdout.columns : undefined };
}

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
/** A string coloured as a whole: one colour code, plain text, one reset. */
const WHOLE = new RegExp(`^(${ESC}\\[[0-9;]*m)([^${ESC}]*)(${ESC}\\[[0-9;]*m)$`);

/** Columns a string takes on a terminal (its widest line, colours left out). */
export function visibleWidth(s: string): number {
  let w = 0;
  for (const line of s.replace(ANSI, '').split('\n')) w = Math.max(w, [...line].length);
  return w;
}

/** Narrowest a fitted column gets (unless its header is wider): below this, wrapping makes a table harder to read than overflowing. */
const MIN_COLUMN = 6;

/**
 * Widths (content only) that fit `columns` terminal columns: the widest columns are cut to one
 * common width, none below its minimum (`least`), the others keep theirs. Undefined when the
 * table fits as it is, or cannot fit. `overhead` is what borders and padding take.
 */
export function fitColumns(natural: readonly number[], columns: number, overhead: number, least: readonly number[] = []): number[] | undefined {
  const room = columns - overhead;
  const at = (cap: number) => natural.map((w, i) => Math.min(w, Math.max(cap, least[i] ?? MIN_COLUMN)));
  const sum = (ws: readonly number[]) => ws.reduce((a, b) => a + b, 0);
  if (sum(natural) <= room) return undefined;
  if (sum(at(0)) > room) return undefined;
  let lo = 0;
  let hi = Math.max(...natural);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (sum(at(mid)) <= room) lo = mid;
    else hi = mid - 1;
  }
  return at(lo);
}

export function colors(out: Out) {
  return pc.createColors(out.color);
}

/**
 * `s` in lines of at most `width` columns: broken after a space, '-', ',', '/' or '|' where it can
 * be, inside a word only when the word alone is wider. Nothing is cut off. A cell coloured as a
 * whole keeps its colour on every line.
 */
export function wrapCell(s: string, width: number): string {
  const whole = WHOLE.exec(s);
  if (whole) return wrapCell(whole[2]!, width).split('\n').map((l) => `${whole[1]}${l}${whole[3]}`).join('\n');
  const out: string[] = [];
  for (const line of s.replace(ANSI, '').split('\n')) {
    let cur = '';
    for (const token of line.match(/[^ \-,/|]*[ \-,/|]?/g) ?? []) {
      if (!token) continue;
      if ([...cur].length + [...token.trimEnd()].length > width && cur) {
        out.push(cur.trimEnd());
        cur = '';
      }
      cur += token;
      while ([...cur.trimEnd()].length > width) {
        out.push([...cur].slice(0, width).join(''));
        cur = [...cur].slice(width).join('');
      }
    }
    out.push(cur.trimEnd());
  }
  return out.join('\n');
}

/** An aligned plain table; unicode borders only on a TTY, where it also fits the terminal's width. */
export function table(out: Out, head: string[], rows: (string | number)[][]): string {
  let cells = rows.map((r) => r.map(String));
  let colWidths: number[] | undefined;
  if (out.isTTY && out.columns !== undefined && out.columns > 0) {
    const natural = head.map((h, i) => Math.max(visibleWidth(h), ...cells.map((r) => visibleWidth(r[i] ?? ''))));
    // Per column: a border and one space either side; and the table's closing border.
    const overhead = natural.length * 3 + 1;
    // Widest piece between break points, per column: no word is broken where the room allows it;
    // else no header word is.
    const longest = (x: string) => Math.max(0, ...(x.replace(ANSI, '').match(/[^ \-,/|]*[-,/|]?/g) ?? []).map((t) => [...t].length));
    const headerWords = head.map((h) => Math.max(MIN_COLUMN, longest(h)));
    const words = head.map((_, i) => Math.max(headerWords[i]!, ...cells.map((r) => longest(r[i] ?? ''))));
    const widths = fitColumns(natural, out.columns, overhead, words) ?? fitColumns(natural, out.columns, overhead, headerWords);
    if (widths) {
      colWidths = widths.map((w) => w + 2);
      head = head.map((h, i) => wrapCell(h, widths[i]!));
      cells = cells.map((r) => r.map((x, i) => (visibleWidth(x) > widths[i]! ? wrapCell(x, widths[i]!) : x)));
    }
  }
  const t = new Table({
    ...(colWidths ? { colWidths } : {}),
    head,
    style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
    chars: out.isTTY
      ? undefined
      : {
          top: '',
          'top-mid': '',
          'top-left': '',
          'top-right': '',
          bottom: '',
          'bottom-mid': '',
          'bottom-left': '',
          'bottom-right': '',
          left: '',
          'left-mid': '',
          mid: '',
          'mid-mid': '',
          right: '',
          'right-mid': '',
          middle: ' ',
        },
  });
  for (const r of cells) t.push(r);
  return t.toString() + '\n';
}
