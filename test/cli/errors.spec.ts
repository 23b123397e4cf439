/**
 * Every kind of error the CLI gives a user (issue 7), as a user meets it in a real process: a
 * stable code in `gupcheck[ cmd]: error[CODE]: ...`, the place (option, file:line:col, path),
 * a `  fix:` line, exit 2, nothing on stdout and no JavaScript stack trace.
 *
 * Already covered elsewhere, not repeated here: pin's own argument errors and impossible setups
 * (cli.spec.ts), bad and foreign replay tokens (test/trust/replay.spec.ts), the thread and
 * --max-steps limits (test/trust/limits.spec.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLine, EXAMPLE, expectUserError, spawnCli, tmp } from '../trust/helpers.ts';

const OK = EXAMPLE('11-fast-pin-vs-munmap.yaml');

async function refused(args: string[], code: string, message: RegExp, place?: string): Promise<void> {
  const r = await spawnCli(args);
  expectUserError(r, code, message);
  if (place !== undefined) expect(errorLine(r.stderr)).toContain(place);
  expect(r.stdout).toBe('');
}

function scenario(name: string, src: string): string {
  const f = join(tmp(), name);
  writeFileSync(f, src);
  return f;
}

describe.concurrent('command-line syntax: GUPCHECK_USAGE, with the command and where to read its usage', () => {
  it('an unknown command', async () => {
    await refused(['frob'], 'GUPCHECK_USAGE', /unknown command 'frob'/);
  });
  it('an unknown command with --help is still an unknown command (not the main help and exit 0)', async () => {
    await refused(['nosuchcommand', '--help'], 'GUPCHECK_USAGE', /unknown command 'nosuchcommand'/);
    await refused(['-h', 'chek'], 'GUPCHECK_USAGE', /unknown command 'chek'/);
    await refused(['help', 'chek'], 'GUPCHECK_USAGE', /unknown command 'chek'/);
  });
  it('an unknown option names the option and the command', async () => {
    await refused(['check', '--bogus', OK], 'GUPCHECK_USAGE', /^gupcheck check: .*unknown option '--bogus'/);
    const r = await spawnCli(['check', '--bogus', OK]);
    expect(r.stderr).toMatch(/fix: run `gupcheck check --help`/);
  });
  it('a missing argument', async () => {
    await refused(['check'], 'GUPCHECK_USAGE', /missing required argument 'paths'/);
    await refused(['replay'], 'GUPCHECK_USAGE', /^gupcheck replay: .*missing required argument 'token'/);
  });
  it('an option without its value', async () => {
    await refused(['check', OK, '--kernel'], 'GUPCHECK_USAGE', /option '--kernel <revs>' argument missing/);
  });
});

describe.concurrent('paths: the path in the message', () => {
  it('a file that does not exist', async () => {
    await refused(['check', '/nonexistent/x.yaml'], 'GUPCHECK_FILE_NOT_FOUND', /no such file or directory/, '/nonexistent/x.yaml');
  });
  it('a directory without scenarios', async () => {
    const d = tmp();
    writeFileSync(join(d, 'notes.txt'), 'not a scenario\n');
    await refused(['check', d], 'GUPCHECK_NO_SCENARIOS', /no scenario files \(\*\.yaml, \*\.yml, \*\.json\)/, d);
  });
  it('a scenario path that cannot be read (a directory named like a scenario)', async () => {
    const d = tmp();
    mkdirSync(join(d, 'sub.yaml'));
    await refused(['check', d], 'GUPCHECK_FILE_UNREADABLE', /cannot read/, join(d, 'sub.yaml'));
  });
  it('an --out, --report or --save path that cannot be written', async () => {
    const d = tmp();
    const file = join(d, 'a-file');
    writeFileSync(file, '');
    await refused(['check', OK, '--out', file], 'GUPCHECK_CANNOT_WRITE', /cannot write/, file);
    await refused(['check', OK, '--out', d, '--report', join(file, 'r.html')], 'GUPCHECK_CANNOT_WRITE', /cannot write/, file);
    const tok = (JSON.parse((await spawnCli(['check', EXAMPLE('09-fast-pin-vs-unmap-reuse.yaml'), '--kernel', 'v7', '--arch', 'arm64', '--json', '--out', d])).stdout) as { results: { findings: { replay: string }[] }[] }).results[0]!.findings[0]!.replay;
    await refused(['replay', tok, '--save', join(file, 't.json')], 'GUPCHECK_CANNOT_WRITE', /cannot write/, file);
  });
});

describe.concurrent('scenario files: GUPCHECK_SCENARIO_INVALID at file:line:col', () => {
  it('a YAML syntax error', async () => {
    const f = scenario('syntax.yaml', 'name: x\nshows: [unclosed\n');
    await refused(['check', f], 'GUPCHECK_SCENARIO_INVALID', /YAML syntax error/, `${f}:3:1:`);
  });
  it('an unknown key', async () => {
    const f = scenario('key.yaml', 'name: x\nshows: y\nlayout:\n  - { name: buf, backing: anon, colour: red }\ncpus:\n  CPU0:\n    - { op: touch, vma: buf }\n');
    await refused(['check', f], 'GUPCHECK_SCENARIO_INVALID', /layout\[0\]: unknown key 'colour'/, `${f}:4:5:`);
  });
  it('a value of the wrong type or not in the list', async () => {
    const f = scenario('type.yaml', 'name: x\nshows: y\nlayout:\n  - { name: buf, backing: anon, pages: lots }\ncpus:\n  CPU0:\n    - { op: touch, vma: buf }\n');
    await refused(['check', f], 'GUPCHECK_SCENARIO_INVALID', /layout\[0\]\.pages/, `${f}:4:`);
    const g = scenario('enum.yaml', readFileSync(OK, 'utf8').replace('backing: anon', 'backing: ext9'));
    await refused(['check', g], 'GUPCHECK_SCENARIO_INVALID', /layout\[0\]\.backing/, `${g}:`);
  });
  it('a JSON scenario with a syntax error', async () => {
    const f = scenario('bad.json', '{"name": "x",\n "shows": }\n');
    await refused(['check', f], 'GUPCHECK_SCENARIO_INVALID', /./, `${f}:2:`);
  });
});

describe.concurrent('option values: the option, the valid values', () => {
  it('an unknown kernel, architecture or mutant', async () => {
    await refused(['check', OK, '--kernel', '9.9'], 'GUPCHECK_UNKNOWN_KERNEL', /unknown kernel revision '9\.9' \(valid: 6\.1, /);
    await refused(['check', OK, '--arch', 'sparc'], 'GUPCHECK_UNKNOWN_ARCH', /unknown architecture 'sparc' \(valid: x86, arm64\)/);
    await refused(['check', OK, '--mutant', 'nope'], 'GUPCHECK_UNKNOWN_MUTANT', /unknown mutant 'nope' \(valid: check-before-recheck, /);
  });
  it('an unknown strategy or scheme', async () => {
    await refused(['check', OK, '--strategy', 'bfs'], 'GUPCHECK_BAD_ARGUMENT', /unknown strategy 'bfs' \(valid: auto, dpor, naive, random, pct, stateful\)/);
    await refused(['check', OK, '--table-free', 'x'], 'GUPCHECK_BAD_ARGUMENT', /unknown --table-free scheme 'x'/);
    await refused(['check', OK, '--tlb-flush', 'x'], 'GUPCHECK_BAD_ARGUMENT', /unknown --tlb-flush scheme 'x'/);
  });
  it('a number out of range or not a number', async () => {
    await refused(['check', OK, '--seed', 'abc'], 'GUPCHECK_BAD_ARGUMENT', /--seed must be a whole number from 0 to 2147483647 \(got 'abc'\)/);
    await refused(['check', OK, '--max-executions', '0'], 'GUPCHECK_BAD_ARGUMENT', /--max-executions must be a whole number from 1/);
    await refused(['check', OK, '--max-steps', '5'], 'GUPCHECK_BAD_ARGUMENT', /--max-steps must be a whole number from 10/);
    await refused(['check', OK, '--preemption-bound', '-1'], 'GUPCHECK_BAD_ARGUMENT', /--preemption-bound must be a whole number from 0/);
    await refused(['check', OK, '--workers', '0'], 'GUPCHECK_BAD_ARGUMENT', /--workers must be a whole number from 1/);
  });
  it('a mutant that changes none of the scenario\'s kernels is an error, not "0/0 runs hold" and exit 0', async () => {
    // (--kernel alone always runs: it chooses revisions, and a kernel named there that the mutant
    // does not change is GUPCHECK_MUTANT_CHANGES_NOTHING, below; so this is the scenario's own list.)
    const f = scenario('only-6.1.yaml', readFileSync(OK, 'utf8').replace('kernels: [6.5, 6.15]', 'kernels: [6.1]').replace(/\nmutants:\n( {2}- .*\n)+/, '\n'));
    await refused(['check', f, '--mutant', 'no-read-once'], 'GUPCHECK_NO_RUNS', /nothing to check: no run of .* matches --mutant no-read-once \(no-read-once changes only /, f);
  });
  it('a mutant that changes nothing on a kernel named with --kernel: the mutant, the kernel, and where it does apply', async () => {
    const truncate = EXAMPLE('07-fast-pin-vs-truncate.yaml');
    await refused(['check', truncate, '--kernel', '6.1', '--mutant', 'no-read-once'], 'GUPCHECK_MUTANT_CHANGES_NOTHING', /mutant 'no-read-once' changes nothing on kernel 6\.1 .*would check the unmutated kernel/);
    const r = await spawnCli(['check', truncate, '--kernel', 'v7,6.5', '--mutant', 'check-before-recheck']);
    expectUserError(r, 'GUPCHECK_MUTANT_CHANGES_NOTHING', /changes nothing on kernel v7/);
    expect(r.stderr).toMatch(/fix: run it on a kernel it changes: 6\.5, jg-proposal-after-recheck, 6\.10, 6\.12, 6\.15, next/);
  });
  it('a scenario whose mutant run names a kernel the mutant does not change: file:line:col of the kernel', async () => {
    const f = scenario(
      'noop-mutant.yaml',
      readFileSync(OK, 'utf8').replace('  - { mutant: table-free-no-sync, kernel: 6.5, arch: arm64 }', '  - { mutant: table-free-no-sync, kernel: 6.5, arch: arm64 }\n  - { mutant: no-null-check, kernel: 6.1 }').replace('kernels: [6.5, 6.15]', 'kernels: [6.1, 6.5, 6.15]'),
    );
    await refused(['check', f], 'GUPCHECK_SCENARIO_INVALID', /mutants\[1\]\.kernel: mutant 'no-null-check' changes nothing on kernel 6\.1/, `${f}:11:`);
  });
  it('explain: an unknown finding id', async () => {
    await refused(['explain', 'nope'], 'GUPCHECK_UNKNOWN_FINDING', /unknown finding id 'nope' \(valid: .*limits\)/);
  });
});
