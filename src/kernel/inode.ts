/*
 * The lifetime of a file, its inode and the address_space embedded in the inode, as the kernel
 * keeps it (docs/reference/kernel-gup-reference.md §11 row 14). Sources, Debian's 6.12.118 and
 * 6.1.192 trees (6.1 line in brackets where it differs):
 *
 *   mmap_region() sets vma->vm_file = get_file(file); fork's dup_mmap() takes another for the
 *     child's VMA (kernel/fork.c:748 [699]); remove_vma() drops it after the unmap
 *     (mm/vma.c:329-334 fput(vma->vm_file) [mm/mmap.c:137-142]). So a mapped file's inode
 *     cannot go: "The address_space itself remains pinned by vma->vm_file's reference"
 *     (mm/memory.c:3205 fault_dirty_shared_page() [3045]).
 *   close(fd) drops the descriptor's reference (close_fd() -> filp_close() -> fput()).
 *   fput() (fs/file_table.c:517 [369]): atomic_long_dec_and_test(&file->f_count); the last one
 *     queues __fput() as task_work, run on the way back to user space. __fput() (:442 [294])
 *     ends with dput(dentry) (:476 [328]).
 *   dput() of a dentry that is unhashed (unlinked) or whose inode has no name kills it:
 *     dentry_unlink_inode() -> iput() (fs/dcache.c:857 [899]). A linked file's dentry stays in
 *     the dentry cache, holding the inode.
 *   unlink(): the filesystem's ->unlink drops i_nlink, then d_delete() (fs/namei.c:4512
 *     vfs_unlink(), fs/dcache.c:2408 d_delete() [2565]): with no other user of the dentry, its
 *     inode is let go at once (dentry_unlink_inode() -> iput()); else the dentry is unhashed
 *     and the last dput() does it.
 *   iput() -> iput_final() (fs/inode.c:1897, :1845 [1844, 1792]): generic_drop_inode() is
 *     !i_nlink || unhashed (include/linux/fs.h:3190 [3204]); an inode that still has a name
 *     stays cached (__inode_add_lru()); otherwise I_FREEING and evict() (:696 [680]):
 *     truncate_inode_pages_final(&inode->i_data) (:723 [705]; the filesystems' ->evict_inode
 *     do the same), then destroy_inode() (:308 [304]) -> call_rcu(&inode->i_rcu, i_callback)
 *     (:320 [316]): the inode, and the address_space in it, are freed after a grace period.
 *
 * So GUP-fast can only see a freed address_space through a folio of a file that is unmapped
 * everywhere and closed (and unlinked, if it had a name), and only once an RCU grace period
 * has passed since: GUP-fast's IRQs-off walk holds that grace period off.
 *
 * ftruncate(fd) looks the descriptor up with fdget(): the struct file is held for the call
 * (fdput() may be the last fput()).
 *
 * The dentry and the inode's i_count are changed under one lock here (i_lock; the kernel uses
 * the dentry's d_lock, i_lock and atomic_dec_and_lock()): whichever of the last dput() and
 * unlink() comes second evicts, exactly once.
 *
 * Left out: the inode LRU and its shrinker (an unused cached inode is never reclaimed), the
 * inode hash and lookups by name (open() of an existing file), evict()'s wait for writeback
 * (inode_wait_for_writeback(); the `writeback` operation holds no inode reference, and after
 * the eviction it finds nothing cached), sb->s_op->drop_inode variants, delayed_fput for
 * kernel threads, O_TMPFILE and hard links (i_nlink is 1 or 0).
 */
import { atomic_add, atomic_add_unless, atomic_sub_and_test } from '../sim/atomic.ts';
import { announce } from '../sim/cell.ts';
import { RMW, type Step, WRITE, READ, site } from '../sim/op.ts';
import { call_rcu, spin_lock, spin_unlock } from '../sim/sync.ts';
import { type Ctx, ctxMaker } from './kernel.ts';
import type { File, Inode } from './mm_types.ts';
import { truncate_inode_pages_final } from './truncate.ts';
import { EBADF, ENOENT } from './types.ts';

const S_get_file = site('get_file', 'atomic_long_inc(&file->f_count)');
const S_fput = site('fput', 'atomic_long_dec_and_test(&file->f_count)');
const S_close = site('close_fd', 'pick_file(): clear the descriptor\'s fd table slot');
const S_fdget = site('fdget', 'look the descriptor up in the fd table');
const S_fdget_ref = site('fdget', 'get_file_rcu(): atomic_long_inc_not_zero(&file->f_count)');
const S_dput = site('dput', 'spin_lock(&dentry->d_lock) (i_lock here)');
const S_unlink = site('vfs_unlink', '->unlink(): drop_nlink(); d_delete() under i_lock');
const S_iput = site('iput', 'atomic_dec_and_lock(&inode->i_count, &inode->i_lock)');
const S_free_inode = site('i_callback', 'free the inode (and its address_space)');

/** get_file(): another reference to an open file (fork's dup_mmap() for the child's VMA). */
export function* get_file(c: Ctx, file: File): Step<void> {
  yield* atomic_add(c, file.f_count, 1, S_get_file);
}

/** fput(): drop a reference; the last one releases the file (__fput(), as task_work: right away here). */
export function* fput(c: Ctx, file: File): Step<void> {
  const nv = yield* atomic_sub_and_test(c, file.f_count, 1, S_fput);
  if (nv === 0) yield* __fput(c, file);
}

/** close(fd): -EBADF if the descriptor is already closed; else clear its slot and fput(). */
export function* close_fd(c: Ctx, file: File): Step<number> {
  const op = announce(c, file.fd.id, RMW, S_close);
  yield op;
  op.before = file.fd.v;
  if (!file.fd.v) {
    op.after = 'EBADF';
    return -EBADF;
  }
  file.fd.v = false;
  op.after = false;
  yield* fput(c, file);
  return 0;
}

/** fdget(fd): the file with a reference for the call, or null (-EBADF) if the descriptor is closed. */
export function* fdget(c: Ctx, file: File): Step<File | null> {
  const op = announce(c, file.fd.id, READ, S_fdget);
  yield op;
  op.after = file.fd.v ? 'open' : 'closed';
  if (!file.fd.v) return null;
  // __fget_files_rcu(): a close() between the lookup and the increment leaves f_count at 0.
  return (yield* atomic_add_unless(c, file.f_count, 1, 0, S_fdget_ref)) ? file : null;
}

/** __fput(): the struct file is released; dput() of its dentry. */
function* __fput(c: Ctx, file: File): Step<void> {
  file.released = true;
  c.note?.(`__fput(): the last reference to the file of ${file.f_mapping.desc} is gone`);
  const inode = file.f_inode;
  yield* spin_lock(c, inode.i_lock, S_dput);
  inode.d_count--;
  // A dentry without a name (unlinked, or never linked) dies with its last reference.
  const kill = inode.d_count === 0 && inode.i_nlink === 0;
  yield* iput_locked(c, inode, kill);
}

/**
 * With i_lock held: if `drop`, drop the dentry's inode reference (dentry_unlink_inode() ->
 * iput()); evict an unlinked inode whose last reference that was. Drops i_lock.
 */
function* iput_locked(c: Ctx, inode: Inode, drop: boolean): Step<void> {
  let evicting = false;
  if (drop) {
    inode.i_count--;
    // iput_final(): generic_drop_inode() is true for an unlinked inode: I_FREEING, evict().
    if (inode.i_count === 0 && inode.i_nlink === 0) {
      inode.freeing = true;
      evicting = true;
    }
  }
  yield* spin_unlock(c, inode.i_lock, S_dput);
  if (evicting) yield* evict(c, inode);
}

/** iput(): drop an inode reference (not used by the modelled operations beyond the dentry's). */
export function* iput(c: Ctx, inode: Inode): Step<void> {
  yield* spin_lock(c, inode.i_lock, S_iput);
  yield* iput_locked(c, inode, true);
}

/**
 * unlink(): -ENOENT if the file has no name (any more); else i_nlink 0 and d_delete(): a dentry
 * no open file uses lets its inode go now.
 */
export function* vfs_unlink(c: Ctx, inode: Inode): Step<number> {
  yield* spin_lock(c, inode.i_lock, S_unlink);
  if (inode.i_nlink === 0) {
    yield* spin_unlock(c, inode.i_lock, S_unlink);
    return -ENOENT;
  }
  inode.i_nlink = 0;
  c.note?.(`unlink(${inode.path}): i_nlink 0${inode.d_count ? `; ${inode.d_count} open file(s) still hold the dentry` : ''}`);
  yield* iput_locked(c, inode, inode.d_count === 0);
  return 0;
}

/**
 * evict(): the page cache goes (truncate_inode_pages_final()), then destroy_inode() queues the
 * RCU callback that frees the inode and its address_space.
 */
function* evict(c: Ctx, inode: Inode): Step<void> {
  const as = inode.i_mapping;
  c.note?.(`evict(): the last reference to the inode of ${as.desc} is gone`);
  yield* truncate_inode_pages_final(c, as);
  yield* call_rcu(c, `rcu-cb(i_callback)`, ctxMaker(c.k, false), function* (task: Ctx) {
    const op = announce(task, as.live.id, WRITE, S_free_inode);
    yield op;
    as.live.v = false;
    op.after = 'freed';
    task.note?.(`address_space(${as.desc}) freed (inode RCU callback)`);
  });
}
