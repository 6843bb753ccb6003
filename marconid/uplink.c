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
 * The sockets of an uplink, made in the parent: tying a socket to an
 * interface or to a routing table needs privileges the pipe process
 * does not have, and in capability mode the pipe cannot even connect.
 * What differs between systems is in uplink-*.c: uplink_os_local()
 * derives the address to bind, uplink_os_setup() ties the socket to
 * the uplink before it is bound.
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

static int		 uplink_local(struct uplink_conf *, int,
			    struct sockaddr_storage *, int *);
static const char	*uplink_addr_str(const struct sockaddr_storage *,
			    char *, size_t);

/*
 * A socket of the given type bound to the uplink on port, listening
 * if it is a stream socket; *bound is where it ended up.
 */
int
uplink_socket(struct uplink_conf *up, int type, uint16_t port,
    struct sockaddr_storage *bound)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 abuf[NI_MAXHOST + NI_MAXSERV + 4];
	const char		*proto = type == SOCK_STREAM ? "tcp" : "udp";
	int			 fd, on = 1, v6only, bufsz;

	if (uplink_local(up, AF_UNSPEC, &ss, &v6only) == -1)
		return (-1);
	sa_set_port(&ss, port);
	len = sa_len((struct sockaddr *)&ss);
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
	/* as much room for bursts as the system allows without privilege */
	bufsz = UPLINK_SOCKBUF;
	if (type == SOCK_DGRAM && (setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
	    &bufsz, sizeof(bufsz)) == -1 || setsockopt(fd, SOL_SOCKET,
	    SO_SNDBUF, &bufsz, sizeof(bufsz)) == -1))
		log_debug("%s: uplink %s: socket buffers: %s", __func__,
		    up->name, strerror(errno));
	if (uplink_os_setup(fd, up, type) == -1)
		goto fail;

	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		/* EADDRNOTAVAIL: the uplink does not have the address yet */
		log_warn("%s: uplink %s: %s bind %s", __func__, up->name,
		    proto, abuf);
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, UPLINK_BACKLOG) == -1) {
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
 * A TCP connection to remote through the uplink, begun here and
 * finished by whoever gets the descriptor: it is non-blocking, so
 * writability tells when the handshake is over and SO_ERROR how it
 * went.  The source address is the uplink's, as for its listener, on
 * a port the kernel picks.
 */
int
uplink_connect(struct uplink_conf *up, const struct sockaddr_storage *remote)
{
	struct sockaddr_storage	 ss;
	char			 abuf[NI_MAXHOST + NI_MAXSERV + 4];
	char			 lbuf[NI_MAXHOST + NI_MAXSERV + 4];
	int			 fd, v6only;

	if (remote->ss_family != AF_INET && remote->ss_family != AF_INET6) {
		log_warnx("%s: uplink %s: address family %d unsupported",
		    __func__, up->name, remote->ss_family);
		return (-1);
	}
	uplink_addr_str(remote, abuf, sizeof(abuf));
	if (up->local.ss_family != AF_UNSPEC &&
	    up->local.ss_family != remote->ss_family) {
		log_warnx("%s: uplink %s: cannot reach %s from %s: not the "
		    "same address family", __func__, up->name, abuf,
		    uplink_addr_str(&up->local, lbuf, sizeof(lbuf)));
		return (-1);
	}

	/*
	 * A socket of the remote's own family, even for an uplink
	 * without an address: an IPv4 peer is never connected to from
	 * an IPv6 socket, so no mapped address is needed here (the
	 * datagrams of pipe.c do need one, see sa_map4()).
	 */
	if (uplink_local(up, remote->ss_family, &ss, &v6only) == -1)
		return (-1);
	if (ss.ss_family != remote->ss_family) {
		log_warnx("%s: uplink %s: cannot reach %s: no local address "
		    "of that family", __func__, up->name, abuf);
		return (-1);
	}
	sa_set_port(&ss, 0);
	uplink_addr_str(&ss, lbuf, sizeof(lbuf));

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: uplink %s: tcp socket", __func__, up->name);
		return (-1);
	}
	if (uplink_os_setup(fd, up, SOCK_STREAM) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss,
	    sa_len((struct sockaddr *)&ss)) == -1) {
		log_warn("%s: uplink %s: tcp bind %s", __func__, up->name,
		    lbuf);
		goto fail;
	}
	if (connect(fd, (const struct sockaddr *)remote,
	    sa_len((const struct sockaddr *)remote)) == -1 &&
	    errno != EINPROGRESS) {
		log_warn("%s: uplink %s: connect %s", __func__, up->name,
		    abuf);
		goto fail;
	}

	log_debug("%s: uplink %s: connecting %s from %s", __func__, up->name,
	    abuf, lbuf);
	return (fd);

 fail:
	close(fd);
	return (-1);
}

/*
 * The address to bind for the uplink, port aside.  af is the family
 * wanted, AF_UNSPEC for either: an uplink without an address then
 * takes both on one IPv6 socket, IPv4 as mapped addresses, unless the
 * system decides otherwise in uplink_os_local().  *v6only is what
 * IPV6_V6ONLY must be set to, -1 for an IPv4 socket.
 */
static int
uplink_local(struct uplink_conf *up, int af, struct sockaddr_storage *ss,
    int *v6only)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(ss, 0, sizeof(*ss));
	switch (up->local.ss_family) {
	case AF_INET:
		memcpy(ss, &up->local, sizeof(struct sockaddr_in));
		break;
	case AF_INET6:
		memcpy(ss, &up->local, sizeof(struct sockaddr_in6));
		break;
	case AF_UNSPEC:
		/* any address of the family asked for */
		if (af == AF_INET) {
			sin = (struct sockaddr_in *)ss;
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		} else if (af == AF_INET6) {
			sin6 = (struct sockaddr_in6 *)ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = in6addr_any;
		}
		break;
	default:
		log_warnx("%s: uplink %s: address family %d unsupported",
		    __func__, up->name, up->local.ss_family);
		return (-1);
	}

	if (uplink_os_local(up, ss) == -1)
		return (-1);

	switch (ss->ss_family) {
	case AF_UNSPEC:
		/* any address of either family, IPv4 as mapped addresses */
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		*v6only = 0;
		break;
	case AF_INET:
		*v6only = -1;
		break;
	case AF_INET6:
		/* an IPv6 address given or found: IPv6 only */
		*v6only = 1;
		break;
	default:
		log_warnx("%s: uplink %s: address family %d unsupported",
		    __func__, up->name, ss->ss_family);
		return (-1);
	}
	return (0);
}

static const char *
uplink_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char		 host[NI_MAXHOST], serv[NI_MAXSERV];
	int		 error;

	if ((error = getnameinfo((const struct sockaddr *)ss,
	    sa_len((const struct sockaddr *)ss), host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV)) != 0) {
		snprintf(buf, len, "(%s)", gai_strerror(error));
		return (buf);
	}
	if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
	return (buf);
}

/*
 * For the systems that cannot bind a socket to an interface: the
 * address of the uplink's interface in the family of *ss: for
 * AF_UNSPEC IPv4 first, else a global IPv6 address (a link-local one
 * would need the peer on the link).
 */
int
uplink_ifaddr(struct uplink_conf *up, struct sockaddr_storage *ss)
{
	struct ifaddrs		*ifap, *ifa;
	struct sockaddr_in6	*sin6;
	int			 af = ss->ss_family, found = 0;

	if (getifaddrs(&ifap) == -1) {
		log_warn("%s: uplink %s: getifaddrs", __func__, up->name);
		return (-1);
	}
	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    strcmp(ifa->ifa_name, up->ifname) != 0)
			continue;
		if (af != AF_UNSPEC && ifa->ifa_addr->sa_family != af)
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
