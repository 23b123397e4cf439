/** Finding and loading scenario files (files, directories, bundled examples by name). */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GupcheckError } from '../errors.ts';
import { parseScenario, type ParsedScenario } from '../scenarios/parse.ts';

export class LoadError extends GupcheckError {}

/** The bundled examples directory. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

const SCENARIO_EXT = /\.(ya?ml|json)$/;

/** Expand paths (files and directories) to scenario files, in a stable order. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new LoadError('GUPCHECK_FILE_NOT_FOUND', `no such file or directory: ${p}`, 'check the path (run `gupcheck list` for the bundled scenarios)');
    const st = statSync(p);
    if (st.isDirectory()) {
      const files = readdirSync(p)
        .filter((f) => SCENARIO_EXT.test(f))
        .sort()
        .map((f) => join(p, f));
      if (!files.length) throw new LoadError('GUPCHECK_NO_SCENARIOS', `no scenario files (*.yaml, *.yml, *.json) in ${p}`, 'point at a directory with scenarios, or at a file');
      out.push(...files);
    } else out.push(p);
  }
  return out;
}

export function loadScenario(file: string): ParsedScenario {
  let src: string;
  try {
    src = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LoadError('GUPCHECK_FILE_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`, 'check the path and permissions');
  }
  return parseScenario(file, src);
}

/** Is this file one of the bundled examples (through any symlink)? `gupcheck replay` finds those by name. */
export function isBundled(file: string): boolean {
  try {
    return dirname(realpathSync(file)) === realpathSync(EXAMPLES_DIR).replace(/\/$/, '');
  } catch {
    return false;
  }
}

/** A bundled example by scenario name. */
export function findBundled(name: string): string | undefined {
  if (!existsSync(EXAMPLES_DIR)) return undefined;
  for (const f of readdirSync(EXAMPLES_DIR).filter((x) => SCENARIO_EXT.test(x))) {
    const file = join(EXAMPLES_DIR, f);
    const m = /^name:\s*([^\s#]+)/m.exec(readFileSync(file, 'utf8'));
    if (m?.[1] === name) return file;
  }
  return undefined;
}

export function bundledScenarios(): ParsedScenario[] {
  return scenarioFiles([EXAMPLES_DIR]).map(loadScenario);
}

export { resolve };
