/**
 * The lines the guest writes on its result port (src/oracle/guest/probe.c and init.sh), parsed.
 * Anything else on the port (a stray kernel message) is ignored; the guest's own lines all start
 * with "GUPCHECK-ORACLE ".
 */

/** What one case returned on the real kernel. */
export type KernelAnswer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'errno'; readonly errno: number }
  | { readonly kind: 'partial'; readonly pinned: number; readonly total: number }
  /** The 6.1 benchmark ioctl pinned fewer pages than asked and does not say why. */
  | { readonly kind: 'failed'; readonly pinned: number; readonly total: number };

export interface GuestOutput {
  readonly booted: boolean;
  readonly release: string | null;
  readonly hugepages: number | null;
  readonly rows: ReadonlyMap<number, KernelAnswer>;
  readonly filesystems: ReadonlyMap<string, string>;
  readonly setupFailed: readonly { readonly index: number; readonly step: string; readonly detail: string }[];
  readonly stepsFailed: readonly string[];
  readonly notes: readonly string[];
  readonly fatal: string | null;
  readonly ended: boolean;
}

export function parseResults(text: string): GuestOutput {
  let booted = false;
  let release: string | null = null;
  let hugepages: number | null = null;
  let fatal: string | null = null;
  let ended = false;
  const rows = new Map<number, KernelAnswer>();
  const filesystems = new Map<string, string>();
  const setupFailed: { index: number; step: string; detail: string }[] = [];
  const stepsFailed: string[] = [];
  const notes: string[] = [];
  for (const raw of text.replaceAll('\r', '').split('\n')) {
    const at = raw.indexOf('GUPCHECK-ORACLE ');
    if (at < 0) continue;
    const [tag, ...f] = raw.slice(at + 'GUPCHECK-ORACLE '.length).trim().split(/\s+/);
    switch (tag) {
      case 'BOOTED':
        booted = true;
        break;
      case 'START':
        release = f[0] ?? '';
        break;
      case 'HUGEPAGES':
        hugepages = Number(f[0]);
        break;
      case 'FS':
        filesystems.set(f[0]!, f[1]!);
        break;
      case 'ROW': {
        const i = Number(f[0]);
        if (f[1] === 'ok') rows.set(i, { kind: 'ok' });
        else if (f[1] === 'errno') rows.set(i, { kind: 'errno', errno: Number(f[2]) });
        else if (f[1] === 'partial' || f[1] === 'failed') rows.set(i, { kind: f[1], pinned: Number(f[2]), total: Number(f[3]) });
        else stepsFailed.push(`unreadable result line: ${raw.trim()}`);
        break;
      }
      case 'SETUP':
        setupFailed.push({ index: Number(f[0]), step: f[1] ?? '?', detail: f.slice(2).join(' ') });
        break;
      case 'STEP-FAILED':
        stepsFailed.push(f.join(' '));
        break;
      case 'NOTE':
        notes.push(f.join(' '));
        break;
      case 'FATAL':
        fatal = f.join(' ');
        break;
      case 'END':
        ended = true;
        break;
      default:
        break;
    }
  }
  return { booted, release, hugepages, rows, filesystems, setupFailed, stepsFailed, notes, fatal, ended };
}
