/**
 * Replay tokens are trustworthy (issue 6): every finding of every bundled example, on every
 * revision, architecture and mutant the examples run, replays from its token to exactly the
 * trace `gupcheck check` wrote; and a damaged or foreign token is refused with a clear error
 * (a stable code, a fix, exit 2, no stack trace), never replayed as something else.
 *
 * `check examples/` runs once (spawned, as a user runs it, about 10 s); the replays run in this
 * process through main() (about 24 of them), and a few refusals are repeated in a real process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/run/load.ts';
import { decodeToken, encodeToken, sourceHash, type TokenData } from '../../src/trace/token.ts';
import { BIN, EXAMPLE, expectUserError, gupcheck, ROOT, runMain, tmp } from './helpers.ts';

interface Finding {
  id: string;
  executions: number;
  replay: string;
  trace: string;
}
interface Result {
  scenario: string;
  kernel: string;
  arch: string;
  mutant: string | null;
  findings: Finding[];
}

const out = tmp();
let results: Result[] = [];
const findings = () => results.flatMap((r) => r.findings.map((f) => ({ r, f })));

beforeAll(() => {
  const r = gupcheck(['check', 'examples/', '--json', '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  results = (JSON.parse(r.stdout) as { results: Result[] }).results;
}, 300_000);

describe('every finding of every bundled example replays from its token to the trace check wrote', () => {
  it('the examples have findings on several revisions, arches and mutants, one trace file each', () => {
    const fs = findings();
    expect(fs.length).toBeGreaterThanOrEqual(20);
    expect(new Set(fs.map(({ r }) => r.scenario)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(fs.map(({ r }) => r.arch))).toEqual(new Set(['x86', 'arm64']));
    expect(fs.some(({ r }) => r.mutant !== null)).toBe(true);
    expect(fs.some(({ r }) => r.mutant === null)).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.trace.json')).length).toBe(fs.length);
  });

  it('replay TOKEN --json prints the trace file byte for byte, for the same finding', async () => {
    const fs = findings();
    let checked = 0;
    for (const { r, f } of fs) {
      const where = `${r.scenario} ${r.kernel}/${r.arch}${r.mutant ? ` +${r.mutant}` : ''} ${f.id}`;
      const rp = await runMain(['replay', f.replay, '--json']);
      expect(rp.stderr, where).toBe('');
      expect(rp.code, where).toBe(0);
      const written = readFileSync(f.trace, 'utf8');
      const replayed = JSON.parse(rp.stdout) as { finding: { id: string } | null; replay: string };
      // Structural first (a readable diff), then the bytes.
      expect(replayed, where).toEqual(JSON.parse(written));
      expect(replayed.finding?.id, where).toBe(f.id);
      expect(replayed.replay, where).toBe(f.replay);
      expect(rp.stdout, where).toBe(written);
      checked++;
    }
    expect(checked).toBe(fs.length);
    // Executions with two findings (e.g. 6.1's long-term pin that is then dirtied): the token
    // names its finding, or replay would show the execution's first one instead.
    expect(fs.filter(({ f }) => /:(?:[^:]*,)?f=/.test(f.replay)).length).toBeGreaterThanOrEqual(1);
    console.log(`replay: ${checked} tokens replayed to their trace files`);
  });
});

describe("a recorded trace's findings are exactly what its run found (issue 12)", () => {
  it('no trace reports a finding its run did not find, and end-of-run checks run only on traces that reach the end', () => {
    // record() used to conclude a minimized, cut-off prefix: the end-of-run refcount audit then
    // ran while CPUs were mid-operation, and 4 of the 24 traces carried a refcount finding their
    // run never had (slow-pin-hugetlb v7 x86/arm64, fast-pin-vs-unmap-reuse 6.5/arm64
    // +check-before-recheck, fast-pin-vs-thp-split 6.5/arm64 +plain-get).
    let endOfRun = 0;
    for (const { r, f } of findings()) {
      const where = `${r.scenario} ${r.kernel}/${r.arch}${r.mutant ? ` +${r.mutant}` : ''} ${f.id}`;
      const t = JSON.parse(readFileSync(f.trace, 'utf8')) as { finding: { id: string }; findings: { id: string; step: number }[]; ended: boolean };
      const runIds = new Set(r.findings.map((x) => x.id));
      expect(t.finding.id, where).toBe(f.id);
      expect(t.findings.map((x) => x.id), where).toContain(f.id);
      for (const x of t.findings) expect(runIds.has(x.id), `${where}: trace reports ${x.id}`).toBe(true);
      for (const x of t.findings.filter((y) => y.step < 0)) {
        expect(t.ended, `${where}: end-of-run ${x.id} on a trace that stops mid-run`).toBe(true);
        endOfRun++;
      }
    }
    expect(endOfRun).toBeGreaterThanOrEqual(1); // plain-get's refcount leak is a real end-of-run finding
  });
});

describe('the token shown in `gupcheck replay --help`', () => {
  it('replays (it goes stale when example 09 changes: copy the v7/arm64 wild-deref token from `check` then)', async () => {
    const help = await runMain(['replay', '--help']);
    const tok = /gupcheck replay (gc1:\S+)/.exec(help.stdout)?.[1];
    expect(tok).toBeDefined();
    const rp = await runMain(['replay', tok!, '--json']);
    expect(rp.stderr).toBe('');
    expect((JSON.parse(rp.stdout) as { finding: { id: string } }).finding.id).toBe('wild-deref');
    expect(findings().some(({ f }) => f.replay === tok)).toBe(true);
  });
});

describe('a damaged or foreign token is refused with a clear error', () => {
  /** A token for the v7/arm64 wild-deref of example 09 (a finding with a choice value in its schedule). */
  const base = () => {
    const f = findings().find(({ r, f }) => r.scenario === 'fast-pin-vs-unmap-reuse' && r.kernel === 'v7' && r.arch === 'arm64' && f.id === 'wild-deref');
    expect(f).toBeDefined();
    return f!.f.replay;
  };
  /** A token with a valid checksum for changed contents (as a buggy or hand-edited producer would make). */
  const reencode = (tok: string, change: Partial<TokenData>) => encodeToken({ ...decodeToken(tok), ...change });
  const refused = async (tok: string, code: string, message: RegExp, extra: string[] = []) => expectUserError(await runMain(['replay', tok, ...extra]), code, message);

  it('one character changed: the checksum catches it', async () => {
    const t = base();
    const i = t.indexOf(':0x') + 2; // inside the schedule
    const flipped = t.slice(0, i) + (t[i] === '1' ? '2' : '1') + t.slice(i + 1);
    expect(flipped).not.toBe(t);
    await refused(flipped, 'GUPCHECK_BAD_TOKEN', /corrupted \(its checksum does not match\)/);
    const lastFlipped = t.slice(0, -1) + (t.endsWith('0') ? '1' : '0');
    await refused(lastFlipped, 'GUPCHECK_BAD_TOKEN', /corrupted/);
  });

  it('truncated: anywhere, the token is refused', async () => {
    const t = base();
    await refused(t.slice(0, -3), 'GUPCHECK_BAD_TOKEN', /corrupted/);
    await refused(t.slice(0, t.lastIndexOf(':')), 'GUPCHECK_BAD_TOKEN', /expected 9 fields/);
    await refused(t.slice(0, 20), 'GUPCHECK_BAD_TOKEN', /expected 9 fields/);
    await refused('gc1:', 'GUPCHECK_BAD_TOKEN', /expected 9 fields/);
  });

  it('another format version, or not a token at all', async () => {
    const t = base();
    await refused('gc2' + t.slice(3), 'GUPCHECK_BAD_TOKEN', /token format gc2.*this gupcheck reads gc1/);
    await refused('fast-pin-vs-unmap-reuse', 'GUPCHECK_BAD_TOKEN', /not a gupcheck replay token/);
  });

  it("another scenario's source hash: refused as made for a different file", async () => {
    const other = sourceHash(loadScenario(EXAMPLE('07-fast-pin-vs-truncate.yaml')).source);
    await refused(reencode(base(), { source: other }), 'GUPCHECK_TOKEN_STALE', /changed since this token was made/);
  });

  it('a token for another scenario than the --scenario file', async () => {
    await refused(base(), 'GUPCHECK_TOKEN_MISMATCH', /the token is for scenario 'fast-pin-vs-unmap-reuse' but .*07-fast-pin-vs-truncate.yaml is 'fast-pin-vs-truncate'/, [
      '--scenario',
      EXAMPLE('07-fast-pin-vs-truncate.yaml'),
    ]);
    await refused(reencode(base(), { scenario: 'no-such-scenario' }), 'GUPCHECK_SCENARIO_NOT_FOUND', /'no-such-scenario', which is not a bundled example/);
  });

  it('a schedule naming a CPU the scenario does not have (as thread index 5, and 40 beyond the 32-thread mask)', async () => {
    const d = decodeToken(base());
    await refused(reencode(base(), { schedule: [5, ...d.schedule], values: [-1, ...d.values] }), 'GUPCHECK_TOKEN_MISMATCH', /step 0: thread 5 cannot run there/);
    await refused(reencode(base(), { schedule: [40, ...d.schedule], values: [-1, ...d.values] }), 'GUPCHECK_BAD_TOKEN', /thread 40/);
    await refused(reencode(base(), { schedule: [32, ...d.schedule], values: [-1, ...d.values] }), 'GUPCHECK_BAD_TOKEN', /thread 32/);
  });

  it('a schedule that runs past the end, or a choice value out of range', async () => {
    const d = decodeToken(base());
    await refused(reencode(base(), { schedule: [...d.schedule, 0, 0, 0], values: [...d.values, -1, -1, -1] }), 'GUPCHECK_TOKEN_MISMATCH', /cannot run there/);
    await refused(reencode(base(), { values: d.values.map((v) => (v >= 0 ? 99 : v)) }), 'GUPCHECK_TOKEN_MISMATCH', /bad choice value/);
  });

  it('a finding its schedule does not reach', async () => {
    await refused(reencode(base(), { finding: 'dirty-without-mkwrite' }), 'GUPCHECK_TOKEN_MISMATCH', /for finding 'dirty-without-mkwrite', which its schedule no longer reaches/);
  });

  it('a kernel, architecture, mutant or option this gupcheck does not know', async () => {
    await refused(reencode(base(), { kernel: 'v99' }), 'GUPCHECK_BAD_TOKEN', /kernel revision 'v99'/);
    await refused(reencode(base(), { arch: 'sparc' }), 'GUPCHECK_BAD_TOKEN', /architecture 'sparc'/);
    await refused(reencode(base(), { mutant: 'nope' }), 'GUPCHECK_BAD_TOKEN', /mutant 'nope'/);
    await refused(reencode(base(), { tableFree: 'zzz' }), 'GUPCHECK_BAD_TOKEN', /table-free scheme 'zzz'/);
    await refused(reencode(base(), { tlbFlush: 'zzz' }), 'GUPCHECK_BAD_TOKEN', /TLB-flush scheme 'zzz'/);
  });

  it('in a real process too: exit 2, the code, a fix and no stack trace', () => {
    const t = base();
    const bad = [t.slice(0, -3), reencode(t, { kernel: 'v99' }), reencode(t, { schedule: [32], values: [-1] })];
    for (const tok of bad) {
      const r = gupcheck(['replay', tok], { cwd: ROOT });
      expectUserError(r, 'GUPCHECK_BAD_TOKEN', /./);
      expect(r.stdout).toBe('');
    }
  });
});

describe("the replay command printed for a user's own scenario", () => {
  /*
   * Issue 16: only the bundled examples replayed from the printed command; a scenario of one's
   * own needs --scenario FILE. The command is taken from `check`'s output as printed, and run
   * through a shell (gupcheck being the real bin) from another directory, as a user pastes it.
   * The scenario's directory has a space in its name, so the path must be quoted to work.
   */
  it('carries --scenario with the absolute path and works when pasted into a shell elsewhere', () => {
    const mine = join(tmp(), 'my scenarios');
    mkdirSync(mine);
    const src = readFileSync(EXAMPLE('09-fast-pin-vs-unmap-reuse.yaml'), 'utf8').replace(/^name: .*$/m, 'name: my-race');
    writeFileSync(join(mine, 'my-race.yaml'), src);
    const r = gupcheck(['check', 'my-race.yaml', '--kernel', 'v7', '--arch', 'arm64', '--no-progress', '--out', join(mine, 'out')], { cwd: mine });
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('gupcheck replay gc1:my-race:v7:arm64:'));
    expect(line, r.stdout).toBeDefined();
    expect(line).toContain(` --scenario '${join(mine, 'my-race.yaml')}'`);
    const elsewhere = tmp();
    const sh = spawnSync('sh', ['-c', `gupcheck() { "${process.execPath}" "${BIN}" "$@"; }\n${line}`], { cwd: elsewhere, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(sh.stderr).toBe('');
    expect(sh.status).toBe(0);
    expect(sh.stdout).toMatch(/^wild-deref: /);
    expect(sh.stdout).toContain(`replay: ${line}`);
  });

  it('a bundled example, checked through a symlink to examples/, still replays by name', () => {
    const dir = tmp();
    symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
    const r = gupcheck(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7', '--arch', 'arm64', '--json', '--out', join(dir, 'out')], { cwd: dir });
    const f = (JSON.parse(r.stdout) as { results: { findings: { replay: string; command: string }[] }[] }).results[0]!.findings[0]!;
    expect(f.command).toBe(`gupcheck replay ${f.replay}`);
  });
});
