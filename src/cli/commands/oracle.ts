/** `gupcheck oracle`: the probe's rows on real kernels under QEMU, against the model. */
import { Command } from '@commander-js/extra-typings';
import { BUILDABLE, STOCK } from '../../oracle/kernels.ts';
import { type OracleReport, runOracle } from '../../oracle/oracle.ts';
import { EXIT_FAIL, EXIT_OK, UserError, unknownValue } from '../errors.ts';
import { colors, type Out } from '../output.ts';
import { parseKernel } from './pin.ts';

function kernelList(v: string | undefined, valid: Readonly<Record<string, unknown>>, flag: string): string[] {
  if (v === undefined) return [];
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UserError('GUPCHECK_BAD_ARGUMENT', `${flag} needs at least one kernel`, `e.g. ${flag} ${Object.keys(valid).join(',')}`);
  for (const n of names) if (!(n in valid)) throw unknownValue(flag === '--kernel' ? 'stock kernel (--kernel)' : 'kernel to build (--build-kernel)', n, Object.keys(valid));
  return [...new Set(names)];
}

/** An errno name as the kernel returns it (-EFAULT); ok, partial(...) and failed(...) as they are. */
const errno = (v: string) => (/^E[A-Z0-9]+$/.test(v) ? `-${v}` : v);

function render(out: Out, r: OracleReport): string {
  const col = colors(out);
  const lines: string[] = [];
  lines.push(`${col.bold('gupcheck oracle')}: the probe's rows on real kernels (QEMU, TCG), against the model`);
  for (const k of r.kernels) {
    lines.push('');
    const kind = k.kind === 'stock' ? "Debian's stock kernel" : 'built from Debian\'s linux-source with CONFIG_GUP_TEST';
    lines.push(`${col.bold(k.release)} (${k.package} ${k.version}, ${kind}); model revision ${k.modelRevision}`);
    const diff = k.differences.length;
    lines.push(
      `  ${k.rows.length} rows run in one boot (${k.bootSeconds} s): ${diff === 0 ? col.green('0 differences') : col.red(`${diff} difference${diff === 1 ? '' : 's'}`)}` +
        (k.notRun ? `; ${k.notRun.rows} rows not run: ${k.notRun.why}` : ''),
    );
    if (k.note) lines.push(`  note: ${k.note}`);
    for (const n of k.guestNotes) lines.push(`  guest: ${n}`);
    for (const w of k.kernelWarnings) lines.push(`  ${col.yellow('kernel WARNING')} at ${w.where}${w.message ? `: ${w.message}` : ''}${w.row ? `\n    during: ${w.row}` : ''}`);
    for (const d of k.differences) {
      lines.push(`  ${col.red('differs')}: ${d.what}`);
      lines.push(`    kernel: ${errno(d.kernel)}    model (${k.modelRevision}): ${errno(d.model)}`);
      for (const [i, p] of d.modelPath.entries()) lines.push(`    ${i === 0 ? "model's path: " : '              '}${p}`);
    }
  }
  lines.push('');
  const n = r.kernels.length;
  lines.push(`${n} kernel${n === 1 ? '' : 's'}, ${r.compared} rows compared, ${r.differences === 0 ? col.green('0 differences') : col.red(`${r.differences} difference${r.differences === 1 ? '' : 's'}`)}`);
  lines.push(col.dim('not covered:'));
  for (const c of r.notCovered) lines.push(col.dim(`  - ${c}`));
  return lines.join('\n') + '\n';
}

export function oracleCommand(out: Out) {
  return new Command('oracle')
    .description("boot real kernels under QEMU, run the probe's cases there and compare every row with the model")
    .option('--kernel <names>', `Debian's stock kernels to boot, comma-separated (${Object.keys(STOCK).join(', ')}; io_uring rows only)`)
    .option('--build-kernel <names>', `build a CONFIG_GUP_TEST kernel from Debian's linux-source (${Object.keys(BUILDABLE).join(', ')}), cached, and run every row on it`)
    .option('--model <rev>', "compare with this model revision instead of each kernel's own (6.1 for 6.1, 6.12 for 6.12)")
    .option('--timeout <s>', 'seconds one boot may take', '600')
    .option('--prepare', 'install, download, build and make everything a boot needs, and boot nothing', false)
    .option('--json', 'print the report as JSON', false)
    .addHelpText(
      'after',
      `
With neither --kernel nor --build-kernel, boots the stock 6.1 and 6.12 kernels.
Missing tools (qemu-system-x86, busybox-static, liburing-dev, gcc, e2fsprogs, xfsprogs,
btrfs-progs) are installed with apt-get, saying so. The cache is ~/.cache/gupcheck/oracle
(GUPCHECK_CACHE_DIR). Exit 0: no differences; 1: differences; 4: the oracle could not run.

Examples:
  gupcheck oracle
  gupcheck oracle --kernel 6.12 --json
  gupcheck oracle --build-kernel 6.12`,
    )
    .action(async (o) => {
      let stock = kernelList(o.kernel, STOCK, '--kernel');
      const built = kernelList(o.buildKernel, BUILDABLE, '--build-kernel');
      if (o.kernel === undefined && o.buildKernel === undefined) stock = Object.keys(STOCK);
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout < 1) throw new UserError('GUPCHECK_BAD_ARGUMENT', `--timeout ${o.timeout} is not a number of seconds (1 or more)`, 'e.g. --timeout 600');
      const say = (l: string) => void process.stderr.write(`gupcheck oracle: ${l}\n`);
      const model = o.model === undefined ? undefined : parseKernel(o.model);
      const { kernels, report } = await runOracle({ stock, built, timeoutSeconds: timeout, model, prepareOnly: o.prepare, say });
      if (!report) {
        for (const k of kernels) out.write(`ready: ${k.pkg} ${k.version} (${k.kind}) ${k.image}\n`);
        process.exitCode = EXIT_OK;
        return;
      }
      out.write(o.json ? JSON.stringify(report, null, 2) + '\n' : render(out, report));
      process.exitCode = report.differences === 0 ? EXIT_OK : EXIT_FAIL;
    });
}
