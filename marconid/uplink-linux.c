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
 * What is Linux's own in the sockets of an uplink: tying a socket to
 * an interface (SO_BINDTODEVICE) or to a routing table through a
 * firewall mark (SO_MARK) needs privileges the pipe process does not
 * have.  Being tied to its interface, a socket of an uplink without
 * an address binds to any, and one IPv6 socket takes both families.
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
	unsigned int	 mark;
	int		 pmtud, ok, bufsz;

	/* in and out through this interface only, whatever the routes say */
	if (up->ifname[0] != '\0' && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, up->ifname, strnlen(up->ifname,
	    sizeof(up->ifname))) == -1) {
		log_warn("%s: uplink %s: bind to interface %s", __func__,
		    up->name, up->ifname);
		return (-1);
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
			return (-1);
		}
	}

	/*
	 * Datagrams leave with DF and are never fragmented here, whatever
	 * the kernel has cached for the route: the pipe finds the path's
	 * MTU itself with padded probes.  One of the two options does not
	 * apply to the socket's family; that one is allowed to fail.
	 */
	if (type == SOCK_DGRAM) {
		/*
		 * Room for the bursts of a fast stream while the pipe
		 * process is busy: beyond net.core.rmem_max and wmem_max,
		 * which only a privileged process may do.  uplink.c has
		 * already asked for as much as is allowed without.
		 */
		bufsz = UPLINK_SOCKBUF;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz,
		    sizeof(bufsz)) == -1 || setsockopt(fd, SOL_SOCKET,
		    SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) == -1)
			log_debug("%s: uplink %s: socket buffers: %s",
			    __func__, up->name, strerror(errno));

		pmtud = IP_PMTUDISC_PROBE;
		ok = setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud,
		    sizeof(pmtud)) == 0;
		pmtud = IPV6_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtud,
		    sizeof(pmtud)) == 0)
			ok = 1;
		if (!ok) {
			log_warn("%s: uplink %s: path MTU discovery", __func__,
			    up->name);
			return (-1);
		}
	}
	return (0);
}

/* SO_BINDTODEVICE does the interface's part: nothing to derive */
int
uplink_os_local(struct uplink_conf *up, struct sockaddr_storage *ss)
{
	return (0);
}
