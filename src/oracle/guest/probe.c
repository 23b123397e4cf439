/*
 * gupcheck oracle: the guest half. Runs each case of `gupcheck probe` on the real kernel it is
 * booted on and writes one result line per case (src/oracle/protocol.ts reads them).
 *
 *   probe CASES OUT GUPAPI
 *     CASES   a file of lines "<index> <mechanism> <backing> <map> <prot> <touch>"
 *             (mechanism: iouring gup_rw gup_rw_fast gup_ro gup_ro_fast; backing: anon memfd
 *             memfd_hugetlb tmpfs hugetlbfs ext4 xfs btrfs; map: shared private; prot: rw r;
 *             touch: write read none)
 *     OUT     where the result lines go (the second serial port)
 *     GUPAPI  start   PIN_LONGTERM_TEST_START/STOP (6.5+, as the mm selftest gup_longterm does)
 *             legacy  PIN_LONGTERM_BENCHMARK / PIN_FAST_BENCHMARK with gup_flags (6.1)
 *             none    no gup_test on this kernel; a gup_* case is an error
 *
 * Each case gets what `gupcheck probe` gives it (src/answer/probe.ts, src/kernel/setup.ts
 * mapBacking): a fresh mapping of one page (2 MB for hugetlb) of a fresh file or of anonymous
 * memory, touched page by page as asked, then one pin of the whole mapping, then unpin,
 * munmap, close and unlink. Files are sized with ftruncate() and not fallocate()d.
 *
 * Before each case it writes "gupcheck-oracle: case <index>" to the kernel's log (/dev/kmsg), so
 * the host can say which case a kernel WARNING came from.
 *
 * Output lines:
 *   GUPCHECK-ORACLE START <release>
 *   GUPCHECK-ORACLE FS <dir> <statfs f_type in hex>       once per mount point used
 *   GUPCHECK-ORACLE ROW <index> ok                        the pin returned every page
 *   GUPCHECK-ORACLE ROW <index> errno <n>                 the pin failed with -n
 *   GUPCHECK-ORACLE ROW <index> partial <pinned> <total>  the pin took only some pages
 *   GUPCHECK-ORACLE ROW <index> failed <pinned> <total>   legacy ioctl: failed, errno not reported
 *   GUPCHECK-ORACLE SETUP <index> <step> <n>              the case could not be set up (errno or signal)
 *   GUPCHECK-ORACLE END <rows>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif

/* The gup_test ABI (mm/gup_test.h, the same in 6.1 and 6.12 for what is used here). */
struct gupcheck_gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};
struct gupcheck_pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};
#define GUPCHECK_PIN_FAST_BENCHMARK _IOWR('g', 2, struct gupcheck_gup_test)
#define GUPCHECK_PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct gupcheck_gup_test)
#define GUPCHECK_PIN_LONGTERM_TEST_START _IOW('g', 7, struct gupcheck_pin_longterm_test)
#define GUPCHECK_PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define GUPCHECK_USE_WRITE 1
#define GUPCHECK_USE_FAST 2
/* FOLL_* of 6.1 (include/linux/mm.h), for the legacy ioctls' raw gup_flags. */
#define GUPCHECK_61_FOLL_WRITE 0x01
#define GUPCHECK_61_FOLL_LONGTERM 0x10000

#define PAGE 4096UL
#define HUGE (2UL << 20)

static FILE *out;
static int kmsg = -1;
static struct io_uring ring;
static int ring_ready;
static int gup_fd = -1;
static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_sig;

static void emit(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("GUPCHECK-ORACLE ", out);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	fflush(out);
	va_end(ap);
}

static void on_fault(int sig)
{
	touch_sig = sig;
	siglongjmp(touch_env, 1);
}

/* Touches every page of the mapping as asked; 0, or the signal a touch raised. */
static int do_touch(char *p, size_t len, const char *touch)
{
	int write = !strcmp(touch, "write");
	if (!strcmp(touch, "none"))
		return 0;
	touch_sig = 0;
	if (sigsetjmp(touch_env, 1))
		return touch_sig;
	for (size_t off = 0; off < len; off += PAGE) {
		if (write)
			((volatile char *)p)[off] = 1;
		else
			(void)((volatile char *)p)[off];
	}
	return 0;
}

static int is_hugetlb(const char *backing)
{
	return !strcmp(backing, "memfd_hugetlb") || !strcmp(backing, "hugetlbfs");
}

static const char *dir_of(const char *backing)
{
	if (!strcmp(backing, "tmpfs"))
		return "/tmp";
	if (!strcmp(backing, "hugetlbfs"))
		return "/dev/hugepages";
	if (!strcmp(backing, "ext4"))
		return "/mnt/ext4";
	if (!strcmp(backing, "xfs"))
		return "/mnt/xfs";
	if (!strcmp(backing, "btrfs"))
		return "/mnt/btrfs";
	return NULL;
}

/* Says once which filesystem each directory is really on, so the host can refuse a case that
 * ran on the wrong one (a mount that failed leaves the directory on the initramfs). */
static void report_fs(const char *dir)
{
	static char seen[8][32];
	static int nseen;
	struct statfs st;
	for (int i = 0; i < nseen; i++)
		if (!strcmp(seen[i], dir))
			return;
	if (nseen < 8)
		snprintf(seen[nseen++], sizeof seen[0], "%s", dir);
	if (statfs(dir, &st))
		emit("FS %s error-%d", dir, errno);
	else
		emit("FS %s %lx", dir, (unsigned long)st.f_type);
}

static long pin_iouring(void *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };
	int r = io_uring_register_buffers(&ring, &iov, 1);
	if (r == 0)
		io_uring_unregister_buffers(&ring);
	return r;
}

/* 6.5+: PIN_LONGTERM_TEST_START pins the whole range or returns the error; STOP unpins. */
static long pin_start(void *p, size_t len, int write, int fast)
{
	struct gupcheck_pin_longterm_test a = {
		.addr = (uintptr_t)p,
		.size = len,
		.flags = (write ? GUPCHECK_USE_WRITE : 0) | (fast ? GUPCHECK_USE_FAST : 0),
	};
	if (ioctl(gup_fd, GUPCHECK_PIN_LONGTERM_TEST_START, &a))
		return -errno;
	ioctl(gup_fd, GUPCHECK_PIN_LONGTERM_TEST_STOP);
	return 0;
}

/* 6.1: the benchmark ioctls pin, unpin and return the pinned length in .size; an error stops
 * the loop without being returned. PIN_LONGTERM_BENCHMARK is pin_user_pages() under
 * mmap_read_lock with FOLL_LONGTERM added; the fast one is pin_user_pages_fast() with our flags. */
static long pin_legacy(void *p, size_t len, int write, int fast, size_t *pinned)
{
	struct gupcheck_gup_test g;
	memset(&g, 0, sizeof g);
	g.addr = (uintptr_t)p;
	g.size = len;
	g.nr_pages_per_call = len / PAGE;
	g.gup_flags = (write ? GUPCHECK_61_FOLL_WRITE : 0) | (fast ? GUPCHECK_61_FOLL_LONGTERM : 0);
	if (ioctl(gup_fd, fast ? GUPCHECK_PIN_FAST_BENCHMARK : GUPCHECK_PIN_LONGTERM_BENCHMARK, &g))
		return -errno;
	*pinned = g.size / PAGE;
	return 0;
}

static void run_case(const char *idx, const char *mech, const char *backing, const char *map, const char *prot, const char *touch, const char *gupapi)
{
	int shared = !strcmp(map, "shared");
	int rw = !strcmp(prot, "rw");
	size_t len = is_hugetlb(backing) ? HUGE : PAGE;
	int fd = -1;
	char path[128] = "";
	const char *dir = dir_of(backing);

	if (strcmp(backing, "anon") && strcmp(backing, "memfd") && strcmp(backing, "memfd_hugetlb") && !dir) {
		emit("SETUP %s backing-unknown 0", idx);
		return;
	}
	if (!strcmp(backing, "memfd") || !strcmp(backing, "memfd_hugetlb")) {
		fd = memfd_create("gupcheck", is_hugetlb(backing) ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
		if (fd < 0) {
			emit("SETUP %s memfd_create %d", idx, errno);
			return;
		}
	} else if (dir) {
		report_fs(dir);
		snprintf(path, sizeof path, "%s/gupcheck-%s", dir, idx);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			emit("SETUP %s open %d", idx, errno);
			return;
		}
	}
	if (fd >= 0 && ftruncate(fd, len)) {
		emit("SETUP %s ftruncate %d", idx, errno);
		goto out_close;
	}
	int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (fd < 0 ? MAP_ANONYMOUS : 0);
	char *p = mmap(NULL, len, PROT_READ | (rw ? PROT_WRITE : 0), flags, fd, 0);
	if (p == MAP_FAILED) {
		emit("SETUP %s mmap %d", idx, errno);
		goto out_close;
	}
	int sig = do_touch(p, len, touch);
	if (sig) {
		emit("SETUP %s touch-signal %d", idx, sig);
		goto out_unmap;
	}

	long r;
	size_t pinned = 0, nr = len / PAGE;
	if (!strcmp(mech, "iouring")) {
		r = pin_iouring(p, len);
		pinned = r == 0 ? nr : 0;
	} else {
		int write = !strncmp(mech, "gup_rw", 6);
		int fast = strlen(mech) > 5 && !strcmp(mech + strlen(mech) - 5, "_fast");
		if (!strcmp(gupapi, "start")) {
			r = pin_start(p, len, write, fast);
			pinned = r == 0 ? nr : 0;
		} else if (!strcmp(gupapi, "legacy")) {
			r = pin_legacy(p, len, write, fast, &pinned);
			if (r == 0 && pinned != nr) {
				emit("ROW %s failed %zu %zu", idx, pinned, nr);
				goto out_unmap;
			}
		} else {
			emit("SETUP %s no-gup-test 0", idx);
			goto out_unmap;
		}
	}
	if (r < 0)
		emit("ROW %s errno %ld", idx, -r);
	else if (pinned != nr)
		emit("ROW %s partial %zu %zu", idx, pinned, nr);
	else
		emit("ROW %s ok", idx);
out_unmap:
	munmap(p, len);
out_close:
	if (fd >= 0)
		close(fd);
	if (path[0])
		unlink(path);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: probe CASES OUT start|legacy|none\n");
		return 2;
	}
	FILE *cases = fopen(argv[1], "r");
	out = fopen(argv[2], "w");
	if (!out)
		out = stdout;
	if (!cases) {
		emit("FATAL open-cases %d", errno);
		return 1;
	}
	struct utsname u;
	uname(&u);
	emit("START %s", u.release);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	int r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		emit("NOTE io_uring_queue_init %d", -r);
	else
		ring_ready = 1;
	if (strcmp(argv[3], "none")) {
		gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
		if (gup_fd < 0)
			emit("NOTE open-gup_test %d", errno);
	}

	if (gup_fd >= 0 && !strcmp(argv[3], "legacy")) {
		/* 6.1 has no PIN_LONGTERM_TEST_START: say once what the kernel answers to it. */
		char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			p[0] = 1;
			long s = pin_start(p, PAGE, 1, 0);
			emit("NOTE PIN_LONGTERM_TEST_START %s %ld", s ? "errno" : "ok", -s);
			munmap(p, PAGE);
		}
	}

	kmsg = open("/dev/kmsg", O_WRONLY);

	char line[256];
	int rows = 0;
	while (fgets(line, sizeof line, cases)) {
		char idx[16], mech[32], backing[32], map[16], prot[8], touch[8];
		if (sscanf(line, "%15s %31s %31s %15s %7s %7s", idx, mech, backing, map, prot, touch) != 6)
			continue;
		if (!strcmp(mech, "iouring") && !ring_ready) {
			emit("SETUP %s io_uring_queue_init %d", idx, -r);
			continue;
		}
		if (strcmp(mech, "iouring") && gup_fd < 0) {
			emit("SETUP %s no-gup-test 0", idx);
			continue;
		}
		/* A marker in the kernel's log, so a WARNING there can be tied to its case. */
		if (kmsg >= 0) {
			char mark[64];
			int n = snprintf(mark, sizeof mark, "<5>gupcheck-oracle: case %s\n", idx);
			if (write(kmsg, mark, n) != n)
				emit("NOTE kmsg-write %d", errno);
		}
		run_case(idx, mech, backing, map, prot, touch, argv[3]);
		rows++;
	}
	emit("END %d", rows);
	return 0;
}
