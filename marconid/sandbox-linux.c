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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
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

/* What both children do once in their event loop. */
static const struct sandbox_syscall sandbox_common[] = {
	/* libevent's loop sleeps here (libc uses epoll_pwait on arm64) */
	SANDBOX_SYSCALL(epoll_wait),
	SANDBOX_SYSCALL(epoll_pwait),
	/* libevent adds and removes the descriptors it watches */
	SANDBOX_SYSCALL(epoll_ctl),

	/*
	 * Timers and probe timestamps.  The vDSO answers these without
	 * entering the kernel unless the clock source forbids it, so
	 * the system calls stay allowed.  The _time64 forms are the
	 * 32-bit architectures' names.
	 */
	SANDBOX_SYSCALL(clock_gettime),
	SANDBOX_SYSCALL(clock_gettime64),
	/* libevent's wall clock for event_base_gettimeofday_cached() */
	SANDBOX_SYSCALL(gettimeofday),
	/* time(3) where libc does not take it from the vDSO */
	SANDBOX_SYSCALL(time),
	/* a short sleep (usleep(3), nanosleep(3)) never harms */
	SANDBOX_SYSCALL(nanosleep),
	SANDBOX_SYSCALL(clock_nanosleep),
	SANDBOX_SYSCALL(clock_nanosleep_time64),
	/* the kernel resumes a sleep interrupted by a signal with it */
	SANDBOX_SYSCALL(restart_syscall),

	/*
	 * Data on the descriptors the child already has: the imsg
	 * channels, the tun/tap device (engine), the uplink's UDP and
	 * TCP sockets (pipe), control connections (engine), the
	 * socketpair through which libevent learns of a signal.
	 */
	SANDBOX_SYSCALL(read),
	SANDBOX_SYSCALL(write),
	SANDBOX_SYSCALL(readv),
	SANDBOX_SYSCALL(writev),
	/* imsg: messages that carry descriptors (SCM_RIGHTS) */
	SANDBOX_SYSCALL(recvmsg),
	SANDBOX_SYSCALL(sendmsg),
	/*
	 * UDP datagrams from and to the peers; syslog(3) on the socket
	 * connected before the chroot, and libevent's signal socketpair,
	 * use send(2) and recv(2), which libc makes sendto(2) and
	 * recvfrom(2) where the architecture has no send or recv.
	 */
	SANDBOX_SYSCALL(recvfrom),
	SANDBOX_SYSCALL(sendto),
	SANDBOX_SYSCALL(recv),
	SANDBOX_SYSCALL(send),
	/* closing what the child is done with, received descriptors too */
	SANDBOX_SYSCALL(close),
	/*
	 * Reading options only: SO_ERROR after a non-blocking connect,
	 * socket buffer sizes, the credentials of a control client
	 * (getpeereid(3) is SO_PEERCRED).
	 */
	SANDBOX_SYSCALL(getsockopt),
	/* where a received or accepted socket is bound and connected */
	SANDBOX_SYSCALL(getsockname),
	SANDBOX_SYSCALL(getpeername),

	/*
	 * malloc(3): brk for the main heap, mmap (allowed below, not
	 * executable) and munmap for large blocks, mremap for realloc(3)
	 * of those, madvise when glibc gives memory back.
	 */
	SANDBOX_SYSCALL(brk),
	SANDBOX_SYSCALL(munmap),
	SANDBOX_SYSCALL(mremap),
	SANDBOX_SYSCALL(madvise),

	/* arc4random(3) for nonces and probe identifiers, TLS later */
	SANDBOX_SYSCALL(getrandom),
	/* syslog(3)'s LOG_PID, arc4random(3)'s check for a fork */
	SANDBOX_SYSCALL(getpid),
	/* abort(3) in older glibc asks for the thread id; tgkill below */
	SANDBOX_SYSCALL(gettid),

	/* libevent installs its signal handlers and masks signals */
	SANDBOX_SYSCALL(rt_sigaction),
	SANDBOX_SYSCALL(rt_sigprocmask),
	/* the way back from a signal handler (sigreturn: 32-bit) */
	SANDBOX_SYSCALL(rt_sigreturn),
	SANDBOX_SYSCALL(sigreturn),

	/* stdio sizes its buffer from the descriptor (foreground, -d) */
	SANDBOX_SYSCALL(fstat),
	SANDBOX_SYSCALL(fstat64),

	/* the end: exit(3) and the _exit(2) of a fatal error */
	SANDBOX_SYSCALL(exit),
	SANDBOX_SYSCALL(exit_group),
};

/* The engine only. */
static const struct sandbox_syscall sandbox_engine[] = {
	/* marconictl's connections on the control socket from the parent */
	SANDBOX_SYSCALL(accept),
	SANDBOX_SYSCALL(accept4),
};

/* A pipe only. */
static const struct sandbox_syscall sandbox_pipe[] = {
	/* peers' TLS connections on the listener from the parent */
	SANDBOX_SYSCALL(accept),
	SANDBOX_SYSCALL(accept4),
	/* the outgoing TCP connection for TLS to a peer, see socket(2) */
	SANDBOX_SYSCALL(connect),
	/* data datagrams, a batch per call (udp_read, udp_flush) */
	SANDBOX_SYSCALL(recvmmsg),
	SANDBOX_SYSCALL(sendmmsg),
};

static void	 sandbox_rule(scmp_filter_ctx, uint32_t, int, const char *,
		    unsigned int, const struct scmp_arg_cmp *);
static void	 sandbox_list(scmp_filter_ctx,
		    const struct sandbox_syscall *, size_t);
static void	 sandbox_args(scmp_filter_ctx);
static void	 sandbox_socket(scmp_filter_ctx, enum marconid_process);

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
	sandbox_socket(ctx, proc);

	switch (proc) {
	case PROC_ENGINE:
		sandbox_list(ctx, sandbox_engine, nitems(sandbox_engine));
		break;
	case PROC_PIPE:
		sandbox_list(ctx, sandbox_pipe, nitems(sandbox_pipe));
		break;
	default:
		fatalx("%s: no sandbox for process %d", __func__, proc);
	}

	if ((r = seccomp_load(ctx)) < 0)
		fatalx("%s: seccomp_load: %s", __func__, strerror(-r));
	seccomp_release(ctx);
	log_debug("%s: seccomp filter loaded", __func__);
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
	static const int	 fcntl_cmds[] = {
		F_GETFD, F_SETFD, F_GETFL, F_SETFL
	};
	static const int	 sockopt_levels[] = {
		SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP
	};
	struct scmp_arg_cmp	 a[2];
	size_t			 i;

	/*
	 * fcntl: the descriptor flags only, for non-blocking mode and
	 * close-on-exec on what libevent watches and what imsg hands
	 * over; no duplicating, no locks, no leases, no signals.
	 */
	for (i = 0; i < nitems(fcntl_cmds); i++) {
		a[0] = SCMP_A1_32(SCMP_CMP_EQ, fcntl_cmds[i]);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), "fcntl",
		    1, a);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl64),
		    "fcntl64", 1, a);
	}

	/*
	 * ioctl: FIONREAD only, with which libevent sizes a read into an
	 * evbuffer.  Nothing reconfigures the tun/tap device from here:
	 * the parent does that.
	 */
	a[0] = SCMP_A1_32(SCMP_CMP_EQ, FIONREAD);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), "ioctl", 1, a);

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
	 * setsockopt: socket buffer sizes, TCP_NODELAY on the TLS
	 * connection, the don't-fragment and TOS options of the data
	 * socket; not the levels of netfilter, packet sockets and the
	 * like, whose option handlers have a history of bugs.  The
	 * options that change where a socket goes (SO_MARK,
	 * SO_BINDTODEVICE on a bound socket) need a capability the
	 * children dropped.
	 */
	for (i = 0; i < nitems(sockopt_levels); i++) {
		a[0] = SCMP_A1_32(SCMP_CMP_EQ, sockopt_levels[i]);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt),
		    "setsockopt", 1, a);
	}

	/*
	 * fstat(3) is newfstatat(fd, "", AT_EMPTY_PATH) in recent glibc
	 * (statx on some 32-bit architectures).  The flag alone does not
	 * keep a path from being looked up, but the chroot leaves
	 * nothing to look at.
	 */
	a[0] = SCMP_A3_32(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), "newfstatat",
	    1, a);
	a[0] = SCMP_A2_32(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(statx), "statx", 1, a);

	/*
	 * abort(3), from a failed assertion or glibc's malloc checks:
	 * SIGABRT to the child itself, so that the parent logs an abort
	 * rather than a sandbox violation.
	 */
	a[0] = SCMP_A0_32(SCMP_CMP_EQ, getpid());
	a[1] = SCMP_A2_32(SCMP_CMP_EQ, SIGABRT);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), "tgkill", 2, a);
}

/*
 * socket(2).  The engine needs none.  A pipe makes the TCP connection
 * to a peer that does not connect to it first: AF_INET or AF_INET6,
 * SOCK_STREAM, nothing else (its UDP socket comes from the parent).
 * Such a socket cannot be tied to an interface or a routing table
 * here (SO_MARK needs CAP_NET_ADMIN); an uplink with those settings
 * needs its outgoing sockets made by the parent.
 *
 * glibc calls socket(2) behind our back in two places, and both must
 * fail quietly instead of killing the child:
 * - syslog(3), when a send on its socket fails (syslogd restarted),
 *   throws the socket away and makes a new AF_UNIX one to connect to
 *   /dev/log, which is not in the chroot anyway.  EACCES makes
 *   syslog(3) give up on that message and try again with the next;
 *   so messages are lost after syslogd restarts, but the child lives.
 *   No connect(2) is needed for it, and the engine has none.
 * - if_indextoname(3), when getnameinfo(3) prints the scope of an
 *   IPv6 link-local address, opens an AF_NETLINK, AF_UNIX, AF_INET
 *   or AF_INET6 datagram socket; without one it prints the number.
 */
static void
sandbox_socket(scmp_filter_ctx ctx, enum marconid_process proc)
{
	static const int	 inet[] = { AF_INET, AF_INET6 };
	static const int	 other[] = { AF_UNIX, AF_NETLINK };
	struct scmp_arg_cmp	 a[2];
	size_t			 i;

	if (proc != PROC_PIPE) {
		sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
		    "socket", 0, NULL);
		return;
	}

	for (i = 0; i < nitems(inet); i++) {
		a[0] = SCMP_A0_32(SCMP_CMP_EQ, inet[i]);
		a[1] = SCMP_A1_32(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE,
		    SOCK_STREAM);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket",
		    2, a);
		a[1] = SCMP_A1_32(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE,
		    SOCK_DGRAM);
		sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
		    "socket", 2, a);
	}
	for (i = 0; i < nitems(other); i++) {
		a[0] = SCMP_A0_32(SCMP_CMP_EQ, other[i]);
		sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
		    "socket", 1, a);
	}
}
