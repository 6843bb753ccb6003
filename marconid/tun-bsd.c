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
 * The tun/tap device on OpenBSD and FreeBSD, in the parent.  Opening
 * /dev/tapN or /dev/tunN creates the interface if it does not exist;
 * addresses are set with SIOCAIFADDR and SIOCAIFADDR_IN6 like
 * ifconfig(8) does.
 *
 * What the engine reads and writes: on tap, bare Ethernet frames; on
 * tun, IP packets behind a 4-byte address family in network byte
 * order.  OpenBSD's tun always has that header; FreeBSD's is switched
 * on (TUNSIFHEAD) because without it FreeBSD carries IPv4 only.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <net/if.h>
#include <net/if_dl.h>
#include <net/if_tun.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

#define TUN_IPV6_MINMTU	1280

/*
 * Interfaces that opening the device created.  OpenBSD destroys such
 * an interface with its last descriptor; FreeBSD keeps it (down and
 * without addresses), so tun_close() destroys it there.
 */
struct tun_created {
	SLIST_ENTRY(tun_created) entry;
	char			 name[IFNAMSIZ];
};
static SLIST_HEAD(, tun_created) tun_created =
    SLIST_HEAD_INITIALIZER(tun_created);

static int	 tun_devname(int, struct iface_conf *);
static int	 tun_check(struct iface_conf *);
static int	 tun_mode(int, struct iface_conf *);
static int	 tun_setmtu(int, struct iface_conf *);
static int	 tun_up(int, struct iface_conf *);
static int	 tun_apply(struct iface_conf *, struct iface_conf *);
static int	 tun_addr_add(int, int, struct iface_conf *,
		    struct iface_addr *);
static int	 tun_addr_del(int, int, struct iface_conf *,
		    struct iface_addr *);
static int	 tun_addr_present(struct ifaddrs *, struct iface_conf *,
		    struct iface_addr *);
static int	 tun_addr_find(struct iface_conf *, struct iface_addr *);
static int	 tun_prefixlen(struct sockaddr *);
static void	 tun_prefix2mask(int, uint8_t, struct sockaddr_storage *);
static const char *tun_addr_str(struct iface_addr *, char *, size_t);

int
tun_open(struct iface_conf *ifc)
{
	struct tun_created	*tc;
	const char		*prefix;
	char			 path[sizeof("/dev/") + IFNAMSIZ];
	size_t			 i;
	int			 fd, existed;

	/* the device node is named after the interface: tapN or tunN */
	prefix = ifc->type == IFACE_TUN ? "tun" : "tap";
	if (strncmp(ifc->name, prefix, 3) != 0 || ifc->name[3] == '\0') {
		log_warnx("%s: interface %s: a %s device must be named %sN",
		    __func__, ifc->name, prefix, prefix);
		return (-1);
	}
	for (i = 3; ifc->name[i] != '\0'; i++) {
		if (!isdigit((unsigned char)ifc->name[i])) {
			log_warnx("%s: interface %s: a %s device must be "
			    "named %sN", __func__, ifc->name, prefix, prefix);
			return (-1);
		}
	}

	existed = if_nametoindex(ifc->name) != 0;
	snprintf(path, sizeof(path), "/dev/%s", ifc->name);
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
		/* EBUSY: another process has it open */
		log_warn("%s: interface %s: %s", __func__, ifc->name, path);
		return (-1);
	}

	/*
	 * Opening the node made the interface: remember it before
	 * anything can fail, so that tun_close() destroys it (FreeBSD
	 * keeps an interface after the last close).
	 */
	if (!existed) {
		if ((tc = calloc(1, sizeof(*tc))) == NULL)
			fatal("%s", __func__);
		strlcpy(tc->name, ifc->name, sizeof(tc->name));
		SLIST_INSERT_HEAD(&tun_created, tc, entry);
	}

	if (ifc->type == IFACE_TUN && tun_mode(fd, ifc) == -1) {
		tun_close(fd, ifc);
		return (-1);
	}

	log_debug("%s: interface %s: %s open%s", __func__, ifc->name, path,
	    existed ? "" : ", interface created");
	return (fd);
}

int
tun_configure(int fd, struct iface_conf *ifc)
{
	if (tun_check(ifc) == -1 || tun_devname(fd, ifc) == -1)
		return (-1);
	return (tun_apply(NULL, ifc));
}

/*
 * On reload: the new MTU, the addresses that are gone removed, the new
 * ones added.  An address that stays is not touched (FreeBSD would
 * remove and add it again, and its routes with it).
 */
int
tun_reconfigure(int fd, struct iface_conf *oifc, struct iface_conf *nifc)
{
	if (tun_check(nifc) == -1 || tun_devname(fd, nifc) == -1)
		return (-1);
	return (tun_apply(oifc, nifc));
}

void
tun_close(int fd, struct iface_conf *ifc)
{
	struct tun_created	*tc;
	struct ifreq		 ifr;
	int			 s;

	if (close(fd) == -1)
		log_warn("%s: interface %s", __func__, ifc->name);

	SLIST_FOREACH(tc, &tun_created, entry)
		if (strcmp(tc->name, ifc->name) == 0)
			break;
	if (tc == NULL) {
		/* it was there before us: leave it to whoever made it */
		log_debug("%s: interface %s closed", __func__, ifc->name);
		return;
	}
	SLIST_REMOVE(&tun_created, tc, tun_created, entry);
	free(tc);

	/* gone already where the last close destroys it (OpenBSD) */
	if (if_nametoindex(ifc->name) == 0) {
		log_debug("%s: interface %s closed and gone", __func__,
		    ifc->name);
		return;
	}
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: interface %s: socket", __func__, ifc->name);
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCIFDESTROY, &ifr) == -1 && errno != ENXIO)
		log_warn("%s: interface %s: destroy", __func__, ifc->name);
	else
		log_debug("%s: interface %s closed and destroyed", __func__,
		    ifc->name);
	close(s);
}

/*
 * tun is point-to-point by default: with a peer address only, and no
 * route to the subnet of its address.  The sites share a subnet over
 * it, so make it a broadcast (subnet) interface; that can only change
 * while it is down.  On FreeBSD, also ask for the address family
 * header, without which it carries IPv4 only.
 */
static int
tun_mode(int fd, struct iface_conf *ifc)
{
	struct ifreq	 ifr;
	int		 s, mode = IFF_BROADCAST | IFF_MULTICAST, rv = -1;
#ifdef TUNSIFHEAD
	int		 on = 1;

	if (ioctl(fd, TUNSIFHEAD, &on) == -1) {
		log_warn("%s: interface %s: TUNSIFHEAD", __func__, ifc->name);
		return (-1);
	}
#endif

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: interface %s: socket", __func__, ifc->name);
		return (-1);
	}
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		log_warn("%s: interface %s: SIOCGIFFLAGS", __func__,
		    ifc->name);
		goto done;
	}
	if (ifr.ifr_flags & IFF_UP) {
		ifr.ifr_flags &= ~IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
			log_warn("%s: interface %s: down", __func__,
			    ifc->name);
			goto done;
		}
	}
	if (ioctl(fd, TUNSIFMODE, &mode) == -1) {
		log_warn("%s: interface %s: broadcast mode", __func__,
		    ifc->name);
		goto done;
	}
	rv = 0;
 done:
	close(s);
	return (rv);
}

/* Make sure that fd is the device the configuration names. */
static int
tun_devname(int fd, struct iface_conf *ifc)
{
	struct stat	 st;
	const char	*name;

	if (fstat(fd, &st) == -1) {
		log_warn("%s: interface %s: fstat", __func__, ifc->name);
		return (-1);
	}
	if (!S_ISCHR(st.st_mode) ||
	    (name = devname(st.st_rdev, S_IFCHR)) == NULL ||
	    strcmp(name, ifc->name) != 0) {
		log_warnx("%s: interface %s: the descriptor is for another "
		    "device", __func__, ifc->name);
		return (-1);
	}
	return (0);
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

/* MTU, up, then the addresses: those of oifc not in nifc go. */
static int
tun_apply(struct iface_conf *oifc, struct iface_conf *nifc)
{
	struct iface_addr	*ia;
	struct ifaddrs		*ifap = NULL;
	int			 s, s6 = -1, rv = 0;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: interface %s: socket", __func__, nifc->name);
		return (-1);
	}
	/* the IPv6 address ioctls want an IPv6 socket */
	TAILQ_FOREACH(ia, &nifc->addrs, entry)
		if (ia->ss.ss_family == AF_INET6)
			break;
	if (ia == NULL && oifc != NULL)
		TAILQ_FOREACH(ia, &oifc->addrs, entry)
			if (ia->ss.ss_family == AF_INET6)
				break;
	if (ia != NULL && (s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("%s: interface %s: IPv6 socket", __func__,
		    nifc->name);
		rv = -1;
		goto done;
	}

	if (tun_setmtu(s, nifc) == -1 || tun_up(s, nifc) == -1) {
		rv = -1;
		goto done;
	}

	if (oifc != NULL) {
		TAILQ_FOREACH(ia, &oifc->addrs, entry) {
			if (tun_addr_find(nifc, ia))
				continue;
			if (tun_addr_del(s, s6, nifc, ia) == -1)
				rv = -1;
		}
	}

	if (getifaddrs(&ifap) == -1) {
		log_warn("%s: interface %s: getifaddrs", __func__, nifc->name);
		rv = -1;
		goto done;
	}
	TAILQ_FOREACH(ia, &nifc->addrs, entry) {
		if (tun_addr_present(ifap, nifc, ia))
			continue;
		if (tun_addr_add(s, s6, nifc, ia) == -1)
			rv = -1;
	}
	freeifaddrs(ifap);

 done:
	if (s6 != -1)
		close(s6);
	close(s);
	return (rv);
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
tun_addr_add(int s, int s6, struct iface_conf *ifc, struct iface_addr *ia)
{
	struct in_aliasreq	 ifra;
	struct in6_aliasreq	 ifra6;
	struct sockaddr_storage	 mask;
	struct sockaddr_in	*sin;
	char			 abuf[INET6_ADDRSTRLEN + 8];

	tun_addr_str(ia, abuf, sizeof(abuf));
	tun_prefix2mask(ia->ss.ss_family, ia->prefixlen, &mask);

	switch (ia->ss.ss_family) {
	case AF_INET:
		memset(&ifra, 0, sizeof(ifra));
		strlcpy(ifra.ifra_name, ifc->name, sizeof(ifra.ifra_name));
		memcpy(&ifra.ifra_addr, &ia->ss, sizeof(ifra.ifra_addr));
		ifra.ifra_addr.sin_len = sizeof(ifra.ifra_addr);
		ifra.ifra_addr.sin_port = 0;
		memcpy(&ifra.ifra_mask, &mask, sizeof(ifra.ifra_mask));
		/* a subnet on an Ethernet segment has a broadcast address */
		if (ia->prefixlen <= 30) {
			sin = &ifra.ifra_broadaddr;
			sin->sin_len = sizeof(*sin);
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = ifra.ifra_addr.sin_addr.s_addr |
			    ~ifra.ifra_mask.sin_addr.s_addr;
		}
		if (ioctl(s, SIOCAIFADDR, &ifra) == -1 && errno != EEXIST)
			goto fail;
		break;
	case AF_INET6:
		memset(&ifra6, 0, sizeof(ifra6));
		strlcpy(ifra6.ifra_name, ifc->name, sizeof(ifra6.ifra_name));
		memcpy(&ifra6.ifra_addr, &ia->ss, sizeof(ifra6.ifra_addr));
		ifra6.ifra_addr.sin6_len = sizeof(ifra6.ifra_addr);
		ifra6.ifra_addr.sin6_port = 0;
		memcpy(&ifra6.ifra_prefixmask, &mask,
		    sizeof(ifra6.ifra_prefixmask));
		/* configured, not learned: valid and preferred for ever */
		ifra6.ifra_lifetime.ia6t_vltime = ND6_INFINITE_LIFETIME;
		ifra6.ifra_lifetime.ia6t_pltime = ND6_INFINITE_LIFETIME;
		if (ioctl(s6, SIOCAIFADDR_IN6, &ifra6) == -1 &&
		    errno != EEXIST)
			goto fail;
		break;
	default:
		fatalx("%s: address family %d", __func__, ia->ss.ss_family);
	}
	return (0);

 fail:
	log_warn("%s: interface %s: add address %s", __func__, ifc->name,
	    abuf);
	return (-1);
}

static int
tun_addr_del(int s, int s6, struct iface_conf *ifc, struct iface_addr *ia)
{
	struct ifreq		 ifr;
	struct in6_ifreq	 ifr6;
	char			 abuf[INET6_ADDRSTRLEN + 8];

	switch (ia->ss.ss_family) {
	case AF_INET:
		memset(&ifr, 0, sizeof(ifr));
		strlcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
		memcpy(&ifr.ifr_addr, &ia->ss, sizeof(struct sockaddr_in));
		ifr.ifr_addr.sa_len = sizeof(struct sockaddr_in);
		if (ioctl(s, SIOCDIFADDR, &ifr) == -1 &&
		    errno != EADDRNOTAVAIL)
			goto fail;
		break;
	case AF_INET6:
		memset(&ifr6, 0, sizeof(ifr6));
		strlcpy(ifr6.ifr_name, ifc->name, sizeof(ifr6.ifr_name));
		memcpy(&ifr6.ifr_addr, &ia->ss, sizeof(ifr6.ifr_addr));
		ifr6.ifr_addr.sin6_len = sizeof(ifr6.ifr_addr);
		if (ioctl(s6, SIOCDIFADDR_IN6, &ifr6) == -1 &&
		    errno != EADDRNOTAVAIL)
			goto fail;
		break;
	default:
		fatalx("%s: address family %d", __func__, ia->ss.ss_family);
	}
	return (0);

 fail:
	log_warn("%s: interface %s: delete address %s", __func__, ifc->name,
	    tun_addr_str(ia, abuf, sizeof(abuf)));
	return (-1);
}

/* Is the address on the interface already, with the same prefix? */
static int
tun_addr_present(struct ifaddrs *ifap, struct iface_conf *ifc,
    struct iface_addr *ia)
{
	struct ifaddrs		*ifa;
	struct sockaddr_in	*a4, *b4;
	struct sockaddr_in6	*a6, *b6;

	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_netmask == NULL ||
		    strcmp(ifa->ifa_name, ifc->name) != 0 ||
		    ifa->ifa_addr->sa_family != ia->ss.ss_family)
			continue;
		switch (ia->ss.ss_family) {
		case AF_INET:
			a4 = (struct sockaddr_in *)&ia->ss;
			b4 = (struct sockaddr_in *)ifa->ifa_addr;
			if (a4->sin_addr.s_addr != b4->sin_addr.s_addr)
				continue;
			break;
		case AF_INET6:
			a6 = (struct sockaddr_in6 *)&ia->ss;
			b6 = (struct sockaddr_in6 *)ifa->ifa_addr;
			if (!IN6_ARE_ADDR_EQUAL(&a6->sin6_addr,
			    &b6->sin6_addr))
				continue;
			break;
		default:
			continue;
		}
		if (tun_prefixlen(ifa->ifa_netmask) == ia->prefixlen)
			return (1);
	}
	return (0);
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

/* The prefix length of a netmask as getifaddrs(3) gives it. */
static int
tun_prefixlen(struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 i, len;
	int		 plen = 0;
	uint8_t		 b;

	switch (sa->sa_family) {
	case AF_INET:
		p = (const uint8_t *)&((struct sockaddr_in *)sa)->sin_addr;
		len = sizeof(struct in_addr);
		break;
	case AF_INET6:
		p = (const uint8_t *)&((struct sockaddr_in6 *)sa)->sin6_addr;
		len = sizeof(struct in6_addr);
		break;
	default:
		return (-1);
	}
	for (i = 0; i < len; i++) {
		for (b = p[i]; b & 0x80; b <<= 1)
			plen++;
		if (p[i] != 0xff)
			break;
	}
	return (plen);
}

static void
tun_prefix2mask(int af, uint8_t prefixlen, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	uint8_t			*p;
	int			 i, bits = prefixlen;

	memset(ss, 0, sizeof(*ss));
	switch (af) {
	case AF_INET:
		sin->sin_len = sizeof(*sin);
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = prefixlen == 0 ? 0 :
		    htonl(0xffffffffU << (32 - prefixlen));
		break;
	case AF_INET6:
		sin6->sin6_len = sizeof(*sin6);
		sin6->sin6_family = AF_INET6;
		p = (uint8_t *)&sin6->sin6_addr;
		for (i = 0; i < 16 && bits > 0; i++, bits -= 8)
			p[i] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		break;
	}
}

/*
 * A route to a peer's network through the interface (add != 0), or
 * its removal, with a routing socket as route(8) -iface does: the
 * gateway is the interface's link-level address.  RTM_ADD fails with
 * EEXIST rather than change a route someone else made: 1 then, and the
 * caller leaves that route alone; a removal of a route already gone is
 * a success.  Returns 0, 1 or -1.
 */
#define RT_ROUNDUP(a) \
	((a) > 0 ? (1 + (((a) - 1) | (sizeof(long) - 1))) : sizeof(long))

int
tun_route(struct iface_conf *ifc, int add, const struct kroute *kr)
{
	static int		 seq;
	struct {
		struct rt_msghdr	 rtm;
		char			 space[512];
	}			 msg;
	struct sockaddr_storage	 dst, mask;
	struct sockaddr_dl	 sdl;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&dst;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&dst;
	char			*p, abuf[INET6_ADDRSTRLEN];
	unsigned int		 ifindex;
	int			 s, rv = -1;

	if (inet_ntop(kr->af, kr->addr, abuf, sizeof(abuf)) == NULL)
		strlcpy(abuf, "?", sizeof(abuf));
	if ((ifindex = if_nametoindex(ifc->name)) == 0) {
		log_warn("%s: interface %s: route %s/%u", __func__, ifc->name,
		    abuf, kr->plen);
		return (-1);
	}

	memset(&dst, 0, sizeof(dst));
	if (kr->af == AF_INET) {
		sin->sin_len = sizeof(*sin);
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, kr->addr, sizeof(sin->sin_addr));
	} else {
		sin6->sin6_len = sizeof(*sin6);
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, kr->addr, sizeof(sin6->sin6_addr));
	}
	tun_prefix2mask(kr->af, kr->plen, &mask);
	memset(&sdl, 0, sizeof(sdl));
	sdl.sdl_len = sizeof(sdl);
	sdl.sdl_family = AF_LINK;
	sdl.sdl_index = ifindex;

	memset(&msg, 0, sizeof(msg));
	msg.rtm.rtm_version = RTM_VERSION;
	msg.rtm.rtm_type = add ? RTM_ADD : RTM_DELETE;
	msg.rtm.rtm_flags = RTF_UP | RTF_STATIC;
	msg.rtm.rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK;
	msg.rtm.rtm_seq = ++seq;
#ifdef __OpenBSD__
	msg.rtm.rtm_hdrlen = sizeof(msg.rtm);
	msg.rtm.rtm_tableid = 0;
	msg.rtm.rtm_priority = RTP_STATIC;
#endif
	p = msg.space;
	memcpy(p, &dst, dst.ss_len);
	p += RT_ROUNDUP(dst.ss_len);
	memcpy(p, &sdl, sdl.sdl_len);
	p += RT_ROUNDUP(sdl.sdl_len);
	memcpy(p, &mask, mask.ss_len);
	p += RT_ROUNDUP(mask.ss_len);
	msg.rtm.rtm_msglen = p - (char *)&msg;

	if ((s = socket(AF_ROUTE, SOCK_RAW, 0)) == -1) {
		log_warn("%s: interface %s: routing socket", __func__,
		    ifc->name);
		return (-1);
	}
	/* the echo of our own message is not read: the write says it all */
	shutdown(s, SHUT_RD);
	if (write(s, &msg, msg.rtm.rtm_msglen) != -1)
		rv = 0;
	else if (add && errno == EEXIST)
		rv = 1;
	else if (!add && errno == ESRCH)
		rv = 0;
	else
		log_warn("%s: interface %s: %s route %s/%u", __func__,
		    ifc->name, add ? "add" : "delete", abuf, kr->plen);
	close(s);
	return (rv);
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
 * A BSD tun puts the address family in front of every packet (4 bytes,
 * network order; TUNSIFHEAD on FreeBSD).  The engine and the peers see
 * bare IP packets, as on Linux, so that sites on different systems
 * understand each other: the header is stripped here and made again
 * from the IP version on the way out.  A tap carries plain Ethernet.
 */
ssize_t
tun_recv(int fd, enum iface_type type, void *buf, size_t len)
{
	struct iovec	 iov[2];
	uint32_t	 af;
	ssize_t		 n;

	if (type == IFACE_TAP)
		return (read(fd, buf, len));
	iov[0].iov_base = &af;
	iov[0].iov_len = sizeof(af);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	if ((n = readv(fd, iov, 2)) == -1)
		return (-1);
	if (n < (ssize_t)sizeof(af))
		return (0);
	return (n - sizeof(af));
}

ssize_t
tun_send(int fd, enum iface_type type, const void *buf, size_t len)
{
	struct iovec	 iov[2];
	uint32_t	 af;
	ssize_t		 n;

	if (type == IFACE_TAP)
		return (write(fd, buf, len));
	if (len < 1) {
		errno = EINVAL;
		return (-1);
	}
	switch (((const uint8_t *)buf)[0] >> 4) {
	case 4:
		af = htonl(AF_INET);
		break;
	case 6:
		af = htonl(AF_INET6);
		break;
	default:
		errno = EINVAL;
		return (-1);
	}
	iov[0].iov_base = &af;
	iov[0].iov_len = sizeof(af);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	if ((n = writev(fd, iov, 2)) == -1)
		return (-1);
	return (n - sizeof(af));
}

/* Nothing is held back here: tun_send() writes each packet at once. */
int
tun_flush(int fd)
{
	return (0);
}
