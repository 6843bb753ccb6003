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
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconictl.h"

/*
 * The JSON back-end: one document per command, written as the rows
 * come in by a small streaming emitter that keeps only the stack of
 * open objects and arrays.  monitor is the exception: one compact
 * object per line and per event (NDJSON), as the events never end.
 */

/* the emitter */
static void	 json_start(void);
static void	 json_finish(void);
static void	 json_object(const char *);
static void	 json_array(const char *);
static void	 json_end(void);
static void	 json_string(const char *, const char *);
static void	 json_uint(const char *, uint64_t);
static void	 json_int(const char *, int64_t);
static void	 json_bool(const char *, int);
static void	 json_null(const char *);
static void	 json_open(const char *, char, char);
static void	 json_member(const char *);
static void	 json_quote(const char *);
static size_t	 utf8_len(const unsigned char *);

/* the back-end */
static void	 json_head(const struct parse_result *);
static void	 json_summary(const struct ctl_summary *);
static void	 json_version(const struct ctl_summary *);
static void	 json_iface(const struct ctl_iface *);
static void	 json_pipe(const struct ctl_pipe *);
static void	 json_peer(const struct ctl_peer *);
static void	 json_route(const struct ctl_route *);
static void	 json_mac(const struct ctl_mac *);
static void	 json_event(const struct ctl_event *);
static void	 json_tail(const struct parse_result *);
static int	 json_result(const struct parse_result *,
		    const struct ctl_result *, const char *);
static void	 json_addr(const char *, const struct sockaddr_storage *);

/* the emitter's stack of open objects and arrays */
#define JSON_MAXDEPTH	8

static struct {
	char	 close;		/* '}' or ']' */
	int	 members;	/* written so far */
}		 stack[JSON_MAXDEPTH];
static int	 depth = -1;
static int	 compact;	/* no newlines nor indent: one line */

const struct output json_output = {
	.head = json_head,
	.summary = json_summary,
	.version = json_version,
	.iface = json_iface,
	.pipe = json_pipe,
	.peer = json_peer,
	.route = json_route,
	.mac = json_mac,
	.event = json_event,
	.tail = json_tail,
	.result = json_result,
};

static void
json_head(const struct parse_result *res)
{
	/* each event is a document of its own */
	if (res->action == MONITOR)
		return;
	json_start();
	switch (res->action) {
	case SHOW_INTERFACES:
		json_array("interfaces");
		break;
	case SHOW_PIPES:
	case SHOW_PIPES_DETAIL:
		/* the rows hold every field already */
		json_array("pipes");
		break;
	case SHOW_PEERS:
		json_array("peers");
		break;
	case SHOW_ROUTES:
		json_array("routes");
		break;
	case SHOW_MACS:
		json_array("macs");
		break;
	default:
		break;
	}
}

static void
json_summary(const struct ctl_summary *s)
{
	char	 buf[32];

	json_object("summary");
	json_uint("version", s->version);
	json_int("pid", s->pid);
	json_int("uptime_sec", s->uptime);
	json_string("config_file", s->conffile);
	json_uint("reloads", s->reloads);
	json_int("since_reload_sec", s->since_reload);
	json_uint("interfaces", s->n_ifaces);
	json_uint("uplinks", s->n_uplinks);
	json_uint("peers", s->n_peers);
	json_uint("pipes", s->n_pipes);
	json_uint("pipes_up", s->n_pipes_up);
	json_uint("verbose", s->verbose);
	json_string("log_level", verbose_name(s->verbose, buf, sizeof(buf)));
	json_end();
}

static void
json_version(const struct ctl_summary *s)
{
	json_object("version");
	json_string("marconictl", MARCONID_VERSION);
	json_string("marconid", s->release);
	json_end();
}

static void
json_iface(const struct ctl_iface *i)
{
	char	 addrs[sizeof(i->addrs)], *a, *p;

	json_object(NULL);
	json_string("name", i->name);
	json_string("type", ctl_iftype_name(i->type));
	json_uint("mtu", i->mtu);
	json_string("state", i->up ? "up" : "down");
	json_uint("in_packets", i->ipackets);
	json_uint("out_packets", i->opackets);
	json_uint("in_bytes", i->ibytes);
	json_uint("out_bytes", i->obytes);
	if (i->type == CTL_IF_TUN) {
		json_uint("dropped_no_route", i->noroute);
		json_uint("dropped_bad_source", i->badsource);
		json_uint("dropped_not_ip", i->notip);
	}

	/* "a/len b/len" becomes an array of strings */
	json_array("addresses");
	strlcpy(addrs, i->addrs, sizeof(addrs));
	p = addrs;
	while ((a = strsep(&p, " \t")) != NULL)
		if (*a != '\0')
			json_string(NULL, a);
	json_end();

	json_end();
}

static void
json_route(const struct ctl_route *r)
{
	char	 buf[64];

	json_object(NULL);
	json_string("prefix", fmt_prefix(&r->prefix, r->prefixlen, buf,
	    sizeof(buf)));
	json_string("peer", r->peer);
	json_string("state", r->peer_up ? "up" : "down");
	json_bool("implicit", r->implicit);
	json_bool("kernel", r->kernel);
	json_uint("packets", r->packets);
	json_uint("bytes", r->bytes);
	json_uint("peer_refused", r->badsource);
	json_end();
}

static void
json_pipe(const struct ctl_pipe *p)
{
	int	 i;

	json_object(NULL);
	json_string("peer", p->peer);
	json_string("uplink", p->uplink);
	json_string("state", ctl_pipe_state_name(p->state));
	json_int("preference", p->preference);
	json_bool("active", p->active);
	json_int("pid", p->pid);
	json_uint("restarts", p->restarts);
	json_addr("local", &p->local);
	json_addr("remote", &p->remote);
	if (p->remote_name[0] != '\0')
		json_string("remote_name", p->remote_name);
	else
		json_null("remote_name");
	json_addr("learned", &p->learned);
	json_bool("initiator", p->initiator);
	if (p->key_age >= 0)
		json_int("key_age_sec", p->key_age);
	else
		json_null("key_age_sec");
	json_uint("rekeys", p->rekeys);
	json_uint("pmtu", p->pmtu);
	json_uint("rtt_us", p->rtt_us);
	json_uint("jitter_us", p->jitter_us);
	json_uint("loss_ppm", p->loss_ppm);
	json_uint("suspect_after_ms", p->suspect_after_ms);
	json_uint("down_after_ms", p->down_after_ms);
	json_string("probe_role", ctl_probe_role(p->probe_rank));
	json_uint("suspects", p->suspects);
	json_uint("suspect_ms", p->suspect_ms);
	json_uint("state_changes", p->changes);
	json_uint("in_packets", p->ipackets);
	json_uint("out_packets", p->opackets);
	json_uint("in_bytes", p->ibytes);
	json_uint("out_bytes", p->obytes);
	json_uint("drops", p->drops);
	json_object("drop");
	for (i = 0; i < DROP_MAX; i++)
		json_uint(ctl_drop_name(i), p->drop[i]);
	json_end();
	json_int("last_change_sec", p->last_change);
	json_bool("admin_down", p->admin_down);
	json_bool("pref_override", p->pref_override);
	json_bool("preferred", p->preferred);
	if (p->up_for >= 0)
		json_int("up_for_sec", p->up_for);
	else
		json_null("up_for_sec");
	/* balance mode: what the far side reports, and the share */
	json_uint("rate_rx_bps", p->rate_rx * 8);
	json_uint("rate_tx_bps", p->rate_tx * 8);
	if (p->balance != CTL_BAL_NONE) {
		json_uint("rate_est_bps", p->rate_est * 8);
		json_uint("share_permille", p->share);
		json_string("balance", ctl_balance_name(p->balance));
	} else {
		json_null("rate_est_bps");
		json_null("share_permille");
		json_null("balance");
	}
	json_end();
}

static void
json_peer(const struct ctl_peer *p)
{
	json_object(NULL);
	json_string("name", p->name);
	json_string("fingerprint", p->fingerprint);
	json_string("mode", ctl_mode_name(p->mode));
	json_bool("mode_override", p->mode_override);
	json_uint("holddown_ms", p->holddown_ms);
	json_uint("pipes", p->n_pipes);
	json_uint("pipes_up", p->n_pipes_up);
	json_uint("suspect_frames", p->suspect_frames);
	json_uint("resent_frames", p->resent_frames);
	if (p->active[0] != '\0')
		json_string("active", p->active);
	else
		json_null("active");
	json_uint("in_packets", p->ipackets);
	json_uint("out_packets", p->opackets);
	json_uint("in_bytes", p->ibytes);
	json_uint("out_bytes", p->obytes);
	json_int("last_change_sec", p->last_change);
	json_uint("balance_frames", p->balance_frames);
	json_object("reorder");
	json_uint("held", p->reorder_held);
	json_uint("late", p->reorder_late);
	json_uint("gaps_given_up", p->reorder_gaps);
	json_uint("frames_lost", p->reorder_lost);
	json_uint("timeouts", p->reorder_timeouts);
	json_uint("overflows", p->reorder_overflows);
	json_uint("passed", p->reorder_proven);
	json_uint("held_now", p->reorder_now);
	json_uint("wait_us", p->reorder_wait_us);
	json_end();
	json_end();
}

static void
json_mac(const struct ctl_mac *m)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
	    m->addr[0], m->addr[1], m->addr[2], m->addr[3], m->addr[4],
	    m->addr[5]);
	json_object(NULL);
	json_string("address", buf);
	json_string("peer", m->peer);
	json_int("age_ms", m->age_ms);
	json_uint("timeout_ms", m->timeout_ms);
	json_end();
}

/* A peer event has no uplink and no states: they are null. */
static void
json_event(const struct ctl_event *e)
{
	char	 buf[32];

	compact = 1;
	json_start();
	json_int("time_ms", e->time_ms);
	json_string("time", fmt_time_ms(e->time_ms, 1, buf, sizeof(buf)));
	json_string("peer", e->peer);
	if (e->uplink[0] != '\0') {
		json_string("uplink", e->uplink);
		json_string("old", ctl_pipe_state_name(e->old_state));
		json_string("new", ctl_pipe_state_name(e->new_state));
	} else {
		json_null("uplink");
		json_null("old");
		json_null("new");
	}
	json_string("reason", e->reason);
	json_finish();
}

static void
json_tail(const struct parse_result *res)
{
	(void)res;
	json_finish();
}

static int
json_result(const struct parse_result *res, const struct ctl_result *cr,
    const char *msg)
{
	/* rows cut short by an error: close them, the result follows */
	if (depth >= 0)
		json_finish();

	json_start();
	json_object("result");
	json_string("command", res->command);
	json_int("code", cr->code);
	json_string("status", ctl_result_text(cr->code));
	if (msg[0] != '\0')
		json_string("message", msg);
	else
		json_null("message");
	json_finish();
	return (cr->code == CTL_RES_OK ? 0 : 1);
}

static void
json_addr(const char *name, const struct sockaddr_storage *ss)
{
	char	 buf[NI_MAXHOST + NI_MAXSERV + 4];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		json_null(name);
	else
		json_string(name, fmt_addr(ss, buf, sizeof(buf)));
}

/* The emitter. */

static void
json_start(void)
{
	if (depth != -1)
		errx(1, "%s: document already started", __func__);
	json_open(NULL, '{', '}');
}

static void
json_finish(void)
{
	while (depth >= 0)
		json_end();
	putchar('\n');
}

static void
json_object(const char *name)
{
	json_open(name, '{', '}');
}

static void
json_array(const char *name)
{
	json_open(name, '[', ']');
}

static void
json_end(void)
{
	if (depth < 0)
		errx(1, "%s: nothing open", __func__);
	if (stack[depth].members > 0 && !compact)
		printf("\n%*s", depth * 2, "");
	putchar(stack[depth].close);
	depth--;
}

static void
json_string(const char *name, const char *v)
{
	json_member(name);
	json_quote(v);
}

static void
json_uint(const char *name, uint64_t v)
{
	json_member(name);
	printf("%llu", (unsigned long long)v);
}

static void
json_int(const char *name, int64_t v)
{
	json_member(name);
	printf("%lld", (long long)v);
}

static void
json_bool(const char *name, int v)
{
	json_member(name);
	fputs(v ? "true" : "false", stdout);
}

static void
json_null(const char *name)
{
	json_member(name);
	fputs("null", stdout);
}

static void
json_open(const char *name, char open, char close)
{
	if (depth + 1 >= JSON_MAXDEPTH)
		errx(1, "%s: nested too deep", __func__);
	if (depth >= 0)
		json_member(name);
	putchar(open);
	depth++;
	stack[depth].close = close;
	stack[depth].members = 0;
}

/* The comma, the indent and, inside an object, the name. */
static void
json_member(const char *name)
{
	int	 in_object;

	if (depth < 0)
		errx(1, "%s: no document started", __func__);
	in_object = stack[depth].close == '}';
	if (in_object != (name != NULL))
		errx(1, "%s: %s", __func__, in_object ?
		    "member without a name" : "named member in an array");

	if (stack[depth].members++ > 0)
		putchar(',');
	if (!compact)
		printf("\n%*s", (depth + 1) * 2, "");
	if (name != NULL) {
		json_quote(name);
		fputs(compact ? ":" : ": ", stdout);
	}
}

/*
 * RFC 8259 string: quote and backslash escaped, control characters
 * as \uXXXX, valid UTF-8 kept as it is, any other byte replaced with
 * U+FFFD so that the document stays valid.
 */
static void
json_quote(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	putchar('"');
	while (*p != '\0') {
		if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, n, stdout);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				printf("\\u%04x", *p);
			else if (*p >= 0x80)
				fputs("\\ufffd", stdout);
			else
				putchar(*p);
			break;
		}
		p++;
	}
	putchar('"');
}

/* Length of the well-formed multi-byte UTF-8 sequence at p, else 0. */
static size_t
utf8_len(const unsigned char *p)
{
	uint32_t	 cp;
	size_t		 i, n;

	/* ASCII, a stray continuation byte, 0xc0/0xc1 (overlong), > 0xf4 */
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return (0);
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		/* also stops at the NUL */
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}
