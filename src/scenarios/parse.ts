/**
 * Scenario files: YAML (JSON is YAML 1.2) parsed with positions, checked against the schema,
 * then checked for meaning (names that refer to nothing, unknown mutants, setups a process
 * cannot make). Every error says what is wrong, where (file:line:col) and how to fix it.
 *
 * Traps handled (the yaml library's, on Node 20): yaml reports warnings through process.emitWarning unless
 * logLevel is 'error'; an alias without an anchor makes toJS() throw a plain ReferenceError;
 * alias bombs are cut by maxAliasCount; deep nesting is refused before it can overflow the stack.
 *
 * The file's shape is checked first (checkShape): yaml's Parser and Composer recurse once per
 * nesting level, and block nesting (`- - - ...`, `? ? ...`) or brackets behind quotes (`[ "]",`)
 * got past a bracket count: the Composer overflowed the stack at about a thousand levels, the
 * Parser at a few thousand, and 20000 `? ` aborted the process (a V8 fatal error, no exception).
 * The same pass caps the number of YAML tokens: the yaml library takes microseconds per token,
 * checks duplicate keys pairwise and resolves each alias by a scan over every anchor, so a
 * 256 KiB file of tiny tokens took up to 13 s. (test/fuzz found these; test/fixtures/fuzz keeps
 * the inputs.)
 */
import { CST, isPair, isScalar, Lexer, LineCounter, parseDocument, Parser, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { GupcheckError } from '../errors.ts';
import { findMutant, MUTANTS, mutantApplies, mutantChangesNothing, revisionsChangedByMutant } from '../kernel/mutants.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import { OP_NAMES, opDef, producesOutcome } from './ops.ts';
import { basePages, Scenario, type ScenarioT } from './schema.ts';

export const MAX_SCENARIO_BYTES = 256 * 1024;
export const MAX_NESTING = 64;
/** YAML tokens (lexemes) per file: the largest bundled example has about 550. Parse time grows with it (about 10 µs a token when each one is a syntax error). */
export const MAX_YAML_TOKENS = 10_000;
/** Block tokens start at most this many columns right (the old check: indentation / 2 <= MAX_NESTING). */
export const MAX_BLOCK_COLUMN = 2 * MAX_NESTING;

export class ScenarioError extends GupcheckError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly what: string,
    hint: string,
    code = 'GUPCHECK_SCENARIO_INVALID',
  ) {
    super(code, `${file}:${line}:${col}: ${what}`, hint);
  }
}

/** The parsed scenario and where each part of it is, for later errors. */
export interface ParsedScenario {
  readonly file: string;
  readonly source: string;
  readonly scenario: ScenarioT;
  /** Where each expectation is (line, col), for messages about it. */
  readonly expectPositions?: readonly { readonly line: number; readonly col: number }[];
}

export function parseScenario(file: string, src: string): ParsedScenario {
  // UTF-8 bytes, as the message says (a character may take up to 3 bytes per UTF-16 unit).
  const bytes = src.length * 3 > MAX_SCENARIO_BYTES ? Buffer.byteLength(src, 'utf8') : src.length;
  if (bytes > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(file, 1, 1, `file is ${megabytes(bytes)} (${bytes} bytes); scenario files are at most ${megabytes(MAX_SCENARIO_BYTES)} (${MAX_SCENARIO_BYTES} bytes)`, 'split it, or check you named the right file');
  }
  checkShape(file, src);
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(src, { lineCounter: lc, logLevel: 'error', uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    throw new ScenarioError(file, 1, 1, `cannot parse: ${(e as Error).message}`, 'check the YAML syntax');
  }
  const first = doc.errors[0] ?? doc.warnings[0];
  if (first) {
    const pos = first.linePos?.[0] ?? lc.linePos(first.pos[0]);
    throw new ScenarioError(file, pos.line, pos.col, `YAML ${doc.errors.length ? 'syntax error' : 'problem'}: ${firstLine(first.message)}`, yamlHint(first.code));
  }
  keepKernelNamesAsText(doc);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const msg = (e as Error).message;
    // Not every toJS() error is about aliases: YAML 1.1 merge keys (`<<: 1`) fail here too.
    if (!(e instanceof ReferenceError)) throw new ScenarioError(file, 1, 1, `YAML problem: ${msg}`, 'check the YAML syntax (merge keys `<<` take a mapping or an alias of one)');
    throw new ScenarioError(file, 1, 1, `YAML alias problem: ${msg}`, /Excessive alias/.test(msg) ? 'do not expand aliases that many times' : 'define the anchor (&name) before using *name');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError(file, 1, 1, 'a scenario file must be a mapping with name, shows, layout, cpus, expect', 'see docs/scenario-format.md or examples/');
  }
  // reportInput: hintFor() tells a missing key (input undefined) from one of the wrong type.
  const r = Scenario.safeParse(data, { reportInput: true });
  if (!r.success) {
    const issue = unionBranch(r.error.issues[0]!);
    const { line, col } = positionOf(doc, lc, issue.path);
    throw new ScenarioError(file, line, col, `${pathText(issue.path)}: ${describeIssue(issue)}`, hintFor(issue));
  }
  const scenario = r.data;
  checkMeaning(file, doc, lc, scenario);
  return { file, source: src, scenario, expectPositions: scenario.expect.map((_, i) => positionOf(doc, lc, ['expect', i])) };
}

/**
 * YAML reads `6.5` as a number and `6.10` as 6.1. Kernel names are version strings: under a
 * `kernel` or `kernels` key, a number keeps the text it was written as.
 */
function keepKernelNamesAsText(doc: Document): void {
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'number') return;
      for (let i = path.length - 1; i >= 0; i--) {
        const a = path[i];
        if (isPair(a)) {
          const k = isScalar(a.key) ? a.key.value : a.key;
          if (k === 'kernel' || k === 'kernels') node.value = node.source ?? String(node.value);
          return;
        }
      }
    },
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping';
    case 'MULTIPLE_DOCS':
      return 'a scenario file holds one YAML document: remove the extra `---` line, or split the file';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check indentation and the closing bracket or quote';
    default:
      return 'check the YAML syntax near this position';
  }
}

function pathText(path: readonly PropertyKey[]): string {
  if (!path.length) return '(top level)';
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

/** "0.25 MB" (MiB, as the limit is 256 KiB). */
function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MB`;
}

/**
 * A union's issue (`kernel: v7` or `kernel: [v7, 6.5]`, an owner or a list of owners) says only
 * "Invalid input". When one of its branches failed on a value not in a list, that is the issue
 * to report: its valid values, at the deepest path (the bad element of a list).
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || ('discriminator' in issue && issue.discriminator)) return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    for (const x of branch) {
      if (x.code === 'invalid_value' && (!best || x.path.length > best.path.length)) best = x;
    }
  }
  return best ? { ...best, path: [...issue.path, ...best.path] } : issue;
}

/** What a schema type is called in a YAML file. */
const TYPE_WORDS: Readonly<Record<string, string>> = { object: 'a mapping ({ key: value, ... })', array: 'a list ([a, b], or one "- " item a line)', string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false' };

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${typeof issue.input === 'string' || typeof issue.input === 'number' ? ` (got ${JSON.stringify(issue.input)})` : ''}`;
    case 'invalid_type':
      // A CPU's list holds operations: `- madvise_dontneed` instead of `- { op: madvise_dontneed, ... }`.
      if (issue.expected === 'object' && issue.path.length === 3 && issue.path[0] === 'cpus' && typeof issue.path[2] === 'number') {
        return `expected an operation, a mapping such as { op: pin_user_pages_fast, vma: buf } (ops: ${OP_NAMES.join(', ')})`;
      }
      return issue.input === undefined ? `missing (expected ${TYPE_WORDS[issue.expected] ?? issue.expected})` : `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describeInput(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_format':
      // A name that is neither a built-in value nor a module path (kernels:): the message lists both.
      return `${issue.message}${typeof issue.input === 'string' ? ` (got ${JSON.stringify(issue.input)})` : ''}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) return `unknown op (expected one of ${OP_NAMES.join(', ')})`;
      return issue.message;
    default:
      return issue.message;
  }
}

function hintFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'remove it, or check its spelling against docs/scenario-format.md';
    case 'invalid_value':
      return `use one of the listed values`;
    case 'invalid_format':
      return issue.message.startsWith('expected one of') ? 'use one of the listed values' : 'see docs/scenario-format.md';
    case 'too_big':
      return 'use a smaller number (the limits keep exploration finite)';
    case 'too_small':
      return 'use a larger number, or add at least one entry';
    case 'invalid_type':
      return issue.input === undefined ? 'add it: it is required' : `give ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    default:
      return 'see docs/scenario-format.md';
  }
}

function describeInput(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The position of the deepest YAML node that exists along `path`. */
function positionOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  let best: Node | null = doc.contents;
  for (let i = 1; i <= path.length; i++) {
    const n = doc.getIn(path.slice(0, i) as unknown[], true) as Node | undefined;
    if (!n || typeof n !== 'object' || !('range' in n)) break;
    best = n;
  }
  const off = best?.range?.[0] ?? 0;
  return lc.linePos(off);
}

/** Offset to 1-based line and column, without a LineCounter (for errors found before parsing). */
function posAt(src: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  const end = Math.min(Math.max(0, offset), src.length);
  for (let i = src.indexOf('\n'); i >= 0 && i < end; i = src.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: end - start + 1 };
}

/**
 * Before yaml's (recursive) Parser and Composer run, one pass over its Lexer (iterative):
 *   - at most MAX_YAML_TOKENS tokens;
 *   - flow collections (`[`, `{`; the lexer knows quoted scalars and comments) nested at most
 *     MAX_NESTING deep;
 *   - block collections bounded by their column: each nested block collection starts at least one
 *     column further right (a sequence under a mapping key may share its column, hence two levels
 *     per column), so no block token may start right of MAX_BLOCK_COLUMN. The tokens that can open
 *     a nested block collection are the first on a line and the `-` and `?` indicators.
 * Then the CST (now at most a few hundred levels deep) is walked for the exact depth.
 */
function checkShape(file: string, src: string): void {
  let tokens = 0;
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  let lineHasContent = false;
  const refuse = (at: number, what: string, hint: string): never => {
    const { line, col } = posAt(src, at);
    throw new ScenarioError(file, line, col, what, hint);
  };
  let atScalar = false;
  for (const lexeme of new Lexer().lex(src)) {
    if (++tokens > MAX_YAML_TOKENS) refuse(offset, `more than ${MAX_YAML_TOKENS} YAML tokens; scenario files are small`, 'check you named the right file, or split it into several scenarios');
    // After the scalar marker comes the scalar's text, whatever its first character (as in Parser.next()).
    const type: string | null = atScalar ? 'scalar-text' : CST.tokenType(lexeme);
    atScalar = type === 'scalar';
    // Markers the lexer adds (document, scalar, flow-error-end) take no room in the source.
    if (type === 'doc-mode' || type === 'scalar') continue;
    if (type === 'flow-error-end') {
      flow = 0;
      continue;
    }
    const at = offset;
    offset += lexeme.length;
    if (type === 'newline') {
      lineStart = offset;
      lineHasContent = false;
      continue;
    }
    if (type === 'space' || type === 'comment' || type === 'byte-order-mark') continue;
    if (type === 'flow-seq-start' || type === 'flow-map-start') {
      if (++flow > MAX_NESTING) refuse(at, `nesting deeper than ${MAX_NESTING} levels`, 'scenario files are flat: layout, cpus, expect');
    } else if (type === 'flow-seq-end' || type === 'flow-map-end') {
      if (flow > 0) flow--;
    }
    const compact = type === 'seq-item-ind' || type === 'explicit-key-ind';
    if (flow === 0 && (compact || !lineHasContent) && at - lineStart > MAX_BLOCK_COLUMN) {
      // `- - - x` on one line is nesting; a line that starts far right is indentation.
      if (lineHasContent) refuse(at, `nesting deeper than ${MAX_NESTING} levels`, 'scenario files are flat: layout, cpus, expect');
      refuse(at, `indented ${at - lineStart} columns; scenario files nest at most ${MAX_NESTING} levels`, 'scenario files are flat: layout, cpus, expect; check the indentation');
    }
    lineHasContent = true;
    // Multi-line scalars: the next line starts after their last line break.
    const nl = lexeme.lastIndexOf('\n');
    if (nl >= 0) lineStart = at + nl + 1;
  }
  const stack: [CST.Token, number][] = [];
  for (const t of new Parser().parse(src)) stack.push([t, 0]);
  stack.reverse();
  while (stack.length) {
    const [t, depth] = stack.pop()!;
    if (t.type === 'document') {
      if (t.value) stack.push([t.value, depth]);
    } else if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
      if (depth + 1 > MAX_NESTING) refuse(t.offset, `nesting deeper than ${MAX_NESTING} levels`, 'scenario files are flat: layout, cpus, expect');
      // Reversed, so the walk meets the nodes in document order and reports the first deep one.
      for (let i = t.items.length - 1; i >= 0; i--) {
        const it = t.items[i]!;
        if (it.value) stack.push([it.value, depth + 1]);
        if (it.key) stack.push([it.key, depth + 1]);
      }
    }
  }
}

function fail(file: string, doc: Document, lc: LineCounter, path: PropertyKey[], what: string, hint: string): never {
  const { line, col } = positionOf(doc, lc, path);
  throw new ScenarioError(file, line, col, `${pathText(path)}: ${what}`, hint);
}

/**
 * The values an operation records as its outcome, from its documented list (ops.ts `outcomes`,
 * which docs/scenario-format.md shows): the `quoted` ones, and any errno name where the list says
 * so. Undefined where the list is open (reuse's values are built from what it allocates).
 */
function outcomeValues(op: (typeof OP_NAMES)[number]): { values: string[]; errno: boolean } | undefined {
  const text = opDef(op).outcomes;
  if (text === undefined) return undefined;
  const errno = /errno name/.test(text);
  if (!errno && text.includes('...')) return undefined;
  return { values: [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((x) => !(errno && /^E[A-Z0-9]+$/.test(x))), errno };
}

/** Checks beyond the schema: references, mutants, setups a process cannot make. */
function checkMeaning(file: string, doc: Document, lc: LineCounter, s: ScenarioT): void {
  const vmas = new Map<string, number>();
  s.layout.forEach((v, i) => {
    if (vmas.has(v.name)) fail(file, doc, lc, ['layout', i, 'name'], `VMA name '${v.name}' is used twice`, 'give each VMA its own name');
    vmas.set(v.name, i);
    if (v.touch === 'write' && v.prot === 'r') fail(file, doc, lc, ['layout', i, 'touch'], 'a write touch on a PROT_READ mapping would SIGSEGV', "use touch: read, or prot: rw");
    if (v.backing === 'secretmem' && v.map !== 'shared') fail(file, doc, lc, ['layout', i, 'map'], 'memfd_secret() memory can only be mapped MAP_SHARED', 'use map: shared');
    if (v.backing === 'driver' && v.map !== 'shared') fail(file, doc, lc, ['layout', i, 'map'], 'the driver mapping is MAP_SHARED only', 'use map: shared');
    if (v.thp && v.backing !== 'anon') fail(file, doc, lc, ['layout', i, 'thp'], 'thp: is for anonymous memory only', 'use backing: anon, or drop thp');
    if (v.thp && v.map !== 'private') fail(file, doc, lc, ['layout', i, 'thp'], 'anonymous THPs here are MAP_PRIVATE', 'use map: private');
    if (v.swapcache && (v.backing !== 'anon' || v.map !== 'private' || v.touch !== 'write')) {
      fail(file, doc, lc, ['layout', i, 'swapcache'], 'only touched (written) private anonymous pages can be put in the swap cache', 'use backing: anon, map: private, touch: write');
    }
    if (v.file !== undefined) {
      const o = s.layout.findIndex((x) => x.name === v.file);
      if (o < 0 || o >= i) fail(file, doc, lc, ['layout', i, 'file'], `'${v.file}' is not an earlier VMA`, 'name a VMA listed above this one');
      if (s.layout[o]!.backing !== v.backing) fail(file, doc, lc, ['layout', i, 'backing'], `must match the backing of '${v.file}'`, `use backing: ${s.layout[o]!.backing}`);
    }
  });
  for (const [cpu, ops] of Object.entries(s.cpus)) {
    ops.forEach((op, j) => {
      if ('vma' in op && op.vma !== undefined) {
        const vi = vmas.get(op.vma);
        if (vi === undefined) fail(file, doc, lc, ['cpus', cpu, j, 'vma'], `no VMA named '${op.vma}' in the layout`, `use one of: ${[...vmas.keys()].join(', ')}`);
        const v = s.layout[vi]!;
        const page = 'page' in op ? op.page : 0;
        const n = 'pages' in op ? op.pages : 1;
        const bp = basePages(v);
        if (page + n > bp) fail(file, doc, lc, ['cpus', cpu, j], `pages ${page}..${page + n - 1} are beyond '${v.name}' (${bp} page${bp > 1 ? 's' : ''} of 4 KB)`, 'use a smaller page/pages, or a larger VMA');
      }
      const vmaSpec = 'vma' in op && op.vma !== undefined ? s.layout[vmas.get(op.vma)!] : undefined;
      const problem = opDef(op.op).check?.(op, vmaSpec);
      if (problem) fail(file, doc, lc, ['cpus', cpu, j, ...(problem.at ?? [])], problem.what, problem.hint);
    });
  }
  const cpus = new Set(Object.keys(s.cpus));
  const known = new Set(MUTANTS.map((m) => m.name));
  s.mutants.forEach((m, i) => {
    if (!known.has(m.mutant)) fail(file, doc, lc, ['mutants', i, 'mutant'], `unknown mutant '${m.mutant}'`, `use one of: ${[...known].join(', ')} (gupcheck list)`);
    // A mutant run on a kernel the mutant does not change would check the unmutated kernel.
    const mutant = findMutant(m.mutant)!;
    const kernels = m.kernel === undefined ? s.kernels : Array.isArray(m.kernel) ? m.kernel : [m.kernel];
    const unchanged = kernels.filter((k) => !mutantApplies(mutant, findRevision(k)!));
    if (unchanged.length) {
      const e = mutantChangesNothing(mutant, unchanged);
      fail(file, doc, lc, ['mutants', i, m.kernel === undefined ? 'mutant' : 'kernel'], e.what, m.kernel === undefined ? `give the entry a kernel: it changes ${revisionsChangedByMutant(mutant).join(', ')}` : e.hint);
    }
  });
  s.expect.forEach((e, i) => {
    if (e.mutant !== undefined && e.mutant !== '*' && !known.has(e.mutant)) {
      fail(file, doc, lc, ['expect', i, 'mutant'], `unknown mutant '${e.mutant}'`, `use one of: ${[...known].join(', ')}`);
    }
    // judge() reads the outcome's entry: an empty one (`outcome: {}`) passed the schema and crashed the run.
    if (e.outcome !== undefined && Object.keys(e.outcome).length === 0) {
      fail(file, doc, lc, ['expect', i, 'outcome'], 'an outcome expectation names no CPU', 'write it as outcome: { CPU0: <value> }');
    }
    for (const [k, v] of Object.entries(e.outcome ?? {})) {
      // The keys outcomes are recorded under (scenarios/build.ts outcomeKeys()): the CPU's name
      // when it has one outcome-producing operation, `CPU0.<index>` for each when it has more.
      const cpu = k.replace(/\.\d+$/, '');
      if (!cpus.has(cpu)) fail(file, doc, lc, ['expect', i, 'outcome', k], `no CPU named '${cpu}'`, `use one of: ${[...cpus].join(', ')}`);
      const producers = s.cpus[cpu]!.map((op, j) => [op.op, j] as const).filter(([op]) => producesOutcome(op));
      const keys = producers.length === 1 ? [cpu] : producers.map(([, j]) => `${cpu}.${j}`);
      if (!keys.includes(k)) {
        fail(
          file,
          doc,
          lc,
          ['expect', i, 'outcome', k],
          producers.length === 0
            ? `${cpu} records no outcome: none of its operations does`
            : `${cpu} records ${producers.length === 1 ? 'its outcome' : `${producers.length} outcomes (${producers.map(([op, j]) => `${op} as ${cpu}.${j}`).join(', ')})`} under ${keys.join(', ')}, not '${k}'`,
          producers.length === 0 ? 'expect an outcome of a CPU with an operation that records one (docs/scenario-format.md, Outcomes)' : `write it as outcome: { ${keys[0]}: <value> }`,
        );
        continue;
      }
      // A value no operation of that CPU records would make `never` hold for nothing.
      const op = producers.length === 1 ? producers[0]![0] : producers.find(([, j]) => `${cpu}.${j}` === k)![0];
      const valid = outcomeValues(op);
      if (valid && !valid.values.includes(v) && !(valid.errno && /^E[A-Z0-9]+$/.test(v))) {
        fail(file, doc, lc, ['expect', i, 'outcome', k], `${op} never records '${v}' (it records ${valid.values.join(', ')}${valid.errno ? ', or an errno name such as EFAULT' : ''})`, 'use one of the values it records (docs/scenario-format.md, Outcomes)');
      }
    }
  });
}
