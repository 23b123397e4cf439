/**
 * The commands the docs show are real. This test reads README.md, docs/*.md and
 * examples/README.md, and for each document:
 *
 * - Every ```yaml block whose first line is `# file: NAME` is written to a scratch directory.
 *   That directory also has an `examples` link to the bundled examples, and the commands run in
 *   it, so `gupcheck-out/`, reports and schema files land there.
 * - Every line of a ```sh block that starts with `gupcheck` (or `npx gupcheck`) runs through the
 *   CLI's main(), in-process. It must exit with the code its `# exit N` comment gives, or 0 if it
 *   has none. A `> FILE` redirection is dropped, since the output is captured anyway.
 * - A ```text block whose nearest fenced block before it is such a ```sh block shows that
 *   block's output. Each of its lines must appear in a line of the commands' stdout or stderr.
 *   Runs of whitespace count as one space, every number matches every other number, and `...`
 *   stands for anything.
 *
 * Placeholders become real values. `gc1:...` is a token made by running example 09. `FILE` is
 * example 07, the one README's mutant command is about. SKIPPED lists the commands too slow for
 * a test run, each with its reason; for those, `gupcheck <command> --help` must still work.
 *
 * The error codes must agree as well. Every GUPCHECK_* code the docs mention must exist in src/,
 * and docs/cli.md must list every code src/ can print.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main.ts';
import { ROOT } from '../cli/helpers.ts';

/** Commands not run here, and why. Their `--help` is run instead. */
const SKIPPED: readonly { readonly match: (argv: readonly string[]) => boolean; readonly why: string }[] = [
  {
    match: (a) => a[0] === 'check' && a.some((x) => x === 'examples/' || x === 'examples'),
    why: 'every example on every revision (83 runs): `npm start` runs exactly this, and test/scenarios checks the verdicts',
  },
  {
    match: (a) => a[0] === 'check' && a.some((x) => x.includes('10-fast-pin-vs-thp-split')) && !a.includes('--arch'),
    why: "example 10's three arm64 runs explore thousands of executions each (about 20 s here); the --arch x86 command next to it runs",
  },
  { match: (a) => a[0] === 'selftest', why: 'every mutant against every example: test/check/selftest.spec.ts covers it' },
  { match: (a) => a[0] === 'bench', why: 'benchmarks take minutes by design' },
  {
    match: (a) => a[0] === 'oracle',
    why: 'boots real kernels under QEMU (a minute for the stock ones, tens of minutes to build a gup_test kernel): test/oracle/oracle.spec.ts runs the stock 6.1 and 6.12 kernels',
  },
  {
    match: (a) => a.includes('my-patch') || a.includes('my-null-mapping.yaml'),
    why: "docs/revisions.md's walk-through needs the revision the reader adds",
  },
];

const PLACEHOLDER_FILE = 'examples/07-fast-pin-vs-truncate.yaml';

interface Block {
  readonly lang: string;
  readonly lines: readonly string[];
  /** 1-based line of the opening fence. */
  readonly at: number;
}

function fencedBlocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) body.push(lines[j++]!);
    out.push({ lang: open[1]!, lines: body, at: i + 1 });
    i = j;
  }
  return out;
}

interface DocCommand {
  readonly line: string;
  readonly argv: string[];
  readonly exit: number;
}

/** The gupcheck command on a ```sh line, or null for other lines (npm, comments, ...). */
function parseCommand(line: string): DocCommand | null {
  const m = /^(?:npx\s+)?gupcheck(?:\s|$)/.exec(line.trim());
  if (!m) return null;
  const hash = line.search(/\s#/);
  const code = hash >= 0 ? line.slice(hash) : '';
  const words = (hash >= 0 ? line.slice(0, hash) : line).trim().slice(m[0].length).trim();
  const argv: string[] = [];
  for (const w of words.match(/'[^']*'|"[^"]*"|\S+/g) ?? []) argv.push(w.replace(/^(['"])(.*)\1$/, '$2'));
  const redirect = argv.indexOf('>');
  if (redirect >= 0) argv.splice(redirect);
  const exit = /#\s*exit\s+(\d+)/.exec(code);
  return { line: line.trim(), argv, exit: exit ? Number(exit[1]) : 0 };
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
const norm = (s: string) => s.replace(ANSI, '').replace(/\r/g, '').replace(/[0-9]+/g, '#').replace(/\s+/g, ' ').trim();

/** Does the shown line appear in one of the output lines? */
function shown(docLine: string, outLines: readonly string[]): boolean {
  const parts = docLine.split('...').map(norm).filter(Boolean);
  return outLines.some((l) => {
    let from = 0;
    for (const p of parts) {
      const at = l.indexOf(p, from);
      if (at < 0) return false;
      from = at + p.length;
    }
    return true;
  });
}

interface Ran {
  readonly code: number;
  readonly out: string;
}

/** main() in-process, in `cwd`, with stdout and stderr captured. */
async function run(argv: readonly string[], cwd: string): Promise<Ran> {
  const chunks: string[] = [];
  const capture = (s: string | Uint8Array) => {
    chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString('utf8'));
    return true;
  };
  const { stdout, stderr } = process;
  const w = { out: stdout.write.bind(stdout), err: stderr.write.bind(stderr) };
  const here = process.cwd();
  stdout.write = capture;
  stderr.write = capture;
  process.chdir(cwd);
  try {
    const code = await main([...argv]);
    return { code, out: chunks.join('') };
  } finally {
    stdout.write = w.out;
    stderr.write = w.err;
    process.chdir(here);
    process.exitCode = undefined;
  }
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'examples/README.md'];

let token = '';
const scratch = mkdtempSync(join(tmpdir(), 'gupcheck-docs-'));

beforeAll(async () => {
  const dir = join(scratch, 'token');
  mkdirSync(dir);
  symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
  const r = await run(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7', '--arch', 'arm64', '--json'], dir);
  const j = JSON.parse(r.out) as { results: { findings: { replay: string }[] }[] };
  token = j.results[0]!.findings[0]!.replay;
});

afterAll(() => {
  process.exitCode = undefined;
});

describe.each(DOCS)('the commands in %s', (doc) => {
  const blocks = fencedBlocks(readFileSync(join(ROOT, doc), 'utf8'));
  const shBlocks = blocks.filter((b) => b.lang === 'sh' && b.lines.some((l) => parseCommand(l)));

  it('are found (a document without gupcheck commands needs no entry here)', () => {
    expect(shBlocks.length).toBeGreaterThan(0);
  });

  it.each(shBlocks.map((b) => [b.at, b] as const))('sh block at line %i exits as documented and prints what is shown', async (_at, block) => {
    const cwd = join(scratch, doc.replace(/[^A-Za-z0-9.-]/g, '_'));
    mkdirSync(cwd, { recursive: true });
    try {
      symlinkSync(join(ROOT, 'examples'), join(cwd, 'examples'));
    } catch {
      // made by an earlier block of the same document
    }
    for (const b of blocks) {
      const name = b.lang === 'yaml' ? /^#\s*file:\s*(\S+)\s*$/.exec(b.lines[0] ?? '')?.[1] : undefined;
      if (name) writeFileSync(join(cwd, name), b.lines.join('\n') + '\n');
    }
    const outputs: string[] = [];
    let ran = 0;
    for (const l of block.lines) {
      const c = parseCommand(l);
      if (!c) continue;
      const argv = c.argv.map((a) => (a === 'gc1:...' ? token : a === 'FILE' ? PLACEHOLDER_FILE : a));
      const skip = SKIPPED.find((s) => s.match(argv));
      if (skip) {
        const help = await run([argv[0]!, '--help'], cwd);
        expect(help.code, `${argv[0]} --help (${c.line} is skipped: ${skip.why})`).toBe(0);
        continue;
      }
      const r = await run(argv, cwd);
      expect(r.code, `${doc}:${block.at}: ${c.line}\n${r.out}`).toBe(c.exit);
      outputs.push(r.out);
      ran++;
    }
    const i = blocks.indexOf(block);
    const next = blocks[i + 1];
    if (ran === 0 || next?.lang !== 'text') return;
    const outLines = outputs.join('\n').split('\n').map(norm);
    for (const l of next.lines.filter((x) => x.trim())) {
      expect(shown(l, outLines), `${doc}:${next.at}: this line is not in the output of the commands above it:\n${l}\n--- output ---\n${outputs.join('\n')}`).toBe(true);
    }
  });
});

describe('error codes', () => {
  const srcFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? srcFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const src = srcFiles(join(ROOT, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const CODE = /GUPCHECK_[A-Z][A-Z_]*[A-Z]/g;
  const NOT_CODES = new Set(['GUPCHECK_DEBUG', 'GUPCHECK_LIMIT']);
  const limits = [...src.matchAll(/new LimitError\(\s*'([a-z]+)'/g)].map((m) => `GUPCHECK_LIMIT_${m[1]!.toUpperCase()}`);
  const srcCodes = new Set([...(src.match(CODE) ?? []).filter((c) => !NOT_CODES.has(c)), ...limits]);
  const docText = (f: string) => readFileSync(join(ROOT, f), 'utf8');

  it('src/ has codes to compare (GUPCHECK_LIMIT_* from its LimitErrors)', () => {
    expect(srcCodes.has('GUPCHECK_SCENARIO_INVALID')).toBe(true);
    expect(srcCodes.has('GUPCHECK_LIMIT_STEPS')).toBe(true);
  });

  it.each(DOCS)('every code %s mentions exists in src/', (doc) => {
    const unknown = (docText(doc).match(CODE) ?? []).filter((c) => !NOT_CODES.has(c) && !srcCodes.has(c));
    expect(unknown).toEqual([]);
  });

  it('docs/cli.md lists every code src/ can print', () => {
    const cli = new Set(docText('docs/cli.md').match(CODE) ?? []);
    expect([...srcCodes].filter((c) => !cli.has(c)).sort()).toEqual([]);
  });

  it('docs/cli.md has a section for every command', async () => {
    const headings = docText('docs/cli.md')
      .split('\n')
      .filter((l) => l.startsWith('## '))
      .map((l) => l.slice(3).split(' ')[0]);
    const commands = (await buildProgram()).commands.map((c) => c.name());
    expect(commands.filter((c) => !headings.includes(c))).toEqual([]);
  });
});
