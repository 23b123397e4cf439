/**
 * On-demand bundling with esbuild, shared by the report's viewer (src/report/viewer-bundle.ts) and
 * the exploration workers (src/run/worker-bundle.ts). esbuild is a devDependency, loaded lazily:
 * callers fall back to something slower where it is missing.
 */
import type * as Esbuild from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function loadEsbuild(): typeof Esbuild | undefined {
  try {
    return createRequire(import.meta.url)('esbuild') as typeof Esbuild;
  } catch {
    return undefined;
  }
}

/** Write to a temporary name, then rename: concurrent builders never see half a file. */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The newest modification time of the .ts files in these directories (recursively when asked; 0 if none). */
export function newestSource(dirs: readonly string[], recursive = false): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (recursive && e.name !== 'dist' && e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of dirs) if (existsSync(dir)) walk(dir);
  return newest;
}

/** True when `bundle` exists and none of its sources is newer. */
export function bundleFresh(bundle: string, sourcesMtime: number): boolean {
  return existsSync(bundle) && statSync(bundle).mtimeMs >= sourcesMtime;
}

/**
 * Bundle `entry` with esbuild into `out` (written atomically) and return the code. Throws if
 * esbuild is missing or the build fails; `what` names the bundle in those errors.
 */
export function buildBundle(what: string, entry: string, out: string, options: Esbuild.BuildOptions): string {
  const esbuild = loadEsbuild();
  if (!esbuild) throw new Error('esbuild is not installed (it is a devDependency: run npm ci)');
  const res = esbuild.buildSync({ ...options, entryPoints: [entry], bundle: true, write: false, logLevel: 'silent' });
  const js = res.outputFiles[0]?.text;
  if (js === undefined) throw new Error(`[gupcheck internal bug] esbuild produced no output for the ${what}`);
  writeAtomic(out, js);
  return js;
}

/** buildBundle() for builds that need plugins (esbuild runs plugins only in its async API). */
export async function buildBundleAsync(what: string, entry: string, out: string, options: Esbuild.BuildOptions): Promise<string> {
  const esbuild = loadEsbuild();
  if (!esbuild) throw new Error('esbuild is not installed (it is a devDependency: run npm ci)');
  let res: Esbuild.BuildResult;
  try {
    res = await esbuild.build({ ...options, entryPoints: [entry], bundle: true, write: false, logLevel: 'silent' });
  } catch (e) {
    const errs = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    if (errs?.length) throw new Error(`the ${what} bundle failed: ${errs.map((x) => `${x.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1}: ` : ''}${x.text}`).join('; ')}`, { cause: e });
    throw e;
  }
  const js = res.outputFiles?.[0]?.text;
  if (js === undefined) throw new Error(`[gupcheck internal bug] esbuild produced no output for the ${what}`);
  writeAtomic(out, js);
  return js;
}
