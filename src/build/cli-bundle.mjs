/**
 * The command line as one prebuilt module: src/cli/main.ts and everything it imports, bundled by
 * esbuild into dist/gupcheck.mjs (gitignored). bin/gupcheck.mjs runs it; loading the TypeScript
 * sources through tsx instead costs every command a transform of about a hundred files
 * (`gupcheck --version`: about 9x `node -e 0` through tsx, under 3x from the bundle; `npm run
 * bench` measures it). Plain JavaScript, so the bin can load it without tsx.
 *
 * Fresh or stale: the bundle's inputs (the src/ files esbuild read, this file, and
 * node_modules/.package-lock.json, which npm rewrites whenever it changes a package) are listed in
 * dist/gupcheck.inputs.json with their modification times and sizes. A start stats those files
 * and compares; any difference, or a file gone, rebuilds the bundle (about half a second) before
 * running it. Measured (105 inputs, file cache warm, machine loaded): 2.4 ms for the stat
 * check, 10.4 ms to read and hash them all (SHA-1), against 50-70 ms for `node -e 0`.
 *
 * What is bundled: our sources and the small pure-JavaScript packages every command loads
 * (commander, yaml, zod, cli-table3, picocolors). Everything else stays external and is loaded
 * from node_modules when used: esbuild, Babel (the frame compiler), TypeScript, tsx and any
 * package with files of its own to find. Each source's `import.meta.url` is rewritten to that
 * source's own URL (relative to the bundle), so the paths a module resolves from where it lives
 * (../../examples/, the worker bundles next to src/run/worker.ts, the viewer's sources) are the
 * same from the bundle as from the sources.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'src', 'cli', 'main.ts');
const DIST = join(ROOT, 'dist');
export const CLI_BUNDLE = join(DIST, 'gupcheck.mjs');
export const CLI_INPUTS = join(ROOT, 'dist', 'gupcheck.inputs.json');
const SELF = fileURLToPath(import.meta.url);
const LOCK = join(ROOT, 'node_modules', '.package-lock.json');
/** Bumped when the bundle's shape changes, so an old manifest never passes for a new builder. */
const FORMAT = 1;

/** Packages bundled in (with the packages they import); any other bare import stays external. */
const BUNDLED = new Set(['commander', '@commander-js/extra-typings', 'yaml', 'zod', 'cli-table3', 'picocolors']);

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function stamp(file) {
  try {
    const st = statSync(file);
    return [st.mtimeMs, st.size];
  } catch {
    return null;
  }
}

/** True when the bundle exists and every input has the modification time and size it was built from. */
export function cliBundleFresh() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(CLI_INPUTS, 'utf8'));
  } catch {
    return false;
  }
  if (manifest?.format !== FORMAT || !Array.isArray(manifest.inputs) || !existsSync(CLI_BUNDLE)) return false;
  for (const [rel, mtime, size] of manifest.inputs) {
    const s = stamp(join(ROOT, rel));
    if (!s || s[0] !== mtime || s[1] !== size) return false;
  }
  return true;
}

function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Build dist/gupcheck.mjs and its manifest now. Throws if esbuild is missing or the build fails. */
export async function buildCliBundle() {
  const esbuild = createRequire(import.meta.url)('esbuild');
  const res = await esbuild.build({
    entryPoints: { gupcheck: ENTRY },
    bundle: true,
    write: false,
    // Each command's code in chunks of its own (main.ts imports a command when it runs): a
    // command loads only what it uses. Chunks sit next to the entry, so every module's own URL
    // is the same relative path from any of them.
    splitting: true,
    outdir: DIST,
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: ['node20'],
    metafile: true,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
    // Bundled CommonJS packages (commander, cli-table3) require Node's built-ins.
    banner: { js: "import { createRequire as __gupcheckRequire } from 'node:module'; const require = __gupcheckRequire(import.meta.url);" },
    plugins: [
      {
        name: 'gupcheck-cli',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            // Imports inside a bundled package follow it; from our sources, only the allowed ones are bundled.
            if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined;
            return BUNDLED.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
          });
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
            const own = JSON.stringify(relative(DIST, args.path).split(sep).join('/'));
            const src = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`);
            return { contents: src, loader: 'ts' };
          });
        },
      },
    ],
  });
  const entry = res.outputFiles.find((f) => f.path === CLI_BUNDLE);
  if (!entry) throw new Error('esbuild produced no output for the command-line bundle');
  const inputs = new Set([SELF, LOCK]);
  for (const p of Object.keys(res.metafile.inputs)) {
    const abs = join(process.cwd(), p);
    if (!abs.includes(`${sep}node_modules${sep}`)) inputs.add(abs);
  }
  const listed = [];
  for (const abs of inputs) {
    const s = stamp(abs);
    if (s) listed.push([relative(ROOT, abs).split(sep).join('/'), s[0], s[1]]);
  }
  // Chunks first (their names carry a hash of their content), then the entry that imports them,
  // then the manifest: a process starting meanwhile sees a complete old or new bundle.
  const chunks = res.outputFiles.filter((f) => f !== entry);
  for (const f of chunks) if (!existsSync(f.path)) write(f.path, f.text);
  write(CLI_BUNDLE, entry.text);
  write(CLI_INPUTS, JSON.stringify({ format: FORMAT, inputs: listed }) + '\n');
  pruneChunks(new Set(chunks.map((f) => f.path)));
  return CLI_BUNDLE;
}

/** Remove chunks of earlier builds, once no process that started from them can still be loading them. */
function pruneChunks(keep) {
  const hour = Date.now() - 3600_000;
  for (const name of readdirSync(DIST)) {
    const p = join(DIST, name);
    if (!/^chunk-.*\.mjs$/.test(name) || keep.has(p)) continue;
    try {
      if (statSync(p).mtimeMs < hour) rmSync(p, { force: true });
    } catch {
      // another build removed it
    }
  }
}

/**
 * The module to run: the bundle (rebuilt first if stale), or undefined where it cannot be built
 * (no esbuild, a read-only install, a source that does not compile): the bin then falls back to
 * the sources through tsx, which reports a compile error better than the bundler would.
 */
export async function cliBundleUrl() {
  if (cliBundleFresh()) return pathToFileURL(CLI_BUNDLE).href;
  try {
    return pathToFileURL(await buildCliBundle()).href;
  } catch (e) {
    if (process.env.GUPCHECK_DEBUG) process.stderr.write(`gupcheck: cannot build ${relative(process.cwd(), CLI_BUNDLE)} (${e instanceof Error ? e.message : String(e)}); running the sources through tsx\n`);
    return undefined;
  }
}
