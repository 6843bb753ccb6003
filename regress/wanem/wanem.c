/*
 * wanem: a WAN emulator for the tests and the benchmark.
 *
 * It takes the packets an iptables NFQUEUE rule hands it (one queue per
 * direction of a link), holds each for a delay with jitter, drops a
 * share of them (at random, or in bursts with a Gilbert-Elliott model)
 * and gives the others back to the kernel, in order unless told to
 * reorder.  Rates and buffer depths are tc tbf's business, not ours.
 * Only metadata crosses to user space: a verdict needs the packet id,
 * nothing of the payload.
 *
 * It fails open twice over: the queues are bound with
 * NFQA_CFG_F_FAIL_OPEN, so that a full queue lets packets pass, and the
 * rules say --queue-bypass, so that a dead wanem lets everything pass.
 * On SIGTERM or SIGINT it lets go of every packet it holds before it
 * exits, so that ending it loses nothing.
 *
 * See README.md beside it for the flags and the profiles built on it.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>	/* NF_ACCEPT, NF_DROP */

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#define WANEM_MAXQ	8
/* packets read from the socket before the due ones are let go */
#define WANEM_BURST	256
/* messages a recvmmsg() takes, and their room: metadata only */
#define WANEM_VLEN	64
#define WANEM_MSGLEN	2048
/*
 * A packet due this close to now goes with the batch being sent rather
 * than after one more wake-up: less than a veth hop's own noise.
 */
#define WANEM_EARLY_NS	20000
#define NSEC		1000000000LL
/* the exit lets everything pass until quiet for this long, ns */
#define WANEM_QUIET_NS	100000000LL
#define WANEM_DRAIN_NS	1000000000LL

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS	5
#endif

struct held {
	int64_t		 due;		/* CLOCK_MONOTONIC, ns */
	uint64_t	 seq;		/* arrival order, breaks ties */
	uint32_t	 id;		/* the kernel's packet id */
};

struct wq {
	uint16_t	 num;
	struct nfq_q_handle *qh;

	/* what it was asked for */
	int64_t		 delay;		/* ns */
	int64_t		 jitter;	/* ns */
	int		 normal;	/* jitter is a normal sigma */
	int		 reorder;
	double		 loss;		/* 0..1 */
	double		 burst;		/* mean burst length, >= 1 */

	/* Gilbert-Elliott: good never loses, bad always does */
	double		 ge_p;		/* good -> bad */
	double		 ge_r;		/* bad -> good */
	int		 ge_bad;

	uint64_t	 rng[4];	/* xoshiro256** state */

	/* held packets: a binary min-heap on (due, seq) */
	struct held	*heap;
	size_t		 nheld;
	size_t		 cap;
	int64_t		 last;		/* release time of the last one */
	uint64_t	 seq;

	/* counters */
	uint64_t	 received;
	uint64_t	 dropped;
	uint64_t	 accepted;
	uint64_t	 overflow;
	uint64_t	 late;		/* let go over 1 ms after due */
	size_t		 peak;
};

static struct wq	 queues[WANEM_MAXQ];
static int		 nqueues;
static int64_t		 now_ns;
static int		 verbose;
static volatile sig_atomic_t quit;
static volatile sig_atomic_t report;

static void		 usage(void) __attribute__((__noreturn__));
static int64_t		 clock_ns(void);
static uint64_t		 rng_next(uint64_t *);
static double		 rng_unit(uint64_t *);
static void		 rng_seed(uint64_t *, uint64_t);
static int64_t		 parse_ms(const char *, const char *);
static double		 parse_num(const char *, const char *, double, double);
static void		 parse_queue(struct wq *, char *);
static int		 lose(struct wq *);
static int64_t		 hold_for(struct wq *);
static void		 heap_push(struct wq *, struct held *);
static void		 heap_pop(struct wq *);
static int		 held_before(const struct held *, const struct held *);
static void		 release(struct wq *, int64_t);
static int		 on_packet(struct nfq_q_handle *, struct nfgenmsg *,
			    struct nfq_data *, void *);
static void		 print_stats(void);
static void		 drain(struct nfq_handle *, int);
static int		 read_batch(struct nfq_handle *, int);
static void		 on_signal(int);

static void
usage(void)
{
	extern char *__progname;

	fprintf(stderr, "usage: %s [-rv] [-c cpu] [-m maxlen] [-p pidfile] "
	    "[-s seed] queue=N[,delay=ms][,jitter=ms]\n"
	    "\t[,dist=uniform|normal][,loss=percent][,burst=n]"
	    "[,reorder] ...\n", __progname);
	exit(1);
}

static int64_t
clock_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "%s: clock_gettime", __func__);
	return ((int64_t)ts.tv_sec * NSEC + ts.tv_nsec);
}

/*
 * xoshiro256** (Blackman and Vigna): the same draws for the same seed
 * on every libc, which random(3) does not promise.
 */
static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t r, t;

	r = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (r);
}

/* uniform in [0, 1) with 53 bits */
static double
rng_unit(uint64_t *s)
{
	return ((rng_next(s) >> 11) * 0x1.0p-53);
}

/* splitmix64 spreads one seed over the four words of the state */
static void
rng_seed(uint64_t *s, uint64_t seed)
{
	uint64_t z;
	int i;

	for (i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
}

static double
parse_num(const char *key, const char *val, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(val, &end);
	if (errno != 0 || end == val || *end != '\0' || !isfinite(d) ||
	    d < min || d > max)
		errx(1, "%s: %s: bad value \"%s\" (%g to %g)", __func__, key,
		    val, min, max);
	return (d);
}

/* milliseconds, fractions allowed, up to ten seconds */
static int64_t
parse_ms(const char *key, const char *val)
{
	return ((int64_t)llround(parse_num(key, val, 0, 10000) * 1e6));
}

static void
parse_queue(struct wq *q, char *spec)
{
	char *kv, *val;
	int seen = 0;

	q->burst = 1;
	while ((kv = strsep(&spec, ",")) != NULL) {
		if (*kv == '\0')
			continue;
		if (strcmp(kv, "reorder") == 0) {
			q->reorder = 1;
			continue;
		}
		if ((val = strchr(kv, '=')) == NULL)
			errx(1, "%s: \"%s\" is not key=value", __func__, kv);
		*val++ = '\0';
		if (strcmp(kv, "queue") == 0) {
			q->num = (uint16_t)parse_num(kv, val, 0, 65535);
			seen = 1;
		} else if (strcmp(kv, "delay") == 0)
			q->delay = parse_ms(kv, val);
		else if (strcmp(kv, "jitter") == 0)
			q->jitter = parse_ms(kv, val);
		else if (strcmp(kv, "loss") == 0)
			q->loss = parse_num(kv, val, 0, 100) / 100;
		else if (strcmp(kv, "burst") == 0)
			q->burst = parse_num(kv, val, 1, 1000);
		else if (strcmp(kv, "dist") == 0) {
			if (strcmp(val, "uniform") == 0)
				q->normal = 0;
			else if (strcmp(val, "normal") == 0)
				q->normal = 1;
			else
				errx(1, "%s: dist: uniform or normal, not "
				    "\"%s\"", __func__, val);
		} else
			errx(1, "%s: unknown key \"%s\"", __func__, kv);
	}
	if (!seen)
		errx(1, "%s: a queue= is needed", __func__);

	/*
	 * The simple Gilbert model: bursts end with probability r on each
	 * packet, so their mean length is 1/r; the bad state's share of
	 * packets, p / (p + r), is the loss asked for.
	 */
	if (q->burst > 1 && q->loss > 0 && q->loss < 1) {
		q->ge_r = 1 / q->burst;
		q->ge_p = q->loss * q->ge_r / (1 - q->loss);
		if (q->ge_p > 1)
			errx(1, "%s: queue %u: loss %g%% cannot come in bursts "
			    "of %g", __func__, q->num, q->loss * 100, q->burst);
	}
}

static int
lose(struct wq *q)
{
	if (q->loss <= 0)
		return (0);
	if (q->ge_r == 0)
		return (rng_unit(q->rng) < q->loss);
	if (q->ge_bad) {
		if (rng_unit(q->rng) < q->ge_r)
			q->ge_bad = 0;
	} else if (rng_unit(q->rng) < q->ge_p)
		q->ge_bad = 1;
	return (q->ge_bad);
}

/* the delay of one packet, never below zero */
static int64_t
hold_for(struct wq *q)
{
	double u1, u2, z;
	int64_t d;

	if (q->jitter == 0)
		return (q->delay);
	if (q->normal) {
		/* Box-Muller; 1 - u keeps the logarithm finite */
		u1 = 1 - rng_unit(q->rng);
		u2 = rng_unit(q->rng);
		z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		d = q->delay + (int64_t)(z * q->jitter);
	} else
		d = q->delay + (int64_t)((2 * rng_unit(q->rng) - 1) *
		    q->jitter);
	return (d < 0 ? 0 : d);
}

static int
held_before(const struct held *a, const struct held *b)
{
	if (a->due != b->due)
		return (a->due < b->due);
	return (a->seq < b->seq);
}

static void
heap_push(struct wq *q, struct held *h)
{
	struct held tmp;
	size_t i, up;

	i = q->nheld++;
	q->heap[i] = *h;
	while (i > 0) {
		up = (i - 1) / 2;
		if (!held_before(&q->heap[i], &q->heap[up]))
			break;
		tmp = q->heap[up];
		q->heap[up] = q->heap[i];
		q->heap[i] = tmp;
		i = up;
	}
	if (q->nheld > q->peak)
		q->peak = q->nheld;
}

static void
heap_pop(struct wq *q)
{
	struct held tmp;
	size_t i, l, m;

	q->heap[0] = q->heap[--q->nheld];
	i = 0;
	for (;;) {
		l = 2 * i + 1;
		if (l >= q->nheld)
			break;
		m = l;
		if (l + 1 < q->nheld && held_before(&q->heap[l + 1],
		    &q->heap[l]))
			m = l + 1;
		if (!held_before(&q->heap[m], &q->heap[i]))
			break;
		tmp = q->heap[m];
		q->heap[m] = q->heap[i];
		q->heap[i] = tmp;
		i = m;
	}
}

/*
 * Lets go of every packet due by UNTIL.  In order, the packets leave in
 * the order of their ids, and the dropped ones have had their verdict
 * already, so one batch verdict up to the last id covers them all.
 */
static void
release(struct wq *q, int64_t until)
{
	uint32_t last = 0;
	int n = 0;

	while (q->nheld > 0 && q->heap[0].due <= until) {
		if (now_ns - q->heap[0].due > 1000000)
			q->late++;
		last = q->heap[0].id;
		if (q->reorder &&
		    nfq_set_verdict(q->qh, last, NF_ACCEPT, 0, NULL) == -1)
			warn("%s: queue %u: verdict", __func__, q->num);
		heap_pop(q);
		q->accepted++;
		n++;
	}
	if (n > 0 && !q->reorder &&
	    nfq_set_verdict_batch(q->qh, last, NF_ACCEPT) == -1)
		warn("%s: queue %u: batch verdict", __func__, q->num);
}

static int
on_packet(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg,
    struct nfq_data *nfa, void *arg)
{
	struct wq *q = arg;
	struct nfqnl_msg_packet_hdr *ph;
	struct held h;
	int64_t due;

	if ((ph = nfq_get_msg_packet_hdr(nfa)) == NULL) {
		warnx("%s: queue %u: a packet without a header", __func__,
		    q->num);
		return (0);
	}
	h.id = ntohl(ph->packet_id);
	q->received++;

	if (lose(q)) {
		q->dropped++;
		if (nfq_set_verdict(qh, h.id, NF_DROP, 0, NULL) == -1)
			warn("%s: queue %u: verdict", __func__, q->num);
		return (0);
	}

	if (q->nheld == q->cap) {
		/* fail open, as the kernel does with a full queue */
		q->overflow++;
		q->accepted++;
		if (nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL) == -1)
			warn("%s: queue %u: verdict", __func__, q->num);
		return (0);
	}

	due = now_ns + hold_for(q);
	/* in order: never before the one in front of it */
	if (!q->reorder && due < q->last)
		due = q->last;
	q->last = due;
	h.due = due;
	h.seq = q->seq++;
	heap_push(q, &h);
	return (0);
}

static void
print_stats(void)
{
	struct wq *q;
	int i;

	for (i = 0; i < nqueues; i++) {
		q = &queues[i];
		fprintf(stderr, "wanem: queue %u: received %" PRIu64
		    " dropped %" PRIu64 " accepted %" PRIu64 " overflow %"
		    PRIu64 " late %" PRIu64 " held %zu peak %zu\n", q->num,
		    q->received, q->dropped, q->accepted, q->overflow,
		    q->late, q->nheld, q->peak);
	}
}

/*
 * Up to WANEM_VLEN messages in one system call: at line rate a call per
 * packet would be most of wanem's work.  Returns how many it read.
 */
static int
read_batch(struct nfq_handle *h, int fd)
{
	static char bufs[WANEM_VLEN][WANEM_MSGLEN];
	static struct mmsghdr msgs[WANEM_VLEN];
	static struct iovec iov[WANEM_VLEN];
	int i, n;

	for (i = 0; i < WANEM_VLEN; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, msgs, WANEM_VLEN, MSG_DONTWAIT, NULL)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		if (errno == ENOBUFS) {
			warnx("%s: the socket overflowed; some packets "
			    "passed undelayed", __func__);
			return (0);
		}
		err(1, "%s: recvmmsg", __func__);
	}
	for (i = 0; i < n; i++) {
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			warnx("%s: a message over %d bytes", __func__,
			    WANEM_MSGLEN);
			continue;
		}
		nfq_handle_packet(h, bufs[i], (int)msgs[i].msg_len);
	}
	return (n);
}

/*
 * Nothing held is lost to the exit: what is held goes at once, and so
 * does what comes in for a while after, until the queues have been
 * quiet for WANEM_QUIET_NS (or WANEM_DRAIN_NS at most).  Ending the
 * queues drops what they still hold, so this is also for the answers
 * to what was just let go.  The caller that removes its NFQUEUE rules
 * before it sends TERM leaves nothing to race with.
 */
static void
drain(struct nfq_handle *h, int fd)
{
	struct pollfd pfd;
	struct timespec ts;
	struct wq *q;
	int64_t start, quiet;
	int i;

	for (i = 0; i < nqueues; i++) {
		q = &queues[i];
		q->delay = q->jitter = 0;
		q->loss = 0;
		q->reorder = 1;
		release(q, INT64_MAX);
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	start = quiet = clock_ns();
	for (;;) {
		now_ns = clock_ns();
		if (now_ns - quiet >= WANEM_QUIET_NS ||
		    now_ns - start >= WANEM_DRAIN_NS)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = WANEM_QUIET_NS / 10;
		if (ppoll(&pfd, 1, &ts, NULL) == -1 && errno != EINTR)
			err(1, "%s: ppoll", __func__);
		if ((pfd.revents & POLLIN) == 0)
			continue;
		now_ns = quiet = clock_ns();
		read_batch(h, fd);
		for (i = 0; i < nqueues; i++)
			release(&queues[i], INT64_MAX);
	}
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		quit = 1;
}

int
main(int argc, char *argv[])
{
	struct nfq_handle *h;
	struct sigaction sa;
	struct pollfd pfd;
	cpu_set_t cpus;
	struct sched_param sp;
	struct timespec ts, *tsp;
	sigset_t block, waitmask;
	struct wq *q;
	FILE *fp;
	const char *pidfile = NULL, *errstr;
	uint64_t seed = 1;
	int64_t next;
	uint32_t maxlen = 65536;
	int ch, cpu = -1, fd, i, one = 1, reads, rt = 0;

	while ((ch = getopt(argc, argv, "c:m:p:rs:v")) != -1) {
		switch (ch) {
		case 'c':
			cpu = (int)strtonum(optarg, 0, CPU_SETSIZE - 1,
			    &errstr);
			if (errstr != NULL)
				errx(1, "%s: cpu %s: %s", __func__, optarg,
				    errstr);
			break;
		case 'm':
			maxlen = (uint32_t)strtonum(optarg, 16, 1 << 20,
			    &errstr);
			if (errstr != NULL)
				errx(1, "%s: maxlen %s: %s", __func__, optarg,
				    errstr);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'r':
			rt = 1;
			break;
		case 's':
			seed = (uint64_t)strtonum(optarg, 0, LLONG_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(1, "%s: seed %s: %s", __func__, optarg,
				    errstr);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > WANEM_MAXQ)
		usage();

	/*
	 * A packet given back goes on to the backlog of the CPU that gave
	 * it back: two batches from two CPUs can pass each other there.
	 * On one CPU they leave in the order they were let go.
	 */
	if (cpu != -1) {
		CPU_ZERO(&cpus);
		CPU_SET(cpu, &cpus);
		if (sched_setaffinity(0, sizeof(cpus), &cpus) == -1)
			err(1, "%s: cpu %d", __func__, cpu);
	}

	/*
	 * A wake-up that waits for a busy CPU is jitter the profile did not
	 * ask for.  The lowest real-time priority is enough to come first;
	 * wanem sleeps whenever nothing is due, and the kernel's real-time
	 * throttling leaves the others their share even at line rate.
	 * Without it, at least no timer slack.
	 */
	if (rt) {
		memset(&sp, 0, sizeof(sp));
		sp.sched_priority = 1;
		if (sched_setscheduler(0, SCHED_FIFO, &sp) == -1)
			err(1, "%s: SCHED_FIFO", __func__);
	}
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) == -1)
		warn("%s: PR_SET_TIMERSLACK", __func__);

	for (i = 0; i < argc; i++) {
		q = &queues[i];
		parse_queue(q, argv[i]);
		/* one stream of draws per queue, the same for one seed */
		rng_seed(q->rng, seed * 65537 + q->num);
		q->cap = maxlen;
		if ((q->heap = calloc(q->cap, sizeof(*q->heap))) == NULL)
			err(1, "%s: calloc", __func__);
	}
	nqueues = argc;

	/*
	 * Signals are blocked but while waiting in ppoll, so that a
	 * SIGTERM is seen between two batches and never in the middle of
	 * one.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) == -1)
		err(1, "%s: sigprocmask", __func__);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGUSR1);

	if ((h = nfq_open()) == NULL)
		err(1, "%s: nfq_open", __func__);
	for (i = 0; i < nqueues; i++) {
		q = &queues[i];
		if ((q->qh = nfq_create_queue(h, q->num, on_packet, q)) ==
		    NULL)
			err(1, "%s: queue %u: nfq_create_queue (is another "
			    "process bound to it?)", __func__, q->num);
		/* a verdict needs the packet id, nothing more */
		if (nfq_set_mode(q->qh, NFQNL_COPY_META, 0) == -1)
			err(1, "%s: queue %u: nfq_set_mode", __func__, q->num);
		/* the kernel's default of 1024 is 40 ms at 300 Mbit/s */
		if (nfq_set_queue_maxlen(q->qh, maxlen) == -1)
			err(1, "%s: queue %u: nfq_set_queue_maxlen", __func__,
			    q->num);
		if (nfq_set_queue_flags(q->qh, NFQA_CFG_F_FAIL_OPEN,
		    NFQA_CFG_F_FAIL_OPEN) == -1)
			err(1, "%s: queue %u: fail-open", __func__, q->num);
	}

	fd = nfq_fd(h);
	/*
	 * Room for a burst at line rate; and a full socket buffer must not
	 * end the loop with ENOBUFS: the kernel fails open on it.
	 */
	nfnl_rcvbufsiz(nfq_nfnlh(h), 16 * 1024 * 1024);
	if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one,
	    sizeof(one)) == -1)
		warn("%s: NETLINK_NO_ENOBUFS", __func__);

	/* the pid file says the queues are bound: the rules may go in */
	if (pidfile != NULL) {
		if ((fp = fopen(pidfile, "w")) == NULL)
			err(1, "%s: %s", __func__, pidfile);
		fprintf(fp, "%ld\n", (long)getpid());
		if (fclose(fp) == EOF)
			err(1, "%s: %s", __func__, pidfile);
	}
	if (verbose)
		fprintf(stderr, "wanem: %d queue(s) bound, seed %" PRIu64
		    "\n", nqueues, seed);

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!quit) {
		now_ns = clock_ns();
		next = INT64_MAX;
		for (i = 0; i < nqueues; i++) {
			q = &queues[i];
			release(q, now_ns + WANEM_EARLY_NS);
			if (q->nheld > 0 && q->heap[0].due < next)
				next = q->heap[0].due;
		}
		if (next == INT64_MAX)
			tsp = NULL;
		else {
			next -= now_ns;
			if (next < 0)
				next = 0;
			ts.tv_sec = next / NSEC;
			ts.tv_nsec = next % NSEC;
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, &waitmask) == -1) {
			if (errno != EINTR)
				err(1, "%s: ppoll", __func__);
		}
		if (report) {
			report = 0;
			print_stats();
		}
		if (quit)
			break;
		if ((pfd.revents & POLLIN) == 0)
			continue;

		/* what is there now, in one go, then the verdicts */
		now_ns = clock_ns();
		for (reads = 0; reads < WANEM_BURST; reads += WANEM_VLEN)
			if (read_batch(h, fd) < WANEM_VLEN)
				break;
	}

	drain(h, fd);
	print_stats();
	for (i = 0; i < nqueues; i++)
		nfq_destroy_queue(queues[i].qh);
	nfq_close(h);
	if (pidfile != NULL)
		unlink(pidfile);
	return (0);
}
