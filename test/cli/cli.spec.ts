/** The CLI as a user runs it: exit codes, one-line errors with the valid values, JSON shapes. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gupcheck } from './helpers.ts';

describe('gupcheck CLI', () => {
  it('--help lists the commands', () => {
    const r = gupcheck(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['check', 'replay', 'pin', 'probe', 'matrix', 'list', 'explain']) expect(r.stdout).toContain(c);
  });

  it('pin answers with the result and the check that decided it', () => {
    const r = gupcheck(['pin', '--kernel', '6.5', '--via', 'pin_user_pages', '--write', '--longterm', '--backing', 'ext4', '--map', 'shared']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/result: EFAULT/);
    expect(r.stdout).toMatch(/check_vma_flags .*writable_file_mapping_allowed\(\) is false/);
  });

  it('pin says which path pinned when nothing refused: the slow path for --via pin_user_pages, not GUP-fast', () => {
    const slow = gupcheck(['pin', '--kernel', '6.5', '--via', 'pin_user_pages', '--write', '--longterm', '--backing', 'anon', '--map', 'private']);
    expect(slow.code).toBe(0);
    expect(slow.stdout).toMatch(/result: ok/);
    expect(slow.stdout).toContain('nothing refused it: the slow path (__get_user_pages()) pinned every page');
    expect(slow.stdout).not.toMatch(/GUP-fast/);
    const fast = gupcheck(['pin', '--kernel', '6.5', '--via', 'pin_user_pages_fast', '--write', '--backing', 'anon', '--map', 'private']);
    expect(fast.stdout).toContain('nothing refused it: GUP-fast pinned every page');
  });

  it("6.1's io_uring on ext4: EOPNOTSUPP, and says it pinned first, checked the VMAs, then unpinned; the finding is about that pin", () => {
    const r = gupcheck(['pin', '--kernel', '6.1', '--via', 'io_uring', '--backing', 'ext4', '--map', 'shared']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/result: EOPNOTSUPP/);
    const why = r.stdout.split('\n').filter((l) => /^\s+\d+\. /.test(l));
    expect(why).toHaveLength(3);
    expect(why[0]).toMatch(/^ +1\. io_pin_pages +pinned 1 of 1 page first \(FOLL_PIN\|FOLL_LONGTERM\|FOLL_WRITE\); the checks below run while the pin is held$/);
    expect(why[1]).toMatch(/^ +2\. io_pin_pages +"don't support file backed memory": ext4 VMA is neither shmem nor hugetlbfs: -EOPNOTSUPP$/);
    expect(why[2]).toMatch(/^ +3\. io_pin_pages +unpin_user_pages\(\): the 1 page pinned above is released again; the call returns EOPNOTSUPP$/);
    expect(r.stdout).toContain('findings (about the pin held over steps 1-3, which the call took and released before failing):\n  longterm-write-pin-on-dirty-tracked-file: ');
    const j = JSON.parse(gupcheck(['pin', '--kernel', '6.1', '--via', 'io_uring', '--backing', 'ext4', '--map', 'shared', '--json']).stdout) as { pinnedThenReleased?: number[] };
    expect(j.pinnedThenReleased).toEqual([1, 3]);
    // 6.5 refuses before pinning (check_vma_flags): nothing was pinned, nothing to say.
    const r65 = JSON.parse(gupcheck(['pin', '--kernel', '6.5', '--via', 'io_uring', '--backing', 'ext4', '--map', 'shared', '--json']).stdout) as { result: string; pinnedThenReleased?: number[]; path: [string, string][] };
    expect(r65.result).toBe('EFAULT');
    expect(r65.pinnedThenReleased).toBeUndefined();
    expect(r65.path.some(([, m]) => /first/.test(m))).toBe(false);
  });

  it('pin --json gives result and path', () => {
    const r = gupcheck(['pin', '--kernel', '6.1', '--via', 'io_uring', '--backing', 'xfs', '--map', 'private', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { result: string; path: [string, string][] };
    expect(j.result).toBe('EOPNOTSUPP');
    expect(j.path.at(-1)?.[0]).toBe('io_pin_pages');
  });

  it('bad arguments: one line naming the valid values, exit 2', () => {
    const r = gupcheck(['pin', '--kernel', '6.9', '--via', 'io_uring', '--backing', 'ext4', '--map', 'shared']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/unknown kernel revision '6\.9' \(valid: 6\.1, v7, 6\.5,.*next\)/);
    const b = gupcheck(['pin', '--kernel', '6.5', '--via', 'io_uring', '--backing', 'ext9', '--map', 'shared']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/unknown backing 'ext9' \(valid: anon, memfd/);
    const m = gupcheck(['pin', '--kernel', '6.5']);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/required option '--via <api>' not specified/);
    const i = gupcheck(['pin', '--kernel', '6.5', '--via', 'io_uring', '--backing', 'ext4', '--map', 'shared', '--prot', 'r', '--touch', 'write']);
    expect(i.code).toBe(2);
    expect(i.stderr).toMatch(/cannot set up this pin: a write touch on a PROT_READ mapping/);
  });

  it('probe --json: the exact keys, every combination that can be set up', () => {
    const r = gupcheck(['probe', '--kernel', '6.5', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, string>[];
    expect(rows).toHaveLength(5 * 8 * 2 * (3 + 2));
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['backing', 'map', 'mechanism', 'prot', 'result', 'touch']);
    const find = (m: string, b: string, map: string) => rows.find((x) => x.mechanism === m && x.backing === b && x.map === map && x.prot === 'rw' && x.touch === 'write')!.result;
    expect(find('gup_rw', 'ext4', 'shared')).toBe('EFAULT');
    expect(find('gup_rw_fast', 'ext4', 'shared')).toBe('EFAULT');
    expect(find('gup_ro', 'ext4', 'shared')).toBe('ok');
    expect(find('iouring', 'memfd', 'shared')).toBe('ok');
  });

  it('check: a scenario file with an error gives file:line:col and a fix, exit 2', () => {
    const d = mkdtempSync(join(tmpdir(), 'gupcheck-'));
    const f = join(d, 'bad.yaml');
    writeFileSync(f, 'name: bad\nshows: x\nlayout:\n  - { name: buf, backing: anon }\ncpus:\n  CPU0:\n    - { op: pin_user_pages_fast, vma: nope }\n');
    const r = gupcheck(['check', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:7:39: cpus.CPU0[0].vma: no VMA named 'nope' in the layout`);
    expect(r.stderr).toMatch(/fix: use one of: buf/);
    expect(r.stdout).toBe('');
  });

  it('check --json: the documented shape; exit 0 when every expectation holds', () => {
    const d = mkdtempSync(join(tmpdir(), 'gupcheck-'));
    const r = gupcheck(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7', '--arch', 'arm64', '--json', '--out', d]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { results: Record<string, unknown>[] };
    expect(j.results).toHaveLength(1);
    const res = j.results[0]!;
    for (const k of ['scenario', 'kernel', 'arch', 'mutant', 'verdict', 'findings', 'outcomes', 'executions', 'complete']) expect(res).toHaveProperty(k);
    expect(res.mutant).toBeNull();
    expect(res.verdict).toBe('holds');
    const f = (res.findings as { id: string; replay: string; trace: string }[])[0]!;
    expect(f.id).toBe('wild-deref');
    const trace = JSON.parse(readFileSync(f.trace, 'utf8')) as { version: number; replay: string };
    expect(trace.version).toBe(1);
    expect(trace.replay).toBe(f.replay);
    // The token replays to the same finding.
    const rp = gupcheck(['replay', f.replay, '--json']);
    expect(rp.code).toBe(0);
    expect((JSON.parse(rp.stdout) as { finding: { id: string } }).finding.id).toBe('wild-deref');
  });

  it("the verdict says 'as expected', apart from the findings beside it: a run that finds the crash it expects is not called fine", () => {
    const d = mkdtempSync(join(tmpdir(), 'gupcheck-'));
    const r = gupcheck(['check', 'examples/09-fast-pin-vs-unmap-reuse.yaml', '--kernel', 'v7,6.5', '--arch', 'arm64', '--out', d, '--no-progress']);
    expect(r.code).toBe(0);
    const row = (k: string) => r.stdout.split('\n').find((l) => new RegExp(`^ fast-pin-vs-unmap-reuse +${k.replace('.', '\\.')} +arm64 `).test(l))!;
    expect(row('v7')).toMatch(/ as expected +wild-deref /);
    expect(row('6.5')).toMatch(/ as expected +no finding /);
    expect(r.stdout).not.toMatch(/\bholds\b/);
    expect(r.stdout).toMatch(/^3\/3 runs as expected \(2 with the findings expected, 1 with no finding\)\. Model: /m);
  });

  it('check exits 1 when an expectation fails', () => {
    const d = mkdtempSync(join(tmpdir(), 'gupcheck-'));
    const f = join(d, 'wrong.yaml');
    writeFileSync(
      f,
      readFileSync('examples/09-fast-pin-vs-unmap-reuse.yaml', 'utf8').replace('{ kernel: v7, arch: arm64, finding: wild-deref, is: sometimes }', '{ kernel: v7, arch: arm64, finding: wild-deref, is: never }'),
    );
    const r = gupcheck(['check', f, '--kernel', 'v7', '--arch', 'arm64', '--out', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ NOT as expected +wild-deref /);
    expect(r.stdout).toMatch(/^NOT as expected: fast-pin-vs-unmap-reuse on v7\/arm64$/m);
    expect(r.stdout).toMatch(/^0\/1 run as expected, 1 NOT as expected\. /m);
    expect(r.stdout).toMatch(/expected wild-deref: never, observed in \d+ of \d+ executions/);
  });

  it('replay: a corrupted token is a clear error, exit 2', () => {
    const r = gupcheck(['replay', 'gc1:fast-pin-vs-unmap-reuse:v7:arm64:-::0x9,1x16:293e3bd9:000000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/corrupted/);
  });

  it('list and explain', () => {
    const l = gupcheck(['list']);
    expect(l.code).toBe(0);
    for (const s of ['fast-pin-vs-unmap-reuse', 'jg-proposal', 'check-before-recheck', 'wild-deref']) expect(l.stdout).toContain(s);
    const e = gupcheck(['explain', 'wild-deref']);
    expect(e.stdout).toMatch(/before the PTE re-check/);
    expect(gupcheck(['explain', 'nope']).code).toBe(2);
  });
});
