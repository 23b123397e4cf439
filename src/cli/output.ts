/**
 * Output helpers: colours only on a TTY (honouring NO_COLOR / FORCE_COLOR, via picocolors),
 * aligned tables (cli-table3 without its default colours when piped: its default style writes ANSI codes even to a pipe).
 */
import Table from 'cli-table3';
import pc from 'picocolors';

export interface Out {
  write(s: string): void;
  readonly isTTY: boolean;
  readonly color: boolean;
}

export function stdoutOut(): Out {
  const isTTY = process.stdout.isTTY === true;
  return { write: (s) => void process.stdout.write(s), isTTY, color: pc.isColorSupported };
}

export function colors(out: Out) {
  return pc.createColors(out.color);
}

/** An aligned plain table; unicode borders only on a TTY. */
export function table(out: Out, head: string[], rows: (string | number)[][]): string {
  const t = new Table({
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
  for (const r of rows) t.push(r.map(String));
  return t.toString() + '\n';
}
