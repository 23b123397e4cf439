/**
 * The scenario operations, one table entry each (docs/reference/design.md §16 D): its options (the zod schema),
 * the checks of meaning the schema cannot make, what it runs on a CPU (the interpreter, calling
 * the kernel model), the outcome values it records, and its row in docs/scenario-format.md.
 * The parser's schema, the meaning checks, the CPU programs, the outcome keys and the docs'
 * operation and outcome tables all derive from this table (test/docs keeps the docs equal to
 * it). Adding an operation is one entry here.
 *
 * Outcomes: each operation that has `outcomes` records one under the CPU's name (`CPU0`), or
 * `CPU0.<index>` when a CPU has more than one such operation.
 */
import { z } from 'zod';
import { truncate_setsize } from '../kernel/truncate.ts';
import { close_fd, fdget, fput, vfs_unlink } from '../kernel/inode.ts';
import { dup_mmap } from '../kernel/fork.ts';
import { get_user_pages_fast, pin_user_pages, pin_user_pages_fast, pin_user_pages_fast_only, put_user_pages, unpin_user_pages, unpin_user_pages_dirty_lock } from '../kernel/gup.ts';
import { split_folio } from '../kernel/huge_memory.ts';
import type { Ctx, Kernel } from '../kernel/kernel.ts';
import { madvise_dontneed, mprotect, munmap, PROT_READ, PROT_WRITE } from '../kernel/mmap.ts';
import type { File, Folio, Vma } from '../kernel/mm_types.ts';
import { folio_put, folio_try_get, page_folio_stable } from '../kernel/page_ref.ts';
import { dma_write, write_cache_pages_lookup, writeback_folio } from '../kernel/page-writeback.ts';
import { folio_walk_start } from '../kernel/pagewalk.ts';
import { alloc_kernel_page, alloc_pagecache_page, allocate_slab, OWNERS, type OwnerName } from '../kernel/reuse.ts';
import type { Process } from '../kernel/setup.ts';
import { backingFs, user_access } from '../kernel/setup.ts';
import { swap_out_folio } from '../kernel/swap.ts';
import { errnoName, PAGE_SIZE, parseFoll, SIGBUS, SIGSEGV } from '../kernel/types.ts';
import { type Step, site } from '../sim/op.ts';
import { choose, down_read, up_read } from '../sim/sync.ts';
import type { VmaSpecT } from './schema.ts';

/** The caller-facing FOLL_* flags a pin operation accepts (the API adds FOLL_PIN or FOLL_GET itself). */
export const FOLL_FLAG_NAMES = [
  'FOLL_WRITE',
  'FOLL_LONGTERM',
  'FOLL_FORCE',
  'FOLL_NOFAULT',
  'FOLL_PCI_P2PDMA',
  'FOLL_HONOR_NUMA_FAULT',
  'FOLL_FAST_ONLY',
  'FOLL_GET',
  'FOLL_PIN',
  'FOLL_TOUCH',
  'FOLL_ANON',
] as const;

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a name: letters, digits, _ and -');
const count = (max: number) => z.number().int().min(1).max(max);
const vma = name.describe('a layout VMA name');
const page = z.number().int().min(0).max(63).default(0);

// ===== what an operation runs with =====

/** The process and its VMAs, as the scenario's setup built them. */
export interface Env {
  readonly k: Kernel;
  readonly proc: Process;
  readonly vmas: Map<string, Vma>;
  /** Another file, for the pagecache reuse owner. */
  readonly other: File | null;
}

/** What a CPU carries from one operation to the next: the pages it holds, and how to release them. */
export interface CpuState {
  pins: number[];
  release: 'yes' | 'no' | 'dirty';
  /** The pins are FOLL_GET references (put_page(), not unpin). */
  get: boolean;
}

export interface CpuRun {
  readonly c: Ctx;
  readonly env: Env;
  readonly st: CpuState;
  /** Record this operation's outcome. */
  record(v: string): void;
}

/** A meaning error: what is wrong with the operation, where (relative to it), and the fix. */
export interface OpProblem {
  readonly at?: readonly PropertyKey[];
  readonly what: string;
  readonly hint: string;
}

export type Section = 'Pinning' | 'Using the pins' | 'Memory-management operations';

export interface OpDef<S extends z.ZodObject = z.ZodObject> {
  readonly section: Section;
  /** The options, with `op: z.literal(name)`. */
  readonly schema: S;
  /** What it models, for the docs. */
  readonly models: string;
  /** The outcome values it records, for the docs; absent: it records none. */
  readonly outcomes?: string;
  /** Checks the schema cannot make; `vma` is the layout VMA the operation names, if it names one. */
  readonly check?: (op: z.infer<S>, vma: VmaSpecT | undefined) => OpProblem | undefined;
  /** What the CPU runs. */
  readonly run: (r: CpuRun, op: z.infer<S>) => Step<void>;
}

function def<S extends z.ZodObject>(d: OpDef<S>): OpDef<S> {
  return d;
}

function vmaOf(env: Env, n: string): Vma {
  return env.vmas.get(n)!;
}

// ===== pinning =====

const pinSchema = <N extends string>(op: N) =>
  z
    .object({
      op: z.literal(op),
      vma,
      page: page.describe('first page (in the VMA) to pin'),
      pages: count(64).default(1),
      flags: z.array(z.enum(FOLL_FLAG_NAMES)).default([]),
      unpin: z.enum(['yes', 'no', 'dirty']).default('yes').describe('release the pages when the CPU finishes its list (dirty: unpin_user_pages_dirty_lock)'),
    })
    .strict();
type PinOp = z.infer<ReturnType<typeof pinSchema>>;

const PIN_OUTCOMES = '`partial` (fewer pages than asked), `none` (0 pages), or an errno name (`EFAULT`, `EINVAL`, `ENOMEM`, `EOPNOTSUPP`, ...)';
const S_caller_lock = site('caller', 'mmap_read_lock() around pin_user_pages()');
const S_caller_unlock = site('caller', 'mmap_read_unlock() after pin_user_pages()');

/** Run one pin call; `call` makes it and returns the count or -errno. */
function* pinOp(r: CpuRun, op: PinOp, call: (start: number, flags: number, pages: number[]) => Step<number>, done: (ret: number) => string): Step<void> {
  const { c, st } = r;
  const v = vmaOf(r.env, op.vma);
  const start = v.vm_start + op.page * PAGE_SIZE;
  let flags = 0;
  for (const f of op.flags) flags |= parseFoll(f) ?? 0;
  const pages: number[] = [];
  c.gupSlowUsed = false;
  const ret = yield* call(start, flags, pages);
  if (ret > 0) st.pins.push(...pages.slice(0, ret));
  st.release = op.unpin;
  if (ret < 0) r.record(errnoName(ret));
  else if (ret < op.pages) r.record(ret === 0 ? 'none' : 'partial');
  else r.record(done(ret));
}

const fastDone = (r: CpuRun) => () => (r.c.gupSlowUsed ? 'fell-back' : 'pinned-fast');

// ===== release =====

/** Release what the CPU holds: unpin_user_pages(), the _dirty_lock variant, or put_page() for FOLL_GET. */
export function* release(c: Ctx, st: CpuState): Step<void> {
  if (!st.pins.length || st.release === 'no') return;
  const pins = st.pins.splice(0);
  if (st.get) yield* put_user_pages(c, pins);
  else if (st.release === 'dirty') yield* unpin_user_pages_dirty_lock(c, pins, true);
  else yield* unpin_user_pages(c, pins);
}

// ===== reuse =====

/** Hand the next free page to a new owner; the outcome says whether it was a reused (freed) page. */
function* reuseAs(r: CpuRun, owner: OwnerName, vmaName: string | undefined, pageNo: number, n: number): Step<string> {
  const { c, env } = r;
  const tag = (f: Folio | null) => `${owner}(${f && f.ghost.gen > 1 ? 'reused page' : 'fresh page'})`;
  switch (owner) {
    case 'slab':
      return tag(yield* allocate_slab(c, env.k.newKObjectOnce('kmem_cache', 'kmalloc-64')));
    case 'kernel':
      return tag(yield* alloc_kernel_page(c, 0xdead000));
    case 'anon': {
      const v = vmaOf(env, vmaName!);
      const out: { folio: Folio | null } = { folio: null };
      const ret = yield* user_access(c, v.vm_start + pageNo * PAGE_SIZE, true, out);
      return ret ? 'anon(fault failed)' : tag(out.folio);
    }
    case 'pagecache':
      return tag(yield* alloc_pagecache_page(c, env.other!.f_mapping, n));
  }
}

const S_reuse = site('reallocator', 'which kind of owner gets the next free page');

const reuseOwners = (o: OwnerName | 'any' | readonly OwnerName[]): readonly OwnerName[] => (o === 'any' ? OWNERS : Array.isArray(o) ? o : [o as OwnerName]);

// ===== the table =====

const fileBacked = (v: VmaSpecT | undefined) => v !== undefined && v.backing !== 'anon' && v.backing !== 'driver' && v.backing !== 'secretmem';

export const OP_TABLE = [
  def({
    section: 'Pinning',
    schema: pinSchema('pin_user_pages_fast').extend({
      fast_only: z
        .boolean()
        .default(false)
        .describe('GUP-fast alone, no slow path (FOLL_FAST_ONLY): what abstract models of GUP-fast check; no API of the modelled revisions offers it for a pin'),
    }),
    models:
      '`pin_user_pages_fast()`: GUP-fast with IRQs off, then the slow path for what it could not pin. With `fast_only: true`, GUP-fast alone (`FOLL_PIN|FOLL_FAST_ONLY`, as 5.8\'s `pin_user_pages_fast_only()`; the revisions modelled here have no such API): a model-only abstraction to compare with models of GUP-fast on its own (`bench/spin-*.yaml`)',
    outcomes: `\`pinned-fast\` (GUP-fast pinned every page), \`fell-back\` (the slow path pinned some), ${PIN_OUTCOMES}`,
    run: (r, op) => pinOp(r, op, (start, flags, pages) => (op.fast_only ? pin_user_pages_fast_only : pin_user_pages_fast)(r.c, start, op.pages, flags, pages), fastDone(r)),
  }),
  def({
    section: 'Pinning',
    schema: pinSchema('get_user_pages_fast'),
    models: '`get_user_pages_fast()` (FOLL_GET references, not pins)',
    outcomes: `\`pinned-fast\`, \`fell-back\`, ${PIN_OUTCOMES}`,
    run: function* (r, op) {
      r.st.get = true;
      yield* pinOp(r, op, (start, flags, pages) => get_user_pages_fast(r.c, start, op.pages, flags, pages), fastDone(r));
    },
  }),
  def({
    section: 'Pinning',
    schema: pinSchema('pin_user_pages'),
    models: '`pin_user_pages()` under `mmap_read_lock()`, which the operation takes and drops: the slow path only',
    outcomes: `\`pinned\`, ${PIN_OUTCOMES}`,
    run: (r, op) =>
      pinOp(
        r,
        op,
        function* (start, flags, pages) {
          const mm = r.c.mm!;
          yield* down_read(r.c, mm.mmap_lock, S_caller_lock);
          const ret = yield* pin_user_pages(r.c, start, op.pages, flags, pages);
          yield* up_read(r.c, mm.mmap_lock, S_caller_unlock);
          return ret;
        },
        () => 'pinned',
      ),
  }),
  def({
    section: 'Pinning',
    schema: pinSchema('io_uring_register'),
    models:
      "io_uring's `IORING_REGISTER_BUFFERS` (`io_pin_pages()`): always a `FOLL_WRITE|FOLL_LONGTERM` pin (`flags` is not used). Before 6.10 it is `pin_user_pages()` under `mmap_read_lock()` (the slow path only); from 6.10 `pin_user_pages_fast()` with no lock held (GUP-fast first). On 6.1, v7 and jg-proposal io_uring itself refuses buffers over VMAs of different files (`EINVAL`) and file-backed buffers other than shmem and hugetlbfs (`EOPNOTSUPP`); from 6.5 it leaves that to GUP.",
    outcomes: `\`registered\`, ${PIN_OUTCOMES}`,
    run: (r, op) =>
      pinOp(
        r,
        { ...op, flags: [] },
        function* (start, _flags, pages) {
          const got = yield* r.c.rev.fns.io_pin_pages(r.c, start, op.pages);
          if (typeof got === 'number') return got;
          pages.push(...got);
          return got.length;
        },
        () => 'registered',
      ),
  }),
  def({
    section: 'Using the pins',
    schema: z.object({ op: z.literal('device_write') }).strict(),
    models: 'a device writing (DMA) to every page this CPU still holds pinned',
    run: function* (r) {
      for (const pfn of r.st.pins) yield* dma_write(r.c, page_folio_stable(r.c, r.env.k.page(pfn)));
    },
  }),
  def({
    section: 'Using the pins',
    schema: z.object({ op: z.literal('unpin'), dirty: z.boolean().default(false) }).strict(),
    models: "releasing this CPU's pins now: `unpin_user_pages()`, or `unpin_user_pages_dirty_lock()` with `dirty: true`",
    run: function* (r, op) {
      r.st.release = op.dirty ? 'dirty' : 'yes';
      yield* release(r.c, r.st);
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('munmap'), vma, page }).strict(),
    models:
      "`munmap()` of the whole VMA under `mmap_write_lock()`: zap the PTEs, free the page tables nobody else covers (`free_pgtables()`), flush the TLB, free the pages; then `remove_vma()` drops the VMA's reference to its file (`fput()`), which may be the last one (see `close`)",
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      yield* munmap(r.c, v.vm_mm, v.vm_start, v.vm_end - v.vm_start);
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('madvise_dontneed'), vma, page }).strict(),
    models: '`madvise(MADV_DONTNEED)` of the whole VMA under `mmap_read_lock()`: zap the PTEs, flush the TLB, free the pages',
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      yield* madvise_dontneed(r.c, v.vm_mm, v.vm_start, v.vm_end - v.vm_start);
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('mprotect'), vma, prot: z.enum(['rw', 'r']) }).strict(),
    models: '`mprotect()` of the whole VMA; dropping `PROT_WRITE` write-protects the PTEs, then flushes',
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      yield* mprotect(r.c, v.vm_mm, v.vm_start, v.vm_end - v.vm_start, PROT_READ | (op.prot === 'rw' ? PROT_WRITE : 0));
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('touch'), vma, page, how: z.enum(['read', 'write']).default('write') }).strict(),
    models: 'the process reading or writing one page (a fault if needed)',
    outcomes: '`ok`, `SIGSEGV` (no VMA there any more, or it does not allow the access), `SIGBUS` (the page is at or past the end of the file, e.g. after `truncate`)',
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      const ret = yield* user_access(r.c, v.vm_start + op.page * PAGE_SIZE, op.how === 'write');
      r.record(ret === -SIGBUS ? 'SIGBUS' : ret === -SIGSEGV ? 'SIGSEGV' : 'ok');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z
      .object({
        op: z.literal('truncate'),
        vma,
        free_inode: z.boolean().optional().describe('accepted as `false` for older scenarios; `true` is an error: truncation never frees the inode'),
      })
      .strict(),
    models:
      "`ftruncate()` of the VMA's file to 0 through the process's descriptor (`EBADF` once `close` closed it): `i_size` becomes 0, then `truncate_pagecache()` zaps the PTEs, removes the folios from the page cache and sets `folio->mapping` to NULL. A later fault there is `SIGBUS`. The inode is not freed: the VMA's file holds it (to race its freeing, `munmap` the VMA and `close` the file, and `unlink` it if it has a name). `free_inode: false` is accepted for older scenarios and changes nothing. Needs a file-backed VMA (not `anon`, `driver` or `secretmem`).",
    outcomes: '`truncated`, `EBADF`',
    check: (op, v) => {
      if (!fileBacked(v)) return { at: ['vma'], what: `truncate needs a file-backed VMA ('${v?.name}' is ${v?.backing})`, hint: 'use an ext4/xfs/btrfs/tmpfs/memfd VMA' };
      if (op.free_inode === true) {
        return {
          at: ['free_inode'],
          what: "truncate cannot free the inode: the VMA's file holds it (vma->vm_file), so a kernel keeps the inode and its address_space until the file is unmapped and closed",
          hint: 'remove free_inode; to race the inode being freed, add `munmap` of the VMA and `close` of the file (and `unlink` if it has a name)',
        };
      }
      return undefined;
    },
    run: function* (r, op) {
      const file = vmaOf(r.env, op.vma).vm_file!;
      if (!(yield* fdget(r.c, file))) return r.record('EBADF');
      yield* truncate_setsize(r.c, file.f_inode, 0);
      yield* fput(r.c, file); // fdput()
      r.record('truncated');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('close'), vma }).strict(),
    models:
      "`close()` of the process's descriptor for the VMA's file (VMAs that share a `file:` share it): `fput()`. The last reference to the file (the descriptor's, each VMA's, a `truncate` in progress) releases it (`__fput()`, `dput()`); an inode without a name (a `memfd`, `secretmem`, or after `unlink`) is then evicted: its page cache truncated, the inode and its `address_space` freed after an RCU grace period. Needs a VMA with a descriptor (not `anon`).",
    outcomes: '`closed`, `EBADF` (already closed)',
    check: (_op, v) =>
      v && !v.thp && backingFs(v.backing, v.map === 'shared').fd
        ? undefined
        : {
            at: ['vma'],
            what: `close needs a VMA of a file the process opened ('${v?.name}' is ${v?.thp ? 'a THP' : v?.backing}${v?.backing === 'anon' ? ': anonymous memory has no file descriptor' : ''})`,
            hint: 'use a memfd/tmpfs/ext4/xfs/btrfs/hugetlbfs/secretmem VMA',
          },
    run: function* (r, op) {
      const ret = yield* close_fd(r.c, vmaOf(r.env, op.vma).vm_file!);
      r.record(ret ? errnoName(ret) : 'closed');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('unlink'), vma }).strict(),
    models:
      "`unlink()` of the VMA's file: `i_nlink` becomes 0, and the inode is evicted when its last file reference goes (at once if there is none). Needs a file with a name: `tmpfs`, `hugetlbfs`, `ext4`, `xfs`, `btrfs`, `otherfs` (a `memfd` or `secretmem` has none).",
    outcomes: '`unlinked`, `ENOENT` (already unlinked)',
    check: (_op, v) =>
      v && !v.thp && v.backing !== 'driver' && backingFs(v.backing, v.map === 'shared').named
        ? undefined
        : {
            at: ['vma'],
            what: `unlink needs a VMA of a file with a name ('${v?.name}' is ${v?.thp ? 'a THP' : v?.backing}${v?.backing === 'driver' ? ': a device node, whose inode unlink would not free' : ', which has no name'})`,
            hint: 'use a tmpfs/hugetlbfs/ext4/xfs/btrfs/otherfs VMA',
          },
    run: function* (r, op) {
      const ret = yield* vfs_unlink(r.c, vmaOf(r.env, op.vma).vm_file!.f_inode);
      r.record(ret ? errnoName(ret) : 'unlinked');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('swap_out'), vma, page }).strict(),
    models:
      'reclaim of one page: add it to the swap cache, replace its PTEs with swap entries, and free it if nothing else holds a reference (a pin keeps it in the swap cache). Private anonymous VMAs only.',
    outcomes: '`freed`, `kept` (something still holds it), `nothing-mapped`',
    check: (_op, v) =>
      v && v.backing === 'anon' && v.map === 'private' ? undefined : { at: ['vma'], what: 'swap_out is modelled for private anonymous pages only', hint: 'use an anon private VMA' },
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      const f = yield* folio_walk_start(r.c, v.vm_mm, v.vm_start + op.page * PAGE_SIZE);
      if (!f) return r.record('nothing-mapped');
      r.record((yield* swap_out_folio(r.c, f)) ? 'freed' : 'kept');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('split_folio'), vma, page }).strict(),
    models:
      '`split_folio()` of the THP mapped there: replace its PTEs with migration entries, freeze the refcount at the expected value, split, or back off with `-EAGAIN` if someone holds an extra reference, then restore the PTEs. Needs a `thp:` VMA, and is modelled for `thp: pte` only: on a `thp: pmd` VMA the PMD is not split first, and the run reports a `refcount` finding that the model, not the kernel, causes.',
    outcomes: '`split`, `EAGAIN`, `nothing-mapped`',
    check: (_op, v) => (v?.thp ? undefined : { at: ['vma'], what: `split_folio needs a THP VMA ('${v?.name}' has no thp:)`, hint: 'add thp: pte (or pmd) to the VMA' }),
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      const f = yield* folio_walk_start(r.c, v.vm_mm, v.vm_start + op.page * PAGE_SIZE);
      if (!f || !(yield* folio_try_get(r.c, f))) return r.record('nothing-mapped');
      const ret = yield* split_folio(r.c, f);
      yield* folio_put(r.c, f);
      r.record(ret === 0 ? 'split' : 'EAGAIN');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('writeback'), vma, page }).strict(),
    models:
      'writeback of the file page at that index, if its filesystem writes back: `folio_clear_dirty_for_io()` write-protects and cleans its PTEs, clears `PG_dirty`, and the filesystem releases its reservation for the page',
    outcomes: '`wrote`, `clean` (not dirty, or a filesystem that does not write back, such as tmpfs), `nothing-cached` (no page-cache page there, e.g. an anonymous VMA)',
    run: function* (r, op) {
      const v = vmaOf(r.env, op.vma);
      const as = v.vm_file?.f_mapping;
      if (!as) return r.record('nothing-cached');
      const folio = yield* write_cache_pages_lookup(r.c, as, op.page + v.vm_pgoff);
      if (!folio) return r.record('nothing-cached');
      r.record((yield* writeback_folio(r.c, folio)) ? 'wrote' : 'clean');
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('fork'), vma, page }).strict(),
    models:
      "`fork()`'s `dup_mmap()` under `mmap_write_lock()`: the whole process is forked (the `vma` only names the process); private anonymous pages are shared with the child and write-protected, except pages that may be pinned, which are copied (copy-on-pin); then the TLB flush",
    run: function* (r, op) {
      yield* dup_mmap(r.c, vmaOf(r.env, op.vma).vm_mm);
    },
  }),
  def({
    section: 'Memory-management operations',
    schema: z.object({ op: z.literal('ksm_merge'), vma, page }).strict(),
    models: 'accepted, but it does nothing yet',
    run: function* () {},
  }),
  def({
    section: 'Memory-management operations',
    schema: z
      .object({
        op: z.literal('reuse'),
        owner: z.union([z.enum([...OWNERS, 'any']), z.array(z.enum(OWNERS)).min(1)]).default('any'),
        vma: vma.optional().describe('for the anon owner: fault at this VMA'),
        page,
        times: count(8).default(1),
      })
      .strict(),
    models: 'the page allocator handing the next free page to a new owner. That is the freed page if one is on the free list (a reused page), a fresh page otherwise.',
    outcomes:
      'what each allocation got, comma-separated: `slab(reused page)`, `kernel(fresh page)`, `anon(reused page)`, `pagecache(fresh page)`, ..., or `anon(fault failed)`: the fault raised SIGBUS (past the end of a truncated file) or SIGSEGV, and the reallocator goes on to its next allocation, as a task with a handler for the signal would',
    check: (op) =>
      reuseOwners(op.owner).includes('anon') && op.vma === undefined
        ? { what: 'the anon owner faults at a VMA: give `vma:`', hint: 'add vma: <the VMA whose page gets reused>' }
        : undefined,
    run: function* (r, op) {
      const owners = reuseOwners(op.owner);
      const got: string[] = [];
      for (let n = 0; n < op.times; n++) {
        const which = owners.length > 1 ? owners[yield* choose(r.c, owners.length, S_reuse, owners)]! : owners[0]!;
        got.push(yield* reuseAs(r, which, op.vma, op.page, n));
      }
      r.record(got.join(','));
    },
  }),
] as const;

export type OpSpecT = z.infer<(typeof OP_TABLE)[number]['schema']>;
export type OpName = OpSpecT['op'];

const byName = new Map<string, OpDef>(OP_TABLE.map((d) => [d.schema.shape.op.value, d as unknown as OpDef]));

/** The table entry of an operation. */
export function opDef(op: OpName): OpDef {
  return byName.get(op)!;
}

export const OP_NAMES: readonly OpName[] = OP_TABLE.map((d) => d.schema.shape.op.value);

/** Does this operation record an outcome? */
export function producesOutcome(op: OpName): boolean {
  return opDef(op).outcomes !== undefined;
}

/** Does the operation need the other file (the pagecache reuse owner; made for every reuse operation)? */
export function needsOtherFile(op: OpSpecT): boolean {
  return op.op === 'reuse';
}

/** The owners a reuse operation tries. */
export { reuseOwners };

/** Run one operation on a CPU. */
export function runOp(r: CpuRun, op: OpSpecT): Step<void> {
  return opDef(op.op).run(r, op);
}

// ===== the docs' tables (docs/scenario-format.md; test/docs/scenario-format.spec.ts keeps them equal) =====

function describeOption(key: string, t: z.ZodType): string {
  const code = (v: unknown) => (typeof v === 'string' ? `\`${v}\`` : Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'boolean' ? `\`${v}\`` : String(v));
  if (t instanceof z.ZodDefault) return `\`${key}\` (${code(t.def.defaultValue)})`;
  if (t instanceof z.ZodOptional) return `\`${key}\` (optional)`;
  if (t instanceof z.ZodEnum) return `\`${key}\` (${t.options.map((o) => `\`${String(o)}\``).join(' or ')}, required)`;
  return `\`${key}\``;
}

/** The options column: every key but `op`, with its default. */
export function optionsText(d: OpDef): string {
  const keys = Object.entries(d.schema.shape).filter(([k]) => k !== 'op');
  return keys.length ? keys.map(([k, t]) => describeOption(k, t as z.ZodType)).join(', ') : 'none';
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const opNameOf = (d: OpDef) => String((d.schema.shape as { op: z.ZodLiteral }).op.value);

/** The operation table of one section, as docs/scenario-format.md has it. */
export function opTableMarkdown(section: Section): string {
  const lines = [row(['op', 'options (default)', 'models']), '|---|---|---|'];
  for (const d of OP_TABLE as readonly OpDef[]) if (d.section === section) lines.push(row([`\`${opNameOf(d)}\``, optionsText(d), d.models.replaceAll('|', '\\|')]));
  return lines.join('\n');
}

/** The outcome table, as docs/scenario-format.md has it. */
export function outcomeTableMarkdown(): string {
  const lines = [row(['op', 'outcome values']), '|---|---|'];
  for (const d of OP_TABLE as readonly OpDef[]) if (d.outcomes) lines.push(row([`\`${opNameOf(d)}\``, d.outcomes]));
  return lines.join('\n');
}

export const SECTIONS: readonly Section[] = ['Pinning', 'Using the pins', 'Memory-management operations'];
