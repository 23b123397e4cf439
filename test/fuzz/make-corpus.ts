/**
 * Writes test/fixtures/fuzz/: the inputs that crashed or were slow before the parser fixes, and a
 * fixed-seed sample of every generator class. Run it after adding a generator class:
 *
 *   npx tsx test/fuzz/make-corpus.ts
 *
 * It rewrites only the files it owns (found-*, sample-*); anything else in the directory (inputs
 * moved there from test/artifacts/fuzz/) stays.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { MAX_SCENARIO_BYTES } from '../../src/scenarios/parse.ts';
import { CLASSES, EXAMPLES } from './generators.ts';
import { CORPUS_DIR } from './harness.ts';

type Recipe = { parts: [string, number][] };

/** Inputs that crashed, hung or were mis-reported by the parser before the fixes (see the README). */
const FOUND: Record<string, string | Recipe> = {
  // Composer stack overflow, reported as "YAML syntax error: Maximum call stack size exceeded".
  'found-block-nesting-1000.gen.json': { parts: [['x:\n', 1], ['- ', 1000], ['a\n', 1]] },
  // The process aborted: V8 "FATAL ERROR: RegExpCompiler Allocation failed - process out of memory".
  'found-qmark-nesting-20000.gen.json': { parts: [['? ', 20000], ['a\n', 1]] },
  // Got past the first fix (a CST walk): yaml's Parser itself overflowed the stack (RangeError).
  'found-block-nesting-under-key-3770.gen.json': { parts: [['name: \n  ', 1], ['- ', 3770], ['x\n', 1]] },
  // A bracket count is fooled by the quoted "]": the nesting check never fired.
  'found-quoted-brackets-nesting-1000.gen.json': { parts: [['name: ', 1], ['[ "]", ', 1000], [']', 1000]] },
  // 256 KiB of tiny tokens: 12.8 s (duplicate-key check is pairwise), 9.5 s, 3.2 s and 5.3 s
  // (each alias scans every anchor), 1.5 s (an Error object per token), 3.6 s, 0.9 s, 0.6 s.
  'found-slow-many-keys-block.gen.json': { parts: [['k{n}: 1\n', 32000]] },
  'found-slow-many-keys-flow.gen.json': { parts: [['{', 1], ['k{n}: 1, ', 26000], ['}', 1]] },
  'found-slow-anchors-aliases-seq.gen.json': { parts: [['- &a{n} x\n- *a{n}\n', 14000]] },
  'found-slow-anchors-aliases-map.gen.json': { parts: [['k{n}: &a{n} x\nj{n}: *a{n}\n', 9000]] },
  'found-slow-quotes.gen.json': { parts: [['"', MAX_SCENARIO_BYTES - 100]] },
  'found-slow-merge-keys-yaml11.gen.json': { parts: [['%YAML 1.1\n---\n', 1], ['k{n}: {<<: {a: 1}}\n', 14000]] },
  'found-slow-flow-seq-items.gen.json': { parts: [['[', 1], ['a,', 131000], [']', 1]] },
  'found-slow-newlines.gen.json': { parts: [['\n', MAX_SCENARIO_BYTES - 100]] },
  'found-slow-near-limit-quotes.gen.json': { parts: [['{', 1], ['"', 36864]] },
  // Parsed, then the run crashed in judge(): an outcome expectation with no entry.
  'found-empty-outcome.yaml': EXAMPLES[1]!.src.replace('outcome: { CPU0: pinned }', 'outcome: {}'),
  'found-proto-outcome.yaml': EXAMPLES[1]!.src.replace('outcome: { CPU0: pinned }', 'outcome: { __proto__: pinned }'),
  // Hint "add it: it is required" for a key that is there with the wrong type.
  'found-wrong-type-hint.yaml': 'name: [1]\nshows: x\nlayout:\n  - { name: buf, backing: anon }\ncpus:\n  CPU0:\n    - { op: touch, vma: buf }\n',
  // A YAML 1.1 merge-key error was called an alias problem.
  'found-merge-key-error.yaml': '%YAML 1.1\n---\na: &a 1\nb: {<<: *a}\n',
  // 87382 characters but 262146 bytes: the size limit counted characters.
  'found-multibyte-over-limit.gen.json': { parts: [['\u4e2d', Math.floor(MAX_SCENARIO_BYTES / 3) + 1]] },
  // A second document: the hint said only "check the YAML syntax".
  'found-two-documents.yaml': EXAMPLES[0]!.src + '---\n' + EXAMPLES[0]!.src,
};

const PICK = [6, 13, 19];

function extFor(cls: string, src: string): string {
  if (Buffer.from(src, 'utf8').toString('utf8') !== src) return 'jsonstr'; // lone surrogates
  if (Buffer.byteLength(src) > 64 * 1024) return 'jsonstr.big';
  if (cls === 'json' || src.trimStart().startsWith('{"')) return 'json';
  if (cls === 'binary-junk') return 'bin';
  return 'yaml';
}

function main(): void {
  for (const f of readdirSync(CORPUS_DIR)) if (f.startsWith('found-') || f.startsWith('sample-') || f.startsWith('ok-sample-')) rmSync(join(CORPUS_DIR, f));
  for (const [name, v] of Object.entries(FOUND)) writeFileSync(join(CORPUS_DIR, name), typeof v === 'string' ? v : JSON.stringify(v) + '\n');
  CLASSES.forEach((c, i) => {
    // fast-check's first values are its smallest; take some from further on.
    const all = fc.sample(c.arb, { numRuns: 20, seed: 1000 + i });
    const inputs = PICK.map((k) => all[k]!);
    inputs.forEach((inp, j) => {
      const prefix = inp.expect === 'ok' ? 'ok-sample' : 'sample';
      let ext = extFor(c.name, inp.src);
      let body: string = inp.src;
      if (ext === 'jsonstr.big') {
        // Big samples (near the size limit, over it) are kept as a recipe: their first 4 KiB,
        // repeated to about their length, on the same side of the limit.
        ext = 'gen.json';
        const unit = inp.src.slice(0, 4096);
        const over = Buffer.byteLength(inp.src) > MAX_SCENARIO_BYTES;
        const times = (over ? Math.ceil : Math.floor)(inp.src.length / unit.length);
        body = JSON.stringify({ parts: [[unit, times]] }) + '\n';
      } else if (ext === 'jsonstr') body = JSON.stringify(inp.src) + '\n';
      writeFileSync(join(CORPUS_DIR, `${prefix}-${c.name}-${j + 1}.${ext}`), body);
    });
  });
}

main();
