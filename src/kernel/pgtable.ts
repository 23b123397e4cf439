/*
 * Page-table entries and page-table pages: pte_t / pmd_t / pud_t / pgd_t as numbers, with the
 * kernel's accessors (arch/x86/include/asm/pgtable.h, include/linux/pgtable.h).
 *
 * Encoding (x86-like, used for every arch; arm64's bit layout differs but the predicates the
 * modelled code asks are the same): value = pfn * 4096 + flag bits. Non-present entries that
 * are not zero are swap or migration entries: type in bits 1-5, offset in the pfn field.
 * A non-leaf entry points to a PageTable by its table pfn (a separate pfn range).
 *
 * Entries are Cells, so every read of an entry is a scheduling point. Reading an entry of a
 * page-table page that has been freed is a finding (pt-use-after-free): that is exactly what
 * the IRQs-off / RCU table-freeing protocols exist to prevent.
 *
 * Left out: 5-level paging (P4D is folded), PTE_CONT batching, soft-dirty and uffd-wp bits,
 * the access-flag (young) hardware updates except where GUP sets them.
 */
import { Cell } from '../sim/cell.ts';
import type { SpinLock } from '../sim/sync.ts';
import type { World } from '../sim/world.ts';
import { PAGE_SHIFT, PTRS_PER_TABLE } from './types.ts';

export type pte_t = number;

export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
export const _PAGE_PSE = 0x080; // a PMD/PUD leaf (huge page)
export const _PAGE_PROTNONE = 0x100; // PROT_NONE / NUMA hinting: "present" to the kernel, not to the MMU
export const _PAGE_SPECIAL = 0x200; // no struct page to refcount (zero page, PFNMAP)
export const _PAGE_DEVMAP = 0x400;

const FLAG_MOD = 4096;

export function mk_pte(pfn: number, flags: number): pte_t {
  return pfn * FLAG_MOD + (flags & 0xfff);
}
export function pte_flags(pte: pte_t): number {
  return pte % FLAG_MOD;
}
export function pte_pfn(pte: pte_t): number {
  return Math.floor(pte / FLAG_MOD);
}
export function pte_none(pte: pte_t): boolean {
  return pte === 0;
}
/** Present to the kernel (x86 counts PROT_NONE entries as present). */
export function pte_present(pte: pte_t): boolean {
  return (pte_flags(pte) & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
}
export function pte_protnone(pte: pte_t): boolean {
  return (pte_flags(pte) & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE;
}
export function pte_write(pte: pte_t): boolean {
  return (pte_flags(pte) & _PAGE_RW) !== 0;
}
export function pte_dirty(pte: pte_t): boolean {
  return (pte_flags(pte) & _PAGE_DIRTY) !== 0;
}
export function pte_special(pte: pte_t): boolean {
  return (pte_flags(pte) & _PAGE_SPECIAL) !== 0;
}
export function pte_devmap(pte: pte_t): boolean {
  return (pte_flags(pte) & _PAGE_DEVMAP) !== 0;
}
export function pte_huge(pte: pte_t): boolean {
  return (pte_flags(pte) & _PAGE_PSE) !== 0;
}
/** pte_access_permitted(): what the MMU would allow a user access to do (x86 __pte_access_permitted). */
export function pte_access_permitted(pte: pte_t, write: boolean): boolean {
  const f = pte_flags(pte);
  const need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);
  return (f & need) === need;
}
export function pte_wrprotect(pte: pte_t): pte_t {
  return pte - (pte_flags(pte) & _PAGE_RW);
}
export function pte_mkwrite(pte: pte_t): pte_t {
  return pte_write(pte) ? pte : pte + _PAGE_RW;
}
export function pte_mkdirty(pte: pte_t): pte_t {
  return pte_dirty(pte) ? pte : pte + _PAGE_DIRTY;
}
export function pte_mkclean(pte: pte_t): pte_t {
  return pte - (pte_flags(pte) & _PAGE_DIRTY);
}
export function pte_mkyoung(pte: pte_t): pte_t {
  return pte_flags(pte) & _PAGE_ACCESSED ? pte : pte + _PAGE_ACCESSED;
}

// ----- swap and migration entries -----
export const SWP_SWAP = 1;
export const SWP_MIGRATION_READ = 2;
export const SWP_MIGRATION_WRITE = 3;

export function swp_entry_to_pte(type: number, offset: number): pte_t {
  return offset * FLAG_MOD + (type << 1);
}
export function is_swap_pte(pte: pte_t): boolean {
  return pte !== 0 && !pte_present(pte);
}
export function swp_type(pte: pte_t): number {
  return (pte_flags(pte) >> 1) & 0x1f;
}
export function swp_offset(pte: pte_t): number {
  return pte_pfn(pte);
}
export function is_migration_entry(pte: pte_t): boolean {
  const t = swp_type(pte);
  return is_swap_pte(pte) && (t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE);
}

/** Human-readable form of an entry, for traces. */
export function fmtEntry(v: pte_t, level = 1): string {
  if (v === 0) return 'none';
  if (is_swap_pte(v)) {
    const t = swp_type(v);
    const kind = t === SWP_SWAP ? 'swap' : t === SWP_MIGRATION_READ ? 'migration(r)' : t === SWP_MIGRATION_WRITE ? 'migration(w)' : `swp${t}`;
    return `${kind} entry ${swp_offset(v)}`;
  }
  const f = pte_flags(v);
  if (level > 1 && !(f & _PAGE_PSE)) return `table@${pte_pfn(v).toString(16)}`;
  const bits: string[] = [];
  if (f & _PAGE_PROTNONE && !(f & _PAGE_PRESENT)) bits.push('protnone');
  else bits.push('present');
  bits.push(f & _PAGE_RW ? 'write' : 'ro');
  if (f & _PAGE_DIRTY) bits.push('dirty');
  if (f & _PAGE_SPECIAL) bits.push('special');
  if (f & _PAGE_DEVMAP) bits.push('devmap');
  if (f & _PAGE_PSE) bits.push('huge');
  return `pfn ${pte_pfn(v)} ${bits.join('|')}`;
}

// ----- page-table pages -----

/** Level of a page-table page: what its entries are. */
export const PTE_LEVEL = 1;
export const PMD_LEVEL = 2;
export const PUD_LEVEL = 3;
export const PGD_LEVEL = 4;
const LEVEL_NAMES = ['', 'pte', 'pmd', 'pud', 'pgd'];
const LEVEL_SHIFT = [0, PAGE_SHIFT, 21, 30, 39];

export class PageTable {
  private readonly entries: (Cell<pte_t> | undefined)[] = new Array<Cell<pte_t> | undefined>(PTRS_PER_TABLE);
  /** Indices of the entries that exist, in creation order. */
  private readonly used: number[] = [];
  private readonly shift: number;
  /** The table page is still allocated (false after it was freed: reading it is a use-after-free). */
  readonly live: Cell<boolean>;

  constructor(
    private readonly w: World,
    /** pfn of the table page (from a range separate from data pages). */
    readonly tpfn: number,
    readonly level: number,
    /** First virtual address covered by this table. */
    readonly base: number,
    /** Split page-table lock (pte_lockptr() / pmd_lockptr()). */
    readonly ptl: SpinLock,
  ) {
    this.live = new Cell(w.newObject(() => `${LEVEL_NAMES[level]}-table@${tpfn.toString(16)}`), true);
    this.shift = 2 ** LEVEL_SHIFT[level]!;
  }

  index(addr: number): number {
    return Math.floor(addr / this.shift) % PTRS_PER_TABLE;
  }

  /** The entry cell covering addr (created on first use; a new entry reads as none). */
  entry(addr: number): Cell<pte_t> {
    const i = this.index(addr);
    let c = this.entries[i];
    if (!c) {
      const va = this.base + i * this.shift;
      const lvl = this.level;
      c = new Cell<pte_t>(this.w.newObject(() => `${LEVEL_NAMES[lvl]}@0x${va.toString(16)}`), 0);
      this.entries[i] = c;
      this.used.push(i);
    }
    return c;
  }

  /** How many entries exist (the model's invariants walk them after every step, without allocating). */
  entryCount(): number {
    return this.used.length;
  }
  /** The value of the i-th existing entry (in creation order). */
  entryValueAt(i: number): pte_t {
    return this.entries[this.used[i]!]!.v;
  }
  /** The table index of the i-th existing entry. */
  entryIndexAt(i: number): number {
    return this.used[i]!;
  }

  /** The virtual address of entry `index`. */
  addressOf(index: number): number {
    return this.base + index * this.shift;
  }

  /** Entries that exist, with their virtual address (for rmap walks, state dumps and the leak check). */
  existing(): [number, Cell<pte_t>][] {
    const out: [number, Cell<pte_t>][] = [];
    for (const i of [...this.used].sort((a, b) => a - b)) out.push([this.base + i * this.shift, this.entries[i]!]);
    return out;
  }

  get levelName(): string {
    return LEVEL_NAMES[this.level]!;
  }
  get span(): number {
    return 2 ** LEVEL_SHIFT[this.level + 1]!;
  }
}

export function tableEntry(tpfn: number): pte_t {
  return mk_pte(tpfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
}
