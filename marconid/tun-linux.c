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
 * The tun/tap device on Linux, in the parent.  The device comes from
 * /dev/net/tun; the MTU and the up flag are set with ioctl(2) on a
 * datagram socket, the addresses with rtnetlink, which handles IPv4
 * and IPv6 alike, any number of them, and replaces an address that is
 * already there instead of failing or adding it twice.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"
#include "offload.h"

#define TUN_DEVICE	"/dev/net/tun"
#define TUN_IPV6_MINMTU	1280	/* below it Linux turns IPv6 off */

struct nl_addr_req {
	struct nlmsghdr		 nh;
	struct ifaddrmsg	 ifa;
	char			 attrs[3 * RTA_SPACE(sizeof(struct in6_addr))];
};

static int	 tun_check(struct iface_conf *);
static int	 tun_devname(int, struct iface_conf *);
static int	 tun_setmtu(int, struct iface_conf *);
static int	 tun_up(int, struct iface_conf *);
static int	 tun_addr(int, int, struct iface_conf *, struct iface_addr *);
static int	 tun_addr_find(struct iface_conf *, struct iface_addr *);
static const char *tun_addr_str(struct iface_addr *, char *, size_t);
static void	 nl_attr(struct nlmsghdr *, size_t, int, const void *, size_t);
static int	 nl_open(struct iface_conf *);
static int	 tun_isip(enum iface_type, const uint8_t *, size_t);
static int	 nl_ack(int, uint32_t, int *);

/*
 * What the engine reads from the device: one packet, or a large TCP
 * segment that tun_recv() hands out cut into packets, one per call.
 */
static struct {
	int		 fd;
	int		 cutting;
	struct tso	 tso;
	uint8_t		 buf[VNET_HDRLEN + OFFLOAD_MAXPKT + 64];
} rx;

static struct gro	 tx;
static int		 tx_fd;

int
tun_open(struct iface_conf *ifc)
{
	struct ifreq	 ifr;
	int		 fd;

	/* the kernel would pick a name for a pattern: ours must be fixed */
	if (strchr(ifc->name, '%') != NULL) {
		log_warnx("%s: interface %s: not a device name", __func__,
		    ifc->name);
		return (-1);
	}

	if ((fd = open(TUN_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
		log_warn("%s: interface %s: %s", __func__, ifc->name,
		    TUN_DEVICE);
		return (-1);
	}

	/*
	 * No packet information header: the engine reads and writes
	 * Ethernet frames (tap) or IP packets (tun) behind a virtio-net
	 * header, through which the stack hands over large TCP segments
	 * and unfinished checksums (see tun_recv()).  The device is not
	 * made persistent, so it goes away with its last descriptor.
	 */
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = IFF_NO_PI | IFF_VNET_HDR;
	ifr.ifr_flags |= ifc->type == IFACE_TUN ? IFF_TUN : IFF_TAP;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		/* EINVAL: it exists as the other type; EBUSY: in use */
		log_warn("%s: interface %s: cannot attach as %s", __func__,
		    ifc->name, ifc->type == IFACE_TUN ? "tun" : "tap");
		close(fd);
		return (-1);
	}

	/*
	 * Large TCP segments over IPv4 and IPv6, and checksums: the
	 * stack then sends through the tunnel as it would through a
	 * fast NIC, one system call for up to 64 KB.  Without them the
	 * device still works, a packet at a time.
	 */
	if (ioctl(fd, TUNSETOFFLOAD,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == -1)
		log_warn("%s: interface %s: no segmentation offload",
		    __func__, ifc->name);

	log_debug("%s: interface %s: %s device open", __func__, ifc->name,
	    ifc->type == IFACE_TUN ? "tun" : "tap");
	return (fd);
}

int
tun_configure(int fd, struct iface_conf *ifc)
{
	struct iface_addr	*ia;
	int			 s, nl, rv = 0;

	if (tun_check(ifc) == -1 || tun_devname(fd, ifc) == -1)
		return (-1);

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: interface %s: socket", __func__, ifc->name);
		return (-1);
	}
	if ((nl = nl_open(ifc)) == -1) {
		close(s);
		return (-1);
	}

	/*
	 * Up before the addresses: Linux drops the IPv6 addresses of an
	 * interface that is down, and starts duplicate address detection
	 * only once it is up.
	 */
	if (tun_setmtu(s, ifc) == -1 || tun_up(s, ifc) == -1)
		rv = -1;
	else {
		TAILQ_FOREACH(ia, &ifc->addrs, entry)
			if (tun_addr(nl, RTM_NEWADDR, ifc, ia) == -1)
				rv = -1;
	}

	close(nl);
	close(s);
	return (rv);
}

/*
 * On reload: the new MTU, the addresses that are gone removed, the
 * others (re)applied; an address that stays is left alone by the
 * kernel, so sessions using it do not notice.
 */
int
tun_reconfigure(int fd, struct iface_conf *oifc, struct iface_conf *nifc)
{
	struct iface_addr	*ia;
	int			 s, nl, rv = 0;

	if (tun_check(nifc) == -1 || tun_devname(fd, nifc) == -1)
		return (-1);

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: interface %s: socket", __func__, nifc->name);
		return (-1);
	}
	if ((nl = nl_open(nifc)) == -1) {
		close(s);
		return (-1);
	}

	if (tun_setmtu(s, nifc) == -1 || tun_up(s, nifc) == -1)
		rv = -1;
	else {
		TAILQ_FOREACH(ia, &oifc->addrs, entry) {
			if (tun_addr_find(nifc, ia))
				continue;
			if (tun_addr(nl, RTM_DELADDR, nifc, ia) == -1)
				rv = -1;
		}
		TAILQ_FOREACH(ia, &nifc->addrs, entry)
			if (tun_addr(nl, RTM_NEWADDR, nifc, ia) == -1)
				rv = -1;
	}

	close(nl);
	close(s);
	return (rv);
}

void
tun_close(int fd, struct iface_conf *ifc)
{
	/*
	 * Not persistent: the device and its addresses go away with the
	 * last descriptor, once the engine's copy is closed too.
	 */
	if (close(fd) == -1)
		log_warn("%s: interface %s", __func__, ifc->name);
	else
		log_debug("%s: interface %s closed", __func__, ifc->name);
}

/*
 * What the kernel would refuse halfway through is refused before
 * anything changes.
 */
static int
tun_check(struct iface_conf *ifc)
{
	struct iface_addr	*ia;
	char			 abuf[INET6_ADDRSTRLEN + 8];

	TAILQ_FOREACH(ia, &ifc->addrs, entry) {
		switch (ia->ss.ss_family) {
		case AF_INET:
			if (ia->prefixlen > 32)
				goto badprefix;
			break;
		case AF_INET6:
			if (ia->prefixlen > 128)
				goto badprefix;
			if (ifc->mtu != 0 && ifc->mtu < TUN_IPV6_MINMTU) {
				log_warnx("%s: interface %s: address %s: IPv6 "
				    "needs an mtu of at least %d", __func__,
				    ifc->name, tun_addr_str(ia, abuf,
				    sizeof(abuf)), TUN_IPV6_MINMTU);
				return (-1);
			}
			break;
		default:
			log_warnx("%s: interface %s: address family %d "
			    "unsupported", __func__, ifc->name,
			    ia->ss.ss_family);
			return (-1);
		}
	}
	return (0);

 badprefix:
	log_warnx("%s: interface %s: address %s: bad prefix length",
	    __func__, ifc->name, tun_addr_str(ia, abuf, sizeof(abuf)));
	return (-1);
}

/* Make sure that fd is the device the configuration names. */
static int
tun_devname(int fd, struct iface_conf *ifc)
{
	struct ifreq	 ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) == -1) {
		log_warn("%s: interface %s: TUNGETIFF", __func__, ifc->name);
		return (-1);
	}
	if (strncmp(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name)) != 0) {
		log_warnx("%s: interface %s: the descriptor is for %.*s",
		    __func__, ifc->name, (int)sizeof(ifr.ifr_name),
		    ifr.ifr_name);
		return (-1);
	}
	return (0);
}

static int
tun_setmtu(int s, struct iface_conf *ifc)
{
	struct ifreq	 ifr;

	if (ifc->mtu == 0)
		return (0);

	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	ifr.ifr_mtu = ifc->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) == -1) {
		log_warn("%s: interface %s: mtu %u", __func__, ifc->name,
		    ifc->mtu);
		return (-1);
	}
	return (0);
}

static int
tun_up(int s, struct iface_conf *ifc)
{
	struct ifreq	 ifr;

	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		log_warn("%s: interface %s: SIOCGIFFLAGS", __func__,
		    ifc->name);
		return (-1);
	}
	if (ifr.ifr_flags & IFF_UP)
		return (0);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		log_warn("%s: interface %s: up", __func__, ifc->name);
		return (-1);
	}
	return (0);
}

static int
nl_open(struct iface_conf *ifc)
{
	struct sockaddr_nl	 snl;
	int			 nl;

	if ((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1) {
		log_warn("%s: interface %s: netlink socket", __func__,
		    ifc->name);
		return (-1);
	}
	memset(&snl, 0, sizeof(snl));
	snl.nl_family = AF_NETLINK;
	if (bind(nl, (struct sockaddr *)&snl, sizeof(snl)) == -1) {
		log_warn("%s: interface %s: netlink bind", __func__,
		    ifc->name);
		close(nl);
		return (-1);
	}
	return (nl);
}

static void
nl_attr(struct nlmsghdr *nh, size_t max, int type, const void *data,
    size_t len)
{
	struct rtattr	*rta;

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > max)
		fatalx("%s: attribute %d does not fit", __func__, type);
	rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

/*
 * Add (RTM_NEWADDR, replacing what is there) or remove (RTM_DELADDR)
 * one address and wait for the kernel's answer.
 */
static int
tun_addr(int nl, int cmd, struct iface_conf *ifc, struct iface_addr *ia)
{
	static uint32_t		 seq;
	struct nl_addr_req	 req;
	struct sockaddr_nl	 snl;
	struct nlmsghdr		*nh;
	struct nlmsgerr		*err;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct in_addr		 brd;
	char			 buf[4096], abuf[INET6_ADDRSTRLEN + 8];
	const char		*what = cmd == RTM_NEWADDR ? "add" : "delete";
	unsigned int		 ifindex;
	ssize_t			 n;
	size_t			 left;
	int			 error;

	tun_addr_str(ia, abuf, sizeof(abuf));

	if ((ifindex = if_nametoindex(ifc->name)) == 0) {
		log_warn("%s: interface %s: address %s", __func__, ifc->name,
		    abuf);
		return (-1);
	}

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = cmd;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (cmd == RTM_NEWADDR)
		req.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	req.nh.nlmsg_seq = ++seq;
	req.ifa.ifa_prefixlen = ia->prefixlen;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = ifindex;

	switch (ia->ss.ss_family) {
	case AF_INET:
		sin = (struct sockaddr_in *)&ia->ss;
		req.ifa.ifa_family = AF_INET;
		nl_attr(&req.nh, sizeof(req), IFA_LOCAL, &sin->sin_addr,
		    sizeof(sin->sin_addr));
		nl_attr(&req.nh, sizeof(req), IFA_ADDRESS, &sin->sin_addr,
		    sizeof(sin->sin_addr));
		/* a subnet on an Ethernet segment has a broadcast address */
		if (cmd == RTM_NEWADDR && ia->prefixlen <= 30) {
			brd.s_addr = sin->sin_addr.s_addr |
			    htonl(0xffffffffU >> ia->prefixlen);
			nl_attr(&req.nh, sizeof(req), IFA_BROADCAST, &brd,
			    sizeof(brd));
		}
		break;
	case AF_INET6:
		sin6 = (struct sockaddr_in6 *)&ia->ss;
		req.ifa.ifa_family = AF_INET6;
		nl_attr(&req.nh, sizeof(req), IFA_LOCAL, &sin6->sin6_addr,
		    sizeof(sin6->sin6_addr));
		nl_attr(&req.nh, sizeof(req), IFA_ADDRESS, &sin6->sin6_addr,
		    sizeof(sin6->sin6_addr));
		break;
	default:
		fatalx("%s: address family %d", __func__, ia->ss.ss_family);
	}

	memset(&snl, 0, sizeof(snl));
	snl.nl_family = AF_NETLINK;
	if (sendto(nl, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&snl,
	    sizeof(snl)) == -1) {
		log_warn("%s: interface %s: %s address %s: netlink", __func__,
		    ifc->name, what, abuf);
		return (-1);
	}

	/* the acknowledgement carries our sequence number */
	for (;;) {
		if ((n = recv(nl, buf, sizeof(buf), 0)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: interface %s: %s address %s: netlink",
			    __func__, ifc->name, what, abuf);
			return (-1);
		}
		left = (size_t)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		    nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req.nh.nlmsg_seq ||
			    nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
				log_warnx("%s: interface %s: %s address %s: "
				    "short netlink reply", __func__,
				    ifc->name, what, abuf);
				return (-1);
			}
			err = NLMSG_DATA(nh);
			error = -err->error;
			if (error == 0)
				return (0);
			/* already there, or already gone: what we wanted */
			if (cmd == RTM_NEWADDR && error == EEXIST)
				return (0);
			/* ENXIO: no IPv6 on the device (mtu below 1280) */
			if (cmd == RTM_DELADDR && (error == EADDRNOTAVAIL ||
			    error == ENOENT || error == ESRCH ||
			    error == ENXIO))
				return (0);
			errno = error;
			log_warn("%s: interface %s: %s address %s", __func__,
			    ifc->name, what, abuf);
			return (-1);
		}
	}
}

static int
tun_addr_find(struct iface_conf *ifc, struct iface_addr *ia)
{
	struct iface_addr	*ja;
	struct sockaddr_in	*a4, *b4;
	struct sockaddr_in6	*a6, *b6;

	TAILQ_FOREACH(ja, &ifc->addrs, entry) {
		if (ja->ss.ss_family != ia->ss.ss_family ||
		    ja->prefixlen != ia->prefixlen)
			continue;
		switch (ia->ss.ss_family) {
		case AF_INET:
			a4 = (struct sockaddr_in *)&ia->ss;
			b4 = (struct sockaddr_in *)&ja->ss;
			if (a4->sin_addr.s_addr == b4->sin_addr.s_addr)
				return (1);
			break;
		case AF_INET6:
			a6 = (struct sockaddr_in6 *)&ia->ss;
			b6 = (struct sockaddr_in6 *)&ja->ss;
			if (IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr))
				return (1);
			break;
		}
	}
	return (0);
}

static const char *
tun_addr_str(struct iface_addr *ia, char *buf, size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const void	*src;

	switch (ia->ss.ss_family) {
	case AF_INET:
		src = &((struct sockaddr_in *)&ia->ss)->sin_addr;
		break;
	case AF_INET6:
		src = &((struct sockaddr_in6 *)&ia->ss)->sin6_addr;
		break;
	default:
		snprintf(buf, len, "(family %d)", ia->ss.ss_family);
		return (buf);
	}
	if (inet_ntop(ia->ss.ss_family, src, host, sizeof(host)) == NULL)
		strlcpy(host, "?", sizeof(host));
	snprintf(buf, len, "%s/%u", host, ia->prefixlen);
	return (buf);
}

/*
 * The answer to request seq: 0 with *error set to what the kernel
 * said (0 for success), -1 if the socket failed.
 */
static int
nl_ack(int nl, uint32_t seq, int *error)
{
	char		 buf[4096];
	struct nlmsghdr	*nh;
	struct nlmsgerr	*err;
	ssize_t		 n;
	size_t		 left;

	for (;;) {
		if ((n = recv(nl, buf, sizeof(buf), 0)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		left = (size_t)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		    nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != seq ||
			    nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
				errno = EBADMSG;
				return (-1);
			}
			err = NLMSG_DATA(nh);
			*error = -err->error;
			return (0);
		}
	}
}

/*
 * A route to a peer's network through the interface (add != 0), or
 * its removal, in the main table.  An add fails with EEXIST rather
 * than replace a route someone else made: 1 then, and the caller
 * leaves that route alone; a removal of a route already gone is a
 * success.  Returns 0, 1 or -1.
 */
int
tun_route(struct iface_conf *ifc, int add, const struct kroute *kr)
{
	static uint32_t	 seq;
	struct {
		struct nlmsghdr	 nh;
		struct rtmsg	 rtm;
		char		 attrs[2 * RTA_SPACE(sizeof(struct in6_addr))];
	}		 req;
	struct sockaddr_nl snl;
	char		 abuf[INET6_ADDRSTRLEN];
	uint32_t	 oif;
	int		 nl, error = 0, rv = -1;

	if (inet_ntop(kr->af, kr->addr, abuf, sizeof(abuf)) == NULL)
		strlcpy(abuf, "?", sizeof(abuf));
	if ((oif = if_nametoindex(ifc->name)) == 0) {
		log_warn("%s: interface %s: route %s/%u", __func__, ifc->name,
		    abuf, kr->plen);
		return (-1);
	}
	if ((nl = nl_open(ifc)) == -1)
		return (-1);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nh.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (add)
		req.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = ++seq;
	req.rtm.rtm_family = kr->af;
	req.rtm.rtm_dst_len = kr->plen;
	req.rtm.rtm_table = RT_TABLE_MAIN;
	req.rtm.rtm_protocol = RTPROT_STATIC;
	req.rtm.rtm_scope = RT_SCOPE_LINK;
	req.rtm.rtm_type = RTN_UNICAST;
	nl_attr(&req.nh, sizeof(req), RTA_DST, kr->addr,
	    kr->af == AF_INET ? 4 : 16);
	nl_attr(&req.nh, sizeof(req), RTA_OIF, &oif, sizeof(oif));

	memset(&snl, 0, sizeof(snl));
	snl.nl_family = AF_NETLINK;
	if (sendto(nl, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&snl,
	    sizeof(snl)) == -1 || nl_ack(nl, req.nh.nlmsg_seq, &error) == -1) {
		log_warn("%s: interface %s: route %s/%u: netlink", __func__,
		    ifc->name, abuf, kr->plen);
		goto done;
	}
	if (error == 0)
		rv = 0;
	else if (add && error == EEXIST)
		rv = 1;
	else if (!add && (error == ESRCH || error == ENOENT ||
	    error == ENODEV))
		rv = 0;
	else {
		errno = error;
		log_warn("%s: interface %s: %s route %s/%u", __func__,
		    ifc->name, add ? "add" : "delete", abuf, kr->plen);
	}
 done:
	close(nl);
	return (rv);
}

/*
 * Frames as the engine sees them: Ethernet for a tap, a bare IP packet
 * for a tun (opened with IFF_NO_PI), so nothing to add or strip here.
 */
/*
 * The next packet from the device, with its checksum complete: cut
 * from the large segment read before, or read now.  A packet that does
 * not add up is dropped; after a few the caller hears EAGAIN and comes
 * back when the device is readable again.
 */
ssize_t
tun_recv(int fd, enum iface_type type, void *buf, size_t len)
{
	struct vnet_hdr	 vh;
	uint8_t		*pkt = rx.buf + VNET_HDRLEN;
	size_t		 l3;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (rx.cutting && rx.fd == fd) {
			if ((n = tso_next(&rx.tso, buf, len)) > 0)
				return (n);
			rx.cutting = 0;
			if (n == -1)
				log_debug("%s: segment of %zu bytes cut too "
				    "large", __func__, rx.tso.len);
		}
		if ((n = read(fd, rx.buf, sizeof(rx.buf))) == -1)
			return (-1);
		if (n < VNET_HDRLEN) {
			log_debug("%s: short read of %zd", __func__, n);
			continue;
		}
		n -= VNET_HDRLEN;
		vnet_hdr_get(&vh, rx.buf);
		if (vh.gso_type == VNET_GSO_NONE) {
			if ((vh.flags & VNET_F_NEEDS_CSUM) &&
			    offload_csum(pkt, n, &vh) == -1) {
				log_debug("%s: bad checksum offsets",
				    __func__);
				continue;
			}
			if ((size_t)n > len)
				n = len;	/* as read(2) would */
			memcpy(buf, pkt, n);
			return (n);
		}
		l3 = 0;
		if (type == IFACE_TAP)
			l3 = n > 14 && pkt[12] == 0x81 && pkt[13] == 0 ?
			    18 : 14;
		if (tso_init(&rx.tso, pkt, n, &vh, l3) == -1) {
			log_debug("%s: segment not cut: type %u, %zd bytes",
			    __func__, vh.gso_type, n);
			continue;
		}
		rx.fd = fd;
		rx.cutting = 1;
	}
	errno = EAGAIN;
	return (-1);
}

/*
 * A packet to the device.  TCP packets that continue one another are
 * held and merged (see offload.c) until tun_flush(), which the engine
 * calls once it has handled what arrived together; anything else goes
 * at once, after what is held, behind a header that asks for nothing.
 */
ssize_t
tun_send(int fd, enum iface_type type, const void *buf, size_t len)
{
	static uint8_t	 none[VNET_HDRLEN];
	struct iovec	 iov[2];
	ssize_t		 n;

	if (tx.len > 0) {
		if (tx_fd == fd && gro_merge(&tx, buf, len) == 0)
			return (len);
		if (tun_flush(tx_fd) == -1)
			return (-1);
	}
	if (tun_isip(type, buf, len) &&
	    gro_start(&tx, buf, len, type == IFACE_TAP ? 14 : 0) == 0) {
		tx_fd = fd;
		return (len);
	}
	iov[0].iov_base = none;
	iov[0].iov_len = sizeof(none);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	if ((n = writev(fd, iov, 2)) == -1)
		return (-1);
	return (n > VNET_HDRLEN ? n - VNET_HDRLEN : 0);
}

/* An IP packet: on a tap, behind an Ethernet header saying so. */
static int
tun_isip(enum iface_type type, const uint8_t *p, size_t len)
{
	if (type == IFACE_TUN)
		return (1);
	return (len > 14 && ((p[12] == 0x08 && p[13] == 0x00) ||
	    (p[12] == 0x86 && p[13] == 0xdd)));
}

/* Write what tun_send() holds. */
int
tun_flush(int fd)
{
	size_t	 n;

	if ((n = gro_finish(&tx)) == 0 || tx_fd != fd)
		return (0);
	if (write(fd, tx.buf, n) == -1)
		return (-1);
	return (0);
}
