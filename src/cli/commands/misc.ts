/** `gupcheck replay`, `gupcheck list`, `gupcheck explain`. */
import { enableCheckModel } from '../../check/execution.ts';
import { Command } from '@commander-js/extra-typings';
import { findMutant, MUTANTS, mutantApplies } from '../../kernel/mutants.ts';
import { findRevision, REVISION_NAMES, REVISIONS } from '../../kernel/revisions/index.ts';
import { FINDINGS, LIMITS_EXPLAIN } from '../../run/catalog.ts';
import { bundledScenarios, findBundled, loadScenario } from '../../run/load.ts';
import type { PlannedRun } from '../../run/run.ts';
import { buildTrace, checkReplay } from '../../run/trace.ts';
import { narrate } from '../../trace/narrate.ts';
import { decodeToken, sourceHash, type TokenData } from '../../trace/token.ts';
import type { Arch } from '../../kernel/types.ts';
import type { Revision, RevisionFns } from '../../kernel/revision.ts';
import { EXIT_OK, UserError } from '../errors.ts';
import { writeAtomic } from '../files.ts';
import { colors, type Out, table } from '../output.ts';
import { ARCHES } from './pin.ts';
import { chosenKernels } from './check.ts';

export function replayCommand(out: Out) {
  return new Command('replay')
    .description('re-run one execution from its replay token and print its trace')
    .argument('<token>', 'the token printed with a finding (gc1:...)')
    .option('--scenario <file>', 'the scenario file (default: the bundled example of that name)')
    .option('--kernel <rev>', 'the revision module (./my-rev.ts), or with --patch the base revision, that the token\'s run was on')
    .option('--patch <file.c>', 'a C patch the token\'s run was on (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--json', 'print the trace as JSON (the trace file schema)', false)
    .option('--save <file>', 'also write the JSON trace to a file')
    .option('--check-model', "check the model's own invariants after every step (a broken one is a bug in gupcheck: exit 3)", false)
    .addHelpText('after', '\nExample:\n  gupcheck replay gc1:fast-pin-vs-unmap-reuse:v7:arm64:-::0x9,1x16,2v1,2x3,0x7:14513936:3abbee')
    .action(async (tok, o) => {
      if (o.checkModel) enableCheckModel();
      const d = decodeToken(tok);
      const loaded = await chosenKernels(o.kernel, o.patch);
      const custom = loaded?.find((k) => k.name === d.kernel);
      if ((loaded && !custom) || (!loaded && !findRevision(d.kernel) && d.kernel.includes('+'))) {
        throw new UserError(
          'GUPCHECK_BAD_TOKEN',
          `the token is for kernel revision '${d.kernel}'${loaded ? `, but the options load ${loaded.map((k) => k.name).join(', ')}` : ', a revision with C patches'}`,
          'replay with the options printed with the token (--kernel ./my-rev.ts, or --kernel BASE --patch FILE.c)',
        );
      }
      checkTokenNames(d);
      const file = o.scenario ?? findBundled(d.scenario);
      if (!file) {
        throw new UserError('GUPCHECK_SCENARIO_NOT_FOUND', `the token is for scenario '${d.scenario}', which is not a bundled example`, 'pass its file with --scenario FILE');
      }
      const p = loadScenario(file);
      if (p.scenario.name !== d.scenario) {
        throw new UserError('GUPCHECK_TOKEN_MISMATCH', `the token is for scenario '${d.scenario}' but ${file} is '${p.scenario.name}'`, 'pass the scenario the token came from');
      }
      if (sourceHash(p.source) !== d.source) {
        throw new UserError(
          'GUPCHECK_TOKEN_STALE',
          `${file} changed since this token was made (scenario hash ${sourceHash(p.source)}, token ${d.source}): the schedule may not mean the same thing`,
          'run `gupcheck check` on the scenario again for a fresh token',
        );
      }
      const run: PlannedRun = { scenario: d.scenario, kernel: d.kernel, arch: d.arch as Arch, mutant: d.mutant, ...(custom?.source ? { kernelSource: custom.source } : {}) };
      const opts = { tableFree: d.tableFree as 'ipi' | 'rcu' | undefined, tlbFlush: d.tlbFlush as 'ipi' | 'broadcast' | undefined };
      const req = { findingId: null, schedule: d.schedule, values: d.values };
      const r = checkReplay(p, run, opts, req);
      if (!r.fits) throw new UserError('GUPCHECK_TOKEN_MISMATCH', `the schedule does not fit the scenario: ${r.why ?? ''}`, 'the token was made for another version of the model or scenario');
      if (d.finding !== undefined && !r.findings.some((f) => f.id === d.finding)) {
        throw new UserError('GUPCHECK_TOKEN_MISMATCH', `the token is for finding '${d.finding}', which its schedule no longer reaches`, 'the token was made for another version of the model or scenario');
      }
      const fid = d.finding ?? r.findings[0]?.id ?? null;
      const t = buildTrace(p, run, opts, { ...req, findingId: fid }, false);
      if (o.save) writeAtomic(o.save, JSON.stringify(t, null, 1) + '\n');
      out.write(o.json ? JSON.stringify(t, null, 1) + '\n' : narrate(t, { c: colors(out) }));
      process.exitCode = EXIT_OK;
    });
}

/** The kernel, arch, mutant and options a token names must be ones this gupcheck models. */
function checkTokenNames(d: TokenData): void {
  const bad = (what: string, got: string, valid: readonly string[]) =>
    new UserError('GUPCHECK_BAD_TOKEN', `the token names ${what} '${got}', which this gupcheck does not model (valid: ${valid.join(', ')})`, 'the token was edited or made by another version of gupcheck: copy it again from the report or the JSON output');
  const rev = findRevision(d.kernel);
  if (!rev) throw bad('kernel revision', d.kernel, REVISION_NAMES);
  if (!(ARCHES as readonly string[]).includes(d.arch)) throw bad('architecture', d.arch, ARCHES);
  if (d.mutant !== null) {
    const m = findMutant(d.mutant);
    const valid = MUTANTS.filter((x) => mutantApplies(x, rev)).map((x) => x.name); // on this kernel
    if (!m || !mutantApplies(m, rev)) throw bad('mutant', d.mutant, valid);
  }
  if (d.tableFree !== undefined && d.tableFree !== 'ipi' && d.tableFree !== 'rcu') throw bad('table-free scheme', d.tableFree, ['ipi', 'rcu']);
  if (d.tlbFlush !== undefined && d.tlbFlush !== 'ipi' && d.tlbFlush !== 'broadcast') throw bad('TLB-flush scheme', d.tlbFlush, ['ipi', 'broadcast']);
}

/** The built-in revision a loaded one differs least from, and what differs: replaced functions, then settings. */
export function whatReplaces(rev: Revision): { base: Revision; fns: string[]; settings: string[] } {
  let best: { base: Revision; fns: string[]; settings: string[] } | undefined;
  for (const base of REVISIONS) {
    const fns = (Object.keys({ ...base.fns, ...rev.fns }) as (keyof RevisionFns)[]).filter((k) => base.fns[k] !== rev.fns[k]);
    const settings = (['x86RcuTableFree', 'gupFastNames', 'internalFlagsIncludeTouch', 'pinFastEinval', 'longtermCheckAfterGet'] as const).filter((k) => base[k] !== rev[k]).map((k) => `${k}: ${String(rev[k])}`);
    if (!best || fns.length + settings.length < best.fns.length + best.settings.length) best = { base, fns, settings };
  }
  return best!;
}

export function listCommand(out: Out) {
  return new Command('list')
    .description('bundled scenarios, kernel revisions, architectures, mutants and finding ids')
    .option('--kernel <rev>', 'a revision module (./my-rev.ts), or with --patch a base revision: show what it replaces')
    .option('--patch <file.c>', 'a C patch (repeatable): show what it replaces in --kernel', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .action(async (o) => {
      const c = colors(out);
      if (o.kernel !== undefined || o.patch !== undefined) {
        const loaded = (await chosenKernels(o.kernel, o.patch)) ?? [];
        let s = '';
        for (const k of loaded) {
          const rev = findRevision(k.name)!;
          const w = whatReplaces(rev);
          s += `${c.bold(rev.name)}: ${rev.summary}\n  derived from ${w.base.name} (${w.base.title})\n`;
          s += w.fns.length ? `  replaces: ${w.fns.map((f) => `${f}()`).join(', ')}\n` : `  replaces no function of ${w.base.name}\n`;
          if (w.settings.length) s += `  settings: ${w.settings.join(', ')}\n`;
          const mut = MUTANTS.filter((m) => mutantApplies(m, rev)).map((m) => m.name);
          s += `  mutants that apply: ${mut.join(', ') || 'none'}\n`;
        }
        out.write(s);
        return;
      }
      let s = c.bold('scenarios') + ` (examples/; run with gupcheck check examples/<file>)\n`;
      s += table(out, ['name', 'shows'], bundledScenarios().map((p) => [p.scenario.name, firstSentence(p.scenario.shows)]));
      s += '\n' + c.bold('kernel revisions') + ' (--kernel)\n';
      s += table(out, ['name', 'what'], REVISIONS.map((r) => [r.name, r.summary]));
      s += '\n' + c.bold('architectures') + ' (--arch)\n';
      s += table(out, ['name', 'TLB flush and page-table freeing'], [
        ['x86', 'TLB flush by IPI (waits for IRQs-off CPUs); page tables freed after it before 6.15, via RCU from 6.15 (INVLPGB broadcast: --tlb-flush broadcast)'],
        ['arm64', 'broadcast TLBI (no IPI), page tables freed via RCU (CONFIG_MMU_GATHER_RCU_TABLE_FREE)'],
      ]);
      s += '\n' + c.bold('mutants') + ' (--mutant)\n';
      s += table(out, ['name', 'change'], MUTANTS.map((m) => [m.name, m.change]));
      s += '\n' + c.bold('findings') + ' (gupcheck explain <id>)\n';
      s += table(out, ['id', 'meaning'], FINDINGS.map((f) => [f.id, f.line]));
      out.write(s);
    });
}

function firstSentence(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  const i = t.indexOf('. ');
  return i > 0 ? t.slice(0, i + 1) : t;
}

export function explainCommand(out: Out) {
  return new Command('explain')
    .description("what a finding means and which kernel bug it is (or 'limits': what the model leaves out)")
    .argument('<id>', `a finding id (${FINDINGS.map((f) => f.id).join(', ')}) or 'limits'`)
    .action((id) => {
      if (id === 'limits') {
        out.write(LIMITS_EXPLAIN + '\n');
        return;
      }
      const f = FINDINGS.find((x) => x.id === id);
      if (!f) throw new UserError('GUPCHECK_UNKNOWN_FINDING', `unknown finding id '${id}' (valid: ${FINDINGS.map((x) => x.id).join(', ')}, limits)`, '`gupcheck list` shows each finding id with a line on what it means');
      out.write(`${colors(out).bold(f.id)}: ${f.line}\n\n${f.explain}\n`);
    });
}
