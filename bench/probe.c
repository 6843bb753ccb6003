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
 * The probe stream of the benchmark: numbered UDP datagrams at a fixed
 * interval (1 ms unless told), echoed by the other end, and with -T a
 * TCP connection that carries a small record at the same interval and
 * has it echoed too.  It measures what a tunnel's failover costs the
 * traffic across it: which probes were lost, for how long in a row,
 * and for how long the TCP stream stalled.
 *
 *	probe -l port
 *		echoes UDP datagrams and TCP streams on port, IPv4
 *	probe [-T] [-d seconds] [-i microseconds] address port
 *		sends, for seconds (10 unless told), then waits one second
 *		for the last echoes and prints its figures as "name value"
 *		lines
 *
 * SIGUSR1 to the sender starts the next phase (at most two more): the
 * harness sends one when it cuts an ISP and one when it restores it, so
 * that the figures of phase 1 are those of the failover and the figures
 * of phase 2 those of the failback.  SIGTERM ends the sending early;
 * the figures are printed all the same.  Every figure in ms is measured on
 * the monotonic clock, which all network namespaces share.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAGIC	0x6d70726fU	/* "mpro" */
#define PROBE_PHASES	3
#define PROBE_MAXDUR	600		/* seconds */
#define PROBE_LINGER	1000000000LL	/* ns of waiting for late echoes */

struct probe {
	uint32_t	magic;
	uint32_t	seq;
	int64_t		sent;		/* ns, monotonic */
};

struct phase {
	int64_t		start;		/* ns; 0 when it never began */
	long		sent;
	long		lost;
	long		longest;	/* the longest run of lost probes */
	long		runstart;	/* its first probe */
	int64_t		tcpgap;		/* the longest gap between echoes */
};

static volatile sig_atomic_t	marks;
static volatile sig_atomic_t	quit;

static void	usage(void);
static int64_t	now_ns(void);
static void	on_mark(int);
static void	on_quit(int);
static void	nonblock(int);
static long	number(const char *, long, long, const char *);
static int	echo_server(const char *);
static void	echo_tcp(int);
static int	sender(const char *, const char *, long, long, int);
static int	phase_at(const struct phase *, int, int64_t);
static void	report(struct phase *, int, long, const int64_t *,
		    const uint8_t *, long, int);

static void
usage(void)
{
	fprintf(stderr, "usage: probe -l port\n"
	    "       probe [-T] [-d seconds] [-i microseconds] address port\n");
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static void
on_mark(int sig)
{
	(void)sig;
	if (marks < PROBE_PHASES - 1)
		marks++;
}

static void
on_quit(int sig)
{
	(void)sig;
	quit = 1;
}

static void
nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		err(1, "fcntl");
}

static long
number(const char *s, long min, long max, const char *what)
{
	const char	*errstr = NULL;
	char		*end;
	long		 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		errstr = "invalid";
	else if (n < min)
		errstr = "too small";
	else if (n > max)
		errstr = "too large";
	if (errstr != NULL)
		errx(1, "%s %s: %s", what, s, errstr);
	return (n);
}

int
main(int argc, char *argv[])
{
	const char	*lport = NULL;
	long		 duration = 10, interval = 1000;
	int		 ch, tcp = 0;

	while ((ch = getopt(argc, argv, "d:i:l:T")) != -1) {
		switch (ch) {
		case 'd':
			duration = number(optarg, 1, PROBE_MAXDUR, "duration");
			break;
		case 'i':
			interval = number(optarg, 100, 1000000, "interval");
			break;
		case 'l':
			lport = optarg;
			break;
		case 'T':
			tcp = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (lport != NULL) {
		if (argc != 0)
			usage();
		return (echo_server(lport));
	}
	if (argc != 2)
		usage();
	return (sender(argv[0], argv[1], duration, interval, tcp));
}

/*
 * UDP datagrams go straight back; each TCP connection is echoed by a
 * process of its own, which blocks as its peer does and ends with it.
 */
static int
echo_server(const char *port)
{
	struct sockaddr_in	 sin;
	struct sockaddr_storage	 ss;
	struct pollfd		 pfd[2];
	socklen_t		 slen;
	ssize_t			 n;
	char			 buf[2048];
	int			 u, l, s, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(number(port, 1, 65535, "port"));
	sin.sin_addr.s_addr = htonl(INADDR_ANY);

	if ((u = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    (l = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(1, "SO_REUSEADDR");
	if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind");
	if (listen(l, 16) == -1)
		err(1, "listen");
	nonblock(u);
	nonblock(l);
	signal(SIGCHLD, SIG_IGN);	/* no zombies of echo processes */
	signal(SIGTERM, on_quit);
	signal(SIGINT, on_quit);

	pfd[0].fd = u;
	pfd[0].events = POLLIN;
	pfd[1].fd = l;
	pfd[1].events = POLLIN;
	while (!quit) {
		if (poll(pfd, 2, 1000) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		for (;;) {
			slen = sizeof(ss);
			n = recvfrom(u, buf, sizeof(buf), 0,
			    (struct sockaddr *)&ss, &slen);
			if (n == -1)
				break;
			(void)sendto(u, buf, n, 0, (struct sockaddr *)&ss,
			    slen);
		}
		if ((s = accept(l, NULL, NULL)) == -1)
			continue;
		switch (fork()) {
		case -1:
			warn("fork");
			close(s);
			break;
		case 0:
			close(u);
			close(l);
			echo_tcp(s);
			_exit(0);
		default:
			close(s);
		}
	}
	return (0);
}

static void
echo_tcp(int s)
{
	char	 buf[4096];
	ssize_t	 n, w, off;
	int	 one = 1;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			if ((w = write(s, buf + off, n - off)) <= 0)
				return;
		}
	}
}

static int
sender(const char *host, const char *port, long duration, long interval,
    int tcp)
{
	struct sockaddr_in	 sin;
	struct phase		 ph[PROBE_PHASES];
	struct probe		 p;
	struct pollfd		 pfd[2];
	struct timespec		 ts;
	struct sigaction	 sa;
	int64_t			*sent, start, next, end, t, lastecho = 0;
	uint8_t			*got;
	char			 buf[4096];
	long			 count, seq = 0;
	ssize_t			 n;
	int			 u, s = -1, phase = 0, one = 1, tcpok = 0;
	int			 k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(number(port, 1, 65535, "port"));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		errx(1, "%s: not an IPv4 address", host);

	count = duration * (1000000 / interval) + 1;
	if ((sent = calloc(count, sizeof(*sent))) == NULL ||
	    (got = calloc(count, 1)) == NULL)
		err(1, "calloc");
	memset(ph, 0, sizeof(ph));

	if ((u = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (connect(u, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect udp %s", host);
	nonblock(u);
	if (tcp) {
		if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			err(1, "socket");
		if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			err(1, "connect tcp %s", host);
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		nonblock(s);
		tcpok = 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_mark;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_quit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	pfd[0].fd = u;
	pfd[0].events = POLLIN;
	pfd[1].fd = s;
	pfd[1].events = POLLIN;

	start = now_ns();
	ph[0].start = start;
	next = start;
	end = start + (int64_t)duration * 1000000000LL;
	lastecho = start;
	for (;;) {
		t = now_ns();
		if (quit && t < end)	/* told to stop: end now */
			end = t;
		while (phase < marks) {
			phase++;
			ph[phase].start = t;
		}
		if (t >= next && t < end && seq < count) {
			p.magic = PROBE_MAGIC;
			p.seq = seq;
			p.sent = t;
			sent[seq] = t;
			/* a full buffer loses the probe: it counts as lost */
			(void)send(u, &p, sizeof(p), 0);
			if (tcpok && write(s, &p, sizeof(p)) == -1 &&
			    errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				tcpok = 0;
			seq++;
			next += interval * 1000LL;
			if (next < t)	/* late: keep the pace, not the debt */
				next = t + interval * 1000LL;
		}
		if (t >= end + PROBE_LINGER)
			break;
		if (t < end) {
			ts.tv_sec = 0;
			ts.tv_nsec = next > t ? next - t : 0;
		} else {
			ts.tv_sec = 0;
			ts.tv_nsec = 10000000;
		}
		if (ppoll(pfd, tcpok ? 2 : 1, &ts, NULL) == -1 &&
		    errno != EINTR)
			err(1, "ppoll");
		while ((n = recv(u, &p, sizeof(p), 0)) > 0) {
			if (n == sizeof(p) && p.magic == PROBE_MAGIC &&
			    p.seq < seq && sent[p.seq] == p.sent)
				got[p.seq] = 1;
		}
		if (tcpok && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(s, buf, sizeof(buf));
			if (n > 0) {
				t = now_ns();
				k = phase_at(ph, phase,
				    lastecho + (t - lastecho) / 2);
				if (t - lastecho > ph[k].tcpgap)
					ph[k].tcpgap = t - lastecho;
				lastecho = t;
			} else if (n == 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR))
				tcpok = 0;
		}
	}
	/* a stream that never came back stalled until the end */
	t = end;
	k = phase_at(ph, phase, lastecho + (t - lastecho) / 2);
	if (tcp && t - lastecho > ph[k].tcpgap)
		ph[k].tcpgap = t - lastecho;
	report(ph, phase, seq, sent, got, interval, tcp ?
	    (tcpok && end - lastecho < PROBE_LINGER ? 1 : 0) : -1);
	free(sent);
	free(got);
	return (0);
}

/*
 * The phase a stall of the TCP stream belongs to: the one its middle
 * falls in, so that a stall that begins just before a cut, or ends
 * after the next mark, counts where it mostly was.
 */
static int
phase_at(const struct phase *ph, int last, int64_t t)
{
	int	k;

	for (k = last; k > 0; k--)
		if (ph[k].start <= t)
			break;
	return (k);
}

static void
report(struct phase *ph, int last, long count, const int64_t *sent,
    const uint8_t *got, long interval, int tcpalive)
{
	long	 i, run = 0, runstart = 0, received = 0;
	int	 k = 0;

	for (i = 0; i < count; i++) {
		while (k < last && sent[i] >= ph[k + 1].start) {
			run = 0;
			k++;
		}
		ph[k].sent++;
		if (got[i]) {
			received++;
			run = 0;
			continue;
		}
		ph[k].lost++;
		if (run++ == 0)
			runstart = i;
		if (run > ph[k].longest) {
			ph[k].longest = run;
			ph[k].runstart = runstart;
		}
	}
	printf("interval_us %ld\n", interval);
	printf("sent %ld\n", count);
	printf("received %ld\n", received);
	printf("lost %ld\n", count - received);
	printf("phases %d\n", last + 1);
	for (k = 0; k <= last; k++) {
		printf("phase%d_sent %ld\n", k, ph[k].sent);
		printf("phase%d_lost %ld\n", k, ph[k].lost);
		printf("phase%d_longest %ld\n", k, ph[k].longest);
		/* the longest run in time: its probes times the interval */
		printf("phase%d_longest_ms %.1f\n", k,
		    ph[k].longest * interval / 1000.0);
		/*
		 * From the start of the phase to the first answered probe
		 * after its longest run; -1 when none was answered after it.
		 */
		i = ph[k].runstart + ph[k].longest;
		if (ph[k].longest == 0)
			printf("phase%d_back_ms 0\n", k);
		else if (i < count && got[i] && (k == last ||
		    sent[i] < ph[k + 1].start))
			printf("phase%d_back_ms %.1f\n", k,
			    (sent[i] - ph[k].start) / 1e6);
		else
			printf("phase%d_back_ms -1\n", k);
		if (tcpalive != -1)
			printf("phase%d_tcp_stall_ms %.1f\n", k,
			    ph[k].tcpgap / 1e6);
	}
	if (tcpalive != -1)
		printf("tcp_alive %d\n", tcpalive);
}
