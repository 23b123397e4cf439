#!/usr/bin/env node
// `npm run baselines:accept`: promote the trace baselines the last test run wrote
// (test/baselines/local/) to test/baselines/reference/, removing references no longer produced.
// Read `git diff test/baselines/reference/` before committing: that diff is the review.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const local = join(root, 'test/baselines/local');
const reference = join(root, 'test/baselines/reference');
if (!existsSync(local) || readdirSync(local).length === 0) {
  console.error('baselines:accept: test/baselines/local/ is empty: run `npx vitest run test/baselines` first');
  process.exit(2);
}
mkdirSync(reference, { recursive: true });
const names = readdirSync(local);
for (const n of readdirSync(reference)) if (!names.includes(n)) rmSync(join(reference, n));
for (const n of names) cpSync(join(local, n), join(reference, n));
console.log(`baselines:accept: ${names.length} baselines in test/baselines/reference/`);
