/** Scenario files: valid ones parse; bad ones fail with what, where (line:col) and how to fix. */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenarios/parse.ts';

const good = `name: t
shows: a test
kernels: [6.5, 6.10]
layout:
  - { name: buf, backing: anon }
cpus:
  CPU0:
    - { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE] }
expect:
  - { finding: any, is: never }
`;

function err(src: string): ScenarioError {
  try {
    parseScenario('s.yaml', src);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario parser', () => {
  it('parses a valid file and keeps 6.10 as "6.10" (YAML would read 6.1)', () => {
    const p = parseScenario('s.yaml', good);
    expect(p.scenario.kernels).toEqual(['6.5', '6.10']);
    expect(p.scenario.layout[0]!.map).toBe('private');
  });
  it('accepts the same scenario as JSON', () => {
    const json = JSON.stringify({
      name: 't',
      shows: 'x',
      kernels: ['6.5'],
      layout: [{ name: 'buf', backing: 'anon' }],
      cpus: { CPU0: [{ op: 'touch', vma: 'buf' }] },
    });
    expect(parseScenario('s.json', json).scenario.name).toBe('t');
  });
  it('points a YAML syntax error at its line', () => {
    const e = err(good.replace('  - { name: buf, backing: anon }', '  - { name: buf, backing: anon'));
    expect(e.what).toMatch(/YAML syntax error/);
    expect(e.line).toBeGreaterThanOrEqual(5);
  });
  it('names an unknown key and where it is', () => {
    const e = err(good.replace('backing: anon }', 'backing: anon, bakcing: x }'));
    expect(e.what).toMatch(/unknown key 'bakcing'/);
    expect([e.line, e.col]).toEqual([5, 5]);
    expect(e.hint).toMatch(/spelling/);
  });
  it('lists the valid values for an enum', () => {
    const e = err(good.replace('backing: anon', 'backing: ext5'));
    expect(e.what).toMatch(/layout\[0\]\.backing: expected one of .*"ext4"/);
    expect(e.line).toBe(5);
  });
  it('refuses an unknown kernel revision', () => {
    const e = err(good.replace('[6.5, 6.10]', '[6.5, 6.9]'));
    expect(e.what).toMatch(/kernels\[1\]: expected one of/);
    expect(e.line).toBe(3);
  });
  it('lists the valid values where a value or a list of them is accepted (expect.kernel, expect.arch, owner), not "Invalid input"', () => {
    const KERNELS = /expected one of "6\.1", "v7", "6\.5", .*"next"/;
    let e = err(good.replace('{ finding: any, is: never }', '{ kernel: v8, finding: any, is: never }'));
    expect(e.what).toMatch(/^expect\[0\]\.kernel: expected one of "6\.1", "v7", "6\.5", .*"next", or a revision module \(.*\) \(got "v8"\)$/);
    expect(e.hint).toBe('use one of the listed values');
    e = err(good.replace('{ finding: any, is: never }', '{ kernel: [6.5, v8], finding: any, is: never }'));
    expect(e.what).toMatch(/^expect\[0\]\.kernel\[1\]: /);
    expect(e.what).toMatch(KERNELS);
    expect([e.line, e.col]).toEqual([10, 21]); // at v8
    e = err(good.replace('{ finding: any, is: never }', '{ arch: arm, finding: any, is: never }'));
    expect(e.what).toBe('expect[0].arch: expected one of "x86", "arm64" (got "arm")');
    e = err(good.replace('- { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE] }', '- { op: reuse, vma: buf, owner: slabb }'));
    expect(e.what).toBe('cpus.CPU0[0].owner: expected one of "slab", "kernel", "anon", "pagecache", "any" (got "slabb")');
  });
  it('an outcome value its CPU never records is refused with the values it does (it would make `never` hold for nothing)', () => {
    const e = err(good.replace('{ finding: any, is: never }', '{ outcome: { CPU0: pined-fast }, is: never }'));
    expect(e.what).toBe("expect[0].outcome.CPU0: pin_user_pages_fast never records 'pined-fast' (it records pinned-fast, fell-back, partial, none, or an errno name such as EFAULT)");
    expect([e.line, e.col]).toEqual([10, 24]);
    expect(() => parseScenario('s.yaml', good.replace('{ finding: any, is: never }', '{ outcome: { CPU0: EFAULT }, is: never }'))).not.toThrow();
  });
  it('an operation written without `op:` lists the operations', () => {
    const e = err(good.replace('- { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE] }', '- madvise_dontneed'));
    expect(e.what).toMatch(/^cpus\.CPU0\[0\]: expected an operation, a mapping such as \{ op: pin_user_pages_fast, vma: buf \} \(ops: pin_user_pages_fast, .*madvise_dontneed, .*reuse\)$/);
    expect(e.hint).toBe('give a mapping ({ key: value, ... })');
  });
  it('refuses a reference to a VMA that does not exist', () => {
    const e = err(good.replace('vma: buf,', 'vma: bfu,'));
    expect(e.what).toMatch(/no VMA named 'bfu'/);
    expect(e.hint).toMatch(/buf/);
    expect(e.line).toBe(8);
  });
  it('refuses layouts a process cannot set up', () => {
    expect(err(good.replace('backing: anon }', 'backing: anon, prot: r, touch: write }')).what).toMatch(/SIGSEGV/);
    expect(err(good.replace('backing: anon }', 'backing: secretmem, map: private }')).what).toMatch(/MAP_SHARED/);
  });
  it('refuses an unknown mutant with the list of mutants', () => {
    const e = err(good + 'mutants:\n  - { mutant: no-such-thing }\n');
    expect(e.what).toMatch(/unknown mutant 'no-such-thing'/);
    expect(e.hint).toMatch(/check-before-recheck/);
  });
  it('refuses huge numbers', () => {
    expect(err(good.replace('backing: anon }', 'backing: anon, pages: 1e12 }')).what).toMatch(/pages/);
  });
  it('survives an alias without an anchor and an alias bomb', () => {
    expect(err(good + 'x: *nope\n').what).toMatch(/alias/i);
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    expect(err(bomb).what).toMatch(/alias|unknown key/i);
  });
  it('refuses deep nesting before it can overflow the stack', () => {
    expect(err('name: ' + '['.repeat(5000) + ']'.repeat(5000)).what).toMatch(/nesting/);
  });
  it('needs a mapping at the top', () => {
    expect(err('- 1\n- 2\n').what).toMatch(/mapping/);
  });
});
