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
#include <string.h>

#include "marconid.h"

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

