/**
 * Helpers for the trust tests: the CLI in this process (fast, for many small calls) or spawned
 * as a user runs it (exit codes, signals, nothing but the CLI's own output on stderr).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { type Ran, ROOT } from '../cli/helpers.ts';

export { gupcheck, ROOT, type Ran } from '../cli/helpers.ts';

export const BIN = fileURLToPath(new URL('../../bin/gupcheck.mjs', import.meta.url));
export const EXAMPLE = (n: string) => join(ROOT, 'examples', n);

export function tmp(prefix = 'gupcheck-trust-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * `gupcheck ARGS` through main() in this process, as bin/gupcheck.mjs runs it, capturing what it
 * writes. Only for commands that finish quickly (no signals).
 */
export async function runMain(args: readonly string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true));
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true));
  let code: number;
  try {
    code = await main([...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}

export interface Spawned extends Ran {
  readonly signal: NodeJS.Signals | null;
}

/** Spawn the CLI; `onStart` may signal it. Resolves when it exits. */
export function spawnCli(args: readonly string[], opts: { cwd?: string; onStart?: (p: ReturnType<typeof spawn>) => void } = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
    opts.onStart?.(p);
  });
}

/** A user error as the CLI prints it: `gupcheck: error[CODE]: ...`, a `fix:` line, exit 2, no stack trace. */
export function expectUserError(r: Ran, code: string, message: RegExp): void {
  expect(r.stderr, 'no JavaScript stack trace').not.toMatch(/^\s+at /m);
  expect(r.stderr, 'not an internal error').not.toMatch(/internal error/);
  const line = errorLine(r.stderr);
  expect(line).toMatch(new RegExp(`^gupcheck(?: \\w+)?: error\\[${code}\\]: `));
  expect(line).toMatch(message);
  expect(r.stderr).toMatch(/^ {2}fix: \S/m);
  expect(r.code).toBe(2);
}

/** The error line of stderr (a progress line may come before it on a slow machine). */
export function errorLine(stderr: string): string {
  return stderr.split('\n').find((l) => /^gupcheck(?: \w+)?: (?:error\[|internal error)/.test(l)) ?? stderr.split('\n')[0]!;
}

/** Every file under dir (relative path -> contents). */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}
