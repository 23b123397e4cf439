/**
 * Revisions from outside the tool (issue 15 items 1 and 2), checked as a user would: the real
 * binary, a revision module and a C file in a directory outside the repository, nothing edited
 * inside it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gupcheck, ROOT } from '../cli/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'gupcheck-outside-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EX09 = join(ROOT, 'examples/09-fast-pin-vs-unmap-reuse.yaml');

const MODULE = `// v7's check with one READ_ONCE, still before the PTE re-check.
import { derive, makeTryGrabFolioWithCheck, PAGE_MAPPING_FLAGS, READ_ONCE, shmem_mapping, site, v7, type Ctx, type Folio, type Step } from 'gupcheck/kernel';

const S_mapping = site('my_check', 'mapping = READ_ONCE(folio->mapping)');

function* my_check(c: Ctx, folio: Folio): Step<boolean> {
  const mapping = yield* READ_ONCE(c, folio.mapping, S_mapping);
  if (!mapping || mapping & PAGE_MAPPING_FLAGS) return true;
  return (yield* shmem_mapping(c, mapping)) === true;
}

export default derive(v7, {
  name: 'v7-read-once',
  title: 'v7 with READ_ONCE(mapping)',
  summary: "v7's check reading ->mapping once, still before the PTE re-check",
  fns: { try_grab_folio: makeTryGrabFolioWithCheck(my_check) },
});
`;
writeFileSync(join(dir, 'my-rev.ts'), MODULE);

describe('a bundled example on any revision', () => {
  it('runs 09 on 6.1 (which it does not list): not judged, exit 0; --strict fails it', () => {
    const r = gupcheck(['check', EX09, '--kernel', '6.1', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fast-pin-vs-unmap-reuse\s+6\.1\s+arm64\s+not judged/);
    expect(r.stdout).toMatch(/2 runs are not judged/);
    expect(r.stdout).toMatch(/6\.1\/arm64: no finding; outcomes: CPU0 fell-back ×\d+, pinned-fast ×\d+/);
    expect(gupcheck(['check', EX09, '--kernel', '6.1', '--arch', 'arm64', '--strict', '--no-progress']).code).toBe(1);
  });

  it('reports an expectation no run is judged by, and --strict makes it an error with file:line:col', () => {
    const f = join(dir, 'unjudged.yaml');
    writeFileSync(
      f,
      `name: unjudged
shows: an expectation for a kernel the scenario does not run
kernels: [6.5]
arches: [x86]
layout:
  - { name: buf, backing: anon, map: private, pages: 1 }
cpus:
  CPU0:
    - { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE, FOLL_LONGTERM] }
expect:
  - { finding: any, is: never }
  - { kernel: v7, finding: any, is: never }
`,
    );
    const r = gupcheck(['check', f, '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/never judged: .*unjudged\.yaml:12:5: expectation \[v7\] any finding: never: the scenario runs kernels 6\.5 on x86/);
    const s = gupcheck(['check', f, '--strict', '--no-progress']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/GUPCHECK_EXPECTATION_NEVER_JUDGED.*unjudged\.yaml:12:5/);
  });
});

describe('a revision module outside the repository', () => {
  it('is checked with --kernel ./my-rev.ts (relative to the working directory), its trace replayable with the command printed', () => {
    const r = gupcheck(['check', EX09, '--kernel', './my-rev.ts', '--arch', 'arm64', '--no-progress', '--out', join(dir, 'out')], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fast-pin-vs-unmap-reuse\s+v7-read-once\s+arm64\s+not judged\s+wild-deref/);
    const cmd = /gupcheck (replay gc1:\S+ --kernel \S+)/.exec(r.stdout)![1]!.split(' ');
    const replay = gupcheck(cmd, { cwd: dir });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^wild-deref:/);
    expect(replay.stdout).toMatch(/kernel v7-read-once, arm64/);
  });

  it('gives the same results on worker threads (the module is bound to each worker\'s model)', () => {
    const one = gupcheck(['check', EX09, '--kernel', join(dir, 'my-rev.ts'), '--json', '--out', join(dir, 'o1')]);
    const two = gupcheck(['check', EX09, '--kernel', join(dir, 'my-rev.ts'), '--json', '--workers', '2', '--out', join(dir, 'o2')]);
    const strip = (s: string) => (JSON.parse(s) as { results: { ms: number; findings: { trace: string }[] }[] }).results.map((x) => ({ ...x, ms: 0, findings: x.findings.map((f) => ({ ...f, trace: '' })) }));
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(strip(two.stdout)).toEqual(strip(one.stdout));
  });

  it('is named in a scenario\'s kernels: relative to the scenario file, and judged by expectations that name it', () => {
    const f = join(dir, 'mine.yaml');
    writeFileSync(
      f,
      `name: mine
shows: v7 with READ_ONCE still dereferences a reused page's mapping word on arm64
kernels: [./my-rev.ts]
arches: [arm64]
layout:
  - { name: buf, backing: anon, map: private, pages: 1 }
cpus:
  CPU0:
    - { op: pin_user_pages_fast, vma: buf, flags: [FOLL_WRITE, FOLL_LONGTERM] }
  CPU1:
    - { op: madvise_dontneed, vma: buf }
  CPU2:
    - { op: reuse, owner: kernel, vma: buf }
expect:
  - { kernel: ./my-rev.ts, finding: wild-deref, is: sometimes }
`,
    );
    const r = gupcheck(['check', f, '--no-progress', '--out', join(dir, 'o3')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mine\s+v7-read-once\s+arm64\s+as expected\s+wild-deref/);
    expect(gupcheck(['list', '--kernel', join(dir, 'my-rev.ts')]).stdout).toMatch(/derived from v7[^\n]*\n\s+replaces: try_grab_folio\(\)/);
  });

  it('that does not typecheck, throws, or does not parse: file:line:col, exit 2, no stack trace', () => {
    writeFileSync(join(dir, 'bad-type.ts'), MODULE.replace('return (yield* shmem_mapping(c, mapping)) === true;', 'return yield* shmem_mapping(c, mapping);'));
    writeFileSync(join(dir, 'throws.ts'), MODULE.replace('export default', "throw new Error('boom');\nexport default"));
    writeFileSync(join(dir, 'js-syntax.js'), 'export default {\n  name: "x",,\n};\n');
    const cases: [string, RegExp][] = [
      ['bad-type.ts', /does not typecheck: .*bad-type\.ts:9:3: Type 'boolean \| null' is not assignable to type 'boolean'/],
      ['throws.ts', /threw while loading: .*throws\.ts:\d+:\d+: boom/],
      ['js-syntax.js', /does not load: .*js-syntax\.js:2:\d+: /],
    ];
    for (const [file, want] of cases) {
      const r = gupcheck(['check', EX09, '--kernel', `./${file}`, '--no-progress'], { cwd: dir });
      expect(r.code, file).toBe(2);
      expect(r.stderr, file).toMatch(want);
      expect(r.stderr, file).not.toMatch(/\n\s+at /);
      expect(r.stdout, file).toBe('');
    }
  });

  it('and a C patch outside the repository', () => {
    writeFileSync(join(dir, 'my-check.c'), `static bool gup_fast_folio_allowed(struct folio *folio, unsigned int flags)\n{\n\tstruct address_space *mapping;\n\n\tif ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) != (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))\n\t\treturn true;\n\tif (folio_test_hugetlb(folio))\n\t\treturn true;\n\tmapping = READ_ONCE(folio->mapping);\n\tif (!mapping)\n\t\treturn false;\n\tif ((unsigned long)mapping & PAGE_MAPPING_FLAGS)\n\t\treturn (unsigned long)mapping & PAGE_MAPPING_ANON;\n\treturn shmem_mapping(mapping);\n}\n`);
    const r = gupcheck(['check', join(ROOT, 'examples/04-longterm-pin-writeback-ext4.yaml'), '--kernel', '6.12', '--patch', 'my-check.c', '--no-progress', '--out', join(dir, 'o4')], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/6\.12\+my-check\.c\s+x86\s+not judged/);
  });
});
