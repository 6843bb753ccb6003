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
 * The sockets of an uplink on Linux, made in the parent because tying
 * a socket to an interface (SO_BINDTODEVICE) or to a routing table
 * through a firewall mark (SO_MARK) needs privileges the pipe process
 * does not have.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

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
	unsigned int		 mark;
	char			 abuf[NI_MAXHOST + NI_MAXSERV + 4];
	const char		*proto = type == SOCK_STREAM ? "tcp" : "udp";
	int			 fd, on = 1, v6only;

	memset(&ss, 0, sizeof(ss));
	switch (up->local.ss_family) {
	case AF_INET:
		memcpy(&ss, &up->local, sizeof(struct sockaddr_in));
		sin = (struct sockaddr_in *)&ss;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
		v6only = -1;
		break;
	case AF_INET6:
		memcpy(&ss, &up->local, sizeof(struct sockaddr_in6));
		sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
		/* an IPv6 address given: IPv6 only */
		v6only = 1;
		break;
	case AF_UNSPEC:
		/* any address of either family, IPv4 as mapped addresses */
		sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
		v6only = 0;
		break;
	default:
		log_warnx("%s: uplink %s: address family %d unsupported",
		    __func__, up->name, up->local.ss_family);
		return (-1);
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
	if (v6only != -1 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &v6only, sizeof(v6only)) == -1) {
		log_warn("%s: uplink %s: IPV6_V6ONLY", __func__, up->name);
		goto fail;
	}

	/* in and out through this interface only, whatever the routes say */
	if (up->ifname[0] != '\0' && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, up->ifname, strnlen(up->ifname,
	    sizeof(up->ifname))) == -1) {
		log_warn("%s: uplink %s: bind to interface %s", __func__,
		    up->name, up->ifname);
		goto fail;
	}

	/*
	 * The routing domain is a firewall mark on Linux: an "ip rule
	 * fwmark N table T" sends what the socket emits to the uplink's
	 * own table.
	 */
	if (up->rdomain >= 0) {
		mark = (unsigned int)up->rdomain;
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
		    sizeof(mark)) == -1) {
			log_warn("%s: uplink %s: mark %u", __func__, up->name,
			    mark);
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

static const char *
uplink_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char		 host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t	 slen;
	int		 error;

	slen = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if ((error = getnameinfo((const struct sockaddr *)ss, slen, host,
	    sizeof(host), serv, sizeof(serv),
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
