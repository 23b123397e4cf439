/**
 * `--check-model` on `check` and `replay` (docs/cli.md, "Checking the model"): the flag is
 * listed, and a run with it (the test suite's GUPCHECK_CHECK_MODEL cleared, so only the flag
 * turns the checks on) answers as a run without it does. That the checks run and fire is shown
 * on the model itself, native and compiled to frames, in test/kernel/invariants.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import { gupcheck } from './helpers.ts';

const OFF = { GUPCHECK_CHECK_MODEL: '' };

describe('gupcheck --check-model', () => {
  it('is listed by check --help and replay --help', () => {
    expect(gupcheck(['check', '--help']).stdout).toMatch(/--check-model\s+check the model's own invariants after every step/);
    expect(gupcheck(['replay', '--help']).stdout).toMatch(/--check-model\s+check the model's own invariants after every step/);
  });

  it('check with it gives the same verdicts, findings and counts as without it, worker threads included', () => {
    const args = ['check', 'examples/13-fast-pin-vs-close.yaml', 'examples/07-fast-pin-vs-truncate.yaml', '--json', '--out', '/tmp/gupcheck-check-model-test'];
    const strip = (s: string) => (JSON.parse(s) as { results: Record<string, unknown>[] }).results.map(({ ms: _ms, ...r }) => r);
    const plain = gupcheck(args, { env: OFF });
    const checked = gupcheck([...args, '--check-model', '--workers', '2'], { env: OFF });
    expect(plain.code).toBe(0);
    expect([checked.code, checked.stderr]).toEqual([0, '']);
    expect(strip(checked.stdout)).toEqual(strip(plain.stdout));
  });

  it('replay with it replays the finding', () => {
    const r = gupcheck(['check', 'examples/13-fast-pin-vs-close.yaml', '--kernel', '6.5', '--arch', 'arm64', '--mutant', 'no-irq-disable', '--json', '--out', '/tmp/gupcheck-check-model-test'], { env: OFF });
    const token = (JSON.parse(r.stdout) as { results: { findings: { id: string; replay: string }[] }[] }).results[0]!.findings.find((f) => f.id === 'wild-deref')!.replay;
    const rep = gupcheck(['replay', token, '--check-model'], { env: OFF });
    expect(rep.code).toBe(0);
    expect(rep.stdout).toMatch(/^wild-deref: page_is_secretmem\(\): dereferenced a freed address_space \(tmpfs:memfd:test\): use after free/);
  });
});
