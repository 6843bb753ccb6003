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
 * The attacker of the flood test (flood_test.sh): unauthenticated
 * traffic at the UDP and TCP port of an uplink, as anyone on the
 * Internet can send it.
 *
 *	flood udp [-c pcap] [-d sec] [-m max] [-r rate] [-s seed] host port
 *		datagrams of every kind below, in a random order, at
 *		RATE a second for SEC seconds or MAX datagrams; with a
 *		capture of real datagrams to that port (tcpdump -w), the
 *		headers look like the real ones and the captured datagrams
 *		are replayed.  At the end, how many of each kind were sent
 *		and, for each drop reason of doc/wire.md section 7, how many
 *		the receiver must count.
 *	flood tcp [-n conns] [-s seed] host port
 *		CONNS connections, each sending one kind of garbage where a
 *		TLS ClientHello should be, then closing.
 *	flood hold [-d sec] [-i usec] [-n conns] host port
 *		CONNS connections opened, one every USEC microseconds (so
 *		that the listener's backlog does not overflow and the kernel
 *		does not answer for the daemon with SYN cookies), and held
 *		for SEC seconds without a byte sent; prints "connected N"
 *		once they are open, then how many the other side closed
 *		meanwhile.
 *
 * Every payload carries MARKER, which must never appear on a tap.
 * The same seed gives the same datagrams.  Nothing here is bounded by
 * the other side: each mode ends after its count or its time.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* doc/wire.md, sections 5.1 and 7, as a peer reads them */
#define HDRLEN		16
#define TAGLEN		16
#define MINLEN		(HDRLEN + TAGLEN)
#define VERSION		1
#define TYPE_MIN	1
#define TYPE_MAX	6	/* doc/wire.md 5.1: 6 is the probe with echo */

/* an IPv4 datagram that fits a 1500-byte path without IP fragments */
#define DGRAM_MAX	1472
#define CAPTURE_MAX	1024
#define CONNS_MAX	4096

#define MARKER		"\376MARCONI-FLOOD\376"
#define MARKERLEN	(sizeof(MARKER) - 1)

enum reason {
	R_SHORT, R_BADTYPE, R_NOSESSION, R_STALEKEY, R_REPLAY, R_AUTH,
	R_MAX
};

static const char *reasons[R_MAX] = {
	"short", "badtype", "nosession", "stalekey", "replay", "auth"
};

enum kind {
	K_RANDOM, K_TRUNCATED, K_BADTYPE, K_NOSESSION, K_STALEKEY,
	K_BADTAG, K_REPLAY, K_MAX
};

static const char *kinds[K_MAX] = {
	"random", "truncated", "badtype", "nosession", "stalekey",
	"badtag", "replay"
};

struct captured {
	uint8_t		 buf[DGRAM_MAX];
	size_t		 len;
};

static struct captured	*caps;
static size_t		 ncaps;
static int		 have_session;	/* a captured header to imitate */
static uint32_t		 cap_rxid;	/* network byte order */
static uint8_t		 cap_keyid;
static uint64_t		 cap_top;	/* highest counter captured */

static uint64_t		 rng_state;

static void		 usage(void) __attribute__((__noreturn__));
static uint64_t		 rng(void);
static uint32_t		 rng_below(uint32_t);
static void		 rng_fill(uint8_t *, size_t);
static void		 put_marker(uint8_t *, size_t, size_t);
static int64_t		 now_us(void);
static int		 resolve(const char *, const char *, int,
			    struct sockaddr_storage *, socklen_t *);
static void		 read_pcap(const char *);
static enum reason	 classify(const uint8_t *, size_t);
static size_t		 make_dgram(enum kind, uint8_t *, uint64_t);
static int		 mode_udp(int, char **);
static int		 mode_tcp(int, char **);
static int		 mode_hold(int, char **);
static int		 connect_nb(struct sockaddr_storage *, socklen_t);
static void		 more_files(void);

static void
usage(void)
{
	fprintf(stderr, "usage: flood udp [-c pcap] [-d sec] [-m max] "
	    "[-r rate] [-s seed] host port\n"
	    "       flood tcp [-n conns] [-s seed] host port\n"
	    "       flood hold [-d sec] [-i usec] [-n conns] host port\n");
	exit(2);
}

/* splitmix64: small, and the same sequence for the same seed */
static uint64_t
rng(void)
{
	uint64_t	 z;

	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static uint32_t
rng_below(uint32_t n)
{
	return (n == 0 ? 0 : (uint32_t)(rng() % n));
}

static void
rng_fill(uint8_t *p, size_t len)
{
	uint64_t	 r;
	size_t		 i;

	for (i = 0; i < len; i += 8) {
		r = rng();
		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

/* MARKER every 64 bytes from FROM, where it fits */
static void
put_marker(uint8_t *p, size_t len, size_t from)
{
	size_t	 o;

	for (o = from; o + MARKERLEN <= len; o += 64)
		memcpy(p + o, MARKER, MARKERLEN);
}

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int
resolve(const char *host, const char *port, int type,
    struct sockaddr_storage *ss, socklen_t *slen)
{
	struct addrinfo	 hints, *res;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0)
		errx(2, "%s port %s: %s", host, port, gai_strerror(error));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*slen = res->ai_addrlen;
	freeaddrinfo(res);
	return (ss->ss_family);
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

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint32_t
get32(const uint8_t *p, int swap)
{
	uint32_t	 v;

	memcpy(&v, p, sizeof(v));
	return (swap ? __builtin_bswap32(v) : v);
}

/*
 * The UDP payloads of a tcpdump capture (Ethernet or Linux cooked
 * headers, IPv4 or IPv6 without extension headers); the last one names
 * the session whose headers the forgeries imitate.
 */
static void
read_pcap(const char *path)
{
	FILE		*f;
	uint8_t		 fh[24], rh[16], pkt[65536];
	const uint8_t	*ip, *udp;
	uint32_t	 magic, caplen, link;
	uint64_t	 ctr;
	size_t		 l2, iplen, len;
	int		 swap;

	if ((f = fopen(path, "rb")) == NULL)
		err(2, "%s", path);
	if (fread(fh, 1, sizeof(fh), f) != sizeof(fh))
		errx(2, "%s: not a capture", path);
	memcpy(&magic, fh, sizeof(magic));
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else
		errx(2, "%s: not a pcap file", path);
	link = get32(fh + 20, swap);
	if (link == 1)
		l2 = 14;		/* Ethernet */
	else if (link == 113)
		l2 = 16;		/* Linux cooked */
	else
		errx(2, "%s: link type %u", path, link);
	if ((caps = calloc(CAPTURE_MAX, sizeof(*caps))) == NULL)
		err(2, NULL);

	while (ncaps < CAPTURE_MAX &&
	    fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		caplen = get32(rh + 8, swap);
		if (caplen > sizeof(pkt) ||
		    fread(pkt, 1, caplen, f) != caplen)
			break;
		if (caplen < l2 + 20)
			continue;
		ip = pkt + l2;
		if ((ip[0] >> 4) == 4 && ip[9] == IPPROTO_UDP) {
			iplen = (ip[0] & 0x0f) * 4;
		} else if ((ip[0] >> 4) == 6 && caplen >= l2 + 48 &&
		    ip[6] == IPPROTO_UDP) {
			iplen = 40;
		} else
			continue;
		if (caplen < l2 + iplen + 8)
			continue;
		udp = ip + iplen;
		len = ((size_t)udp[4] << 8 | udp[5]);
		if (len < 8 || l2 + iplen + len > caplen ||
		    len - 8 > DGRAM_MAX)
			continue;
		len -= 8;
		memcpy(caps[ncaps].buf, udp + 8, len);
		caps[ncaps].len = len;
		if (len >= MINLEN && udp[8] == VERSION) {
			have_session = 1;
			memcpy(&cap_rxid, udp + 8 + 4, sizeof(cap_rxid));
			cap_keyid = udp[8 + 2];
			ctr = get_be64(udp + 8 + 8);
			if (ctr > cap_top)
				cap_top = ctr;
		}
		ncaps++;
	}
	fclose(f);
	if (ncaps == 0)
		errx(2, "%s: no UDP datagram", path);
}

/*
 * What the receiver must count this datagram as, by the checks of
 * doc/wire.md section 7 in their order.  The counter of the captured
 * session is taken as seen when it is not above the highest captured:
 * the capture was made on the way to the receiver.
 */
static enum reason
classify(const uint8_t *p, size_t len)
{
	uint32_t	 rxid;

	if (len < MINLEN)
		return (R_SHORT);
	if (p[0] != VERSION || p[3] != 0 || p[1] < TYPE_MIN ||
	    p[1] > TYPE_MAX)
		return (R_BADTYPE);
	memcpy(&rxid, p + 4, sizeof(rxid));
	if (!have_session || rxid != cap_rxid)
		return (R_NOSESSION);
	if (p[2] != cap_keyid)
		return (R_STALEKEY);
	if (get_be64(p + 8) <= cap_top)
		return (R_REPLAY);
	return (R_AUTH);
}

/* A header that passes the first checks, in BUF, LEN bytes long. */
static void
good_header(uint8_t *buf)
{
	buf[0] = VERSION;
	buf[1] = TYPE_MIN + rng_below(TYPE_MAX - TYPE_MIN + 1);
	buf[2] = cap_keyid;
	buf[3] = 0;
	if (have_session)
		memcpy(buf + 4, &cap_rxid, sizeof(cap_rxid));
	rng_fill(buf + 8, 8);
}

/* One datagram of kind K into BUF; its length. */
static size_t
make_dgram(enum kind k, uint8_t *buf, uint64_t n)
{
	const struct captured	*c;
	uint32_t		 rxid;
	size_t			 len;

	switch (k) {
	case K_RANDOM:
		len = 1 + rng_below(DGRAM_MAX);
		rng_fill(buf, len);
		put_marker(buf, len, HDRLEN);
		break;
	case K_TRUNCATED:
		/* a header cut short, or a header and a bit of tag */
		len = rng_below(MINLEN);
		if (ncaps > 0) {
			c = &caps[rng_below(ncaps)];
			memcpy(buf, c->buf, len < c->len ? len : c->len);
		} else {
			rng_fill(buf, len);
			if (len > 0)
				buf[0] = VERSION;
		}
		break;
	case K_BADTYPE:
		len = MINLEN + rng_below(DGRAM_MAX - MINLEN + 1);
		rng_fill(buf, len);
		good_header(buf);
		switch (rng_below(3)) {
		case 0:
			buf[0] = VERSION + 1 + rng_below(255);
			break;
		case 1:
			buf[1] = rng_below(2) ? 0 :
			    TYPE_MAX + 1 + rng_below(255 - TYPE_MAX);
			break;
		default:
			buf[3] = 1 + rng_below(255);
			break;
		}
		put_marker(buf, len, HDRLEN);
		break;
	case K_NOSESSION:
		len = MINLEN + rng_below(DGRAM_MAX - MINLEN + 1);
		rng_fill(buf, len);
		good_header(buf);
		do {
			rxid = (uint32_t)rng();
		} while (have_session && rxid == cap_rxid);
		memcpy(buf + 4, &rxid, sizeof(rxid));
		put_marker(buf, len, HDRLEN);
		break;
	case K_STALEKEY:
		len = MINLEN + rng_below(DGRAM_MAX - MINLEN + 1);
		rng_fill(buf, len);
		good_header(buf);
		buf[2] = cap_keyid + 1 + rng_below(255);
		put_marker(buf, len, HDRLEN);
		break;
	case K_BADTAG:
		/*
		 * The real session's receiver id and key, a counter far
		 * ahead of anything sent: only the tag can reject it.
		 */
		len = MINLEN + rng_below(DGRAM_MAX - MINLEN + 1);
		rng_fill(buf, len);
		good_header(buf);
		put_be64(buf + 8, cap_top + (1ULL << 40) + n);
		put_marker(buf, len, HDRLEN);
		break;
	case K_REPLAY:
	default:
		c = &caps[rng_below(ncaps)];
		memcpy(buf, c->buf, c->len);
		len = c->len;
		break;
	}
	return (len);
}

static int
mode_udp(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	uint8_t			 buf[DGRAM_MAX];
	uint64_t		 sent = 0, nkind[K_MAX], nreason[R_MAX];
	uint64_t		 max = 0, lost = 0;
	int64_t			 start, now, dur = 10, rate = 1000;
	const char		*pcap = NULL, *errstr;
	enum kind		 k;
	size_t			 len;
	int			 ch, fd, i, nk;

	while ((ch = getopt(argc, argv, "c:d:m:r:s:")) != -1) {
		switch (ch) {
		case 'c':
			pcap = optarg;
			break;
		case 'd':
			dur = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(2, "-d %s: %s", optarg, errstr);
			break;
		case 'm':
			max = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(2, "-m %s: %s", optarg, errstr);
			break;
		case 'r':
			rate = strtonum(optarg, 1, 10000000, &errstr);
			if (errstr != NULL)
				errx(2, "-r %s: %s", optarg, errstr);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	if (pcap != NULL)
		read_pcap(pcap);
	resolve(argv[0], argv[1], SOCK_DGRAM, &ss, &slen);
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) == -1)
		err(2, "socket");
	if (connect(fd, (struct sockaddr *)&ss, slen) == -1)
		err(2, "connect");

	/* without a capture there is no session to imitate nor replay */
	nk = ncaps > 0 ? K_MAX : K_BADTAG;
	memset(nkind, 0, sizeof(nkind));
	memset(nreason, 0, sizeof(nreason));
	start = now_us();
	for (;;) {
		now = now_us();
		if (now - start >= dur * 1000000 || (max && sent >= max))
			break;
		/* paced by the clock: at most RATE a second on average */
		if ((int64_t)sent >= rate * (now - start) / 1000000) {
			usleep(500);
			continue;
		}
		k = rng_below(nk);
		len = make_dgram(k, buf, sent);
		if (send(fd, buf, len, 0) == -1) {
			/* a full queue or an ICMP error from before */
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED && errno != EPERM)
				err(2, "send");
			lost++;
			continue;
		}
		nkind[k]++;
		nreason[classify(buf, len)]++;
		sent++;
	}
	close(fd);

	for (i = 0; i < K_MAX; i++)
		printf("kind %s %llu\n", kinds[i], (unsigned long long)nkind[i]);
	for (i = 0; i < R_MAX; i++)
		printf("expect %s %llu\n", reasons[i],
		    (unsigned long long)nreason[i]);
	printf("sent %llu\n", (unsigned long long)sent);
	printf("unsent %llu\n", (unsigned long long)lost);
	printf("captured %zu\n", ncaps);
	return (0);
}

/* A non-blocking socket connecting to SS: the connect is under way. */
static int
connect_nb(struct sockaddr_storage *ss, socklen_t slen)
{
	int	 fd;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)ss, slen) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Waits at most MS for FD to be connected (1), refused (0) or not (-1). */
static int
wait_connected(int fd, int ms)
{
	struct pollfd	 pfd;
	socklen_t	 len;
	int		 error;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, ms) != 1)
		return (-1);
	len = sizeof(error);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1 ||
	    error != 0)
		return (0);
	return (1);
}

/* Garbage where a ClientHello should be, one kind per connection. */
static size_t
make_garbage(int k, uint8_t *buf, size_t size)
{
	static const uint8_t	 hello[] = {
		0x16, 0x03, 0x01, 0x02, 0x00,	/* handshake, 512 bytes */
		0x01, 0x00, 0x01, 0xfc,		/* ClientHello, 508 bytes */
		0x03, 0x03			/* TLS 1.2 in the hello */
	};
	static const uint8_t	 sslv2[] = {
		0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00,
		0x10
	};
	const char		*http = "GET / HTTP/1.0\r\nHost: " MARKER
	    "\r\n\r\n";
	size_t			 len;

	switch (k) {
	case 0:
		/* random bytes */
		len = 1 + rng_below(size);
		rng_fill(buf, len);
		break;
	case 1:
		/* a ClientHello that stops half-way */
		len = sizeof(hello) + rng_below(200);
		rng_fill(buf, len);
		memcpy(buf, hello, sizeof(hello));
		break;
	case 2:
		/* a handshake record longer than TLS allows */
		len = 5 + rng_below(size - 5);
		rng_fill(buf, len);
		buf[0] = 0x16;
		buf[1] = 0x03;
		buf[2] = 0x03;
		buf[3] = 0xff;
		buf[4] = 0xff;
		break;
	case 3:
		/* an SSLv2-style hello */
		len = sizeof(sslv2) + 48;
		rng_fill(buf, len);
		memcpy(buf, sslv2, sizeof(sslv2));
		break;
	case 4:
		/* an alert, then application data before any handshake */
		len = 64;
		rng_fill(buf, len);
		memcpy(buf, "\x15\x03\x03\x00\x02\x02\x28"
		    "\x17\x03\x03\x00\x20", 12);
		break;
	default:
		/* another protocol */
		len = strlen(http);
		memcpy(buf, http, len);
		return (len);
	}
	put_marker(buf, len, 16);
	return (len);
}

static int
mode_tcp(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	struct linger		 lg = { 1, 0 };
	struct pollfd		 pfd;
	uint8_t			 buf[4096];
	uint64_t		 nkind[7], done = 0, failed = 0, closed = 0;
	const char		*errstr;
	size_t			 len;
	ssize_t			 n;
	int			 ch, fd, i, k, conns = 100;

	while ((ch = getopt(argc, argv, "n:s:")) != -1) {
		switch (ch) {
		case 'n':
			conns = strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	resolve(argv[0], argv[1], SOCK_STREAM, &ss, &slen);

	memset(nkind, 0, sizeof(nkind));
	for (i = 0; i < conns; i++) {
		if ((fd = connect_nb(&ss, slen)) == -1 ||
		    wait_connected(fd, 2000) != 1) {
			if (fd != -1)
				close(fd);
			failed++;
			continue;
		}
		k = rng_below(7);
		if (k == 6) {
			/* connect, then a reset at once */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			nkind[k]++;
			done++;
			continue;
		}
		len = make_garbage(k, buf, sizeof(buf));
		(void)send(fd, buf, len, MSG_NOSIGNAL);
		/* an answer (an alert) or the close, briefly */
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 20) == 1 &&
		    ((n = recv(fd, buf, sizeof(buf), 0)) == 0 ||
		    (n == -1 && errno == ECONNRESET)))
			closed++;
		close(fd);
		nkind[k]++;
		done++;
	}
	printf("tcp random %llu\n", (unsigned long long)nkind[0]);
	printf("tcp cut-hello %llu\n", (unsigned long long)nkind[1]);
	printf("tcp huge-record %llu\n", (unsigned long long)nkind[2]);
	printf("tcp sslv2 %llu\n", (unsigned long long)nkind[3]);
	printf("tcp alert-data %llu\n", (unsigned long long)nkind[4]);
	printf("tcp http %llu\n", (unsigned long long)nkind[5]);
	printf("tcp reset %llu\n", (unsigned long long)nkind[6]);
	printf("connections %llu\n", (unsigned long long)done);
	printf("failed %llu\n", (unsigned long long)failed);
	printf("closed-by-peer %llu\n", (unsigned long long)closed);
	return (0);
}

static void
more_files(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
mode_hold(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	struct pollfd		*pfd;
	const char		*errstr;
	int64_t			 start, left;
	uint8_t			 buf[512];
	ssize_t			 n;
	int			 ch, i, r, conns = 500, dur = 10, gap = 2000;
	int			 open = 0, closed = 0, pending;

	while ((ch = getopt(argc, argv, "d:i:n:")) != -1) {
		switch (ch) {
		case 'i':
			gap = strtonum(optarg, 0, 1000000, &errstr);
			if (errstr != NULL)
				errx(2, "-i %s: %s", optarg, errstr);
			break;
		case 'd':
			dur = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				errx(2, "-d %s: %s", optarg, errstr);
			break;
		case 'n':
			conns = strtonum(optarg, 1, CONNS_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	resolve(argv[0], argv[1], SOCK_STREAM, &ss, &slen);
	more_files();
	if ((pfd = calloc(conns, sizeof(*pfd))) == NULL)
		err(2, NULL);

	for (i = 0; i < conns; i++) {
		pfd[i].fd = connect_nb(&ss, slen);
		pfd[i].events = POLLOUT;
		if (gap > 0)
			usleep(gap);
	}
	start = now_us();
	for (;;) {
		pending = 0;
		for (i = 0; i < conns; i++)
			if (pfd[i].fd != -1 && pfd[i].events == POLLOUT)
				pending++;
		left = 10000 - (now_us() - start) / 1000;
		if (pending == 0 || left <= 0)
			break;
		if (poll(pfd, conns, (int)left) <= 0)
			continue;
		for (i = 0; i < conns; i++) {
			if (pfd[i].fd == -1 || pfd[i].events != POLLOUT ||
			    pfd[i].revents == 0)
				continue;
			r = wait_connected(pfd[i].fd, 0);
			if (r == 1) {
				pfd[i].events = POLLIN;
				open++;
			} else if (r == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	/* those still connecting are given up */
	for (i = 0; i < conns; i++)
		if (pfd[i].fd != -1 && pfd[i].events == POLLOUT) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	printf("connected %d\n", open);
	fflush(stdout);

	/* held without a byte; note those the other side gives up */
	start = now_us();
	while ((left = (int64_t)dur * 1000 - (now_us() - start) / 1000) > 0) {
		if (poll(pfd, conns, (int)left) <= 0)
			continue;
		for (i = 0; i < conns; i++) {
			if (pfd[i].fd == -1 || pfd[i].events != POLLIN ||
			    pfd[i].revents == 0)
				continue;
			n = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (n == -1 && errno == EAGAIN)
				continue;
			if (n > 0)
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			closed++;
		}
	}
	for (i = 0; i < conns; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	printf("closed-by-peer %d\n", closed);
	printf("closed %d\n", open - closed);
	free(pfd);
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "udp") == 0)
		return (mode_udp(argc - 1, argv + 1));
	if (strcmp(argv[1], "tcp") == 0)
		return (mode_tcp(argc - 1, argv + 1));
	if (strcmp(argv[1], "hold") == 0)
		return (mode_hold(argc - 1, argv + 1));
	usage();
}
