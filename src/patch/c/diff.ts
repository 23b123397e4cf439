/**
 * A unified diff as a patch (`--kernel 6.5 --patch fix.diff`, docs/revisions.md "A unified
 * diff"): the functions it changes, taken whole from its hunks. gupcheck has no mm/gup.c of any
 * revision to apply a diff to (the model is TypeScript), so a diff is read only where it holds
 * everything needed: every changed line must lie in a function whose whole new text is in the
 * hunk, which is what `git diff --function-context` (`-W`; `git format-patch -W`) makes. Each such
 * function then replaces the base revision's, exactly as the same function in a `.c` patch would.
 *
 * Refused, with the diff's file:line:col: a changed line outside any whole function (a hunk
 * made without -W, a macro, a struct), a changed line in a branch of a conditional the hunk does
 * not open or cannot evaluate, a function defined twice, a deleted function, a diff with no hunks.
 * Changed comments, blank lines and prototypes are allowed (they change nothing the model runs).
 * The conditionals around a hunk are not in it, so a changed function is assumed to be compiled
 * in (the code its author changed).
 */
import { PatchError } from '../module.ts';
import { functionDeclAt, type CFunctionDecl, type Locator } from './compile.ts';
import { type Fragment, parseFragment, syntaxError, type Node } from './parse.ts';

interface HunkLine {
  readonly kind: ' ' | '+' | '-';
  readonly text: string;
  /** 1-based line in the diff. */
  readonly diffLine: number;
}
interface Hunk {
  readonly diffLine: number;
  readonly newStart: number;
  readonly lines: readonly HunkLine[];
}
interface FileDiff {
  /** The file the diff changes, as its +++ line names it (a/ b/ prefixes off). */
  readonly path: string;
  readonly deleted: boolean;
  readonly diffLine: number;
  readonly hunks: Hunk[];
}

const HINT =
  "make the diff with whole functions in each hunk: git diff --function-context (-W), or git format-patch -W (outside a kernel tree, git needs '*.c diff=cpp' in .gitattributes, as the kernel's has, or -W stops at a goto label in column 0); or put the changed functions, whole, in a .c file";

/** Is this text a unified diff (rather than C)? */
export function looksLikeDiff(text: string): boolean {
  return /^--- .*\n\+\+\+ .*\n@@ -\d/m.test(text);
}

function stripPath(p: string): string {
  const path = p.replace(/\t.*$/, '').trim();
  return path === '/dev/null' ? path : path.replace(/^[ab]\//, '');
}

/** Parse the file sections and hunks of a unified diff (git diff, diff -u, git format-patch mail). */
export function parseDiff(shown: string, text: string): FileDiff[] {
  const lines = text.split('\n');
  const files: FileDiff[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('--- ') || !lines[i + 1]?.startsWith('+++ ')) continue;
    const path = stripPath(lines[i + 1]!.slice(4));
    const f: FileDiff = { path: path === '/dev/null' ? stripPath(lines[i]!.slice(4)) : path, deleted: path === '/dev/null', diffLine: i + 1, hunks: [] };
    files.push(f);
    i += 2;
    for (; i < lines.length; i++) {
      const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]!);
      if (!h) {
        if (lines[i]!.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) i--;
        if (lines[i]!.startsWith('diff ') || (lines[i]!.startsWith('--- ') && lines[i + 1]?.startsWith('+++ '))) break;
        continue;
      }
      let oldLeft = h[2] === undefined ? 1 : Number(h[2]);
      let newLeft = h[4] === undefined ? 1 : Number(h[4]);
      const hunk: Hunk = { diffLine: i + 1, newStart: Number(h[3]), lines: [] };
      const hl = hunk.lines as HunkLine[];
      for (i++; i < lines.length && (oldLeft > 0 || newLeft > 0); i++) {
        const l = lines[i]!;
        const c = l[0];
        if (c === '\\') continue; // \ No newline at end of file
        const kind = c === '+' || c === '-' ? c : ' ';
        if (c !== ' ' && c !== '+' && c !== '-' && l !== '') {
          throw new PatchError('GUPCHECK_PATCH_INVALID', `${shown}:${i + 1}:1: the hunk at line ${hunk.diffLine} ends early (expected ${oldLeft} more old and ${newLeft} more new lines)`, 'check the diff is complete and unedited');
        }
        if (kind !== '+') oldLeft--;
        if (kind !== '-') newLeft--;
        hl.push({ kind, text: l.slice(1), diffLine: i + 1 });
      }
      i--;
      if (oldLeft > 0 || newLeft > 0) throw new PatchError('GUPCHECK_PATCH_INVALID', `${shown}:${hunk.diffLine}:1: the hunk is cut short (the file ends)`, 'check the diff is complete and unedited');
      f.hunks.push(hunk);
    }
    i--;
  }
  return files;
}

/** A changed function of a diff: its declaration, and where its file's text comes from. */
export interface DiffFunction {
  readonly f: CFunctionDecl;
  /** The changed file, as sites name it (`mm/gup.c`): traces say `mm/gup.c:2563 ...`, the new file's lines. */
  readonly display: string;
}

const isCommentOrBlank = (t: string) => /^\s*($|\/\*|\*|\/\/)/.test(t);

/** The functions a unified diff changes, each whole (see the header). */
export async function functionsFromDiff(shown: string, text: string): Promise<DiffFunction[]> {
  const files = parseDiff(shown, text);
  if (!files.length || files.every((f) => !f.hunks.length)) {
    throw new PatchError('GUPCHECK_PATCH_INVALID', `${shown}:1:1: no hunks: this is not a unified diff`, 'give a unified diff (git diff -W) or a .c file with the changed functions');
  }
  const out: DiffFunction[] = [];
  for (const file of files) {
    if (file.deleted) throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${shown}:${file.diffLine}:1: the diff deletes ${file.path}`, HINT);
    for (const hunk of file.hunks) out.push(...(await hunkFunctions(shown, file.path, hunk)));
  }
  const seen = new Map<string, DiffFunction>();
  for (const d of out) {
    const other = seen.get(d.f.name);
    if (other) {
      throw new PatchError(
        'GUPCHECK_PATCH_INVALID',
        `${d.f.at(d.f.node.startPosition.row, 0)}: ${d.f.name}() is changed twice (also at ${other.f.at(other.f.node.startPosition.row, 0)}): two arms of a conditional the hunks do not show?`,
        'change one definition of each function',
      );
    }
    seen.set(d.f.name, d);
  }
  if (!out.length) throw new PatchError('GUPCHECK_PATCH_INVALID', `${shown}:1:1: the diff changes no function (only comments, blank lines or prototypes)`, HINT);
  return out;
}

async function hunkFunctions(shown: string, path: string, hunk: Hunk): Promise<DiffFunction[]> {
  // The hunk's new text, each line at its line in the new file (0-based rows from 0 to the last).
  const rows: string[] = [];
  const diffLineOf = new Map<number, number>();
  const changed = new Set<number>();
  /** Deleted runs: the new-file rows before and after them, and the deleted lines. */
  const deletions: { before: number; after: number; lines: HunkLine[] }[] = [];
  let row = hunk.newStart - 1;
  let run: HunkLine[] = [];
  const endRun = () => {
    if (run.length) deletions.push({ before: row - 1, after: row, lines: run });
    run = [];
  };
  for (const l of hunk.lines) {
    if (l.kind === '-') {
      run.push(l);
      continue;
    }
    endRun();
    while (rows.length < row) rows.push('');
    rows[row] = l.text;
    diffLineOf.set(row, l.diffLine);
    if (l.kind === '+') changed.add(row);
    row++;
  }
  endRun();
  const at: Locator = (r, col) => {
    const d = diffLineOf.get(r);
    return d === undefined ? `${shown}: ${path}:${r + 1}:${col + 1}` : `${shown}:${d}:${col + 2} (${path}:${r + 1})`;
  };
  const frag: Fragment = { at, unknown: new Set(), changed };
  const root = await parseFragment(shown, rows.join('\n'), frag);
  const top = root.namedChildren.filter((x): x is Node => !!x);
  const covering = (r: number) => top.find((n) => n.startPosition.row <= r && r <= n.endPosition.row);
  const taken = new Map<Node, CFunctionDecl>();
  const take = (n: Node, r: number): void => {
    if (taken.has(n)) return;
    const err = syntaxError(n);
    if (err) {
      const p = err.startPosition;
      const name = n.childForFieldName('declarator')?.text.split('(')[0]?.replace(/^\*+/, '').trim() || 'a changed function';
      throw new PatchError(
        'GUPCHECK_PATCH_INVALID',
        `${at(p.row, p.column)}: C syntax error in ${name}() (changed at ${path}:${r + 1}), or the hunk does not hold the whole function`,
        `check the C syntax (macros other than the kernel ones gupcheck knows must be written out), and ${HINT}`,
      );
    }
    taken.set(n, functionDeclAt(n, at));
  };
  /** A changed new-file row must be in a whole function, or be a comment, a blank or a prototype. */
  const place = (r: number, what: string, col = 0): void => {
    if (frag.unknown.has(r)) {
      throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${at(r, col)}: ${what} is in a branch of a preprocessor conditional the hunk does not open, or cannot evaluate`, 'give the hunk the conditional around the change (more context: git diff -W -U40), on one CONFIG_* option, or put the changed functions, whole, in a .c file');
    }
    const n = covering(r);
    if (n?.type === 'function_definition') {
      take(n, r);
      return;
    }
    // Outside a function: a comment (perhaps one the hunk shows only part of), a blank, a prototype.
    if (!n || n.type === 'comment' || (n.type === 'declaration' && !syntaxError(n)) || isCommentOrBlank(rows[r] ?? '')) return;
    const kind = /^(ERROR|\w+_statement|labeled_statement|expression_statement)$/.test(n.type) ? 'the hunk has only part of its function' : `it is in a ${n.type.replace(/_/g, ' ')}: gupcheck takes only changed functions`;
    throw new PatchError('GUPCHECK_PATCH_UNSUPPORTED', `${at(r, col)}: ${what} is not inside a whole function in its hunk (${kind})`, HINT);
  };
  for (const r of changed) {
    if (!rows[r]!.trim() && !frag.unknown.has(r)) continue;
    place(r, `the changed line ${path}:${r + 1}`, rows[r]!.search(/\S/));
  }
  for (const d of deletions) {
    if (d.lines.every((l) => isCommentOrBlank(l.text))) continue;
    // Deleted code belongs to the function around the gap: one function on both sides of it, or the
    // function of the lines that replace it (a '-' run next to a '+' run).
    const fn = (r: number) => {
      const n = covering(r);
      return n?.type === 'function_definition' ? n : undefined;
    };
    const a = fn(d.before);
    const b = fn(d.after);
    if (a && a === b) place(d.before, `the lines deleted at ${shown}:${d.lines[0]!.diffLine}`);
    else if (!(b && changed.has(d.after)) && !(a && changed.has(d.before))) {
      throw new PatchError(
        'GUPCHECK_PATCH_UNSUPPORTED',
        `${shown}:${d.lines[0]!.diffLine}:1: the lines deleted here are not inside a whole function in the hunk (a deleted function, or a hunk without its function's context)`,
        HINT,
      );
    }
  }
  return [...taken.values()].map((f) => ({ f, display: path }));
}
