/**
 * Revisions from outside the tool, loaded once per thread and registered by name
 * (kernel/revisions/index.ts registerRevision), so the rest of gupcheck finds them like the
 * built-in ones: `--kernel ./my-rev.ts` and scenario `kernels:` paths (src/patch/module.ts), and
 * `--kernel BASE --patch FILE.c` (src/patch/c/). Worker threads call ensureKernel() with the
 * run's KernelSource before they explore it.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Revision } from '../kernel/revision.ts';
import { findRevision, isBuiltinRevision, registerRevision, REVISION_NAMES } from '../kernel/revisions/index.ts';
import { isModulePath } from '../scenarios/schema.ts';
import { loadRevisionModule, PatchError } from './module.ts';
import { loadCPatches } from './c/patch.ts';
import { type KernelSource, patchedName, sourceKey } from './source.ts';

const cache = new Map<string, Promise<Revision>>();

/** Load (once) and register the revision a source names. */
export function ensureKernel(s: KernelSource, opts: { typecheck?: boolean } = {}): Promise<Revision> {
  const key = sourceKey(s);
  let p = cache.get(key);
  if (!p) {
    p = loadSource(s, opts.typecheck ?? false).then((rev) => {
      const other = findRevision(rev.name);
      if (other && other !== rev && !cache.has(key)) throw new PatchError('GUPCHECK_MODULE_INVALID', `two revision modules are named '${rev.name}'`, 'give each revision its own name');
      registerRevision(rev);
      return rev;
    });
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function loadSource(s: KernelSource, typecheck: boolean): Promise<Revision> {
  if (s.kind === 'module') return loadRevisionModule(s.path, { typecheck });
  const base = findRevision(s.base);
  if (!base || !isBuiltinRevision(s.base)) {
    throw new PatchError('GUPCHECK_UNKNOWN_KERNEL', `--patch applies to a built-in revision; '${s.base}' is not one (valid: ${REVISION_NAMES.join(', ')})`, 'give --kernel one built-in revision as the base of the patch');
  }
  return loadCPatches(base, s.patches, patchedName(s.base, s.patches));
}

/** A module path as written (relative to `dir`), as a source; undefined when `spec` is not a module path. */
export function moduleSource(spec: string, dir: string): KernelSource | undefined {
  if (!isModulePath(spec)) return undefined;
  const path = isAbsolute(spec) ? spec : resolve(dir, spec);
  if (!existsSync(path)) {
    throw new PatchError('GUPCHECK_FILE_NOT_FOUND', `no such revision module: ${spec}${isAbsolute(spec) ? '' : ` (looked for ${path})`}`, 'check the path (in a scenario file it is relative to the scenario file)');
  }
  return { kind: 'module', path, given: spec };
}
