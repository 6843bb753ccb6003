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
 * What the uplink process keeps: one struct pipe_peer per peer that has
 * a pipe on this uplink, and its TLS sessions (session.c).  Only pipe.c
 * and session.c include this.
 */

#ifndef PIPE_H
#define PIPE_H

#include <tls.h>

#define SESS_MSG_HDRLEN		4
#define SESS_MSG_MAXBODY	1024
#define SESS_WBUFLEN		8192

#define SESS_KEEPALIVE		5000	/* ms between keepalives */
#define SESS_DEADTIME		60000	/* ms of silence that ends it */
#define SESS_SILENT		(2 * SESS_KEEPALIVE + 1000)	/* ms: a name
					   is looked up again, see resolve.c */
#define SESS_HANDSHAKE_MAX	10000	/* ms for TCP + TLS + HELLO */
#define SESS_BACKOFF_MIN	1000	/* ms before reconnecting */
/* what strangers make us log: so many lines per interval at most */
#define UNAUTH_LOG_INTERVAL	10000	/* ms */
#define UNAUTH_LOG_BURST	5
#define SESS_BACKOFF_MAX	30000
#define REKEY_OVERLAP		30000	/* ms the previous rx key stays */
#define PROBE_SLOTS		64	/* probes remembered for loss */
/* the largest gap between answers is kept per bucket, for a minute */
#define GAP_BUCKETS		8
#define GAP_BUCKET_MS		8000
#define PROBE_BURST		250	/* ms of silence a lossy line may show */
#define PROBE_PADDED		1	/* wire_probe.zero: a path MTU probe */
#define PMTU_INTERVAL		300	/* ms between path MTU probes */
#define PMTU_TRIES		3	/* unanswered at one size: go lower */

/* control messages inside the TLS session, see doc/wire.md */
enum sess_msg {
	SMSG_HELLO = 1,
	SMSG_REKEY,
	SMSG_REKEY_ACK,
	SMSG_REKEY_DONE,
	SMSG_KEEPALIVE,
	SMSG_REKEY_REQUEST,
};

struct sess_hello {
	uint32_t		 version;
	uint32_t		 rxid;
	uint64_t		 instance;
	uint16_t		 mtu;
	uint16_t		 reserved;
	uint32_t		 caps;
	uint8_t			 random[32];
} __attribute__((__packed__));

struct sess_rekey {
	uint8_t			 keyid;
	uint8_t			 zero[3];
	uint8_t			 random[32];
} __attribute__((__packed__));

#define HELLO_CAP_FRAG		0x01
#define HELLO_CAP_REKEY_REQUEST	0x02	/* takes SMSG_REKEY_REQUEST */
#define HELLO_CAP_REPORT	0x04	/* takes WIRE_TYPE_REPORT */
#define HELLO_CAP_PROBE_ECHO	0x08	/* takes WIRE_TYPE_PROBE_ECHO */
#define REPORT_WINDOW		200	/* ms over which a rate is taken */
#define REPORT_IDLE		4	/* reports sent once nothing comes */

enum sess_state {
	SESS_CONNECT,		/* TCP connect in progress (initiator) */
	SESS_TLS,		/* TLS handshake */
	SESS_HELLO,		/* our HELLO sent, waiting for theirs */
	SESS_UP,		/* keys in place */
};

struct pipe_peer;
struct tlsctx;

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct pipe_peer	*pp;	/* NULL until the peer is known */
	struct tls		*tls;
	struct tlsctx		*tlsctx;	/* accepted: a reference, tlsctx.c */
	int			 fd;
	struct event		 ev;
	short			 evflags;
	enum sess_state		 state;
	int			 initiator;
	int64_t			 started;
	int64_t			 up_at;		/* keys installed, 0: not yet */
	int64_t			 last_rx;
	int64_t			 last_tx;
	struct sockaddr_storage	 addr;	/* TCP peer address */
	uint8_t			 rbuf[SESS_MSG_HDRLEN + SESS_MSG_MAXBODY];
	size_t			 rlen;
	uint8_t			 wbuf[SESS_WBUFLEN];
	size_t			 wlen;
	struct sess_hello	 mine;	/* as sent, host order */
	struct sess_hello	 theirs;
};
TAILQ_HEAD(sessions, session);

struct pipe_peer {
	TAILQ_ENTRY(pipe_peer)	 entry;
	uint32_t		 id;	/* the peer's, from the parent */
	char			 fingerprint[MARCONID_FPRLEN];
	struct pipe_conf	 conf;
	struct pipe_state	 st;
	int			 dirty;	/* to report to the engine */

	struct session		*sess;	/* the established one */
	struct session		*pending;	/* our connect in progress */
	int64_t			 next_connect;
	int64_t			 backoff;

	struct sockaddr_storage	 dest;	/* where data goes, AF_UNSPEC */
	uint32_t		 rxid;	/* ours: in datagrams to us */
	uint32_t		 peer_rxid;
	uint64_t		 peer_instance;
	size_t			 maxdgram;	/* largest datagram to send */
	struct aead_key		 tx;
	struct aead_key		 rx;	/* current */
	struct aead_key		 rx_prev;	/* until REKEY_OVERLAP */
	struct aead_key		 tx_next;	/* responder, until DONE */
	uint8_t			 rekey_random[32];	/* initiator */
	int			 rekey_pending;
	int			 rekey_requested;	/* responder, this key */
	uint32_t		 frame_id;
	struct reasm		*reasm;

	/* probes: RTT, jitter and loss of this pipe, and its state */
	uint32_t		 probe_interval;	/* ms */
	uint32_t		 probe_timeout;		/* ms, the least */
	uint32_t		 probe_timeout_max;	/* ms, the most */
	int			 suspect_on;
	uint32_t		 max_loss;	/* percent, 0: off */
	uint32_t		 max_rtt;	/* ms, 0: off */
	uint32_t		 probe_seq;
	int64_t			 probe_last_tx;
	int64_t			 probe_last_rx;	/* 0: none answered */
	int64_t			 last_rtt_us;
	int64_t			 srtt_us;
	int64_t			 jitter_us;
	/*
	 * The gaps between answers, as this path shows them: their mean
	 * and mean deviation say when an answer is overdue (suspect), the
	 * largest of the last minute how long a silence the path has
	 * shown without being dead (down); see probe_thresholds().
	 */
	int64_t			 gap_avg;	/* ms, 0: none measured */
	int64_t			 gap_dev;	/* ms */
	int64_t			 gap_max[GAP_BUCKETS];	/* ms */
	int64_t			 gap_bucket_start;
	int			 gap_bucket;
	int64_t			 suspect_after;	/* ms, as last computed */
	int64_t			 down_after;	/* ms */
	int64_t			 suspect_since;	/* ms, 0: not suspect */
	struct {
		uint32_t	 seq;
		int64_t		 sent;	/* ms, 0: slot unused */
		int		 answered;
	}			 probes[PROBE_SLOTS];
	/*
	 * Probes with echo (doc/wire.md section 5.4): the peer's probe
	 * that our next one answers, whether our last one went at once
	 * on the peer's (prompted), which gives the peer's next a grace
	 * before ours goes on the timer, and whether that grace ran out.
	 */
	int			 hold_valid;
	uint32_t		 hold_seq;
	uint64_t		 hold_sent_us;	/* the peer's clock */
	int64_t			 hold_at_us;	/* ours, when it came */
	int64_t			 hold_at;	/* ms */
	int			 probe_prompted;
	int			 probe_late;	/* on the timer, after the
						   grace: the peer's was late */
	int			 probe_quiet;	/* jitter low enough to hold */
	uint32_t		 peer_pipes;	/* its uplink's, 0: not said */

	/* the path MTU, found with probes padded to the datagram size */
	int			 pmtu_searching;
	int			 pmtu_tries;
	int64_t			 pmtu_last;

	/*
	 * What each side receives, for the balance mode of the sender
	 * (doc/wire.md section 5.6): our own count, reported with the
	 * probes, and the peer's reports against what we sent.
	 */
	uint64_t		 rx_data;	/* data bytes this session */
	uint64_t		 tx_data;
	uint32_t		 rx_dgrams;	/* authenticated, this session */
	uint32_t		 rx_expected;	/* by the counters seen */
	uint64_t		 rx_top;	/* highest counter, current key */
	int			 rx_topkey;	/* its key id, -1: none */
	uint32_t		 report_seq;
	uint64_t		 report_last;	/* rx_data last reported */
	int			 report_idle;	/* reports with no change */
	int			 rep_valid;	/* an anchor below */
	uint32_t		 rep_seq;	/* last report taken */
	uint64_t		 rep_time;	/* the peer's clock, us */
	uint64_t		 rep_bytes;
	int64_t			 rep_local;	/* ours, us */
	uint64_t		 rep_tx;
	uint32_t		 rep_received;
	uint32_t		 rep_expected;

	/* datagrams the kernel refused: warned of once in a while */
	struct ratelim		 senderr;

	int64_t			 resolve_asked;	/* ms, 0: never */
};
TAILQ_HEAD(pipe_peers, pipe_peer);

/* pipe.c */
extern struct pipe_peers	 ppeers;
extern uint64_t			 pipe_instance;
extern int64_t			 rekey_interval;
extern uint64_t			 rekey_packets;
struct pipe_peer	*pipe_peer_by_fpr(const char *);
void		 pipe_session_up(struct pipe_peer *);
void		 pipe_session_down(struct pipe_peer *);
void		 pipe_keepalive(struct pipe_peer *);
void		 pipe_set_state(struct pipe_peer *, int, const char *);
void		 pipe_request_connect(struct pipe_peer *);
void		 pipe_ask_resolve(struct pipe_peer *);
size_t		 pipe_local_maxdgram(struct pipe_peer *);

/* session.c */
extern uint32_t		 session_caps;
void		 session_init(void);
int		 session_accept(int);
void		 session_connected(struct pipe_peer *, int);
void		 session_close(struct session *, const char *);
void		 session_tick(int64_t);
void		 session_peer_gone(struct pipe_peer *);
int		 session_alive(struct session *);

/* tlsctx.c */
int		 tlsctx_set(const uint8_t *, size_t, const uint8_t *, size_t);
int		 tlsctx_ready(void);
int		 tlsctx_accept(int, struct tls **, struct tlsctx **,
		    const char **);
int		 tlsctx_connect(int, struct tls **, const char **);
void		 tlsctx_release(struct tlsctx *);
void		 tlsctx_clear(void);
int		 tlsctx_verify_chain(const uint8_t *, size_t, const char *,
		    time_t, int (*)(const char *, void *), void *, char *,
		    size_t, char *, size_t);
int		 tlsctx_verify_peer(struct tls *, time_t,
		    int (*)(const char *, void *), void *, char *, size_t,
		    char *, size_t);
int		 session_keep_newer(uint64_t, uint64_t, uint64_t, uint64_t);

#endif /* PIPE_H */
