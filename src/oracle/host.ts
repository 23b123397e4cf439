/**
 * The host side of `gupcheck oracle`: the tools it runs, the Debian packages they come from, the
 * cache it keeps outside the repository, and its errors.
 *
 * Every tool is looked up before use. A missing one is installed with apt-get (Debian packages
 * only), and gupcheck says what it installs; when that cannot be done (not root, no apt-get, the
 * package cannot be fetched) the error names the tool, the package and the command that gets it.
 * A full disk is its own error. None of these is ever reported as a result.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { GupcheckError } from '../errors.ts';

/**
 * Errors of the environment, not of the input or of the model: exit 4 (cli/errors.ts). The
 * oracle could not run; nothing it printed before is a result.
 */
export class OracleError extends GupcheckError {
  constructor(code: string, message: string, hint: string | undefined) {
    super(code, message, hint, 'environment');
  }
}

/** A tool the oracle runs and the Debian package that has it. */
export interface Tool {
  readonly cmd: string;
  readonly pkg: string;
  /** What it is used for, for the messages. */
  readonly why: string;
}

export const TOOLS = {
  qemu: { cmd: 'qemu-system-x86_64', pkg: 'qemu-system-x86', why: 'boots the kernels under TCG' },
  gcc: { cmd: 'gcc', pkg: 'gcc', why: 'builds the guest probe' },
  xz: { cmd: 'xz', pkg: 'xz-utils', why: 'unpacks .ko.xz modules' },
  mkfsExt4: { cmd: 'mkfs.ext4', pkg: 'e2fsprogs', why: 'makes the ext4 image' },
  mkfsXfs: { cmd: 'mkfs.xfs', pkg: 'xfsprogs', why: 'makes the xfs image' },
  mkfsBtrfs: { cmd: 'mkfs.btrfs', pkg: 'btrfs-progs', why: 'makes the btrfs image' },
  dpkgDeb: { cmd: 'dpkg-deb', pkg: 'dpkg', why: 'unpacks the kernel packages' },
  tar: { cmd: 'tar', pkg: 'tar', why: 'unpacks the kernel packages' },
  make: { cmd: 'make', pkg: 'make', why: 'builds the gup_test kernel' },
  flex: { cmd: 'flex', pkg: 'flex', why: 'builds the gup_test kernel: kconfig' },
  bison: { cmd: 'bison', pkg: 'bison', why: 'builds the gup_test kernel: kconfig' },
  bc: { cmd: 'bc', pkg: 'bc', why: 'builds the gup_test kernel' },
  perl: { cmd: 'perl', pkg: 'perl', why: 'builds the gup_test kernel' },
} as const satisfies Record<string, Tool>;

/** Files a Debian package provides that are not commands on PATH. */
export interface PackageFile {
  readonly path: string;
  readonly pkg: string;
  readonly why: string;
}
export const FILES = {
  busybox: { path: '/bin/busybox', pkg: 'busybox-static', why: 'the guest shell, mount and insmod, a static binary' },
  liburing: { path: '/usr/lib/x86_64-linux-gnu/liburing.a', pkg: 'liburing-dev', why: 'the guest probe links liburing statically' },
  libelf: { path: '/usr/include/libelf.h', pkg: 'libelf-dev', why: 'builds the gup_test kernel: objtool' },
} as const satisfies Record<string, PackageFile>;

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Where the oracle keeps downloads, unpacked kernels, builds and images. */
export function cacheDir(): string {
  const base = process.env.GUPCHECK_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gupcheck');
  return join(base, 'oracle');
}

export function ensureDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, `create ${dir}`);
  }
  return dir;
}

/** A file-system error as what it is: a full disk, no permission, or else. */
export function fsError(e: unknown, what: string): OracleError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return diskFull(what);
  return new OracleError('GUPCHECK_ORACLE_CACHE', `cannot ${what}: ${(e as Error).message}`, `make ${cacheDir()} writable, or set GUPCHECK_CACHE_DIR to a directory that is`);
}

function diskFull(what: string): OracleError {
  return new OracleError(
    'GUPCHECK_ORACLE_DISK_FULL',
    `no space left on the device to ${what} (the cache is ${cacheDir()})`,
    'free space there (a stock kernel needs about 200 MB, a gup_test kernel build about 2 GB), or set GUPCHECK_CACHE_DIR to a disk that has it',
  );
}

/** Refuses to start a step that needs `mb` megabytes where there is less. */
export function needSpace(dir: string, mb: number, what: string): void {
  let free: number;
  try {
    const s = statfsSync(dir);
    free = (s.bavail * s.bsize) / 2 ** 20;
  } catch {
    return;
  }
  if (free < mb) throw diskFull(`${what} (${Math.round(free)} MB free, about ${mb} MB needed)`);
}

export interface RunOptions {
  readonly cwd?: string;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Milliseconds. */
  readonly timeout?: number;
  readonly maxBuffer?: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function run(cmd: string, args: readonly string[], o: RunOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: o.maxBuffer ?? 64 * 2 ** 20, cwd: o.cwd, input: o.input, env: o.env ?? process.env, timeout: o.timeout });
}

/** The last lines of a command's output, for an error message. */
export function tail(s: string, n = 15): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}

/** Runs a command that must succeed; a failure is an OracleError with its output's tail. */
export function mustRun(code: string, what: string, cmd: string, args: readonly string[], hint: string, o: RunOptions = {}): string {
  const r = run(cmd, args, o);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error || r.status !== 0) {
    if (/No space left on device|ENOSPC/.test(out) || r.error?.message.includes('ENOSPC')) throw diskFull(what);
    const why = r.error ? r.error.message : `exit ${r.status ?? `signal ${r.signal}`}`;
    throw new OracleError(code, `${what} failed (${cmd} ${args.join(' ')}: ${why})${out.trim() ? `; its last output:\n${tail(out)}` : ''}`, hint);
  }
  return r.stdout;
}

export type Say = (line: string) => void;

let aptUpdated = false;

/**
 * Installs Debian packages with apt-get, saying so first. Needs root (or sudo without a
 * password). Runs `apt-get update` once if the install fails without it.
 */
export function aptInstall(pkgs: readonly string[], why: string, say: Say): void {
  if (pkgs.length === 0) return;
  const list = pkgs.join(' ');
  if (!which('apt-get')) {
    throw new OracleError('GUPCHECK_ORACLE_TOOL_MISSING', `${why}, and this system has no apt-get to install ${list}`, `install the Debian packages ${list} (or their equivalents) and run the command again`);
  }
  const sudo = sudoPrefix();
  if (sudo === null) {
    throw new OracleError('GUPCHECK_ORACLE_TOOL_MISSING', `${why}; installing ${list} needs root`, `run \`sudo apt-get install -y ${list}\`, then the command again`);
  }
  say(`installing ${list} with apt-get (${why})`);
  const opts = ['-q', '-o', 'DPkg::Lock::Timeout=300', '-o', 'Acquire::Retries=3'];
  const install = () => aptGet(sudo, [...opts, 'install', '-y', '--no-install-recommends', ...pkgs]);
  let r = install();
  if (r.status !== 0 && !aptUpdated) {
    aptUpdate(say);
    r = install();
  }
  if (r.status !== 0) {
    const out = `${r.stdout}${r.stderr}`;
    if (/No space left on device/.test(out)) throw diskFull(`install ${list}`);
    throw new OracleError('GUPCHECK_ORACLE_TOOL_MISSING', `${why}; \`apt-get install ${list}\` failed:\n${tail(out)}`, `install ${list} by hand (apt-get update && apt-get install -y ${list}), then run the command again`);
  }
}

export function aptUpdate(say: Say): void {
  if (aptUpdated) return;
  const sudo = sudoPrefix();
  if (sudo === null || !which('apt-get')) return;
  say('apt-get update');
  aptGet(sudo, ['-q', '-o', 'DPkg::Lock::Timeout=300', 'update']);
  aptUpdated = true;
}

function aptGet(sudo: readonly string[], args: readonly string[]) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return sudo.length ? run('sudo', [...sudo.slice(1), 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], { env }) : run('apt-get', args, { env });
}

/** [] when root, ['sudo', '-n'] when sudo works without a password, null otherwise. */
function sudoPrefix(): string[] | null {
  if (process.getuid?.() === 0) return [];
  if (which('sudo') && run('sudo', ['-n', 'true']).status === 0) return ['sudo', '-n'];
  return null;
}

function dpkgInstalled(pkg: string): boolean {
  const r = run('dpkg-query', ['-W', '-f=${Status}', pkg]);
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/**
 * Makes sure the tools and files are there, installing what is missing with apt-get in one go.
 * busybox must be Debian's busybox-static (the dynamic busybox package cannot run in the guest).
 */
export function ensureTools(tools: readonly Tool[], files: readonly PackageFile[], say: Say): void {
  const missing = new Map<string, string[]>();
  for (const t of tools) if (!which(t.cmd)) missing.set(t.pkg, [...(missing.get(t.pkg) ?? []), `${t.cmd} (${t.why})`]);
  for (const f of files) {
    const ok = f.pkg === 'busybox-static' ? existsSync(f.path) && dpkgInstalled('busybox-static') : existsSync(f.path);
    if (!ok) missing.set(f.pkg, [...(missing.get(f.pkg) ?? []), `${f.pkg}'s ${f.path} (${f.why})`]);
  }
  if (missing.size === 0) return;
  const what = [...missing.values()].flat().join(', ');
  aptInstall([...missing.keys()], `missing: ${what}`, say);
  for (const t of tools) if (!which(t.cmd)) throw new OracleError('GUPCHECK_ORACLE_TOOL_MISSING', `${t.cmd} is still missing after installing ${t.pkg}`, `install a package that provides ${t.cmd} (${t.why})`);
  for (const f of files) if (!existsSync(f.path)) throw new OracleError('GUPCHECK_ORACLE_TOOL_MISSING', `${f.path} is still missing after installing ${f.pkg}`, `install ${f.pkg} (${f.why})`);
}
