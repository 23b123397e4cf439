/**
 * The real-kernel oracle, end to end: `gupcheck oracle` boots Debian's stock 6.1 and 6.12
 * kernels under QEMU (TCG), runs every io_uring row of `gupcheck probe` in them, and every row
 * must agree with the model. The tools and kernel packages are installed/downloaded by the
 * pretest step (scripts/ensure-oracle.sh runs `gupcheck oracle --prepare`), so this file only
 * boots. It adds about a minute to `npm test` (two boots of 15-45 s each, depending on load).
 *
 * The gup_test rows need a kernel built with CONFIG_GUP_TEST (`gupcheck oracle --build-kernel
 * 6.12`, tens of minutes): that is a documented command (docs/cli.md, "oracle"), not part of
 * every test run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../src/answer/probe.ts';
import type { OracleReport } from '../../src/oracle/oracle.ts';
import { parseResults, type GuestOutput } from '../../src/oracle/protocol.ts';
import { guestProblems, warnings } from '../../src/oracle/guest.ts';
import type { Kernel } from '../../src/oracle/kernels.ts';
import { ROOT } from '../cli/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/gupcheck.mjs', import.meta.url));

function oracle(args: readonly string[]) {
  const r = spawnSync(process.execPath, [BIN, 'oracle', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 1_500_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('gupcheck oracle on the stock 6.1 and 6.12 kernels', () => {
  let report: OracleReport;
  let ran: ReturnType<typeof oracle>;

  beforeAll(() => {
    ran = oracle(['--kernel', '6.1,6.12', '--json']);
    expect([0, 1], `gupcheck oracle could not run (exit ${ran.code}):\n${ran.stderr}`).toContain(ran.code);
    report = JSON.parse(ran.stdout) as OracleReport;
  }, 1_500_000);

  it('runs every io_uring row of the probe on each kernel, in one boot each', () => {
    expect(report.kernels.map((k) => [k.name, k.kind, k.modelRevision])).toEqual([
      ['6.1', 'stock', '6.1'],
      ['6.12', 'stock', '6.12'],
    ]);
    for (const k of report.kernels) {
      const want = probe(k.modelRevision, 'x86').filter((r) => r.mechanism === 'iouring');
      expect(k.rows.map((r) => [r.mechanism, r.backing, r.map, r.prot, r.touch, r.model])).toEqual(want.map((r) => [r.mechanism, r.backing, r.map, r.prot, r.touch, r.result]));
      expect(k.release.startsWith(k.name === '6.1' ? '6.1.0-' : '6.12.')).toBe(true);
      expect(k.notRun?.rows).toBe(probe(k.modelRevision, 'x86').length - want.length);
    }
  });

  it("answers with the kernel's own results: 6.1's io_pin_pages refuses ext4 buffers with EOPNOTSUPP, 6.12 pins a private one", () => {
    const row = (name: string) => report.kernels.find((k) => k.name === name)!.rows.find((r) => r.backing === 'ext4' && r.map === 'private' && r.prot === 'rw' && r.touch === 'write')!;
    expect(row('6.1').kernel).toBe('EOPNOTSUPP');
    expect(row('6.12').kernel).toBe('ok');
    // PROT_READ: FOLL_WRITE on a read-only VMA is -EFAULT on both (check_vma_flags()).
    for (const k of report.kernels) expect(k.rows.filter((r) => r.prot === 'r').every((r) => r.kernel === 'EFAULT')).toBe(true);
  });

  it('finds no difference between the kernels and the model on any io_uring row', () => {
    const lines = report.kernels.flatMap((k) =>
      k.differences.map((d) => `${k.release} (model ${k.modelRevision}): ${d.what}: kernel ${d.kernel}, model ${d.model}${d.modelPath.length ? `\n    model's path: ${d.modelPath.join('; ')}` : ''}`),
    );
    expect(lines, `the model differs from the real kernel on ${lines.length} io_uring row(s); the model is wrong there (or the kernel changed): fix src/kernel/ or document the row as left out\n${lines.join('\n')}`).toEqual([]);
    expect(ran.code).toBe(0);
    expect(report.differences).toBe(0);
  });
});

describe('a boot that does not finish is an error, not a result', () => {
  it('a guest that runs out of time exits 4 with the console and prints no rows', () => {
    const r = oracle(['--kernel', '6.12', '--timeout', '1']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/error\[GUPCHECK_ORACLE_GUEST_FAILED\]: .*did not finish within 1 s; nothing from this boot is reported/);
    expect(r.stderr).toMatch(/fix: /);
  }, 600_000);
});

describe('usage errors come before anything is installed or booted', () => {
  it('an unknown kernel or model revision exits 2 and lists the valid ones', () => {
    const k = oracle(['--kernel', '5.4']);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain("error[GUPCHECK_BAD_ARGUMENT]: unknown stock kernel (--kernel) '5.4' (valid: 6.1, 6.12)");
    const m = oracle(['--kernel', '6.12', '--model', '6.9']);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain("error[GUPCHECK_UNKNOWN_KERNEL]: unknown kernel revision '6.9'");
    const b = oracle(['--build-kernel', '6.5', '--timeout', 'soon']);
    expect(b.code).toBe(2);
    expect(b.stdout).toBe('');
  });
});

describe('a missing tool is one clear error', () => {
  it('without QEMU, gcc or busybox-static and no apt-get to install them, exits 4 naming each tool and its package', () => {
    const r = spawnSync(process.execPath, [BIN, 'oracle', '--prepare', '--kernel', '6.12'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^gupcheck: error\[GUPCHECK_ORACLE_TOOL_MISSING\]: missing: qemu-system-x86_64 \(boots the kernels under TCG\), gcc \(builds the guest probe\), .*and this system has no apt-get to install qemu-system-x86 gcc busybox-static\n {2}fix: install the Debian packages qemu-system-x86 gcc busybox-static/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });
});

describe('a kernel package apt cannot find is one clear error', () => {
  it('with no apt sources and nothing cached, exits 4 naming the package and the apt source that has it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gupcheck-oracle-apt-'));
    try {
      mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
      mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
      writeFileSync(join(dir, 'apt.conf'), `Dir::Etc::sourcelist "${join(dir, 'sources.list')}";\nDir::Etc::sourceparts "${join(dir, 'parts')}";\nDir::State::Lists "${join(dir, 'lists')}";\nDir::Cache "${join(dir, 'cache')}";\n`);
      writeFileSync(join(dir, 'sources.list'), '');
      mkdirSync(join(dir, 'parts'));
      const r = spawnSync(process.execPath, [BIN, 'oracle', '--prepare', '--kernel', '6.12'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, APT_CONFIG: join(dir, 'apt.conf'), GUPCHECK_CACHE_DIR: join(dir, 'gupcheck') } });
      expect(r.status).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("error[GUPCHECK_ORACLE_PACKAGE_UNAVAILABLE]: apt knows no package matching ^linux-image-6\\.12\\.[0-9]+\\+deb[0-9]+-amd64-unsigned$ (Debian's stock 6.12 kernel)");
      expect(r.stderr).toContain('fix: the 6.12 kernels are in bookworm-security');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the guest's result lines", () => {
  const kernel: Kernel = { name: '6.12', kind: 'stock', model: '6.12', pkg: 'p', version: 'v', image: '', release: '6.12.1', modules: [], gupApi: 'none' };
  const cases = [
    { index: 0, mechanism: 'iouring', backing: 'anon', map: 'shared', prot: 'rw', touch: 'write' },
    { index: 1, mechanism: 'iouring', backing: 'ext4', map: 'shared', prot: 'rw', touch: 'write' },
  ];
  const parse = (s: string): GuestOutput => parseResults(s.replaceAll('\n', '\r\n'));

  it('are read through carriage returns and stray text', () => {
    const o = parse('junk\nGUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE START 6.12.1-x\nGUPCHECK-ORACLE ROW 0 ok\nGUPCHECK-ORACLE FS /mnt/ext4 ef53\nGUPCHECK-ORACLE ROW 1 errno 14\nGUPCHECK-ORACLE END 2\n');
    expect([...o.rows]).toEqual([
      [0, { kind: 'ok' }],
      [1, { kind: 'errno', errno: 14 }],
    ]);
    expect(guestProblems(o, kernel, cases)).toEqual([]);
  });

  it("a kernel WARNING is tied to the case whose marker precedes it in the kernel's log", () => {
    const log = [
      '[    1.0] virtio_blk virtio0: [vda] 131072 512-byte logical blocks',
      '------------[ cut here ]------------',
      'WARNING: CPU: 0 PID: 1 at init/main.c:1 early',
      'gupcheck-oracle: case 7',
      '------------[ cut here ]------------',
      'pages[0] is NOT dma-pinned',
      'WARNING: CPU: 0 PID: 67 at mm/gup_test.c:50 gup_test_ioctl+0x262/0x466',
      'gupcheck-oracle: case 8',
    ].join('\r\n');
    expect(warnings(log)).toEqual([
      { case: null, where: 'CPU: 0 PID: 1 at init/main.c:1 early', message: '' },
      { case: 7, where: 'CPU: 0 PID: 67 at mm/gup_test.c:50 gup_test_ioctl+0x262/0x466', message: 'pages[0] is NOT dma-pinned' },
    ]);
  });

  it('a failed mount, a case that could not be set up, a missing END or another kernel each make the boot unusable', () => {
    expect(guestProblems(parse('GUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE START 6.12.1\nGUPCHECK-ORACLE ROW 0 ok\nGUPCHECK-ORACLE FS /mnt/ext4 1021994\nGUPCHECK-ORACLE ROW 1 ok\nGUPCHECK-ORACLE END 2\n'), kernel, cases)).toEqual([
      '/mnt/ext4 is not ext4 (statfs f_type 1021994): its mount failed',
    ]);
    expect(guestProblems(parse('GUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE START 6.12.1\nGUPCHECK-ORACLE ROW 0 ok\nGUPCHECK-ORACLE SETUP 1 mmap 12\nGUPCHECK-ORACLE END 2\n'), kernel, cases)).toEqual(['case 1 could not be set up: mmap 12']);
    expect(guestProblems(parse('GUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE START 6.12.1\nGUPCHECK-ORACLE ROW 0 ok\n'), kernel, cases)).toEqual(['the probe did not finish (no END line)']);
    expect(guestProblems(parse('GUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE START 6.1.0\nGUPCHECK-ORACLE ROW 0 ok\nGUPCHECK-ORACLE ROW 1 ok\nGUPCHECK-ORACLE END 2\n'), kernel, cases)).toEqual(['the guest runs 6.1.0, not 6.12.1']);
    expect(guestProblems(parse('GUPCHECK-ORACLE BOOTED\nGUPCHECK-ORACLE STEP-FAILED insmod xfs.ko bad\nGUPCHECK-ORACLE START 6.12.1\nGUPCHECK-ORACLE ROW 0 ok\nGUPCHECK-ORACLE ROW 1 ok\nGUPCHECK-ORACLE END 2\n'), kernel, cases)).toEqual(['/init: insmod xfs.ko bad']);
    expect(guestProblems(parse(''), kernel, cases)).toEqual(['/init never started (the kernel did not reach user space)', 'no output from the probe']);
  });
});
