/**
 * The kernels `gupcheck oracle` boots, and how it gets them:
 *
 * - stock: Debian's own linux-image-*-amd64-unsigned package for 6.1 or 6.12 (bookworm and
 *   bookworm-security), fetched with `apt-get download` and unpacked with dpkg-deb into the
 *   cache. Never installed: nothing goes to the host's /boot or /lib/modules. The modules the
 *   guest needs (virtio, ext4, xfs, btrfs and what they depend on, by their .modinfo `depends=`)
 *   are unpacked, decompressed, and loaded in the guest with insmod. No CONFIG_GUP_TEST.
 * - built: Debian's linux-source-<rev> package, `make tinyconfig` plus src/oracle/gup-test.config
 *   (everything built in, CONFIG_GUP_TEST=y), built with nice in the cache (build-kernel.sh).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptUpdate, cacheDir, ensureDir, ensureTools, FILES, fsError, mustRun, needSpace, OracleError, run, type Say, tail, TOOLS, which } from './host.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A stock Debian kernel: the package name pattern (the newest match is taken) and the model revision. */
interface StockSpec {
  readonly pattern: RegExp;
  readonly search: string;
  readonly model: string;
  readonly note?: string;
}
export const STOCK: Readonly<Record<string, StockSpec>> = {
  '6.1': {
    pattern: /^linux-image-6\.1\.0-(\d+)-amd64-unsigned$/,
    search: '^linux-image-6\\.1\\.0-[0-9]+-amd64-unsigned$',
    model: '6.1',
    note: "Debian's 6.1 is a 6.1.1xx stable release with backports; the model's 6.1 is 6.1.0 to 6.1.20 (docs/revisions.md)",
  },
  '6.12': {
    pattern: /^linux-image-6\.12\.(\d+)\+deb\d+-amd64-unsigned$/,
    search: '^linux-image-6\\.12\\.[0-9]+\\+deb[0-9]+-amd64-unsigned$',
    model: '6.12',
  },
};

/** A kernel built from Debian's linux-source package, with CONFIG_GUP_TEST. */
interface BuildSpec {
  readonly source: string;
  readonly model: string;
  /** Which gup_test ioctls it has: PIN_LONGTERM_TEST_START (6.5+) or only the benchmark ones (6.1). */
  readonly gupApi: 'start' | 'legacy';
  readonly note?: string;
}
export const BUILDABLE: Readonly<Record<string, BuildSpec>> = {
  '6.1': { source: 'linux-source-6.1', model: '6.1', gupApi: 'legacy', note: STOCK['6.1']!.note },
  '6.12': { source: 'linux-source-6.12', model: '6.12', gupApi: 'start' },
};

/** What the guest boots. */
export interface Kernel {
  /** '6.1', '6.12'. */
  readonly name: string;
  readonly kind: 'stock' | 'built';
  readonly model: string;
  readonly pkg: string;
  readonly version: string;
  readonly image: string;
  /** The release `uname -r` must say (a prefix for built kernels). */
  readonly release: string;
  /** Decompressed modules in load order (stock kernels). */
  readonly modules: readonly string[];
  readonly gupApi: 'start' | 'legacy' | 'none';
  readonly note?: string | undefined;
}

/** The modules the guest needs from a stock kernel; builtin ones are skipped. */
const MODULE_ROOTS = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4', 'xfs', 'btrfs'];
/** Where those modules and their dependencies live in the package. */
const MODULE_DIRS = ['kernel/fs/', 'kernel/drivers/block/', 'kernel/drivers/virtio/', 'kernel/crypto/', 'kernel/lib/', 'kernel/arch/x86/crypto/'];

function debsDir(): string {
  return ensureDir(join(cacheDir(), 'debs'));
}

/** The newest package apt knows matching a stock spec; `apt-get update` once if none. */
function newestPackage(spec: StockSpec, name: string, say: Say): string {
  const search = () =>
    run('apt-cache', ['search', '--names-only', spec.search])
      .stdout.split('\n')
      .map((l) => l.split(' - ')[0]!.trim())
      .filter((p) => spec.pattern.test(p));
  let found = search();
  if (found.length === 0) {
    aptUpdate(say);
    found = search();
  }
  if (found.length === 0) {
    throw new OracleError(
      'GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE',
      `apt knows no package matching ${spec.search} (Debian's stock ${name} kernel)`,
      name === '6.12'
        ? 'the 6.12 kernels are in bookworm-security (and trixie): add `deb http://deb.debian.org/debian-security bookworm-security main` to the apt sources, then apt-get update'
        : 'the 6.1 kernels are in bookworm and bookworm-security: add them to the apt sources, then apt-get update',
    );
  }
  return found.sort((a, b) => Number(spec.pattern.exec(b)![1]) - Number(spec.pattern.exec(a)![1]))[0]!;
}

/** `apt-get download` into the cache (once); the .deb's path. */
function download(pkg: string, say: Say): string {
  const dir = debsDir();
  const have = () => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  let f = have();
  if (f) return join(dir, f);
  needSpace(dir, 400, `download ${pkg}`);
  say(`downloading ${pkg} with apt-get download`);
  let r = run('apt-get', ['-q', 'download', pkg], { cwd: dir });
  if (r.status !== 0) {
    aptUpdate(say);
    r = run('apt-get', ['-q', 'download', pkg], { cwd: dir });
  }
  f = have();
  if (r.status !== 0 || !f) {
    const out = `${r.stdout}${r.stderr}`;
    if (/No space left/.test(out)) throw fsError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }), `download ${pkg}`);
    throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `cannot download the Debian package ${pkg}:\n${tail(out, 8)}`, 'check the network and the apt sources (apt-get update; apt-cache policy ' + pkg + ')');
  }
  return join(dir, f);
}

function debField(deb: string, field: string): string {
  return mustRun('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `read ${field} of ${deb}`, 'dpkg-deb', ['-f', deb, field], `delete ${deb} and run again`).trim();
}

/** The names in a module's .modinfo `depends=` (comma-separated, '-' and '_' alike). */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  return ko
    .subarray(start, end)
    .toString('latin1')
    .split(',')
    .filter(Boolean)
    .map((n) => n.replaceAll('-', '_'));
}

const modName = (path: string) => path.split('/').pop()!.replace(/\.ko(\.xz|\.zst)?$/, '').replaceAll('-', '_');

/** Unpacks a stock kernel package's image and the modules the guest needs into the cache. */
export function prepareStock(name: string, say: Say): Kernel {
  const spec = STOCK[name];
  if (!spec) throw new Error(`no stock kernel ${name}`);
  ensureTools([TOOLS.dpkgDeb, TOOLS.tar, TOOLS.xz], [], say);
  const kernels = join(cacheDir(), 'kernels');
  let pkg: string;
  try {
    pkg = newestPackage(spec, name, say);
  } catch (e) {
    // Offline, or apt's lists are gone: the newest kernel unpacked before will do.
    const cached = readdirSyncSafe(kernels)
      .filter((d) => spec.pattern.test(d.split('_')[0]!) && existsSync(join(kernels, d, 'kernel.json')))
      .sort((a, b) => Number(spec.pattern.exec(b.split('_')[0]!)![1]) - Number(spec.pattern.exec(a.split('_')[0]!)![1]));
    if (!cached.length) throw e;
    pkg = cached[0]!.split('_')[0]!;
    say(`apt knows no ${name} kernel package; using ${pkg} from the cache`);
  }
  // Unpacked before: the package is not needed again (its name carries the ABI; a new upload is a new name).
  const done = readdirSyncSafe(kernels).find((d) => d.startsWith(`${pkg}_`) && existsSync(join(kernels, d, 'kernel.json')));
  if (done) {
    const k = JSON.parse(readFileSync(join(kernels, done, 'kernel.json'), 'utf8')) as Kernel;
    return { ...k, image: join(kernels, done, 'vmlinuz'), modules: k.modules.map((m) => join(kernels, done, m.split('/').pop()!)) };
  }
  const deb = download(pkg, say);
  const version = debField(deb, 'Version');
  const dir = join(kernels, `${pkg}_${version}`);
  const metaFile = join(dir, 'kernel.json');
  rmSync(dir, { recursive: true, force: true });
  ensureDir(dir);
  needSpace(dir, 300, `unpack ${pkg}`);
  say(`unpacking ${pkg} ${version}`);
  const members = mustRun('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `list ${deb}`, 'bash', ['-c', 'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -t', 'list', deb], `delete ${deb} and run again`).split('\n');
  const vmlinuz = members.find((m) => /^\.\/boot\/vmlinuz-/.test(m));
  const builtinList = members.find((m) => /\/lib\/modules\/[^/]+\/modules\.builtin$/.test(m));
  if (!vmlinuz || !builtinList) throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `${deb} has no ./boot/vmlinuz-* or modules.builtin: not a kernel image package`, `delete ${deb} and run again`);
  const release = vmlinuz.replace('./boot/vmlinuz-', '');
  const modRoot = builtinList.replace(/modules\.builtin$/, '');
  const kos = members.filter((m) => m.startsWith(modRoot) && /\.ko(\.xz|\.zst)?$/.test(m) && MODULE_DIRS.some((d) => m.startsWith(modRoot + d)));
  const unpack = join(dir, 'unpack');
  ensureDir(unpack);
  const listFile = join(dir, 'members');
  writeFileSync(listFile, [vmlinuz, builtinList, ...kos].join('\n') + '\n');
  mustRun('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `unpack ${deb}`, 'bash', ['-c', 'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" -T "$3"', 'unpack', deb, unpack, listFile], `delete ${deb} and run again`);
  const builtin = new Set(readFileSync(join(unpack, builtinList), 'utf8').split('\n').filter(Boolean).map(modName));
  const byName = new Map(kos.map((k) => [modName(k), k]));
  const order: string[] = [];
  const seen = new Set<string>();
  const load = (m: string, from: string) => {
    if (seen.has(m) || builtin.has(m)) return;
    seen.add(m);
    const k = byName.get(m);
    if (!k) throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `${pkg}: module ${m} (needed by ${from}) is neither built in nor in ${MODULE_DIRS.join(', ')}`, 'this kernel package is laid out differently from what gupcheck knows; report it');
    const ko = decompress(join(unpack, k));
    for (const d of moduleDepends(ko)) load(d, m);
    const out = join(dir, `${m}.ko`);
    writeFileSync(out, ko);
    order.push(`${m}.ko`);
  };
  for (const m of MODULE_ROOTS) load(m, 'the guest');
  renameSync(join(unpack, vmlinuz), join(dir, 'vmlinuz'));
  rmSync(unpack, { recursive: true, force: true });
  rmSync(listFile, { force: true });
  const k: Kernel = { name, kind: 'stock', model: spec.model, pkg, version, image: join(dir, 'vmlinuz'), release, modules: order.map((m) => join(dir, m)), gupApi: 'none', note: spec.note };
  writeFileSync(metaFile, JSON.stringify(k, null, 2));
  rmSync(deb, { force: true });
  return k;
}

function decompress(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : 'zstd';
  if (!which(tool)) ensureTools([tool === 'xz' ? TOOLS.xz : { cmd: 'zstd', pkg: 'zstd', why: 'unpacks .ko.zst modules' }], [], () => {});
  const r = spawnSync(tool, ['-dc', path], { maxBuffer: 2 ** 28 });
  if (r.status !== 0) throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `cannot decompress ${path}: ${String(r.stderr)}`, 'delete the cache directory and run again');
  return r.stdout;
}

/** The files that decide a built kernel: the fragment and the build script. */
function buildInputsHash(): string {
  const h = createHash('sha256');
  for (const f of ['gup-test.config', 'build-kernel.sh']) h.update(readFileSync(join(HERE, f)));
  return h.digest('hex').slice(0, 10);
}

export function builtImagePath(name: string, version: string): string {
  return join(cacheDir(), 'built', `${BUILDABLE[name]!.source}_${version}_${buildInputsHash()}`, 'bzImage');
}

/** The candidate version of a linux-source package, or null. */
function candidateVersion(pkg: string): string | null {
  const m = /Candidate:\s*(\S+)/.exec(run('apt-cache', ['policy', pkg]).stdout);
  return m && m[1] !== '(none)' ? m[1]! : null;
}

/**
 * A kernel with CONFIG_GUP_TEST built from Debian's linux-source package: the cached one, or a
 * new build (tens of minutes on two cores; progress on stderr, the log in the cache).
 */
export async function prepareBuilt(name: string, say: Say): Promise<Kernel> {
  const spec = BUILDABLE[name];
  if (!spec) throw new Error(`no buildable kernel ${name}`);
  ensureTools([TOOLS.dpkgDeb, TOOLS.tar, TOOLS.xz, TOOLS.gcc, TOOLS.make, TOOLS.flex, TOOLS.bison, TOOLS.bc, TOOLS.perl], [FILES.libelf], say);
  let version = candidateVersion(spec.source);
  if (!version) {
    aptUpdate(say);
    version = candidateVersion(spec.source);
  }
  // Offline with a build already cached: use it.
  const cachedBuilt = readdirSyncSafe(join(cacheDir(), 'built')).filter((d) => d.startsWith(`${spec.source}_`) && d.endsWith(`_${buildInputsHash()}`) && existsSync(join(cacheDir(), 'built', d, 'bzImage')));
  if (!version && cachedBuilt.length) version = cachedBuilt.sort().at(-1)!.split('_')[1]!;
  if (!version) {
    throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `apt knows no ${spec.source} package`, `add bookworm and bookworm-security to the apt sources and run apt-get update (apt-cache policy ${spec.source})`);
  }
  const image = builtImagePath(name, version);
  const release = upstreamVersion(version);
  const kernel: Kernel = { name, kind: 'built', model: spec.model, pkg: spec.source, version, image, release, modules: [], gupApi: spec.gupApi, note: spec.note };
  if (existsSync(image)) return kernel;

  const buildDir = ensureDir(join(cacheDir(), 'build', `${spec.source}_${version}`));
  // A tree unpacked before (a build that failed, or one for another fragment) is built again in place.
  let tarball = '-';
  let deb: string | null = null;
  if (!existsSync(join(buildDir, '.unpacked'))) {
    deb = download(spec.source, say);
    const debVersion = debField(deb, 'Version');
    if (debVersion !== version) {
      rmSync(deb);
      throw new OracleError('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `apt-get download ${spec.source} gave version ${debVersion}, apt-cache policy says ${version}`, 'run apt-get update and try again');
    }
    const srcDir = ensureDir(join(cacheDir(), 'src'));
    tarball = join(srcDir, `${spec.source}_${version}.tar.xz`);
    if (!existsSync(tarball)) {
      needSpace(srcDir, 200, `unpack ${spec.source}`);
      say(`unpacking ${spec.source} ${version}`);
      mustRun('GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE', `unpack ${deb}`, 'bash', ['-c', 'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -xO "./usr/src/$2.tar.xz" > "$3.tmp" && mv "$3.tmp" "$3"', 'unpack', deb, spec.source, tarball], `delete ${deb} and run again`);
    }
  }
  needSpace(buildDir, 2500, `build ${spec.source}`);
  const log = join(buildDir, 'build.log');
  ensureDir(dirname(image));
  say(`building a CONFIG_GUP_TEST kernel from ${spec.source} ${version} (tinyconfig + src/oracle/gup-test.config, nice -n 10; tens of minutes on two cores); log: ${log}`);
  const t0 = Date.now();
  const status = await new Promise<number>((resolve) => {
    const logStream = createWriteStream(log);
    const child = spawn('nice', ['-n', '10', 'bash', join(HERE, 'build-kernel.sh'), tarball, buildDir, join(HERE, 'gup-test.config'), image], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JOBS: String(Math.max(1, Number(process.env.GUPCHECK_BUILD_JOBS) || 2)) } });
    let last = '';
    child.stdout.on('data', (d: Buffer) => {
      logStream.write(d);
      last = d.toString().trimEnd().split('\n').at(-1) ?? last;
    });
    child.stderr.on('data', (d: Buffer) => logStream.write(d));
    const beat = setInterval(() => say(`still building (${Math.round((Date.now() - t0) / 60000)} min): ${last.trim()}`), 60_000);
    child.on('close', (code) => {
      clearInterval(beat);
      logStream.end();
      resolve(code ?? 1);
    });
    child.on('error', () => resolve(127));
  });
  if (status !== 0 || !existsSync(image)) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (/No space left on device/.test(text)) throw fsError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }), `build ${spec.source}`);
    throw new OracleError('GUPCHECK_ORACLE_BUILD_FAILED', `building the gup_test kernel from ${spec.source} ${version} failed (exit ${status}); the end of ${log}:\n${tail(text, 20)}`, `fix what the log says and run again (the build resumes in ${buildDir})`);
  }
  say(`built ${image} in ${Math.round((Date.now() - t0) / 1000)} s`);
  // The tree stays for incremental rebuilds (a changed fragment rebuilds in minutes, not tens of
  // minutes); the tarball and the package it came from are not needed again.
  if (tarball !== '-') rmSync(tarball, { force: true });
  if (deb) rmSync(deb, { force: true });
  return kernel;
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** 6.12.118-1~deb12u1 -> 6.12.118; 6.1.192-3 -> 6.1.192. */
export function upstreamVersion(debVersion: string): string {
  return debVersion.replace(/-[^-]*$/, '');
}
