/**
 * Start-up (issue 16 item 1): bin/gupcheck.mjs runs the command line from a bundle prebuilt by
 * esbuild (dist/gupcheck.mjs, src/build/cli-bundle.mjs), not the TypeScript sources through tsx;
 * it rebuilds the bundle when a source changes and only then; a command loads only its own code,
 * so the main help lists commands from main.ts's table, which must say what each command says.
 * How fast it starts is measured by `npm run bench` (start-up row), not here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Help } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../../src/cli/main.ts';
import { gupcheck, ROOT } from './helpers.ts';

/** A copy of the parts of this checkout a user's install has, modification times kept. */
function copyInstall(parts: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gupcheck-install-'));
  for (const p of parts) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    const r = spawnSync('cp', ['-a', join(ROOT, p), join(dir, p)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
  return dir;
}

function run(dir: string, args: readonly string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'gupcheck.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const PIN = ['pin', '--kernel', '6.5', '--via', 'pin_user_pages_fast', '--write', '--longterm', '--backing', 'ext4', '--map', 'shared'];

describe('start-up from the prebuilt bundle', () => {
  it('runs --version, --help and pin from the bundle alone: a copy with no node_modules (so no tsx) answers them', () => {
    expect(gupcheck(['--version']).code).toBe(0); // builds dist/ here if a source changed
    const dir = copyInstall(['bin', 'src', 'dist', 'package.json', 'node_modules/.package-lock.json']);
    expect(run(dir, ['--version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const help = run(dir, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('check [options] <paths...>');
    const pin = run(dir, PIN);
    expect(pin.code, pin.stderr).toBe(0);
    expect(pin.stdout).toMatch(/result: EFAULT/);
  });

  it('rebuilds the bundle when a source changes, and not otherwise', () => {
    const dir = copyInstall(['bin', 'src', 'dist', 'package.json', 'examples']);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    expect(run(dir, ['--version']).code).toBe(0); // node_modules/.package-lock.json is another file here: one rebuild
    const bundle = join(dir, 'dist', 'gupcheck.mjs');
    const built = statSync(bundle).mtimeMs;
    expect(run(dir, ['--version']).stdout).toBe('0.1.0\n');
    expect(statSync(bundle).mtimeMs).toBe(built);
    const main = join(dir, 'src', 'cli', 'main.ts');
    writeFileSync(main, readFileSync(main, 'utf8').replace(".version('0.1.0')", ".version('9.8.7')"));
    expect(run(dir, ['--version']).stdout).toBe('9.8.7\n');
    expect(statSync(bundle).mtimeMs).toBeGreaterThan(built);
    // The worker pool and the model's files next to it still work from the rebuilt bundle.
    const r = run(dir, ['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7', '--arch', 'arm64', '--workers', '2', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wild-deref/);
  });

  it('output piped into a reader that stops early ends quietly, with no stack trace (gupcheck list | head -1)', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" bin/gupcheck.mjs list | head -1`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stdout).toMatch(/^scenarios /);
    expect(r.stderr).toBe('');
  });

  it('GUPCHECK_TSX=1 runs the sources through tsx (for development)', () => {
    const dir = copyInstall(['bin', 'src', 'package.json']);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const r = run(dir, ['--version'], { GUPCHECK_TSX: '1' });
    expect(r).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(() => statSync(join(dir, 'dist'))).toThrow(); // no bundle was built
  });

  it("the main help lists each command as the command's own definition does (commands load only when they run)", async () => {
    const help = new Help();
    const program = await buildProgram();
    for (const c of COMMANDS) {
      const real = program.commands.find((x) => x.name() === c.name)!;
      expect(c.term, c.name).toBe(help.subcommandTerm(real));
      expect(c.description, c.name).toBe(real.description());
    }
    expect(program.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
  });
});
