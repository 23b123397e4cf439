/** Files written by the CLI: always to a temporary name, then renamed, so nothing half-written looks complete. */
import { accessSync, constants, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.ts';

export function writeAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/**
 * Refuse, before a long run, a directory that will not be writable when its results are: the
 * nearest existing ancestor must be a writable directory (a file of that name in the way, or no
 * permission, would otherwise fail only after the exploration).
 */
export function checkWritableDir(dir: string, option: string): void {
  let d = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch {
      const up = dirname(d);
      if (up === d) return;
      d = up;
      continue;
    }
    let ok = isDir;
    if (ok) {
      try {
        accessSync(d, constants.W_OK);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      throw new UserError(
        'GUPCHECK_CANNOT_WRITE',
        `cannot write ${dir} (${option}): ${isDir ? `${d} is not writable` : `${d} is a file, not a directory`}`,
        `choose another ${option} path`,
      );
    }
    return;
  }
}
