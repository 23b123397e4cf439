/**
 * Spin, run live by `gupcheck bench` on bench/spin/gup-fast.pml (the abstract Promela model of the
 * race in bench/spin-*.yaml, docs/reference/stateful-search.md §5), so the ratios to Spin are
 * measured in the same run on the same machine. Spin is a Debian package (`spin`); the bench
 * installs it when it is missing and it can (apt-get as root), and otherwise says why it did not.
 *
 * Each configuration is compiled once (spin -a, then gcc -O2 -DSAFETY: no never claim) and
 * searched once (./pan). The time is pan's own "elapsed time" (the search, without compiling the
 * model), as Spin's quoted figures are.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROMELA_MODEL = fileURLToPath(new URL('../../bench/spin/gup-fast.pml', import.meta.url));

/** The Spin configurations of stateful-search.md §5, as -D flags of gup-fast.pml. */
export const SPIN_CONFIGS = [
  { config: 'L1', file: 'bench/spin-l1.yaml', defines: ['NPINS=1', 'NREUSE=1'] },
  { config: 'L2', file: 'bench/spin-l2.yaml', defines: ['NPINS=2', 'NREUSE=2'] },
  { config: 'L4 anon', file: 'bench/spin-l4-anon.yaml', defines: ['NPINS=2', 'NREUSE=3'] },
  { config: 'L4 file', file: 'bench/spin-l4-file.yaml', defines: ['NPINS=2', 'NREUSE=3', 'PAGE_TYPE=M_FILE', 'TRUNCATE=1'] },
  { config: 'L4 shmem', file: 'bench/spin-l4-shmem.yaml', defines: ['NPINS=2', 'NREUSE=3', 'PAGE_TYPE=M_SHMEM', 'TRUNCATE=1'] },
] as const;

export interface SpinMeasure {
  readonly config: string;
  readonly v7: boolean;
  readonly states: number;
  readonly transitions: number;
  /** pan's elapsed time (the search only), and its CPU time (user + system). */
  readonly ms: number;
  readonly cpuMs: number;
  readonly memoryMB: number;
  /** Assertion violations found (pan stops at the first). */
  readonly errors: number;
  /** pan hit its depth, memory or time limit: not a complete search (the counts are how far it got). */
  readonly truncated: boolean;
}

function run(cmd: string, args: readonly string[], cwd?: string, timeoutMs = 0): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** `spin` and a C compiler on the PATH, installing Spin if it is missing and we can; else why not. */
export async function ensureSpin(log: (l: string) => void): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const version = async () => (await run('spin', ['-V'])).out.trim();
  let v = await version();
  if (!v.startsWith('Spin Version')) {
    if (process.getuid?.() !== 0) return { ok: false, why: 'spin is not installed (apt-get install spin; the bench installs it only when it runs as root)' };
    log('bench: installing spin (apt-get install -y spin)');
    let r = await run('apt-get', ['install', '-y', 'spin']);
    if (r.code !== 0) {
      log('bench: apt-get update, then install spin again');
      await run('apt-get', ['update']);
      r = await run('apt-get', ['install', '-y', 'spin']);
    }
    v = await version();
    if (!v.startsWith('Spin Version')) return { ok: false, why: `spin could not be installed: ${r.out.trim().split('\n').slice(-2).join(' ')}` };
  }
  const cc = await run('gcc', ['--version']);
  if (cc.code !== 0) return { ok: false, why: 'gcc, which Spin needs to compile its verifier (pan.c), is not installed' };
  return { ok: true, version: v.split('\n')[0]! };
}

const num = (out: string, re: RegExp): number => {
  const m = re.exec(out);
  return m ? Number(m[1]) : NaN;
};

/** Compile and search one configuration (V7: the v7 posting's check, which has the wild-deref). */
export async function runSpin(config: string, defines: readonly string[], v7: boolean, timeoutMs: number): Promise<SpinMeasure> {
  const dir = mkdtempSync(join(tmpdir(), 'gupcheck-spin-'));
  try {
    copyFileSync(PROMELA_MODEL, join(dir, 'gup-fast.pml'));
    const flags = [...defines, ...(v7 ? ['V7=1'] : [])].map((d) => `-D${d}`);
    const a = await run('spin', ['-a', ...flags, 'gup-fast.pml'], dir);
    if (a.code !== 0) throw new Error(`spin -a failed for ${config}: ${a.out.trim().split('\n').slice(-3).join(' ')}`);
    const cc = await run('gcc', ['-O2', '-w', '-DSAFETY', '-DMEMLIM=4096', '-o', 'pan', 'pan.c'], dir);
    if (cc.code !== 0) throw new Error(`compiling Spin's verifier failed for ${config}: ${cc.out.trim().split('\n').slice(-3).join(' ')}`);
    // bash's `time` gives pan's CPU time too (the machine may be shared: elapsed time is not all ours).
    const p = await run('bash', ['-c', 'TIMEFORMAT="pan-cpu %U %S"; time ./pan -m1000000'], dir, timeoutMs);
    const out = p.out;
    if (!/elapsed time/.test(out)) {
      // Stopped by the time budget: the last progress line says how far it got.
      const last = [...out.matchAll(/States=\s*([\d.e+]+)\s+Transitions=\s*([\d.e+]+)\s+Memory=\s*([\d.]+)\s+t=\s*([\d.]+)/g)].at(-1);
      if (!last) throw new Error(`Spin's verifier failed for ${config} (exit ${p.code}): ${out.trim().split('\n').slice(-3).join(' ')}`);
      return { config, v7, states: Number(last[1]), transitions: Number(last[2]), ms: timeoutMs, cpuMs: timeoutMs, memoryMB: Math.round(Number(last[3])), errors: 0, truncated: true };
    }
    return {
      config,
      v7,
      states: num(out, /(\d+) states, stored/),
      transitions: num(out, /(\d+) transitions \(= stored\+matched\)/),
      ms: Math.round(num(out, /elapsed time ([\d.e+]+) seconds/) * 1000),
      cpuMs: Math.round((num(out, /pan-cpu ([\d.]+) /) + num(out, /pan-cpu [\d.]+ ([\d.]+)/)) * 1000),
      memoryMB: Math.round(num(out, /([\d.]+)\s+total actual memory usage/)),
      errors: num(out, /errors: (\d+)/),
      truncated: /max search depth too small|out of memory|search not completed/i.test(out),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
