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
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "marconid.h"

/*
 * The configuration as marconid understood it, every global with its
 * effective value, in a form that parse.y reads back to the same
 * output: names and paths always quoted, times in their largest exact
 * unit.
 */

static void		 print_quoted(const char *);
static const char	*print_mode(enum peer_mode);
static void		 print_globals(struct marconid_conf *);
static void		 print_iface(struct iface_conf *);
static void		 print_uplink(struct uplink_conf *);
static void		 print_peer(struct peer_conf *);

/* a numeric address, or "any" for AF_UNSPEC */
const char *
print_host(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_UNSPEC) {
		strlcpy(buf, "any", len);
		return (buf);
	}
	if (getnameinfo((const struct sockaddr *)ss,
	    sa_len((const struct sockaddr *)ss), buf, len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(buf, "?", len);
	return (buf);
}

/* 60000 is "1m", 5000 "5s", 1500 "1500ms": what the grammar reads */
const char *
print_ms(uint32_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%um", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
	return (buf);
}

/* a path or name in double quotes, any quote in it escaped */
static void
print_quoted(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static const char *
print_mode(enum peer_mode mode)
{
	switch (mode) {
	case MODE_FAILOVER:
		return ("failover");
	case MODE_DUPLICATE:
		return ("duplicate");
	case MODE_BALANCE:
		return ("balance");
	}
	return ("?");
}

static void
print_globals(struct marconid_conf *conf)
{
	char	t1[16], t2[16];

	printf("port %u\n", conf->port);
	printf("user ");
	print_quoted(conf->user);
	printf("\nsocket ");
	print_quoted(conf->csock);
	if (conf->rsock[0] != '\0') {
		printf("\nsocket ");
		print_quoted(conf->rsock);
		printf(" restricted");
		if (conf->rsock_group[0] != '\0') {
			printf(" group ");
			print_quoted(conf->rsock_group);
		}
	}
	printf("\ncertificate ");
	print_quoted(conf->cert);
	printf("\nkey ");
	print_quoted(conf->key);
	printf("\n");
	printf("probe interval %s timeout %s",
	    print_ms(conf->probe.interval, t1, sizeof(t1)),
	    print_ms(conf->probe.timeout, t2, sizeof(t2)));
	printf(" max %s", print_ms(conf->probe.timeout_max, t1, sizeof(t1)));
	if (conf->probe.suspect == PROBE_SUSPECT_NO)
		printf(" suspect no");
	if (conf->probe.max_loss != 0)
		printf(" loss %u", conf->probe.max_loss);
	if (conf->probe.max_rtt != 0)
		printf(" rtt %s", print_ms(conf->probe.max_rtt, t1,
		    sizeof(t1)));
	printf("\n");
	printf("holddown %s\n",
	    print_ms(conf->probe.holddown, t1, sizeof(t1)));
	printf("rekey interval %s packets %llu\n",
	    print_ms(conf->rekey_interval, t1, sizeof(t1)),
	    (unsigned long long)conf->rekey_packets);
	printf("resolve interval %s\n",
	    print_ms(conf->resolve_interval, t1, sizeof(t1)));
	printf("relay %s\n", conf->relay ? "yes" : "no");
	printf("mac timeout %s max %u\n",
	    print_ms(conf->mac_timeout, t1, sizeof(t1)), conf->mac_max);
}

static void
print_iface(struct iface_conf *ifc)
{
	struct iface_addr	*ia;
	char			 host[NI_MAXHOST];

	printf("interface \"%s\" {\n", ifc->name);
	printf("\ttype %s\n", ifc->type == IFACE_TUN ? "tun" : "tap");
	TAILQ_FOREACH(ia, &ifc->addrs, entry)
		printf("\taddress %s/%u\n",
		    print_host(&ia->ss, host, sizeof(host)), ia->prefixlen);
	printf("\tmtu %u\n", ifc->mtu);
	printf("}\n");
}

static void
print_uplink(struct uplink_conf *up)
{
	char	host[NI_MAXHOST];

	printf("uplink \"%s\" {\n", up->name);
	if (up->local.ss_family != AF_UNSPEC)
		printf("\tlocal %s\n",
		    print_host(&up->local, host, sizeof(host)));
	if (up->ifname[0] != '\0')
		printf("\tinterface \"%s\"\n", up->ifname);
	if (up->rdomain != -1)
		printf("\trdomain %d\n", up->rdomain);
	/* every default, as for the interface: the manual is checked by it */
	printf("\tmtu %u\n", up->mtu != 0 ? up->mtu : UPLINK_MTU);
	if (up->port != 0)
		printf("\tport %u\n", up->port);
	printf("}\n");
}

static void
print_peer(struct peer_conf *peer)
{
	struct pipe_conf	*pc;
	struct iface_addr	*ia;
	char			 host[NI_MAXHOST], t[16];

	printf("peer \"%s\" {\n", peer->name);
	printf("\tfingerprint \"%s\"\n", peer->fingerprint);
	printf("\tmode %s\n", print_mode(peer->mode));
	if (peer->probe.holddown != 0)
		printf("\tholddown %s\n",
		    print_ms(peer->probe.holddown, t, sizeof(t)));
	if (peer->probe.interval != 0 || peer->probe.timeout != 0 ||
	    peer->probe.max_loss != 0 || peer->probe.max_rtt != 0 ||
	    peer->probe.suspect != 0) {
		printf("\tprobe");
		if (peer->probe.interval != 0)
			printf(" interval %s",
			    print_ms(peer->probe.interval, t, sizeof(t)));
		if (peer->probe.timeout != 0)
			printf(" timeout %s",
			    print_ms(peer->probe.timeout, t, sizeof(t)));
		if (peer->probe.timeout_max != 0)
			printf(" max %s",
			    print_ms(peer->probe.timeout_max, t, sizeof(t)));
		if (peer->probe.suspect != 0)
			printf(" suspect %s", peer->probe.suspect ==
			    PROBE_SUSPECT_YES ? "yes" : "no");
		if (peer->probe.max_loss != 0)
			printf(" loss %u", peer->probe.max_loss);
		if (peer->probe.max_rtt != 0)
			printf(" rtt %s",
			    print_ms(peer->probe.max_rtt, t, sizeof(t)));
		printf("\n");
	}
	TAILQ_FOREACH(ia, &peer->networks, entry)
		printf("\tnetwork %s/%u\n",
		    print_host(&ia->ss, host, sizeof(host)), ia->prefixlen);
	TAILQ_FOREACH(pc, &peer->pipes, entry) {
		printf("\tpipe \"%s\"", pc->uplink);
		/* a name as written: -n does not print what it resolves to */
		if (pc->remote_name[0] != '\0')
			printf(" remote %s port %u", pc->remote_name,
			    pc->remote_port);
		else if (pc->remote.ss_family != AF_UNSPEC)
			printf(" remote %s port %u",
			    print_host(&pc->remote, host, sizeof(host)),
			    sa_port(&pc->remote));
		printf(" preference %d\n", pc->preference);
	}
	printf("}\n");
}

void
print_config(struct marconid_conf *conf)
{
	struct iface_conf	*ifc;
	struct uplink_conf	*up;
	struct peer_conf	*peer;

	print_globals(conf);
	TAILQ_FOREACH(ifc, &conf->ifaces, entry) {
		printf("\n");
		print_iface(ifc);
	}
	TAILQ_FOREACH(up, &conf->uplinks, entry) {
		printf("\n");
		print_uplink(up);
	}
	TAILQ_FOREACH(peer, &conf->peers, entry) {
		printf("\n");
		print_peer(peer);
	}
}
