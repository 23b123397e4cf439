/**
 * Loading a revision module from outside the tool (`--kernel ./my-rev.ts`, or a path in a
 * scenario's `kernels:`): docs/revisions.md, "Check your own patch".
 *
 * The module imports `gupcheck/kernel` (src/kernel/api.ts). That import must reach the very
 * instances of the model the tool is running, whether the tool runs from its sources (tsx), from a
 * bundle, or on a worker thread whose bundle holds its own copy of the model: a second copy would
 * have its own `site()` table and its own revision objects. So the module is not imported by
 * Node's resolver. esbuild bundles it (TypeScript or JavaScript, with its relative imports), and
 * the import of `gupcheck/kernel` becomes a read of the API object the running code put on
 * globalThis (API_KEY). The bundle is written to a temporary file and imported; source maps are on,
 * so an error thrown while the module loads points at the user's file and line.
 *
 * A TypeScript module is typechecked first against src/kernel/api.ts, when the TypeScript
 * compiler is installed (it is a devDependency); errors name file:line:col.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GupcheckError } from '../errors.ts';
import * as api from '../kernel/api.ts';
import type { Revision } from '../kernel/revision.ts';
import { isBuiltinRevision } from '../kernel/revisions/index.ts';
import { loadEsbuild } from '../build/esbuild.ts';

const API_KEY = Symbol.for('gupcheck.kernel.api');
const API_SOURCE = fileURLToPath(new URL('../kernel/api.ts', import.meta.url));

/** An input error about a revision module or a C patch: exit 2, with where and how to fix it. */
export class PatchError extends GupcheckError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, hint, 'input');
  }
}

/** The revision-name rule: it appears in tables, file names and replay tokens. */
export const REVISION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Make this thread's model the one `gupcheck/kernel` means. */
function publishApi(): void {
  (globalThis as Record<symbol, unknown>)[API_KEY] = api;
}

/** The virtual module `gupcheck/kernel` becomes inside the bundle: the running model's API. */
function apiShim(): string {
  const names = Object.keys(api).filter((n) => n !== 'default');
  return `const api = globalThis[Symbol.for('gupcheck.kernel.api')];\nif (!api) throw new Error('gupcheck/kernel is only available to modules gupcheck loads');\n${names.map((n) => `export const ${n} = api.${n};`).join('\n')}\n`;
}

interface TsModule {
  createProgram: (roots: string[], opts: Record<string, unknown>) => {
    getSyntacticDiagnostics: (f?: unknown) => readonly TsDiagnostic[];
    getSemanticDiagnostics: (f?: unknown) => readonly TsDiagnostic[];
    getSourceFiles: () => readonly { fileName: string }[];
  };
  flattenDiagnosticMessageText: (m: unknown, nl: string) => string;
  ScriptTarget: Record<string, number>;
  ModuleKind: Record<string, number>;
  ModuleResolutionKind: Record<string, number>;
}
interface TsDiagnostic {
  file?: { fileName: string; getLineAndCharacterOfPosition: (p: number) => { line: number; character: number } };
  start?: number;
  messageText: unknown;
}

function loadTypescript(): TsModule | undefined {
  try {
    return createRequire(import.meta.url)('typescript') as TsModule;
  } catch {
    return undefined;
  }
}

/** Typecheck a TypeScript revision module against the API; the first error, or undefined. */
export function typecheckModule(file: string): string | undefined {
  const ts = loadTypescript();
  if (!ts) return undefined;
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
    paths: { 'gupcheck/kernel': [API_SOURCE] },
  });
  const ours = dirname(dirname(API_SOURCE));
  const mine = program.getSourceFiles().filter((f) => !f.fileName.startsWith(ours) && !f.fileName.includes('/node_modules/'));
  for (const f of mine) {
    const diags = [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)];
    const d = diags[0];
    if (!d) continue;
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    return `${d.file?.fileName ?? file}:${pos.line + 1}:${pos.character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n  ')}`;
  }
  return undefined;
}

const HINT = 'a revision module default-exports derive(<a built-in revision>, { name, fns: {...} }) from gupcheck/kernel; see docs/revisions.md';

/** The first frame of an error's stack that is in the user's files (mapped through the source map). */
function userFrame(e: unknown, bundle: string): string | undefined {
  const stack = e instanceof Error ? (e.stack ?? '') : '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (file === bundle || file.startsWith(dirname(dirname(API_SOURCE)))) continue;
    if (file.includes('/node_modules/') || file.startsWith('node:')) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/**
 * Load a revision module: typecheck (TypeScript, when asked), bundle, import, check the revision
 * it exports. Errors are PatchErrors with file:line:col.
 */
export async function loadRevisionModule(file: string, opts: { typecheck: boolean }): Promise<Revision> {
  const shown = relative(process.cwd(), file) || file;
  try {
    readFileSync(file);
  } catch (e) {
    throw new PatchError('GUPCHECK_FILE_NOT_FOUND', `cannot read the revision module ${shown}: ${(e as Error).message}`, 'check the path (relative paths in a scenario are relative to the scenario file)');
  }
  if (opts.typecheck && /\.m?ts$/.test(file)) {
    const err = typecheckModule(file);
    if (err) throw new PatchError('GUPCHECK_MODULE_INVALID', `revision module does not typecheck: ${err}`, HINT);
  }
  const esbuild = loadEsbuild();
  if (!esbuild) throw new PatchError('GUPCHECK_MODULE_INVALID', `cannot load ${shown}: esbuild is not installed`, 'run npm ci in the gupcheck directory');
  let code: string;
  const dir = mkdtempSync(join(tmpdir(), 'gupcheck-rev-'));
  const bundle = join(dir, 'revision.mjs');
  try {
    const res = await esbuild.build({
      entryPoints: [file],
      // Where the bundle is written: the source map's paths are relative to it.
      outfile: bundle,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: ['node20'],
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [
        {
          name: 'gupcheck-kernel-api',
          setup(b) {
            b.onResolve({ filter: /^gupcheck\/kernel$/ }, () => ({ path: 'gupcheck/kernel', namespace: 'gupcheck-api' }));
            b.onLoad({ filter: /.*/, namespace: 'gupcheck-api' }, () => ({ contents: apiShim(), loader: 'js' }));
          },
        },
      ],
    });
    code = res.outputFiles[0]!.text;
  } catch (e) {
    const errs = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const x = errs?.[0];
    const where = x?.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1}: ` : `${shown}: `;
    rmSync(dir, { recursive: true, force: true });
    throw new PatchError('GUPCHECK_MODULE_INVALID', `revision module does not load: ${where}${x?.text ?? (e as Error).message}`, HINT);
  }
  publishApi();
  writeFileSync(bundle, code);
  const hadMaps = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(true);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(bundle).href)) as Record<string, unknown>;
  } catch (e) {
    const at = userFrame(e, bundle) ?? shown;
    throw new PatchError('GUPCHECK_MODULE_INVALID', `revision module threw while loading: ${at}: ${e instanceof Error ? e.message : String(e)}`, HINT);
  } finally {
    process.setSourceMapsEnabled(hadMaps);
    rmSync(dir, { recursive: true, force: true });
  }
  return checkRevision(mod.default ?? mod.revision, shown);
}

/** The module's export must be a derived revision with a new, valid name. */
function checkRevision(v: unknown, shown: string): Revision {
  const r = v as Partial<Revision> | undefined;
  if (!r || typeof r !== 'object' || typeof r.name !== 'string' || typeof r.fns !== 'object' || r.fns === null) {
    throw new PatchError('GUPCHECK_MODULE_INVALID', `${shown}:1:1: the module exports no revision (its default export must be derive(base, {...}))`, HINT);
  }
  if (!REVISION_NAME.test(r.name)) {
    throw new PatchError('GUPCHECK_MODULE_INVALID', `${shown}:1:1: revision name '${r.name}' is not a name (letters, digits, '.', '_' and '-', at most 64)`, 'give derive() a name such as my-check');
  }
  if (isBuiltinRevision(r.name)) {
    throw new PatchError('GUPCHECK_MODULE_INVALID', `${shown}:1:1: revision name '${r.name}' is a built-in revision's`, 'give your revision its own name (derive(base, { name: "my-check", ... }))');
  }
  for (const [k, f] of Object.entries(r.fns)) {
    if (f !== undefined && typeof f !== 'function') {
      throw new PatchError('GUPCHECK_MODULE_INVALID', `${shown}:1:1: fns.${k} is not a function`, HINT);
    }
  }
  return r as Revision;
}
