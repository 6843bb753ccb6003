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

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marconictl.h"

#define AF_SET(ss)	((ss)->ss_family == AF_INET || \
			    (ss)->ss_family == AF_INET6)

/*
 * The text back-end.  Rows are kept until the end marker so that the
 * name columns can be as wide as the longest name; every other column
 * has a fixed width.
 */

static void	 show_head(const struct parse_result *);
static void	 show_summary(const struct ctl_summary *);
static void	 show_version(const struct ctl_summary *);
static void	 show_iface(const struct ctl_iface *);
static void	 show_pipe(const struct ctl_pipe *);
static void	 show_peer(const struct ctl_peer *);
static void	 show_route(const struct ctl_route *);
static void	 show_mac(const struct ctl_mac *);
static void	 show_event(const struct ctl_event *);
static void	 show_tail(const struct parse_result *);
static void	 show_pipe_detail(const struct ctl_pipe *);
static const char *pipe_flags(const struct ctl_pipe *, char *, size_t);
static const char *fmt_share(const struct ctl_pipe *, char *, size_t);
static const char *fmt_rate(uint64_t, char *, size_t);
static int	 width(int, const char *);

const struct output show_output = {
	.head = show_head,
	.summary = show_summary,
	.version = show_version,
	.iface = show_iface,
	.pipe = show_pipe,
	.peer = show_peer,
	.route = show_route,
	.mac = show_mac,
	.event = show_event,
	.tail = show_tail,
	.result = show_result,
};

static struct ctl_iface	*ifaces;
static size_t		 n_ifaces;
static struct ctl_pipe	*pipes;
static size_t		 n_pipes;
static struct ctl_peer	*peers;
static size_t		 n_peers;
static struct ctl_route	*routes;
static size_t		 n_routes;
static struct ctl_mac	*macs;
static size_t		 n_macs;

static void
show_head(const struct parse_result *res)
{
	(void)res;
}

static void
show_summary(const struct ctl_summary *s)
{
	char	 t1[32], t2[32];

	printf("%-15s %d\n", "pid:", s->pid);
	printf("%-15s %s\n", "uptime:", fmt_timeframe(s->uptime, t1,
	    sizeof(t1)));
	printf("%-15s %s\n", "configuration:", s->conffile);
	if (s->reloads == 0)
		printf("%-15s 0\n", "reloads:");
	else
		printf("%-15s %u, last %s ago\n", "reloads:", s->reloads,
		    fmt_timeframe(s->since_reload, t1, sizeof(t1)));
	printf("%-15s %u\n", "interfaces:", s->n_ifaces);
	printf("%-15s %u\n", "uplinks:", s->n_uplinks);
	printf("%-15s %u\n", "peers:", s->n_peers);
	printf("%-15s %u, %u up\n", "pipes:", s->n_pipes, s->n_pipes_up);
	printf("%-15s %s\n", "log level:", verbose_name(s->verbose, t2,
	    sizeof(t2)));
}

static void
show_version(const struct ctl_summary *s)
{
	printf("marconictl %s\n", MARCONID_VERSION);
	printf("marconid %s\n", s->release);
}

static void
show_iface(const struct ctl_iface *i)
{
	ifaces = add_row(ifaces, &n_ifaces, sizeof(*i), i);
}

static void
show_pipe(const struct ctl_pipe *p)
{
	pipes = add_row(pipes, &n_pipes, sizeof(*p), p);
}

static void
show_peer(const struct ctl_peer *p)
{
	peers = add_row(peers, &n_peers, sizeof(*p), p);
}

static void
show_route(const struct ctl_route *r)
{
	routes = add_row(routes, &n_routes, sizeof(*r), r);
}

static void
show_mac(const struct ctl_mac *m)
{
	macs = add_row(macs, &n_macs, sizeof(*m), m);
}

/*
 * monitor: "2026-11-24 09:30:01.123 site-b isp1: up -> down (reason)"
 * for a pipe, "... site-b: reason" for the peer as a whole.
 */
static void
show_event(const struct ctl_event *e)
{
	char	 tbuf[32];

	printf("%s %s", fmt_time_ms(e->time_ms, 0, tbuf, sizeof(tbuf)),
	    e->peer);
	if (e->uplink[0] == '\0') {
		printf(": %s\n", e->reason);
		return;
	}
	printf(" %s: %s -> %s", e->uplink, ctl_pipe_state_name(e->old_state),
	    ctl_pipe_state_name(e->new_state));
	if (e->reason[0] != '\0')
		printf(" (%s)", e->reason);
	putchar('\n');
}

static void
show_tail(const struct parse_result *res)
{
	char	 b1[16], b2[16], b3[16], b4[16], b5[16], b6[16], b7[16];
	char	 b8[16], b9[16], b10[16], b11[16], b12[16], b13[16];
	char	 pbuf[NI_MAXHOST + 8];
	size_t	 i;
	int	 w1, w2, overrides;

	switch (res->action) {
	case SHOW_INTERFACES:
		w1 = width(0, "IFACE");
		for (i = 0; i < n_ifaces; i++)
			w1 = width(w1, ifaces[i].name);
		printf("%-*s %-4s %5s %-5s %8s %8s %8s %9s %s\n", w1,
		    "IFACE", "TYPE", "MTU", "STATE", "IN-PKTS", "OUT-PKTS",
		    "IN-BYTES", "OUT-BYTES", "ADDRESSES");
		for (i = 0; i < n_ifaces; i++) {
			struct ctl_iface *f = &ifaces[i];

			printf("%-*s %-4s %5u %-5s %8s %8s %8s %9s %s\n", w1,
			    f->name, ctl_iftype_name(f->type), f->mtu,
			    f->up ? "up" : "down",
			    fmt_count(f->ipackets, 1000, b1, sizeof(b1)),
			    fmt_count(f->opackets, 1000, b2, sizeof(b2)),
			    fmt_count(f->ibytes, 1024, b3, sizeof(b3)),
			    fmt_count(f->obytes, 1024, b4, sizeof(b4)),
			    f->addrs[0] != '\0' ? f->addrs : "-");
		}
		for (i = 0; i < n_ifaces; i++) {
			struct ctl_iface *f = &ifaces[i];

			if (f->type != CTL_IF_TUN)
				continue;
			printf("%s: dropped %llu to no peer's network, %llu "
			    "from a peer with a source not its own, %llu "
			    "not IP\n", f->name,
			    (unsigned long long)f->noroute,
			    (unsigned long long)f->badsource,
			    (unsigned long long)f->notip);
		}
		break;
	case SHOW_ROUTES:
		w1 = width(0, "PREFIX");
		w2 = width(0, "PEER");
		for (i = 0; i < n_routes; i++) {
			w1 = width(w1, fmt_prefix(&routes[i].prefix,
			    routes[i].prefixlen, pbuf, sizeof(pbuf)));
			w2 = width(w2, routes[i].peer);
		}
		printf("%-*s %-*s %-5s %-6s %8s %8s %8s\n", w1, "PREFIX", w2,
		    "PEER", "STATE", "KERNEL", "PKTS", "BYTES", "REFUSED");
		for (i = 0; i < n_routes; i++) {
			struct ctl_route *r = &routes[i];

			printf("%-*s %-*s %-5s %-6s %8s %8s %8s\n", w1,
			    fmt_prefix(&r->prefix, r->prefixlen, pbuf,
			    sizeof(pbuf)), w2, r->peer,
			    r->peer_up ? "up" : "down",
			    r->implicit ? "-" : r->kernel ? "yes" : "no",
			    fmt_count(r->packets, 1000, b1, sizeof(b1)),
			    fmt_count(r->bytes, 1024, b2, sizeof(b2)),
			    fmt_count(r->badsource, 1000, b3, sizeof(b3)));
		}
		break;
	case SHOW_PIPES:
		w1 = width(0, "PEER");
		w2 = width(0, "UPLINK");
		for (i = 0; i < n_pipes; i++) {
			w1 = width(w1, pipes[i].peer);
			w2 = width(w2, pipes[i].uplink);
		}
		printf("%-*s %-*s %-10s %4s %3s %-5s %7s %7s %6s %8s %8s %8s "
		    "%9s %6s %8s %11s %5s %8s\n", w1, "PEER", w2, "UPLINK",
		    "STATE", "PREF", "ACT", "FLAGS", "RTT", "JITTER", "LOSS",
		    "IN-PKTS", "OUT-PKTS", "IN-BYTES", "OUT-BYTES", "DROPS",
		    "KEY", "LAST-CHANGE", "SHARE", "RATE");
		for (i = 0; i < n_pipes; i++) {
			struct ctl_pipe *p = &pipes[i];
			int		 measured;

			/* a pipe that is not up has nothing to measure */
			measured = p->state == PIPE_STATE_UP ||
			    p->state == PIPE_STATE_SUSPECT ||
			    p->state == PIPE_STATE_DEGRADED;
			printf("%-*s %-*s %-10s %4d %3s %-5s %7s %7s %6s %8s "
			    "%8s %8s %9s %6s %8s %11s %5s %8s\n", w1, p->peer,
			    w2,
			    p->uplink,
			    ctl_pipe_state_name(p->state), p->preference,
			    p->active ? "* " : "",
			    pipe_flags(p, b11, sizeof(b11)),
			    measured ? fmt_usec(p->rtt_us, b1, sizeof(b1)) :
			    "-",
			    measured ? fmt_usec(p->jitter_us, b2, sizeof(b2)) :
			    "-",
			    measured ? fmt_ppm(p->loss_ppm, b3, sizeof(b3)) :
			    "-",
			    fmt_count(p->ipackets, 1000, b4, sizeof(b4)),
			    fmt_count(p->opackets, 1000, b5, sizeof(b5)),
			    fmt_count(p->ibytes, 1024, b6, sizeof(b6)),
			    fmt_count(p->obytes, 1024, b7, sizeof(b7)),
			    fmt_count(p->drops, 1000, b8, sizeof(b8)),
			    fmt_timeframe(p->key_age, b9, sizeof(b9)),
			    fmt_timeframe(p->last_change, b10, sizeof(b10)),
			    fmt_share(p, b12, sizeof(b12)),
			    p->rate_rx != 0 || p->balance != CTL_BAL_NONE ?
			    fmt_rate(p->rate_rx, b13, sizeof(b13)) : "-");
		}
		break;
	case SHOW_PIPES_DETAIL:
		for (i = 0; i < n_pipes; i++) {
			if (i > 0)
				putchar('\n');
			show_pipe_detail(&pipes[i]);
		}
		break;
	case SHOW_PEERS:
		w1 = width(0, "PEER");
		w2 = width(0, "ACTIVE");
		for (i = 0; i < n_peers; i++) {
			w1 = width(w1, peers[i].name);
			w2 = width(w2, peers[i].active);
		}
		printf("%-*s %-10s %5s %-*s %9s %8s %9s %11s %6s %6s %8s\n",
		    w1, "PEER", "MODE", "PIPES", w2, "ACTIVE", "HOLD-DOWN",
		    "IN-BYTES", "OUT-BYTES", "LAST-CHANGE", "HELD", "LATE",
		    "GIVEN-UP");
		overrides = 0;
		for (i = 0; i < n_peers; i++) {
			struct ctl_peer *p = &peers[i];

			/* a mode set with marconictl is marked, see below */
			snprintf(b5, sizeof(b5), "%s%s", ctl_mode_name(p->mode),
			    p->mode_override ? "*" : "");
			if (p->mode_override)
				overrides = 1;
			snprintf(b1, sizeof(b1), "%u/%u", p->n_pipes_up,
			    p->n_pipes);
			printf("%-*s %-10s %5s %-*s %9s %8s %9s %11s %6s %6s "
			    "%8s\n", w1, p->name, b5, b1, w2,
			    p->active[0] != '\0' ? p->active : "-",
			    fmt_msec(p->holddown_ms, b6, sizeof(b6)),
			    fmt_count(p->ibytes, 1024, b2, sizeof(b2)),
			    fmt_count(p->obytes, 1024, b3, sizeof(b3)),
			    fmt_timeframe(p->last_change, b4, sizeof(b4)),
			    fmt_count(p->reorder_held, 1000, b7, sizeof(b7)),
			    fmt_count(p->reorder_late, 1000, b8, sizeof(b8)),
			    fmt_count(p->reorder_gaps, 1000, b9, sizeof(b9)));
		}
		if (overrides)
			printf("* set at run time\n");
		break;
	case SHOW_MACS:
		w1 = width(0, "PEER");
		for (i = 0; i < n_macs; i++)
			w1 = width(w1, macs[i].peer);
		printf("%-17s %-*s %6s\n", "ADDRESS", w1, "PEER", "AGE");
		for (i = 0; i < n_macs; i++) {
			struct ctl_mac *m = &macs[i];

			printf("%02x:%02x:%02x:%02x:%02x:%02x %-*s %6s\n",
			    m->addr[0], m->addr[1], m->addr[2], m->addr[3],
			    m->addr[4], m->addr[5], w1, m->peer,
			    fmt_msec(m->age_ms < 0 ? 0 : m->age_ms > UINT32_MAX ?
			    UINT32_MAX : (uint32_t)m->age_ms, b1, sizeof(b1)));
		}
		if (n_macs > 0) {
			printf("%u of at most %u addresses, forgotten after "
			    "%s without a frame\n", macs[0].n_macs,
			    macs[0].max_macs, fmt_msec(macs[0].timeout_ms, b2,
			    sizeof(b2)));
			if (macs[0].refused > 0)
				printf("%llu not learned: the table was full\n",
				    (unsigned long long)macs[0].refused);
		}
		break;
	default:
		break;
	}
}

/*
 * show pipes detail: every field of a pipe, one "key: value" line
 * each, counters in full.
 */
static void
show_pipe_detail(const struct ctl_pipe *p)
{
	char		 buf[NI_MAXHOST + NI_MAXSERV + 4];
	int		 i, measured, session;

	measured = p->state == PIPE_STATE_UP ||
	    p->state == PIPE_STATE_SUSPECT ||
	    p->state == PIPE_STATE_DEGRADED;
	/* down, disabled or without a process, there is no session */
	session = measured || p->state == PIPE_STATE_CONNECTING;

	printf("%-15s %s\n", "peer:", p->peer);
	printf("%-15s %s\n", "uplink:", p->uplink);
	printf("%-15s %s\n", "state:", ctl_pipe_state_name(p->state));
	printf("%-15s %s\n", "last change:", fmt_timeframe(p->last_change,
	    buf, sizeof(buf)));
	printf("%-15s %s\n", "up for:", p->up_for < 0 ? "not up" :
	    fmt_timeframe(p->up_for, buf, sizeof(buf)));
	printf("%-15s %d\n", "preference:", p->preference);
	printf("%-15s %s\n", "pref override:", p->pref_override ?
	    "yes, set at run time" : "no");
	printf("%-15s %s\n", "preferred:", p->preferred ? "yes" : "no");
	printf("%-15s %s\n", "admin down:", p->admin_down ? "yes" : "no");
	printf("%-15s %s\n", "active:", p->active ? "yes" : "no");
	if (p->pid != 0)
		printf("%-15s pid %d\n", "process:", p->pid);
	else
		printf("%-15s none\n", "process:");
	printf("%-15s %u\n", "restarts:", p->restarts);
	printf("%-15s %s\n", "local:", AF_SET(&p->local) ?
	    fmt_addr(&p->local, buf, sizeof(buf)) : "unbound");
	if (p->remote_name[0] != '\0')
		printf("%-15s %.*s (%s)\n", "remote:",
		    (int)sizeof(p->remote_name), p->remote_name,
		    AF_SET(&p->remote) ? fmt_addr(&p->remote, buf,
		    sizeof(buf)) : "not resolved yet");
	else
		printf("%-15s %s\n", "remote:", AF_SET(&p->remote) ?
		    fmt_addr(&p->remote, buf, sizeof(buf)) : "passive");
	printf("%-15s %s\n", "learned:", AF_SET(&p->learned) ?
	    fmt_addr(&p->learned, buf, sizeof(buf)) : "none");
	printf("%-15s %s\n", "session:", !session ? "none" :
	    p->initiator ? "initiator" : "responder");
	printf("%-15s %s\n", "key age:", p->key_age < 0 ? "no keys" :
	    fmt_timeframe(p->key_age, buf, sizeof(buf)));
	printf("%-15s %u\n", "rekeys:", p->rekeys);
	if (p->pmtu != 0)
		printf("%-15s %u\n", "path MTU:", p->pmtu);
	else
		printf("%-15s unknown\n", "path MTU:");
	printf("%-15s %s\n", "rtt:", measured ? fmt_usec(p->rtt_us, buf,
	    sizeof(buf)) : "-");
	printf("%-15s %s\n", "jitter:", measured ? fmt_usec(p->jitter_us,
	    buf, sizeof(buf)) : "-");
	printf("%-15s %s\n", "loss:", measured ? fmt_ppm(p->loss_ppm, buf,
	    sizeof(buf)) : "-");
	printf("%-15s %s\n", "suspect after:", p->suspect_after_ms != 0 ?
	    fmt_msec(p->suspect_after_ms, buf, sizeof(buf)) : "-");
	printf("%-15s %s\n", "down after:", p->down_after_ms != 0 ?
	    fmt_msec(p->down_after_ms, buf, sizeof(buf)) : "-");
	printf("%-15s %s\n", "probes:", ctl_probe_role(p->probe_rank));
	if (p->balance != CTL_BAL_NONE) {
		printf("%-15s %s\n", "balance:", ctl_balance_name(p->balance));
		printf("%-15s %s\n", "share:", fmt_share(p, buf,
		    sizeof(buf)));
		printf("%-15s %s\n", "carries:", p->rate_est != 0 ?
		    fmt_rate(p->rate_est, buf, sizeof(buf)) : "not measured");
	}
	printf("%-15s %s received of ", "rate:",
	    fmt_rate(p->rate_rx, buf, sizeof(buf)));
	printf("%s sent\n", fmt_rate(p->rate_tx, buf, sizeof(buf)));
	printf("%-15s %u times, %s\n", "suspect:", p->suspects,
	    fmt_msec(p->suspect_ms > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)p->suspect_ms, buf, sizeof(buf)));
	printf("%-15s %u\n", "state changes:", p->changes);
	printf("%-15s %llu packets, %llu bytes\n", "in:",
	    (unsigned long long)p->ipackets, (unsigned long long)p->ibytes);
	printf("%-15s %llu packets, %llu bytes\n", "out:",
	    (unsigned long long)p->opackets, (unsigned long long)p->obytes);
	printf("%-15s %llu\n", "drops:", (unsigned long long)p->drops);
	for (i = 0; i < DROP_MAX; i++) {
		snprintf(buf, sizeof(buf), "  %s:", ctl_drop_name(i));
		printf("%-15s %llu\n", buf, (unsigned long long)p->drop[i]);
	}
}

int
show_result(const struct parse_result *res, const struct ctl_result *cr,
    const char *msg)
{
	if (cr->code == CTL_RES_OK) {
		switch (res->action) {
		case RELOAD:
		case LOG_VERBOSE:
		case LOG_BRIEF:
		case PREFER:
		case PIPE_DOWN:
		case PIPE_UP:
		case PIPE_PREFERENCE:
		case SET_MODE_FAILOVER:
		case SET_MODE_DUPLICATE:
		case SET_MODE_BALANCE:
		case RESET:
			printf("%s: ok\n", res->command);
			break;
		default:
			break;
		}
		/* done, with something the operator must know */
		if (msg[0] != '\0')
			warnx("%s: %s", res->command, msg);
		return (0);
	}

	if (msg[0] == '\0')
		warnx("%s: %s", res->command, ctl_result_text(cr->code));
	else if (strchr(msg, '\n') == NULL)
		warnx("%s: %s: %s", res->command, ctl_result_text(cr->code),
		    msg);
	else {
		/* several lines, e.g. every error in the configuration */
		warnx("%s: %s:", res->command, ctl_result_text(cr->code));
		fputs(msg, stderr);
		if (msg[strlen(msg) - 1] != '\n')
			fputc('\n', stderr);
	}
	return (1);
}

/* A balance share in percent, "-" outside balance mode. */
static const char *
fmt_share(const struct ctl_pipe *p, char *buf, size_t len)
{
	if (p->balance == CTL_BAL_NONE)
		strlcpy(buf, "-", len);
	else
		snprintf(buf, len, "%u%%", (p->share + 5) / 10);
	return (buf);
}

/* bytes a second as bits a second: "94.1M", "800k", "0" */
static const char *
fmt_rate(uint64_t bytes, char *buf, size_t len)
{
	uint64_t	 b = bytes * 8;

	if (b >= 1000000000)
		snprintf(buf, len, "%.1fG", b / 1e9);
	else if (b >= 1000000)
		snprintf(buf, len, "%.1fM", b / 1e6);
	else if (b >= 1000)
		snprintf(buf, len, "%.1fk", b / 1e3);
	else
		snprintf(buf, len, "%llu", (unsigned long long)b);
	return (buf);
}

/*
 * The run-time overrides of a pipe, "-" if none: P preferred with
 * prefer, O preference overridden, D administratively down.
 */
static const char *
pipe_flags(const struct ctl_pipe *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", p->preferred ? "P" : "",
	    p->pref_override ? "O" : "", p->admin_down ? "D" : "");
	if (buf[0] == '\0')
		strlcpy(buf, "-", len);
	return (buf);
}

void *
add_row(void *rows, size_t *n, size_t size, const void *row)
{
	char	*p;

	if ((p = reallocarray(rows, *n + 1, size)) == NULL)
		err(1, NULL);
	memcpy(p + *n * size, row, size);
	(*n)++;
	return (p);
}

static int
width(int w, const char *s)
{
	size_t	 len = strlen(s);

	return (len > (size_t)w ? (int)len : w);
}

/* Helpers shared with the JSON back-end. */

/* "192.0.2.1:7455", "[2001:db8::1]:7455", "-" if unset */
/* "198.19.2.0/24", "2001:db8::/32" */
const char *
fmt_prefix(const struct sockaddr_storage *ss, uint32_t plen, char *buf,
    size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const void	*a;

	switch (ss->ss_family) {
	case AF_INET:
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		break;
	case AF_INET6:
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		break;
	default:
		snprintf(buf, len, "?");
		return (buf);
	}
	if (inet_ntop(ss->ss_family, a, host, sizeof(host)) == NULL)
		strlcpy(host, "?", sizeof(host));
	snprintf(buf, len, "%s/%u", host, plen);
	return (buf);
}

const char *
fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char		 host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t	 salen;

	switch (ss->ss_family) {
	case AF_INET:
		salen = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		salen = sizeof(struct sockaddr_in6);
		break;
	default:
		strlcpy(buf, "-", len);
		return (buf);
	}

	if (getnameinfo((const struct sockaddr *)ss, salen, host,
	    sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strlcpy(buf, "?", len);
		return (buf);
	}
	if (strcmp(serv, "0") == 0)
		strlcpy(buf, host, len);
	else if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
	return (buf);
}

/* 00:01:05 under a day, 3d04h under a week, then 2w3d04h */
const char *
fmt_timeframe(int64_t t, char *buf, size_t len)
{
	unsigned long long	 sec, min, hrs, day, week;

	if (t < 0) {
		strlcpy(buf, "-", len);
		return (buf);
	}
	sec = t % 60;
	min = t / 60 % 60;
	hrs = t / 3600 % 24;
	day = t / 86400;
	week = day / 7;

	if (day == 0)
		snprintf(buf, len, "%02llu:%02llu:%02llu", hrs, min, sec);
	else if (week == 0)
		snprintf(buf, len, "%llud%02lluh", day, hrs);
	else
		snprintf(buf, len, "%lluw%llud%02lluh", week, day % 7, hrs);
	return (buf);
}

/* 0.3ms, 12.3ms, 250ms, 12.5s */
const char *
fmt_usec(uint32_t us, char *buf, size_t len)
{
	if (us < 99950)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else if (us < 9999500)
		snprintf(buf, len, "%.0fms", us / 1000.0);
	else
		snprintf(buf, len, "%.1fs", us / 1000000.0);
	return (buf);
}

/* 0, 800ms, 3s, 1.5s */
const char *
fmt_msec(uint32_t ms, char *buf, size_t len)
{
	if (ms == 0)
		strlcpy(buf, "0", len);
	else if (ms < 1000)
		snprintf(buf, len, "%ums", ms);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%.1fs", ms / 1000.0);
	return (buf);
}

/*
 * Milliseconds since the epoch as "2026-11-24 09:30:01.123" in local
 * time, or with utc as "2026-11-24T09:30:01.123Z" (ISO 8601).
 */
const char *
fmt_time_ms(int64_t ms, int utc, char *buf, size_t len)
{
	struct tm	*tm;
	time_t		 t;
	int		 frac;
	char		 sec[24];

	/* round towards the past, also before 1970 */
	t = ms / 1000;
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		t--;
	}
	if ((tm = utc ? gmtime(&t) : localtime(&t)) == NULL ||
	    strftime(sec, sizeof(sec), utc ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%d %H:%M:%S", tm) == 0) {
		snprintf(buf, len, "@%lld.%03d", (long long)t, frac);
		return (buf);
	}
	snprintf(buf, len, "%s.%03d%s", sec, frac, utc ? "Z" : "");
	return (buf);
}

/* parts per million as a percentage: 0.5%, <0.1% for a trace */
const char *
fmt_ppm(uint32_t ppm, char *buf, size_t len)
{
	if (ppm == 0)
		strlcpy(buf, "0.0%", len);
	else if (ppm < 500)
		strlcpy(buf, "<0.1%", len);
	else if (ppm >= 1000000)
		strlcpy(buf, "100%", len);
	else
		snprintf(buf, len, "%.1f%%", ppm / 10000.0);
	return (buf);
}

/* 999, 12.3K, 1.2M: base 1000 for counts, 1024 for bytes */
const char *
fmt_count(uint64_t v, int base, char *buf, size_t len)
{
	static const char	 units[] = "KMGTPE";
	double			 d = v;
	int			 u = -1;

	if (v < (uint64_t)base) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return (buf);
	}
	/* stop before "1000.0K" would be printed */
	while (d >= base - 0.05 && units[u + 1] != '\0') {
		d /= base;
		u++;
	}
	snprintf(buf, len, "%.1f%c", d, units[u]);
	return (buf);
}

const char *
verbose_name(uint32_t v, char *buf, size_t len)
{
	switch (v) {
	case 0:
		strlcpy(buf, "brief", len);
		break;
	case 1:
		strlcpy(buf, "verbose", len);
		break;
	default:
		snprintf(buf, len, "verbose (%u)", v);
		break;
	}
	return (buf);
}
