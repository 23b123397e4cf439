/**
 * One boot of a real kernel under QEMU (TCG) running the probe cases, and what it said.
 *
 * The guest: the kernel, an initramfs (busybox-static, src/oracle/guest/init.sh as /init, the
 * probe built from src/oracle/guest/probe.c against liburing, the case list, the stock kernel's
 * modules), three virtio disks with ext4, xfs and btrfs made by mkfs on the host (attached with
 * snapshot=on, so the cached images never change), tmpfs and hugetlbfs mounted by /init, 16
 * huge pages of 2 MB reserved on the command line. The kernel log goes to the first serial
 * port, the probe's lines to the second; the host reads both when QEMU exits.
 *
 * A boot that does not end with the probe's END line (a panic, an oops, a timeout, a step of
 * /init that failed) is an OracleError with the console's tail, never a result.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, ensureDir, ensureTools, FILES, fsError, mustRun, needSpace, OracleError, run, type Say, TOOLS } from './host.ts';
import type { Kernel } from './kernels.ts';
import { parseResults, type GuestOutput } from './protocol.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const GUEST_FILESYSTEMS = ['ext4', 'xfs', 'btrfs'] as const;
type GuestFs = (typeof GUEST_FILESYSTEMS)[number];

/** Image sizes: the smallest each mkfs accepts comfortably (xfs wants 300 MB). Sparse files. */
const IMAGE_MB: Record<GuestFs, number> = { ext4: 64, xfs: 300, btrfs: 128 };

/** One case as the guest gets it: an index into the probe's rows and the row's fields. */
export interface GuestCase {
  readonly index: number;
  readonly mechanism: string;
  readonly backing: string;
  readonly map: string;
  readonly prot: string;
  readonly touch: string;
}

export function ensureGuestTools(say: Say): void {
  ensureTools([TOOLS.qemu, TOOLS.gcc, TOOLS.mkfsExt4, TOOLS.mkfsXfs, TOOLS.mkfsBtrfs], [FILES.busybox, FILES.liburing], say);
}

/** The mkfs'd images, made once and kept in the cache. */
export function fsImages(say: Say): Record<GuestFs, string> {
  const dir = ensureDir(join(cacheDir(), 'images'));
  const out = {} as Record<GuestFs, string>;
  for (const fs of GUEST_FILESYSTEMS) {
    const img = join(dir, `${fs}.img`);
    out[fs] = img;
    if (existsSync(img)) continue;
    needSpace(dir, IMAGE_MB[fs], `make the ${fs} image`);
    say(`making the ${fs} image with mkfs.${fs}`);
    const tmp = `${img}.tmp`;
    try {
      closeSync(openSync(tmp, 'w'));
      truncateSync(tmp, IMAGE_MB[fs] * 2 ** 20);
    } catch (e) {
      throw fsError(e, `create ${tmp}`);
    }
    const args = fs === 'ext4' ? ['-q', '-F', tmp] : ['-q', '-f', tmp];
    mustRun('GUPCHECK_ORACLE_TOOL_MISSING', `mkfs.${fs}`, `mkfs.${fs}`, args, `check that mkfs.${fs} works (package ${fs === 'ext4' ? 'e2fsprogs' : fs === 'xfs' ? 'xfsprogs' : 'btrfs-progs'})`);
    mustRun('GUPCHECK_ORACLE_CACHE', `rename ${tmp}`, 'mv', [tmp, img], 'make the cache writable');
  }
  return out;
}

/** The static guest probe, built with the system gcc against liburing; cached by its inputs. */
export function probeBinary(say: Say): string {
  const src = join(HERE, 'guest', 'probe.c');
  const h = createHash('sha256');
  h.update(readFileSync(src));
  h.update(run('gcc', ['--version']).stdout);
  const lib = statSync(FILES.liburing.path);
  h.update(`${lib.size}:${lib.mtimeMs}`);
  const dir = ensureDir(join(cacheDir(), 'probe', h.digest('hex').slice(0, 12)));
  const bin = join(dir, 'probe');
  if (existsSync(bin)) return bin;
  say('building the guest probe (gcc -static, liburing)');
  mustRun('GUPCHECK_ORACLE_BUILD_FAILED', 'building the guest probe', 'gcc', ['-static', '-O2', '-Wall', '-Wextra', '-o', `${bin}.tmp`, src, '-luring'], 'install gcc and liburing-dev (apt-get install gcc liburing-dev)');
  mustRun('GUPCHECK_ORACLE_CACHE', `rename ${bin}.tmp`, 'mv', [`${bin}.tmp`, bin], 'make the cache writable');
  return bin;
}

// ----- initramfs: a cpio "newc" archive, written here (no cpio tool needed) -----

interface CpioEntry {
  readonly name: string;
  readonly mode: number;
  readonly data?: Buffer;
  readonly rdev?: readonly [number, number];
}

export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const push = (e: CpioEntry) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const f = (n: number) => n.toString(16).padStart(8, '0');
    const hdr = Buffer.from(
      '070701' + f(ino++) + f(e.mode) + f(0) + f(0) + f(1) + f(0) + f(data.length) + f(0) + f(0) + f(e.rdev?.[0] ?? 0) + f(e.rdev?.[1] ?? 0) + f(name.length) + f(0),
    );
    parts.push(hdr, name, pad(hdr.length + name.length), data, pad(data.length));
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const FILE = 0o100644;
const EXEC = 0o100755;
const CHR = 0o020600;

function initramfs(kernel: Kernel, probe: string, cases: readonly GuestCase[], filesystems: readonly GuestFs[]): Buffer {
  const entries: CpioEntry[] = [];
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'lib', 'lib/modules']) entries.push({ name: d, mode: DIR });
  entries.push({ name: 'dev/console', mode: CHR, rdev: [5, 1] });
  entries.push({ name: 'bin/busybox', mode: EXEC, data: readFileSync(FILES.busybox.path) });
  entries.push({ name: 'init', mode: EXEC, data: readFileSync(join(HERE, 'guest', 'init.sh')) });
  entries.push({ name: 'probe', mode: EXEC, data: readFileSync(probe) });
  entries.push({ name: 'cases', mode: FILE, data: Buffer.from(cases.map((c) => `${c.index} ${c.mechanism} ${c.backing} ${c.map} ${c.prot} ${c.touch}\n`).join('')) });
  entries.push({ name: 'gupapi', mode: FILE, data: Buffer.from(`${kernel.gupApi}\n`) });
  entries.push({ name: 'disks', mode: FILE, data: Buffer.from(`${filesystems.join(' ')}\n`) });
  const names = kernel.modules.map((m) => m.split('/').pop()!);
  entries.push({ name: 'modules.order', mode: FILE, data: Buffer.from(names.join('\n') + (names.length ? '\n' : '')) });
  kernel.modules.forEach((m, i) => entries.push({ name: `lib/modules/${names[i]}`, mode: FILE, data: readFileSync(m) }));
  return cpioNewc(entries);
}

export interface BootResult {
  readonly output: GuestOutput;
  readonly seconds: number;
  /** WARNINGs the kernel printed (reported, not compared). */
  readonly kernelWarnings: readonly KernelWarning[];
}

export interface BootOptions {
  readonly timeoutSeconds: number;
  readonly say: Say;
}

/** Boots the kernel with the cases and returns what the probe said, or throws with the console. */
export async function boot(kernel: Kernel, cases: readonly GuestCase[], o: BootOptions): Promise<BootResult> {
  ensureGuestTools(o.say);
  const images = fsImages(o.say);
  const probe = probeBinary(o.say);
  const runs = ensureDir(join(cacheDir(), 'runs'));
  pruneRuns(runs);
  needSpace(runs, 100, 'write the initramfs');
  const dir = mkdtempSync(join(runs, `${kernel.kind}-${kernel.name}-`));
  const initrd = join(dir, 'initrd.cpio');
  const consoleLog = join(dir, 'console.log');
  const resultsLog = join(dir, 'results.log');
  try {
    writeFileSync(initrd, initramfs(kernel, probe, cases, GUEST_FILESYSTEMS));
    writeFileSync(join(dir, 'cases'), cases.map((c) => `${c.index} ${c.mechanism} ${c.backing} ${c.map} ${c.prot} ${c.touch}`).join('\n') + '\n');
  } catch (e) {
    throw fsError(e, `write ${initrd}`);
  }
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-m', '1024', '-smp', '1', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', kernel.image, '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 oops=panic hugepages=16 mitigations=off loglevel=6 printk.devkmsg=on',
    '-serial', `file:${consoleLog}`, '-serial', `file:${resultsLog}`,
    ...GUEST_FILESYSTEMS.flatMap((fs) => ['-drive', `file=${images[fs]},format=raw,if=virtio,snapshot=on`]),
  ];
  o.say(`booting ${kernel.kind === 'stock' ? kernel.pkg : `the gup_test kernel from ${kernel.pkg}`} ${kernel.version} under QEMU (TCG) with ${cases.length} cases`);
  const t0 = Date.now();
  const { code, timedOut, stderr } = await new Promise<{ code: number | null; timedOut: boolean; stderr: string }>((resolve) => {
    const child = spawn(TOOLS.qemu.cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let timedOut = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutSeconds * 1000);
    // The guest's last line is REBOOT; should the reset not end QEMU, it is ended 10 s later.
    let doneAt = 0;
    let stopped = false;
    const watch = setInterval(() => {
      if (!doneAt && existsSync(resultsLog) && readFileSync(resultsLog, 'utf8').includes('GUPCHECK-ORACLE REBOOT')) doneAt = Date.now();
      if (doneAt && Date.now() - doneAt > 10_000) {
        stopped = true;
        child.kill('SIGKILL');
      }
    }, 500);
    child.on('close', (c) => {
      clearTimeout(timer);
      clearInterval(watch);
      resolve({ code: stopped && !timedOut ? 0 : c, timedOut, stderr: err });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(watch);
      resolve({ code: 127, timedOut: false, stderr: e.message });
    });
  });
  const seconds = (Date.now() - t0) / 1000;
  const consoleText = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
  const resultsText = existsSync(resultsLog) ? readFileSync(resultsLog, 'utf8') : '';
  rmSync(initrd, { force: true });
  const fail = (what: string, hint: string) =>
    new OracleError(
      'GUPCHECK_ORACLE_GUEST_FAILED',
      `${kernel.pkg} ${kernel.version}: ${what}; nothing from this boot is reported. The console's last lines:\n${lastLines(consoleText, 25) || '(the console is empty)'}${resultsText.trim() ? `\nthe probe's last lines:\n${lastLines(resultsText, 5)}` : ''}\n(the logs are in ${dir})`,
      hint,
    );
  if (timedOut) throw fail(`the guest did not finish within ${o.timeoutSeconds} s`, 'if the machine is busy, give it more time with --timeout; if the console shows a hang, that is the kernel');
  if (/No space left on device/.test(stderr)) throw fsError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }), 'run QEMU (its snapshot overlays go to $TMPDIR)');
  if (code !== 0) throw fail(`QEMU exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, 'check that qemu-system-x86_64 runs (apt-get install qemu-system-x86)');
  if (/Kernel panic|BUG: |Oops: /.test(consoleText)) throw fail('the kernel crashed', 'a kernel crash under the probe is worth reporting to the kernel; run again to see whether it repeats');
  const output = parseResults(resultsText);
  const problems = guestProblems(output, kernel, cases);
  if (problems.length) throw fail(problems.join('; '), 'see the console; a missing module, filesystem or huge page means the guest cannot run these cases');
  if (process.env.GUPCHECK_ORACLE_KEEP) o.say(`the boot's logs are in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  const kernelWarnings = warnings(consoleText);
  return { output, seconds, kernelWarnings };
}

export interface KernelWarning {
  /** The case that was running (its index in the probe's rows), if the guest had started them. */
  readonly case: number | null;
  /** The WARNING line: where in the kernel. */
  readonly where: string;
  /** The message WARN() printed before it, if any. */
  readonly message: string;
}

/** The kernel's WARNINGs in its log, each with the case the probe was running then. */
export function warnings(consoleText: string): KernelWarning[] {
  const lines = consoleText
    .replaceAll('\r', '')
    .split('\n')
    .map((l) => l.replace(/^\[[\d. ]+\]\s*/, '').trim());
  const out: KernelWarning[] = [];
  let current: number | null = null;
  // WARN(cond, fmt...) prints "cut here", its message, then "WARNING: ..."; WARN_ON() no message.
  let message: string | null = null;
  for (const l of lines) {
    const m = /^gupcheck-oracle: case (\d+)$/.exec(l);
    if (m) current = Number(m[1]);
    else if (/-\[ cut here \]-/.test(l)) message = '';
    else if (l.startsWith('WARNING: ')) {
      out.push({ case: current, where: l.slice('WARNING: '.length), message: message ?? '' });
      message = null;
    } else if (message === '' && l) message = l;
  }
  return out;
}

/** The logs of failed boots are kept for reading; only the newest 20. */
function pruneRuns(runs: string): void {
  const dirs = readdirSync(runs)
    .map((d) => ({ d, t: statSync(join(runs, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(20)) rmSync(join(runs, d), { recursive: true, force: true });
}

const FS_MAGIC: Record<string, { fs: string; magic: string }> = {
  '/tmp': { fs: 'tmpfs', magic: '1021994' },
  '/dev/hugepages': { fs: 'hugetlbfs', magic: '958458f6' },
  '/mnt/ext4': { fs: 'ext4', magic: 'ef53' },
  '/mnt/xfs': { fs: 'xfs', magic: '58465342' },
  '/mnt/btrfs': { fs: 'btrfs', magic: '9123683e' },
};

/** Why this boot's output cannot be taken as results (empty when it can). */
export function guestProblems(out: GuestOutput, kernel: Kernel, cases: readonly GuestCase[]): string[] {
  const p: string[] = [];
  if (!out.booted) p.push('/init never started (the kernel did not reach user space)');
  for (const s of out.stepsFailed) p.push(`/init: ${s}`);
  if (out.fatal) p.push(`the probe stopped: ${out.fatal}`);
  if (out.release !== null && !out.release.startsWith(kernel.release)) p.push(`the guest runs ${out.release}, not ${kernel.release}`);
  for (const [dir, magic] of out.filesystems) {
    const want = FS_MAGIC[dir];
    if (want && want.magic !== magic) p.push(`${dir} is not ${want.fs} (statfs f_type ${magic}): its mount failed`);
  }
  for (const s of out.setupFailed) p.push(`case ${s.index} could not be set up: ${s.step} ${s.detail}`);
  if (!out.ended) p.push(out.booted ? 'the probe did not finish (no END line)' : 'no output from the probe');
  const missing = cases.filter((c) => !out.rows.has(c.index) && !out.setupFailed.some((s) => s.index === c.index));
  if (out.ended && missing.length) p.push(`no result for ${missing.length} case(s) (first: ${missing[0]!.index})`);
  return p;
}

function lastLines(s: string, n: number): string {
  if (!s.trim()) return '';
  return s
    .replaceAll('\r', '')
    .trimEnd()
    .split('\n')
    .slice(-n)
    .map((l) => `  ${l}`)
    .join('\n');
}
