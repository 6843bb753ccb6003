/*
 * Copyright (c) 2026 The marconid developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The sandbox of the engine and of the pipes on Linux: a seccomp
 * allow-list, entered after the child has chrooted, dropped its
 * privileges, made its event base and opened the syslog socket.  From
 * then on a child only works with the descriptors it has or is handed
 * over imsg; it opens no file and starts no program.  Anything not
 * listed kills the whole process (not only the thread), so that the
 * parent sees a child die of SIGSYS and restarts it; the audit log
 * names the system call.
 *
 * Every entry says why it is there.  Names unknown to the architecture
 * (the 32-bit variants on a 64-bit system, say) are ignored by
 * libseccomp, so one list serves every architecture.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#ifdef MARCONID_TEST_HOOKS
#include <sys/ptrace.h>
#include <sys/syscall.h>
#endif

#include <linux/futex.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

#ifndef nitems
#define nitems(_a)	(sizeof((_a)) / sizeof((_a)[0]))
#endif

/* the type of socket(2) without SOCK_NONBLOCK and SOCK_CLOEXEC */
#define SANDBOX_SOCK_TYPE	0xf

struct sandbox_syscall {
	int		 nr;
	const char	*name;
};

#define SANDBOX_SYSCALL(_x)	{ SCMP_SYS(_x), #_x }

/*
 * What both children do in their event loop.  Each entry names the
 * code that needs it; the lists hold what the end-to-end tests were
 * seen to use (strace -f over the whole suite), and a few calls that
 * libc or a library makes on paths the tests do not take, said so.
 */
static const struct sandbox_syscall sandbox_common[] = {
	/* libevent's loop sleeps here (libc uses epoll_pwait on arm64) */
	SANDBOX_SYSCALL(epoll_wait),
	SANDBOX_SYSCALL(epoll_pwait),
	/* libevent adds and removes the descriptors it watches */
	SANDBOX_SYSCALL(epoll_ctl),
	/* libevent's precise timers: the timerfd made at event_init() */
	SANDBOX_SYSCALL(timerfd_settime),
	SANDBOX_SYSCALL(timerfd_settime64),

	/*
	 * getmonotime(), libevent's timers and clock, the monitor's
	 * timestamps: the vDSO answers these without entering the
	 * kernel, unless the clock source cannot be read from user space
	 * (some virtual machines), and then they are system calls.  The
	 * _time64 form is the 32-bit architectures' name.  time(2) is
	 * the same for glibc's syslog(3) on the architectures that have
	 * it.
	 */
	SANDBOX_SYSCALL(clock_gettime),
	SANDBOX_SYSCALL(clock_gettime64),
	SANDBOX_SYSCALL(gettimeofday),
	SANDBOX_SYSCALL(time),

	/*
	 * The imsg channels (readv, writev; recvmsg and sendmsg for the
	 * messages that carry descriptors), the tun/tap device (read,
	 * write and writev in the engine), the TLS connections (read,
	 * write in the pipes), and the pipe through which libevent
	 * learns of a signal (read, write).
	 */
	SANDBOX_SYSCALL(read),
	SANDBOX_SYSCALL(write),
	SANDBOX_SYSCALL(readv),
	SANDBOX_SYSCALL(writev),
	SANDBOX_SYSCALL(recvmsg),
	SANDBOX_SYSCALL(sendmsg),
	/*
	 * syslog(3) on the socket connected before the chroot (not in
	 * the foreground, so not seen in the tests): send(2), which is
	 * sendto(2) where the architecture has no send.
	 */
	SANDBOX_SYSCALL(sendto),
	SANDBOX_SYSCALL(send),
	/* closing what the child is done with, received descriptors too */
	SANDBOX_SYSCALL(close),

	/*
	 * malloc(3): brk for the main heap, mmap (allowed below, not
	 * executable) and munmap for large blocks.  mremap is realloc(3)
	 * of a block above glibc's mmap threshold (128 KB): not seen in
	 * the tests, but libevent's table of descriptors is one array
	 * grown by realloc, and at 16384 descriptors it is that large.
	 * No madvise: glibc uses it for the arenas of other threads.
	 */
	SANDBOX_SYSCALL(brk),
	SANDBOX_SYSCALL(munmap),
	SANDBOX_SYSCALL(mremap),

	/* arc4random(3) (libbsd): nonces, rxids, epochs, TLS randoms */
	SANDBOX_SYSCALL(getrandom),
	/* arc4random(3)'s check for a fork, and syslog(3)'s LOG_PID */
	SANDBOX_SYSCALL(getpid),

	/* libevent installs its signal handlers */
	SANDBOX_SYSCALL(rt_sigaction),
	/* the way back from a signal handler (sigreturn: 32-bit) */
	SANDBOX_SYSCALL(rt_sigreturn),
	SANDBOX_SYSCALL(sigreturn),
	/*
	 * abort(3), after a failed assertion or one of glibc's malloc
	 * checks: it unblocks SIGABRT, asks for the thread id in glibc
	 * before 2.34, and sends the signal with tgkill (below, to
	 * itself only), so that the parent logs an abort rather than a
	 * sandbox violation.  Not seen in the tests.
	 */
	SANDBOX_SYSCALL(rt_sigprocmask),
	SANDBOX_SYSCALL(gettid),

	/* the end: exit(3) and the _exit(2) of a fatal error */
	SANDBOX_SYSCALL(exit_group),
};

/* The engine only. */
static const struct sandbox_syscall sandbox_engine[] = {
	/* marconictl's connections on the control socket (control.c) */
	SANDBOX_SYSCALL(accept4),
};

/* A pipe only. */
static const struct sandbox_syscall sandbox_pipe[] = {
	/* peers' TLS connections on the listener (session_accept) */
	SANDBOX_SYSCALL(accept4),
	/* data datagrams, a batch per call (udp_read, udp_flush) */
	SANDBOX_SYSCALL(recvmmsg),
	SANDBOX_SYSCALL(sendmmsg),
};

static void	 sandbox_rule(scmp_filter_ctx, uint32_t, int, const char *,
		    unsigned int, const struct scmp_arg_cmp *);
static void	 sandbox_list(scmp_filter_ctx,
		    const struct sandbox_syscall *, size_t);
static void	 sandbox_args(scmp_filter_ctx);
static void	 sandbox_pipe_args(scmp_filter_ctx);
static void	 sandbox_socket(scmp_filter_ctx);
#ifdef MARCONID_TEST_HOOKS
static void	 sandbox_test_init(void);
#endif

/*
 * Sanitizer builds only (make check-sanitize), never a normal build:
 * what AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer
 * need to report from a child in the sandbox.  Nothing above changes;
 * the rules below only let the sanitizer runtime's own system calls
 * through, or fail them as the chroot would, instead of killing the
 * child halfway through a report.  scripts/check-sanitize sets the
 * options that keep the rest of a report out of the sandbox's way.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER	1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SANDBOX_SANITIZER)
#define SANDBOX_SANITIZER	1
#endif

#ifdef SANDBOX_SANITIZER
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>

static int	 sandbox_entered;

/*
 * A child opens its report file (log_path in ASAN_OPTIONS) before
 * main(), while the file system is in view: after the chroot the path
 * no longer resolves and the report would be lost.  It also keeps a
 * copy of its memory map, which it cannot read from /proc later.  The
 * children only (-P): a descriptor opened here by the parent would be
 * inherited by every child it starts.  glibc hands constructors argc
 * and argv.
 */
static void __attribute__((constructor))
sandbox_sanitizer_early(int argc, char *argv[])
{
	int	 i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-P") == 0) {
			(void)__sanitizer_get_report_path();
			__sanitizer_sandbox_on_notify(NULL);
			break;
		}
}

/*
 * LeakSanitizer's check at exit stops the threads with ptrace(2) from
 * a clone(2) and reads /proc: a child may do neither.  A child that
 * entered the sandbox is not checked for leaks; the parent, marconictl
 * and the unit tests are.
 */
int
__lsan_is_turned_off(void)
{
	return (sandbox_entered);
}

static void
sandbox_sanitizer(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 a[1];

	/* the runtime looks at the alternate signal stack on every exit */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack),
	    "sigaltstack", 0, NULL);
	/*
	 * the sanitizer's allocator gives freed memory back with it (the
	 * normal build's list has no madvise: glibc's malloc needs none)
	 */
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(madvise), "madvise", 0,
	    NULL);
	/*
	 * A report reads /proc/self/maps with open(2), which libc never
	 * uses (its open(3) is openat(2), still forbidden), and looks
	 * for the symbolizer program with stat(2): in the empty chroot
	 * both would fail with ENOENT, so fail them so; the report goes
	 * on with the memory map copied before the chroot, and modules
	 * and offsets that scripts/check-sanitize symbolizes afterwards.
	 */
	sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(open), "open",
	    0, NULL);
	sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(stat), "stat",
	    0, NULL);
	a[0] = SCMP_A3_32(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0);
	sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(newfstatat),
	    "newfstatat", 1, a);
	sandbox_entered = 1;
}
#endif	/* SANDBOX_SANITIZER */

void
sandbox_init(enum marconid_process proc)
{
	scmp_filter_ctx	 ctx;
	int		 r;

	/*
	 * No new privileges, ever: nothing setuid or with file
	 * capabilities could give them back, and the kernel accepts a
	 * seccomp filter from a process without CAP_SYS_ADMIN only so.
	 * seccomp_load() would set it too; set it here, before anything
	 * else, and fail if it cannot be.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("%s: seccomp_init failed", __func__);
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0)
		fatalx("%s: seccomp no_new_privs: %s", __func__, strerror(-r));
	/* another ABI (i386 or x32 calls on amd64) gets no way around us */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("%s: seccomp bad arch action: %s", __func__,
		    strerror(-r));

	sandbox_list(ctx, sandbox_common, nitems(sandbox_common));
	sandbox_args(ctx);
	sandbox_socket(ctx);

	switch (proc) {
	case PROC_ENGINE:
		sandbox_list(ctx, sandbox_engine, nitems(sandbox_engine));
		break;
	case PROC_PIPE:
		sandbox_list(ctx, sandbox_pipe, nitems(sandbox_pipe));
		sandbox_pipe_args(ctx);
		break;
	default:
		fatalx("%s: no sandbox for process %d", __func__, proc);
	}

#ifdef SANDBOX_SANITIZER
	sandbox_sanitizer(ctx);
#endif
	if ((r = seccomp_load(ctx)) < 0)
		fatalx("%s: seccomp_load: %s", __func__, strerror(-r));
	seccomp_release(ctx);
	log_debug("%s: seccomp filter loaded", __func__);
#ifdef MARCONID_TEST_HOOKS
	sandbox_test_init();
#endif
}

static void
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *argv)
{
	int	 r;

	if ((r = seccomp_rule_add_array(ctx, action, nr, argc, argv)) < 0)
		fatalx("%s: cannot add a rule for %s: %s", __func__, name,
		    strerror(-r));
}

static void
sandbox_list(scmp_filter_ctx ctx, const struct sandbox_syscall *list,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		sandbox_rule(ctx, SCMP_ACT_ALLOW, list[i].nr, list[i].name,
		    0, NULL);
}

/* System calls allowed with some arguments only, in both children. */
static void
sandbox_args(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 a[2];

	/*
	 * mmap for malloc(3) and the buffers of libevent and libcrypto,
	 * never executable: no code is made at run time, and a child
	 * that someone took over cannot make room for theirs.  There is
	 * no mprotect(2) either (glibc's malloc needs it only for the
	 * arenas of other threads, and the children have none).
	 */
	a[0] = SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), "mmap", 1, a);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap2), "mmap2", 1, a);

	/*
	 * futex: pthread_once(3) ends with a wake-up even when nobody
	 * waits, and libcrypto runs some of its once-only setup late,
	 * OPENSSL_cleanup() at exit among them.  A wake-up only, of this
	 * process's own futexes: a single thread never waits on one.
	 */
	a[0] = SCMP_A1_32(SCMP_CMP_EQ, FUTEX_WAKE_PRIVATE);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), "futex", 1, a);

	/* abort(3): SIGABRT to the child itself, see rt_sigprocmask */
	a[0] = SCMP_A0_32(SCMP_CMP_EQ, getpid());
	a[1] = SCMP_A2_32(SCMP_CMP_EQ, SIGABRT);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), "tgkill", 2, a);
}

/*
 * A pipe only: getsockopt(2) for SO_ERROR, the outcome of the
 * non-blocking connect(2) that the parent started on the socket of an
 * outgoing session (session.c).  Every other option of the uplink's
 * sockets is set by the parent.
 */
static void
sandbox_pipe_args(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 a[2];

	a[0] = SCMP_A1_32(SCMP_CMP_EQ, SOL_SOCKET);
	a[1] = SCMP_A2_32(SCMP_CMP_EQ, SO_ERROR);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), "getsockopt",
	    2, a);
}

/*
 * socket(2): neither child makes a socket; the parent makes them all,
 * outgoing TCP connections included, bound to the uplink.  glibc calls
 * socket(2) behind our back in two places, and both must fail quietly
 * instead of killing the child:
 * - syslog(3), when a send on its socket fails (syslogd restarted),
 *   throws the socket away and makes a new AF_UNIX one to connect to
 *   /dev/log, which is not in the chroot anyway.  EACCES makes
 *   syslog(3) give up on that message and try again with the next;
 *   so messages are lost after syslogd restarts, but the child lives.
 * - if_indextoname(3), when getnameinfo(3) prints the scope of an
 *   IPv6 link-local address, opens an AF_UNIX, AF_NETLINK, AF_INET or
 *   AF_INET6 datagram socket; without one it prints the number.
 * Any other socket (a stream, raw or packet socket) kills the child.
 */
static void
sandbox_socket(scmp_filter_ctx ctx)
{
	static const int	 families[] = {
		AF_UNIX, AF_NETLINK, AF_INET, AF_INET6
	};
	struct scmp_arg_cmp	 a[2];
	size_t			 i;

	for (i = 0; i < nitems(families); i++) {
		a[0] = SCMP_A0_32(SCMP_CMP_EQ, families[i]);
		a[1] = SCMP_A1_32(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE,
		    SOCK_DGRAM);
		sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
		    "socket", 2, a);
	}
}

#ifdef MARCONID_TEST_HOOKS
/*
 * Test builds only (regress/e2e/marconid-test; marconid itself has
 * none of this): once the filter is loaded, the signal SIGRTMIN + i
 * makes the child try probe i from its event loop, as code that
 * someone took over would.  The filter kills the child with SIGSYS
 * for most of them; a probe that returns logs what it got, so that a
 * test sees the calls that fail by design and those that are allowed.
 */
static int
sandbox_probe_execve(void)
{
	char	*argv[] = { "/bin/sh", NULL };

	return (execve(argv[0], argv, NULL));
}

/* outside the chroot; the filter must stop it before the chroot does */
static int
sandbox_probe_open(void)
{
	return (syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY));
}

static int
sandbox_probe_ptrace(void)
{
	return (ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int
sandbox_probe_socket_packet(void)
{
	return (socket(AF_PACKET, SOCK_RAW, 0));
}

static int
sandbox_probe_socket_udp(void)
{
	return (socket(AF_INET, SOCK_DGRAM, 0));
}

static int
sandbox_probe_socket_tcp(void)
{
	return (socket(AF_INET, SOCK_STREAM, 0));
}

static int
sandbox_probe_mmap_exec(void)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);
	munmap(p, 4096);
	return (0);
}

static int
sandbox_probe_mprotect_exec(void)
{
	static char	 page[8192];
	uintptr_t	 p;

	p = ((uintptr_t)page + 4095) & ~(uintptr_t)4095;
	return (mprotect((void *)p, 4096, PROT_READ | PROT_EXEC));
}

static int
sandbox_probe_fork(void)
{
	pid_t	 pid;

	if ((pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0)) == 0)
		_exit(0);
	return (pid);
}

/* signal 0 only checks that the target could be signalled */
static int
sandbox_probe_kill(void)
{
	return (kill(1, 0));
}

static int
sandbox_probe_setuid(void)
{
	return (setuid(0));
}

/* allowed: shows that a probe runs at all */
static int
sandbox_probe_getpid(void)
{
	return (getpid());
}

static const struct sandbox_probe {
	const char	*name;
	int		 (*probe)(void);
	int		 fd;	/* what it returns is a descriptor */
} sandbox_probes[] = {
	{ "execve",		sandbox_probe_execve,		0 },
	{ "open",		sandbox_probe_open,		1 },
	{ "ptrace",		sandbox_probe_ptrace,		0 },
	{ "socket-packet",	sandbox_probe_socket_packet,	1 },
	{ "socket-udp",		sandbox_probe_socket_udp,	1 },
	{ "socket-tcp",		sandbox_probe_socket_tcp,	1 },
	{ "mmap-exec",		sandbox_probe_mmap_exec,	0 },
	{ "mprotect-exec",	sandbox_probe_mprotect_exec,	0 },
	{ "fork",		sandbox_probe_fork,		0 },
	{ "kill",		sandbox_probe_kill,		0 },
	{ "setuid",		sandbox_probe_setuid,		0 },
	{ "getpid",		sandbox_probe_getpid,		0 },
};
static struct event	 sandbox_probe_ev[nitems(sandbox_probes)];

static void
sandbox_test_probe(int sig, short event, void *arg)
{
	const struct sandbox_probe	*sp;
	int				 r, e;

	sp = &sandbox_probes[(size_t)arg];
	log_info("sandbox test: pid %d tries %s", (int)getpid(), sp->name);
	errno = 0;
	r = sp->probe();
	e = errno;
	if (r == -1) {
		log_warnx("sandbox test: pid %d: %s failed: %s", (int)getpid(),
		    sp->name, strerror(e));
		return;
	}
	if (sp->fd)
		close(r);
	log_warnx("sandbox test: pid %d: %s allowed", (int)getpid(),
	    sp->name);
}

static void
sandbox_test_init(void)
{
	size_t	 i;
	int	 sig;

	for (i = 0; i < nitems(sandbox_probes); i++) {
		sig = SIGRTMIN + (int)i;
		if (sig > SIGRTMAX)
			fatalx("%s: too few real-time signals", __func__);
		signal_set(&sandbox_probe_ev[i], sig, sandbox_test_probe,
		    (void *)i);
		signal_add(&sandbox_probe_ev[i], NULL);
		log_info("sandbox test: signal %d: %s", sig,
		    sandbox_probes[i].name);
	}
}
#endif	/* MARCONID_TEST_HOOKS */
