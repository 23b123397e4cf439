/*
 * The mm structures the model needs, after include/linux/mm_types.h (6.5): struct page /
 * struct folio, struct mm_struct, struct vm_area_struct, struct address_space, struct file,
 * and the vm_operations_struct / address_space_operations a backing provides.
 *
 * struct page is modelled field by field as Cells (each a scheduling point when read or
 * written by a running CPU). A folio is its head page (folio == &folio->page). Flag bits are
 * separate cells, so two CPUs touching different bits do not conflict (set_bit is atomic per
 * bit; __folio_set_* on a freshly allocated page races with nobody who matters).
 *
 * Ghost fields (not kernel memory; invariants and traces only) are grouped in `ghost`.
 *
 * Left out: memcg, _last_cpupid, page->private use other than the swap entry, struct slab
 * fields other than the one that overlays page->mapping (slab_cache up to 6.4, slab_list.prev
 * from 6.5: kernel/reuse.ts), the
 * folio's deferred-split list, mlock counts.
 */
import { Cell } from '../sim/cell.ts';
import type { RwSem, SpinLock } from '../sim/sync.ts';
import type { World } from '../sim/world.ts';
import type { PageTable } from './pgtable.ts';

export type Zone = 'normal' | 'movable' | 'cma';

/** Who owns a page right now, for traces and the end-of-run refcount audit. */
export type OwnerKind =
  | 'free'
  | 'anon'
  | 'pagecache'
  | 'hugetlb'
  | 'slab'
  | 'kernel'
  | 'driver'
  | 'zero'
  | 'ksm'
  | 'secretmem';

export interface PageGhost {
  /** Incremented at every allocation: "folio@pfn7 gen 2" is a different incarnation from gen 1. */
  gen: number;
  owner: OwnerKind;
  ownerDesc: string;
  zone: Zone;
  /** References the current owner holds beyond mappings/caches (slab, kernel user, driver). */
  ownerRefs: number;
  /** Pins (FOLL_PIN) returned to callers and not yet released. */
  pins: number;
  /** FOLL_GET references returned to callers and not yet released. */
  gets: number;
  /** The refcount is frozen (folio_ref_freeze succeeded, page_ref_unfreeze not yet done). */
  frozen: boolean;
}

type PageCellName =
  | '_refcount'
  | '_mapcount'
  | 'mapping'
  | 'index'
  | 'private'
  | 'compound_head'
  | 'PG_locked'
  | 'PG_referenced'
  | 'PG_uptodate'
  | 'PG_dirty'
  | 'PG_lru'
  | 'PG_head'
  | 'PG_writeback'
  | 'PG_swapcache'
  | 'PG_slab'
  | 'PG_reserved'
  | 'PG_hugetlb'
  | 'PG_anon_exclusive'
  | '_folio_order'
  | '_pincount'
  | '_entire_mapcount'
  | 'fs_private'
  | 'data';

const FLAG_CELLS = [
  ['locked', 'PG_locked'],
  ['referenced', 'PG_referenced'],
  ['uptodate', 'PG_uptodate'],
  ['dirty', 'PG_dirty'],
  ['lru', 'PG_lru'],
  ['head', 'PG_head'],
  ['writeback', 'PG_writeback'],
  ['swapcache', 'PG_swapcache'],
  ['slab', 'PG_slab'],
  ['reserved', 'PG_reserved'],
  ['hugetlb', 'PG_hugetlb'],
  ['anon_exclusive', 'PG_anon_exclusive'],
] as const;

/**
 * struct page. Fields are Cells created on first use: a 1 GB hugetlb folio has 262,144 tail
 * pages and most of them are only ever asked for their compound_head.
 */
/**
 * struct page. Fields are Cells created on first use: a 1 GB hugetlb folio has 262,144 tail
 * pages and most of them are only ever asked for their compound_head. (Plain optional fields
 * rather than a dictionary, so property access stays monomorphic in the explorer's hot path.)
 */
export class Page {
  private c__refcount: Cell<number> | undefined = undefined;
  private c__mapcount: Cell<number> | undefined = undefined;
  private c_mapping: Cell<number> | undefined = undefined;
  private c_index: Cell<number> | undefined = undefined;
  private c_private: Cell<number> | undefined = undefined;
  private c_compound_head: Cell<number> | undefined = undefined;
  private c_PG_locked: Cell<boolean> | undefined = undefined;
  private c_PG_referenced: Cell<boolean> | undefined = undefined;
  private c_PG_uptodate: Cell<boolean> | undefined = undefined;
  private c_PG_dirty: Cell<boolean> | undefined = undefined;
  private c_PG_lru: Cell<boolean> | undefined = undefined;
  private c_PG_head: Cell<boolean> | undefined = undefined;
  private c_PG_writeback: Cell<boolean> | undefined = undefined;
  private c_PG_swapcache: Cell<boolean> | undefined = undefined;
  private c_PG_slab: Cell<boolean> | undefined = undefined;
  private c_PG_reserved: Cell<boolean> | undefined = undefined;
  private c_PG_hugetlb: Cell<boolean> | undefined = undefined;
  private c_PG_anon_exclusive: Cell<boolean> | undefined = undefined;
  private c__folio_order: Cell<number> | undefined = undefined;
  private c__pincount: Cell<number> | undefined = undefined;
  private c__entire_mapcount: Cell<number> | undefined = undefined;
  private c_fs_private: Cell<boolean> | undefined = undefined;
  private c_data: Cell<number> | undefined = undefined;
  // ----- ghost -----
  readonly ghost: PageGhost;

  constructor(
    private readonly w: World,
    readonly pfn: number,
    zone: Zone,
  ) {
    this.ghost = {
      gen: 0,
      owner: 'free',
      ownerDesc: 'free',
      zone,
      ownerRefs: 0,
      pins: 0,
      gets: 0,
      frozen: false,
    };
  }

  private mk<T>(f: PageCellName, v: T): Cell<T> {
    const pfn = this.pfn;
    return new Cell<T>(this.w.newObject(() => `folio@pfn${pfn}.${f}`), v);
  }

  get _refcount(): Cell<number> {
    return (this.c__refcount ??= this.mk('_refcount', 0));
  }
  /** Number of page-table mappings of this page (the kernel's _mapcount + 1). */
  get _mapcount(): Cell<number> {
    return (this.c__mapcount ??= this.mk('_mapcount', 0));
  }
  /** The mapping word: address_space *, anon_vma | PAGE_MAPPING_ANON, KSM node | 3, movable ops | 2, or a slab's slab_cache (up to 6.4) / slab_list.prev (6.5+). */
  get mapping(): Cell<number> {
    return (this.c_mapping ??= this.mk('mapping', 0));
  }
  get index(): Cell<number> {
    return (this.c_index ??= this.mk('index', 0));
  }
  /** page->private; for swap-cache folios the swap entry (folio->swap). */
  get private(): Cell<number> {
    return (this.c_private ??= this.mk('private', 0));
  }
  /** 0 for a head or order-0 page; for a tail page the head's pfn + 1 (the kernel stores head | 1). */
  get compound_head(): Cell<number> {
    return (this.c_compound_head ??= this.mk('compound_head', 0));
  }
  get PG_locked(): Cell<boolean> {
    return (this.c_PG_locked ??= this.mk('PG_locked', false));
  }
  get PG_referenced(): Cell<boolean> {
    return (this.c_PG_referenced ??= this.mk('PG_referenced', false));
  }
  get PG_uptodate(): Cell<boolean> {
    return (this.c_PG_uptodate ??= this.mk('PG_uptodate', false));
  }
  get PG_dirty(): Cell<boolean> {
    return (this.c_PG_dirty ??= this.mk('PG_dirty', false));
  }
  get PG_lru(): Cell<boolean> {
    return (this.c_PG_lru ??= this.mk('PG_lru', false));
  }
  get PG_head(): Cell<boolean> {
    return (this.c_PG_head ??= this.mk('PG_head', false));
  }
  get PG_writeback(): Cell<boolean> {
    return (this.c_PG_writeback ??= this.mk('PG_writeback', false));
  }
  get PG_swapcache(): Cell<boolean> {
    return (this.c_PG_swapcache ??= this.mk('PG_swapcache', false));
  }
  get PG_slab(): Cell<boolean> {
    return (this.c_PG_slab ??= this.mk('PG_slab', false));
  }
  get PG_reserved(): Cell<boolean> {
    return (this.c_PG_reserved ??= this.mk('PG_reserved', false));
  }
  get PG_hugetlb(): Cell<boolean> {
    return (this.c_PG_hugetlb ??= this.mk('PG_hugetlb', false));
  }
  get PG_anon_exclusive(): Cell<boolean> {
    return (this.c_PG_anon_exclusive ??= this.mk('PG_anon_exclusive', false));
  }
  /** Large-folio order (meaningful on the head). */
  get _folio_order(): Cell<number> {
    return (this.c__folio_order ??= this.mk('_folio_order', 0));
  }
  /** Exact pin count of a large folio (on the head). */
  get _pincount(): Cell<number> {
    return (this.c__pincount ??= this.mk('_pincount', 0));
  }
  /** PMD/PUD mappings of the whole folio. */
  get _entire_mapcount(): Cell<number> {
    return (this.c__entire_mapcount ??= this.mk('_entire_mapcount', 0));
  }
  /** The filesystem's per-folio write state in folio->private (ext4/xfs/btrfs: buffers mapped, delalloc reserved): set by ->page_mkwrite / write_begin, dropped when writeback cleans the folio. Writing or dirtying a folio of such a filesystem without it is the "dirty without ->page_mkwrite" bug (docs/reference/kernel-gup-reference.md §6). */
  get fs_private(): Cell<boolean> {
    return (this.c_fs_private ??= this.mk('fs_private', false));
  }
  /** The page's contents, as a version number (writes bump it, writeback and CoW copy it). */
  get data(): Cell<number> {
    return (this.c_data ??= this.mk('data', 0));
  }

  /**
   * A field's value without creating its cell (0 if it was never set): for the model's
   * invariants, which must not change the state they check (a new cell is a new object).
   */
  peek(f: '_refcount' | '_pincount' | 'compound_head' | 'mapping' | 'index'): number {
    switch (f) {
      case '_refcount':
        return this.c__refcount?.v ?? 0;
      case '_pincount':
        return this.c__pincount?.v ?? 0;
      case 'compound_head':
        return this.c_compound_head?.v ?? 0;
      case 'mapping':
        return this.c_mapping?.v ?? 0;
      case 'index':
        return this.c_index?.v ?? 0;
    }
  }
  /** PG_head without creating its cell (false if never set). */
  peekHead(): boolean {
    return this.c_PG_head?.v ?? false;
  }

  /** Whether a field has ever been touched (state dumps skip untouched tail pages). */
  has(f: PageCellName): boolean {
    return (this as unknown as Record<string, unknown>)[`c_${f}`] !== undefined;
  }

  get name(): string {
    return `folio@pfn${this.pfn}`;
  }

  /** The flag bits as a list, for traces and state dumps (reads without scheduling). */
  flagNames(): string[] {
    const out: string[] = [];
    for (const [n, f] of FLAG_CELLS) {
      const c = (this as unknown as Record<string, Cell<boolean> | undefined>)[`c_${f}`];
      if (c?.v) out.push(n);
    }
    return out;
  }
}
export type Folio = Page;

// ----- operations tables -----

/** struct vm_operations_struct: only what the modelled paths ask. */
export interface VmOps {
  readonly name: string;
  readonly page_mkwrite: boolean;
  readonly pfn_mkwrite: boolean;
  /** How ->fault finds the page. */
  readonly fault: 'filemap' | 'shmem' | 'hugetlb' | 'secretmem' | 'driver';
}

/** struct address_space_operations, by name; plus the properties the modelled code tests. */
export interface AOps {
  readonly name: string;
  /** ->dirty_folio needs the folio prepared by ->page_mkwrite / write_begin (ext4/xfs/btrfs: buffers, delalloc). */
  readonly needsPrepare: boolean;
}

/** Filesystem / backing behaviour (fs type, vm_ops, a_ops, bdi). */
export interface FsType {
  readonly name: string;
  /** statfs f_type magic, as gup_longterm's get_fs_type() sees it. */
  readonly magic: number;
  readonly vm_ops: VmOps;
  readonly a_ops: AOps;
  /** backing_dev_info has BDI_CAP_WRITEBACK (mapping_can_writeback()). */
  readonly can_writeback: boolean;
  /** Huge page order for hugetlbfs (9 = 2 MB, 18 = 1 GB); 0 otherwise. */
  readonly hugeOrder: number;
  /** Extra vm_flags the fs's ->mmap sets. */
  readonly mmapFlags: number;
}

// ----- kernel objects reachable through pointers (for deref checks) -----

export type KObjKind = 'address_space' | 'anon_vma' | 'ksm_stable_node' | 'movable_ops' | 'kmem_cache' | 'kmem_cache_node' | 'swap_space';

/** Something a kernel pointer can point at. `live` is false once it has been freed. */
export interface KObject {
  readonly ptr: number;
  readonly kind: KObjKind;
  readonly desc: string;
  readonly live: Cell<boolean>;
}

export class AddressSpace implements KObject {
  readonly kind = 'address_space' as const;
  /** What is on disk (or in the backing store) per index: the data version last written back. */
  readonly disk = new Map<number, number>();
  /** i_pages: index -> folio pfn. Protected by the i_pages lock; GUP-fast never reads it. */
  readonly i_pages = new Map<number, number>();
  /** mapping->host: the inode this address_space is embedded in (null for the swap cache's). */
  host: Inode | null = null;
  /** nrpages counter etc. are left out. */
  constructor(
    readonly ptr: number,
    readonly desc: string,
    readonly a_ops: AOps,
    readonly fs: FsType,
    readonly live: Cell<boolean>,
    readonly i_pages_lock: SpinLock,
  ) {}
}

export class AnonVma implements KObject {
  readonly kind = 'anon_vma' as const;
  constructor(
    readonly ptr: number,
    readonly desc: string,
    readonly live: Cell<boolean>,
  ) {}
}

export class PlainKObject implements KObject {
  constructor(
    readonly ptr: number,
    readonly kind: KObjKind,
    readonly desc: string,
    readonly live: Cell<boolean>,
    readonly a_ops: AOps | null = null,
  ) {}
}

/**
 * struct inode, as far as the modelled lifetimes need it (include/linux/fs.h; fs/inode.c).
 * The address_space is embedded in it (inode->i_data), so it lives exactly as long: until the
 * RCU callback destroy_inode() queues (i_callback) after the last reference went.
 *
 * References, as the kernel keeps them (docs: src/kernel/inode.ts has the sources):
 *   i_count  held by the dentry while the file has a name or an open struct file (the
 *            dentry cache keeps a linked file's dentry even unused), and taken for a moment by
 *            anyone who looks the inode up. iput() of the last one evicts the inode if it is
 *            unlinked (generic_drop_inode(): i_nlink == 0); a linked inode stays in the cache.
 *   d_count  the dentry's references: one per struct file not yet released by __fput() (each
 *            holds f_path). A nameless or unlinked dentry dies with its last one (dput()).
 * Both are changed under i_lock here (the kernel uses d_lock, i_lock and
 * atomic_dec_and_lock(&inode->i_count, &inode->i_lock)): one decision, one evict.
 */
export class Inode {
  /** i_count: see the class comment. Changed under i_lock. */
  i_count = 1;
  /** The dentry's references (open struct files not yet released). Changed under i_lock. */
  d_count = 0;
  /** Ghost: I_FREEING was set (iput_final() -> evict() has begun); no new reference can be taken. */
  freeing = false;
  constructor(
    readonly i_mapping: AddressSpace,
    readonly fs: FsType,
    readonly path: string,
    /** i_size (i_size_read() / i_size_write()): a fault at or past it is SIGBUS. */
    readonly i_size: Cell<number>,
    /** i_nlink: 0 once unlinked; a memfd, the shmem file of MAP_SHARED|MAP_ANONYMOUS and secretmem never have a name. Changed under i_lock. */
    public i_nlink: number,
    /** inode->i_lock (and the dentry's d_lock, folded into it). */
    readonly i_lock: SpinLock,
  ) {}
}

/**
 * struct file (include/linux/fs.h): f_count counts the descriptor's reference and one per VMA
 * mapping it (mmap_region(): vma->vm_file = get_file(file); remove_vma() puts it). The last
 * fput() releases it (__fput(): dput() of its dentry).
 */
export class File {
  /** Ghost: __fput() ran (the struct file is gone). */
  released = false;
  constructor(
    readonly f_inode: Inode,
    readonly f_mapping: AddressSpace,
    /** f_count (atomic_long_t). */
    readonly f_count: Cell<number>,
    /** The process's descriptor for this file (its fd table slot): true while open. */
    readonly fd: Cell<boolean>,
    readonly secretmem: boolean,
    readonly hugetlb: boolean,
    readonly shmem: boolean,
  ) {}
}

export class Vma {
  anon_vma: AnonVma | null = null;
  constructor(
    readonly vm_mm: MmStruct,
    public vm_start: number,
    public vm_end: number,
    public vm_flags: number,
    /** Whether PTEs installed by faults start writable (vm_page_prot minus write-notify). */
    public vm_page_prot_write: boolean,
    readonly vm_ops: VmOps | null,
    readonly vm_file: File | null,
    readonly vm_pgoff: number,
    /** Name in traces: "buf" etc. */
    readonly label: string,
    /** Driver pages inserted with vm_insert_page(), by page offset. */
    readonly driverPages: Map<number, number> | null = null,
  ) {}

  get name(): string {
    return `vma ${this.label} [0x${this.vm_start.toString(16)}-0x${this.vm_end.toString(16)})`;
  }
}

export class MmStruct {
  readonly vmas: Vma[] = [];
  constructor(
    readonly id: number,
    readonly pgd: PageTable,
    readonly mmap_lock: RwSem,
    /** mm->write_protect_seq (fork vs GUP-fast). */
    readonly write_protect_seq: Cell<number>,
    /** MMF_HAS_PINNED: set by the first FOLL_PIN; fork then copies maybe-pinned anon pages. */
    readonly has_pinned: Cell<boolean>,
    readonly page_table_lock: SpinLock,
  ) {}

  find_vma(addr: number): Vma | undefined {
    for (const v of this.vmas) if (addr >= v.vm_start && addr < v.vm_end) return v;
    return undefined;
  }
}
