/**
 * `gupcheck oracle`: boots real kernels under QEMU, runs every case of `gupcheck probe` there
 * (src/answer/probe.ts: the cases are the probe's rows, in its order), and compares each row's
 * result with the model's on the revision the kernel corresponds to.
 *
 * Stock Debian kernels have no CONFIG_GUP_TEST, so on them only the io_uring rows run; the
 * gup_test rows are listed as not run, with why. A kernel built with --build-kernel runs every row.
 */
import { answerPin, type PinAnswer, type Via } from '../answer/pin.ts';
import { probe, type ProbeRow } from '../answer/probe.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import { BACKING_HELP } from '../kernel/setup.ts';
import { kernelName } from '../trace/names.ts';
import { errnoName } from '../kernel/types.ts';
import { boot, ensureGuestTools, fsImages, probeBinary, type GuestCase } from './guest.ts';
import { OracleError, type Say } from './host.ts';
import { type Kernel, prepareBuilt, prepareStock } from './kernels.ts';
import type { KernelAnswer } from './protocol.ts';

export interface OracleOptions {
  /** Stock Debian kernels to boot ('6.1', '6.12'). */
  readonly stock: readonly string[];
  /** Kernels to build with CONFIG_GUP_TEST (or take from the cache) and boot. */
  readonly built: readonly string[];
  readonly timeoutSeconds: number;
  /** Compare with this model revision instead of the kernel's own (6.1 with 6.1, 6.12 with 6.12). */
  readonly model?: string | undefined;
  /** Get everything ready (tools, packages, builds, images, probe) and boot nothing. */
  readonly prepareOnly: boolean;
  readonly say: Say;
}

export interface OracleRow {
  readonly mechanism: ProbeRow['mechanism'];
  readonly backing: ProbeRow['backing'];
  readonly map: ProbeRow['map'];
  readonly prot: ProbeRow['prot'];
  readonly touch: ProbeRow['touch'];
  /** `gupcheck probe`'s result on the model revision. */
  readonly model: string;
  /** What the real kernel returned: 'ok', an errno name, 'partial(p/n)', or 'failed(p/n)' (6.1's benchmark ioctl, which does not say why). */
  readonly kernel: string;
  readonly same: boolean;
  /**
   * How the row pinned: 'probe' (the probe's own case: IORING_REGISTER_BUFFERS or
   * PIN_LONGTERM_TEST_START), or 'benchmark' (6.1's PIN_LONGTERM_BENCHMARK / PIN_FAST_BENCHMARK,
   * compared with what the model's pin_user_pages*() returns for the same flags).
   */
  readonly via: 'probe' | 'benchmark';
}

export interface OracleDifference extends OracleRow {
  /** The operation in kernel words. */
  readonly what: string;
  /** The model's decisions for this pin, in order (`gupcheck pin`'s "why"). */
  readonly modelPath: readonly string[];
}

export interface KernelReport {
  readonly name: string;
  readonly kind: 'stock' | 'built';
  readonly package: string;
  readonly version: string;
  /** `uname -r` in the guest. */
  readonly release: string;
  readonly modelRevision: string;
  readonly note?: string | undefined;
  readonly bootSeconds: number;
  readonly rows: readonly OracleRow[];
  readonly notRun: { readonly rows: number; readonly why: string } | null;
  readonly differences: readonly OracleDifference[];
  /** WARNINGs in the kernel's log during the boot, each with the row that was running. */
  readonly kernelWarnings: readonly { readonly row: string | null; readonly where: string; readonly message: string }[];
  /** What the guest noted besides the rows (on 6.1: what PIN_LONGTERM_TEST_START answers there). */
  readonly guestNotes: readonly string[];
}

export interface OracleReport {
  readonly kernels: readonly KernelReport[];
  readonly compared: number;
  readonly differences: number;
  readonly notCovered: readonly string[];
}

export const ORACLE_NOT_COVERED = [
  'x86-64 only, one CPU under QEMU TCG, nothing racing the pin: each row is what the kernel returns for one pin of a fresh mapping, as `gupcheck probe` models it; races are what `gupcheck check` explores, and no real kernel run checks those.',
  "Stock kernels run Debian's configuration and have no CONFIG_GUP_TEST, so only the io_uring rows run on them; the gup_test rows need a kernel built with --build-kernel (tinyconfig plus src/oracle/gup-test.config, not Debian's configuration).",
  "On 6.1, gup_test has no PIN_LONGTERM_TEST_START (the probe's gup_* rows are its -EINVAL there); the pins themselves run through the benchmark ioctls (PIN_LONGTERM_BENCHMARK, PIN_FAST_BENCHMARK) and are compared with the model's pin_user_pages*() for the same flags. Those ioctls report how many pages were pinned, not the errno, so a failure there matches any error of the model's.",
  "Debian's kernels are the newest stable releases of their series (6.1.1xx, 6.12.1xx), with backports the model's revision may not have.",
  'Only results are compared, not paths: the kernel does not say which check refused a pin, or whether GUP-fast or the slow path took it. The model column has the model\'s own limits (`gupcheck explain limits`).',
];

const MECHANISM_WORDS: Record<ProbeRow['mechanism'], { start: string; legacy: string; via: Via | null; write: boolean }> = {
  iouring: { start: 'IORING_REGISTER_BUFFERS (io_pin_pages: FOLL_WRITE|FOLL_LONGTERM)', legacy: '', via: 'io_uring', write: true },
  gup_rw: { start: 'PIN_LONGTERM_TEST_START(USE_WRITE): pin_user_pages(FOLL_WRITE|FOLL_LONGTERM)', legacy: 'PIN_LONGTERM_BENCHMARK(gup_flags=FOLL_WRITE): pin_user_pages(FOLL_WRITE|FOLL_LONGTERM)', via: 'pin_user_pages', write: true },
  gup_rw_fast: { start: 'PIN_LONGTERM_TEST_START(USE_WRITE|USE_FAST): pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM)', legacy: 'PIN_FAST_BENCHMARK(gup_flags=FOLL_WRITE|FOLL_LONGTERM): pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM)', via: 'pin_user_pages_fast', write: true },
  gup_ro: { start: 'PIN_LONGTERM_TEST_START(0): pin_user_pages(FOLL_LONGTERM)', legacy: 'PIN_LONGTERM_BENCHMARK(gup_flags=0): pin_user_pages(FOLL_LONGTERM)', via: 'pin_user_pages', write: false },
  gup_ro_fast: { start: 'PIN_LONGTERM_TEST_START(USE_FAST): pin_user_pages_fast(FOLL_LONGTERM)', legacy: 'PIN_FAST_BENCHMARK(gup_flags=FOLL_LONGTERM): pin_user_pages_fast(FOLL_LONGTERM)', via: 'pin_user_pages_fast', write: false },
};

/** One row's operation in kernel words (`benchmark`: through 6.1's benchmark ioctl). */
export function describeRow(r: Pick<ProbeRow, 'mechanism' | 'backing' | 'map' | 'prot' | 'touch'>, benchmark: boolean): string {
  const m = MECHANISM_WORDS[r.mechanism];
  const op = r.mechanism === 'iouring' || !benchmark ? m.start : m.legacy;
  const touched = r.touch === 'none' ? 'not touched' : `touched by a ${r.touch}`;
  return `${op} of ${BACKING_HELP[r.backing]}, ${r.map === 'shared' ? 'MAP_SHARED' : 'MAP_PRIVATE'} ${r.prot === 'rw' ? 'PROT_READ|PROT_WRITE' : 'PROT_READ'}, ${touched}`;
}

/** Errno names the model's table may not have (x86-64 numbers). */
const MORE_ERRNO: Record<number, string> = { 2: 'ENOENT', 5: 'EIO', 6: 'ENXIO', 9: 'EBADF', 13: 'EACCES', 19: 'ENODEV', 25: 'ENOTTY', 38: 'ENOSYS' };

export function answerText(a: KernelAnswer): string {
  switch (a.kind) {
    case 'ok':
      return 'ok';
    case 'errno': {
      const n = errnoName(a.errno);
      return n === `E${a.errno}` ? (MORE_ERRNO[a.errno] ?? n) : n;
    }
    case 'partial':
      return `partial(${a.pinned}/${a.total})`;
    case 'failed':
      return `failed(${a.pinned}/${a.total})`;
  }
}

/** A kernel answer agrees with the model's result (6.1's benchmark "failed" agrees with any error). */
export function agrees(a: KernelAnswer, model: string): boolean {
  if (a.kind === 'failed') return model !== 'ok';
  return answerText(a) === model;
}

function noteText(n: string): string {
  const m = /^PIN_LONGTERM_TEST_START (ok|errno) (\d+)$/.exec(n);
  if (!m) return n;
  return m[1] === 'ok'
    ? 'PIN_LONGTERM_TEST_START pins on this kernel'
    : `PIN_LONGTERM_TEST_START returns -${answerText({ kind: 'errno', errno: Number(m[2]) })} on this kernel (it has only the benchmark ioctls), so the gup_test rows ran through PIN_LONGTERM_BENCHMARK and PIN_FAST_BENCHMARK`;
}

/** The model's pin of the row's mapping with the row's flags (`gupcheck pin`), or null if it has no such pin. */
function modelPin(rev: string, r: ProbeRow): PinAnswer | null {
  const m = MECHANISM_WORDS[r.mechanism];
  if (!m.via) return null;
  try {
    return answerPin({ kernel: rev, arch: 'x86', via: m.via, write: m.write, longterm: true, backing: r.backing, shared: r.map === 'shared', prot: r.prot, touch: r.touch });
  } catch {
    return null;
  }
}

function modelPath(rev: string, r: ProbeRow): string[] {
  const a = modelPin(rev, r);
  const named = findRevision(rev)!;
  return a ? a.path.map(([fn, msg]) => `${kernelName(named, fn)}: ${msg}`) : [];
}

/** On 6.1 (legacy gup_test): what PIN_LONGTERM_TEST_START answered, as the guest noted it once. */
function startAnswer(notes: readonly string[]): KernelAnswer | null {
  for (const n of notes) {
    const m = /^PIN_LONGTERM_TEST_START (ok|errno) (\d+)$/.exec(n);
    if (m) return m[1] === 'ok' ? { kind: 'ok' } : { kind: 'errno', errno: Number(m[2]) };
  }
  return null;
}

async function prepare(o: OracleOptions): Promise<Kernel[]> {
  ensureGuestTools(o.say);
  const kernels: Kernel[] = [];
  for (const k of o.stock) kernels.push(prepareStock(k, o.say));
  for (const k of o.built) kernels.push(await prepareBuilt(k, o.say));
  fsImages(o.say);
  probeBinary(o.say);
  return kernels;
}

export async function runOracle(o: OracleOptions): Promise<{ kernels: readonly Kernel[]; report: OracleReport | null }> {
  const kernels = await prepare(o);
  if (o.prepareOnly) return { kernels, report: null };
  const reports: KernelReport[] = [];
  for (const kernel of kernels) {
    const k = o.model ? { ...kernel, model: o.model } : kernel;
    const model = probe(k.model, 'x86');
    const cases: GuestCase[] = [];
    model.forEach((r, index) => {
      if (k.gupApi === 'none' && r.mechanism !== 'iouring') return;
      cases.push({ index, mechanism: r.mechanism, backing: r.backing, map: r.map, prot: r.prot, touch: r.touch });
    });
    const b = await boot(k, cases, { timeoutSeconds: o.timeoutSeconds, say: o.say });
    const rows: OracleRow[] = [];
    const differences: OracleDifference[] = [];
    const legacy = k.gupApi === 'legacy';
    const start = legacy ? startAnswer(b.output.notes) : null;
    if (legacy && !start) {
      throw new OracleError('GUPCHECK_ORACLE_GUEST_FAILED', `${k.name}: the guest did not say what PIN_LONGTERM_TEST_START answers on this kernel`, 'rerun with GUPCHECK_ORACLE_KEEP=1 and read the guest console in the cache\'s runs/');
    }
    const compare = (m: ProbeRow, a: KernelAnswer, model: string, via: OracleRow['via']) => {
      const row: OracleRow = { mechanism: m.mechanism, backing: m.backing, map: m.map, prot: m.prot, touch: m.touch, model, kernel: answerText(a), same: agrees(a, model), via };
      rows.push(row);
      if (!row.same) differences.push({ ...row, what: describeRow(m, via === 'benchmark'), modelPath: modelPath(k.model, m) });
    };
    for (const c of cases) {
      const m = model[c.index]!;
      const a = b.output.rows.get(c.index)!;
      if (!legacy || m.mechanism === 'iouring') {
        compare(m, a, m.result, 'probe');
        continue;
      }
      // 6.1: the probe's row is PIN_LONGTERM_TEST_START, which the kernel does not have; the pin
      // itself ran through the benchmark ioctl, against the model's pin with the same flags.
      compare(m, start!, m.result, 'probe');
      const pin = modelPin(k.model, m);
      if (pin) compare(m, a, pin.result, 'benchmark');
    }
    const notRun = model.length - cases.length;
    reports.push({
      name: k.name,
      kind: k.kind,
      package: k.pkg,
      version: k.version,
      release: b.output.release ?? '',
      modelRevision: k.model,
      note: k.note,
      bootSeconds: Math.round(b.seconds * 10) / 10,
      rows,
      notRun: notRun ? { rows: notRun, why: `this kernel has no CONFIG_GUP_TEST (Debian's configuration); \`gupcheck oracle --build-kernel ${k.name}\` runs them` } : null,
      differences,
      kernelWarnings: b.kernelWarnings.map((w) => ({ row: w.case === null ? null : describeRow(model[w.case]!, legacy && model[w.case]!.mechanism !== 'iouring'), where: w.where, message: w.message })),
      guestNotes: b.output.notes.map(noteText),
    });
  }
  return {
    kernels,
    report: {
      kernels: reports,
      compared: reports.reduce((n, r) => n + r.rows.length, 0),
      differences: reports.reduce((n, r) => n + r.differences.length, 0),
      notCovered: ORACLE_NOT_COVERED,
    },
  };
}
