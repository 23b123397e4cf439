#!/usr/bin/env node
// `npm run build`: bundle what gupcheck otherwise bundles on demand, ahead of time, and fail
// loudly if a bundle cannot be built: the command line itself (dist/gupcheck.mjs, what
// bin/gupcheck.mjs runs; src/build/cli-bundle.mjs), the report's viewer (src/viewer/dist/viewer.js) and the
// exploration workers' code (src/run/worker.bundle.mjs), and the stateful search's workers, with the
// model compiled to frames (src/run/worker.frames.bundle.mjs). All are gitignored and rebuilt when a
// source is newer, so running this is never required, only faster on first use.
import { register } from 'tsx/esm/api';

register();
const { buildViewer } = await import('../src/report/viewer-bundle.ts');
const { buildWorkerBundle, framesWorkerEntry } = await import('../src/run/worker-bundle.ts');
const { fileURLToPath } = await import('node:url');
const { statSync } = await import('node:fs');
const { buildCliBundle } = await import('../src/build/cli-bundle.mjs');
const steps = [
  ['command line', () => buildCliBundle()],
  ['viewer', () => buildViewer().path],
  ['worker', () => buildWorkerBundle()],
  ['stateful worker (model compiled to frames)', async () => fileURLToPath(await framesWorkerEntry())],
];
for (const [what, build] of steps) {
  try {
    const path = await build();
    console.log(`build: ${what}: ${path} (${(statSync(path).size / 1024).toFixed(1)} KiB)`);
  } catch (e) {
    console.error(`build: ${what}: error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}
