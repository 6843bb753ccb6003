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
 * What is OpenBSD's own in the sockets of an uplink.
 *
 * The uplink's routing domain is the socket's routing table
 * (SO_RTABLE), which only root may choose.  A socket cannot be tied
 * to an interface on OpenBSD: an interface name without an address
 * binds to the interface's address, looked up each time the parent
 * (re)opens the sockets.  OpenBSD has no IPv4-mapped IPv6 addresses
 * (IPV6_V6ONLY is always on, and setting it off fails), so one socket
 * cannot take both families: an uplink without an address or
 * interface listens on IPv4.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "marconid.h"

int
uplink_os_setup(int fd, struct uplink_conf *up, int type)
{
	int	 rtable, on = 1;

	/*
	 * uplink.c sets IPV6_V6ONLY on for IPv6 sockets, which OpenBSD
	 * takes as a no-op; off it would fail, and uplink_os_local()
	 * never asks for it.
	 */

	/* routes, and the address to bind, come from the uplink's table */
	if (up->rdomain >= 0) {
		rtable = up->rdomain;
		if (setsockopt(fd, SOL_SOCKET, SO_RTABLE, &rtable,
		    sizeof(rtable)) == -1) {
			log_warn("%s: uplink %s: routing table %d", __func__,
			    up->name, rtable);
			return (-1);
		}
	}

	/*
	 * IPv6 datagrams are never fragmented on the way; not here either.
	 * OpenBSD has no per-socket DF for IPv4 UDP: there a path smaller
	 * than the datagrams is crossed by IP fragments, and the padded
	 * probes of the pipe only find what the path really drops.
	 */
	if (type == SOCK_DGRAM && up->local.ss_family != AF_INET)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on,
		    sizeof(on));
	return (0);
}

/*
 * *ss is the configured address, or for an uplink without one any
 * address of the family wanted (AF_UNSPEC: either).
 */
int
uplink_os_local(struct uplink_conf *up, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin;

	if (up->local.ss_family == AF_UNSPEC) {
		if (up->ifname[0] != '\0') {
			if (uplink_ifaddr(up, ss) == -1)
				return (-1);
		} else if (ss->ss_family == AF_UNSPEC) {
			/* no mapped addresses: IPv4, not both */
			sin = (struct sockaddr_in *)ss;
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		}
	}
	/* the configured address comes without one */
	ss->ss_len = sa_len((struct sockaddr *)ss);
	return (0);
}

