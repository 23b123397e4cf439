#!/usr/bin/env node
// Entry point: runs dist/gupcheck.mjs, the command line prebuilt by esbuild, and builds it first
// on a fresh clone or after a source changed (src/build/cli-bundle.mjs), so `npm ci && npx
// gupcheck --help` needs no build step. GUPCHECK_TSX=1 runs the TypeScript sources through tsx
// instead (development: no bundle involved); so does a bundle that cannot be built.
import { cliBundleUrl } from '../src/build/cli-bundle.mjs';

// Output piped into a reader that stops early (`gupcheck list | head`): stop quietly, as other tools do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const bundle = process.env.GUPCHECK_TSX ? undefined : await cliBundleUrl();
let main;
if (bundle !== undefined) ({ main } = await import(bundle));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
