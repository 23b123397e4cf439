/**
 * The viewer's script for the HTML report: src/viewer/main.ts bundled by esbuild into one IIFE
 * (src/viewer/dist/viewer.js, not committed). It is built on demand, so a fresh clone's first
 * `--report` gets the interactive viewer with no build step: the bundle is rebuilt whenever a
 * viewer or trace source is newer than it. `node scripts/build-viewer.mjs` (part of `npm test`)
 * builds it ahead of time.
 *
 * esbuild is a devDependency, loaded lazily: where it is not installed, an existing bundle is
 * used even if stale, and with no bundle at all the report falls back to plain text.
 */
import type * as Esbuild from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VIEWER_DIR = fileURLToPath(new URL('../viewer/', import.meta.url));
const TRACE_DIR = fileURLToPath(new URL('../trace/', import.meta.url));
export const VIEWER_ENTRY = join(VIEWER_DIR, 'main.ts');
export const VIEWER_BUNDLE = join(VIEWER_DIR, 'dist', 'viewer.js');
export const VIEWER_CSS = join(VIEWER_DIR, 'viewer.css');

/** The newest modification time of the sources that go into the bundle (0 if none are found). */
function newestSource(): number {
  let newest = 0;
  for (const dir of [VIEWER_DIR, TRACE_DIR]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.ts')) continue;
      newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
    }
  }
  return newest;
}

function loadEsbuild(): typeof Esbuild | undefined {
  try {
    return createRequire(import.meta.url)('esbuild') as typeof Esbuild;
  } catch {
    return undefined;
  }
}

/** Write to a temporary name, then rename: concurrent builders never see half a file. */
function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Bundle the viewer now and write src/viewer/dist/viewer.js. Throws if esbuild is missing or the build fails. */
export function buildViewer(): { path: string; bytes: number; js: string } {
  const esbuild = loadEsbuild();
  if (!esbuild) throw new Error('esbuild is not installed (it is a devDependency: run npm ci)');
  const res = esbuild.buildSync({
    entryPoints: [VIEWER_ENTRY],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  });
  const js = res.outputFiles[0]?.text;
  if (js === undefined) throw new Error('[gupcheck internal bug] esbuild produced no output for the viewer');
  writeAtomic(VIEWER_BUNDLE, js);
  return { path: VIEWER_BUNDLE, bytes: Buffer.byteLength(js), js };
}

/** True when the bundle exists and no source is newer than it. */
export function viewerBundleFresh(): boolean {
  return existsSync(VIEWER_BUNDLE) && statSync(VIEWER_BUNDLE).mtimeMs >= newestSource();
}

/**
 * The viewer script to inline: the bundle if fresh, else a new build (also written to dist/ for
 * next time), else a stale bundle, else undefined (the report then renders as plain text).
 */
export function viewerScript(): string | undefined {
  if (viewerBundleFresh()) return readFileSync(VIEWER_BUNDLE, 'utf8');
  if (existsSync(VIEWER_ENTRY)) {
    try {
      return buildViewer().js;
    } catch {
      // fall through: a stale bundle beats none
    }
  }
  return existsSync(VIEWER_BUNDLE) ? readFileSync(VIEWER_BUNDLE, 'utf8') : undefined;
}

export function viewerStyles(): string {
  return existsSync(VIEWER_CSS) ? readFileSync(VIEWER_CSS, 'utf8') : '';
}
