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

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marconid.h"

socklen_t
sa_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return (sizeof(struct sockaddr_in));
	case AF_INET6:
		return (sizeof(struct sockaddr_in6));
	}
	return (0);
}

/*
 * A total order on addresses: family, then address, then scope, then
 * port.  AF_UNSPEC ("any") sorts first and equals only itself.
 */
int
sa_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;
	int				 r;

	if (a->ss_family != b->ss_family)
		return (a->ss_family < b->ss_family ? -1 : 1);

	switch (a->ss_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		if (a4->sin_addr.s_addr != b4->sin_addr.s_addr)
			return (ntohl(a4->sin_addr.s_addr) <
			    ntohl(b4->sin_addr.s_addr) ? -1 : 1);
		if (a4->sin_port != b4->sin_port)
			return (ntohs(a4->sin_port) < ntohs(b4->sin_port) ?
			    -1 : 1);
		return (0);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		if ((r = memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr))) != 0)
			return (r < 0 ? -1 : 1);
		if (a6->sin6_scope_id != b6->sin6_scope_id)
			return (a6->sin6_scope_id < b6->sin6_scope_id ?
			    -1 : 1);
		if (a6->sin6_port != b6->sin6_port)
			return (ntohs(a6->sin6_port) < ntohs(b6->sin6_port) ?
			    -1 : 1);
		return (0);
	}
	return (0);
}

/*
 * An IPv4 address in the form an IPv6 socket that takes both families
 * needs it, ::ffff:a.b.c.d.  FreeBSD refuses to send to an AF_INET
 * address on an AF_INET6 socket (udp6_send()); Linux takes either, and
 * gets the mapped form as well so that its tests go the same way.  The
 * length field of the BSDs is left as host_parse() leaves it: the
 * kernel takes the length it is given with the address.
 */
void
sa_map4(struct sockaddr_storage *ss)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	*sin6;

	if (ss->ss_family != AF_INET)
		return;
	memcpy(&sin, ss, sizeof(sin));
	memset(ss, 0, sizeof(*ss));
	sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = sin.sin_port;
	sin6->sin6_addr.s6_addr[10] = 0xff;
	sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &sin.sin_addr, 4);
}

/*
 * The other way, for what such a socket says an IPv4 peer sent from:
 * compared with the configured AF_INET address of the peer, a mapped
 * one would never match.
 */
void
sa_unmap4(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	*sin;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&sin6, ss, sizeof(sin6));
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	sin = (struct sockaddr_in *)ss;
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
}

uint16_t
sa_port(const struct sockaddr_storage *ss)
{
	switch (ss->ss_family) {
	case AF_INET:
		return (ntohs(((const struct sockaddr_in *)ss)->sin_port));
	case AF_INET6:
		return (ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	}
	return (0);
}

void
sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	switch (ss->ss_family) {
	case AF_INET:
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		break;
	case AF_INET6:
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		break;
	}
}

/*
 * A numeric IPv4 or IPv6 address, optionally followed by /prefixlen when
 * prefixlen is not NULL; without one *prefixlen is the host length (32
 * or 128).  IPv4 goes through inet_pton() because getaddrinfo() would
 * also take the old shorthands ("10.1" or a bare number) that nobody
 * means in a configuration file; IPv6 through getaddrinfo() for the
 * %scope of link-local addresses.  Returns 0, or -1 if s is not that.
 */
int
host_parse(const char *s, struct sockaddr_storage *ss, uint8_t *prefixlen)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_in	*sin;
	char			 buf[NI_MAXHOST];
	char			*slash;
	const char		*errstr;
	long long		 len = -1;
	int			 maxlen;

	memset(ss, 0, sizeof(*ss));
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);
	if ((slash = strchr(buf, '/')) != NULL) {
		if (prefixlen == NULL)
			return (-1);
		*slash++ = '\0';
		/* strtonum() would take a sign or spaces; digits only */
		if (*slash == '\0' || strspn(slash, "0123456789") !=
		    strlen(slash))
			return (-1);
		len = strtonum(slash, 0, 128, &errstr);
		if (errstr != NULL)
			return (-1);
	}

	sin = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		maxlen = 32;
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET6;
		hints.ai_socktype = SOCK_DGRAM;
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(buf, NULL, &hints, &res) != 0)
			return (-1);
		if (res->ai_addrlen > sizeof(*ss)) {
			freeaddrinfo(res);
			return (-1);
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		maxlen = 128;
	}

	if (len > maxlen) {
		memset(ss, 0, sizeof(*ss));
		return (-1);
	}
	if (prefixlen != NULL)
		*prefixlen = len == -1 ? maxlen : len;
	return (0);
}

/* the same clock in microseconds, for round trips and rates */
int64_t
getmonotime_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* milliseconds that only go forward, for timers and "last change" */
int64_t
getmonotime(void)
{
	return (getmonotime_us() / 1000);
}

/*
 * 1 if a line may be logged now; then suffix holds what to append to
 * it: "" or " (N similar messages suppressed)".  0: count it and say
 * nothing.
 */
int
ratelim_pass(struct ratelim *rl, uint32_t interval, uint32_t burst,
    char *suffix, size_t len)
{
	int64_t	 now = getmonotime();

	if (len > 0)
		suffix[0] = '\0';
	if (rl->lines == 0 || now - rl->start >= interval) {
		rl->start = now;
		rl->lines = 0;
	}
	if (rl->lines >= burst) {
		rl->suppressed++;
		return (0);
	}
	rl->lines++;
	if (rl->suppressed > 0 && len > 0)
		snprintf(suffix, len, " (%llu similar messages suppressed)",
		    (unsigned long long)rl->suppressed);
	rl->suppressed = 0;
	return (1);
}
