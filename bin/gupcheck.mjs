#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader, so a fresh clone
// needs no build step (`npm ci && npx gupcheck --help`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
