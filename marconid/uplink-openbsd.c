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
 * The sockets of an uplink on OpenBSD, made in the parent.
 *
 * The uplink's routing domain is the socket's routing table
 * (SO_RTABLE), which only root may choose.  A socket cannot be tied
 * to an interface on OpenBSD: an interface name without an address
 * binds to the interface's address, looked up each time the parent
 * (re)opens the sockets.  OpenBSD has no IPv4-mapped IPv6 addresses
 * (IPV6_V6ONLY is always on), so one socket cannot take both
 * families: an uplink without an address or interface listens on
 * IPv4.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

static int		 uplink_ifaddr(struct uplink_conf *,
			    struct sockaddr_storage *);
static const char	*uplink_addr_str(const struct sockaddr_storage *,
			    char *, size_t);

int
uplink_socket(struct uplink_conf *up, int type, uint16_t port,
    struct sockaddr_storage *bound)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	socklen_t		 len;
	char			 abuf[NI_MAXHOST + NI_MAXSERV + 4];
	const char		*proto = type == SOCK_STREAM ? "tcp" : "udp";
	int			 fd, on = 1, rtable;

	memset(&ss, 0, sizeof(ss));
	switch (up->local.ss_family) {
	case AF_INET:
		memcpy(&ss, &up->local, sizeof(struct sockaddr_in));
		break;
	case AF_INET6:
		memcpy(&ss, &up->local, sizeof(struct sockaddr_in6));
		break;
	case AF_UNSPEC:
		if (up->ifname[0] != '\0') {
			if (uplink_ifaddr(up, &ss) == -1)
				return (-1);
			break;
		}
		sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		break;
	default:
		log_warnx("%s: uplink %s: address family %d unsupported",
		    __func__, up->name, up->local.ss_family);
		return (-1);
	}
	if (ss.ss_family == AF_INET) {
		sin = (struct sockaddr_in *)&ss;
		sin->sin_len = len = sizeof(*sin);
		sin->sin_port = htons(port);
	} else {
		sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_len = len = sizeof(*sin6);
		sin6->sin6_port = htons(port);
	}
	uplink_addr_str(&ss, abuf, sizeof(abuf));

	if ((fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: uplink %s: %s socket", __func__, up->name, proto);
		return (-1);
	}

	/* a restarted pipe binds again while old connections linger */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		log_warn("%s: uplink %s: SO_REUSEADDR", __func__, up->name);
		goto fail;
	}

	/* routes, and the address to bind, come from the uplink's table */
	if (up->rdomain >= 0) {
		rtable = up->rdomain;
		if (setsockopt(fd, SOL_SOCKET, SO_RTABLE, &rtable,
		    sizeof(rtable)) == -1) {
			log_warn("%s: uplink %s: routing table %d", __func__,
			    up->name, rtable);
			goto fail;
		}
	}

	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		/* EADDRNOTAVAIL: the uplink does not have the address yet */
		log_warn("%s: uplink %s: %s bind %s", __func__, up->name,
		    proto, abuf);
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, 16) == -1) {
		log_warn("%s: uplink %s: listen %s", __func__, up->name, abuf);
		goto fail;
	}

	len = sizeof(*bound);
	memset(bound, 0, sizeof(*bound));
	if (getsockname(fd, (struct sockaddr *)bound, &len) == -1) {
		log_warn("%s: uplink %s: getsockname", __func__, up->name);
		goto fail;
	}

	log_debug("%s: uplink %s: %s bound to %s", __func__, up->name, proto,
	    uplink_addr_str(bound, abuf, sizeof(abuf)));
	return (fd);

 fail:
	close(fd);
	return (-1);
}

/*
 * The address of the uplink's interface: IPv4 first, else a global
 * IPv6 address (a link-local one would need the peer on the link).
 */
static int
uplink_ifaddr(struct uplink_conf *up, struct sockaddr_storage *ss)
{
	struct ifaddrs		*ifap, *ifa;
	struct sockaddr_in6	*sin6;
	int			 found = 0;

	if (getifaddrs(&ifap) == -1) {
		log_warn("%s: uplink %s: getifaddrs", __func__, up->name);
		return (-1);
	}
	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    strcmp(ifa->ifa_name, up->ifname) != 0)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			memcpy(ss, ifa->ifa_addr, sizeof(struct sockaddr_in));
			found = 1;
			break;
		}
		if (ifa->ifa_addr->sa_family == AF_INET6 && !found) {
			sin6 = (struct sockaddr_in6 *)ifa->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				continue;
			memcpy(ss, sin6, sizeof(*sin6));
			found = 1;
			/* keep looking for IPv4 */
		}
	}
	freeifaddrs(ifap);

	if (!found) {
		errno = EADDRNOTAVAIL;
		log_warn("%s: uplink %s: interface %s", __func__, up->name,
		    up->ifname);
		return (-1);
	}
	return (0);
}

static const char *
uplink_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char		 host[NI_MAXHOST], serv[NI_MAXSERV];
	int		 error;

	if ((error = getnameinfo((const struct sockaddr *)ss, ss->ss_len,
	    host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV)) != 0) {
		snprintf(buf, len, "(%s)", gai_strerror(error));
		return (buf);
	}
	if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
	return (buf);
}
