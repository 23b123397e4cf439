/**
 * Kernel C functions to the model's generator functions (docs/revisions.md, "Check your own
 * patch"). Each C function definition becomes JavaScript source for a `function*` taking the CPU
 * context first, as the TypeScript model's functions do; patch.ts evaluates it. The rules are the
 * model's (src/sim/cell.ts):
 *
 * - every access to a shared field (`folio->mapping`, `page->compound_head`, `atomic_*(&x->f)`)
 *   is one model access, a scheduling point, with a site that names the C line
 *   (`my-check.c:14 READ_ONCE(folio->mapping)`);
 * - READ_ONCE(x->f) is one load. A plain `x->f` is a load too, and a local that is assigned once,
 *   from a plain load of a field of a parameter, is loaded again at each use (the compiler may
 *   re-materialise it: the model's rule, as in folio_mapping() and the no-read-once mutant);
 * - kernel functions are the model's (folio_test_slab(), shmem_mapping(), ...), and calls of
 *   the functions a revision may replace go through the revision (c.rev.fns), so a patched
 *   function calls the other patched functions and the base revision's;
 * - C's control flow: if/else, loops, break/continue, early returns, `goto` to a label at the top
 *   level of the function body, ternaries, the comma operator; integer, bit and pointer<->unsigned
 *   long arithmetic on the mapping word;
 * - the PTE walk's pointers (runtime.ts): `pte_t *ptep` / `pmd_t *pmdp` point at page-table
 *   entries (`ptep++` is the next one; `*pmdp`, ptep_get_lockless(ptep) read the entry, one
 *   scheduling point each), `struct page **pages` is the caller's array (`pages[*nr] = page`,
 *   `pages + *nr`), `int *nr` the walk's count (`(*nr)++`);
 * - a patched gup_pte_range() / gup_fast_pte_range() keeps the ghost books the TypeScript walk
 *   keeps (src/kernel/gup.ts): a successful grab watches the PTE last read, a put stops watching,
 *   the store into pages[] checks the record (pin-on-reused-page); its grabs go through
 *   try_grab_folio_fast(), what GUP-fast grabs with in every revision;
 * - `c.why` (the explanation `gupcheck pin` prints) is told the C line and condition of every `if`
 *   that leaves with a goto or a return.
 *
 * Anything else is refused with file:line:col, the construct, and what is supported.
 */
import { site, type Site } from '../../sim/op.ts';
import { FOLL_NAMES, GUP_PIN_COUNTING_BIAS, PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS, PAGE_MAPPING_KSM, PAGE_MAPPING_MOVABLE, PAGE_SIZE } from '../../kernel/types.ts';
import { PatchError } from '../module.ts';
import { CONFIGS, type Node } from './parse.ts';

/** Integer constants a patch may name. */
export const CONSTANTS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(FOLL_NAMES.map(([n, v]) => [n, v])),
  PAGE_MAPPING_ANON,
  PAGE_MAPPING_MOVABLE,
  PAGE_MAPPING_KSM,
  PAGE_MAPPING_FLAGS,
  FOLIO_MAPPING_ANON: PAGE_MAPPING_ANON,
  FOLIO_MAPPING_ANON_KSM: PAGE_MAPPING_MOVABLE,
  FOLIO_MAPPING_KSM: PAGE_MAPPING_KSM,
  FOLIO_MAPPING_FLAGS: PAGE_MAPPING_FLAGS,
  GUP_PIN_COUNTING_BIAS,
  PAGE_SIZE,
  NR_FOLL_PIN_ACQUIRED: 0,
  NR_FOLL_PIN_RELEASED: 0,
};

/** Fields of struct page / struct folio that are shared cells in the model (mm_types.ts). */
export const CELL_FIELDS = ['mapping', '_refcount', '_mapcount', 'compound_head', 'index', 'private', 'swap', '_pincount', '_folio_order'];

/** How a C call is compiled: `g` a generator of the model (yield*), `s` plain code. */
interface Callee {
  readonly arity: number | [number, number];
  readonly emit: (a: string[], x: Emit) => string;
}
interface Emit {
  readonly site: (action: string) => string;
  readonly fn: string;
  readonly text: (i: number) => string;
  readonly node: Node;
}

const g = (call: string) => `(yield* ${call})`;
const fnCall = (name: string, arity: number): Callee => ({ arity, emit: (a) => g(`$.fn.${name}(c, ${a.join(', ')})`) });
const pteFn = (name: string): Callee => ({ arity: 1, emit: (a) => `$.pte.${name}(${a[0]})` });
/** A function a revision may replace: called through the running revision's table. */
const revCall = (key: string, arity: number): Callee => ({ arity, emit: (a) => g(`c.rev.fns.${key}(c, ${a.join(', ')})`) });

const CALLEES: Record<string, Callee> = {
  page_folio: fnCall('page_folio', 1),
  folio_put_refs: fnCall('folio_put_refs', 2),
  folio_put: { arity: 1, emit: (a) => g(`$.fn.folio_put_refs(c, ${a[0]}, 1)`) },
  folio_ref_add: fnCall('folio_ref_add', 2),
  folio_ref_count: fnCall('folio_ref_count', 1),
  folio_ref_try_add_rcu: fnCall('folio_ref_try_add_rcu', 2),
  folio_ref_try_add: fnCall('folio_ref_try_add_rcu', 2),
  folio_test_anon: fnCall('folio_test_anon', 1),
  folio_test_dirty: fnCall('folio_test_dirty', 1),
  folio_test_hugetlb: fnCall('folio_test_hugetlb', 1),
  folio_test_ksm: fnCall('folio_test_ksm', 1),
  folio_test_large: fnCall('folio_test_large', 1),
  folio_test_slab: fnCall('folio_test_slab', 1),
  folio_test_swapcache: fnCall('folio_test_swapcache', 1),
  PageLRU: fnCall('PageLRU', 1),
  gup_put_folio: fnCall('gup_put_folio', 3),
  gup_must_unshare: fnCall('gup_must_unshare', 3),
  shmem_mapping: { arity: 1, emit: (a) => g(`$.shmem_mapping(c, ${a[0]})`) },
  secretmem_mapping: { arity: 1, emit: (a) => g(`$.secretmem_mapping(c, ${a[0]})`) },
  PageCompound: { arity: 1, emit: (a, x) => g(`$.PageCompound(c, ${a[0]}, ${x.site(`PageCompound(${x.text(0)}): test PG_head`)}, ${x.site(`PageCompound(${x.text(0)}): test compound_head`)})`) },
  is_zero_page: { arity: 1, emit: (a) => `$.is_zero_page(c, ${a[0]})` },
  is_zero_folio: { arity: 1, emit: (a) => `$.is_zero_page(c, ${a[0]})` },
  folio_is_longterm_pinnable: { arity: 1, emit: (a) => `$.longterm_pinnable(c, ${a[0]})` },
  is_longterm_pinnable_page: { arity: 1, emit: (a) => `$.longterm_pinnable(c, ${a[0]})` },
  folio_page: { arity: 2, emit: (a, x) => (x.text(1) === '0' ? a[0]! : unsupported(x.node, 'folio_page() of a page other than 0', 'folio_page(folio, 0)')) },
  irqs_disabled: { arity: 0, emit: () => `$.irqs_disabled(c)` },
  lockdep_assert_irqs_disabled: { arity: 0, emit: (_a, x) => `$.lockdep(c, ${JSON.stringify(x.fn)})` },
  WARN_ON_ONCE: { arity: 1, emit: (a, x) => `$.WARN(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): WARN_ON_ONCE(${x.text(0)})`)})` },
  WARN_ON: { arity: 1, emit: (a, x) => `$.WARN(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): WARN_ON(${x.text(0)})`)})` },
  VM_WARN_ON_ONCE: { arity: 1, emit: (a, x) => `$.WARN(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): VM_WARN_ON_ONCE(${x.text(0)})`)})` },
  VM_WARN_ON: { arity: 1, emit: (a, x) => `$.WARN(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): VM_WARN_ON(${x.text(0)})`)})` },
  VM_BUG_ON: { arity: 1, emit: (a, x) => `$.BUG(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): VM_BUG_ON(${x.text(0)})`)})` },
  VM_BUG_ON_FOLIO: { arity: 2, emit: (a, x) => `$.BUG(c, ${a[0]}, ${JSON.stringify(`${x.fn}(): VM_BUG_ON_FOLIO(${x.text(0)})`)})` },
  // The PTE walk (include/linux/pgtable.h, arch pgtable.h; src/kernel/pgtable.ts). pte_t values are the model's numbers.
  pte_present: pteFn('pte_present'),
  pte_none: pteFn('pte_none'),
  pte_protnone: pteFn('pte_protnone'),
  pte_special: pteFn('pte_special'),
  pte_devmap: pteFn('pte_devmap'),
  pte_write: pteFn('pte_write'),
  pte_dirty: pteFn('pte_dirty'),
  pte_pfn: pteFn('pte_pfn'),
  pte_access_permitted: { arity: 2, emit: (a) => `$.pte.pte_access_permitted(${a[0]}, !!(${a[1]}))` },
  pte_page: { arity: 1, emit: (a) => `c.k.page($.pte.pte_pfn(${a[0]}))` },
  pte_val: { arity: 1, emit: (a) => `(${a[0]})` },
  pmd_val: { arity: 1, emit: (a) => `(${a[0]})` },
  pud_val: { arity: 1, emit: (a) => `(${a[0]})` },
  pfn_valid: { arity: 1, emit: (a) => `((${a[0]}), true)` },
  pte_unmap: { arity: 1, emit: (a) => `((${a[0]}), undefined)` },
  // s390 secure guests only: a no-op on the architectures modelled.
  arch_make_page_accessible: { arity: 1, emit: (a) => `((${a[0]}), 0)` },
  arch_make_folio_accessible: { arity: 1, emit: (a) => `((${a[0]}), 0)` },
  // ZONE_DEVICE is not modelled: no PTE is devmap, and a dev_pagemap is never found.
  get_dev_pagemap: { arity: 2, emit: (a) => `((${a[0]}), (${a[1]}), 0)` },
  put_dev_pagemap: { arity: 1, emit: (a) => `((${a[0]}), undefined)` },
  undo_dev_pagemap: { arity: 4, emit: (a) => g(`$.undo_dev_pagemap(c, ${a.join(', ')})`) },
  gup_fast_undo_dev_pagemap: { arity: 4, emit: (a) => g(`$.undo_dev_pagemap(c, ${a.join(', ')})`) },
  folio_set_referenced: fnCall('folio_set_referenced', 1),
  smp_mb__after_atomic: { arity: 0, emit: () => 'undefined' },
  smp_rmb: { arity: 0, emit: () => 'undefined' },
  smp_mb: { arity: 0, emit: () => 'undefined' },
  node_stat_mod_folio: { arity: 3, emit: () => 'undefined' },
  // Functions a revision may replace: through the running revision, so patches compose.
  try_get_folio: revCall('try_get_folio', 2),
  try_grab_folio: revCall('try_grab_folio', 3),
  try_grab_folio_fast: revCall('try_grab_folio_fast', 3),
  folio_mapping: revCall('folio_mapping', 1),
  page_is_secretmem: { arity: 1, emit: (a) => g(`$.secretmem(c, ${a[0]})`) },
  folio_is_secretmem: { arity: 1, emit: (a) => g(`$.secretmem(c, ${a[0]})`) },
  folio_fast_pin_allowed: { arity: 2, emit: (a) => g(`$.fastPinAllowed(c, ${a[0]}, ${a[1]})`) },
  gup_fast_folio_allowed: { arity: 2, emit: (a) => g(`$.fastPinAllowed(c, ${a[0]}, ${a[1]})`) },
};

/** Macro-like calls with their own compilation (READ_ONCE, atomics on &x->f, IS_ENABLED, the page-table reads). */
const SPECIAL = [
  'READ_ONCE',
  'WRITE_ONCE',
  'IS_ENABLED',
  'atomic_read',
  'atomic_add',
  'atomic_sub',
  'atomic_inc',
  'atomic_add_unless',
  'atomic_set',
  'pte_offset_map',
  'ptep_get_lockless',
  'ptep_get',
  'gup_get_pte',
  'pmdp_get_lockless',
  'pmdp_get',
];

/** Every function name a patch can call that the model defines (a patch may not redefine the ones it cannot replace). */
export const CALLABLE_MODEL: ReadonlySet<string> = new Set([...Object.keys(CALLEES), ...SPECIAL]);

/** The PTE walks a patch may define: they keep the ghost books (see the header). */
export const WALKS: ReadonlySet<string> = new Set(['gup_pte_range', 'gup_fast_pte_range']);

const STATEMENTS = 'compound statements, declarations, expression statements, if/else, while, do/while, for, break, continue, return, goto and labels at the top level of the function body';
const EXPRESSIONS =
  'integer and bool literals, NULL, locals and parameters, the kernel constants, calls, x->field, &x->field in atomics, casts, unary ! - ~, binary arithmetic/bit/comparison/logical operators, ?:, the comma operator, = and compound assignment, ++ and --; page-table entry pointers (pte_t *ptep, pmd_t *pmdp: *ptep, ptep++, ptep_get_lockless(ptep), pte_offset_map(&pmd, addr)), struct page **pages (pages[i], pages[i] = page, pages + n) and int *nr (*nr, (*nr)++, *nr += n)';

/** What a pointer-typed local or parameter points at, when the compiler gives it pointer semantics. */
type PtrKind = 'entry' | 'pages' | 'int';

/** A declared C type: its base (`pte_t`, `struct page`, `unsigned long`) and how many `*`. */
export interface CType {
  readonly base: string;
  readonly depth: number;
}

function typeOf(typeNode: Node | null, declarator: Node | null): CType {
  let depth = 0;
  for (let d = declarator; d; d = d.childForFieldName('declarator')) if (d.type === 'pointer_declarator' || d.type === 'abstract_pointer_declarator') depth++;
  return { base: (typeNode?.text ?? '').replace(/\s+/g, ' ').trim(), depth };
}

function ptrKind(t: CType): PtrKind | undefined {
  if (t.depth === 1 && /^(pte_t|pmd_t|pud_t|p4d_t|pgd_t)$/.test(t.base)) return 'entry';
  if (t.depth === 2 && t.base === 'struct page') return 'pages';
  if (t.depth === 1 && /^((un)?signed )?(int|long|long long|short)$|^(un)?signed$/.test(t.base)) return 'int';
  return undefined;
}

export function unsupported(n: Node, what: string, supported: string): never {
  const p = n.startPosition;
  throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${locate(p.row, p.column)}: ${what}`, `supported: ${supported}`);
}

/** Where a position of the text being compiled is, for errors: file:line:col (a diff maps it to its own lines). */
export type Locator = (row: number, col: number) => string;
let locate: Locator = (row, col) => `<patch>:${row + 1}:${col + 1}`;
const fileLocator =
  (file: string): Locator =>
  (row, col) =>
    `${file}:${row + 1}:${col + 1}`;

/** A C function definition: its name, parameters and return kind. */
export interface CFunctionDecl {
  readonly name: string;
  readonly params: readonly string[];
  /** 'bool' (JS boolean), 'page' (struct page/folio pointer: object or null), 'int' (a number, also other pointers), 'void'. */
  readonly ret: 'bool' | 'page' | 'int' | 'void';
  /** The parameters' declared types. */
  readonly paramTypes: readonly CType[];
  readonly node: Node;
  readonly line: number;
  /** Where its positions are, for errors. */
  readonly at: Locator;
}

function declaratorName(d: Node | null): string | undefined {
  let n = d;
  while (n) {
    if (n.type === 'identifier' || n.type === 'field_identifier') return n.text;
    n = n.childForFieldName('declarator');
  }
  return undefined;
}

function retKind(typeText: string, declarator: Node): CFunctionDecl['ret'] {
  const ptr = declarator.type === 'pointer_declarator';
  if (!ptr) {
    if (typeText === 'bool' || typeText === '_Bool') return 'bool';
    if (typeText === 'void') return 'void';
    return 'int';
  }
  return /\bstruct\s+(folio|page)\b/.test(typeText) ? 'page' : 'int';
}

/** The function definitions of a translation unit (prototypes and other declarations are ignored). */
export function functionsOf(file: string, root: Node): CFunctionDecl[] {
  locate = fileLocator(file);
  const out: CFunctionDecl[] = [];
  for (const n of root.namedChildren) {
    if (!n) continue;
    if (n.type === 'comment' || n.type === 'declaration') continue;
    if (n.type !== 'function_definition') unsupported(n, `unsupported top-level C construct '${n.type}'`, 'function definitions (prototypes and comments are ignored)');
    out.push(functionDecl(n));
  }
  return out;
}

/** One function definition (a diff's, located with `at`). */
export function functionDeclAt(n: Node, at: Locator): CFunctionDecl {
  locate = at;
  return functionDecl(n);
}

function functionDecl(n: Node): CFunctionDecl {
  {
    const decl = n.childForFieldName('declarator')!;
    let fd: Node | null = decl;
    while (fd && fd.type !== 'function_declarator') fd = fd.childForFieldName('declarator');
    if (!fd) unsupported(n, 'a function definition without a parameter list', 'name(type a, type b) { ... }');
    const name = declaratorName(fd.childForFieldName('declarator'));
    if (!name) unsupported(n, 'a function definition without a name', 'name(type a, type b) { ... }');
    const params: string[] = [];
    const paramTypes: CType[] = [];
    for (const p of fd.childForFieldName('parameters')!.namedChildren) {
      if (!p || p.type === 'comment') continue;
      if (p.type !== 'parameter_declaration') unsupported(p, `unsupported parameter '${p.text}'`, 'named parameters');
      const pn = declaratorName(p.childForFieldName('declarator'));
      if (pn === undefined) {
        if (p.text.trim() === 'void') continue;
        unsupported(p, `a parameter without a name ('${p.text}')`, 'named parameters');
      }
      params.push(pn);
      paramTypes.push(typeOf(p.childForFieldName('type'), p.childForFieldName('declarator')));
    }
    return { name, params, paramTypes, ret: retKind(n.childForFieldName('type')!.text.trim(), decl), node: n, line: n.startPosition.row + 1, at: locate };
  }
}

interface FnInfo {
  /** Patched functions by name (callable from each other). */
  readonly patched: ReadonlyMap<string, CFunctionDecl>;
}

/** Compile one function to `function* name(c, ...) {...}` source, with its sites. */
export function compileFunction(display: string, f: CFunctionDecl, info: FnInfo, sites: Site[]): string {
  locate = f.at;
  const body = f.node.childForFieldName('body')!;
  const locals = new Map<string, string>();
  const jsName = (n: string) => `v_${n}`;
  for (const p of f.params) locals.set(p, jsName(p));
  const params = new Set(f.params);
  // Pointer semantics by declared type (see PtrKind).
  const kinds = new Map<string, PtrKind>();
  f.params.forEach((p, i) => {
    const k = ptrKind(f.paramTypes[i]!);
    if (k) kinds.set(p, k);
  });
  const isWalk = WALKS.has(f.name);
  const G = isWalk ? '$g' : 'null';
  // Pass 1: declarations, assignment counts, top-level labels.
  const assigns = new Map<string, Node[]>();
  const addressed = new Set<string>();
  const labels = new Map<string, number>();
  const visit = (n: Node, _top: boolean) => {
    if (n.type === 'declaration') {
      for (const d of n.childrenForFieldName('declarator')) {
        if (!d) continue;
        const name = declaratorName(d);
        if (!name) unsupported(d, `unsupported declarator '${d.text}'`, 'type name; type name = value;');
        if (d.type === 'array_declarator' || d.childForFieldName('declarator')?.type === 'array_declarator') unsupported(d, 'arrays', EXPRESSIONS);
        locals.set(name, jsName(name));
        const k = ptrKind(typeOf(n.childForFieldName('type'), d));
        if (k) kinds.set(name, k);
        else if (!params.has(name)) kinds.delete(name);
        if (d.type === 'init_declarator') (assigns.get(name) ?? assigns.set(name, []).get(name)!).push(d.childForFieldName('value')!);
      }
    } else if (n.type === 'assignment_expression') {
      const l = n.childForFieldName('left')!;
      if (l.type === 'identifier') {
        const arr = assigns.get(l.text) ?? assigns.set(l.text, []).get(l.text)!;
        // A compound assignment (|=, +=) counts twice: such a local is never re-loaded.
        if ((n.childForFieldName('operator')?.text ?? n.child(1)?.text) === '=') arr.push(n.childForFieldName('right')!);
        else arr.push(n, n);
      }
    } else if (n.type === 'update_expression') {
      const a = n.childForFieldName('argument')!;
      if (a.type === 'identifier') (assigns.get(a.text) ?? assigns.set(a.text, []).get(a.text)!).push(n, n);
    } else if (n.type === 'pointer_expression' && n.child(0)?.text === '&') {
      const a = n.childForFieldName('argument')!;
      if (a.type === 'identifier') addressed.add(a.text);
    } else if (n.type === 'labeled_statement') {
      unsupported(n, `label '${n.childForFieldName('label')!.text}' inside a nested block`, 'labels at the top level of the function body (goto out; ... out: return ...;)');
    }
    for (const ch of n.namedChildren) if (ch) visit(ch, false);
  };
  for (const st of body.namedChildren) {
    if (!st) continue;
    if (st.type === 'labeled_statement') {
      labels.set(st.childForFieldName('label')!.text, labels.size + 1);
      for (const ch of st.namedChildren) if (ch && ch.type !== 'statement_identifier') visit(ch, false);
    } else visit(st, false);
  }
  // Locals loaded again at each use: assigned once, from a plain load of a parameter's field.
  const remat = new Map<string, { obj: string; field: string }>();
  for (const [name, values] of assigns) {
    if (values.length !== 1 || params.has(name) || addressed.has(name)) continue;
    const v = stripCasts(values[0]!);
    if (v.type !== 'field_expression' || v.child(1)?.text !== '->') continue;
    const obj = v.childForFieldName('argument')!;
    const field = v.childForFieldName('field')!.text;
    if (obj.type !== 'identifier' || !params.has(obj.text) || assigns.has(obj.text) || !CELL_FIELDS.includes(field)) continue;
    remat.set(name, { obj: obj.text, field });
  }

  const siteOf = (n: Node, action: string): string => {
    const s = site(f.name, `${display}:${n.startPosition.row + 1} ${action}`);
    let i = sites.indexOf(s);
    if (i < 0) i = sites.push(s) - 1;
    return `$S[${i}]`;
  };

  const fieldCell = (n: Node): { obj: string; field: string; objNode: Node } => {
    // x->field (or (&x->page)->field) on a struct page/folio.
    if (n.type !== 'field_expression') unsupported(n, `'${n.text}' is not a field of a struct page or folio`, `x->field with field one of ${CELL_FIELDS.join(', ')}`);
    if (n.child(1)?.text !== '->') unsupported(n, `'${n.text}': '.' field access`, 'x->field on struct page / struct folio pointers');
    const objNode = n.childForFieldName('argument')!;
    const field = n.childForFieldName('field')!.text;
    if (!CELL_FIELDS.includes(field)) {
      unsupported(n, `field '${field}' of a struct page/folio is not modelled as shared memory${field === 'flags' ? ' (page flags are separate bits in the model: use folio_test_*() / PageLRU() / PageCompound())' : ''}`, `x->field with field one of ${CELL_FIELDS.join(', ')}, and mapping->a_ops`);
    }
    return { obj: expr(objNode), field: field === 'swap' ? 'private' : field, objNode };
  };

  /** The pointer kind of an expression (undefined: not one of the walk's pointers). */
  const kindOf = (n: Node): PtrKind | undefined => {
    const x = stripCasts(n);
    switch (x.type) {
      case 'identifier':
        return kinds.get(x.text);
      case 'binary_expression': {
        const op = x.childForFieldName('operator')!.text;
        if (op !== '+' && op !== '-') return undefined;
        return kindOf(x.childForFieldName('left')!) ?? (op === '+' ? kindOf(x.childForFieldName('right')!) : undefined);
      }
      case 'assignment_expression':
        return kindOf(x.childForFieldName('left')!);
      case 'update_expression':
        return kindOf(x.childForFieldName('argument')!);
      case 'comma_expression':
        return kindOf(x.childForFieldName('right')!);
      case 'call_expression':
        return x.childForFieldName('function')!.text === 'pte_offset_map' ? 'entry' : undefined;
      default:
        return undefined;
    }
  };

  const POINTERS = 'page-table entry pointers (pte_t *ptep, pmd_t *pmdp), struct page **pages and int *nr, declared with those types';

  /** A read of the entry `ptr` points at: one load, a scheduling point. */
  const entryRead = (n: Node, ptr: Node, label: string): string => {
    if (kindOf(ptr) !== 'entry') unsupported(ptr, `${label}: '${ptr.text}' is not a page-table entry pointer`, `reads of entries through pte_t * / pmd_t * locals and parameters (${POINTERS})`);
    return g(`$.entry(c, ${G}, ${expr(ptr)}, ${siteOf(n, label)})`);
  };

  /** `*p` as an lvalue of an int pointer (`*nr`): the JS expression of the cell. */
  const intTarget = (n: Node): string | undefined => {
    const x = stripParens(n);
    if (x.type !== 'pointer_expression' || x.child(0)!.text !== '*') return undefined;
    const a = x.childForFieldName('argument')!;
    if (kindOf(a) !== 'int') unsupported(x, `'${x.text}': a store through a pointer other than an int *`, POINTERS);
    return `${expr(a)}.v`;
  };

  const loadField = (n: Node, once: boolean): string => {
    const { obj, field } = fieldCell(n);
    return g(`$.load(c, ${obj}.${field}, ${siteOf(n, once ? `READ_ONCE(${n.text})` : `${n.text} (plain load)`)})`);
  };

  function expr(n: Node): string {
    switch (n.type) {
      case 'parenthesized_expression':
        return `(${expr(n.namedChildren[0]!)})`;
      case 'number_literal': {
        const t = n.text.replace(/[uUlL]+$/, '');
        const v = /^0[xX]/.test(t) ? parseInt(t.slice(2), 16) : /^0[0-7]+$/.test(t) ? parseInt(t.slice(1), 8) : Number(t);
        if (!Number.isFinite(v)) unsupported(n, `number '${n.text}'`, 'integer literals');
        return String(v);
      }
      case 'true':
        return 'true';
      case 'false':
        return 'false';
      case 'null':
        return '0';
      case 'identifier': {
        const name = n.text;
        const r = remat.get(name);
        if (r) return g(`$.load(c, ${jsName(r.obj)}.${r.field === 'swap' ? 'private' : r.field}, ${siteOf(n, `${r.obj}->${r.field} (plain load of '${name}', repeated at this use)`)})`);
        const l = locals.get(name);
        if (l) return l;
        if (name === 'NULL') return '0';
        const k = CONSTANTS[name];
        if (k !== undefined) return String(k);
        return unsupported(n, `unknown identifier '${name}'`, `parameters and locals of the function; NULL, true, false; the constants ${Object.keys(CONSTANTS).filter((x) => !x.startsWith('FOLL_')).join(', ')} and FOLL_*`);
      }
      case 'cast_expression':
        return expr(n.childForFieldName('value')!);
      case 'unary_expression': {
        const op = n.child(0)!.text;
        const a = expr(n.childForFieldName('argument')!);
        if (op === '!') return `!(${a})`;
        if (op === '-') return `(-(${a}))`;
        if (op === '+') return `(+(${a}))`;
        if (op === '~') return `$.bnot(${a})`;
        return unsupported(n, `unary operator '${op}'`, EXPRESSIONS);
      }
      case 'binary_expression': {
        const op = n.childForFieldName('operator')!.text;
        const l = n.childForFieldName('left')!;
        const r = n.childForFieldName('right')!;
        const isNull = (x: Node) => { const s = stripCasts(x); return s.type === 'null' || (s.type === 'identifier' && s.text === 'NULL'); };
        if ((op === '==' || op === '!=') && (isNull(l) || isNull(r))) {
          const other = expr(isNull(l) ? r : l);
          return op === '==' ? `!(${other})` : `!!(${other})`;
        }
        if ((op === '+' || op === '-') && (kindOf(l) || (op === '+' && kindOf(r)))) {
          if (op === '-' && kindOf(r)) return unsupported(n, `'${n.text}': the difference of two pointers`, POINTERS);
          if (kindOf(l) === 'int' || kindOf(r) === 'int') return unsupported(n, `'${n.text}': arithmetic on an int pointer`, POINTERS);
          const [p, k] = kindOf(l) ? [l, r] : [r, l];
          return `$.padd(${expr(p)}, ${op === '-' ? '-' : ''}(${expr(k)}))`;
        }
        const a = expr(l);
        const b = expr(r);
        switch (op) {
          case '&&':
            return `(!!(${a}) && !!(${b}))`;
          case '||':
            return `(!!(${a}) || !!(${b}))`;
          case '==':
            return `$.ceq(${a}, ${b})`;
          case '!=':
            return `!$.ceq(${a}, ${b})`;
          case '&':
            return `$.band(${a}, ${b})`;
          case '|':
            return `$.bor(${a}, ${b})`;
          case '^':
            return `$.bxor(${a}, ${b})`;
          case '<<':
            return `$.shl(${a}, ${b})`;
          case '>>':
            return `$.shr(${a}, ${b})`;
          case '/':
            return `$.div(${a}, ${b})`;
          case '+':
          case '-':
          case '*':
          case '%':
          case '<':
          case '>':
          case '<=':
          case '>=':
            return `((${a}) ${op} (${b}))`;
          default:
            return unsupported(n, `binary operator '${op}'`, EXPRESSIONS);
        }
      }
      case 'conditional_expression':
        return `((${expr(n.childForFieldName('condition')!)}) ? (${expr(n.childForFieldName('consequence')!)}) : (${expr(n.childForFieldName('alternative')!)}))`;
      case 'assignment_expression': {
        const l = n.childForFieldName('left')!;
        const op = n.childForFieldName('operator')?.text ?? n.child(1)!.text;
        const r = expr(n.childForFieldName('right')!);
        if (l.type === 'identifier') {
          if (remat.has(l.text)) return 'undefined'; // loaded at each use instead
          const v = locals.get(l.text);
          if (!v) return unsupported(l, `assignment to '${l.text}', which is not a local or parameter`, 'assignments to locals and parameters, and to x->field');
          const k = kinds.get(l.text);
          if (k && k !== 'int' && (op === '+=' || op === '-=')) return `(${v} = $.padd(${v}, ${op === '-=' ? '-' : ''}(${r})))`;
          if (k && op !== '=') return unsupported(n, `'${n.text}': assignment operator '${op}' on a pointer`, POINTERS);
          return assignOp(op, v, r, n);
        }
        const box = intTarget(l);
        if (box) {
          if (op !== '=' && op !== '+=' && op !== '-=') return unsupported(n, `assignment operator '${op}' on '${l.text}'`, '*nr = n, *nr += n, *nr -= n');
          return `(${box} ${op} ${r})`;
        }
        if (l.type === 'subscript_expression' && op === '=') {
          const arr = l.childForFieldName('argument')!;
          if (kindOf(arr) !== 'pages') return unsupported(l, `'${l.text}': arrays other than the pages array`, `pages[i] = page on struct page **pages (${POINTERS})`);
          return g(`$.pstore(c, ${G}, ${expr(arr)}, ${expr(l.childForFieldName('index')!)}, ${r})`);
        }
        if (l.type === 'field_expression' && op === '=') {
          const { obj, field } = fieldCell(l);
          return g(`$.store(c, ${obj}.${field}, ${r}, ${siteOf(n, `${l.text} = ${n.childForFieldName('right')!.text}`)})`);
        }
        return unsupported(n, `assignment to '${l.text}'`, 'assignments to locals and parameters, and plain stores x->field = value');
      }
      case 'update_expression': {
        const a = n.childForFieldName('argument')!;
        const opText = n.childForFieldName('operator')!.text;
        const postfix = n.child(0)!.type !== '++' && n.child(0)!.type !== '--';
        const box = intTarget(a);
        if (box) return postfix ? `(${box}${opText})` : `(${opText}${box})`;
        const v = a.type === 'identifier' ? locals.get(a.text) : undefined;
        if (!v || remat.has(a.text)) return unsupported(n, `'${n.text}': ++/-- on something other than a local or *nr`, EXPRESSIONS);
        const k = kinds.get(a.text);
        if (k === 'int') return unsupported(n, `'${n.text}': arithmetic on an int pointer`, POINTERS);
        if (k) {
          const d = opText === '++' ? 1 : -1;
          // Pointer ++/--: the value of p++ is the old pointer.
          return postfix ? `((${v} = $.padd(${v}, ${d})), $.padd(${v}, ${-d}))` : `(${v} = $.padd(${v}, ${d}))`;
        }
        return postfix ? `(${v}${opText})` : `(${opText}${v})`;
      }
      case 'field_expression': {
        const field = n.childForFieldName('field')!.text;
        if (field === 'a_ops') {
          const m = n.childForFieldName('argument')!;
          return g(`$.deref(c, ${expr(m)}, ${siteOf(n, `${n.text} (dereference ${m.text})`)})`);
        }
        return loadField(n, false);
      }
      case 'pointer_expression': {
        const op = n.child(0)!.text;
        const a = n.childForFieldName('argument')!;
        if (op === '&' && a.type === 'identifier' && /_aops$/.test(a.text)) return `$.aops(c, ${JSON.stringify(a.text)})`;
        if (op === '&' && a.type === 'field_expression' && a.childForFieldName('field')!.text === 'page') return expr(a.childForFieldName('argument')!);
        if (op === '*') {
          const k = kindOf(a);
          if (k === 'entry') return entryRead(n, a, `${n.text} (plain load)`);
          if (k === 'int') return `${expr(a)}.v`;
        }
        return unsupported(
          n,
          `'${n.text}': pointer ${op === '&' ? 'address-of' : 'dereference'}`,
          `&x->field as the argument of an atomic (atomic_read(&folio->_refcount)), &folio->page, &shmem_aops / &secretmem_aops, &pmd in pte_offset_map(&pmd, addr); *p on ${POINTERS}`,
        );
      }
      case 'call_expression':
        return call(n);
      case 'comma_expression':
        return `(${expr(n.childForFieldName('left')!)}, ${expr(n.childForFieldName('right')!)})`;
      case 'subscript_expression': {
        const a = n.childForFieldName('argument')!;
        if (kindOf(a) !== 'pages') return unsupported(n, `'${n.text}': arrays other than the pages array`, `pages[i] on struct page **pages (${POINTERS})`);
        return `$.pget(c, ${expr(a)}, ${expr(n.childForFieldName('index')!)})`;
      }
      default:
        return unsupported(n, `unsupported C construct '${n.type}' ('${n.text.split('\n')[0]!.slice(0, 40)}')`, EXPRESSIONS);
    }
  }

  function assignOp(op: string, v: string, r: string, n: Node): string {
    switch (op) {
      case '=':
        return `(${v} = ${r})`;
      case '+=':
      case '-=':
      case '*=':
        return `(${v} ${op} ${r})`;
      case '|=':
        return `(${v} = $.bor(${v}, ${r}))`;
      case '&=':
        return `(${v} = $.band(${v}, ${r}))`;
      case '^=':
        return `(${v} = $.bxor(${v}, ${r}))`;
      default:
        return unsupported(n, `assignment operator '${op}'`, '=, +=, -=, *=, |=, &=, ^=');
    }
  }

  function atomicCell(n: Node, arg: Node, what: string): { obj: string; field: string } {
    const inner = arg.type === 'pointer_expression' && arg.child(0)!.text === '&' ? arg.childForFieldName('argument')! : undefined;
    if (!inner || inner.type !== 'field_expression') unsupported(arg, `${what}() of '${arg.text}'`, `${what}(&x->field) on a struct page/folio field (${CELL_FIELDS.join(', ')})`);
    const { obj, field } = fieldCell(inner);
    void n;
    return { obj, field };
  }

  function call(n: Node): string {
    const fnNode = n.childForFieldName('function')!;
    if (fnNode.type !== 'identifier') return unsupported(n, `call through '${fnNode.text}'`, 'calls of functions by name');
    const name = fnNode.text;
    const args = n.childForFieldName('arguments')!.namedChildren.filter((x): x is Node => !!x && x.type !== 'comment');
    const text = (i: number) => args[i]?.text ?? '';
    const arity = (k: number) => {
      if (args.length !== k) unsupported(n, `${name}() takes ${k} argument${k === 1 ? '' : 's'}, given ${args.length}`, `${name}(${'x, '.repeat(k).slice(0, -2)})`);
    };
    if (SPECIAL.includes(name)) {
      switch (name) {
        case 'READ_ONCE': {
          arity(1);
          const a = stripParens(args[0]!);
          if (a.type === 'field_expression') return loadField(a, true);
          if (a.type === 'pointer_expression' && a.child(0)!.text === '*') return entryRead(n, a.childForFieldName('argument')!, `READ_ONCE(${a.text})`);
          if (a.type === 'identifier' && locals.has(a.text)) return expr(a); // a local: no shared access
          return unsupported(a, `READ_ONCE(${a.text})`, 'READ_ONCE(x->field) of a struct page/folio field');
        }
        case 'WRITE_ONCE': {
          arity(2);
          const { obj, field } = fieldCell(stripParens(args[0]!));
          return g(`$.store(c, ${obj}.${field}, ${expr(args[1]!)}, ${siteOf(n, `WRITE_ONCE(${text(0)}, ${text(1)})`)})`);
        }
        case 'IS_ENABLED': {
          arity(1);
          const cfg = args[0]!.text;
          if (cfg === 'CONFIG_SECRETMEM' || cfg === 'CONFIG_PROVE_LOCKING' || cfg === 'CONFIG_DEBUG_VM') return `$.config(c, ${JSON.stringify(cfg)})`;
          const v = CONFIGS[cfg];
          if (v === undefined) return unsupported(args[0]!, `unknown option ${cfg}`, `IS_ENABLED() of ${Object.keys(CONFIGS).join(', ')}`);
          return String(v);
        }
        case 'pte_offset_map': {
          arity(2);
          const a = stripParens(args[0]!);
          const v = a.type === 'pointer_expression' && a.child(0)!.text === '&' ? a.childForFieldName('argument')! : undefined;
          if (!v || v.type !== 'identifier' || !locals.has(v.text) || kinds.has(v.text)) {
            return unsupported(args[0]!, `pte_offset_map(${text(0)}, ...): the PMD must be given as &pmd, the address of a pmd_t value the walk read`, `pte_offset_map(&pmd, addr); ${POINTERS}`);
          }
          return `$.pte_offset_map(c, ${expr(v)}, ${expr(args[1]!)})`;
        }
        case 'ptep_get_lockless':
        case 'ptep_get':
        case 'gup_get_pte':
        case 'pmdp_get_lockless':
        case 'pmdp_get':
          arity(1);
          return entryRead(n, args[0]!, n.text.replace(/\s+/g, ' '));
        case 'atomic_read': {
          arity(1);
          const { obj, field } = atomicCell(n, args[0]!, name);
          return g(`$.load(c, ${obj}.${field}, ${siteOf(n, n.text)})`);
        }
        case 'atomic_set': {
          arity(2);
          const { obj, field } = atomicCell(n, args[0]!, name);
          return g(`$.store(c, ${obj}.${field}, ${expr(args[1]!)}, ${siteOf(n, n.text)})`);
        }
        case 'atomic_add':
        case 'atomic_sub':
        case 'atomic_inc': {
          arity(name === 'atomic_inc' ? 1 : 2);
          const target = args[name === 'atomic_inc' ? 0 : 1]!;
          const { obj, field } = atomicCell(n, target, name);
          const amount = name === 'atomic_inc' ? '1' : name === 'atomic_sub' ? `(-(${expr(args[0]!)}))` : expr(args[0]!);
          return g(`$.atomic_add(c, ${obj}.${field}, ${amount}, ${siteOf(n, n.text)})`);
        }
        case 'atomic_add_unless': {
          arity(3);
          const { obj, field } = atomicCell(n, args[0]!, name);
          return g(`$.atomic_add_unless(c, ${obj}.${field}, ${expr(args[1]!)}, ${expr(args[2]!)}, ${siteOf(n, n.text)})`);
        }
      }
    }
    const a = args.map(expr);
    if (isWalk) {
      // The walk's grabs and puts keep the ghost books (runtime.ts WalkFrame); GUP-fast grabs with try_grab_folio_fast().
      if (name === 'try_grab_folio' || name === 'try_grab_folio_fast' || name === 'try_get_folio') {
        arity(name === 'try_get_folio' ? 2 : 3);
        const key = name === 'try_get_folio' ? 'try_get_folio' : 'try_grab_folio_fast';
        return g(`$.grabbed(c, $g, $p = ${a[0]}, ${g(`c.rev.fns.${key}(c, $p, ${a.slice(1).join(', ')})`)})`);
      }
      if (name === 'gup_put_folio' || name === 'folio_put_refs' || name === 'folio_put') a[0] = `$.released(c, $g, ${a[0]})`;
    }
    const patched = info.patched.get(name);
    // A patched function that is not in the revision table (a helper, v7's check): called directly.
    if (patched && !(name in CALLEES)) {
      if (args.length !== patched.params.length) unsupported(n, `${name}() takes ${patched.params.length} arguments, given ${args.length}`, `${name}(${patched.params.join(', ')})`);
      return g(`$P.${name}(c${a.map((x) => `, ${x}`).join('')})`);
    }
    if (name === 'folio_longterm_write_pin_allowed') {
      arity(1);
      return g(`$.v7check(c, ${a[0]})`);
    }
    const callee = CALLEES[name];
    if (!callee) {
      return unsupported(n, `unknown function ${name}()`, `the functions of this patch and the model's ${[...Object.keys(CALLEES), ...SPECIAL, 'folio_longterm_write_pin_allowed'].sort().join(', ')}`);
    }
    const ar = callee.arity;
    if (typeof ar === 'number') arity(ar);
    return callee.emit(a, { site: (action) => siteOf(n, action), fn: f.name, text, node: n });
  }

  const stmtOut: string[] = [];
  const emit = (s: string) => stmtOut.push(s);
  const retConv = (v: string) => (f.ret === 'bool' ? `!!(${v})` : f.ret === 'page' ? `((${v}) || null)` : v);

  function stmt(n: Node): void {
    switch (n.type) {
      case 'comment':
        return;
      case 'compound_statement':
        emit('{');
        for (const ch of n.namedChildren) if (ch) stmt(ch);
        emit('}');
        return;
      case 'declaration':
        for (const d of n.childrenForFieldName('declarator')) {
          if (!d || d.type !== 'init_declarator') continue;
          const name = declaratorName(d)!;
          if (remat.has(name)) continue;
          emit(`${jsName(name)} = ${expr(d.childForFieldName('value')!)};`);
        }
        return;
      case 'expression_statement': {
        const e = n.namedChildren[0];
        if (e) emit(`${expr(e)};`);
        return;
      }
      case 'if_statement': {
        const cond = n.childForFieldName('condition')!;
        const cons = n.childForFieldName('consequence')!;
        emit(`if (${expr(cond)}) {`);
        const jump = jumpOf(cons);
        if (jump) {
          // For the explanation `gupcheck pin` prints: the C line and condition that made the function leave.
          const why = `${display}:${n.startPosition.row + 1}: ${stripParens(cond).text.replace(/\s+/g, ' ')}: ${jump.text.replace(/\s+/g, ' ').replace(/;$/, '')}`;
          emit(`c.why?.(${JSON.stringify(f.name)}, ${JSON.stringify(why)});`);
        }
        stmt(cons);
        const alt = n.childForFieldName('alternative');
        if (alt) {
          emit('} else {');
          stmt(alt.type === 'else_clause' ? alt.namedChildren[0]! : alt);
        }
        emit('}');
        return;
      }
      case 'while_statement':
        emit(`while (${expr(n.childForFieldName('condition')!)}) {`);
        stmt(n.childForFieldName('body')!);
        emit('}');
        return;
      case 'do_statement':
        emit('do {');
        stmt(n.childForFieldName('body')!);
        emit(`} while (${expr(n.childForFieldName('condition')!)});`);
        return;
      case 'for_statement': {
        const init = n.childForFieldName('initializer');
        if (init) {
          if (init.type === 'declaration') stmt(init);
          else emit(`${expr(init)};`);
        }
        const cond = n.childForFieldName('condition');
        const upd = n.childForFieldName('update');
        emit(`for (; ${cond ? expr(cond) : ''}; ${upd ? expr(upd) : ''}) {`);
        stmt(n.childForFieldName('body')!);
        emit('}');
        return;
      }
      case 'break_statement':
        emit('break;');
        return;
      case 'continue_statement':
        emit('continue;');
        return;
      case 'return_statement': {
        const v = n.namedChildren[0];
        emit(v ? `return ${retConv(expr(v))};` : 'return;');
        return;
      }
      case 'goto_statement': {
        const l = n.childForFieldName('label')!.text;
        const k = labels.get(l);
        if (k === undefined) unsupported(n, `goto ${l}: no label '${l}' at the top level of ${f.name}()`, 'labels at the top level of the function body');
        emit(`{ $pc = ${k}; continue $L; }`);
        return;
      }
      case 'labeled_statement':
        return unsupported(n, `label '${n.childForFieldName('label')!.text}' inside a nested block`, 'labels at the top level of the function body');
      default:
        return unsupported(n, `unsupported C statement '${n.type}'`, STATEMENTS);
    }
  }

  const topStmts = body.namedChildren.filter((x): x is Node => !!x);
  if (labels.size === 0) {
    for (const st of topStmts) stmt(st);
  } else {
    emit('let $pc = 0;');
    emit('$L: for (;;) { switch ($pc) { case 0:');
    for (const st of topStmts) {
      if (st.type === 'labeled_statement') {
        emit(`case ${labels.get(st.childForFieldName('label')!.text)}:`);
        for (const ch of st.namedChildren) if (ch && ch.type !== 'statement_identifier') stmt(ch);
      } else stmt(st);
    }
    emit('} break; }');
  }
  const decl = [...new Set([...locals.entries()].filter(([k]) => !params.has(k)).map(([, v]) => v))];
  const ps = f.params.map(jsName);
  let code = `${stmtOut.join('\n')}\n${f.ret === 'bool' ? 'return false;' : f.ret === 'page' ? 'return null;' : ''}`;
  // A walk's ghost frame: whatever it still watches when it returns, it stops watching.
  if (isWalk) code = `const $g = $.walk();\nlet $p;\ntry {\n${code}\n} finally {\n$.walkExit(c, $g);\n}`;
  return `function* ${f.name}(c${ps.map((p) => `, ${p}`).join('')}) {\n${decl.length ? `let ${decl.join(', ')};\n` : ''}${code}\n}`;
}

/** The goto or return an `if` leaves by: the consequence itself, or the last statement of its block. */
function jumpOf(n: Node): Node | undefined {
  if (n.type === 'goto_statement' || n.type === 'return_statement') return n;
  if (n.type !== 'compound_statement') return undefined;
  const last = n.namedChildren.filter((x): x is Node => !!x && x.type !== 'comment').at(-1);
  return last && (last.type === 'goto_statement' || last.type === 'return_statement') ? last : undefined;
}

function stripParens(n: Node): Node {
  let x = n;
  while (x.type === 'parenthesized_expression' && x.namedChildren[0]) x = x.namedChildren[0];
  return x;
}

function stripCasts(n: Node): Node {
  let x = n;
  for (;;) {
    if (x.type === 'parenthesized_expression' && x.namedChildren[0]) x = x.namedChildren[0];
    else if (x.type === 'cast_expression') x = x.childForFieldName('value')!;
    else return x;
  }
}
