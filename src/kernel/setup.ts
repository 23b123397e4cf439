/*
 * Booting the model and building the memory layouts scenarios and commands ask for:
 * boot() (zero page, hugetlb pool, kmem_caches), files on a filesystem (inode +
 * address_space), the backings (`anon`, `memfd`, `ext4`, ...) mapped MAP_SHARED or MAP_PRIVATE,
 * and user memory access (the MMU walk and the fault retry a CPU performs on a load or store).
 *
 * runSequential() drives kernel code with scheduling off (setup, and the `pin` / `probe` /
 * `matrix` commands, which ask one question at a time): every op runs as soon as it is
 * announced; a blocked op there is a model bug.
 *
 * Left out: the syscall layer's argument checking (callers pass valid lengths), file
 * descriptors, mmap address selection (every VMA gets its own 1 GB-aligned slot).
 */
import { announce, Cell, WRITE_ONCE, init } from '../sim/cell.ts';
import { READ, RMW, type Step, site } from '../sim/op.ts';
import { down_read, opEnabled, SpinLock, up_read } from '../sim/sync.ts';
import { World } from '../sim/world.ts';
import { InternalError } from '../errors.ts';
import { constant } from '../sim/frames.ts';
import { FS, type FsName } from './fs.ts';
import { Ctx, Kernel, type KernelConfig } from './kernel.ts';
import { handle_mm_fault, vm_insert_page_setup } from './memory.ts';
import { MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, do_mmap } from './mmap.ts';
import { type AddressSpace, File, type Folio, type FsType, Inode, type MmStruct, type Vma, type Zone } from './mm_types.ts';
import { alloc_pages_setup, hugetlb_pool_init } from './page_alloc.ts';
import { read_entry, update_entry, walk_alloc } from './pgtable-generic.ts';
import { _PAGE_ACCESSED, _PAGE_DIRTY, pte_access_permitted, pte_huge, pte_pfn, pte_present } from './pgtable.ts';
import type { Revision } from './revision.ts';
import { HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, PAGE_SIZE, SIGBUS, SIGSEGV, VM_READ, VM_WRITE, type Arch, type TableFree } from './types.ts';
import { filemap_add_folio } from './filemap.ts';
import { FAULT_FLAG_WRITE, VM_FAULT_ERROR } from './internal.ts';

export interface BootOptions {
  readonly rev: Revision;
  readonly arch: Arch;
  /** Override the page-table freeing scheme the revision and arch imply. */
  readonly tableFree?: TableFree;
  /** Override the TLB flush scheme (IPI vs broadcast). */
  readonly tlbFlush?: 'ipi' | 'broadcast';
  /** Where user pages are allocated (movable = memory onlined to ZONE_MOVABLE). */
  readonly userZone?: Zone;
  readonly maxThreads?: number;
  readonly hugetlbPool?: Readonly<Record<number, number>>;
}

/**
 * The table-freeing and TLB-flush schemes. arm64: broadcast TLBI, tables freed via RCU. x86
 * before 6.15: IPI flush, tables freed after it. x86 6.15+: tables freed via RCU (a37259732a7d;
 * 6.19 arch/x86/Kconfig:285), but the flush still IPIs: 6.19 arch/x86/mm/tlb.c:1468-1473
 * broadcasts with INVLPGB only if mm_global_asid(mm), which an mm gets only after running on
 * more than 3 CPUs (tlb.c:459), and only on AMD (BROADCAST_TLB_FLUSH needs CPU_SUP_AMD && 64BIT,
 * Kconfig.cpu:361). `--tlb-flush broadcast` models an mm with a global ASID on such a CPU.
 */
export function archSchemes(rev: Revision, arch: Arch): { tableFree: TableFree; tlbFlush: 'ipi' | 'broadcast' } {
  if (arch === 'arm64') return { tableFree: 'rcu', tlbFlush: 'broadcast' };
  return { tableFree: rev.x86RcuTableFree ? 'rcu' : 'ipi', tlbFlush: 'ipi' };
}

export function boot(o: BootOptions): Kernel {
  const w = new World(o.maxThreads ?? 16);
  const s = archSchemes(o.rev, o.arch);
  const config: KernelConfig = {
    arch: o.arch,
    tableFree: o.tableFree ?? s.tableFree,
    tlbFlush: o.tlbFlush ?? s.tlbFlush,
    CONFIG_SECRETMEM: true,
    CONFIG_PROVE_LOCKING: true,
    CONFIG_DEBUG_VM: true,
    hugetlbPool: o.hugetlbPool ?? { [HPAGE_PMD_ORDER]: 4, [HPAGE_PUD_ORDER]: 2 },
  };
  constant(o.rev);
  constant(config);
  const k = new Kernel(w, o.rev, config, FS.tmpfs.a_ops, FS.swap.a_ops, FS.swap);
  k.userZone = o.userZone ?? 'normal';
  const zero = alloc_pages_setup(k, 0, 'normal', 'zero', 'the shared zero page');
  init(zero.PG_reserved, true);
  k.zeroPfn = zero.pfn;
  for (const [order, n] of Object.entries(config.hugetlbPool)) hugetlb_pool_init(k, Number(order), n);
  return k;
}

/** A context that runs with scheduling off (not one of the world's threads). */
export function setupCtx(k: Kernel, mm: MmStruct | null): Ctx {
  const c = new Ctx(k, -1, 'setup', 0, -1, false);
  c.w = k.w;
  c.mm = mm;
  return c;
}

/** Internal error: the model did something it must not (a bug in gupcheck, not in the kernel). */
export class ModelError extends InternalError {}

/** Run kernel code to completion with scheduling off. */
export function runSequential<T>(c: Ctx, gen: Step<T>): T {
  const w = c.w;
  let r = gen.next();
  while (!r.done) {
    const op = r.value;
    if (!opEnabled(w, c, op)) {
      throw new ModelError(`[gupcheck internal bug] ${op.site.fn}: "${op.site.action}" would block with scheduling off`);
    }
    if (op.choices) throw new ModelError(`[gupcheck internal bug] ${op.site.fn}: a nondeterministic choice with scheduling off`);
    if (w.stopped) break;
    r = gen.next();
  }
  if (r.done) return r.value;
  throw new ModelError(`[gupcheck internal bug] execution stopped during setup: ${w.findings.at(-1)?.message ?? ''}`);
}

// ===== files and backings =====

/**
 * A file on a filesystem, opened: the inode (with its address_space), its dentry and a struct
 * file. `named`: the file has a name (i_nlink 1) rather than being a memfd, secretmem or the
 * shmem file of MAP_SHARED|MAP_ANONYMOUS. `fd`: the process holds a descriptor for it (f_count 1);
 * without one (MAP_SHARED|MAP_ANONYMOUS: shmem_zero_setup()) only the VMA will hold it.
 */
export function createFile(k: Kernel, fs: FsType, path: string, o: { readonly named?: boolean; readonly fd?: boolean } = {}): File {
  const named = o.named ?? true;
  const fd = o.fd ?? true;
  const as: AddressSpace = k.newAddressSpace(`${fs.name}:${path}`, fs.a_ops, fs);
  const w = k.w;
  const desc = as.desc;
  const inode = new Inode(
    as,
    fs,
    path,
    new Cell(w.newObject(() => `inode(${desc}).i_size`), 0),
    named ? 1 : 0,
    new SpinLock(w.newObject(() => `inode(${desc}).i_lock`)),
  );
  as.host = inode;
  inode.d_count = 1; // the struct file's f_path
  const file = new File(
    inode,
    as,
    new Cell(w.newObject(() => `file(${desc}).f_count`), fd ? 1 : 0),
    new Cell(w.newObject(() => `fd table slot of ${desc}`), fd),
    fs.name === 'secretmem',
    fs.name === 'hugetlbfs',
    fs.name === 'tmpfs',
  );
  k.files.push(file);
  return file;
}

export const BACKINGS = [
  'anon',
  'memfd',
  'memfd_hugetlb',
  'memfd_hugetlb_1g',
  'tmpfs',
  'hugetlbfs',
  'ext4',
  'xfs',
  'btrfs',
  'otherfs',
  'secretmem',
  'driver',
] as const;
export type Backing = (typeof BACKINGS)[number];

export const BACKING_HELP: Record<Backing, string> = {
  anon: 'anonymous memory (MAP_SHARED|MAP_ANONYMOUS is shmem)',
  memfd: 'memfd_create() (tmpfs)',
  memfd_hugetlb: 'memfd_create(MFD_HUGETLB) with 2 MB pages',
  memfd_hugetlb_1g: 'memfd_create(MFD_HUGETLB) with 1 GB pages',
  tmpfs: 'a file on tmpfs',
  hugetlbfs: 'a file on hugetlbfs (2 MB pages)',
  ext4: 'a file on ext4 (->page_mkwrite, writeback)',
  xfs: 'a file on xfs (->page_mkwrite, writeback)',
  btrfs: 'a file on btrfs (->page_mkwrite, writeback)',
  otherfs: 'a file on a filesystem gup_longterm does not know (f2fs: ->page_mkwrite, writeback)',
  secretmem: 'memfd_secret() memory (never pinned; MAP_SHARED only)',
  driver: 'a driver mmap() of vm_insert_page() kernel pages (VM_MIXEDMAP, NULL ->mapping)',
};

/**
 * The filesystem and path a backing's file lives at, whether it has a name (i_nlink 1: unlink
 * can remove it) and whether the process holds a descriptor for it.
 */
export function backingFs(b: Backing, shared: boolean): { fs: FsName | null; path: string; named: boolean; fd: boolean } {
  switch (b) {
    case 'anon':
      return shared ? { fs: 'tmpfs', path: '/dev/zero (deleted)', named: false, fd: false } : { fs: null, path: '', named: false, fd: false };
    case 'memfd':
      return { fs: 'tmpfs', path: 'memfd:test', named: false, fd: true };
    case 'memfd_hugetlb':
      return { fs: 'hugetlbfs', path: 'memfd:test (hugetlb 2M)', named: false, fd: true };
    case 'memfd_hugetlb_1g':
      return { fs: 'hugetlbfs1g', path: 'memfd:test (hugetlb 1G)', named: false, fd: true };
    case 'tmpfs':
      return { fs: 'tmpfs', path: '/tmp/file', named: true, fd: true };
    case 'hugetlbfs':
      return { fs: 'hugetlbfs', path: '/dev/hugepages/file', named: true, fd: true };
    case 'ext4':
    case 'xfs':
    case 'btrfs':
      return { fs: b, path: `/mnt/${b}/file`, named: true, fd: true };
    case 'otherfs':
      return { fs: 'otherfs', path: '/mnt/f2fs/file', named: true, fd: true };
    case 'secretmem':
      return { fs: 'secretmem', path: 'secretmem', named: false, fd: true };
    case 'driver':
      return { fs: 'driver', path: '/dev/drv', named: true, fd: true };
  }
}

/** Page size of a backing's mapping (the huge page size for hugetlb). */
export function backingPageSize(b: Backing): number {
  return b === 'memfd_hugetlb' || b === 'hugetlbfs' ? 2 ** 21 : b === 'memfd_hugetlb_1g' ? 2 ** 30 : PAGE_SIZE;
}

export class Process {
  readonly mm: MmStruct;
  private nextSlot = 0;
  constructor(readonly k: Kernel) {
    this.mm = k.newMm();
  }
  /** A fresh 1 GB-aligned address for the next mapping. */
  slot(): number {
    return 0x7f0000000000 + this.nextSlot++ * 2 ** 30;
  }
  ctx(): Ctx {
    return setupCtx(this.k, this.mm);
  }
}

export interface MapSpec {
  readonly backing: Backing;
  readonly shared: boolean;
  readonly prot: 'rw' | 'r';
  /** Length in bytes (a multiple of the backing's page size). */
  readonly len: number;
  readonly label: string;
  /** Open an existing file instead of creating one (two mappings of one file). */
  readonly file?: File;
  /** fallocate() the file first (gup_longterm does): shmem and hugetlbfs get their pages now. */
  readonly fallocate?: boolean;
}

/** Create the file (if any) and mmap it. Scheduling off. */
export function mapBacking(p: Process, spec: MapSpec): Vma {
  const k = p.k;
  const c = p.ctx();
  const { fs, path, named, fd } = backingFs(spec.backing, spec.shared);
  const file = spec.file ?? (fs ? createFile(k, FS[fs], path, { named, fd }) : null);
  const prot = PROT_READ | (spec.prot === 'rw' ? PROT_WRITE : 0);
  const vma = do_mmap(c, p.mm, p.slot(), spec.len, prot, spec.shared ? MAP_SHARED : MAP_PRIVATE, file, spec.label);
  // The file's size covers the mapping (ftruncate() before mmap(), as the selftests do;
  // shmem_zero_setup() for MAP_SHARED|MAP_ANONYMOUS): a fault past i_size is SIGBUS.
  if (file) init(file.f_inode.i_size, Math.max(file.f_inode.i_size.v, (vma.vm_pgoff * PAGE_SIZE) + spec.len));
  if (spec.backing === 'driver') {
    // The driver's ->mmap: vm_insert_page() of kernel pages it allocated (order 0, NULL ->mapping).
    for (let a = vma.vm_start; a < vma.vm_end; a += PAGE_SIZE) {
      const page = alloc_pages_setup(k, 0, 'normal', 'driver', 'a driver buffer page (vm_insert_page)');
      page.ghost.ownerRefs = 1;
      k.ownerPages.add(page.pfn);
      const w = runSequential(c, walk_alloc(c, p.mm, a, true, 'pte'));
      vm_insert_page_setup(vma, w!.pte!, a, page);
    }
  }
  if (spec.fallocate && file && (file.shmem || file.hugetlb)) {
    const size = backingPageSize(spec.backing);
    for (let i = 0; i < spec.len / size; i++) {
      const order = Math.log2(size / PAGE_SIZE);
      if (file.hugetlb) {
        const list = k.freeLists.get(`hugetlb:${order}`) ?? [];
        const pfn = list.pop();
        if (pfn === undefined) continue;
        const f = k.page(pfn);
        f._refcount.v = 1;
        f.ghost.gen++;
        f.ghost.owner = 'hugetlb';
        runSequential(c, filemap_add_folio(c, file.f_mapping, f, i));
        f._refcount.v -= 1;
      } else {
        const f = alloc_pages_setup(k, 0, k.userZone, 'pagecache', `shmem page of ${file.f_mapping.desc}`);
        runSequential(c, filemap_add_folio(c, file.f_mapping, f, i));
        f._refcount.v -= 1;
      }
    }
  }
  return vma;
}

// ===== user memory access =====

const S_mmu_walk = site('MMU', 'page-table walk');
const S_mmu_set_ad = site('MMU', 'set the accessed/dirty bits');
const S_user_write = site('user access', 'store to the page');
const S_user_read = site('user access', 'load from the page');
const S_fault_lock = site('do_user_addr_fault', 'mmap_read_lock()');
const S_fault_unlock = site('do_user_addr_fault', 'mmap_read_unlock()');


/**
 * The load or store itself, through the translation the walk found: one step that reads the
 * entry (a TLB entry is gone once a flush that covers this CPU completed, so a store can never
 * use a translation a zap and its flush removed) and accesses the page. False: the entry changed,
 * walk again. (A store between the zap and the flush, through the stale entry, is equivalent to
 * one just before the zap: the page is freed only after the flush.)
 */
function* tlb_access(c: Ctx, entry: Cell<number>, expect: number, data: Cell<number>, write: boolean): Step<boolean> {
  const op = announce(c, data.id, write ? RMW : READ, write ? S_user_write : S_user_read);
  op.obj2 = entry.id;
  yield op;
  if (entry.v !== expect) return false;
  op.before = data.v;
  if (write) data.v += 1;
  op.after = data.v;
  return true;
}

/**
 * A user-space load or store at addr: the MMU walk; if the leaf is missing or does not permit
 * the access, a page fault (do_user_addr_fault -> handle_mm_fault) and a retry.
 * Returns 0, or -SIGSEGV / -SIGBUS. `out.folio` is set to the folio accessed.
 */
export function* user_access(c: Ctx, addr: number, write: boolean, out?: { folio: Folio | null }): Step<number> {
  const mm = c.mm!;
  for (let tries = 0; tries < 8; tries++) {
    const w = yield* walk_alloc(c, mm, addr, false, 'pmd');
    let leafTable = null;
    let leaf = 0;
    if (w) {
      const pudE = yield* read_entry(c, w.pud, addr, S_mmu_walk);
      if (pudE && pte_huge(pudE)) {
        leafTable = w.pud;
        leaf = pudE;
      } else if (w.pmd) {
        const pmdE = yield* read_entry(c, w.pmd, addr, S_mmu_walk);
        if (pmdE && pte_huge(pmdE)) {
          leafTable = w.pmd;
          leaf = pmdE;
        } else if (pmdE && pte_present(pmdE)) {
          const pt = c.k.tables.get(pte_pfn(pmdE));
          if (pt) {
            leafTable = pt;
            leaf = (yield* read_entry(c, pt, addr, S_mmu_walk)) ?? 0;
          }
        }
      }
    }
    if (leafTable && pte_access_permitted(leaf, write)) {
      // The MMU sets the accessed/dirty bits with an atomic update only when one is clear.
      const bits = _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
      let expect = leaf;
      if ((leaf % 4096 & bits) !== bits) {
        const prev = yield* update_entry(c, leafTable, addr, (v) => (v === leaf ? v + (bits & ~(v % 4096)) : v), S_mmu_set_ad);
        if (prev !== leaf) continue;
        expect = leaf + (bits & ~(leaf % 4096));
      }
      const base = pte_huge(leaf) ? Math.floor(addr / (leafTable.level === 3 ? 2 ** 30 : 2 ** 21)) * (leafTable.level === 3 ? 2 ** 30 : 2 ** 21) : addr;
      const page = c.k.page(pte_pfn(leaf) + Math.floor((addr - base) / PAGE_SIZE));
      const head = page.compound_head.v === 0 ? page : c.k.page(page.compound_head.v - 1);
      if (!(yield* tlb_access(c, leafTable.entry(addr), expect, head.data, write))) continue; // the translation was flushed: walk again
      if (out) out.folio = head;
      return 0;
    }
    yield* down_read(c, mm.mmap_lock, S_fault_lock);
    const vma = mm.find_vma(addr);
    if (!vma || (write && !(vma.vm_flags & VM_WRITE)) || (!write && !(vma.vm_flags & VM_READ))) {
      yield* up_read(c, mm.mmap_lock, S_fault_unlock);
      return -SIGSEGV;
    }
    const ret = yield* handle_mm_fault(c, vma, addr, write ? FAULT_FLAG_WRITE : 0);
    yield* up_read(c, mm.mmap_lock, S_fault_unlock);
    if (ret & VM_FAULT_ERROR) return -SIGBUS;
  }
  return -SIGBUS;
}


/** Touch every page of a VMA with a store or a load, as the selftests' memset() does. */
export function* touch(c: Ctx, vma: Vma, how: 'write' | 'read', step = PAGE_SIZE): Step<number> {
  for (let a = vma.vm_start; a < vma.vm_end; a += step) {
    const r = yield* user_access(c, a, how === 'write');
    if (r) return r;
  }
  return 0;
}

export { WRITE_ONCE };
