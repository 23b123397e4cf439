/**
 * `--kernel BASE --patch FILE.c`: a built-in revision with some of its functions replaced by the
 * C definitions in the patch files (docs/revisions.md, "Check your own patch"). Each file is
 * parsed (parse.ts), each function compiled to a generator (compile.ts) and evaluated here; the
 * functions a revision may replace go into the derived revision's table, the others are helpers
 * the patched functions call.
 *
 * The compiled functions are JavaScript made at run time, which the stateful search (the model
 * compiled to frames, src/build/frames.ts) cannot save and restore: runs with a C patch use the
 * other strategies (the CLI says so).
 */
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { Site, Step } from '../../sim/op.ts';
import type { Ctx } from '../../kernel/kernel.ts';
import type { Folio, Page } from '../../kernel/mm_types.ts';
import { page_folio_stable } from '../../kernel/page_ref.ts';
import { derive, type Revision, type RevisionFns } from '../../kernel/revision.ts';
import { folio_longterm_write_pin_allowed, makeTryGrabFolioWithCheck, v7 } from '../../kernel/revisions/v7.ts';
import { PatchError } from '../module.ts';
import { CALLABLE_MODEL, compileFunction, functionsOf, type CFunctionDecl } from './compile.ts';
import { parseC, type Node } from './parse.ts';
import { functionsFromDiff, looksLikeDiff } from './diff.ts';

/** The names a function calls (call_expression with a plain name). */
function callsOf(n: Node): Set<string> {
  const out = new Set<string>();
  const walk = (x: Node) => {
    if (x.type === 'call_expression') {
      const fn = x.childForFieldName('function');
      if (fn?.type === 'identifier') out.add(fn.text);
    }
    for (const ch of x.namedChildren) if (ch) walk(ch);
  };
  walk(n);
  return out;
}
import { EntryPtr, IntBox, PagesPtr, rt } from './runtime.ts';
import { PAGE_SIZE } from '../../kernel/types.ts';

const WALK_SIGNATURE = (name: string) =>
  `int ${name}(pmd_t pmd, pmd_t *pmdp, unsigned long addr, unsigned long end, unsigned int flags, struct page **pages, int *nr) (6.5, 6.10), or unsigned long ${name}(pmd_t pmd, pmd_t *pmdp, unsigned long addr, unsigned long end, unsigned int flags, struct page **pages), returning the count (later kernels)`;

/** The functions a patch may replace, by C name: the revision-table entry and how the C function is adapted to it. */
export const REPLACEABLE: Readonly<Record<string, { readonly key: keyof RevisionFns; readonly params: readonly string[]; readonly also?: readonly string[]; readonly signature: string }>> = {
  gup_pte_range: { key: 'gup_pte_range', params: ['pmd', 'pmdp', 'addr', 'end', 'flags', 'pages', 'nr'], also: ['pmd', 'pmdp', 'addr', 'end', 'flags', 'pages'], signature: WALK_SIGNATURE('gup_pte_range') },
  gup_fast_pte_range: { key: 'gup_pte_range', params: ['pmd', 'pmdp', 'addr', 'end', 'flags', 'pages', 'nr'], also: ['pmd', 'pmdp', 'addr', 'end', 'flags', 'pages'], signature: WALK_SIGNATURE('gup_fast_pte_range') },
  folio_fast_pin_allowed: { key: 'folio_fast_pin_allowed', params: ['folio', 'flags'], signature: 'bool folio_fast_pin_allowed(struct folio *folio, unsigned int flags)' },
  gup_fast_folio_allowed: { key: 'folio_fast_pin_allowed', params: ['folio', 'flags'], signature: 'bool gup_fast_folio_allowed(struct folio *folio, unsigned int flags)' },
  try_grab_folio: { key: 'try_grab_folio', params: ['page', 'refs', 'flags'], signature: 'struct folio *try_grab_folio(struct page *page, int refs, unsigned int flags)' },
  try_grab_folio_fast: { key: 'try_grab_folio_fast', params: ['page', 'refs', 'flags'], signature: 'struct folio *try_grab_folio_fast(struct page *page, int refs, unsigned int flags)' },
  try_get_folio: { key: 'try_get_folio', params: ['page', 'refs'], signature: 'struct folio *try_get_folio(struct page *page, int refs)' },
  page_is_secretmem: { key: 'page_is_secretmem', params: ['page'], signature: 'bool page_is_secretmem(struct page *page)' },
  folio_is_secretmem: { key: 'page_is_secretmem', params: ['folio'], signature: 'bool folio_is_secretmem(struct folio *folio)' },
  folio_mapping: { key: 'folio_mapping', params: ['folio'], signature: 'struct address_space *folio_mapping(struct folio *folio)' },
  folio_longterm_write_pin_allowed: { key: 'try_grab_folio', params: ['folio'], signature: "bool folio_longterm_write_pin_allowed(struct folio *folio) (v7's check, called by v7's try_grab_folio())" },
};

type Gen = (c: Ctx, ...args: unknown[]) => Step<unknown>;

/**
 * The model's GUP-fast calls gup_pte_range(c, pmd, pmdTable, start, end, flags, pages) with the
 * pfns recorded so far in `pages` and wants to know whether the whole range was pinned. The C
 * walk gets `pmdp` (the PMD entry it was read from), the caller's array and either `int *nr`
 * (6.5, 6.10: the count so far, and 1 for the whole range) or nothing (later kernels: `pages`
 * starts at the walk's first slot and the walk returns how many it recorded).
 */
function walkAdapter(gen: Gen, f: CFunctionDecl, at: string): RevisionFns['gup_pte_range'] {
  const commit = (pages: number[], from: number, n: number): void => {
    let holes = false;
    for (let i = from; i < n; i++) if (pages[i] === undefined) holes = true;
    if (!Number.isInteger(n) || n < 0 || n > pages.length || holes) {
      throw new PatchError(
        'GUPCHECK_PATCH_INVALID',
        `${at}: ${f.name}() counted ${n} page(s) but stored ${pages.length}: every counted pages[] slot must hold a page`,
        'store pages[*nr] = page before (*nr)++ (or pages[nr_pages++] = page)',
      );
    }
    pages.length = n;
  };
  if (f.params.length === 6) {
    return function* gup_pte_range(c, pmd, pmdTable, start, end, flags, pages) {
      const first = pages.length;
      const n = Number(yield* gen(c, pmd, new EntryPtr(pmdTable, start), start, end, flags, new PagesPtr(pages, first)));
      commit(pages, first, first + n);
      return n === (end - start) / PAGE_SIZE;
    };
  }
  return function* gup_pte_range(c, pmd, pmdTable, start, end, flags, pages) {
    const first = pages.length;
    const nr = new IntBox(first);
    const ret = yield* gen(c, pmd, new EntryPtr(pmdTable, start), start, end, flags, new PagesPtr(pages, 0), nr);
    commit(pages, Math.min(first, nr.v), nr.v);
    return !!ret;
  };
}

/** Load C patches onto a built-in revision; the derived revision is called `name`. */
export async function loadCPatches(base: Revision, files: readonly string[], name: string): Promise<Revision> {
  const decls: { file: string; display: string; f: CFunctionDecl }[] = [];
  for (const file of files) {
    const shown = relative(process.cwd(), file) || file;
    let src: string;
    try {
      src = readFileSync(file, 'utf8');
    } catch (e) {
      throw new PatchError('GUPCHECK_FILE_NOT_FOUND', `cannot read the patch ${shown}: ${(e as Error).message}`, 'check the --patch path');
    }
    if (/\.(diff|patch)$/.test(file) || looksLikeDiff(src)) {
      for (const d of await functionsFromDiff(shown, src)) decls.push({ file: shown, display: d.display, f: d.f });
    } else {
      const root = await parseC(shown, src);
      for (const f of functionsOf(shown, root)) decls.push({ file: shown, display: basename(file), f });
    }
  }
  const where = (f: CFunctionDecl) => f.at(f.node.startPosition.row, 0);
  if (!decls.length) throw new PatchError('GUPCHECK_PATCH_INVALID', `${files.map((f) => relative(process.cwd(), f)).join(', ')}: no function definitions`, `define one of ${Object.keys(REPLACEABLE).join(', ')}`);
  const patched = new Map<string, CFunctionDecl>();
  for (const { f } of decls) {
    const other = patched.get(f.name);
    if (other) throw new PatchError('GUPCHECK_PATCH_INVALID', `${where(f)}: ${f.name}() is defined twice (also at ${where(other)})`, 'define each function once across the patches');
    if (CALLABLE_MODEL.has(f.name) && !REPLACEABLE[f.name]) {
      throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${where(f)}: ${f.name}() is a model function a patch cannot replace`, `a patch may define ${Object.keys(REPLACEABLE).join(', ')}, and helpers of its own`);
    }
    const r = REPLACEABLE[f.name];
    if (r && f.params.length !== r.params.length && f.params.length !== r.also?.length) {
      throw new PatchError('GUPCHECK_PATCH_INVALID', `${where(f)}: ${f.name}() takes ${f.params.length} parameter(s); the model calls it as ${r.signature}`, `declare it as ${r.signature}`);
    }
    patched.set(f.name, f);
  }
  // A function that is neither one the model calls nor called by one would change nothing the
  // model runs, yet the run would carry the patch's name: refuse it (a diff's changed
  // __get_user_pages(), a .c file's check_vma_flags()).
  const reached = new Set([...patched.keys()].filter((n) => REPLACEABLE[n]));
  for (const todo = [...reached]; todo.length; ) {
    for (const callee of callsOf(patched.get(todo.pop()!)!.node)) {
      if (patched.has(callee) && !reached.has(callee)) {
        reached.add(callee);
        todo.push(callee);
      }
    }
  }
  for (const [n, f] of patched) {
    if (reached.has(n)) continue;
    throw new PatchError(
      'GUPCHECK_PATCH_UNSUPPORTED',
      `${where(f)}: ${n}() is not a function gupcheck takes from a patch, and no function it takes calls it: the model would run without it`,
      `a patch may define ${Object.keys(REPLACEABLE).join(', ')}, and helpers they call; other functions are the model's own TypeScript (docs/revisions.md)`,
    );
  }
  const sites: Site[] = [];
  const code = decls.map(({ display, f }) => `${f.name}: ${compileFunction(display, f, { patched }, sites)}`).join(',\n');
  const $P: Record<string, Gen> = {};
  const $ = {
    ...rt,
    *secretmem(c: Ctx, page: Page): Step<boolean> {
      const f = c.rev.fns.page_is_secretmem;
      return f ? yield* f(c, page) : false;
    },
    *fastPinAllowed(c: Ctx, folio: Folio, flags: number): Step<boolean> {
      const f = c.rev.fns.folio_fast_pin_allowed;
      return f ? yield* f(c, folio, flags) : true;
    },
    *v7check(c: Ctx, folio: Folio): Step<boolean> {
      const p = $P.folio_longterm_write_pin_allowed;
      return p ? ((yield* p(c, folio)) as boolean) : yield* folio_longterm_write_pin_allowed(c, folio);
    },
  };
  let made: Record<string, Gen>;
  try {
    // The compiled C, evaluated once per load: this is how a patch becomes the model's generators.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function('$', '$S', '$P', `"use strict";\nreturn {\n${code}\n};`) as (...a: unknown[]) => Record<string, Gen>;
    made = make($, sites, $P);
  } catch (e) {
    throw new Error(`[gupcheck internal bug] compiled C does not evaluate: ${(e as Error).message}\n${code}`, { cause: e });
  }
  Object.assign($P, made);
  const fns: Partial<RevisionFns> = {};
  const replaced: string[] = [];
  for (const [fname, f] of patched) {
    const r = REPLACEABLE[fname];
    if (!r) continue;
    const gen = made[fname]!;
    replaced.push(fname);
    switch (fname) {
      case 'folio_is_secretmem':
        fns.page_is_secretmem = (c: Ctx, page: Page) => gen(c, page_folio_stable(c, page)) as Step<boolean>;
        break;
      case 'folio_longterm_write_pin_allowed':
        if (patched.has('try_grab_folio')) break; // the patched try_grab_folio calls it
        if (base.fns.try_grab_folio !== v7.fns.try_grab_folio) {
          throw new PatchError(
            'GUPCHECK_PATCH_INVALID',
            `${where(f)}: folio_longterm_write_pin_allowed() is called only by v7's try_grab_folio(), and ${base.name}'s try_grab_folio() is not v7's`,
            `apply it to --kernel v7, or define try_grab_folio() in the patch too, calling it (examples/patches/v7-check-in-try_grab_folio.c)`,
          );
        }
        fns.try_grab_folio = makeTryGrabFolioWithCheck((c, folio) => gen(c, folio) as Step<boolean>);
        break;
      case 'gup_pte_range':
      case 'gup_fast_pte_range':
        fns.gup_pte_range = walkAdapter(gen, f, where(f));
        break;
      default:
        (fns as Record<string, unknown>)[r.key] = gen;
    }
  }
  if (!replaced.length) {
    throw new PatchError('GUPCHECK_PATCH_INVALID', `${decls[0]!.file}: the patch defines ${[...patched.keys()].join(', ')}, none of which the model calls`, `define one of ${Object.keys(REPLACEABLE).join(', ')}`);
  }
  const fileNames = files.map((f) => basename(f)).join(', ');
  return derive(base, {
    name,
    title: `${base.title} with ${fileNames}`,
    summary: `${base.name} with ${replaced.map((n) => `${n}()`).join(', ')} from ${fileNames}`,
    fns,
  });
}
