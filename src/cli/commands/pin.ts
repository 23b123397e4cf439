/** `gupcheck pin` and `gupcheck probe`: answers for pinning users. */
import { Command } from '@commander-js/extra-typings';
import { answerPin, type PinAnswer, TOUCHES, VIAS, type Touch, type Via } from '../../answer/pin.ts';
import { probe } from '../../answer/probe.ts';
import { MATRIX_BACKINGS, runMatrix, TEST_CASES } from '../../answer/matrix.ts';
import { findRevision, REVISION_NAMES } from '../../kernel/revisions/index.ts';
import { BACKINGS, BACKING_HELP, type Backing } from '../../kernel/setup.ts';
import { type Arch, ARCHES } from '../../kernel/types.ts';
import { kernelName } from '../../trace/names.ts';
import { EXIT_OK, unknownValue } from '../errors.ts';
import { colors, type Out, table } from '../output.ts';

export { ARCHES };

export function parseKernel(v: string): string {
  if (!findRevision(v)) throw unknownValue('kernel revision', v, REVISION_NAMES, 'GUPCHECK_UNKNOWN_KERNEL');
  return v;
}
export function parseArch(v: string): Arch {
  if (!(ARCHES as readonly string[]).includes(v)) throw unknownValue('architecture', v, ARCHES, 'GUPCHECK_UNKNOWN_ARCH');
  return v as Arch;
}
function oneOf<T extends string>(what: string, v: string, valid: readonly T[]): T {
  if (!(valid as readonly string[]).includes(v)) throw unknownValue(what, v, valid);
  return v as T;
}

/** What an empty explanation means: no check refused, and which path pinned. */
const NOTHING_REFUSED: Readonly<Record<Via, string>> = {
  pin_user_pages_fast: 'GUP-fast pinned every page',
  pin_user_pages: 'the slow path (__get_user_pages()) pinned every page',
  io_uring: 'io_pin_pages() pinned every page',
};

function renderPin(out: Out, a: PinAnswer): string {
  const col = colors(out);
  const q = a.query;
  const rev = findRevision(q.kernel)!;
  const lines: string[] = [];
  const what = q.via === 'io_uring' ? 'io_uring IORING_REGISTER_BUFFERS' : `${q.via}(${a.flags})`;
  lines.push(`${col.bold('gupcheck pin')}: ${rev.title}, ${q.arch}`);
  lines.push(
    `  ${what} on one ${q.backing} page, ${q.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'} ${q.prot === 'rw' ? 'PROT_READ|PROT_WRITE' : 'PROT_READ'}, touched by ${q.touch === 'none' ? 'nothing' : `a ${q.touch}`}`,
  );
  const ok = a.result === 'ok';
  lines.push('');
  lines.push(`result: ${ok ? col.green('ok') : col.red(a.result)}  (${a.pinned} of ${a.pages} page${a.pages === 1 ? '' : 's'} pinned)`);
  lines.push('');
  lines.push('why:');
  if (a.path.length === 0) lines.push(`  nothing refused it: ${NOTHING_REFUSED[q.via]}`);
  const w = Math.max(...a.path.map(([fn]) => kernelName(rev, fn).length), 8);
  a.path.forEach(([fn, msg], i) => lines.push(`  ${String(i + 1).padStart(2)}. ${kernelName(rev, fn).padEnd(w)}  ${msg}`));
  lines.push('');
  if (a.findings.length) {
    const held = a.pinnedThenReleased;
    lines.push(held ? `findings (about the pin held over steps ${held[0]}-${held[1]}, which the call took and released before failing):` : 'findings:');
    for (const f of a.findings) lines.push(`  ${col.yellow(f.id)}: ${f.message}`);
    lines.push('');
  }
  lines.push(col.dim('model: sequential, no concurrency; see `gupcheck explain limits` for what it leaves out'));
  return lines.join('\n') + '\n';
}

export function pinCommand(out: Out) {
  return new Command('pin')
    .description('what one pin returns on a kernel revision, and which check decided it')
    .requiredOption('--kernel <rev>', `kernel revision (${REVISION_NAMES.join(', ')})`)
    .option('--arch <arch>', 'x86 or arm64', 'x86')
    .requiredOption('--via <api>', `io_uring, pin_user_pages or pin_user_pages_fast`)
    .option('--write', 'FOLL_WRITE (io_uring always pins writable)', false)
    .option('--longterm', 'FOLL_LONGTERM (io_uring always pins long-term)', false)
    .requiredOption('--backing <b>', `one of: ${BACKINGS.join(', ')}`)
    .requiredOption('--map <m>', 'shared or private')
    .option('--prot <p>', 'rw or r', 'rw')
    .option('--touch <t>', 'write, read or none: how the process touches the page before the pin', 'write')
    .option('--zone <z>', 'where user pages are allocated: normal or movable (ZONE_MOVABLE: long-term pins migrate)', 'normal')
    .option('--json', 'print the answer as JSON', false)
    .addHelpText(
      'after',
      `
Backings:
${BACKINGS.map((b) => `  ${b.padEnd(17)} ${BACKING_HELP[b]}`).join('\n')}

Examples:
  gupcheck pin --kernel 6.5 --via pin_user_pages_fast --write --longterm --backing ext4 --map shared
  gupcheck pin --kernel 6.1 --via io_uring --backing ext4 --map private --json
  gupcheck pin --kernel 6.12 --via pin_user_pages_fast --write --backing driver --map shared`,
    )
    .action((o) => {
      const q = {
        kernel: parseKernel(o.kernel),
        arch: parseArch(o.arch),
        via: oneOf<Via>('--via', o.via, VIAS),
        write: o.write,
        longterm: o.longterm,
        backing: oneOf<Backing>('backing', o.backing, BACKINGS),
        shared: oneOf('--map', o.map, ['shared', 'private'] as const) === 'shared',
        prot: oneOf('--prot', o.prot, ['rw', 'r'] as const),
        touch: oneOf<Touch>('--touch', o.touch, TOUCHES),
        zone: oneOf('--zone', o.zone, ['normal', 'movable'] as const),
      };
      const a: PinAnswer = answerPin(q);
      out.write(o.json ? JSON.stringify(a, null, 2) + '\n' : renderPin(out, a));
      process.exitCode = EXIT_OK;
    });
}

export function probeCommand(out: Out) {
  return new Command('probe')
    .description('every mechanism x backing x map x prot x touch on one revision (io_uring and the gup_test ioctl)')
    .requiredOption('--kernel <rev>', `kernel revision (${REVISION_NAMES.join(', ')})`)
    .option('--arch <arch>', 'x86 or arm64', 'x86')
    .option('--json', 'a JSON array of {mechanism, backing, map, prot, touch, result}', false)
    .addHelpText('after', '\nExamples:\n  gupcheck probe --kernel 6.5 --json\n  gupcheck probe --kernel 6.1')
    .action((o) => {
      const rows = probe(parseKernel(o.kernel), parseArch(o.arch));
      if (o.json) {
        out.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      const col = colors(out);
      out.write(
        table(
          out,
          ['mechanism', 'backing', 'map', 'prot', 'touch', 'result'],
          rows.map((r) => [r.mechanism, r.backing, r.map, r.prot, r.touch, r.result === 'ok' ? col.green('ok') : col.red(r.result)]),
        ),
      );
    });
}

export function matrixCommand(out: Out) {
  return new Command('matrix')
    .description("the gup_longterm selftest (6.5-era shape) run against the model: 10 test cases x backings, with the selftest's own verdicts")
    .requiredOption('--kernel <rev>', `kernel revision (${REVISION_NAMES.join(', ')})`)
    .option('--arch <arch>', 'x86 or arm64', 'x86')
    .option('--json', 'a JSON array of {test, backing, result, selftest}', false)
    .addHelpText('after', '\nExamples:\n  gupcheck matrix --kernel 6.5\n  gupcheck matrix --kernel 6.1 --json')
    .action((o) => {
      const cells = runMatrix(parseKernel(o.kernel), parseArch(o.arch));
      if (o.json) {
        out.write(JSON.stringify(cells.map(({ test, backing, result, selftest }) => ({ test, backing, result, selftest })), null, 2) + '\n');
        return;
      }
      const col = colors(out);
      const paint = (s: string) => (s === 'PASS' ? col.green(s) : s === 'FAIL' ? col.red(s) : col.yellow(s));
      const backs = MATRIX_BACKINGS.map((b) => b.label);
      const rows = TEST_CASES.map((tc) => [
        tc.name,
        ...backs.map((b) => {
          const c = cells.find((x) => x.test === tc.name && x.backing === b)!;
          return `${c.result} ${paint(c.selftest)}`;
        }),
      ]);
      out.write(table(out, ['test case (gup_longterm.c)', ...backs], rows));
      const n = (v: string) => cells.filter((c) => c.selftest === v).length;
      out.write(`\n${findRevision(o.kernel)!.title}: ${n('PASS')} PASS, ${n('FAIL')} FAIL, ${n('SKIP')} SKIP of ${cells.length}\n`);
      for (const c of cells.filter((x) => x.selftest === 'FAIL')) out.write(`  not ok: ${c.run}: ${c.message} (model: ${c.result})\n`);
    });
}
