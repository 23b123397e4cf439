/**
 * From a scenario and a run configuration (kernel, arch, mutant) to a Program the checker can
 * explore: start() boots the model and builds the layout with scheduling off, then adds one
 * thread per CPU running its operations; finish() runs the end-of-run checks.
 *
 * Outcomes: each operation that produces one records it under the CPU's name (`CPU0`), or
 * `CPU0.<index>` when a CPU has more than one such operation. GUP pins record `pinned-fast`
 * (every page from the fast walk), `fell-back` (the slow path pinned some), `partial`, or the
 * errno name; pin_user_pages records `pinned` or the errno.
 */
import { auditPinnedExclusive, auditRefcounts } from '../kernel/audit.ts';
import { truncate_pagecache, evict_inode } from '../kernel/filemap.ts';
import {
  get_user_pages_fast,
  pin_user_pages,
  pin_user_pages_fast,
  put_user_pages,
  unpin_user_pages,
  unpin_user_pages_dirty_lock,
} from '../kernel/gup.ts';
import { split_folio } from '../kernel/huge_memory.ts';
import { type Ctx, ctxMaker, type Kernel } from '../kernel/kernel.ts';
import { copy_page_range } from '../kernel/memory.ts';
import { madvise_dontneed, mprotect, munmap, PROT_READ, PROT_WRITE } from '../kernel/mmap.ts';
import { flush_tlb } from '../kernel/mmu_gather.ts';
import { type File, type Folio, type MmStruct, Vma } from '../kernel/mm_types.ts';
import { applyMutant, findMutant } from '../kernel/mutants.ts';
import { alloc_pages_setup, prep_compound_page } from '../kernel/page_alloc.ts';
import { folio_put, folio_try_get, page_folio_stable } from '../kernel/page_ref.ts';
import { dma_write, writeback_folio } from '../kernel/page-writeback.ts';
import { lookup, walk_alloc } from '../kernel/pgtable-generic.ts';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, fmtEntry, mk_pte, pte_huge, pte_pfn, pte_present } from '../kernel/pgtable.ts';
import { alloc_kernel_page, alloc_pagecache_page, allocate_slab, type OwnerName } from '../kernel/reuse.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import { add_to_swap, swap_out_folio } from '../kernel/swap.ts';
import { anon_vma_prepare } from '../kernel/rmap.ts';
import { boot, createFile, mapBacking, Process, runSequential, touch, user_access } from '../kernel/setup.ts';
import { FS } from '../kernel/fs.ts';
import { errnoName, VM_SHARED, FOLL_LONGTERM, FOLL_WRITE, PAGE_MAPPING_ANON, PAGE_SIZE, parseFoll, type Arch, type TableFree } from '../kernel/types.ts';
import { type Step, site } from '../sim/op.ts';
import { choose, down_read, down_write, spin_lock, spin_unlock, up_read, up_write } from '../sim/sync.ts';
import type { World } from '../sim/world.ts';
import type { Program } from '../check/execution.ts';
import type { Presentable } from '../check/record.ts';
import type { StateSnapshot } from '../trace/schema.ts';
import { kernelName } from '../trace/names.ts';
import type { Revision } from '../kernel/revision.ts';
import { opEnabled, waitWords } from '../sim/sync.ts';
import { basePages, type OpSpecT, type ScenarioT, type VmaSpecT } from './schema.ts';

export interface RunConfig {
  readonly kernel: string;
  readonly arch: Arch;
  readonly mutant: string | null;
  readonly tableFree?: TableFree | undefined;
  readonly tlbFlush?: 'ipi' | 'broadcast' | undefined;
  readonly maxThreads?: number | undefined;
}

interface Env {
  readonly k: Kernel;
  readonly proc: Process;
  readonly vmas: Map<string, Vma>;
  readonly other: File;
  readonly caches: { ptr: number; desc: string }[];
}

export { basePages };

export type ScenarioProgram = Program & Presentable & { readonly revision: Revision; readonly tableFree: () => string; readonly tlbFlush: () => string };

export function buildProgram(s: ScenarioT, run: RunConfig): ScenarioProgram {
  const base = findRevision(run.kernel);
  if (!base) throw new Error(`unknown kernel ${run.kernel}`);
  const m = run.mutant ? findMutant(run.mutant) : undefined;
  if (run.mutant && !m) throw new Error(`unknown mutant ${run.mutant}`);
  const rev = m ? applyMutant(base, m) : base;
  let env: Env | null = null;
  const cpuNames = Object.keys(s.cpus).sort();
  const needsHugetlb = s.layout.some((v) => v.backing.includes('hugetlb'));
  const needsOther = Object.values(s.cpus).some((ops) => ops.some((op) => op.op === 'reuse'));
  const outcomeKeys = new Map<string, string>(); // "<cpu>:<index>" -> outcome name
  for (const cpu of cpuNames) {
    const ops = s.cpus[cpu]!;
    const producers = ops.map((op, i) => [op, i] as const).filter(([op]) => producesOutcome(op));
    for (const [, i] of producers) outcomeKeys.set(`${cpu}:${i}`, producers.length > 1 ? `${cpu}.${i}` : cpu);
  }
  return {
    start(): World {
      const k = boot({
        rev,
        arch: run.arch,
        tableFree: run.tableFree ?? s['table-free'],
        tlbFlush: run.tlbFlush,
        maxThreads: run.maxThreads,
        hugetlbPool: needsHugetlb ? { 9: 4, 18: 2 } : {},
      });
      const proc = new Process(k);
      const vmas = new Map<string, Vma>();
      const files = new Map<string, File>();
      for (const v of s.layout) {
        const vma = buildVma(proc, v, v.file ? files.get(v.file) : undefined);
        vmas.set(v.name, vma);
        if (vma.vm_file) files.set(v.name, vma.vm_file);
      }
      const other = needsOther ? createFile(k, FS.ext4, '/mnt/ext4/other') : (null as unknown as File);
      env = { k, proc, vmas, other, caches: [] };
      const e = env;
      for (const cpu of cpuNames) {
        k.w.addThread(cpu, ctxMaker(k, true), (t: Ctx) => {
          t.mm = proc.mm;
          return cpuProgram(t, cpu, s.cpus[cpu]!, e, outcomeKeys);
        });
      }
      return k.w;
    },
    finish(w: World): void {
      const k = env!.k;
      for (const f of auditRefcounts(k)) w.findings.push(f);
      for (const f of auditPinnedExclusive(k)) w.findings.push(f);
    },
    stateKey(w: World): string {
      return stateKey(env!.k, w);
    },
    formatValue(name: string, v: unknown): string {
      return formatValue(env!.k, name, v);
    },
    snapshot(w: World): StateSnapshot {
      return snapshot(env!.k, w);
    },
    kernelName(fn: string): string {
      return kernelName(rev, fn);
    },
    revision: rev,
    tableFree: () => env!.k.config.tableFree,
    tlbFlush: () => env!.k.config.tlbFlush,
  };
}

// ===== presentation =====

function formatValue(k: Kernel, name: string, v: unknown): string {
  const m = /^(pte|pmd|pud|pgd)@/.exec(name);
  if (m && typeof v === 'number') return fmtEntry(v, { pte: 1, pmd: 2, pud: 3, pgd: 4 }[m[1] as 'pte']);
  if (name.endsWith('.mapping') && typeof v === 'number') return k.describeWord(v);
  if (typeof v === 'boolean') return name.includes('.PG_') || name.includes('fs_private') ? (v ? 'set' : 'clear') : String(v);
  return String(v);
}

function snapshot(k: Kernel, w: World): StateSnapshot {
  const folios = [...k.pages.values()]
    .filter((p) => p.compound_head.v === 0 && p.pfn !== k.zeroPfn && (p.ghost.owner !== 'free' || p._refcount.v !== 0) && !(p.ghost.ownerDesc === 'hugetlb pool'))
    .sort((a, b) => a.pfn - b.pfn)
    .map((p) => ({
      pfn: p.pfn,
      owner: p.ghost.owner === 'free' ? 'free' : p.ghost.ownerDesc,
      gen: p.ghost.gen,
      refcount: p._refcount.v,
      ...(p.PG_head.v ? { pincount: p._pincount.v } : {}),
      mapcount: p._mapcount.v,
      mapping: k.describeWord(p.mapping.v),
      flags: p.flagNames(),
    }));
  const entries: { name: string; value: string }[] = [];
  for (const t of [...k.tables.values()].sort((a, b) => a.tpfn - b.tpfn)) {
    if (!t.live.v) continue;
    for (const [va, cell] of t.existing()) {
      if (t.level === 1 || (cell.v && pte_huge(cell.v))) entries.push({ name: `${t.levelName}@0x${va.toString(16)}`, value: fmtEntry(cell.v, t.level) });
    }
  }
  const cpus = w.threads.map((t) => {
    const op = t.op;
    const enabled = t.done || opEnabled(w, t, op);
    return {
      name: t.name,
      irqs: t.irqOff > 0 ? ('off' as const) : ('on' as const),
      rcu: t.inRcuReader,
      next: t.done ? 'done' : `${kernelName(k.rev, op.site.fn)}: ${op.site.action}`,
      ...(enabled || !op.wait ? {} : { blocked: waitWords(op.wait) }),
    };
  });
  const freed = [
    ...k.mappings.filter((m) => !m.live.v).map((m) => `address_space(${m.desc})`),
    ...[...k.tables.values()].filter((t) => !t.live.v).map((t) => `${t.levelName}-table@${t.tpfn.toString(16)}`),
  ];
  return { folios, entries, cpus, freed };
}

function producesOutcome(op: OpSpecT): boolean {
  return ['pin_user_pages_fast', 'pin_user_pages', 'get_user_pages_fast', 'io_uring_register', 'reuse', 'split_folio', 'swap_out', 'writeback'].includes(op.op);
}

// ===== layout =====

function buildVma(proc: Process, v: VmaSpecT, file: File | undefined): Vma {
  const k = proc.k;
  if (v.thp) return buildThp(proc, v);
  const len = basePages(v) * PAGE_SIZE;
  const vma = mapBacking(proc, { backing: v.backing, shared: v.map === 'shared', prot: v.prot, len, label: v.name, ...(file ? { file } : {}) });
  const c = proc.ctx();
  if (v.zone === 'movable') k.userZone = 'movable';
  if (v.touch !== 'none') {
    const step = v.backing.includes('hugetlb') ? (v.backing === 'memfd_hugetlb_1g' ? 2 ** 30 : 2 ** 21) : PAGE_SIZE;
    const r = runSequential(c, touch(c, vma, v.touch, step));
    if (r) throw new Error(`setup: touching ${v.name} failed`);
  }
  k.userZone = 'normal';
  if (v.swapcache) {
    for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
      const t = lookup(c, proc.mm, a);
      const e = t.pte?.entry(a).v ?? 0;
      if (pte_present(e)) runSequential(c, add_to_swap(c, k.page(pte_pfn(e))));
    }
  }
  return vma;
}

/** An anonymous THP, set up directly: PMD-mapped (order 9) or PTE-mapped (order 2). */
function buildThp(proc: Process, v: VmaSpecT): Vma {
  const k = proc.k;
  const c = proc.ctx();
  const order = v.thp === 'pmd' ? 9 : 2;
  const nr = 2 ** order;
  const base = proc.slot();
  const vma = new Vma(proc.mm, base, base + nr * PAGE_SIZE, 0x1 | 0x2 | 0x10 | 0x20 | 0x40, false, null, null, 0, v.name);
  proc.mm.vmas.push(vma);
  const av = anon_vma_prepare(c, vma);
  const folio = alloc_pages_setup(k, order, 'normal', 'anon', `anon THP of ${v.name}`);
  prep_compound_page(k, folio, order);
  folio.mapping.v = av.ptr | PAGE_MAPPING_ANON;
  folio.PG_lru.v = true;
  folio.PG_uptodate.v = true;
  for (let i = 0; i < nr; i++) k.page(folio.pfn + i).PG_anon_exclusive.v = true;
  const flags = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY;
  if (v.thp === 'pmd') {
    const w = runSequential(c, walk_alloc(c, proc.mm, base, true, 'pmd'));
    w!.pmd!.entry(base).v = mk_pte(folio.pfn, flags | _PAGE_PSE);
    folio._entire_mapcount.v = 1;
    folio._refcount.v = 1;
  } else {
    const w = runSequential(c, walk_alloc(c, proc.mm, base, true, 'pte'));
    for (let i = 0; i < nr; i++) {
      w!.pte!.entry(base + i * PAGE_SIZE).v = mk_pte(folio.pfn + i, flags);
      k.page(folio.pfn + i)._mapcount.v = 1;
    }
    folio._refcount.v = nr;
  }
  return vma;
}

// ===== CPU programs =====

interface CpuState {
  pins: number[];
  pinFlags: number;
  release: 'yes' | 'no' | 'dirty';
  get: boolean;
}

const S_reuse = site('reallocator', 'which kind of owner gets the next free page');
const S_wb_lookup = site('write_cache_pages', 'look the folio up in i_pages under the i_pages lock');
const S_caller_lock = site('caller', 'mmap_read_lock() around pin_user_pages()');

function* cpuProgram(c: Ctx, cpu: string, ops: readonly OpSpecT[], env: Env, keys: Map<string, string>): Step<void> {
  const st: CpuState = { pins: [], pinFlags: 0, release: 'yes', get: false };
  const record = (i: number, v: string) => {
    const key = keys.get(`${cpu}:${i}`);
    if (key) c.w.outcomes.set(key, v);
  };
  for (let i = 0; i < ops.length; i++) yield* runOp(c, ops[i]!, st, env, (v) => record(i, v));
  yield* release(c, st);
}

function* release(c: Ctx, st: CpuState): Step<void> {
  if (!st.pins.length || st.release === 'no') return;
  const pins = st.pins.splice(0);
  if (st.get) yield* put_user_pages(c, pins);
  else if (st.release === 'dirty') yield* unpin_user_pages_dirty_lock(c, pins, true);
  else yield* unpin_user_pages(c, pins);
}

function vmaOf(env: Env, name: string): Vma {
  return env.vmas.get(name)!;
}

/** The folio mapped at a VMA page now (ghost lookup; the op then works on it with scheduling). */
function mappedFolio(env: Env, vma: Vma, page: number): Folio | null {
  const k = env.k;
  const a = vma.vm_start + page * PAGE_SIZE;
  const t = lookup({ k }, vma.vm_mm, a);
  const pmdE = t.pmd?.entry(a).v ?? 0;
  if (pte_huge(pmdE)) return k.page(pte_pfn(pmdE));
  const e = t.pte?.entry(a).v ?? 0;
  if (!pte_present(e)) return null;
  const p = k.page(pte_pfn(e));
  return page_folio_stable({ k } as Ctx, p);
}

function* runOp(c: Ctx, op: OpSpecT, st: CpuState, env: Env, record: (v: string) => void): Step<void> {
  const k = env.k;
  switch (op.op) {
    case 'pin_user_pages_fast':
    case 'pin_user_pages':
    case 'get_user_pages_fast':
    case 'io_uring_register': {
      const vma = vmaOf(env, op.vma);
      const start = vma.vm_start + op.page * PAGE_SIZE;
      let flags = 0;
      for (const f of op.flags) flags |= parseFoll(f) ?? 0;
      const pages: number[] = [];
      c.gupSlowUsed = false;
      let ret: number;
      if (op.op === 'io_uring_register') {
        const r = yield* c.rev.fns.io_pin_pages(c, start, op.pages);
        ret = typeof r === 'number' ? r : r.length;
        if (typeof r !== 'number') pages.push(...r);
        flags = FOLL_WRITE | FOLL_LONGTERM;
      } else if (op.op === 'pin_user_pages') {
        yield* down_read(c, c.mm!.mmap_lock, S_caller_lock);
        ret = yield* pin_user_pages(c, start, op.pages, flags, pages);
        yield* up_read(c, c.mm!.mmap_lock, S_caller_lock);
      } else if (op.op === 'get_user_pages_fast') {
        ret = yield* get_user_pages_fast(c, start, op.pages, flags, pages);
        st.get = true;
      } else {
        ret = yield* pin_user_pages_fast(c, start, op.pages, flags, pages);
      }
      if (ret > 0) st.pins.push(...pages.slice(0, ret));
      st.pinFlags = flags;
      st.release = op.unpin;
      if (ret < 0) record(errnoName(ret));
      else if (ret < op.pages) record(ret === 0 ? 'none' : 'partial');
      else if (op.op === 'pin_user_pages') record('pinned');
      else if (op.op === 'io_uring_register') record('registered');
      else record(c.gupSlowUsed ? 'fell-back' : 'pinned-fast');
      return;
    }
    case 'unpin': {
      st.release = op.dirty ? 'dirty' : 'yes';
      yield* release(c, st);
      return;
    }
    case 'device_write': {
      for (const pfn of st.pins) {
        const p = k.page(pfn);
        yield* dma_write(c, page_folio_stable(c, p));
      }
      return;
    }
    case 'munmap': {
      const vma = vmaOf(env, op.vma);
      yield* munmap(c, vma.vm_mm, vma.vm_start, vma.vm_end - vma.vm_start);
      return;
    }
    case 'madvise_dontneed': {
      const vma = vmaOf(env, op.vma);
      yield* madvise_dontneed(c, vma.vm_mm, vma.vm_start, vma.vm_end - vma.vm_start);
      return;
    }
    case 'touch': {
      const vma = vmaOf(env, op.vma);
      yield* user_access(c, vma.vm_start + op.page * PAGE_SIZE, op.how === 'write');
      return;
    }
    case 'mprotect': {
      const vma = vmaOf(env, op.vma);
      yield* mprotect(c, vma.vm_mm, vma.vm_start, vma.vm_end - vma.vm_start, PROT_READ | (op.prot === 'rw' ? PROT_WRITE : 0));
      return;
    }
    case 'truncate': {
      const vma = vmaOf(env, op.vma);
      const as = vma.vm_file!.f_mapping;
      yield* truncate_pagecache(c, as, 0);
      if (op.free_inode) yield* evict_inode(c, as);
      return;
    }
    case 'swap_out': {
      const vma = vmaOf(env, op.vma);
      const f = mappedFolio(env, vma, op.page);
      if (!f) return record('nothing-mapped');
      record((yield* swap_out_folio(c, f)) ? 'freed' : 'kept');
      return;
    }
    case 'split_folio': {
      const vma = vmaOf(env, op.vma);
      const f = mappedFolio(env, vma, op.page);
      if (!f || !(yield* folio_try_get(c, f))) return record('nothing-mapped');
      const r = yield* split_folio(c, f);
      yield* folio_put(c, f);
      record(r === 0 ? 'split' : 'EAGAIN');
      return;
    }
    case 'writeback': {
      const vma = vmaOf(env, op.vma);
      const as = vma.vm_file?.f_mapping;
      if (!as) return record('nothing-cached');
      // The page-cache lookup (write_cache_pages() walks i_pages) is a scheduling point: a fault
      // on another CPU may add the folio before or after it (found by the DPOR=naive property
      // test, seed 305013979, when this lookup read i_pages without one).
      yield* spin_lock(c, as.i_pages_lock, S_wb_lookup);
      const pfn = as.i_pages.get(op.page + vma.vm_pgoff);
      yield* spin_unlock(c, as.i_pages_lock, S_wb_lookup);
      if (pfn === undefined) return record('nothing-cached');
      record((yield* writeback_folio(c, k.page(pfn))) ? 'wrote' : 'clean');
      return;
    }
    case 'fork': {
      const vma = vmaOf(env, op.vma);
      yield* fork(c, vma.vm_mm);
      return;
    }
    case 'ksm_merge':
      return;
    case 'reuse': {
      const owners: OwnerName[] = op.owner === 'any' ? ['slab', 'kernel', 'anon', 'pagecache'] : Array.isArray(op.owner) ? op.owner : [op.owner];
      const got: string[] = [];
      for (let n = 0; n < op.times; n++) {
        const which = owners.length > 1 ? owners[yield* choose(c, owners.length, S_reuse, owners)]! : owners[0]!;
        got.push(yield* reuseAs(c, env, which, op.vma, op.page, n));
      }
      record(got.join(','));
      return;
    }
  }
}

/** Hand the next free page to a new owner; the outcome says whether it was a reused (freed) page. */
function* reuseAs(c: Ctx, env: Env, owner: OwnerName, vmaName: string | undefined, page: number, n: number): Step<string> {
  const k = env.k;
  const tag = (f: Folio | null) => `${owner}(${f && f.ghost.gen > 1 ? 'reused page' : 'fresh page'})`;
  switch (owner) {
    case 'slab':
      return tag(yield* allocate_slab(c, k.newKObjectOnce('kmem_cache', 'kmalloc-64')));
    case 'kernel':
      return tag(yield* alloc_kernel_page(c, 0xdead000));
    case 'anon': {
      const vma = vmaOf(env, vmaName!);
      const r = yield* user_access(c, vma.vm_start + page * PAGE_SIZE, true);
      return r ? 'anon(fault failed)' : tag(mappedFolio(env, vma, page));
    }
    case 'pagecache':
      return tag(yield* alloc_pagecache_page(c, env.other.f_mapping, n));
  }
}

const S_fork_lock = site('dup_mmap', 'mmap_write_lock(oldmm)');

/** fork(): dup_mmap() of the private anonymous VMAs under mmap_write_lock, then the TLB flush. */
function* fork(c: Ctx, mm: MmStruct): Step<void> {
  yield* down_write(c, mm.mmap_lock, S_fork_lock);
  const child = c.k.newMm();
  for (const v of mm.vmas) {
    const cv = new Vma(child, v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot_write, v.vm_ops, v.vm_file, v.vm_pgoff, `${v.label} (child)`);
    child.vmas.push(cv);
    if (v.vm_ops === null && !(v.vm_flags & VM_SHARED)) yield* copy_page_range(c, child, cv, v);
  }
  yield* flush_tlb(c);
  yield* up_write(c, mm.mmap_lock, S_fork_lock);
}

// ===== final state (DPOR-vs-naive tests) =====

/**
 * The final state. An execution that ended at a fatal finding (an oops) is keyed by the finding
 * alone: what unrelated CPUs happened to do before it differs between equivalent executions.
 */
function stateKey(k: Kernel, w: World): string {
  if (w.oopsed) return `oops: ${w.findings.filter((f) => f.fatal).map((f) => `${f.id}: ${f.message}`).sort().join('; ')}`;
  const parts: string[] = [];
  for (const p of [...k.pages.values()].sort((a, b) => a.pfn - b.pfn)) {
    if (p.ghost.owner === 'free' && p._refcount.v === 0) continue;
    parts.push(`${p.pfn}:${p.ghost.owner}:${p._refcount.v}:${k.describeWord(p.mapping.v)}:${p.flagNames().join('|')}:${p.data.v}`);
  }
  for (const t of [...k.tables.values()].sort((a, b) => a.tpfn - b.tpfn)) {
    if (!t.live.v) {
      parts.push(`t${t.tpfn}:freed`);
      continue;
    }
    for (const [va, cell] of t.existing()) if (cell.v) parts.push(`${t.levelName}@${va.toString(16)}=${fmtEntry(cell.v, t.level)}`);
  }
  parts.push([...w.outcomes.entries()].sort().map(([a, b]) => `${a}=${b}`).join(','));
  parts.push(w.findings.map((f) => f.id).sort().join(','));
  return parts.join('\n');
}

