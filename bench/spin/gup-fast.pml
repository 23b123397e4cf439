/*
 * GUP-fast racing MADV_DONTNEED, page reuse and truncate, as an abstract Promela model for Spin:
 * the configurations of docs/reference/stateful-search.md section 5, so that `gupcheck bench`
 * can run Spin on the same shape as bench/spin-*.yaml in the same run (src/bench/spin.ts).
 *
 * Written for gupcheck from that description (the model Spin's published figures came from is not
 * in the repository). What it has, at the level an abstract model of GUP-fast has it:
 *  - one PTE; physical pages with _refcount, the word that overlays ->mapping, and _mapcount;
 *  - NCPU GUP-fast CPUs, each making NPINS FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE attempts with IRQs
 *    off and no slow path (as the scenarios' `fast_only: true`): ptep_get_lockless();
 *    try_get_folio()'s add-unless-zero; the pin bias; the PTE re-check; the file-backed check
 *    (merged 6.5: folio_fast_pin_allowed() after the re-check; V7: the v7 3/3 posting's check
 *    inside try_grab_folio(), after try_get_folio() and before the re-check); a refused or stale
 *    grab is put back; a CPU keeps its pins until its attempts are done, then unpins them;
 *  - an unmapper that zaps the PTE NZAPS times (MADV_DONTNEED under the PTL; the TLB flush is a
 *    broadcast TLBI, arm64, which waits for nobody): clear the PTE, drop the mapcount and the
 *    mapping's reference, free the page when the last reference goes (->mapping cleared, onto the
 *    free list);
 *  - a reallocator that hands the next free page (a freed one if any, else a fresh one) to a new
 *    owner NREUSE times: slab (a kmem_cache pointer in ->mapping), a kernel user (its own word
 *    there) or an anonymous fault (at the PTE's address for an anonymous page, where it maps the
 *    page if the PTE is empty; in another VMA for file and shmem, as bench/spin-l4-*.yaml);
 *  - the initial page anonymous, file (ext4: not allowed for a long-term write pin, refused) or
 *    shmem (allowed); with TRUNCATE, a truncate that zaps the PTE and takes the folio out of the
 *    page cache (->mapping = NULL, the cache's reference dropped); the inode stays.
 * Left out: the page-table walk above the PTE (nothing frees tables here), write_protect_seq
 * (no fork), the secretmem test, LRU flags, PG_referenced, the refcount audit (a pinned page
 * holds BIAS references, so it is never freed while pinned).
 *
 * A finding is an assertion: dereferencing a ->mapping word that is not an address_space
 * (wild-deref).
 */

#ifndef NCPU
#define NCPU 2
#endif
#ifndef NPINS
#define NPINS 1
#endif
#ifndef NZAPS
#define NZAPS 2
#endif
#ifndef NREUSE
#define NREUSE 1
#endif
#ifndef PAGE_TYPE
#define PAGE_TYPE M_ANON
#endif
#ifndef TRUNCATE
#define TRUNCATE 0
#endif
#ifndef V7
#define V7 0
#endif

/* What the word that overlays page->mapping holds. */
#define M_NONE 0
#define M_ANON 1
#define M_FILE 2
#define M_SHMEM 3
#define M_SLAB 4
#define M_JUNK 5

#define NPAGES (2 + NREUSE) /* pfn 0 is "no page"; pfn 1 the initial page; then fresh pages */
#define BIAS 2 /* GUP_PIN_COUNTING_BIAS, scaled down: a pin adds BIAS references */

byte pte = 1;
byte ref[NPAGES];
byte mapping[NPAGES];
byte freelist[NPAGES];
byte nfree = 0;
byte fresh = 2;
bool ptl = false;

inline lock_ptl() { atomic { !ptl -> ptl = true } }
inline unlock_ptl() { ptl = false }

/* folio_put_refs(): the last reference frees the page (free_pages_prepare() clears ->mapping). */
inline put_refs(p, n) {
  atomic {
    ref[p] = ref[p] - n;
    if
    :: ref[p] == 0 ->
       mapping[p] = M_NONE;
       freelist[nfree] = p;
       nfree++
    :: else -> skip
    fi
  }
}

/* shmem_mapping(mapping): dereferences the word as an address_space. */
inline check_mapping(m, ok) {
  assert(m != M_SLAB && m != M_JUNK); /* wild-deref */
  ok = (m == M_ANON || m == M_SHMEM)
}

proctype gup(byte id) {
  byte i = 0, p, m;
  byte held[NPINS]; /* the page each attempt pinned (0: none), unpinned when the CPU is done */
  bool ok;
  do
  :: i < NPINS ->
     p = pte; /* ptep_get_lockless(), IRQs off */
     if
     :: p != 0 ->
        if /* try_get_folio(): atomic_add_unless(&_refcount, 1, 0) */
        :: atomic { ref[p] > 0 -> ref[p]++ } ->
#if V7
           m = mapping[p]; /* v7: the check inside try_grab_folio(), before the re-check */
           check_mapping(m, ok);
           if
           :: !ok -> put_refs(p, 1); goto next
           :: else -> skip
           fi;
#endif
           ref[p] = ref[p] + BIAS - 1; /* the pin bias */
           if
           :: pte != p -> put_refs(p, BIAS) /* the PTE changed: unpin */
           :: else ->
#if !V7
              m = mapping[p]; /* folio_fast_pin_allowed(), merged: after the re-check */
              if
              :: m == M_NONE -> ok = false /* truncated: let the slow path decide */
              :: else -> check_mapping(m, ok)
              fi;
#else
              ok = true;
#endif
              if
              :: ok -> held[i] = p
              :: else -> put_refs(p, BIAS)
              fi
           fi
        :: atomic { ref[p] == 0 -> skip }
        fi
     :: else -> skip /* no PTE: GUP-fast gives up (no slow path) */
     fi;
next:
     i++
  :: else -> break
  od;
  /* unpin_user_pages() when the CPU's list ends */
  i = 0;
  do
  :: i < NPINS ->
     if
     :: held[i] != 0 -> put_refs(held[i], BIAS)
     :: else -> skip
     fi;
     i++
  :: else -> break
  od
}

/* zap_pte_range() for the one PTE (MADV_DONTNEED, or truncate's unmap). */
inline zap(p) {
  lock_ptl();
  p = pte;
  if
  :: p != 0 -> pte = 0; unlock_ptl(); put_refs(p, 1) /* the mapping's reference, after the flush */
  :: else -> unlock_ptl()
  fi
}

proctype unmapper() {
  byte i = 0, p;
  do
  :: i < NZAPS -> zap(p); i++
  :: else -> break
  od
}

proctype reallocator() {
  byte i = 0, p;
  do
  :: i < NREUSE ->
     atomic { /* the page allocator: the most recently freed page, else a fresh one */
       if
       :: nfree > 0 -> nfree--; p = freelist[nfree]
       :: else -> p = fresh; fresh++
       fi;
       ref[p] = 1
     };
     if
     :: mapping[p] = M_SLAB
     :: mapping[p] = M_JUNK
     :: /* an anonymous fault: at the PTE's address if the page is anonymous (it maps the page
         * if no page is mapped there), else in another VMA (the page stays mapped there) */
#if PAGE_TYPE == M_ANON
        lock_ptl();
        if
        :: pte == 0 -> mapping[p] = M_ANON; pte = p; unlock_ptl() /* its reference is the mapping's */
        :: else -> unlock_ptl(); put_refs(p, 1) /* a page is mapped already: free the new one */
        fi
#else
        mapping[p] = M_ANON
#endif
     fi;
     i++
  :: else -> break
  od
}

#if TRUNCATE
/* truncate_pagecache(): unmap, then delete the folio from the page cache (->mapping = NULL). */
proctype truncater() {
  byte p;
  zap(p);
  atomic {
    if
    :: mapping[1] == PAGE_TYPE -> mapping[1] = M_NONE; put_refs(1, 1)
    :: else -> skip
    fi
  }
}
#endif

init {
  byte c = 0;
  atomic {
    mapping[1] = PAGE_TYPE;
    /* mapped once; a page-cache folio has the cache's reference too */
    if
    :: PAGE_TYPE == M_ANON -> ref[1] = 1
    :: else -> ref[1] = 2
    fi;
    do
    :: c < NCPU -> run gup(c); c++
    :: else -> break
    od;
    run unmapper();
    run reallocator();
#if TRUNCATE
    run truncater();
#endif
  }
}
