/**
 * "What does this pin return on kernel X, and why?" — one pin, run sequentially on the model:
 * a fresh kernel and process, one mapping of the backing (one page; 2 MB for hugetlb), touched
 * as asked, then the pin through io_uring, pin_user_pages() or pin_user_pages_fast(). The
 * answer carries the model's explanation trail (which fast-path step bailed, which slow-path
 * check returned what).
 */
import { pin_user_pages, pin_user_pages_fast, unpin_user_pages } from '../kernel/gup.ts';
import type { Ctx } from '../kernel/kernel.ts';
import { findRevision, REVISION_NAMES } from '../kernel/revisions/index.ts';
import { BACKINGS, type Backing, backingPageSize, boot, mapBacking, Process, runSequential, touch } from '../kernel/setup.ts';
import { down_read, up_read } from '../sim/sync.ts';
import { site, type Step } from '../sim/op.ts';
import { type Arch, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PAGE_SIZE, SIGSEGV, errnoName, follNames } from '../kernel/types.ts';
import type { Zone } from '../kernel/mm_types.ts';
import { notCovered } from './limits.ts';
import { auditRefcounts } from '../kernel/audit.ts';
import { GupcheckError } from '../errors.ts';

export const VIAS = ['io_uring', 'pin_user_pages', 'pin_user_pages_fast'] as const;
export type Via = (typeof VIAS)[number];
export const TOUCHES = ['write', 'read', 'none'] as const;
export type Touch = (typeof TOUCHES)[number];

export interface PinQuery {
  readonly kernel: string;
  readonly arch: Arch;
  readonly via: Via;
  readonly write: boolean;
  readonly longterm: boolean;
  readonly backing: Backing;
  readonly shared: boolean;
  readonly prot: 'rw' | 'r';
  readonly touch: Touch;
  readonly zone?: Zone;
}

export interface PinAnswer {
  readonly query: PinQuery;
  /** 'ok' or the errno name. */
  readonly result: string;
  readonly pinned: number;
  readonly pages: number;
  readonly flags: string;
  /** The decisions, in order, in kernel words: [function, what happened]. */
  readonly path: readonly (readonly [string, string])[];
  readonly findings: readonly { id: string; message: string }[];
  /** The call failed after taking pins it then dropped: the `path` lines (1-based) they were held over. */
  readonly pinnedThenReleased?: readonly [number, number];
  readonly notCovered: readonly string[];
}

/** A pin query a real process cannot set up (the process would fail before the pin). */
export class SetupImpossible extends GupcheckError {
  constructor(message: string) {
    super('GUPCHECK_IMPOSSIBLE_SETUP', `cannot set up this pin: ${message}`, 'change --prot, --touch or --map');
  }
}

/** Checks a query for combinations a real process cannot set up; returns the reason or null. */
export function setupProblem(q: Pick<PinQuery, 'backing' | 'shared' | 'prot' | 'touch'>): string | null {
  if (q.touch === 'write' && q.prot === 'r') return 'a write touch on a PROT_READ mapping would SIGSEGV';
  if (q.backing === 'secretmem' && !q.shared) return 'memfd_secret() memory can only be mapped MAP_SHARED (mmap() returns EINVAL)';
  if (q.backing === 'driver' && !q.shared) return 'the modelled driver only supports MAP_SHARED mappings';
  return null;
}

const S_caller_lock = site('caller', 'mmap_read_lock() around pin_user_pages()');

export function answerPin(q: PinQuery): PinAnswer {
  const rev = findRevision(q.kernel);
  if (!rev) throw new Error(`unknown kernel revision '${q.kernel}' (valid: ${REVISION_NAMES.join(', ')})`);
  const problem = setupProblem(q);
  if (problem) throw new SetupImpossible(problem);
  const k = boot({ rev, arch: q.arch, userZone: q.zone ?? 'normal' });
  const p = new Process(k);
  const len = backingPageSize(q.backing);
  const vma = mapBacking(p, { backing: q.backing, shared: q.shared, prot: q.prot, len, label: 'buf' });
  const c = p.ctx();
  if (q.touch !== 'none') {
    const r = runSequential(c, touch(c, vma, q.touch, PAGE_SIZE));
    if (r) throw new SetupImpossible(`touching the mapping failed (${r === -SIGSEGV ? 'SIGSEGV' : 'SIGBUS'})`);
  }
  const path: [string, string][] = [];
  const held = new PinsHeld(k, path);
  c.why = (fn, msg) => {
    held.sample();
    path.push([fn, msg]);
  };
  const nr = len / PAGE_SIZE;
  const pages: number[] = [];
  let ret: number;
  let flags: number;
  if (q.via === 'io_uring') {
    flags = FOLL_WRITE | FOLL_LONGTERM;
    const r = runSequential(c, held.watch(rev.fns.io_pin_pages(c, vma.vm_start, nr)));
    if (typeof r === 'number') ret = r;
    else {
      ret = r.length;
      pages.push(...r);
    }
  } else {
    flags = (q.write ? FOLL_WRITE : 0) | (q.longterm ? FOLL_LONGTERM : 0);
    ret = q.via === 'pin_user_pages' ? runSequential(c, pinLocked(c, vma.vm_start, nr, flags, pages)) : runSequential(c, pin_user_pages_fast(c, vma.vm_start, nr, flags, pages));
  }
  c.why = undefined;
  const result = ret < 0 ? errnoName(ret) : ret === nr ? 'ok' : `partial(${ret}/${nr})`;
  // A registration that pinned and then refused (io_uring before 6.5 checks the VMAs only after
  // pinning): say so, where it happened, so a finding about that pin is not read as a success.
  if (ret < 0) held.explain('io_pin_pages', nr, result);
  if (ret > 0) runSequential(c, unpin_user_pages(c, pages.slice(0, ret)));
  return {
    query: q,
    result,
    pinned: Math.max(0, ret),
    pages: nr,
    flags: follNames(flags | FOLL_PIN) + (q.via === 'io_uring' ? ' (io_uring always pins FOLL_WRITE|FOLL_LONGTERM)' : ''),
    path,
    findings: [...k.w.findings, ...auditRefcounts(k)].map((f) => ({ id: f.id, message: f.message })),
    ...(ret < 0 && held.heldLines() ? { pinnedThenReleased: held.heldLines()! } : {}),
    notCovered: notCovered('sequential'),
  };
}

/**
 * Watches the pins GUP callers hold (the pages' ghost pin counts) while a call runs, to tell when
 * it took pins and when it dropped them again, relative to the explanation lines logged so far.
 */
class PinsHeld {
  private peak = 0;
  private takenAt = -1;
  private droppedAt = -1;
  private before = -1;

  constructor(
    private readonly k: ReturnType<typeof boot>,
    private readonly path: [string, string][],
  ) {}

  private count(): number {
    let n = 0;
    for (const p of this.k.pages.values()) n += p.ghost.pins;
    return n;
  }

  /** Called after every step of the call and before every explanation line it logs. */
  sample(): void {
    if (this.before < 0) return;
    const n = this.count() - this.before;
    if (n > this.peak) {
      if (this.peak === 0) this.takenAt = this.path.length;
      this.peak = n;
    }
    if (this.peak > 0 && n === 0 && this.droppedAt < 0) this.droppedAt = this.path.length;
  }

  *watch<T>(gen: Step<T>): Step<T> {
    this.before = this.count();
    for (;;) {
      const r = gen.next();
      this.sample();
      if (r.done) return r.value;
      yield r.value;
    }
  }

  /** For a call that failed: the pins it took and dropped before returning, as explanation lines. */
  explain(fn: string, nr: number, result: string): void {
    if (this.peak === 0 || this.droppedAt < 0) return;
    const pages = `${this.peak} page${this.peak === 1 ? '' : 's'}`;
    this.path.splice(this.droppedAt, 0, [fn, `unpin_user_pages(): the ${pages} pinned above ${this.peak === 1 ? 'is' : 'are'} released again; the call returns ${result}`]);
    this.path.splice(this.takenAt, 0, [fn, `pinned ${this.peak} of ${nr} page${nr === 1 ? '' : 's'} first (FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE); the checks below run while the pin is held`]);
  }

  /** The explanation lines during which the pin was held (1-based, inclusive), or undefined. */
  heldLines(): readonly [number, number] | undefined {
    return this.peak > 0 && this.droppedAt >= 0 ? [this.takenAt + 1, this.droppedAt + 2] : undefined;
  }
}

function* pinLocked(c: Ctx, start: number, nr: number, flags: number, pages: number[]) {
  yield* down_read(c, c.mm!.mmap_lock, S_caller_lock);
  const r = yield* pin_user_pages(c, start, nr, flags, pages);
  yield* up_read(c, c.mm!.mmap_lock, S_caller_lock);
  return r;
}

export { BACKINGS };
