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

/**
 * What the preprocessor knows about a fragment (a hunk of a diff, src/patch/c/diff.ts): the lines
 * it could not place, and where to report a line of the fragment.
 */
export interface Fragment {
  /** Report position of a 0-based line (and 0-based column) of the text. */
  readonly at: (line: number, col: number) => string;
  /** 0-based lines whose text the fragment cannot say is compiled (blanked): in a branch of a conditional opened before the fragment, or of a condition on something other than one CONFIG_* option. */
  readonly unknown: Set<number>;
  /** 0-based lines the diff changes: a #define or #undef there is refused (not ignored). */
  readonly changed: ReadonlySet<number>;
}

/**
 * The preprocessor (see the header). Throws PatchError on a directive it does not handle. For a
 * fragment (`frag`), conditionals that open or close outside it and conditions it cannot evaluate
 * are not errors: their lines go to frag.unknown, and the caller decides.
 */
export function preprocess(file: string, src: string, frag?: Fragment): string {
  const lines = src.split('\n');
  const where = (line: number, col = 1) => (frag ? frag.at(line - 1, col - 1) : `${file}:${line}:${col}`);
  // known: the condition was evaluated; a fragment's unknown frames blank their lines into frag.unknown.
  const stack: { active: boolean; taken: boolean; known: boolean }[] = [];
  // A fragment: the lines up to its last #else/#elif/#endif of a conditional it does not open are
  // in a conditional it does not show (so is all the rest, after an #else or #elif).
  let last = -1;
  let lastDir = '';
  if (frag) {
    let depth = 0;
    lines.forEach((text, i) => {
      const dir = /^\s*#\s*(\w+)/.exec(text)?.[1];
      if (dir === 'if' || dir === 'ifdef' || dir === 'ifndef') depth++;
      else if (dir === 'endif' && depth > 0) depth--;
      else if ((dir === 'else' || dir === 'elif' || dir === 'endif') && depth === 0) [last, lastDir] = [i, dir];
    });
  }
  const outerUnknown = (i: number) => i < last || (last >= 0 && lastDir !== 'endif');
  let line0 = 0;
  const active = () => !outerUnknown(line0) && stack.every((x) => x.active);
  const unknown = () => outerUnknown(line0) || stack.some((x) => !x.known);
  const cond = (expr: string, line: number): boolean | undefined => {
    const e = expr.trim();
    let m = /^!?\s*(?:defined\s*\(?\s*(CONFIG_\w+)\s*\)?|IS_ENABLED\s*\(\s*(CONFIG_\w+)\s*\))$/.exec(e);
    if (!m) m = /^(CONFIG_\w+)$/.exec(e);
    const name = m?.[1] ?? m?.[2];
    if (!name) {
      if (frag) return undefined;
      throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(line)}: unsupported preprocessor condition '${e}'`, `conditions may test one CONFIG_* option (${Object.keys(CONFIGS).join(', ')})`);
    }
    const v = CONFIGS[name];
    if (v === undefined) {
      if (frag) return undefined;
      throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(line)}: unknown option ${name}`, `the model's configuration has ${Object.keys(CONFIGS).join(', ')}`);
    }
    return e.startsWith('!') ? !v : v;
  };
  const push = (v: boolean | undefined) => stack.push(v === undefined ? { active: false, taken: true, known: false } : { active: v, taken: v, known: true });
  const out = lines.map((text, i) => {
    const line = i + 1;
    line0 = i;
    const d = /^\s*#\s*(\w+)(.*)$/.exec(text);
    if (d) {
      const [, dir, rest] = d as unknown as [string, string, string];
      if (dir === 'include' || dir === 'pragma') return blank(text);
      if (dir === 'ifdef' || dir === 'ifndef') {
        const v = cond(`defined(${rest.trim()})`, line);
        push(v === undefined ? undefined : dir === 'ifdef' ? v : !v);
      } else if (dir === 'if') {
        push(cond(rest, line));
      } else if (dir === 'elif' || dir === 'else') {
        const top = stack[stack.length - 1];
        if (!top) {
          if (!frag) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(line)}: #${dir} without #if`, 'balance the conditionals');
          // (a fragment: the other branch of a conditional it does not show, see `last`)
        } else if (!top.known) {
          // still unknown
        } else if (dir === 'else') {
          top.active = !top.taken;
          top.taken = true;
        } else {
          const v = top.taken ? false : cond(rest, line);
          if (v === undefined) top.known = false;
          top.active = !!v;
          top.taken ||= !!v;
        }
      } else if (dir === 'endif') {
        if (!stack.pop() && !frag) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(line)}: #endif without #if`, 'balance the conditionals');
      } else if (frag && (dir === 'define' || dir === 'undef') && !frag.changed.has(i)) {
        // A macro the diff does not change: the model's functions do not use it.
      } else {
        throw new PatchError(
          'GUPCHECK_PATCH_UNSUPPORTED',
          `${where(line, text.indexOf('#') + 1)}: unsupported preprocessor directive #${dir}`,
          'a patch may use #include (ignored), #ifdef/#ifndef/#if/#elif/#else/#endif on CONFIG_* options; write macros out as C',
        );
      }
      return blank(text);
    }
    if (!active()) {
      if (frag && unknown() && text.trim()) frag.unknown.add(i);
      return blank(text);
    }
    let t = text.replace(/\b(un)?likely\s*\(/g, (m) => ' '.repeat(m.length - 1) + '(');
    for (const a of ATTRIBUTES) t = t.replace(new RegExp(`\\b${a}\\b`, 'g'), ' '.repeat(a.length));
    return t;
  });
  if (stack.length && !frag) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(lines.length)}: #if without #endif`, 'balance the conditionals');
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

/** Preprocess and parse a fragment of C (a diff's hunk): the tree, errors and all (diff.ts decides). */
export async function parseFragment(file: string, src: string, frag: Fragment): Promise<Node> {
  const text = preprocess(file, src, frag);
  const tree = (await cParser()).parse(text);
  if (!tree) throw new PatchError('GUPCHECK_PATCH_INVALID', `${file}: the C parser returned nothing`, 'check the file is a unified diff of C');
  return tree.rootNode;
}

/** The first syntax error under a node (undefined: none). */
export function syntaxError(n: Node): Node | undefined {
  return n.hasError || n.isMissing || n.type === 'ERROR' ? firstError(n) : undefined;
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
