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
 * Lookups of host names without blocking, with libevent's evdns
 * (Linux, FreeBSD): evdns_getaddrinfo() answers from the hosts file,
 * then asks the name servers of resolv.conf over the event loop.
 * evdns reads the hosts file once, so it is read again before a round
 * of lookups: a name moved there is seen at the next one.  It does not
 * follow nsswitch.conf; see doc/processes.md.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <event.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

#define PATH_HOSTS	"/etc/hosts"
#define PATH_RESOLV	"/etc/resolv.conf"

struct os_lookup {
	void	(*cb)(int, const struct sockaddr_storage *, const char *,
		    void *);
	void	*arg;
};

static struct evdns_base	*dnsbase;

void
resolve_os_init(struct event_base *base)
{
	/* no name server in resolv.conf: the hosts file alone */
	if ((dnsbase = evdns_base_new(base, 0)) == NULL)
		fatalx("%s: evdns_base_new", __func__);
	if (evdns_base_resolv_conf_parse(dnsbase, DNS_OPTIONS_ALL,
	    PATH_RESOLV) != 0)
		log_debug("%s: no usable %s", __func__, PATH_RESOLV);
	resolve_os_reload();
}

void
resolve_os_reload(void)
{
	evdns_base_clear_host_addresses(dnsbase);
	if (evdns_base_load_hosts(dnsbase, PATH_HOSTS) != 0)
		log_debug("%s: cannot read %s", __func__, PATH_HOSTS);
}

static void
resolve_os_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct os_lookup	*l = arg;
	struct sockaddr_storage	 ss;

	memset(&ss, 0, sizeof(ss));
	if (result == 0 && res != NULL && res->ai_addrlen <= sizeof(ss)) {
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		l->cb(0, &ss, NULL, l->arg);
	} else
		l->cb(1, NULL, result == 0 ? "no address" :
		    evutil_gai_strerror(result), l->arg);
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(l);
}

void *
resolve_os_lookup(const char *name, int af,
    void (*cb)(int, const struct sockaddr_storage *, const char *, void *),
    void *arg)
{
	struct evutil_addrinfo	 hints;
	struct os_lookup	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s", __func__);
	l->cb = cb;
	l->arg = arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = af;
	hints.ai_socktype = SOCK_STREAM;
	/* may answer at once, and then returns NULL */
	return (evdns_getaddrinfo(dnsbase, name, NULL, &hints,
	    resolve_os_done, l));
}

void
resolve_os_cancel(void *req)
{
	/* resolve_os_done() runs with EVUTIL_EAI_CANCEL */
	if (req != NULL)
		evdns_getaddrinfo_cancel(req);
}
