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
 * Lookups of host names without blocking on OpenBSD: the asynchronous
 * resolver of libc (asr), run by libevent's event_asr_run(), as bgpd
 * and smtpd do.  asr reads resolv.conf and the hosts file again when
 * they change.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <asr.h>
#include <event.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

struct os_lookup {
	void	(*cb)(int, const struct sockaddr_storage *, const char *,
		    void *);
	void	*arg;
	struct event_asr *ea;
};

void
resolve_os_init(struct event_base *base)
{
}

void
resolve_os_reload(void)
{
}

static void
resolve_os_done(struct asr_result *ar, void *arg)
{
	struct os_lookup	*l = arg;
	struct sockaddr_storage	 ss;
	struct addrinfo		*res = ar->ar_addrinfo;

	memset(&ss, 0, sizeof(ss));
	if (ar->ar_gai_errno == 0 && res != NULL &&
	    res->ai_addrlen <= sizeof(ss)) {
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		l->cb(0, &ss, NULL, l->arg);
	} else
		l->cb(1, NULL, ar->ar_gai_errno == 0 ? "no address" :
		    gai_strerror(ar->ar_gai_errno), l->arg);
	if (res != NULL)
		freeaddrinfo(res);
	free(l);
}

void *
resolve_os_lookup(const char *name, int af,
    void (*cb)(int, const struct sockaddr_storage *, const char *, void *),
    void *arg)
{
	struct addrinfo		 hints;
	struct asr_query	*q;
	struct os_lookup	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s", __func__);
	l->cb = cb;
	l->arg = arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = af;
	hints.ai_socktype = SOCK_STREAM;
	if ((q = getaddrinfo_async(name, NULL, &hints, NULL)) == NULL) {
		free(l);
		cb(1, NULL, "cannot start the lookup", arg);
		return (NULL);
	}
	l->ea = event_asr_run(q, resolve_os_done, l);
	return (l);
}

void
resolve_os_cancel(void *req)
{
	struct os_lookup	*l = req;
	void			*arg;
	void			(*cb)(int, const struct sockaddr_storage *,
				    const char *, void *);

	if (l == NULL)
		return;
	/* no callback after an abort: say so ourselves */
	event_asr_abort(l->ea);
	cb = l->cb;
	arg = l->arg;
	free(l);
	cb(1, NULL, "cancelled", arg);
}
