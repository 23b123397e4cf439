// Worker-thread entry for `--workers N` (src/run/pool.ts) when the esbuild bundle cannot be used
// (src/run/worker-bundle.ts). Node 20 does not pass the tsx loader
// on to worker threads (nodejs/node#47747), so this plain .mjs loads the TypeScript through
// tsx's API.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker.ts', import.meta.url);
