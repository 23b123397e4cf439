/**
 * The contract every scenario-parser input is held to (test/fuzz/scenario-fuzz.spec.ts), the
 * corpus format (test/fixtures/fuzz/README.md) and where failing or slow inputs are saved.
 *
 * parseScenario(file, src) must end in exactly one of:
 *   - a ParsedScenario whose scenario the schema accepts, that survives a JSON round trip
 *     unchanged, and whose size is bounded by the input's (no alias expansion blow-up);
 *   - a ScenarioError with integer line >= 1 and col >= 1 inside the file, and a non-empty `what`
 *     and `hint`;
 * never another exception, within TIME_LIMIT_MS and without growing the heap by more than
 * HEAP_LIMIT_BYTES.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParsedScenario, parseScenario, ScenarioError } from '../../src/scenarios/parse.ts';
import { Scenario } from '../../src/scenarios/schema.ts';

/**
 * A hang detector, not a speed target: a parse this slow is pathological (the fixed bugs took
 * 13 s), while a normal input takes under 100 ms even on a loaded 2-core VM, where 1 s flaked.
 */
export const TIME_LIMIT_MS = Number(process.env.GUPCHECK_FUZZ_TIME_LIMIT_MS ?? 5000);
/** Inputs slower than this are saved for a look (not failed). */
export const SLOW_MS = Number(process.env.GUPCHECK_FUZZ_SLOW_MS ?? 250);
export const HEAP_LIMIT_BYTES = 256 * 1024 * 1024;

export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/fuzz/', import.meta.url));
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));
/** Failing and slow inputs found by a run are written here (git-ignored). */
export const SAVE_DIR = process.env.GUPCHECK_FUZZ_SAVE ?? fileURLToPath(new URL('../artifacts/fuzz/', import.meta.url));

export class ContractViolation extends Error {}

export interface Verdict {
  readonly kind: 'ok' | 'error';
  readonly ms: number;
  readonly parsed?: ParsedScenario;
  readonly error?: ScenarioError;
}

function lineCount(src: string): number {
  let n = 1;
  for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) n++;
  return n;
}

/** Length of the longest line (UTF-16 units), for the column bound. */
function longestLine(src: string): number {
  let best = 0;
  let start = 0;
  for (;;) {
    const i = src.indexOf('\n', start);
    const end = i < 0 ? src.length : i;
    if (end - start > best) best = end - start;
    if (i < 0) return best;
    start = i + 1;
  }
}

/** Run one input through the parser and check the contract; throws ContractViolation. */
export function checkInput(src: string, file = 'fuzz.yaml'): Verdict {
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let parsed: ParsedScenario | undefined;
  let thrown: unknown;
  let threw = false;
  try {
    parsed = parseScenario(file, src);
  } catch (e) {
    thrown = e;
    threw = true;
  }
  const ms = performance.now() - t0;
  const heap = process.memoryUsage().heapUsed - h0;
  if (ms > TIME_LIMIT_MS) throw new ContractViolation(`took ${ms.toFixed(0)} ms (limit ${TIME_LIMIT_MS} ms)`);
  if (heap > HEAP_LIMIT_BYTES) throw new ContractViolation(`heap grew by ${(heap / 2 ** 20).toFixed(0)} MB while parsing`);
  if (threw) {
    if (!(thrown instanceof ScenarioError)) {
      const e = thrown instanceof Error ? thrown : new Error(String(thrown));
      throw new ContractViolation(`threw ${e.constructor.name}, not ScenarioError: ${e.message}\n${e.stack ?? ''}`);
    }
    const e = thrown;
    const where = `${e.line}:${e.col}`;
    if (!Number.isInteger(e.line) || e.line < 1) throw new ContractViolation(`bad line in ${where}: ${e.what}`);
    if (!Number.isInteger(e.col) || e.col < 1) throw new ContractViolation(`bad col in ${where}: ${e.what}`);
    if (e.line > lineCount(src)) throw new ContractViolation(`line ${e.line} is past the end (${lineCount(src)} lines): ${e.what}`);
    if (e.col > longestLine(src) + 1) throw new ContractViolation(`col ${e.col} is past every line's end: ${e.what}`);
    if (typeof e.what !== 'string' || e.what.trim() === '') throw new ContractViolation(`empty what at ${where}`);
    if (typeof e.hint !== 'string' || e.hint.trim() === '') throw new ContractViolation(`empty hint at ${where}: ${e.what}`);
    if (e.file !== file || e.message !== `${file}:${e.line}:${e.col}: ${e.what}`) throw new ContractViolation(`message format: ${e.message}`);
    if (!e.code) throw new ContractViolation('no error code');
    return { kind: 'error', ms, error: e };
  }
  const p = parsed!;
  if (p.file !== file || p.source !== src) throw new ContractViolation('ParsedScenario does not carry its file and source');
  if (!Scenario.safeParse(p.scenario).success) throw new ContractViolation('the parsed scenario does not satisfy the schema');
  const json = JSON.stringify(p.scenario);
  if (json.length > 16 * src.length + 4096) throw new ContractViolation(`a ${src.length}-char file became a ${json.length}-char scenario (alias expansion?)`);
  let again: ParsedScenario;
  try {
    again = parseScenario('roundtrip.json', json);
  } catch (e) {
    throw new ContractViolation(`the parsed scenario, written as JSON, does not parse again: ${(e as Error).message}`);
  }
  // Compared as JSON: -0 (a valid page number, as YAML `-0`) is written as 0.
  if (JSON.stringify(again.scenario) !== json) throw new ContractViolation('the parsed scenario changes in a JSON round trip');
  return { kind: 'ok', ms, parsed: p };
}

/** Write an input to SAVE_DIR; returns the path. */
export function saveInput(kind: string, src: string, why: string): string {
  mkdirSync(SAVE_DIR, { recursive: true });
  const h = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const path = join(SAVE_DIR, `${kind}-${h}.jsonstr`);
  writeFileSync(path, JSON.stringify(src) + '\n');
  writeFileSync(path + '.why', why + '\n');
  return path;
}

// ===== corpus =====

export interface CorpusEntry {
  readonly name: string;
  readonly src: string;
}

/**
 * Corpus files (README.md there):
 *   *.yaml, *.yml, *.json, *.txt, *.bin  read as UTF-8, as `gupcheck check` reads a file;
 *   *.jsonstr   one JSON string literal: the input exactly (lone surrogates, NULs, ...);
 *   *.gen.json  a recipe {"parts": [[text, times], ...]}: each text repeated, `{n}` in it replaced
 *               by the repetition's index, all concatenated; for inputs too big to keep in git
 *               (the 256 KiB slow cases, thousands of nesting levels).
 */
export function decodeCorpusFile(name: string, raw: Buffer): string {
  if (name.endsWith('.gen.json')) {
    const r = JSON.parse(raw.toString('utf8')) as { parts: [string, number][] };
    return r.parts.map(([s, n]) => (s.includes('{n}') ? Array.from({ length: n }, (_, i) => s.replaceAll('{n}', String(i))).join('') : s.repeat(n))).join('');
  }
  if (name.endsWith('.jsonstr')) return JSON.parse(raw.toString('utf8')) as string;
  return raw.toString('utf8');
}

export function loadCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  return readdirSync(dir)
    .filter((f) => f !== 'README.md' && !f.endsWith('.why'))
    .sort()
    .map((f) => ({ name: f, src: decodeCorpusFile(f, readFileSync(join(dir, f))) }));
}
