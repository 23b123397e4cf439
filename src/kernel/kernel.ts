/*
 * The kernel arena of one execution (docs/reference/design.md §4): every struct page, page-table page,
 * mm_struct, address_space and kernel object, by id; plus the per-CPU context (Ctx) that
 * kernel code receives as its first argument in place of the C code's implicit `current`.
 *
 * Also here: the kernel's assertion macros as finding reporters (WARN_ON_ONCE returns its
 * condition, as in C; VM_BUG_ON and lockdep asserts record findings), and `why`, the
 * explanation channel the `pin` command uses to say which check decided a result.
 */
import { Cell } from '../sim/cell.ts';
import { RwSem, SpinLock } from '../sim/sync.ts';
import { SimThread, type World } from '../sim/world.ts';
import { AddressSpace, AnonVma, type AOps, type File, type FsType, type KObjKind, type KObject, MmStruct, Page, PlainKObject, type Zone } from './mm_types.ts';
import { PageTable, PGD_LEVEL } from './pgtable.ts';
import type { Revision } from './revision.ts';
import type { Arch, TableFree } from './types.ts';

export interface KernelConfig {
  readonly arch: Arch;
  /** How page tables are freed: after an IPI flush (x86 before 6.15) or via RCU. */
  readonly tableFree: TableFree;
  /** TLB shootdown waits for other CPUs (IPI: x86, also 6.15+) or is broadcast by hardware (arm64 TLBI; x86 INVLPGB only with --tlb-flush broadcast). */
  readonly tlbFlush: 'ipi' | 'broadcast';
  readonly CONFIG_SECRETMEM: boolean;
  readonly CONFIG_PROVE_LOCKING: boolean;
  readonly CONFIG_DEBUG_VM: boolean;
  /** Free huge pages in the hugetlb pool, per order. */
  readonly hugetlbPool: Readonly<Record<number, number>>;
}

/** The per-CPU (or per-task) context kernel code runs in. */
export class Ctx extends SimThread {
  /** Explanation channel: set by the `pin` command to collect "which check decided". */
  why: ((fn: string, msg: string) => void) | undefined = undefined;
  /** current->mm: the process this CPU runs in (null for a kernel thread). */
  mm: MmStruct | null = null;
  /** PF_MEMALLOC_PIN (memalloc_pin_save()): allocations avoid CMA and ZONE_MOVABLE. */
  memallocPin = false;
  /** Set when GUP-fast hands the rest of a range to the slow path (for the `fell-back` outcome). */
  gupSlowUsed = false;
  /** The index of the scenario operation this CPU runs (-1: none yet), to name it in model errors. */
  opIndex = -1;

  constructor(
    readonly k: Kernel,
    id: number,
    name: string,
    ctxObj: number,
    spawnedAt: number,
    isCpu: boolean,
  ) {
    super(id, name, ctxObj, spawnedAt, isCpu);
  }

  get rev(): Revision {
    return this.k.rev;
  }
}

export function ctxMaker(k: Kernel, isCpu: boolean) {
  return (id: number, name: string, ctxObj: number, spawnedAt: number): Ctx => new Ctx(k, id, name, ctxObj, spawnedAt, isCpu);
}

const KOBJ_BASE = 0x10000;
const KOBJ_STRIDE = 0x40;
const TABLE_PFN_BASE = 0x100000;

export class Kernel {
  readonly pages = new Map<number, Page>();
  /** Live compound (large) folios: head pfn -> order. */
  readonly compound = new Map<number, number>();
  /** Orders that have ever been in `compound` (few: 2, 9, 18). */
  readonly compoundOrders = new Set<number>();
  readonly kobjs = new Map<number, KObject>();
  readonly tables = new Map<number, PageTable>();
  readonly mms: MmStruct[] = [];
  /** Free lists per zone and order, LIFO: the most recently freed page is handed out first. */
  readonly freeLists = new Map<string, number[]>();
  /** The free list objects, one per (zone, order) like the buddy lists: allocs and frees of one list conflict. */
  private readonly freeListObjs = new Map<string, Cell<number>>();
  /** Every address_space ever created, for rmap walks and the refcount audit. */
  readonly mappings: AddressSpace[] = [];
  /** Every struct file ever opened (setup.ts createFile()), for the model's invariants. */
  readonly files: File[] = [];
  /** The swap cache's address_space (swapper_spaces[]). */
  readonly swapSpace: AddressSpace;
  /** swap offset -> pfn of the swap-cache folio (swap_address_space(entry)'s i_pages). */
  readonly swapCache = new Map<number, number>();
  /** Data saved on swap, per offset. */
  readonly swapData = new Map<number, number>();
  nextSwapOffset = 1;
  /** The shared zero page (ZERO_PAGE(0)). */
  zeroPfn = 0;
  /** Pages handed to owners outside page tables/caches (slab, kernel users, drivers), for the audit. */
  readonly ownerPages = new Set<number>();
  /** Next never-used pfn per zone; huge (order >= 9) allocations come from their own range. */
  private nextPfn = new Map<string, number>([
    ['normal', 0x10],
    ['normal-huge', 0x100000],
    ['movable', 0x10000000],
    ['movable-huge', 0x18000000],
    ['cma', 0x20000000],
    ['cma-huge', 0x28000000],
  ]);
  private nextTablePfn = TABLE_PFN_BASE;
  private nextKobj = 0;
  readonly trace: string[] = [];
  /** Where user pages (anon, page cache) are allocated: 'movable' models movablecore= / CMA-backed memory. */
  userZone: Zone = 'normal';
  /** Watchers on PTE writes (ghost state for the pin-on-reused-page check). */
  readonly pteWatchers: PteWatcher[] = [];

  constructor(
    readonly w: World,
    readonly rev: Revision,
    readonly config: KernelConfig,
    readonly shmemAops: AOps,
    readonly swapAops: AOps,
    readonly swapFs: FsType,
  ) {
    this.swapSpace = this.newAddressSpace('swapper_space', swapAops, swapFs);
  }

  /** The object standing for one free list (zone->free_area[order] / the hugetlb pool). */
  freeListObj(key: string): Cell<number> {
    let c = this.freeListObjs.get(key);
    if (!c) {
      c = new Cell(this.w.newObject(() => `free list ${key}`), 0);
      this.freeListObjs.set(key, c);
    }
    return c;
  }

  // ----- struct pages -----

  /** The struct page for a pfn (tail pages of huge folios are created on first use). */
  page(pfn: number): Page {
    let p = this.pages.get(pfn);
    if (!p) {
      p = new Page(this.w, pfn, this.zoneOfPfn(pfn));
      const head = this.compoundHeadOf(pfn);
      if (head !== undefined) p.compound_head.v = head + 1;
      this.pages.set(pfn, p);
    }
    return p;
  }

  /** Head pfn of the live large folio containing pfn (pfn itself excluded), if any. */
  compoundHeadOf(pfn: number): number | undefined {
    // Large folios are naturally aligned: the head is pfn rounded down to the folio size.
    for (const order of this.compoundOrders) {
      const n = 2 ** order;
      const head = pfn - (pfn % n);
      if (head !== pfn && this.compound.get(head) === order) return head;
    }
    return undefined;
  }

  zoneOfPfn(pfn: number): Zone {
    return pfn >= 0x20000000 ? 'cma' : pfn >= 0x10000000 ? 'movable' : 'normal';
  }

  /** A never-used pfn range for an allocation of 2^order pages in a zone (naturally aligned). */
  freshPfn(zone: Zone, order: number): number {
    const n = 2 ** order;
    const key = order >= 9 ? `${zone}-huge` : zone;
    let next = this.nextPfn.get(key)!;
    next = Math.ceil(next / n) * n;
    this.nextPfn.set(key, next + n);
    return next;
  }

  private readonly folioLocks = new Map<number, SpinLock>();
  /** The folio lock (PG_locked) as a blocking lock object. */
  folioLock(folio: Page): SpinLock {
    let l = this.folioLocks.get(folio.pfn);
    if (!l) {
      const pfn = folio.pfn;
      l = new SpinLock(this.w.newObject(() => `folio@pfn${pfn}.PG_locked`));
      this.folioLocks.set(folio.pfn, l);
    }
    return l;
  }

  // ----- page tables -----

  newTable(level: number, base: number, mm: MmStruct | null): PageTable {
    const tpfn = this.nextTablePfn++;
    const lvlName = ['', 'pte', 'pmd', 'pud', 'pgd'][level];
    const ptl = new SpinLock(this.w.newObject(() => `${lvlName}-table@${tpfn.toString(16)}.ptl`));
    const t = new PageTable(this.w, tpfn, level, base, level === PGD_LEVEL && mm ? mm.page_table_lock : ptl);
    this.tables.set(tpfn, t);
    return t;
  }

  newMm(): MmStruct {
    const id = this.mms.length;
    const lock = new SpinLock(this.w.newObject(() => `mm${id}.page_table_lock`));
    const pgd = (() => {
      const tpfn = this.nextTablePfn++;
      const t = new PageTable(this.w, tpfn, PGD_LEVEL, 0, lock);
      this.tables.set(tpfn, t);
      return t;
    })();
    const mm = new MmStruct(
      id,
      pgd,
      new RwSem(this.w.newObject(() => `mm${id}.mmap_lock`)),
      new Cell(this.w.newObject(() => `mm${id}.write_protect_seq`), 0),
      new Cell(this.w.newObject(() => `mm${id}.flags(MMF_HAS_PINNED)`), false),
      lock,
    );
    this.mms.push(mm);
    return mm;
  }

  // ----- kernel objects behind pointers -----

  private nextPtr(): number {
    return KOBJ_BASE + KOBJ_STRIDE * this.nextKobj++;
  }

  newAddressSpace(desc: string, a_ops: AOps, fs: FsType): AddressSpace {
    const ptr = this.nextPtr();
    const live = new Cell(this.w.newObject(() => `address_space(${desc})`), true);
    const lock = new SpinLock(this.w.newObject(() => `address_space(${desc}).i_pages lock`));
    const as = new AddressSpace(ptr, desc, a_ops, fs, live, lock);
    this.kobjs.set(ptr, as);
    this.mappings.push(as);
    return as;
  }

  newAnonVma(desc: string): AnonVma {
    const ptr = this.nextPtr();
    const av = new AnonVma(ptr, desc, new Cell(this.w.newObject(() => `anon_vma(${desc})`), true));
    this.kobjs.set(ptr, av);
    return av;
  }

  private readonly named = new Map<string, PlainKObject>();
  /** A kernel object by kind and name, created on first use (e.g. the kmalloc-64 kmem_cache). */
  newKObjectOnce(kind: KObjKind, desc: string): PlainKObject {
    const key = `${kind}:${desc}`;
    let o = this.named.get(key);
    if (!o) this.named.set(key, (o = this.newKObject(kind, desc)));
    return o;
  }

  newKObject(kind: KObjKind, desc: string): PlainKObject {
    const ptr = this.nextPtr();
    const o = new PlainKObject(ptr, kind, desc, new Cell(this.w.newObject(() => `${kind}(${desc})`), true));
    this.kobjs.set(ptr, o);
    return o;
  }

  /** What a mapping word points at, for traces: "anon_vma(buf)|ANON", "address_space(ext4 /mnt/f)", "junk 0xdead000". */
  describeWord(word: number): string {
    if (word === 0) return 'NULL';
    const flags = word & 3;
    const o = this.kobjs.get(word - flags);
    const base = o ? `${o.kind}(${o.desc})${o.live.v ? '' : ' [freed]'}` : `junk 0x${word.toString(16)}`;
    if (!o) return base;
    return flags === 1 ? `${base}|ANON` : flags === 2 ? `${base}|MOVABLE` : flags === 3 ? `${base}|KSM` : base;
  }
}

export interface PteWatcher {
  /** The PTE cell being watched. */
  readonly cellId: number;
  readonly pfn: number;
  /** Set when the PTE maps `pfn` while the watcher is active. */
  seen: boolean;
}

// ===== assertion macros as findings =====

/** WARN_ON_ONCE(cond): records a `warn` finding, returns cond (so `if (WARN_ON_ONCE(...))` keeps its shape). */
export function WARN_ON_ONCE(c: Ctx, cond: boolean, what: string): boolean {
  if (cond) c.w.report('warn', `WARN_ON_ONCE: ${what}`, false, undefined, warner(what));
  return cond;
}

/** The function a WARN's text names first (`fn(): what`), which is where the macro sits. */
function warner(what: string): string | undefined {
  return /^(\w+)\(\)/.exec(what)?.[1];
}

/** VM_BUG_ON / BUG(): a kernel oops (DEBUG_VM); ends the execution. */
export function VM_BUG_ON(c: Ctx, cond: boolean, what: string): boolean {
  if (cond && c.k.config.CONFIG_DEBUG_VM) c.w.report('warn', `VM_BUG_ON: ${what}`, true, undefined, warner(what));
  return cond;
}

/** VM_WARN_ON_ONCE(cond) (CONFIG_DEBUG_VM): a `warn` finding that does not end the execution; returns cond. */
export function VM_WARN_ON_ONCE(c: Ctx, cond: boolean, what: string): boolean {
  if (cond && c.k.config.CONFIG_DEBUG_VM) c.w.report('warn', `VM_WARN_ON_ONCE: ${what}`, false);
  return cond;
}

/** lockdep_assert_irqs_disabled() (CONFIG_PROVE_LOCKING): a lockdep splat if IRQs are on. */
export function lockdep_assert_irqs_disabled(c: Ctx, fn: string): void {
  if (c.k.config.CONFIG_PROVE_LOCKING && c.irqOff === 0) {
    c.w.report('irqs-enabled-assert', `lockdep_assert_irqs_disabled() in ${fn}() with IRQs enabled`, false, undefined, fn);
  }
}
