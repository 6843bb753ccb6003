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

#ifndef MARCONID_H
#define MARCONID_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <net/if.h>
#include <netinet/in.h>

#include <event.h>
#include <limits.h>
#include <imsg.h>
#include <stdint.h>

#include "ctl.h"
#include "log.h"

#define MARCONID_CONF		"/etc/marconid.conf"
#define MARCONID_USER		"_marconid"
#define MARCONID_CERT		"/etc/marconid/site.crt"
#define MARCONID_KEY		"/etc/marconid/site.key"
#define MARCONID_PORT		7455	/* TLS over TCP and data over UDP */
#define MARCONID_MTU		1500	/* of the tap/tun interface */
#define MARCONID_MAXMTU		9000
#define MARCONID_MINMTU		576
#define UPLINK_MTU		1500	/* the underlay's, when not given */
#define UPLINK_MINMTU		1280	/* IPv6's minimum */

/* probe defaults, all in milliseconds */
#define PROBE_INTERVAL		25
#define PROBE_TIMEOUT		100	/* least silence before a pipe is down */
#define PROBE_TIMEOUT_MAX	2000	/* most, however irregular the path */
#define PROBE_HOLDDOWN		5000	/* healthy this long to be preferred */
#define HOLDDOWN_SPELL		250	/* suspect this long: an outage */
#define PREFERENCE_DEFAULT	100
#define MAC_TIMEOUT		300000	/* ms, as a switch's default */
#define MAC_MAX			4096	/* addresses behind the peers */
#define REKEY_INTERVAL		(600 * 1000)	/* ms between rekeys */
#define REKEY_PACKETS		(1ULL << 24)	/* datagrams per key */
#define RESOLVE_INTERVAL	(300 * 1000)	/* ms between lookups of names */
#define RESOLVE_RETRY		(5 * 1000)	/* ms, the least between two */

/* the child's channel to the parent, set up before exec */
#define PARENT_SOCK_FILENO	3

/* restart of a dead uplink process: 1s, 2s, 4s ... up to 60s */
#define RESTART_MIN		1
#define RESTART_MAX		60
#define RESTART_STABLE		60	/* up this long resets the back-off */

#define MARCONID_IMSGSIZE	(64 * 1024)

enum marconid_process {
	PROC_PARENT,
	PROC_ENGINE,
	PROC_PIPE,
};

/*
 * One enum for every process, grouped by prefix: IMSG_CTL_* between
 * marconictl and the engine (some relayed to the parent), IMSG_CFG_*
 * from the parent to the children, then the daemon's own.
 */
enum imsg_type {
	IMSG_NONE,
	IMSG_CTL_SHOW_SUMMARY,
	IMSG_CTL_SHOW_INTERFACES,
	IMSG_CTL_SHOW_PIPES,
	IMSG_CTL_SHOW_PEERS,
	IMSG_CTL_RELOAD,
	IMSG_CTL_LOG_VERBOSE,
	IMSG_CTL_RESULT,
	IMSG_CTL_END,
	IMSG_CTL_PREFER,		/* peer, uplink, value 1/0 */
	IMSG_CTL_PREFERENCE,		/* peer, uplink, value */
	IMSG_CTL_PIPE_DOWN,		/* peer, uplink */
	IMSG_CTL_PIPE_UP,		/* peer, uplink */
	IMSG_CTL_MODE,			/* peer, value */
	IMSG_CTL_MONITOR,		/* then IMSG_CTL_MONITOR_EVENT rows */
	IMSG_CTL_MONITOR_EVENT,
	IMSG_CTL_RESET,			/* peer: drop its run-time changes */
	IMSG_CTL_SHOW_ROUTES,		/* tun: struct ctl_route rows */
	IMSG_CTL_SHOW_MACS,
	IMSG_CFG_GLOBAL,		/* struct marconid_conf, lists empty */
	IMSG_CFG_IFACE,			/* struct iface_conf */
	IMSG_CFG_IFACE_ADDR,		/* struct iface_addr, to the last iface */
	IMSG_CFG_UPLINK,		/* struct uplink_conf */
	IMSG_CFG_PEER,			/* struct peer_conf */
	IMSG_CFG_PIPE,			/* struct pipe_conf, to the last peer */
	IMSG_CFG_PEER_NET,		/* struct iface_addr, to the last peer */
	IMSG_CFG_DONE,
	IMSG_IFACE_FD,			/* parent -> engine: tun/tap descriptor */
	IMSG_CONTROL_FD,		/* parent -> engine: control listener */
	IMSG_PIPE_CHANNEL,		/* parent -> engine/pipe: socketpair end */
	IMSG_PIPE_PROC,			/* parent -> engine: struct pipe_proc */
	IMSG_UPLINK_SOCKET,		/* parent -> pipe: struct uplink_sock */
	IMSG_PIPE_STATE,		/* pipe -> engine: struct pipe_state */
	IMSG_SHUTDOWN,			/* parent -> pipe: uplink removed */
	IMSG_CFG_TLS_CERT,		/* parent -> pipe: PEM certificate */
	IMSG_CFG_TLS_KEY,		/* parent -> pipe: PEM private key */
	IMSG_CONNECT,			/* pipe <-> parent: struct connect_req */
	IMSG_FRAME,			/* engine <-> pipe: a frame, peer id */
	IMSG_CFG_ACK,			/* child -> parent: holds generation */
	IMSG_CFG_COMMIT,		/* parent -> child: switch to it */
	IMSG_RESOLVE,			/* pipe -> parent: struct resolve_req */
	IMSG_PIPE_REMOTE,		/* parent -> pipe: struct pipe_remote */
	IMSG_ROUTE_KERNEL,		/* parent -> engine: struct kroute[] */
};

/*
 * A pipe whose remote is a host name and that cannot reach it asks the
 * parent to look the name up again; the parent does it at most every
 * RESOLVE_RETRY, and tells the pipe the address when it changed.
 */
struct resolve_req {
	uint32_t		 peerid;
};

struct pipe_remote {
	uint32_t		 peerid;
	struct sockaddr_storage	 remote;	/* with the port */
};

/*
 * A pipe asks the parent for a socket bound to its uplink; the answer
 * is the same message, with a descriptor or, for a request the running
 * configuration does not allow (a reload may have made it stale),
 * without one.
 */
struct connect_req {
	char			 peer[MARCONID_NAMELEN];
	uint32_t		 peerid;
	struct sockaddr_storage	 remote;
};

/* Configuration, as parsed by the parent and mirrored in the children. */

struct iface_addr {
	TAILQ_ENTRY(iface_addr)	 entry;
	struct sockaddr_storage	 ss;	/* port unused */
	uint8_t			 prefixlen;
};
TAILQ_HEAD(iface_addrs, iface_addr);

enum iface_type {
	IFACE_TAP = CTL_IF_TAP,		/* Ethernet, the default */
	IFACE_TUN = CTL_IF_TUN,		/* IP only */
};

struct iface_conf {
	TAILQ_ENTRY(iface_conf)	 entry;
	char			 name[IFNAMSIZ];
	enum iface_type		 type;
	uint32_t		 mtu;
	struct iface_addrs	 addrs;
};
TAILQ_HEAD(iface_confs, iface_conf);

struct uplink_conf {
	TAILQ_ENTRY(uplink_conf) entry;
	char			 name[MARCONID_NAMELEN];
	struct sockaddr_storage	 local;	/* AF_UNSPEC: any */
	char			 ifname[IFNAMSIZ];	/* "" : any */
	int			 rdomain;	/* -1: default table */
	uint16_t		 port;	/* 0: the global port */
	uint32_t		 mtu;	/* of the path, 0: UPLINK_MTU */
};
TAILQ_HEAD(uplink_confs, uplink_conf);

enum peer_mode {
	MODE_FAILOVER = CTL_MODE_FAILOVER,
	MODE_DUPLICATE = CTL_MODE_DUPLICATE,
	MODE_BALANCE = CTL_MODE_BALANCE,
};

/* up, or up with its answer overdue: both carry traffic */
#define PIPE_IS_UP(s)	((s) == PIPE_STATE_UP || (s) == PIPE_STATE_SUSPECT)

struct pipe_conf {
	TAILQ_ENTRY(pipe_conf)	 entry;
	char			 uplink[MARCONID_NAMELEN];
	struct sockaddr_storage	 remote;	/* AF_UNSPEC: passive, or a
						   name not resolved yet */
	char			 remote_name[MARCONID_HOSTLEN]; /* "" : none */
	uint16_t		 remote_port;	/* of a name, 0: global */
	int			 preference;	/* lower is preferred */
};
TAILQ_HEAD(pipe_confs, pipe_conf);

#define PROBE_SUSPECT_YES	1
#define PROBE_SUSPECT_NO	2

struct probe_conf {
	uint32_t		 interval;	/* ms, 0: inherit */
	uint32_t		 timeout;	/* ms, 0: inherit */
	uint32_t		 timeout_max;	/* ms, 0: inherit */
	int			 suspect;	/* PROBE_SUSPECT_*, 0: inherit */
	uint32_t		 holddown;	/* ms, 0: inherit */
	uint32_t		 max_loss;	/* percent: degraded above, 0: off */
	uint32_t		 max_rtt;	/* ms: degraded above, 0: off */
};

/*
 * Every process names a peer by its id, never by its place in the
 * file: the parent gives each peer one when it first appears, keeps it
 * across reloads for as long as the name and the fingerprint stay the
 * same, and never gives it to anything else (bgpd's peer->conf.id).
 */
struct peer_conf {
	TAILQ_ENTRY(peer_conf)	 entry;
	uint32_t		 id;	/* never 0 once the parent set it */
	char			 name[MARCONID_NAMELEN];
	char			 fingerprint[MARCONID_FPRLEN];
	enum peer_mode		 mode;
	struct probe_conf	 probe;	/* as written: 0 inherits global */
	struct pipe_confs	 pipes;
	struct iface_addrs	 networks;	/* tun: what it owns */
};
TAILQ_HEAD(peer_confs, peer_conf);

struct marconid_conf {
	uint32_t		 generation;	/* of this configuration */
	char			 conffile[PATH_MAX];
	char			 user[MARCONID_NAMELEN];
	char			 csock[PATH_MAX];
	char			 rsock[PATH_MAX];	/* restricted, or "" */
	char			 rsock_group[MARCONID_NAMELEN];	/* "": all */
	char			 cert[PATH_MAX];
	char			 key[PATH_MAX];
	uint16_t		 port;
	struct probe_conf	 probe;	/* always set after parsing */
	uint32_t		 rekey_interval;	/* ms */
	uint64_t		 rekey_packets;
	uint32_t		 resolve_interval;	/* ms */
	int			 relay;	/* between peers: see engine.c */
	uint32_t		 mac_timeout;	/* ms an address stays learned */
	uint32_t		 mac_max;	/* addresses learned at most */
	int			 opts;
	struct iface_confs	 ifaces;
	struct uplink_confs	 uplinks;
	struct peer_confs	 peers;
};

/* opts */
#define MARCONID_OPT_VERBOSE	0x01

/* Messages between the processes other than configuration. */

struct pipe_proc {
	char			 uplink[MARCONID_NAMELEN];
	int32_t			 pid;	/* 0 when dead */
	uint32_t		 restarts;
};

enum uplink_sock_kind {
	UPLINK_SOCK_UDP,		/* data and probes */
	UPLINK_SOCK_TCP,		/* listener for the TLS sessions */
};

struct uplink_sock {
	int32_t			 kind;	/* enum uplink_sock_kind */
	struct sockaddr_storage	 ss;	/* where it is bound */
};

struct pipe_state {
	uint32_t		 peerid;
	char			 peer[MARCONID_NAMELEN];
	char			 uplink[MARCONID_NAMELEN];
	int32_t			 state;	/* enum ctl_pipe_state */
	int64_t			 key_age;	/* seconds, -1: no keys */
	uint32_t		 rekeys;
	uint32_t		 pmtu;
	int32_t			 initiator;
	struct sockaddr_storage	 learned;
	uint64_t		 drop[DROP_MAX];
	char			 reason[64];	/* of the last state change */
	uint32_t		 rtt_us;
	uint32_t		 jitter_us;
	uint32_t		 loss_ppm;
	uint64_t		 ipackets;
	uint64_t		 opackets;
	uint64_t		 ibytes;
	uint64_t		 obytes;
	uint64_t		 drops;
	uint32_t		 suspects;
	uint64_t		 suspect_ms;	/* ended spells; see below */
	int64_t			 suspect_for;	/* ms of the spell under way */
	uint32_t		 suspect_after_ms;
	uint32_t		 down_after_ms;
	int32_t			 probe_rank;	/* probe_rank(), 0: equals */
	struct sockaddr_storage	 remote;	/* in use, AF_UNSPEC: none */
	/* what the far side reports receiving (doc/wire.md 5.6) */
	uint64_t		 rate_rx;	/* bytes/s, last window */
	uint64_t		 rate_tx;	/* bytes/s sent, same window */
	uint32_t		 rate_loss;	/* ppm of datagrams, same window */
	uint32_t		 rate_gen;	/* +1 per new window */
};

/*
 * IMSG_ROUTE_KERNEL: every route the parent holds installed on the tun
 * interface, the whole set each time it changes.
 */
struct kroute {
	uint8_t			 af;
	uint8_t			 plen;
	uint8_t			 addr[16];
};
#define KROUTE_MAX		(64 * 32)	/* peers x networks */

/* A process's end of an imsg channel with its event. */
struct imsgev {
	struct imsgbuf		 ibuf;
	void			(*handler)(int, short, void *);
	struct event		 ev;
	short			 events;
	int			 paused;	/* no EV_READ: the far end
						   must read first */
	void			*data;	/* owner's, e.g. the uplink */
};

/* The data channel: see doc/wire.md. */

#define WIRE_VERSION		1
#define WIRE_HDRLEN		16	/* outer header, the AEAD's AAD */
#define WIRE_TAGLEN		16
#define WIRE_TYPE_DATA		1	/* a frame or a fragment of one */
#define WIRE_TYPE_KEEPALIVE	2	/* empty: address learning, NAT */
#define WIRE_TYPE_PROBE		3	/* struct wire_probe, to be echoed */
#define WIRE_TYPE_PROBE_REPLY	4	/* the probe, echoed as it came */
#define WIRE_TYPE_REPORT	5	/* struct wire_report, if announced */
#define WIRE_TYPE_PROBE_ECHO	6	/* struct wire_probe_echo, if announced */

struct wire_probe {
	uint32_t		 seq;
	uint32_t		 zero;
	uint64_t		 sent_us;	/* the sender's clock only */
} __attribute__((__packed__));		/* network byte order */

/*
 * A probe and the echo of the peer's latest probe in one datagram:
 * sent only to a peer whose HELLO set HELLO_CAP_PROBE_ECHO.
 */
struct wire_probe_echo {
	uint32_t		 seq;		/* ours, as in wire_probe */
	uint32_t		 flags;		/* PROBE_PROMPTED, pipes */
	uint64_t		 sent_us;	/* ours */
	uint32_t		 echo_seq;	/* the peer's probe, as received */
	uint32_t		 held_us;	/* how long we held it */
	uint64_t		 echo_us;	/* the peer's probe, as received */
} __attribute__((__packed__));		/* network byte order */

#define PROBE_PROMPTED		0x02	/* sent at once on the peer's probe */
/* bits 16 to 31 of the flags: the sender's uplink's pipes, at most */
#define PROBE_PIPES_SHIFT	16
#define PROBE_PIPES_MAX		0xffff
#define PROBE_PIPES(f)		(((f) >> PROBE_PIPES_SHIFT) & PROBE_PIPES_MAX)
#define PROBE_HOLD_MAX		50	/* ms an echo is held at most */
#define PROBE_GRACE(i)		((i) / 4)	/* ms a prompted side waits on */

/*
 * What a side received on a pipe, for the sender's balance mode: sent
 * only to a peer whose HELLO set HELLO_CAP_REPORT.
 */
struct wire_report {
	uint32_t		 seq;		/* +1 per report */
	uint32_t		 zero;
	uint64_t		 time_us;	/* the reporter's clock only */
	uint64_t		 bytes;		/* data received, this session */
	uint32_t		 received;	/* datagrams, this session */
	uint32_t		 expected;	/* by their counters */
} __attribute__((__packed__));		/* network byte order */

/*
 * Between the engines of two sites, in front of every frame: which
 * run of the sending engine (epoch) and the frame's number in it, so
 * that the receiving engine drops the copies of duplicate mode, and
 * flags.  A receiver ignores the flags it does not know (they were a
 * zero field once, never checked).
 */
struct frame_hdr {
	uint32_t		 epoch;
	uint32_t		 flags;		/* FRAME_F_* */
	uint64_t		 seq;
} __attribute__((__packed__));		/* network byte order */

#define FRAME_F_RELAYED		0x00000001	/* a hub sent it on: never
						   again to another peer */
#define FRAME_F_BALANCE		0x00000002	/* spread: put back in order */

struct wire_hdr {
	uint8_t			 version;	/* WIRE_VERSION */
	uint8_t			 type;		/* WIRE_TYPE_* */
	uint8_t			 keyid;		/* key generation, mod 256 */
	uint8_t			 reserved;	/* zero */
	uint32_t		 rxid;		/* receiver's session id */
	uint64_t		 counter;	/* nonce, never repeats */
} __attribute__((__packed__));		/* network byte order */

#define AEAD_KEYLEN		32
#define REPLAY_WINDOW		4096	/* packets, a multiple of 64 */

struct replay {
	uint64_t		 top;	/* highest counter accepted */
	uint64_t		 bits[REPLAY_WINDOW / 64];
};

struct aead_key {
	void			*ctx;	/* EVP_CIPHER_CTX, opaque here */
	uint8_t			 key[AEAD_KEYLEN];
	uint8_t			 id;
	int			 valid;
	int64_t			 installed;	/* getmonotime() */
	uint64_t		 counter;	/* tx: next to use */
	struct replay		 replay;	/* rx */
};

/* crypto.c */
int		 crypto_hkdf(const uint8_t *, size_t, const uint8_t *, size_t,
		    const uint8_t *, size_t, uint8_t *, size_t);
void		 crypto_derive(const uint8_t *, const uint8_t *, uint8_t,
		    uint8_t *, uint8_t *);
int		 aead_init(struct aead_key *, const uint8_t *, uint8_t);
void		 aead_wipe(struct aead_key *);
ssize_t		 aead_seal(struct aead_key *, uint64_t, const uint8_t *,
		    size_t, const uint8_t *, size_t, uint8_t *, size_t);
ssize_t		 aead_open(struct aead_key *, uint64_t, const uint8_t *,
		    size_t, const uint8_t *, size_t, uint8_t *, size_t);
int		 replay_check(const struct replay *, uint64_t);
void		 replay_update(struct replay *, uint64_t);
int		 replay_newest(const struct replay *, uint64_t);

/* probe.c */
struct probe_echo {
	uint32_t		 seq;
	uint32_t		 flags;
	uint64_t		 sent_us;
	uint32_t		 echo_seq;
	uint32_t		 held_us;
	uint64_t		 echo_us;
};
enum probe_action {
	PROBE_HOLD,		/* answer with our next probe */
	PROBE_SEND,		/* send ours now, with the echo */
	PROBE_REPLY,		/* a plain reply (type 4) now */
};
void		 probe_echo_pack(const struct probe_echo *,
		    struct wire_probe_echo *);
void		 probe_echo_unpack(const struct wire_probe_echo *,
		    struct probe_echo *);
int64_t		 probe_rtt(uint64_t, uint64_t, uint32_t);
int		 probe_can_hold(uint32_t, uint32_t);
int		 probe_quiet(int, int64_t, uint32_t);
enum probe_action probe_decide(int, int, int, int64_t, uint32_t, int);
int		 probe_rank(uint32_t, uint32_t);
int64_t		 probe_due(int64_t, uint32_t, int, int);

/* reorder.c */
#define REORDER_FRAMES		2048	/* held at most per peer */
#define REORDER_BYTES		(4 * 1024 * 1024)
#define REORDER_WAIT_MIN	10000	/* us */
#define REORDER_WAIT_MAX	100000	/* us */
#define REORDER_LEAD_FOR	100000	/* us after the longer pipe's last */
struct reorder;
struct reorder_stats {
	uint64_t		 held;		/* frames that waited */
	uint64_t		 released;	/* of those, let go in order */
	uint64_t		 late;		/* came after their gap was given up */
	uint64_t		 gaps;		/* gaps given up */
	uint64_t		 lost;		/* numbers in them, never seen */
	uint64_t		 timeouts;	/* given up because of the wait */
	uint64_t		 overflows;	/* given up because it was full */
	uint64_t		 proven;	/* given up as every pipe went past */
	uint32_t		 nheld;		/* now */
	size_t			 bytes;		/* now */
};
typedef void	(*reorder_out_fn)(void *, const uint8_t *, size_t);
struct reorder	*reorder_new(uint32_t, size_t, reorder_out_fn, void *);
void		 reorder_free(struct reorder *);
void		 reorder_set_arg(struct reorder *, void *);
void		 reorder_set_wait(struct reorder *, int64_t);
int64_t		 reorder_get_wait(struct reorder *);
int		 reorder_input(struct reorder *, uint64_t, const uint8_t *,
		    size_t, int64_t, int64_t);
int64_t		 reorder_deadline(struct reorder *);
void		 reorder_expire(struct reorder *, int64_t);
void		 reorder_flush(struct reorder *);
void		 reorder_skip(struct reorder *, uint64_t);
void		 reorder_lost_below(struct reorder *, uint64_t, int64_t);
const struct reorder_stats *reorder_stats(struct reorder *);
int64_t		 reorder_wait_for(const uint32_t *, const uint32_t *, int);

/* resend.c */
/*
 * Kept per peer in failover mode with two pipes or more: a quarter of
 * the dedup window (REPLAY_WINDOW), so that the frames sent after the
 * ones sent again, over a faster pipe, cannot push them out of it; the
 * bytes are about 200 ms of a 40 Mbit/s line.
 */
#define RESEND_FRAMES		(REPLAY_WINDOW / 4)
#define RESEND_BYTES		(1024 * 1024)
#define RESEND_SHARE		16	/* earned: 1/16 of what is sent */
struct resend;
typedef void	(*resend_out_fn)(void *, const uint8_t *, size_t);
struct resend	*resend_new(uint32_t, size_t);
void		 resend_free(struct resend *);
void		 resend_add(struct resend *, const uint8_t *, size_t, int64_t);
uint32_t	 resend_since(struct resend *, int64_t, size_t, resend_out_fn,
	    void *, size_t *);
void		 resend_clear(struct resend *);
uint32_t	 resend_frames(const struct resend *);

/* sched.c */
#define SCHED_MAXPIPES		16	/* spread over at most */
#define SCHED_RTT_SPREAD	40000	/* us above the best: left out */
#define SCHED_SLOW_PERMILLE	50	/* of the sum: left out */
#define SCHED_RETRY		10000	/* ms before a slow one is tried */
#define SCHED_RTT_WINDOW	5000	/* ms, a bucket of the least RTT */
#define SCHED_PATH_WINDOW	300000	/* ms, a bucket of the path's RTT */
#define SCHED_RATE_MIN		12500	/* bytes/s, the least estimate */
#define SCHED_LOSS_FULL		3000	/* ppm lost: the pipe is full */
#define SCHED_QUEUE		3000	/* us of RTT above the least: full */
enum sched_ex {
	SCHED_IN = 0,			/* carries its share */
	SCHED_EX_STATE,			/* not up, or suspect */
	SCHED_EX_RTT,			/* too long beside the best */
	SCHED_EX_SLOW,			/* too small a part of the sum */
};
/* The least RTT of a pipe over one to two windows: two buckets. */
struct sched_least {
	uint32_t		 cur;		/* us, in this bucket */
	uint32_t		 prev;		/* us, in the one before */
	int64_t			 bucket;	/* ms, when this one began */
};

struct sched_pipe {
	/* set by the caller before sched_update() */
	int			 usable;	/* up, not suspect */
	int			 suspect;	/* its RTT still counts */
	int			 first;		/* the most preferred */
	uint32_t		 rtt_us;
	uint64_t		 rate_rx;	/* bytes/s the far side got */
	uint64_t		 rate_tx;	/* bytes/s sent meanwhile */
	uint32_t		 rate_loss;	/* ppm of datagrams lost then */
	uint32_t		 rate_gen;
	/* the scheduler's */
	uint32_t		 seen_gen;
	uint32_t		 rtt_base;	/* us, the least lately */
	uint32_t		 rtt_path;	/* us, the least for long */
	struct sched_least	 lately;	/* SCHED_RTT_WINDOW */
	struct sched_least	 path;		/* SCHED_PATH_WINDOW */
	int			 full;		/* its last window lost */
	uint64_t		 cap;		/* bytes/s it carries, 0: unknown */
	int			 capped;	/* cap seen full, not a floor */
	uint64_t		 weight;	/* 0: not used */
	uint32_t		 quantum;	/* of the sum, in 1/65536 */
	int64_t			 credit;
	uint32_t		 share;		/* permille */
	int			 excluded;	/* enum sched_ex */
	int64_t			 slow_since;	/* ms */
};
void		 sched_rtt(struct sched_pipe *, uint32_t, int64_t);
int		 sched_update(struct sched_pipe **, int, int64_t);
int		 sched_pick(struct sched_pipe **, int, size_t);

/* frag.c */
#define FRAG_HDRLEN		8
#ifndef MINIMUM
#define MINIMUM(a, b)		(((a) < (b)) ? (a) : (b))
#endif
#define UPLINK_BACKLOG		128	/* callers waiting on a pipe's listener */
#define UPLINK_SOCKBUF		(4 * 1024 * 1024) /* a UDP socket's buffers */
#define FRAG_MAXFRAME		(MARCONID_MAXMTU + 64)	/* + Ethernet, VLAN, frame_hdr */
#define FRAG_SLOTS		32	/* frames being reassembled at once */
#define FRAG_TIMEOUT		1000	/* ms for all pieces of a frame */

struct reasm;
struct reasm_stats {
	uint64_t		 malformed;	/* bad header or bounds */
	uint64_t		 oversize;	/* total above FRAG_MAXFRAME */
	uint64_t		 timeouts;	/* incomplete when expired */
	uint64_t		 evicted;	/* pushed out by newer frames */
	uint64_t		 duplicates;	/* piece already there */
};

size_t		 frag_count(size_t, size_t);
ssize_t		 frag_build(uint32_t, const uint8_t *, size_t, size_t, size_t,
		    uint8_t *, size_t);
struct reasm	*reasm_new(void);
void		 reasm_free(struct reasm *);
int		 reasm_input(struct reasm *, const uint8_t *, size_t, int64_t,
		    const uint8_t **, size_t *);
void		 reasm_expire(struct reasm *, int64_t);
const struct reasm_stats *reasm_stats(const struct reasm *);

/* proctitle-*.c: one per OS */
void		 proc_title_init(void);
void		 proc_title(const char *);

/* marconid.c */
void		 child_privdrop(const char *);
void		 imsg_event_add(struct imsgev *);
void		 imsgev_flush(struct imsgev *);
int		 imsg_compose_event(struct imsgev *, uint32_t, uint32_t,
		    pid_t, int, const void *, size_t);
void		 imsgev_init(struct imsgev *, int,
		    void (*)(int, short, void *), void *);
void		 imsgev_clear(struct imsgev *);
int		 imsgev_read(struct imsgev *, short);
const char	*imsg_type_name(uint32_t);

/*
 * tlsctx.c, the parent's side: the site's certificate and key, and
 * the leaf certificates issued from them to the uplink processes.  A
 * leaf is valid for LEAF_LIFETIME seconds, renewed every LEAF_RENEW,
 * and dated LEAF_BACKDATE back for a peer whose clock is behind.
 */
#define LEAF_LIFETIME		(4 * 3600)
#define LEAF_RENEW		3600
#define LEAF_BACKDATE		(24 * 3600)
struct tlsident;
struct tlsident	*tlsident_load(const uint8_t *, size_t, const uint8_t *,
		    size_t, char *, size_t);
void		 tlsident_free(struct tlsident *);
int		 tlsident_issue(const struct tlsident *, time_t, uint8_t **,
		    size_t *, uint8_t **, size_t *);

/* config.c */
struct marconid_conf	*config_new_empty(void);
void		 config_clear(struct marconid_conf *);
void		 config_free(struct marconid_conf *);
int		 config_send(struct imsgev *, struct marconid_conf *);
int		 config_recv(struct marconid_conf **, struct imsg *);
int		 config_is_cfg(uint32_t);
struct marconid_conf	*config_child_recv(struct marconid_conf **,
		    struct imsg *);
struct marconid_conf	*config_child_commit(struct marconid_conf **,
		    struct imsg *);
void		 config_assign_ids(struct marconid_conf *,
		    struct marconid_conf *, uint32_t *);
struct peer_conf	*config_find_peer_id(struct marconid_conf *,
		    uint32_t);
struct uplink_conf	*config_find_uplink(struct marconid_conf *,
		    const char *);
struct peer_conf	*config_find_peer(struct marconid_conf *,
		    const char *);
struct iface_conf	*config_find_iface(struct marconid_conf *,
		    const char *);
int		 uplink_equal(const struct uplink_conf *,
		    const struct uplink_conf *);
int		 uplink_uses(struct marconid_conf *, const char *);

/* control.c */
int		 control_check(const char *);
int		 control_init(const char *, int, gid_t);
void		 control_listen(int, int);
void		 control_shutdown(void);
void		 control_relay_result(uint32_t, struct imsg *);
void		 control_event(struct ctl_event *);

/* engine.c */
int		 engine_compose_parent(uint32_t, uint32_t, const void *,
		    size_t);
void		 engine_show_summary(struct imsgev *, uint32_t);
void		 engine_show_interfaces(struct imsgev *, uint32_t);
void		 engine_show_pipes(struct imsgev *, uint32_t,
		    struct ctl_request *);
void		 engine_show_peers(struct imsgev *, uint32_t,
		    struct ctl_request *);
void		 engine_show_routes(struct imsgev *, uint32_t,
		    struct ctl_request *);
void		 engine_show_macs(struct imsgev *, uint32_t,
		    struct ctl_request *);
int		 engine_ctl_change(uint32_t, struct ctl_request *, char *,
		    size_t);
__attribute__((__noreturn__)) void	engine_main(int, int, const char *);

/* pipe.c */
__attribute__((__noreturn__)) void	pipe_main(int, int, const char *,
		    const char *);

/* parse.y */
struct marconid_conf	*parse_config(const char *, int);
int		 cmdline_symset(const char *);
const char	*parse_errors(void);

/* printconf.c */
void		 print_config(struct marconid_conf *);
const char	*print_host(const struct sockaddr_storage *, char *, size_t);
const char	*print_ms(uint32_t, char *, size_t);

/* resolve.c, with resolve-*.c: one per OS */
void		 resolve_init(struct event_base *, void (*)(uint32_t,
		    const char *, const struct sockaddr_storage *));
void		 resolve_sync(struct marconid_conf *);
void		 resolve_again(uint32_t, const char *);
void		 resolve_check(struct marconid_conf *);
void		 resolve_os_init(struct event_base *);
void		 resolve_os_reload(void);
void		*resolve_os_lookup(const char *, int, void (*)(int,
		    const struct sockaddr_storage *, const char *, void *),
		    void *);
void		 resolve_os_cancel(void *);
/* route.c */
#define ROUTE_MAX		KROUTE_MAX	/* entries of a table */
#define ROUTE_F_IMPLICIT	0x01	/* the only peer, without network */

struct route {
	uint8_t			 af;
	uint8_t			 plen;
	uint8_t			 addr[16];	/* host bits zero */
	uint32_t		 peer;		/* id */
	uint32_t		 flags;		/* ROUTE_F_* */
	uint64_t		 packets;	/* sent to the peer by it */
	uint64_t		 bytes;
};

struct rtable {
	struct route		*r;	/* longest prefix first */
	size_t			 n;
	size_t			 cap;
};

/* route_decide() flags and verdicts */
#define ROUTE_RELAY_OK		0x01	/* this site relays between peers */
#define ROUTE_RELAYED		0x02	/* the packet was relayed already */

enum route_verdict {
	ROUTE_LOCAL,		/* from a peer: to the device */
	ROUTE_PEER,		/* from the device: to *to */
	ROUTE_RELAY,		/* from a peer: on to *to, marked relayed */
	ROUTE_NOROUTE,		/* from the device: nobody owns it */
	ROUTE_SPOOF,		/* from a peer: source not among its own */
	ROUTE_NOTIP,		/* not an IPv4 or IPv6 packet */
};

int		 route_sa_addr(const struct sockaddr_storage *, uint8_t *);
int		 route_prefix_holds(const uint8_t *, uint8_t, const uint8_t *);
int		 route_hostbits(int, const uint8_t *, uint8_t);
void		 rtable_init(struct rtable *);
void		 rtable_clear(struct rtable *);
int		 rtable_add(struct rtable *, int, const uint8_t *, uint8_t,
		    uint32_t, uint32_t, uint32_t *);
struct route	*rtable_match(struct rtable *, int, const uint8_t *);
int		 route_pkt_addrs(const uint8_t *, size_t, uint8_t *,
		    uint8_t *);
int		 route_decide(struct rtable *, uint32_t, int, const uint8_t *,
		    size_t, uint32_t *, struct route **);
const char	*route_verdict_name(int);

/* sandbox-*.c: one per OS */
void		 sandbox_init(enum marconid_process);

/* tun-*.c: one per OS */
int		 tun_open(struct iface_conf *);
int		 tun_configure(int, struct iface_conf *);
int		 tun_reconfigure(int, struct iface_conf *,
		    struct iface_conf *);
void		 tun_close(int, struct iface_conf *);
ssize_t		 tun_recv(int, enum iface_type, void *, size_t);
ssize_t		 tun_send(int, enum iface_type, const void *, size_t);
int		 tun_flush(int);
int		 tun_route(struct iface_conf *, int, const struct kroute *);

/* uplink.c, with uplink-*.c: one per OS */
int		 uplink_socket(struct uplink_conf *, int, uint16_t,
		    struct sockaddr_storage *);
int		 uplink_connect(struct uplink_conf *,
		    const struct sockaddr_storage *);
int		 uplink_os_setup(int, struct uplink_conf *, int);
int		 uplink_os_local(struct uplink_conf *,
		    struct sockaddr_storage *);
int		 uplink_ifaddr(struct uplink_conf *, struct sockaddr_storage *);

/*
 * A rate limit for log lines that someone else can cause (send errors
 * on a dead route, strangers' connections): at most `burst' lines per
 * `interval' ms; the first line let through after some were held back
 * says how many.  Zeroed: nothing logged yet.
 */
struct ratelim {
	int64_t			 start;	/* ms, of the current interval */
	uint32_t		 lines;	/* let through in it */
	uint64_t		 suppressed;	/* since the last line */
};

/* util.c */
int		 ratelim_pass(struct ratelim *, uint32_t, uint32_t,
		    char *, size_t);
socklen_t	 sa_len(const struct sockaddr *);
int		 sa_cmp(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
void		 sa_map4(struct sockaddr_storage *);
void		 sa_unmap4(struct sockaddr_storage *);
uint16_t	 sa_port(const struct sockaddr_storage *);
void		 sa_set_port(struct sockaddr_storage *, uint16_t);
int		 host_parse(const char *, struct sockaddr_storage *,
		    uint8_t *);
int64_t		 getmonotime(void);
int64_t		 getmonotime_us(void);

#endif /* MARCONID_H */
