/**
 * From a scenario and a run configuration (kernel, arch, mutant) to a Program the checker can
 * explore: start() boots the model and builds the layout with scheduling off (scenarios/
 * layout.ts), then adds one thread per CPU running its operations (scenarios/ops.ts); finish()
 * runs the end-of-run checks. How the state reads in traces is in scenarios/present.ts.
 */
import { auditPinnedExclusive, auditRefcounts } from '../kernel/audit.ts';
import { checkModelInvariants } from '../kernel/invariants.ts';
import { FS } from '../kernel/fs.ts';
import { type Ctx, ctxMaker, type Kernel } from '../kernel/kernel.ts';
import type { File, Vma } from '../kernel/mm_types.ts';
import { applyMutant, findMutant } from '../kernel/mutants.ts';
import type { Revision } from '../kernel/revision.ts';
import { findRevision, isBuiltinRevision } from '../kernel/revisions/index.ts';
import { boot, createFile, Process } from '../kernel/setup.ts';
import type { Arch, TableFree } from '../kernel/types.ts';
import { constant } from '../sim/frames.ts';
import type { Site, Step } from '../sim/op.ts';
import type { World } from '../sim/world.ts';
import type { Program } from '../check/execution.ts';
import type { Presentable } from '../check/record.ts';
import type { StateSnapshot } from '../trace/schema.ts';
import { kernelName } from '../trace/names.ts';
import { buildVma } from './layout.ts';
import { type CpuRun, type CpuState, type Env, needsOtherFile, type OpSpecT, producesOutcome, release, runOp } from './ops.ts';
import { formatValue, snapshot, stateKey } from './present.ts';
import { basePages, type ScenarioT } from './schema.ts';

export interface RunConfig {
  readonly kernel: string;
  readonly arch: Arch;
  readonly mutant: string | null;
  readonly tableFree?: TableFree | undefined;
  readonly tlbFlush?: 'ipi' | 'broadcast' | undefined;
  readonly maxThreads?: number | undefined;
}

export { basePages };

export type ScenarioProgram = Program & Presentable & { readonly revision: Revision; readonly tableFree: () => string; readonly tlbFlush: () => string };

/** Outcome keys: `<cpu>:<index>` -> the outcome name (`CPU0`, or `CPU0.<index>` with several). */
function outcomeKeys(s: ScenarioT, cpuNames: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const cpu of cpuNames) {
    const producers = s.cpus[cpu]!.map((op, i) => [op, i] as const).filter(([op]) => producesOutcome(op.op));
    for (const [, i] of producers) keys.set(`${cpu}:${i}`, producers.length > 1 ? `${cpu}.${i}` : cpu);
  }
  return keys;
}

export function buildProgram(s: ScenarioT, run: RunConfig): ScenarioProgram {
  const base = findRevision(run.kernel);
  if (!base) throw new Error(`unknown kernel ${run.kernel}`);
  const m = run.mutant ? findMutant(run.mutant) : undefined;
  if (run.mutant && !m) throw new Error(`unknown mutant ${run.mutant}`);
  const rev = m ? applyMutant(base, m) : base;
  const trusted = !m && isBuiltinRevision(base.name);
  constant(s); // the scenario as parsed: the CPUs' operation lists never change
  let k: Kernel | null = null;
  const cpuNames = Object.keys(s.cpus).sort();
  const needsHugetlb = s.layout.some((v) => v.backing.includes('hugetlb'));
  const needsOther = Object.values(s.cpus).some((ops) => ops.some(needsOtherFile));
  const keys = outcomeKeys(s, cpuNames);
  return {
    start(): World {
      const kernel = boot({
        rev,
        arch: run.arch,
        tableFree: run.tableFree ?? s['table-free'],
        tlbFlush: run.tlbFlush,
        maxThreads: run.maxThreads,
        hugetlbPool: needsHugetlb ? { 9: 4, 18: 2 } : {},
      });
      k = kernel;
      const proc = new Process(kernel);
      const vmas = new Map<string, Vma>();
      const files = new Map<string, File>();
      for (const v of s.layout) {
        const vma = buildVma(proc, v, v.file ? files.get(v.file) : undefined);
        vmas.set(v.name, vma);
        if (vma.vm_file) files.set(v.name, vma.vm_file);
      }
      const env: Env = { k: kernel, proc, vmas, other: needsOther ? createFile(kernel, FS.ext4, '/mnt/ext4/other') : null };
      for (const cpu of cpuNames) {
        kernel.w.addThread(cpu, ctxMaker(kernel, true), (t: Ctx) => {
          t.mm = proc.mm;
          return cpuProgram(t, cpu, s.cpus[cpu]!, env, keys);
        });
      }
      return kernel.w;
    },
    finish(w: World): void {
      for (const f of auditRefcounts(k!)) w.findings.push(f);
      for (const f of auditPinnedExclusive(k!)) w.findings.push(f);
    },
    stateKey(w: World): string {
      return stateKey(k!, w);
    },
    checkModel(w: World, tid: number, site: Site | null): string | undefined {
      // The refcount-based invariants hold while the kernel counts references right: on a
      // built-in revision without a mutant (a user's module or C patch may miscount, which is what
      // it is checked for), until the first finding (kernel/invariants.ts).
      const v = checkModelInvariants(k!, trusted && w.findings.length === 0);
      if (!v) return undefined;
      const t = tid >= 0 ? (w.threads[tid] as Ctx) : undefined;
      let where = 'after the setup';
      if (t) {
        const ops = s.cpus[t.name];
        const op = ops && t.opIndex >= 0 ? ` (its operation ${t.opIndex}, ${ops[t.opIndex]!.op})` : '';
        where = site ? `after ${t.name} ran ${kernelName(rev, site.fn)}: ${site.action}${op}` : `after ${t.name} started${op}`;
      }
      return `model invariant '${v.invariant}' broken ${where}: ${v.message}`;
    },
    formatValue(name: string, v: unknown): string {
      return formatValue(k!, name, v);
    },
    snapshot(w: World): StateSnapshot {
      return snapshot(k!, w);
    },
    kernelName(fn: string): string {
      return kernelName(rev, fn);
    },
    revision: rev,
    tableFree: () => k!.config.tableFree,
    tlbFlush: () => k!.config.tlbFlush,
  };
}

/** One CPU: its operations in order, then releasing what it still holds. */
function* cpuProgram(c: Ctx, cpu: string, ops: readonly OpSpecT[], env: Env, keys: ReadonlyMap<string, string>): Step<void> {
  const st: CpuState = { pins: [], release: 'yes', get: false };
  for (let i = 0; i < ops.length; i++) {
    const key = keys.get(`${cpu}:${i}`);
    c.opIndex = i;
    const r: CpuRun = { c, env, st, record: (v) => void (key && c.w.outcomes.set(key, v)) };
    yield* runOp(r, ops[i]!);
  }
  yield* release(c, st);
}
