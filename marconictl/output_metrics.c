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

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconictl.h"

/*
 * The OpenMetrics back-end of show metrics, in the manner of bgpctl's.
 * The rows of the summary, interfaces, peers and pipes requests are
 * kept until the last end marker, then written family by family, as
 * the format wants every sample of a family together.  Every name
 * starts with marconid_; times are in seconds and sizes in bytes, as
 * the format asks; a counter's samples end in _total; the text ends
 * with "# EOF".  marconictl(8) lists every family: keep it in step.
 */

static void	 om_head(const struct parse_result *);
static void	 om_summary(const struct ctl_summary *);
static void	 om_iface(const struct ctl_iface *);
static void	 om_pipe(const struct ctl_pipe *);
static void	 om_peer(const struct ctl_peer *);
static void	 om_tail(const struct parse_result *);

static void	 family(const char *, const char *, const char *,
		    const char *);
static void	 label(const char *, const char *, int);
static void	 pipe_labels(const struct ctl_pipe *);
static void	 sample_u(const char *, uint64_t);
static void	 pipe_u(const char *, const struct ctl_pipe *, uint64_t);
static void	 pipe_fixed(const char *, const struct ctl_pipe *, uint64_t,
		    unsigned int);
static void	 print_fixed(uint64_t, unsigned int);
static int	 pipe_measured(const struct ctl_pipe *);

/* show metrics has neither a version() nor an event() call */
const struct output metrics_output = {
	.head = om_head,
	.summary = om_summary,
	.iface = om_iface,
	.pipe = om_pipe,
	.peer = om_peer,
	.tail = om_tail,
	/* errors as the text back-end says them, on stderr */
	.result = show_result,
};

static struct ctl_summary	 summary;
static int			 have_summary;
static struct ctl_iface		*ifaces;
static size_t			 n_ifaces;
static struct ctl_peer		*peers;
static size_t			 n_peers;
static struct ctl_pipe		*pipes;
static size_t			 n_pipes;

static const int pipe_states[] = {
	PIPE_STATE_DOWN,
	PIPE_STATE_CONNECTING,
	PIPE_STATE_UP,
	PIPE_STATE_SUSPECT,
	PIPE_STATE_DEGRADED,
	PIPE_STATE_DISABLED,
	PIPE_STATE_NOPROC,
};

static const int peer_modes[] = {
	CTL_MODE_FAILOVER,
	CTL_MODE_DUPLICATE,
	CTL_MODE_BALANCE,
};

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

static void
om_head(const struct parse_result *res)
{
	(void)res;
}

static void
om_summary(const struct ctl_summary *s)
{
	summary = *s;
	have_summary = 1;
}

static void
om_iface(const struct ctl_iface *i)
{
	ifaces = add_row(ifaces, &n_ifaces, sizeof(*i), i);
}

static void
om_pipe(const struct ctl_pipe *p)
{
	pipes = add_row(pipes, &n_pipes, sizeof(*p), p);
}

static void
om_peer(const struct ctl_peer *p)
{
	peers = add_row(peers, &n_peers, sizeof(*p), p);
}

static void
om_tail(const struct parse_result *res)
{
	const struct ctl_iface	*ifc;
	const struct ctl_peer	*pe;
	const struct ctl_pipe	*p;
	size_t			 i, j;
	int			 d;

	(void)res;

	/* the daemon */
	family("marconid_daemon", "info", NULL,
	    "The running marconid: its release in the version label.");
	if (have_summary) {
		printf("marconid_daemon_info{");
		label("version", summary.release, 1);
		printf("} 1\n");
	}
	family("marconid_uptime_seconds", "gauge", "seconds",
	    "Time since marconid started.");
	if (have_summary)
		sample_u("marconid_uptime_seconds",
		    summary.uptime < 0 ? 0 : (uint64_t)summary.uptime);
	family("marconid_reloads", "counter", NULL,
	    "Configuration reloads that succeeded.");
	if (have_summary)
		sample_u("marconid_reloads_total", summary.reloads);

	/* the interfaces, by the label interface */
#define IFACE_COUNTER(mname, mfield, munit, mhelp)			\
	family(mname, "counter", munit, mhelp);				\
	for (i = 0; i < n_ifaces; i++) {				\
		ifc = &ifaces[i];					\
		printf("%s_total{", mname);				\
		label("interface", ifc->name, 1);			\
		printf("} %llu\n", (unsigned long long)ifc->mfield);	\
	}
	family("marconid_interface_up", "gauge", NULL,
	    "1 when the engine holds the interface's device, else 0.");
	for (i = 0; i < n_ifaces; i++) {
		printf("marconid_interface_up{");
		label("interface", ifaces[i].name, 1);
		printf("} %d\n", ifaces[i].up ? 1 : 0);
	}
	IFACE_COUNTER("marconid_interface_in_packets", ipackets, NULL,
	    "Packets read from the interface (to send to the peers).");
	IFACE_COUNTER("marconid_interface_out_packets", opackets, NULL,
	    "Packets written to the interface (received from the peers).");
	IFACE_COUNTER("marconid_interface_in_bytes", ibytes, "bytes",
	    "Bytes read from the interface.");
	IFACE_COUNTER("marconid_interface_out_bytes", obytes, "bytes",
	    "Bytes written to the interface.");
#undef IFACE_COUNTER

	/* the peers, by the label peer */
#define PEER_VALUE(mname, mtype, msfx, mfield, munit, mhelp)		\
	family(mname, mtype, munit, mhelp);				\
	for (i = 0; i < n_peers; i++) {					\
		pe = &peers[i];						\
		printf("%s%s{", mname, msfx);				\
		label("peer", pe->name, 1);				\
		printf("} %llu\n", (unsigned long long)(mfield));	\
	}
	family("marconid_peer_mode", "stateset", NULL,
	    "The peer's mode: failover, duplicate or balance.");
	for (i = 0; i < n_peers; i++)
		for (j = 0; j < NELEMS(peer_modes); j++) {
			printf("marconid_peer_mode{");
			label("peer", peers[i].name, 1);
			label("marconid_peer_mode",
			    ctl_mode_name(peer_modes[j]), 0);
			printf("} %d\n", peers[i].mode == peer_modes[j]);
		}
	family("marconid_peer_active_pipe", "info", NULL,
	    "The pipe that carries the peer's traffic, by its uplink "
	    "label: none when no pipe is up, every up pipe in duplicate "
	    "mode.");
	for (i = 0; i < n_pipes; i++) {
		p = &pipes[i];
		if (!p->active)
			continue;
		printf("marconid_peer_active_pipe_info{");
		pipe_labels(p);
		printf("} 1\n");
	}
	PEER_VALUE("marconid_peer_pipes", "gauge", "", pe->n_pipes, NULL,
	    "Pipes configured to the peer.");
	PEER_VALUE("marconid_peer_pipes_up", "gauge", "", pe->n_pipes_up,
	    NULL, "Pipes to the peer that are up (suspect and degraded "
	    "included).");
	PEER_VALUE("marconid_peer_in_packets", "counter", "_total",
	    pe->ipackets, NULL, "Frames received from the peer, over all "
	    "its pipes (probes not counted).");
	PEER_VALUE("marconid_peer_out_packets", "counter", "_total",
	    pe->opackets, NULL, "Frames sent to the peer, over all its "
	    "pipes (probes not counted).");
	PEER_VALUE("marconid_peer_in_bytes", "counter", "_total",
	    pe->ibytes, "bytes", "Bytes of the frames received from the "
	    "peer.");
	PEER_VALUE("marconid_peer_out_bytes", "counter", "_total",
	    pe->obytes, "bytes", "Bytes of the frames sent to the peer.");
	PEER_VALUE("marconid_peer_suspect_frames", "counter", "_total",
	    pe->suspect_frames, NULL, "Frames also sent over the next pipe "
	    "because the active one was suspect.");
	PEER_VALUE("marconid_peer_resent_frames", "counter", "_total",
	    pe->resent_frames, NULL, "Frames sent again over the next pipe "
	    "when the active one went suspect, those it may have lost.");
	PEER_VALUE("marconid_peer_last_change_seconds", "gauge", "",
	    pe->last_change < 0 ? 0 : pe->last_change, "seconds",
	    "Time since the peer's active pipe last changed.");
#undef PEER_VALUE

	/* the pipes, by the labels peer and uplink */
	family("marconid_pipe_state", "stateset", NULL,
	    "The pipe's state: down, connecting, up, suspect, degraded, "
	    "disabled or noproc.");
	for (i = 0; i < n_pipes; i++)
		for (j = 0; j < NELEMS(pipe_states); j++) {
			printf("marconid_pipe_state{");
			pipe_labels(&pipes[i]);
			label("marconid_pipe_state",
			    ctl_pipe_state_name(pipe_states[j]), 0);
			printf("} %d\n", pipes[i].state == pipe_states[j]);
		}
	family("marconid_pipe_active", "gauge", NULL,
	    "1 when the pipe carries the peer's traffic, else 0.");
	for (i = 0; i < n_pipes; i++)
		pipe_u("marconid_pipe_active", &pipes[i],
		    pipes[i].active ? 1 : 0);
	family("marconid_pipe_preference", "gauge", NULL,
	    "The pipe's preference in failover, lower first.");
	for (i = 0; i < n_pipes; i++)
		pipe_u("marconid_pipe_preference", &pipes[i],
		    pipes[i].preference < 0 ? 0 : pipes[i].preference);

	/* measured only while the pipe is up: no sample otherwise */
	family("marconid_pipe_rtt_seconds", "gauge", "seconds",
	    "Smoothed round-trip time of the probes; only while up.");
	for (i = 0; i < n_pipes; i++)
		if (pipe_measured(&pipes[i]))
			pipe_fixed("marconid_pipe_rtt_seconds", &pipes[i],
			    pipes[i].rtt_us, 6);
	family("marconid_pipe_jitter_seconds", "gauge", "seconds",
	    "Variation of the round-trip time; only while up.");
	for (i = 0; i < n_pipes; i++)
		if (pipe_measured(&pipes[i]))
			pipe_fixed("marconid_pipe_jitter_seconds", &pipes[i],
			    pipes[i].jitter_us, 6);
	family("marconid_pipe_loss_ratio", "gauge", "ratio",
	    "Share of probes lost in the last window, 0 to 1; only while "
	    "up.");
	for (i = 0; i < n_pipes; i++)
		if (pipe_measured(&pipes[i]))
			pipe_fixed("marconid_pipe_loss_ratio", &pipes[i],
			    pipes[i].loss_ppm, 6);

#define PIPE_COUNTER(mname, mfield, munit, mhelp)			\
	family(mname, "counter", munit, mhelp);				\
	for (i = 0; i < n_pipes; i++)					\
		pipe_u(mname "_total", &pipes[i], pipes[i].mfield);
	PIPE_COUNTER("marconid_pipe_in_packets", ipackets, NULL,
	    "Frames received on the pipe (probes not counted).");
	PIPE_COUNTER("marconid_pipe_out_packets", opackets, NULL,
	    "Frames sent on the pipe (probes not counted).");
	PIPE_COUNTER("marconid_pipe_in_bytes", ibytes, "bytes",
	    "Bytes of the frames received on the pipe.");
	PIPE_COUNTER("marconid_pipe_out_bytes", obytes, "bytes",
	    "Bytes of the frames sent on the pipe.");
	family("marconid_pipe_drops", "counter", NULL,
	    "Datagrams or frames the pipe dropped, by reason.");
	for (i = 0; i < n_pipes; i++)
		for (d = 0; d < DROP_MAX; d++) {
			printf("marconid_pipe_drops_total{");
			pipe_labels(&pipes[i]);
			label("reason", ctl_drop_name(d), 0);
			printf("} %llu\n",
			    (unsigned long long)pipes[i].drop[d]);
		}
	PIPE_COUNTER("marconid_pipe_state_changes", changes, NULL,
	    "Changes of the pipe's state, to and from suspect included.");
	PIPE_COUNTER("marconid_pipe_suspects", suspects, NULL,
	    "Times the pipe went suspect.");
	family("marconid_pipe_suspect_seconds", "counter", "seconds",
	    "Time the pipe spent suspect.");
	for (i = 0; i < n_pipes; i++)
		pipe_fixed("marconid_pipe_suspect_seconds_total", &pipes[i],
		    pipes[i].suspect_ms, 3);
	PIPE_COUNTER("marconid_pipe_restarts", restarts, NULL,
	    "Restarts of the pipe's uplink process.");
#undef PIPE_COUNTER
	family("marconid_pipe_last_change_seconds", "gauge", "seconds",
	    "Time since the pipe's state last changed (a suspect spell "
	    "aside).");
	for (i = 0; i < n_pipes; i++)
		pipe_u("marconid_pipe_last_change_seconds", &pipes[i],
		    pipes[i].last_change < 0 ? 0 : pipes[i].last_change);

	printf("# EOF\n");

	free(ifaces);
	free(peers);
	free(pipes);
}

/* HELP, TYPE and, for a family with a unit, UNIT */
static void
family(const char *name, const char *type, const char *unit,
    const char *help)
{
	printf("# HELP %s %s\n", name, help);
	printf("# TYPE %s %s\n", name, type);
	if (unit != NULL)
		printf("# UNIT %s %s\n", name, unit);
}

/* name="value", escaped as the format says, after a comma unless first */
static void
label(const char *name, const char *value, int first)
{
	const char	*s;

	printf("%s%s=\"", first ? "" : ",", name);
	for (s = value; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		default:
			putchar((unsigned char)*s);
		}
	}
	putchar('"');
}

static void
pipe_labels(const struct ctl_pipe *p)
{
	label("peer", p->peer, 1);
	label("uplink", p->uplink, 0);
}

static void
sample_u(const char *name, uint64_t v)
{
	printf("%s %llu\n", name, (unsigned long long)v);
}

static void
pipe_u(const char *name, const struct ctl_pipe *p, uint64_t v)
{
	printf("%s{", name);
	pipe_labels(p);
	printf("} %llu\n", (unsigned long long)v);
}

/* v in units of 10^-decimals: a fixed-point number, never rounded */
static void
pipe_fixed(const char *name, const struct ctl_pipe *p, uint64_t v,
    unsigned int decimals)
{
	printf("%s{", name);
	pipe_labels(p);
	printf("} ");
	print_fixed(v, decimals);
	putchar('\n');
}

static void
print_fixed(uint64_t v, unsigned int decimals)
{
	uint64_t	 scale = 1;
	unsigned int	 i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	printf("%llu.%0*llu", (unsigned long long)(v / scale), (int)decimals,
	    (unsigned long long)(v % scale));
}

/* as show pipes: RTT, jitter and loss mean something only while up */
static int
pipe_measured(const struct ctl_pipe *p)
{
	return (p->state == PIPE_STATE_UP || p->state == PIPE_STATE_SUSPECT ||
	    p->state == PIPE_STATE_DEGRADED);
}
