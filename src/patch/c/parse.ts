/**
 * Parsing kernel C: a small preprocessor, then tree-sitter's C grammar (web-tree-sitter and the
 * grammar's wasm, both from npm: nothing is downloaded or built at install).
 *
 * The preprocessor keeps every character's line and column (it blanks or pads what it drops), so
 * errors and traces point at the file as written. It drops `#include` lines and attributes the
 * grammar does not know (__always_inline, noinline, __maybe_unused, __must_check), keeps the
 * arms of `#ifdef CONFIG_*` / `#if IS_ENABLED(CONFIG_*)` that the model's configuration selects,
 * and turns likely(x)/unlikely(x) into (x). The kernel macros the functions use
 * (READ_ONCE, WRITE_ONCE, WARN_ON_ONCE, VM_WARN_ON_ONCE, VM_BUG_ON, lockdep_assert_irqs_disabled,
 * IS_ENABLED, the PAGE_MAPPING_* / FOLIO_MAPPING_* / FOLL_* constants, GUP_PIN_COUNTING_BIAS)
 * parse as calls and identifiers, and the compiler (compile.ts) gives them their meaning.
 */
import { createRequire } from 'node:module';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { PatchError } from '../module.ts';

export type { Node };

let parser: Promise<Parser> | undefined;

/** The C parser (loaded once per thread; about 25 ms). */
function cParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-c/tree-sitter-c.wasm');
    const lang = await Language.load(wasm);
    const p = new Parser();
    p.setLanguage(lang);
    return p;
  })();
  return parser;
}

/** CONFIG_* options the preprocessor and IS_ENABLED() know, with the model's values. */
export const CONFIGS: Readonly<Record<string, boolean>> = {
  CONFIG_HAVE_FAST_GUP: true,
  CONFIG_HAVE_GUP_FAST: true,
  CONFIG_MMU: true,
  CONFIG_SECRETMEM: true,
  CONFIG_PROVE_LOCKING: true,
  CONFIG_DEBUG_VM: true,
  CONFIG_TRANSPARENT_HUGEPAGE: true,
  CONFIG_HUGETLB_PAGE: true,
  CONFIG_ARCH_HAS_HUGEPD: false,
  CONFIG_ARCH_HAS_PTE_SPECIAL: true,
  CONFIG_ARCH_HAS_PTE_DEVMAP: true,
  CONFIG_PCI_P2PDMA: false,
};

const ATTRIBUTES = ['__always_inline', 'noinline', '__maybe_unused', '__must_check', '__init', 'noinline_for_stack'];

function blank(s: string): string {
  return s.replace(/[^\n]/g, ' ');
}

/** The preprocessor (see the header). Throws PatchError on a directive it does not handle. */
export function preprocess(file: string, src: string): string {
  const lines = src.split('\n');
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((x) => x.active);
  const cond = (expr: string, line: number): boolean => {
    const e = expr.trim();
    let m = /^!?\s*(?:defined\s*\(?\s*(CONFIG_\w+)\s*\)?|IS_ENABLED\s*\(\s*(CONFIG_\w+)\s*\))$/.exec(e);
    if (!m) m = /^(CONFIG_\w+)$/.exec(e);
    const name = m?.[1] ?? m?.[2];
    if (!name) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${line}:1: unsupported preprocessor condition '${e}'`, `conditions may test one CONFIG_* option (${Object.keys(CONFIGS).join(', ')})`);
    const v = CONFIGS[name];
    if (v === undefined) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${line}:1: unknown option ${name}`, `the model's configuration has ${Object.keys(CONFIGS).join(', ')}`);
    return e.startsWith('!') ? !v : v;
  };
  const out = lines.map((text, i) => {
    const line = i + 1;
    const d = /^\s*#\s*(\w+)(.*)$/.exec(text);
    if (d) {
      const [, dir, rest] = d as unknown as [string, string, string];
      if (dir === 'include' || dir === 'pragma') return blank(text);
      if (dir === 'ifdef' || dir === 'ifndef') {
        const v = cond(`defined(${rest.trim()})`, line);
        const on = dir === 'ifdef' ? v : !v;
        stack.push({ active: on, taken: on });
      } else if (dir === 'if') {
        const on = cond(rest, line);
        stack.push({ active: on, taken: on });
      } else if (dir === 'elif') {
        const top = stack[stack.length - 1];
        if (!top) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${line}:1: #elif without #if`, 'balance the conditionals');
        const on = !top.taken && cond(rest, line);
        top.active = on;
        top.taken ||= on;
      } else if (dir === 'else') {
        const top = stack[stack.length - 1];
        if (!top) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${line}:1: #else without #if`, 'balance the conditionals');
        top.active = !top.taken;
        top.taken = true;
      } else if (dir === 'endif') {
        if (!stack.pop()) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${line}:1: #endif without #if`, 'balance the conditionals');
      } else {
        throw new PatchError(
          'GUPCHECK_PATCH_UNSUPPORTED',
          `${file}:${line}:${text.indexOf('#') + 1}: unsupported preprocessor directive #${dir}`,
          'a patch may use #include (ignored), #ifdef/#ifndef/#if/#elif/#else/#endif on CONFIG_* options; write macros out as C',
        );
      }
      return blank(text);
    }
    if (!active()) return blank(text);
    let t = text.replace(/\b(un)?likely\s*\(/g, (m) => ' '.repeat(m.length - 1) + '(');
    for (const a of ATTRIBUTES) t = t.replace(new RegExp(`\\b${a}\\b`, 'g'), ' '.repeat(a.length));
    return t;
  });
  if (stack.length) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${file}:${lines.length}:1: #if without #endif`, 'balance the conditionals');
  return out.join('\n');
}

/** The first syntax error in a tree, as file:line:col and what the parser expected. */
function firstError(n: Node): Node | undefined {
  if (n.isMissing || n.type === 'ERROR') return n;
  if (!n.hasError) return undefined;
  for (const ch of n.children) {
    if (!ch) continue;
    const e = firstError(ch);
    if (e) return e;
  }
  return n;
}

/** Preprocess and parse a C file; the translation unit's root node. */
export async function parseC(file: string, src: string): Promise<Node> {
  const text = preprocess(file, src);
  const p = await cParser();
  const tree = p.parse(text);
  if (!tree) throw new PatchError('GUPCHECK_PATCH_INVALID', `${file}: the C parser returned nothing`, 'check the file is C');
  const err = firstError(tree.rootNode);
  if (err) {
    const pos = err.startPosition;
    const what = err.isMissing ? `missing ${err.type}` : `cannot parse '${err.text.split('\n')[0]!.slice(0, 40)}'`;
    throw new PatchError('GUPCHECK_PATCH_INVALID', `${file}:${pos.row + 1}:${pos.column + 1}: C syntax error: ${what}`, 'check the C syntax (macros other than the kernel ones gupcheck knows must be written out)');
  }
  return tree.rootNode;
}
