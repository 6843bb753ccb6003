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
 * A checksummed transfer over TCP that may be resumed: the traffic of
 * the chaos test (chaos_test.sh).
 *
 *	xfer gen [-s seed] bytes
 *		writes the stream to the standard output (for sha256sum)
 *	xfer recv [-s seed] [-t sec] addr port bytes
 *		listens; writes what arrives, checked byte by byte against
 *		the stream, to the standard output; ends once it has BYTES,
 *		at the first byte that differs (exit 1), or after SEC
 *		seconds in all (exit 1)
 *	xfer send [-s seed] [-c tries] [-r rate] [-t sec] host port bytes
 *		sends the stream at RATE bytes a second at most, resuming
 *		on a new connection when one dies or stalls
 *
 * The stream is a function of the seed and of the offset alone, so
 * that the receiver can check any byte without having seen the ones
 * before.  At the start of each connection the receiver tells the
 * sender, in 8 bytes, how much it already has; the sender goes on from
 * there.  So a connection that died costs a retry, but a byte that
 * arrived twice or altered shows as a mismatch at its offset.  Each
 * side reports on the standard error.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		16384
#define STALL_MS	8000	/* no progress this long: a new connection */

static uint64_t		 seed;

static void		 usage(void) __attribute__((__noreturn__));

static void
usage(void)
{
	fprintf(stderr, "usage: xfer gen [-s seed] bytes\n"
	    "       xfer recv [-s seed] [-t sec] addr port bytes\n"
	    "       xfer send [-s seed] [-c tries] [-r rate] [-t sec] "
	    "host port bytes\n");
	exit(2);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* the 8 bytes of the stream from offset 8 * BLOCK: splitmix64 */
static uint64_t
block(uint64_t b)
{
	uint64_t	 z;

	z = seed + (b + 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* LEN bytes of the stream from offset OFF into BUF */
static void
stream(uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < len; i++, off++) {
		if (i == 0 || off % 8 == 0)
			v = block(off / 8);
		buf[i] = (v >> (8 * (off % 8))) & 0xff;
	}
}

static uint64_t
number(const char *s, const char *what)
{
	char		*end;
	uint64_t	 v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0')
		errx(2, "%s: bad number \"%s\"", what, s);
	return (v);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

static int
resolve(const char *host, const char *port, int passive,
    struct addrinfo **res)
{
	struct addrinfo	 hints;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
	    (passive ? AI_PASSIVE : 0);
	if ((error = getaddrinfo(host, port, &hints, res)) != 0)
		errx(2, "%s port %s: %s", host, port, gai_strerror(error));
	return (0);
}

/* writes all of BUF to FD, or fails */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= n;
	}
	return (0);
}

static int
mode_gen(int argc, char **argv)
{
	uint8_t		 buf[CHUNK];
	uint64_t	 off, total;
	size_t		 len;
	int		 ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			seed = number(optarg, "-s");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	total = number(argv[0], "bytes");
	for (off = 0; off < total; off += len) {
		len = total - off < CHUNK ? total - off : CHUNK;
		stream(off, buf, len);
		if (write_all(STDOUT_FILENO, buf, len) == -1)
			err(1, "write");
	}
	return (0);
}

static int
mode_recv(int argc, char **argv)
{
	struct addrinfo	*res;
	struct pollfd	 pfd[2];
	uint8_t		 buf[CHUNK], want[CHUNK], hdr[8];
	uint64_t	 have = 0, total, limit = 600;
	int64_t		 start, left;
	ssize_t		 n, i;
	int		 ch, lfd, fd = -1, on = 1, conns = 0;

	while ((ch = getopt(argc, argv, "s:t:")) != -1) {
		switch (ch) {
		case 's':
			seed = number(optarg, "-s");
			break;
		case 't':
			limit = number(optarg, "-t");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		usage();
	total = number(argv[2], "bytes");
	resolve(argv[0], argv[1], 1, &res);
	if ((lfd = socket(res->ai_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(lfd, res->ai_addr, res->ai_addrlen) == -1)
		err(1, "bind");
	if (listen(lfd, 4) == -1)
		err(1, "listen");
	freeaddrinfo(res);
	fprintf(stderr, "xfer: listening\n");

	start = now_ms();
	while (have < total) {
		left = (int64_t)limit * 1000 - (now_ms() - start);
		if (left <= 0) {
			fprintf(stderr, "xfer: timed out with %llu of %llu "
			    "bytes in %d connections\n",
			    (unsigned long long)have,
			    (unsigned long long)total, conns);
			return (1);
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)left) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			/* the sender starts again: this one is the current */
			if (fd != -1)
				close(fd);
			if ((fd = accept(lfd, NULL, NULL)) == -1)
				continue;
			conns++;
			put_be64(hdr, have);
			if (write_all(fd, hdr, sizeof(hdr)) == -1) {
				close(fd);
				fd = -1;
			}
			fprintf(stderr, "xfer: connection %d from offset "
			    "%llu\n", conns, (unsigned long long)have);
			continue;
		}
		if (fd == -1 || pfd[1].revents == 0)
			continue;
		n = read(fd, buf, total - have < CHUNK ? total - have : CHUNK);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			fprintf(stderr, "xfer: connection %d ended at %llu "
			    "(%s)\n", conns, (unsigned long long)have,
			    n == 0 ? "closed" : strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		stream(have, want, n);
		for (i = 0; i < n; i++)
			if (buf[i] != want[i]) {
				fprintf(stderr, "xfer: byte %llu differs: "
				    "0x%02x, not 0x%02x\n",
				    (unsigned long long)(have + i), buf[i],
				    want[i]);
				return (1);
			}
		if (write_all(STDOUT_FILENO, buf, n) == -1)
			err(1, "write");
		have += n;
	}
	if (fd != -1)
		close(fd);
	fprintf(stderr, "xfer: received %llu bytes in %d connections, "
	    "%lld ms\n", (unsigned long long)have, conns,
	    (long long)(now_ms() - start));
	return (0);
}

/*
 * One connection: what the receiver has, then the rest at RATE.
 * Returns the offset reached; *done once all was sent.
 */
struct bucket {
	int64_t		 tokens;	/* bytes that may leave now */
	int64_t		 last;		/* now_ms() of the last refill */
};

static uint64_t
send_once(struct addrinfo *res, uint64_t total, uint64_t rate,
    struct bucket *b, int64_t deadline, int *done)
{
	struct pollfd	 pfd;
	uint8_t		 buf[CHUNK], hdr[8];
	uint64_t	 off = 0, sent;
	int64_t		 now, last_progress, t0;
	size_t		 len, got = 0;
	ssize_t		 n;
	socklen_t	 elen;
	int		 fd, error, on = 1;

	*done = 0;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1)
		err(1, "socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
#ifdef TCP_USER_TIMEOUT
	{
		/* unacknowledged this long: the connection is dead */
		unsigned int	 ut = STALL_MS;

		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	}
#endif
	/* connected within the stall time, or another try */
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return (0);
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	elen = sizeof(error);
	if (poll(&pfd, 1, STALL_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) == -1 ||
	    error != 0) {
		close(fd);
		return (0);
	}
	/* the receiver's offset, within the stall time */
	t0 = now_ms();
	while (got < sizeof(hdr)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, STALL_MS) != 1 ||
		    (n = read(fd, hdr + got, sizeof(hdr) - got)) <= 0 ||
		    now_ms() - t0 > STALL_MS) {
			close(fd);
			return (0);
		}
		got += n;
	}
	off = get_be64(hdr);
	if (off > total)
		errx(1, "the receiver has %llu bytes of %llu",
		    (unsigned long long)off, (unsigned long long)total);
	fprintf(stderr, "xfer: sending from offset %llu\n",
	    (unsigned long long)off);

	sent = off;
	last_progress = now_ms();
	while (sent < total) {
		now = now_ms();
		if (now > deadline)
			break;
		len = total - sent < CHUNK ? total - sent : CHUNK;
		/* a token bucket: RATE a second, bursts of a second */
		if (rate > 0) {
			b->tokens += (int64_t)rate * (now - b->last) / 1000;
			if (b->tokens > (int64_t)rate)
				b->tokens = rate;
			b->last = now;
			if (b->tokens < (int64_t)len) {
				usleep(2000);
				continue;
			}
		}
		stream(sent, buf, len);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 200) != 1) {
			if (now_ms() - last_progress > STALL_MS) {
				fprintf(stderr, "xfer: stalled at %llu\n",
				    (unsigned long long)sent);
				break;
			}
			continue;
		}
		if ((n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)) ==
		    -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "xfer: connection died at %llu: %s\n",
			    (unsigned long long)sent, strerror(errno));
			break;
		}
		sent += n;
		b->tokens -= n;
		last_progress = now_ms();
	}
	if (sent == total) {
		/* wait for the receiver to close: it has it all */
		shutdown(fd, SHUT_WR);
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (now_ms() < deadline && poll(&pfd, 1, STALL_MS) == 1 &&
		    read(fd, buf, sizeof(buf)) > 0)
			;
		*done = 1;
	}
	close(fd);
	return (sent);
}

static int
mode_send(int argc, char **argv)
{
	struct addrinfo	*res;
	struct bucket	 b;
	uint64_t	 total, rate = 0, tries = 20, limit = 600;
	uint64_t	 reached = 0, t;
	int64_t		 start, deadline;
	int		 ch, done = 0;

	while ((ch = getopt(argc, argv, "c:r:s:t:")) != -1) {
		switch (ch) {
		case 'c':
			tries = number(optarg, "-c");
			break;
		case 'r':
			rate = number(optarg, "-r");
			break;
		case 's':
			seed = number(optarg, "-s");
			break;
		case 't':
			limit = number(optarg, "-t");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		usage();
	total = number(argv[2], "bytes");
	resolve(argv[0], argv[1], 0, &res);
	start = now_ms();
	deadline = start + (int64_t)limit * 1000;
	b.tokens = 0;
	b.last = start;
	for (t = 0; t < tries && !done && now_ms() < deadline; t++) {
		if (t > 0)
			sleep(1);
		reached = send_once(res, total, rate, &b, deadline,
		    &done);
	}
	freeaddrinfo(res);
	fprintf(stderr, "xfer: %s %llu of %llu bytes in %llu connections, "
	    "%lld ms\n", done ? "sent" : "gave up after",
	    (unsigned long long)reached, (unsigned long long)total,
	    (unsigned long long)t, (long long)(now_ms() - start));
	return (done ? 0 : 1);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "gen") == 0)
		return (mode_gen(argc - 1, argv + 1));
	if (strcmp(argv[1], "recv") == 0)
		return (mode_recv(argc - 1, argv + 1));
	if (strcmp(argv[1], "send") == 0)
		return (mode_send(argc - 1, argv + 1));
	usage();
}
