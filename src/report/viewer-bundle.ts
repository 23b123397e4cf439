/**
 * The viewer's script for the HTML report: src/viewer/main.ts bundled by esbuild into one IIFE
 * (src/viewer/dist/viewer.js, not committed). It is built on demand, so a fresh clone's first
 * `--report` gets the interactive viewer with no build step: the bundle is rebuilt whenever a
 * viewer or trace source is newer than it. `npm run build` (part of `npm test`)
 * builds it ahead of time.
 *
 * esbuild is a devDependency, loaded lazily: where it is not installed, an existing bundle is
 * used even if stale, and with no bundle at all the report falls back to plain text.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, bundleFresh, newestSource } from '../build/esbuild.ts';

const VIEWER_DIR = fileURLToPath(new URL('../viewer/', import.meta.url));
const TRACE_DIR = fileURLToPath(new URL('../trace/', import.meta.url));
/** The verdict words, which the viewer imports from src/run/. */
const VERDICT_WORDS = fileURLToPath(new URL('../run/verdict.ts', import.meta.url));
export const VIEWER_ENTRY = join(VIEWER_DIR, 'main.ts');
export const VIEWER_BUNDLE = join(VIEWER_DIR, 'dist', 'viewer.js');
export const VIEWER_CSS = join(VIEWER_DIR, 'viewer.css');

/** Bundle the viewer now and write src/viewer/dist/viewer.js. Throws if esbuild is missing or the build fails. */
export function buildViewer(): { path: string; bytes: number; js: string } {
  const js = buildBundle('viewer', VIEWER_ENTRY, VIEWER_BUNDLE, { format: 'iife', platform: 'browser', target: ['es2022'], minify: true, legalComments: 'none', charset: 'utf8' });
  return { path: VIEWER_BUNDLE, bytes: Buffer.byteLength(js), js };
}

/** True when the bundle exists and no source is newer than it. */
export function viewerBundleFresh(): boolean {
  return bundleFresh(VIEWER_BUNDLE, Math.max(newestSource([VIEWER_DIR, TRACE_DIR]), existsSync(VERDICT_WORDS) ? statSync(VERDICT_WORDS).mtimeMs : 0));
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
