/**
 * Where a revision that is not built in comes from (docs/revisions.md, "Check your own patch"):
 * a revision module (`--kernel ./my-rev.ts`, or a path in a scenario's `kernels:`), or a built-in
 * base revision with C patches (`--kernel 6.1 --patch my-check.c`). A planned run carries its
 * source (plain data), so a worker thread can load the same revision before it explores the run
 * (src/patch/load.ts ensureKernel()).
 */
import { basename } from 'node:path';

export type KernelSource =
  | {
      readonly kind: 'module';
      /** The module's absolute path. */
      readonly path: string;
      /** How the user named it (for replay commands): the path as given. */
      readonly given: string;
    }
  | {
      readonly kind: 'patch';
      /** The built-in revision the patches apply to. */
      readonly base: string;
      /** The C files, absolute paths, in the order given. */
      readonly patches: readonly string[];
      /** The paths as given (for replay commands). */
      readonly given: readonly string[];
    };

/** The name a patched revision's runs carry everywhere: `6.1+my-check.c` (several: `6.1+a.c+b.c`). */
export function patchedName(base: string, patches: readonly string[]): string {
  return [base, ...patches.map((p) => basename(p))].join('+');
}

/** The options that load this revision again (for the replay command a trace prints). */
export function sourceOptions(s: KernelSource): string {
  const q = (p: string) => (/^[A-Za-z0-9_./+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  if (s.kind === 'module') return `--kernel ${q(s.path)}`;
  return `--kernel ${s.base}${s.patches.map((p) => ` --patch ${q(p)}`).join('')}`;
}

/** A key that names the same loaded revision (the load cache's key). */
export function sourceKey(s: KernelSource): string {
  return s.kind === 'module' ? `module:${s.path}` : `patch:${s.base}:${s.patches.join('\u0000')}`;
}
