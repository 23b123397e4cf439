/**
 * Bundles with the model compiled to frames (build/frames.ts), for the stateful explorer: esbuild
 * bundles an entry as usual, and every model source (src/sim/, src/kernel/, src/scenarios/ but
 * the parser, and whatever else `compiled` accepts) goes through the frame compiler first. The
 * runtime (src/sim/frames.ts) is bundled once, shared by every compiled module. Built on demand
 * and cached: rebuilt when a source is newer than the bundle.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { buildBundleAsync, bundleFresh, newestSource } from './esbuild.ts';
import { compileFrames } from './frames.ts';

const SRC = fileURLToPath(new URL('../', import.meta.url));
export const FRAMES_RUNTIME = fileURLToPath(new URL('../sim/frames.ts', import.meta.url));

/** The model's sources: what runs during a transition. */
export function isModelSource(path: string): boolean {
  if (path === FRAMES_RUNTIME) return false;
  if (!path.startsWith(SRC) || !path.endsWith('.ts')) return false;
  const rel = path.slice(SRC.length);
  if (rel === 'scenarios/parse.ts' || rel === 'scenarios/schema.ts') return false;
  return rel.startsWith('sim/') || rel.startsWith('kernel/') || rel.startsWith('scenarios/') || rel === 'trace/names.ts';
}

function framesPlugin(compiled: (path: string) => boolean): Esbuild.Plugin {
  return {
    name: 'gupcheck-frames',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!compiled(args.path)) return undefined;
        return { contents: compileFrames(args.path, readFileSync(args.path, 'utf8'), FRAMES_RUNTIME), loader: 'js', resolveDir: args.path.replace(/\/[^/]*$/, '') };
      });
    },
  };
}

/**
 * Bundle `entry` with the model compiled to frames into `out` (unless it is fresh). `extra`
 * names further sources to compile (a test's hand-written programs) and further directories
 * whose sources count for freshness.
 */
export async function buildFramesBundle(entry: string, out: string, extra: { compile?: (path: string) => boolean; dirs?: readonly string[] } = {}): Promise<string> {
  if (bundleFresh(out, Math.max(newestSource([SRC], true), newestSource(extra.dirs ?? [], true)))) return out;
  const compiled = (p: string) => isModelSource(p) || (extra.compile?.(p) ?? false);
  await buildBundleAsync('frames', entry, out, { format: 'esm', platform: 'node', target: ['node20'], packages: 'external', plugins: [framesPlugin(compiled)] });
  return out;
}
