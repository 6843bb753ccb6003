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
 * The engine's switch (marconid/engine.c): the frames of the pipes and
 * of the device, the table of Ethernet addresses (learning, moves,
 * aging, a full table) and, at a hub, the relay decision.  The engine
 * has three peers, site-b (failover over isp1 and isp2), site-c
 * (duplicate over both) and site-d (isp2 only), every pipe up.
 *
 * The first byte holds flags: FL_RELAY makes this site a hub,
 * FL_SMALL gives it a table of 16 addresses.  Then records of
 * [op][a][b][length][length bytes]:
 *
 * - OP_PIPE: a frame from peer a % 3 over uplink b % 2, with the
 *   RELAYED flag if b & B_RELAYED, the frame number repeated if
 *   b & B_COPY; with b & B_MACS its addresses come from a set of eight
 *   (the first two bytes choose them), so that they are learned and
 *   looked up again;
 * - OP_DEVICE: a frame from the device, likewise;
 * - OP_AGE: a seconds pass for the table's aging;
 * - OP_PIPE_STATE: the pipe a % 3, b % 2 goes down or comes up.
 *
 * After each record, what the engine queued for the uplink processes is
 * read back and must obey the rules: a frame from a peer goes to no
 * other peer unless this site relays and the frame was not relayed
 * already; what is relayed is marked RELAYED and never goes back to
 * the peer it came from; a frame of the device is not marked; the
 * table never holds more than its size.
 */

#include "../marconid/engine.c"		/* its tables are static */
#include "../marconid/control.c"	/* what engine.c calls there */

#include "fuzz.h"

#define FL_RELAY	0x01
#define FL_SMALL	0x02

#define OP_PIPE		0
#define OP_DEVICE	1
#define OP_AGE		2
#define OP_PIPE_STATE	3

#define B_RELAYED	0x02
#define B_COPY		0x04
#define B_MACS		0x08

#define NPEERS		3
#define MAX_RECORDS	256

static const char	 config_text[] =
	"certificate \"site.crt\"\n"
	"key \"site.key\"\n"
	"relay yes\n"
	"interface tap0 { address 198.19.0.1/24 }\n"
	"uplink isp1 { local 198.18.1.2 }\n"
	"uplink isp2 { local 198.18.2.2 }\n"
	"peer site-b {\n"
	"\tfingerprint \"SHA256:18fb20d616bcd0c7d98c016f11e9cf6603f0aff3"
	"61a37f12ae019ba1e9a2e72f\"\n"
	"\tpipe isp1 remote 198.18.1.1 preference 10\n"
	"\tpipe isp2 remote 198.18.2.1 preference 20\n"
	"}\n"
	"peer site-c {\n"
	"\tfingerprint \"SHA256:28fb20d616bcd0c7d98c016f11e9cf6603f0aff3"
	"61a37f12ae019ba1e9a2e72f\"\n"
	"\tmode duplicate\n"
	"\tpipe isp1 remote 198.18.1.3\n"
	"\tpipe isp2 remote 198.18.2.3\n"
	"}\n"
	"peer site-d {\n"
	"\tfingerprint \"SHA256:38fb20d616bcd0c7d98c016f11e9cf6603f0aff3"
	"61a37f12ae019ba1e9a2e72f\"\n"
	"\tpipe isp2 remote 198.18.2.4\n"
	"}\n";

static const char	*uplink_names[2] = { "isp1", "isp2" };
static struct eng_uplink *fuplinks[2];
static struct imsgbuf	 far_end[2];	/* the uplink processes' ends */
static struct eng_peer	*fpeers[NPEERS];
static uint32_t		 epoch;

static const uint8_t	 mac_set[8][6] = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x04 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x05 },
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x06 },
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
};

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct marconid_conf	*c;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	char			 path[PATH_MAX];
	uint32_t		 lastid;
	int			 fd, i, sv[2];

	snprintf(path, sizeof(path), "%s/marconid.conf", fuzz_tmpdir());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	if (write(fd, config_text, sizeof(config_text) - 1) !=
	    sizeof(config_text) - 1)
		abort();
	close(fd);
	c = parse_config(path, 0);
	unlink(path);
	if (c == NULL) {
		fprintf(stderr, "%s", parse_errors());
		abort();
	}

	/* as the parent does: a peer is named by its id everywhere */
	lastid = 0;
	config_assign_ids(c, NULL, &lastid);

	start_time = getmonotime();
	parent_pid = getpid();
	for (i = 0; i < 2; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0, sv) == -1)
			abort();
		fuplinks[i] = uplink_get(uplink_names[i], 1);
		fuplinks[i]->pid = 1000 + i;
		imsgev_init(&fuplinks[i]->iev, sv[0], fuzz_null_handler,
		    fuplinks[i]);
		if (imsgbuf_init(&far_end[i], sv[1]) == -1 ||
		    imsgbuf_set_maxsize(&far_end[i], MARCONID_IMSGSIZE) == -1)
			abort();
	}
	engine_apply_config(c);
	i = 0;
	TAILQ_FOREACH(pe, &peers, entry) {
		if (i < NPEERS)
			fpeers[i++] = pe;
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			ep->st.state = PIPE_STATE_UP;
			pipe_refresh(ep, "set up by the fuzzer");
		}
	}
	if (i != NPEERS)
		abort();
	/* the device: only its descriptor is looked at */
	if ((iface.fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		abort();
	strlcpy(iface.name, "tap0", sizeof(iface.name));
	fuzz_fd_mark();
	return (0);
}

/*
 * Reads back what the engine queued for the uplinks since the last
 * call; from names the peer a frame came from (NULL: the device),
 * relayable says whether it may go to other peers at all.
 */
static void
sent_check(struct eng_peer *from, int relayable)
{
	struct frame_hdr	 fh;
	struct imsg		 imsg;
	struct ibuf		 ib;
	ssize_t			 n;
	uint32_t		 flags;
	int			 i;

	for (i = 0; i < 2; i++) {
		if (imsgbuf_queuelen(&fuplinks[i]->iev.ibuf) == 0)
			continue;
		if (imsgbuf_write(&fuplinks[i]->iev.ibuf) == -1)
			abort();
		if (imsgbuf_read(&far_end[i]) == -1)
			abort();
		while ((n = imsg_get(&far_end[i], &imsg)) > 0) {
			if (imsg_get_type(&imsg) != IMSG_FRAME ||
			    imsg_get_ibuf(&imsg, &ib) == -1 ||
			    ibuf_get(&ib, &fh, sizeof(fh)) == -1) {
				fprintf(stderr, "not a frame to %s\n",
				    uplink_names[i]);
				abort();
			}
			flags = ntohl(fh.flags);
			if (from == NULL && flags != 0) {
				fprintf(stderr, "a frame of the device with "
				    "flags %#x\n", flags);
				abort();
			}
			if (from != NULL && !relayable) {
				fprintf(stderr, "a frame from %s went on to "
				    "peer id %u\n", from->name,
				    imsg_get_id(&imsg));
				abort();
			}
			if (from != NULL && (flags != FRAME_F_RELAYED ||
			    imsg_get_id(&imsg) == from->id)) {
				fprintf(stderr, "a frame from %s relayed to "
				    "peer id %u with flags %#x\n", from->name,
				    imsg_get_id(&imsg), flags);
				abort();
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			abort();
	}
}

static void
table_check(void)
{
	struct mac_entry	*m;
	uint32_t		 n = 0;

	RB_FOREACH(m, mac_tree, &macs) {
		if (m->mac[0] & 0x01) {
			fprintf(stderr, "a group address was learned\n");
			abort();
		}
		n++;
	}
	if (n != n_macs || n_macs > mac_max) {
		fprintf(stderr, "%u addresses in the table, %u counted, at "
		    "most %u\n", n, n_macs, mac_max);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 buf[FRAG_MAXFRAME];
	struct frame_hdr	 fh;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	uint64_t		 seq[NPEERS] = { 0 };
	uint8_t			 op, a, b, len;
	uint8_t			*frame = buf + sizeof(fh);
	int			 records;

	if (size < 1)
		return (0);
	relay = data[0] & FL_RELAY;
	mac_max = data[0] & FL_SMALL ? 16 : MAC_MAX;
	mac_flush();
	epoch++;
	data++;
	size--;

	for (records = 0; size >= 4 && records < MAX_RECORDS; records++) {
		op = data[0] % 4;
		a = data[1];
		b = data[2];
		len = data[3];
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		memset(buf, 0, sizeof(fh) + 64);
		memcpy(frame, data, len);
		data += len;
		size -= len;
		if ((b & B_MACS) && len >= 14) {
			memcpy(frame, mac_set[frame[0] % 8], 6);
			memcpy(frame + 6, mac_set[frame[6] % 8], 6);
		}

		switch (op) {
		case OP_PIPE:
			pe = fpeers[a % NPEERS];
			fh.epoch = htonl(epoch);
			fh.flags = htonl(b & B_RELAYED ? FRAME_F_RELAYED : 0);
			if (!(b & B_COPY))
				seq[a % NPEERS]++;
			fh.seq = htobe64(seq[a % NPEERS]);
			memcpy(buf, &fh, sizeof(fh));
			frame_from_pipe(fuplinks[b % 2], pe->id, buf,
			    sizeof(fh) + len);
			sent_check(pe, relay && !(b & B_RELAYED));
			break;
		case OP_DEVICE:
			fuzz_tun_in = frame;
			fuzz_tun_inlen = len;
			iface_read(iface.fd, EV_READ, NULL);
			fuzz_tun_in = NULL;
			sent_check(NULL, 1);
			break;
		case OP_AGE:
			mac_expire(getmonotime() + (int64_t)a * 1000);
			break;
		case OP_PIPE_STATE:
			pe = fpeers[a % NPEERS];
			TAILQ_FOREACH(ep, &pe->pipes, entry)
				if (strcmp(ep->conf.uplink,
				    uplink_names[b % 2]) == 0) {
					ep->st.state = b & 0x80 ?
					    PIPE_STATE_DOWN : PIPE_STATE_UP;
					pipe_refresh(ep, "fuzz");
				}
			break;
		}
		table_check();
	}

	/* every pipe up again for the next input */
	TAILQ_FOREACH(pe, &peers, entry)
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			ep->st.state = PIPE_STATE_UP;
			pipe_refresh(ep, "fuzz");
		}
	fuzz_fd_check();
	return (0);
}
