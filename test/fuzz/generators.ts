/**
 * fast-check generators of scenario-parser inputs, one per class of trouble (the classes of
 * issue 6). Each yields the input text; `expect` says what the parser must make of it beyond
 * the common contract (harness.ts): 'any', 'ok' (a valid file), or a RegExp its error must match.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { MUTANTS } from '../../src/kernel/mutants.ts';
import { parseScenario } from '../../src/scenarios/parse.ts';
import {
  ARCH_NAMES,
  BACKING_NAMES,
  FINDING_IDS,
  FOLL_FLAG_NAMES,
  KERNEL_NAMES,
  OWNER_NAMES,
  type ScenarioT,
} from '../../src/scenarios/schema.ts';
import { EXAMPLES_DIR } from './harness.ts';

export interface FuzzInput {
  readonly src: string;
  /** What the parser must make of it beyond the contract. */
  readonly expect: 'any' | 'ok' | RegExp;
}

export const EXAMPLES: readonly { file: string; src: string; scenario: ScenarioT }[] = readdirSync(EXAMPLES_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => {
    const src = readFileSync(join(EXAMPLES_DIR, f), 'utf8');
    return { file: f, src, scenario: parseScenario(f, src).scenario };
  });

const MAX = 256 * 1024;
const any = (src: string): FuzzInput => ({ src, expect: 'any' });

// ===== vocabulary =====

const KEYS = [
  'name', 'shows', 'kernels', 'arches', 'mutants', 'table-free', 'preemption-bound', 'strict', 'layout', 'files', 'cpus', 'expect',
  'backing', 'map', 'prot', 'pages', 'touch', 'thp', 'swapcache', 'zone', 'file', 'fs', 'op', 'vma', 'page', 'flags', 'unpin',
  'dirty', 'how', 'free_inode', 'owner', 'times', 'kernel', 'arch', 'mutant', 'finding', 'outcome', 'is', 'why', 'CPU0', 'CPU1', 'CPU9',
];
const OPS = [
  'pin_user_pages_fast', 'pin_user_pages', 'get_user_pages_fast', 'io_uring_register', 'unpin', 'munmap', 'madvise_dontneed', 'swap_out',
  'split_folio', 'writeback', 'fork', 'ksm_merge', 'touch', 'mprotect', 'truncate', 'reuse', 'device_write', 'close', 'unlink',
];
const ENUM_VALUES = [
  ...KERNEL_NAMES, ...ARCH_NAMES, ...BACKING_NAMES, ...FOLL_FLAG_NAMES, ...OWNER_NAMES, ...FINDING_IDS, ...OPS,
  ...MUTANTS.map((m) => m.name),
  'any', 'shared', 'private', 'rw', 'r', 'write', 'read', 'none', 'pmd', 'pte', 'normal', 'movable', 'ipi', 'rcu', 'yes', 'no',
  'never', 'sometimes', 'always', 'pinned', 'pinned-fast', 'fell-back', 'EFAULT', '*',
];
/** Names that look right but are not: unknown revisions, arches, mutants, ops. */
const NEAR_MISSES = [
  '6.9', '6.2', 'v6', 'v8', '7', 'linux-next', '6.10.1', '6.100', 'latest', 'x86_64', 'amd64', 'aarch64', 'ARM64', 'riscv', 'X86',
  'pin_user_page', 'pin_user_pages_fast_only', 'Pin_user_pages', 'madvise', 'mmap', 'unmap', 'truncate_inode', 'reuses',
  'FOLL_WRIT', 'foll_write', 'FOLL_LONG_TERM', 'no_recheck', 'norecheck', 'check-after-recheck', 'plain_get',
  'anonymous', 'shmem', 'ext3', 'hugetlb', 'sometime', 'Never', 'ALWAYS', 'wild_deref', 'CPU10', 'cpu0', 'CPU', 'CPU-1',
];
/** YAML and JSON specials: scalars of other types, indicators, tags, anchors, directives. */
const YAML_SPECIALS = [
  '~', 'null', 'Null', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', '.nan', '.NaN', '.inf', '-.inf', '+.inf', 'NaN', 'Infinity',
  '0x1f', '0o17', '0b101', '017', '1e308', '1e309', '-1e308', '1e-400', '-0', '-1', '0', '1.5', '64', '65', '9007199254740992',
  '9007199254740993', '18446744073709551616', '1_000', '2001-12-14', '12:30:45', '!!str', '!!int', '!!float', '!!bool', '!!null',
  '!!binary', '!!set', '!!omap', '!!pairs', '!!timestamp', '!!map', '!!seq', '!local', '!<tag:yaml.org,2002:str>', '&a', '&b', '*a',
  '*b', '*nope', '<<', '? ', '- ', ': ', '|', '|-', '|+', '>', '>2', '---', '...', '%YAML 1.1', '%YAML 1.2', '%TAG ! tag:x:', '#',
  ' #', '"', "'", '{', '}', '[', ']', ',', ':', '\t', '\r', '\r\n', '\u2028', '\u0085', '\ufeff', '\0', '\\', '\\u0000', '\\ud800',
  '""', "''", '{}', '[]', '@', '`', '%', '&', '*', '!', '?', '-', '=', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
];
const WORDS = [...KEYS, ...ENUM_VALUES, ...NEAR_MISSES, ...YAML_SPECIALS];

const wordArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

// ===== text mutations =====

type Mutation =
  | { k: 'del'; at: number; len: number }
  | { k: 'dup'; at: number; len: number; to: number }
  | { k: 'swap'; a: number; b: number; len: number }
  | { k: 'ins'; at: number; text: string }
  | { k: 'char'; at: number; code: number }
  | { k: 'indent'; line: number; delta: number }
  | { k: 'dellines'; line: number; n: number }
  | { k: 'duplines'; line: number; n: number; to: number }
  | { k: 'swaplines'; a: number; b: number }
  | { k: 'token'; which: number; text: string };

const pos = fc.nat({ max: 1 << 20 });
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('del' as const), at: pos, len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ k: fc.constant('dup' as const), at: pos, len: fc.integer({ min: 1, max: 80 }), to: pos }),
  fc.record({ k: fc.constant('swap' as const), a: pos, b: pos, len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('ins' as const), at: pos, text: wordArb }),
  fc.record({ k: fc.constant('char' as const), at: pos, code: fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0x10ffff })) }),
  fc.record({ k: fc.constant('indent' as const), line: pos, delta: fc.integer({ min: -6, max: 6 }) }),
  fc.record({ k: fc.constant('dellines' as const), line: pos, n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('duplines' as const), line: pos, n: fc.integer({ min: 1, max: 4 }), to: pos }),
  fc.record({ k: fc.constant('swaplines' as const), a: pos, b: pos }),
  fc.record({ k: fc.constant('token' as const), which: pos, text: wordArb }),
);

const TOKEN = /[A-Za-z0-9_.-]+|[^\sA-Za-z0-9_.-]/g;

export function applyMutation(s: string, m: Mutation): string {
  const at = (p: number) => p % (s.length + 1);
  switch (m.k) {
    case 'del': {
      const a = at(m.at);
      return s.slice(0, a) + s.slice(a + m.len);
    }
    case 'dup': {
      const a = at(m.at);
      const piece = s.slice(a, a + m.len);
      const to = at(m.to);
      return s.slice(0, to) + piece + s.slice(to);
    }
    case 'swap': {
      let a = at(m.a);
      let b = at(m.b);
      if (a > b) [a, b] = [b, a];
      const len = Math.min(m.len, b - a);
      if (len <= 0) return s;
      return s.slice(0, a) + s.slice(b, b + len) + s.slice(a + len, b) + s.slice(a, a + len) + s.slice(b + len);
    }
    case 'ins': {
      const a = at(m.at);
      return s.slice(0, a) + m.text + s.slice(a);
    }
    case 'char': {
      const a = at(m.at);
      // A lone surrogate code point becomes a lone UTF-16 unit, which String.fromCodePoint allows.
      return s.slice(0, a) + String.fromCodePoint(m.code) + s.slice(a + 1);
    }
    case 'indent': {
      const lines = s.split('\n');
      const i = m.line % lines.length;
      const l = lines[i]!;
      lines[i] = m.delta >= 0 ? ' '.repeat(m.delta) + l : l.replace(new RegExp(`^ {0,${-m.delta}}`), '');
      return lines.join('\n');
    }
    case 'dellines': {
      const lines = s.split('\n');
      lines.splice(m.line % lines.length, m.n);
      return lines.join('\n');
    }
    case 'duplines': {
      const lines = s.split('\n');
      const i = m.line % lines.length;
      const piece = lines.slice(i, i + m.n);
      lines.splice(m.to % (lines.length + 1), 0, ...piece);
      return lines.join('\n');
    }
    case 'swaplines': {
      const lines = s.split('\n');
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    case 'token': {
      const toks = [...s.matchAll(TOKEN)];
      if (!toks.length) return s + m.text;
      const t = toks[m.which % toks.length]!;
      return s.slice(0, t.index) + m.text + s.slice(t.index + t[0].length);
    }
  }
}

const exampleArb = fc.constantFrom(...EXAMPLES);

/** Bundled examples with 1-6 byte, line and token mutations. */
export const mutatedExample: fc.Arbitrary<FuzzInput> = fc
  .tuple(exampleArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
  .map(([ex, ms]) => any(ms.reduce(applyMutation, ex.src)));

// ===== broken YAML =====

const brokenPiece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('[', ']', '{', '}', ':', ': ', '- ', '? ', ',', '"', "'", '|', '>', '#', '\n', '  ', '\t', '&a ', '*a', '!', '!!str ', '---\n', '...\n', '%YAML 1.1\n', '\\', '@', '`', 'x', '1', 'name', 'layout', 'cpus') },
  { weight: 1, arbitrary: wordArb },
);
/** Random sequences of YAML indicators, scalars and line breaks. */
export const brokenYaml: fc.Arbitrary<FuzzInput> = fc.oneof(
  fc.array(brokenPiece, { maxLength: 60 }).map((a) => any(a.join(''))),
  // A valid head, then junk.
  fc.tuple(exampleArb, fc.nat(), fc.array(brokenPiece, { minLength: 1, maxLength: 30 })).map(([ex, cut, junk]) => any(ex.src.slice(0, cut % ex.src.length) + junk.join(''))),
);

// ===== wrong types, unknown keys =====

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1, 0, -0, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 65, 64, 0.5, Infinity, -Infinity, NaN),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...WORDS),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constantFrom(...ENUM_VALUES)), { maxLength: 4 }),
  fc.dictionary(fc.constantFrom(...KEYS, 'x', 'extra'), fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constantFrom(...ENUM_VALUES)), { maxKeys: 3 }),
  fc.constant([]),
  fc.constant({}),
);

/** Every path to a value in a JSON-like tree. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

type Edit = { k: 'replace'; path: number; value: unknown } | { k: 'addkey'; path: number; key: string; value: unknown } | { k: 'delete'; path: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('replace' as const), path: pos, value: oddValue }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('addkey' as const), path: pos, key: fc.oneof(fc.constantFrom(...KEYS, ...NEAR_MISSES, '__proto__', 'constructor', ''), fc.string({ maxLength: 10 })), value: oddValue }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), path: pos }) },
);

function applyEdit(root: Record<string, unknown>, edit: Edit): void {
  // Never mutate fast-check's values: it reuses them while shrinking.
  const e = 'value' in edit ? { ...edit, value: structuredClone(edit.value) } : edit;
  const ps = paths(root).filter((p) => p.length > 0);
  if (e.k === 'addkey') {
    const objs = [[] as (string | number)[], ...ps].filter((p) => {
      const v = getAt(root, p);
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    });
    const p = objs[e.path % objs.length]!;
    Object.defineProperty(getAt(root, p) as object, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
    return;
  }
  if (!ps.length) return;
  const p = ps[e.path % ps.length]!;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown>;
  const last = p[p.length - 1]!;
  if (e.k === 'replace') parent[last] = e.value;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
}

function getAt(root: unknown, p: readonly (string | number)[]): unknown {
  let v = root;
  for (const k of p) v = (v as Record<string | number, unknown>)[k];
  return v;
}

type Style = { k: 'yaml-block'; indent: number } | { k: 'yaml-flow' } | { k: 'json'; indent: number };
const styleArb: fc.Arbitrary<Style> = fc.oneof(
  fc.record({ k: fc.constant('yaml-block' as const), indent: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant('yaml-flow' as const) }),
  fc.record({ k: fc.constant('json' as const), indent: fc.integer({ min: 0, max: 4 }) }),
);

/** A JS value as a scenario file, in one of several styles. */
export function serialize(v: unknown, s: Style): string {
  if (s.k === 'json') return JSON.stringify(v, null, s.indent) ?? 'null';
  return stringify(v, { indent: s.k === 'yaml-block' ? s.indent : 2, collectionStyle: s.k === 'yaml-flow' ? 'flow' : 'any', lineWidth: 0 });
}

/** A bundled example's parsed scenario with fields of the wrong type, unknown keys, missing keys. */
export const wrongTypes: fc.Arbitrary<FuzzInput> = fc
  .tuple(exampleArb, fc.array(editArb, { minLength: 1, maxLength: 3 }), styleArb)
  .map(([ex, edits, style]) => {
    const root = clone(ex.scenario) as unknown as Record<string, unknown>;
    for (const e of edits) applyEdit(root, e);
    return any(serialize(root, style));
  });

// ===== huge numbers =====

const NUMBERS = [
  '1e308', '1e309', '-1e308', '-1', '0', '-0', '2**53', '9007199254740992', '9007199254740993', '18446744073709551615', '1e-400', '0.5',
  '1.0', '64.0', '01', '0x40', '0o100', '0b1', '+1', '1_0', '.nan', '.NaN', 'NaN', 'nan', '.inf', '-.inf', 'Infinity', '-Infinity',
  "'1'", '"1"', '"NaN"', '1e1000', '123456789012345678901234567890', '-9007199254740993', '64', '65', '63', '8', '9', '20', '21',
];
const NUMERIC_FIELDS = ['pages', 'page', 'times', 'preemption-bound'] as const;

/** Extreme and malformed numbers in the numeric fields, and numbers where names belong. */
export const hugeNumbers: fc.Arbitrary<FuzzInput> = fc
  .tuple(fc.constantFrom(...NUMBERS), fc.constantFrom(...NUMERIC_FIELDS, 'name', 'kernels', 'mutant', 'vma', 'flags'), fc.nat())
  .map(([n, field, which]) => {
    const base = [
      'name: n',
      'shows: numbers',
      `kernels: [${field === 'kernels' ? n : '6.5'}]`,
      field === 'preemption-bound' ? `preemption-bound: ${n}` : '',
      'layout:',
      `  - { name: ${field === 'name' ? n : 'buf'}, backing: anon, pages: ${field === 'pages' ? n : 2} }`,
      'cpus:',
      `  CPU0:`,
      `    - { op: pin_user_pages_fast, vma: ${field === 'vma' ? n : 'buf'}, page: ${field === 'page' ? n : 0}, pages: 1, flags: ${field === 'flags' ? `[${n}]` : '[FOLL_WRITE]'} }`,
      `  CPU1:`,
      `    - { op: reuse, owner: slab, times: ${field === 'times' ? n : 1} }`,
      'expect:',
      `  - { finding: any, is: never${field === 'mutant' ? `, mutant: ${n}` : ''} }`,
    ];
    const src = base.filter((l) => l !== '').join('\n') + '\n';
    return which % 3 === 0 ? any(src) : any(src.replace(/\n/g, which % 3 === 1 ? '\r\n' : '\n'));
  });

// ===== deep nesting =====

type Nest = { style: 'flow-seq' | 'flow-map' | 'block-seq' | 'qmark' | 'indent-map' | 'mixed-flow' | 'quoted-brackets' | 'block-flow'; depth: number; closed: boolean; where: 'top' | 'name' | 'layout' | 'why' };
const nestArb: fc.Arbitrary<Nest> = fc.record({
  style: fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'qmark', 'indent-map', 'mixed-flow', 'quoted-brackets', 'block-flow'),
  depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 60, max: 70 }), fc.integer({ min: 1, max: 5000 })),
  closed: fc.boolean(),
  where: fc.constantFrom('top', 'name', 'layout', 'why'),
});

export function nested(n: Nest): string {
  const d = n.depth;
  let body: string;
  switch (n.style) {
    case 'flow-seq':
      body = '['.repeat(d) + 'x' + (n.closed ? ']'.repeat(d) : '');
      break;
    case 'flow-map':
      body = '{a: '.repeat(d) + 'x' + (n.closed ? '}'.repeat(d) : '');
      break;
    case 'mixed-flow':
      body = '[{a: '.repeat(d) + 'x' + (n.closed ? '}]'.repeat(d) : '');
      break;
    case 'quoted-brackets':
      // A character scan that counts brackets is fooled by the quoted "]" after each "[".
      body = '[ "]", '.repeat(d) + 'x' + (n.closed ? ']'.repeat(d) : '');
      break;
    case 'block-seq':
      body = '- '.repeat(d) + 'x';
      break;
    case 'qmark':
      body = '? '.repeat(d) + 'x';
      break;
    case 'block-flow':
      body = '- '.repeat(d) + '['.repeat(d) + (n.closed ? ']'.repeat(d) : '');
      break;
    case 'indent-map': {
      // Indentation-nested block mappings; capped so the text stays near the size limit.
      const k = Math.min(d, 500);
      const lines: string[] = [];
      for (let i = 0; i < k; i++) lines.push(' '.repeat(i) + 'a:');
      body = '\n' + lines.join('\n') + '\n' + ' '.repeat(k) + 'x';
      break;
    }
  }
  const block = n.style === 'block-seq' || n.style === 'qmark' || n.style === 'indent-map' || n.style === 'block-flow';
  switch (n.where) {
    case 'top':
      return body + '\n';
    case 'name':
      return `name: ${block && n.style !== 'indent-map' ? '\n  ' + body : body}\nshows: x\n`;
    case 'layout':
      return `name: n\nshows: x\nlayout: ${block && n.style !== 'indent-map' ? '\n  ' + body : body}\n`;
    case 'why':
      return EXAMPLES[0]!.src + `  - { finding: any, is: never, why: ${block ? '[x]' : body} }\n` + (block ? `x: ${n.style === 'indent-map' ? body : '\n  ' + body}\n` : '');
  }
}

export const deepNesting: fc.Arbitrary<FuzzInput> = nestArb.map((n) => ({
  src: nested(n),
  // Anything nested deeper than the limit (and within the token budget) is refused as such.
  expect: n.depth > 70 && n.depth < 2000 && n.style !== 'indent-map' ? /nesting deeper than|YAML syntax error/ : 'any',
}));

// ===== aliases =====

type AliasCase =
  | { k: 'laughs'; levels: number; width: number; flow: boolean; inScenario: boolean }
  | { k: 'unanchored'; where: number; name: string }
  | { k: 'before-anchor' }
  | { k: 'recursive'; flow: boolean }
  | { k: 'key-alias' }
  | { k: 'merge'; levels: number; width: number }
  | { k: 'legit'; flags: number };

const aliasArb: fc.Arbitrary<AliasCase> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('laughs' as const), levels: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 1, max: 12 }), flow: fc.boolean(), inScenario: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unanchored' as const), where: pos, name: fc.oneof(fc.constantFrom('a', 'nope', 'x1'), fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/)) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'before-anchor' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('recursive' as const), flow: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'key-alias' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('merge' as const), levels: fc.integer({ min: 1, max: 8 }), width: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('legit' as const), flags: fc.integer({ min: 1, max: 3 }) }) },
);

export function aliasText(c: AliasCase): string {
  const ex = EXAMPLES[8]!.src; // 09-fast-pin-vs-unmap-reuse
  switch (c.k) {
    case 'laughs': {
      const lines = [c.flow ? 'a0: &a0 [lol]' : 'a0: &a0\n  - lol'];
      for (let i = 1; i <= c.levels; i++) {
        const refs = Array.from({ length: c.width }, () => `*a${i - 1}`);
        lines.push(c.flow ? `a${i}: &a${i} [${refs.join(', ')}]` : `a${i}: &a${i}\n` + refs.map((r) => `  - ${r}`).join('\n'));
      }
      // Alone, or as extra top-level keys of a real scenario (toJS() expands them before the schema sees them).
      return (c.inScenario ? ex + '\n' : '') + lines.join('\n') + '\n';
    }
    case 'unanchored': {
      const lines = ex.split('\n');
      const i = c.where % lines.length;
      lines[i] = lines[i]!.replace(/: [^{}[\],\n]+/, `: *${c.name}`);
      return lines.join('\n');
    }
    case 'before-anchor':
      return ex.replace('name: fast-pin-vs-unmap-reuse', 'name: *n\nx: &n fast-pin-vs-unmap-reuse');
    case 'recursive':
      return c.flow ? 'name: &a [*a]\n' : ex.replace('layout:\n', 'layout: &l\n  - *l\n');
    case 'key-alias':
      return 'a: &a name\n? *a\n: x\n? [*a, *a]\n: y\n';
    case 'merge': {
      const lines = ['%YAML 1.1', '---', 'm0: &m0 {x: 1, y: 2}'];
      for (let i = 1; i <= c.levels; i++) lines.push(`m${i}: &m${i} {<<: [${Array.from({ length: c.width }, () => `*m${i - 1}`).join(', ')}], z${i}: 1}`);
      return lines.join('\n') + '\nname: n\n';
    }
    case 'legit': {
      // Anchors and aliases used as intended: a valid file.
      const f = ['[FOLL_WRITE]', '[FOLL_WRITE, FOLL_LONGTERM]', '[]'][c.flags - 1]!;
      return `name: legit\nshows: aliases\nkernels: [6.5]\nlayout:\n  - &v { name: buf, backing: anon }\ncpus:\n  CPU0:\n    - { op: pin_user_pages_fast, vma: buf, flags: &f ${f} }\n  CPU1:\n    - { op: pin_user_pages, vma: buf, flags: *f }\nexpect:\n  - &e { finding: any, is: never }\n`;
    }
  }
}

export const aliases: fc.Arbitrary<FuzzInput> = aliasArb.map((c) => ({
  src: aliasText(c),
  expect: c.k === 'legit' ? 'ok' : c.k === 'laughs' && c.width >= 3 && c.levels >= 5 ? /alias|nesting|unknown key|YAML/i : 'any',
}));

// ===== unknown names =====

/** An example with one enum-valued token replaced by a near miss or a random name. */
export const unknownNames: fc.Arbitrary<FuzzInput> = fc
  .tuple(exampleArb, pos, fc.oneof(fc.constantFrom(...NEAR_MISSES), fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}$/)))
  .map(([ex, which, repl]) => {
    const known = new Set(ENUM_VALUES);
    const toks = [...ex.src.matchAll(TOKEN)].filter((t) => known.has(t[0]) && !/^(name|shows):/m.test(ex.src.slice(ex.src.lastIndexOf('\n', t.index) + 1, t.index)));
    if (!toks.length) return any(ex.src);
    const t = toks[which % toks.length]!;
    return any(ex.src.slice(0, t.index) + repl + ex.src.slice(t.index + t[0].length));
  });

// ===== impossible layouts =====

interface Impossible {
  readonly layout: string[];
  readonly ops: string[];
  readonly extra?: string;
  readonly err: RegExp;
}

const IMPOSSIBLE: readonly Impossible[] = [
  { layout: ['{ name: v, backing: anon, prot: r, touch: write }'], ops: ['{ op: touch, vma: v, how: read }'], err: /SIGSEGV/ },
  { layout: ['{ name: v, backing: ext4, map: shared, prot: r }'], ops: ['{ op: pin_user_pages, vma: v }'], err: /SIGSEGV/ },
  { layout: ['{ name: v, backing: secretmem, map: private }'], ops: ['{ op: touch, vma: v }'], err: /MAP_SHARED/ },
  { layout: ['{ name: v, backing: secretmem }'], ops: ['{ op: touch, vma: v }'], err: /MAP_SHARED/ },
  { layout: ['{ name: v, backing: driver, map: private }'], ops: ['{ op: touch, vma: v }'], err: /MAP_SHARED/ },
  { layout: ['{ name: v, backing: memfd, thp: pmd }'], ops: ['{ op: touch, vma: v }'], err: /anonymous memory only/ },
  { layout: ['{ name: v, backing: anon, map: shared, thp: pte }'], ops: ['{ op: touch, vma: v }'], err: /MAP_PRIVATE/ },
  { layout: ['{ name: v, backing: ext4, swapcache: true }'], ops: ['{ op: touch, vma: v }'], err: /swap cache/ },
  { layout: ['{ name: v, backing: anon, touch: read, swapcache: true }'], ops: ['{ op: touch, vma: v }'], err: /swap cache/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: truncate, vma: v }'], err: /truncate needs a file-backed VMA/ },
  { layout: ['{ name: v, backing: secretmem, map: shared }'], ops: ['{ op: truncate, vma: v }'], err: /truncate needs a file-backed VMA/ },
  { layout: ['{ name: v, backing: driver, map: shared }'], ops: ['{ op: truncate, vma: v }'], err: /truncate needs a file-backed VMA/ },
  { layout: ['{ name: v, backing: ext4, map: shared }'], ops: ['{ op: truncate, vma: v, free_inode: true }'], err: /truncate cannot free the inode/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: close, vma: v }'], err: /anonymous memory has no file descriptor/ },
  { layout: ['{ name: v, backing: anon, map: shared }'], ops: ['{ op: close, vma: v }'], err: /anonymous memory has no file descriptor/ },
  { layout: ['{ name: v, backing: memfd, map: shared }'], ops: ['{ op: unlink, vma: v }'], err: /which has no name/ },
  { layout: ['{ name: v, backing: driver, map: shared }'], ops: ['{ op: unlink, vma: v }'], err: /a device node/ },
  { layout: ['{ name: v, backing: ext4, map: shared }'], ops: ['{ op: truncate, vma: v }', '{ op: touch, vma: v }'], extra: 'expect:\n  - { outcome: { CPU0: SIGBUS }, is: always }\n', err: /under CPU0\.0, CPU0\.1, not 'CPU0'/ },
  { layout: ['{ name: v, backing: ext4, map: shared }'], ops: ['{ op: munmap, vma: v }'], extra: 'expect:\n  - { outcome: { CPU0: ok }, is: always }\n', err: /CPU0 records no outcome/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: split_folio, vma: v }'], err: /split_folio needs a THP VMA/ },
  { layout: ['{ name: v, backing: memfd }'], ops: ['{ op: swap_out, vma: v }'], err: /swap_out is modelled/ },
  { layout: ['{ name: v, backing: anon, map: shared }'], ops: ['{ op: swap_out, vma: v }'], err: /swap_out is modelled/ },
  { layout: ['{ name: v, backing: anon, pages: 2 }'], ops: ['{ op: pin_user_pages_fast, vma: v, page: 1, pages: 2 }'], err: /beyond/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: v, page: 1 }'], err: /beyond/ },
  { layout: ['{ name: v, backing: anon, thp: pte }'], ops: ['{ op: pin_user_pages, vma: v, page: 3, pages: 2 }'], err: /beyond/ },
  { layout: ['{ name: v, backing: anon, pages: 64 }'], ops: ['{ op: madvise_dontneed, vma: v, page: 63 }', '{ op: pin_user_pages, vma: v, page: 63, pages: 2 }'], err: /beyond/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: reuse, owner: anon }'], err: /anon owner faults at a VMA/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: reuse }'], err: /anon owner faults at a VMA/ },
  { layout: ['{ name: v, backing: ext4, map: shared, file: w }', '{ name: w, backing: ext4, map: shared }'], ops: ['{ op: touch, vma: v }'], err: /not an earlier VMA/ },
  { layout: ['{ name: v, backing: ext4, map: shared }', '{ name: w, backing: xfs, map: shared, file: v }'], ops: ['{ op: touch, vma: w }'], err: /must match the backing/ },
  { layout: ['{ name: v, backing: anon }', '{ name: v, backing: memfd }'], ops: ['{ op: touch, vma: v }'], err: /used twice/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: w }'], err: /no VMA named 'w'/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: v }'], extra: 'mutants:\n  - { mutant: no-such-mutant }\n', err: /unknown mutant/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: v }'], extra: 'expect:\n  - { mutant: nope, finding: any, is: never }\n', err: /unknown mutant/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: v }'], extra: 'expect:\n  - { outcome: { CPU7: pinned }, is: always }\n', err: /no CPU named 'CPU7'/ },
  { layout: ['{ name: v, backing: anon }'], ops: ['{ op: touch, vma: v }'], extra: 'expect:\n  - { outcome: {}, is: always }\n', err: /names no CPU/ },
];

/** Valid-looking files whose layout or ops no process can set up: each must be refused, with its reason. */
export const impossibleLayouts: fc.Arbitrary<FuzzInput> = fc
  .tuple(fc.constantFrom(...IMPOSSIBLE), fc.constantFrom(...KERNEL_NAMES), fc.subarray([...ARCH_NAMES], { minLength: 1 }), fc.boolean(), fc.boolean())
  .map(([c, kernel, arches, block, secondCpu]) => {
    const lines = [`name: impossible`, `shows: a setup no process can make`, `kernels: ['${kernel}']`, `arches: [${arches.join(', ')}]`, 'layout:'];
    for (const v of c.layout) lines.push(block ? `  - ${v.slice(2, -2).split(', ').join('\n    ')}` : `  - ${v}`);
    lines.push('cpus:', '  CPU0:');
    for (const o of c.ops) lines.push(`    - ${o}`);
    if (secondCpu) lines.push('  CPU1:', '    - { op: device_write }');
    return { src: lines.join('\n') + '\n' + (c.extra ?? ''), expect: c.err };
  });

// ===== empty, binary, huge, JSON =====

export const emptyish: fc.Arbitrary<FuzzInput> = fc
  .tuple(fc.constantFrom('', ' ', '\n', '\n\n\n', '\t', '\r\n', '# only a comment\n', '---\n', '---\n...\n', '...', '\ufeff', '~', 'null', '{}', '[]', '""', "''", '0', 'true', '%YAML 1.2\n---\n', '--- |\n  text\n', '-', '?', ':'), fc.nat({ max: 3 }))
  .map(([s, n]) => ({ src: s.repeat(n + 1), expect: /must be a mapping|YAML|name|nesting/ }));

export const binaryJunk: fc.Arbitrary<FuzzInput> = fc.oneof(
  // As `gupcheck check` reads a file: bytes decoded as UTF-8 (invalid sequences become U+FFFD).
  fc.uint8Array({ maxLength: 4096 }).map((b) => any(Buffer.from(b).toString('utf8'))),
  fc.uint8Array({ maxLength: 4096 }).map((b) => any(Buffer.from(b).toString('latin1'))),
  // Any UTF-16 code units, lone surrogates included (parseScenario takes a string).
  fc.string({ unit: 'binary', maxLength: 2000 }).map(any),
  fc.string({ unit: 'grapheme', maxLength: 2000 }).map(any),
  // A valid head, then junk bytes.
  fc.tuple(exampleArb, fc.uint8Array({ minLength: 1, maxLength: 512 })).map(([ex, b]) => any(ex.src + Buffer.from(b).toString('utf8'))),
);

/** Over the size limit: refused at once, whatever is inside. */
export const hugeFiles: fc.Arbitrary<FuzzInput> = fc
  .tuple(fc.constantFrom('example', 'junk', 'multibyte', 'spaces'), fc.integer({ min: 1, max: 2 ** 16 }))
  .map(([kind, over]) => {
    const unit = kind === 'example' ? EXAMPLES[0]!.src : kind === 'junk' ? '\u0000\u00ff[{"' : kind === 'multibyte' ? '\u4e2d' : ' ';
    // Bytes, not characters: U+4E2D is 3 bytes in UTF-8, so 100 Ki of them are over the limit.
    const times = Math.ceil((MAX + over) / Buffer.byteLength(unit));
    return { src: unit.repeat(times), expect: /bytes\); scenario files are at most 0\.25 MB/ };
  });

/** Just under the size limit, built from one tiny unit repeated: the parser's slowest inputs. */
export const nearLimit: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    fc.constantFrom(
      '- a\n', 'k: 1\n', '"', '[', '{', '&a x ', '*a ', '# c\n', '\n', '? ', '- ', 'a, ', '{a: 1}, ', '"x": 1, ', ' ', '\t', ':', '!t ',
      '---\n', '  - { finding: any, is: never }\n', '- &a{n} x\n- *a{n}\n', 'k{n}: 1\n', 'k{n}: 1, ', '\u00e9', '\ud83d\ude00', '\\',
      '- !t{n} x\n',
    ),
    fc.integer({ min: 1, max: 100 }),
    fc.constantFrom('', '{', '[', 'name: x\nshows: y\nlayout: [{name: b, backing: anon}]\ncpus: {CPU0: [{op: touch, vma: b}]}\nexpect:\n'),
  )
  .map(([unit, pct, head]) => {
    const target = Math.floor(((MAX - 64) * pct) / 100);
    let s: string = head;
    let i = 0;
    while (Buffer.byteLength(s) < target - 64) {
      const chunk: string[] = [];
      for (let j = 0; j < 512; j++) chunk.push(unit.replace(/\{n\}/g, String(i++)));
      s += chunk.join('');
    }
    while (Buffer.byteLength(s) > MAX) s = s.slice(0, s.length - 1024);
    return any(s);
  });

type JsonMut =
  | { k: 'trailing-comma' }
  | { k: 'comment' }
  | { k: 'single-quotes' }
  | { k: 'literal'; what: string; at: number }
  | { k: 'dup-key' }
  | { k: 'escape'; esc: string; at: number }
  | { k: 'bom' }
  | { k: 'numeric-kernels' }
  | { k: 'text'; m: Mutation };

const jsonMutArb: fc.Arbitrary<JsonMut> = fc.oneof(
  fc.constant({ k: 'trailing-comma' as const }),
  fc.constant({ k: 'comment' as const }),
  fc.constant({ k: 'single-quotes' as const }),
  fc.record({ k: fc.constant('literal' as const), what: fc.constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', '1e999', '-0', '0x10', '.5', '01', 'true', 'null', '[]', '{}'), at: pos }),
  fc.constant({ k: 'dup-key' as const }),
  fc.record({ k: fc.constant('escape' as const), esc: fc.constantFrom('\\u0000', '\\ud800', '\\udfff', '\\ud83d\\ude00', '\\x41', '\\/', '\\u2028', '\\t', '\\"', '\\\\', '\\a', '\\U0001F600'), at: pos }),
  fc.constant({ k: 'bom' as const }),
  fc.constant({ k: 'numeric-kernels' as const }),
  fc.record({ k: fc.constant('text' as const), m: mutationArb }),
);

function applyJsonMut(s: string, m: JsonMut): string {
  switch (m.k) {
    case 'trailing-comma':
      return s.replace(/(["\d\]}])(\s*)([}\]])/, '$1,$2$3');
    case 'comment':
      return s.replace('{', '{ // a comment\n').replace(/,\n/, ', /* c */\n');
    case 'single-quotes':
      return s.replace(/"([^"\\]*)"/g, "'$1'");
    case 'literal': {
      const vals = [...s.matchAll(/: ("[^"]*"|-?\d[\d.e+-]*|true|false|null)/g)];
      if (!vals.length) return s;
      const v = vals[m.at % vals.length]!;
      return s.slice(0, v.index + 2) + m.what + s.slice(v.index + v[0].length);
    }
    case 'dup-key':
      return s.replace(/^(\s*)\{/, '$1{"name": "dup", ');
    case 'escape': {
      const qs = [...s.matchAll(/"[^"\\]*"/g)];
      if (!qs.length) return s;
      const q = qs[m.at % qs.length]!;
      return s.slice(0, q.index + 1) + m.esc + s.slice(q.index + 1);
    }
    case 'bom':
      return '\ufeff' + s;
    case 'numeric-kernels':
      // JSON numbers as kernel names: 6.10 must stay "6.10", not become 6.1.
      return s.replace(/"kernels":\s*\[([^\]]*)\]/, (_, l: string) => `"kernels": [${l.replace(/"(\d+\.\d+)"/g, '$1')}]`);
    case 'text':
      return applyMutation(s, m.m);
  }
}

/** Examples as JSON, pretty or not, valid or with JSON-specific breakage. */
export const jsonVariants: fc.Arbitrary<FuzzInput> = fc
  .tuple(exampleArb, fc.constantFrom(0, 1, 2, 4, '\t'), fc.array(jsonMutArb, { maxLength: 3 }))
  .map(([ex, indent, ms]) => {
    const src = JSON.stringify(ex.scenario, null, indent);
    if (!ms.length) return { src, expect: 'ok' as const };
    const numericOnly = ms.every((m) => m.k === 'numeric-kernels' || m.k === 'bom') && ms.filter((m) => m.k === 'bom').length <= 1;
    return { src: ms.reduce(applyJsonMut, src), expect: numericOnly ? ('ok' as const) : ('any' as const) };
  });

/** The bundled examples restyled (block/flow YAML, JSON): must parse to the same scenario. */
export const restyledExamples: fc.Arbitrary<FuzzInput & { scenario: ScenarioT }> = fc
  .tuple(exampleArb, styleArb)
  .map(([ex, style]) => ({ src: serialize(ex.scenario, style), expect: 'ok' as const, scenario: ex.scenario }));

export interface FuzzClass {
  readonly name: string;
  /** Share of the runs. */
  readonly weight: number;
  readonly arb: fc.Arbitrary<FuzzInput>;
}

export const CLASSES: readonly FuzzClass[] = [
  { name: 'mutated-example', weight: 30, arb: mutatedExample },
  { name: 'broken-yaml', weight: 8, arb: brokenYaml },
  { name: 'wrong-types', weight: 12, arb: wrongTypes },
  { name: 'huge-numbers', weight: 5, arb: hugeNumbers },
  { name: 'deep-nesting', weight: 5, arb: deepNesting },
  { name: 'aliases', weight: 5, arb: aliases },
  { name: 'unknown-names', weight: 7, arb: unknownNames },
  { name: 'impossible-layout', weight: 7, arb: impossibleLayouts },
  { name: 'empty', weight: 2, arb: emptyish },
  { name: 'binary-junk', weight: 6, arb: binaryJunk },
  { name: 'huge-file', weight: 1, arb: hugeFiles },
  { name: 'near-limit', weight: 1.5, arb: nearLimit },
  { name: 'json', weight: 7, arb: jsonVariants },
  { name: 'restyled-example', weight: 3.5, arb: restyledExamples },
];

