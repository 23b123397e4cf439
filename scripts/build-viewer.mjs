#!/usr/bin/env node
// Bundle the HTML report's viewer (src/viewer/main.ts -> src/viewer/dist/viewer.js, gitignored).
// Reports build it on demand too (src/report/viewer-bundle.ts); this builds it ahead of time and
// fails loudly if it cannot (part of `npm test`'s pretest).
import { register } from 'tsx/esm/api';

register();
const { buildViewer } = await import('../src/report/viewer-bundle.ts');
try {
  const { path, bytes } = buildViewer();
  console.log(`build-viewer: ${path} (${(bytes / 1024).toFixed(1)} KiB)`);
} catch (e) {
  console.error(`build-viewer: error: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
