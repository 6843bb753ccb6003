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
 * The data path of an uplink process: udp_input() in marconid/pipe.c,
 * with the outer header checks, the receiver id, the key id, the replay
 * window, the AEAD, address learning, probes and reassembly, for a pipe
 * whose session keys are fixed here.
 *
 * The first byte holds flags: FL_SEAL, FL_PMTU (a path MTU search is
 * on), FL_BATCH (replies wait for one flush, as in udp_read()).  Then
 * up to MAX_DGRAMS records of [length, 2 bytes][record]:
 *
 * - without FL_SEAL a record is a datagram as it comes from the wire,
 *   so that the fuzzer works on the outer header and on forgeries;
 * - with FL_SEAL a record is [type][sel][counter, 2][plaintext] and the
 *   harness seals it as the peer would, so that what lies behind the
 *   AEAD (probes, fragments) is reached too.  sel: SEL_PREV seals with
 *   the previous key; SEL_KEYID puts sel itself as the key id,
 *   SEL_RXID a wrong receiver id, SEL_VERSION sel as the version;
 *   SEL_MOVED sends from another address; SEL_FORGE flips a bit of
 *   the tag.
 *
 * With FUZZ_WRITE_SEEDS=dir in the environment, each sealed input is
 * also written there as the equivalent unsealed one: that is how the
 * corpus got valid datagrams for the first mode.
 */

#include "../marconid/pipe.c"	/* udp_input() and its state are static */

#include <fcntl.h>

#include "fuzz.h"

#define FL_SEAL		0x01
#define FL_PMTU		0x02
#define FL_BATCH	0x04

#define SEL_PREV	0x01
#define SEL_KEYID	0x02
#define SEL_RXID	0x04
#define SEL_VERSION	0x08
#define SEL_MOVED	0x10
#define SEL_FORGE	0x20

#define MAX_DGRAMS	64
#define FUZZ_RXID	0x6d617263	/* what we told the peer to use */
#define KEYID_CUR	7
#define KEYID_PREV	6

static const uint8_t	 key_cur[AEAD_KEYLEN] = "marconid fuzz key, current one!";
static const uint8_t	 key_prev[AEAD_KEYLEN] = "marconid fuzz key, previous one";
static const uint8_t	 key_ours[AEAD_KEYLEN] = "marconid fuzz key, our sending.";

static struct pipe_peer	*fpp;
static struct session	 fsess;		/* only its address is looked at */
static struct aead_key	 peer_cur, peer_prev;	/* the peer's sending keys */
static struct sockaddr_storage	 peer_addr, moved_addr;
static char		*seeds_dir;
static struct imsgbuf	 engine_side;	/* the engine's end of the channel */

int	LLVMFuzzerInitialize(int *, char ***);

static void
frame_hook(uint32_t type, const void *data, size_t len)
{
	const uint8_t		*p = data;
	volatile uint8_t	 sum = 0;
	size_t			 i;

	if (type != IMSG_FRAME)
		return;
	if (len == 0 || len > FRAG_MAXFRAME) {
		fprintf(stderr, "a frame of %zu bytes for the engine\n", len);
		abort();
	}
	for (i = 0; i < len; i++)
		sum += p[i];
	(void)sum;
}

static void
set_addr(struct sockaddr_storage *ss, const char *host, uint16_t port)
{
	uint8_t	 plen;

	if (host_parse(host, ss, &plen) == -1)
		abort();
	sa_set_port(ss, port);
}

static struct pipe_peer *
peer_new(const char *name)
{
	struct pipe_peer	*pp;

	if ((pp = calloc(1, sizeof(*pp))) == NULL ||
	    (pp->reasm = reasm_new()) == NULL)
		abort();
	strlcpy(pp->st.peer, name, sizeof(pp->st.peer));
	strlcpy(pp->st.uplink, uplink, sizeof(pp->st.uplink));
	pp->probe_interval = PROBE_INTERVAL;
	pp->probe_timeout = PROBE_TIMEOUT;
	TAILQ_INSERT_TAIL(&ppeers, pp, entry);
	return (pp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pipe_peer	*other;
	int			 sv[2];

	uplink = "isp1";
	set_addr(&peer_addr, "198.18.11.2", MARCONID_PORT);
	set_addr(&moved_addr, "2001:db8::2", 40000);

	/* a pipe with a session, and one without for the drop counters */
	fpp = peer_new("site-b");
	other = peer_new("site-c");
	set_addr(&other->dest, "198.18.12.2", MARCONID_PORT);

	fpp->sess = &fsess;
	fpp->rxid = FUZZ_RXID;
	fpp->peer_rxid = 0x0b0b0b0b;
	if (aead_init(&fpp->rx, key_cur, KEYID_CUR) == -1 ||
	    aead_init(&fpp->rx_prev, key_prev, KEYID_PREV) == -1 ||
	    aead_init(&fpp->tx, key_ours, KEYID_CUR) == -1 ||
	    aead_init(&peer_cur, key_cur, KEYID_CUR) == -1 ||
	    aead_init(&peer_prev, key_prev, KEYID_PREV) == -1)
		abort();

	/*
	 * Replies are sealed and handed to a socket that cannot send
	 * them anywhere: sendmmsg() to an Internet address on a local
	 * socket fails.
	 */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		abort();
	close(sv[1]);
	udp_fd = sv[0];
	if (sendto(udp_fd, "x", 1, 0, (struct sockaddr *)&peer_addr,
	    sa_len((struct sockaddr *)&peer_addr)) != -1)
		abort();

	/* what the pipe queues for the engine is read back and checked */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		abort();
	imsgev_init(&iev_engine, sv[0], fuzz_null_handler, NULL);
	if (imsgbuf_init(&engine_side, sv[1]) == -1 ||
	    imsgbuf_set_maxsize(&engine_side, MARCONID_IMSGSIZE) == -1)
		abort();
	fuzz_compose_hook = frame_hook;
	seeds_dir = getenv("FUZZ_WRITE_SEEDS");
	return (0);
}

static void
engine_read(void)
{
	struct imsg	 imsg;
	struct ibuf	 ib;
	ssize_t		 n;

	if (imsgbuf_read(&engine_side) == -1)
		abort();
	while ((n = imsg_get(&engine_side, &imsg)) > 0) {
		if (imsg_get_len(&imsg) == 0)
			frame_hook(imsg_get_type(&imsg), NULL, 0);
		else if (imsg_get_ibuf(&imsg, &ib) == 0)
			frame_hook(imsg_get_type(&imsg), ibuf_data(&ib),
			    ibuf_size(&ib));
		imsg_free(&imsg);
	}
	if (n == -1)
		abort();
}

/* Everything queued for the engine: through the socket, then checked. */
static void
engine_drain(void)
{
	int	 i;

	for (i = 0; i < 1024 && imsgbuf_queuelen(&iev_engine.ibuf) > 0;
	    i++) {
		if (imsgbuf_write(&iev_engine.ibuf) == -1)
			abort();
		engine_read();
	}
	if (imsgbuf_queuelen(&iev_engine.ibuf) > 0)
		abort();
	engine_read();
}

/* Back to the pipe as it was set up, so that inputs do not interact. */
static void
reset(uint8_t flags)
{
	struct pipe_state	 st;

	memset(&fpp->rx.replay, 0, sizeof(fpp->rx.replay));
	memset(&fpp->rx_prev.replay, 0, sizeof(fpp->rx_prev.replay));
	fpp->tx.counter = 0;
	fpp->dest = peer_addr;
	memset(&st, 0, sizeof(st));
	strlcpy(st.peer, fpp->st.peer, sizeof(st.peer));
	strlcpy(st.uplink, fpp->st.uplink, sizeof(st.uplink));
	st.state = PIPE_STATE_UP;
	fpp->st = st;
	memset(fpp->probes, 0, sizeof(fpp->probes));
	fpp->probe_seq = 0;
	fpp->probe_last_rx = 0;
	fpp->srtt_us = fpp->jitter_us = fpp->last_rtt_us = 0;
	fpp->maxdgram = UPLINK_MTU - IPV4_UDP_OVERHEAD;
	fpp->pmtu_searching = (flags & FL_PMTU) != 0;
	fpp->pmtu_tries = 0;
	/* every fragment of the previous input has timed out */
	reasm_expire(fpp->reasm, getmonotime() + 10 * FRAG_TIMEOUT);
	txq.n = 0;
}

static size_t
seal(const uint8_t *rec, size_t len, uint8_t *dgram,
    struct sockaddr_storage **from)
{
	struct wire_hdr	 hdr;
	struct aead_key	*k;
	uint8_t		 sel;
	ssize_t		 n;

	if (len < 4)
		return (0);
	sel = rec[1];
	k = (sel & SEL_PREV) ? &peer_prev : &peer_cur;
	hdr.version = (sel & SEL_VERSION) ? sel : WIRE_VERSION;
	hdr.type = rec[0];
	hdr.keyid = (sel & SEL_KEYID) ? sel : k->id;
	hdr.reserved = 0;
	hdr.rxid = htonl((sel & SEL_RXID) ? FUZZ_RXID + 1 : FUZZ_RXID);
	hdr.counter = htobe64((rec[2] << 8) | rec[3]);
	memcpy(dgram, &hdr, sizeof(hdr));
	if ((n = aead_seal(k, be64toh(hdr.counter), dgram, sizeof(hdr),
	    rec + 4, len - 4, dgram + sizeof(hdr),
	    DGRAM_MAX - sizeof(hdr))) == -1)
		return (0);
	if (sel & SEL_FORGE)
		dgram[sizeof(hdr) + n - 1] ^= 0x01;
	*from = (sel & SEL_MOVED) ? &moved_addr : &peer_addr;
	return (sizeof(hdr) + n);
}

/* The unsealed twin of a sealed input, for the corpus. */
static void
seed_write(const uint8_t *data, size_t size, const uint8_t *out,
    size_t outlen)
{
	char		 path[PATH_MAX];
	uint32_t	 h = 2166136261U;
	size_t		 i;
	int		 fd;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619U;
	snprintf(path, sizeof(path), "%s/wire-%08x", seeds_dir, h);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	(void)write(fd, out, outlen);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 dgram[DGRAM_MAX];
	static uint8_t		 raw[1 + MAX_DGRAMS * (2 + DGRAM_MAX)];
	struct sockaddr_storage	*from;
	const uint8_t		*p;
	uint8_t			*copy;
	size_t			 left, len, dlen, rawlen = 1;
	uint8_t			 flags;
	int			 n;

	if (size < 1)
		return (0);
	flags = data[0];
	reset(flags);
	txq.batching = (flags & FL_BATCH) != 0;
	raw[0] = flags & ~FL_SEAL;

	p = data + 1;
	left = size - 1;
	for (n = 0; n < MAX_DGRAMS && left >= 2; n++) {
		len = (p[0] << 8) | p[1];
		p += 2;
		left -= 2;
		if (len > left)
			len = left;
		if (len > DGRAM_MAX)
			len = DGRAM_MAX;
		from = &peer_addr;
		if (flags & FL_SEAL) {
			if ((dlen = seal(p, len, dgram, &from)) == 0)
				goto next;
		} else {
			memcpy(dgram, p, len);
			dlen = len;
		}
		if (seeds_dir != NULL && (flags & FL_SEAL) &&
		    from == &peer_addr) {
			raw[rawlen++] = dlen >> 8;
			raw[rawlen++] = dlen & 0xff;
			memcpy(raw + rawlen, dgram, dlen);
			rawlen += dlen;
		}
		/* in a buffer of its size: reading past it is caught */
		if ((copy = malloc(dlen > 0 ? dlen : 1)) == NULL)
			abort();
		memcpy(copy, dgram, dlen);
		udp_input(copy, dlen, from);
		free(copy);
		if (sa_cmp(&fpp->dest, &peer_addr) != 0 &&
		    sa_cmp(&fpp->dest, &moved_addr) != 0) {
			fprintf(stderr, "the pipe now sends elsewhere\n");
			abort();
		}
 next:
		p += len;
		left -= len;
	}
	txq.batching = 0;
	udp_flush();
	engine_drain();
	if (seeds_dir != NULL && (flags & FL_SEAL))
		seed_write(data, size, raw, rawlen);
	return (0);
}
