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
 * What is FreeBSD's own in the sockets of an uplink.
 *
 * The uplink's routing domain is the socket's FIB (SO_SETFIB), which
 * only root may choose.  A socket cannot be tied to an interface on
 * FreeBSD: an interface name without an address binds to the
 * interface's address, looked up each time the parent (re)opens the
 * sockets.  An uplink without an address or interface takes both
 * families on one IPv6 socket, IPv4 as mapped addresses.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <string.h>

#include "marconid.h"

static int		 uplink_ifaddr(struct uplink_conf *,
			    struct sockaddr_storage *);

int
uplink_os_setup(int fd, struct uplink_conf *up, int type)
{
	int	 fib, on = 1;

	/* what the socket sends is routed by the uplink's FIB */
	if (up->rdomain >= 0) {
		fib = up->rdomain;
		if (setsockopt(fd, SOL_SOCKET, SO_SETFIB, &fib,
		    sizeof(fib)) == -1) {
			/* EINVAL: not below net.fibs */
			log_warn("%s: uplink %s: fib %d", __func__, up->name,
			    fib);
			return (-1);
		}
	}

	/* datagrams with DF: the pipe finds the path's MTU with probes */
	if (type == SOCK_DGRAM) {
		(void)setsockopt(fd, IPPROTO_IP, IP_DONTFRAG, &on,
		    sizeof(on));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on,
		    sizeof(on));
	}
	return (0);
}

/*
 * *ss is the configured address, or for an uplink without one any
 * address of the family wanted (AF_UNSPEC: either, left so for the
 * IPv6 socket that takes both).
 */
int
uplink_os_local(struct uplink_conf *up, struct sockaddr_storage *ss)
{
	if (up->local.ss_family == AF_UNSPEC && up->ifname[0] != '\0' &&
	    uplink_ifaddr(up, ss) == -1)
		return (-1);
	/* the configured address comes without one */
	ss->ss_len = sa_len((struct sockaddr *)ss);
	return (0);
}

/*
 * The address of the uplink's interface in the family of *ss: for
 * AF_UNSPEC IPv4 first, else a global IPv6 address (a link-local one
 * would need the peer on the link).
 */
static int
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
