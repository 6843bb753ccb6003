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
 * The control protocol between marconictl and the engine of marconid.
 * Every request is one imsg of an IMSG_CTL_* type (see marconid.h);
 * a reply is zero or more rows (IMSG_CTL_SHOW_*) closed by IMSG_CTL_END,
 * or a single IMSG_CTL_RESULT carrying a struct ctl_result and, for
 * errors, a NUL-terminated explanation after it.
 *
 * All structures are sent in host byte order: the socket never leaves
 * the machine.  CTL_VERSION is bumped whenever one of them changes so
 * that a marconictl from another build says so instead of printing
 * nonsense.
 */

#ifndef CTL_H
#define CTL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <stdint.h>

#define MARCONID_SOCKET		"/var/run/marconid.sock"
#define CTL_VERSION		10

/* the release, shown by marconid -V and marconictl show version */
#define MARCONID_VERSION	"0.2"

#define MARCONID_NAMELEN	32	/* uplink and peer names, with NUL */
#define MARCONID_FPRLEN		80	/* "SHA256:" + 64 hex digits + NUL */
#define MARCONID_HOSTLEN	256	/* a remote's host name, with NUL */
#define CTL_ADDRSLEN		512	/* interface addresses as text */
#define CTL_ERRLEN		4096	/* longest error text in a result */

/* what a request asked, answered in struct ctl_result */
enum ctl_result_code {
	CTL_RES_OK = 0,
	CTL_RES_ERR,			/* generic, see the text */
	CTL_RES_BADVERSION,		/* ctl and daemon disagree */
	CTL_RES_DENIED,			/* the client may not do this */
	CTL_RES_CONFIG,			/* reload: config has errors */
	CTL_RES_BUSY,			/* a reload is already running */
	CTL_RES_NOSUCHPEER,
	CTL_RES_NOSUCHPIPE,
};

struct ctl_result {
	int32_t		code;		/* enum ctl_result_code */
	/* followed by an optional NUL-terminated message */
};

/* every request starts with this, so that a mismatch is caught */
struct ctl_request {
	uint32_t	version;	/* CTL_VERSION */
	uint32_t	verbose;	/* IMSG_CTL_LOG_VERBOSE: new level */
	int32_t		value;		/* PREFERENCE: the preference; MODE:
					   enum ctl_mode; PREFER: 1 set, 0 clear */
	char		peer[MARCONID_NAMELEN];	/* filters, "" for all */
	char		uplink[MARCONID_NAMELEN];
};

/* pipe states, in the order a pipe goes through them */
enum ctl_pipe_state {
	PIPE_STATE_DOWN = 0,		/* no session */
	PIPE_STATE_CONNECTING,		/* TCP or TLS in progress */
	PIPE_STATE_UP,			/* keys agreed, probes answered */
	PIPE_STATE_DEGRADED,		/* up, probes show loss or delay */
	PIPE_STATE_DISABLED,		/* operator said so */
	PIPE_STATE_NOPROC,		/* uplink process dead, restarting */
	PIPE_STATE_SUSPECT,		/* up, but its answer is overdue */
};

/* why the data path dropped a datagram or a frame, counted per pipe */
enum ctl_drop {
	DROP_SHORT = 0,		/* shorter than the outer header and tag */
	DROP_BADTYPE,		/* unknown version or type */
	DROP_NOSESSION,		/* no session with that receiver id */
	DROP_STALEKEY,		/* key id not current nor previous */
	DROP_AUTH,		/* forged or corrupted: tag did not verify */
	DROP_REPLAY,		/* counter seen before or behind the window */
	DROP_FRAG,		/* malformed, oversized or expired fragment */
	DROP_NOPIPE,		/* frame with no pipe up to send it on */
	DROP_TOOBIG,		/* frame larger than the segment's MTU */
	DROP_SEND,		/* datagram the kernel refused to send */
	DROP_MAX
};

enum ctl_mode {
	CTL_MODE_FAILOVER = 0,
	CTL_MODE_DUPLICATE,
	CTL_MODE_BALANCE,
};

enum ctl_iftype {
	CTL_IF_TAP = 0,
	CTL_IF_TUN,
};

struct ctl_summary {
	uint32_t	version;	/* CTL_VERSION */
	int32_t		pid;		/* of the parent */
	int64_t		uptime;		/* seconds since start */
	int64_t		since_reload;	/* seconds since the last reload */
	uint32_t	reloads;	/* successful reloads */
	uint32_t	verbose;
	uint32_t	n_ifaces;
	uint32_t	n_uplinks;
	uint32_t	n_peers;
	uint32_t	n_pipes;
	uint32_t	n_pipes_up;
	char		conffile[1024];
	char		release[16];	/* the daemon's MARCONID_VERSION */
};

struct ctl_iface {
	char		name[IFNAMSIZ];
	int32_t		type;		/* enum ctl_iftype */
	uint32_t	mtu;
	int32_t		up;		/* descriptor held by the engine */
	uint64_t	ipackets;	/* read from the device */
	uint64_t	opackets;	/* written to the device */
	uint64_t	ibytes;
	uint64_t	obytes;
	char		addrs[CTL_ADDRSLEN];	/* "a/len b/len ..." */
	/* tun: packets dropped by the routing (marconictl show routes) */
	uint64_t	noroute;	/* from the device, nobody's network */
	uint64_t	badsource;	/* from a peer, source not its own */
	uint64_t	notip;		/* neither IPv4 nor IPv6 */
};

/* tun: one network of a peer, IMSG_CTL_SHOW_ROUTES */
struct ctl_route {
	char		peer[MARCONID_NAMELEN];
	struct sockaddr_storage	prefix;	/* port unused */
	uint32_t	prefixlen;
	int32_t		peer_up;	/* any pipe of the peer up */
	int32_t		implicit;	/* the only peer, without network */
	int32_t		kernel;		/* route installed by the parent */
	uint64_t	packets;	/* sent to the peer by this route */
	uint64_t	bytes;
	uint64_t	badsource;	/* the peer's packets refused */
};

struct ctl_pipe {
	char		peer[MARCONID_NAMELEN];
	char		uplink[MARCONID_NAMELEN];
	int32_t		state;		/* enum ctl_pipe_state */
	int32_t		preference;
	int32_t		active;		/* carries the peer's traffic */
	int32_t		pid;		/* of the uplink process, 0 if none */
	uint32_t	restarts;	/* of the uplink process */
	struct sockaddr_storage	local;	/* AF_UNSPEC if unbound */
	struct sockaddr_storage	remote;	/* AF_UNSPEC if passive */
	uint32_t	rtt_us;
	uint32_t	jitter_us;
	uint32_t	loss_ppm;	/* parts per million, last window */
	uint64_t	ipackets;
	uint64_t	opackets;
	uint64_t	ibytes;
	uint64_t	obytes;
	uint64_t	drops;		/* all reasons */
	uint64_t	drop[DROP_MAX];	/* by reason, enum ctl_drop */
	int64_t		last_change;	/* seconds since the state changed */
	int64_t		key_age;	/* seconds since the last rekey, -1 */
	int32_t		admin_down;	/* marconictl pipe ... down */
	int32_t		pref_override;	/* preference set at run time */
	int32_t		preferred;	/* marconictl prefer */
	int64_t		up_for;		/* seconds up, -1 when not up */
	uint32_t	rekeys;		/* completed in this session */
	uint32_t	pmtu;		/* largest datagram that crosses */
	int32_t		initiator;	/* we opened the TLS session */
	struct sockaddr_storage	learned; /* peer's UDP address in use */
	uint32_t	suspects;	/* times it went suspect */
	uint64_t	suspect_ms;	/* time spent suspect */
	uint32_t	suspect_after_ms;	/* silence before suspect, now */
	uint32_t	down_after_ms;	/* silence before down, now */
	int32_t		probe_rank;	/* 1 leads, -1 follows, 0 equals */
	uint32_t	changes;	/* of state, suspect included */
	char		remote_name[MARCONID_HOSTLEN];	/* "" : an address */
	/* balance mode: what the far side reports, and the share */
	uint64_t	rate_rx;	/* bytes/s received, last window */
	uint64_t	rate_tx;	/* bytes/s sent, same window */
	uint64_t	rate_est;	/* bytes/s it is taken to carry, 0 */
	uint32_t	share;		/* permille of the peer's frames */
	int32_t		balance;	/* enum ctl_balance */
};

/* why a pipe of a balance-mode peer carries frames or not */
enum ctl_balance {
	CTL_BAL_NONE = 0,	/* the peer is not in balance mode */
	CTL_BAL_IN,		/* carries its share */
	CTL_BAL_STATE,		/* not up, or suspect */
	CTL_BAL_RTT,		/* its RTT is too long beside the best */
	CTL_BAL_SLOW,		/* too small a part of the sum */
};

struct ctl_peer {
	char		name[MARCONID_NAMELEN];
	char		fingerprint[MARCONID_FPRLEN];
	int32_t		mode;		/* enum ctl_mode */
	uint32_t	n_pipes;
	uint32_t	n_pipes_up;
	char		active[MARCONID_NAMELEN];	/* uplink, "" if none */
	int32_t		mode_override;	/* mode set at run time */
	uint32_t	holddown_ms;
	uint64_t	suspect_frames;	/* sent twice: active pipe suspect */
	uint64_t	resent_frames;	/* sent again: it went suspect */
	uint64_t	ipackets;
	uint64_t	opackets;
	uint64_t	ibytes;
	uint64_t	obytes;
	int64_t		last_change;
	/* balance mode: frames spread, and the reorder buffer */
	uint64_t	balance_frames;	/* sent spread over its pipes */
	uint64_t	reorder_held;	/* frames that waited */
	uint64_t	reorder_late;	/* came after their gap was given up */
	uint64_t	reorder_gaps;	/* gaps given up */
	uint64_t	reorder_lost;	/* numbers in those gaps */
	uint64_t	reorder_timeouts;	/* gaps given up at the wait */
	uint64_t	reorder_overflows;	/* gaps given up when full */
	uint32_t	reorder_now;	/* frames held now */
	uint32_t	reorder_wait_us;	/* the wait now */
	uint64_t	reorder_proven;	/* gaps every pipe went past */
};

/* IMSG_CTL_SHOW_MACS: an Ethernet address learned behind a peer */
struct ctl_mac {
	uint8_t		addr[6];
	uint8_t		pad[2];
	char		peer[MARCONID_NAMELEN];
	int64_t		age_ms;		/* since a frame came from it */
	uint32_t	timeout_ms;	/* forgotten at this age */
	uint32_t	n_macs;		/* in the table, and at most: */
	uint32_t	max_macs;
	uint32_t	pad2;
	uint64_t	refused;	/* not learned: the table was full */
};

const char	*ctl_pipe_state_name(int);
const char	*ctl_balance_name(int);
const char	*ctl_probe_role(int);
const char	*ctl_mode_name(int);
const char	*ctl_iftype_name(int);
const char	*ctl_result_text(int);
const char	*ctl_drop_name(int);

/* IMSG_CTL_MONITOR_EVENT: one state change, as it happens */
struct ctl_event {
	int64_t		time_ms;	/* wall clock, ms since the epoch */
	char		peer[MARCONID_NAMELEN];
	char		uplink[MARCONID_NAMELEN];	/* "" for a peer event */
	int32_t		old_state;	/* enum ctl_pipe_state */
	int32_t		new_state;
	char		reason[96];
};

#endif /* CTL_H */
