/**
 * The code the exploration workers run (src/run/pool.ts). Loading the TypeScript sources through
 * tsx in every worker costs each one a loader thread and a transform of every module: measured on
 * scaled-reuse with 2 workers (5,000 executions per run), 5.1 s and 266 MB peak RSS, against 4.3 s
 * and 200 MB with src/run/worker.ts bundled by esbuild into one ES module. The bundle
 * (src/run/worker.bundle.mjs, not committed) sits next to worker.ts so that the paths the sources
 * resolve from import.meta.url (load.ts: ../../examples/) stay the same. It is rebuilt whenever
 * a source under src/ is newer; npm packages stay external (resolved from node_modules).
 *
 * Without esbuild (a devDependency), or if the build fails, or with GUPCHECK_WORKER_TSX=1, the
 * workers load the sources through tsx (worker.mjs): slower to start, same results.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBundle, bundleFresh, newestSource } from '../build/esbuild.ts';
import { buildFramesBundle } from '../build/frames-bundle.ts';

const SRC_DIR = fileURLToPath(new URL('../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
export const WORKER_BUNDLE = fileURLToPath(new URL('./worker.bundle.mjs', import.meta.url));
/** The workers of the stateful search: the same worker with the model compiled to frames (build/frames.ts). */
export const FRAMES_WORKER_BUNDLE = fileURLToPath(new URL('./worker.frames.bundle.mjs', import.meta.url));
const TSX_ENTRY = new URL('./worker.mjs', import.meta.url);

/** Bundle worker.ts now. Throws if esbuild is missing or the build fails. */
export function buildWorkerBundle(): string {
  buildBundle('worker', ENTRY, WORKER_BUNDLE, { format: 'esm', platform: 'node', target: ['node20'], packages: 'external' });
  return WORKER_BUNDLE;
}

/** The module a worker thread starts: the fresh bundle (built now if needed), else the tsx loader. */
export function workerEntry(): URL {
  if (process.env.GUPCHECK_WORKER_TSX) return TSX_ENTRY;
  if (bundleFresh(WORKER_BUNDLE, newestSource([SRC_DIR], true))) return pathToFileURL(WORKER_BUNDLE);
  try {
    return pathToFileURL(buildWorkerBundle());
  } catch {
    return TSX_ENTRY;
  }
}

/**
 * The module a stateful-search worker starts: worker.ts bundled with the model compiled to frames
 * (built now if a source is newer; a few seconds the first time). There is no tsx fallback: the
 * native model cannot save and restore a thread.
 */
export async function framesWorkerEntry(): Promise<URL> {
  return pathToFileURL(await buildFramesBundle(ENTRY, FRAMES_WORKER_BUNDLE));
}
