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
 * The routes of a tun interface: which peer owns the networks a packet
 * comes from and goes to.  At most 64 peers with a few networks each:
 * an array kept sorted by prefix length, longest first, so that the
 * first entry that holds an address is its longest match.  A lookup is
 * a linear walk of a few hundred bytes, which beats a tree at this
 * size and has nothing to get wrong.
 *
 * route_decide() is the one place that says where a packet goes: from
 * the device (peer 0) to the peer owning its destination, from a peer
 * to the device if its source belongs to that peer, or on to the peer
 * owning its destination when relaying is allowed.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "marconid.h"

static int	 route_af_len(int);

/* bytes of an address of the family, 0 if none we route */
static int
route_af_len(int af)
{
	switch (af) {
	case AF_INET:
		return (4);
	case AF_INET6:
		return (16);
	}
	return (0);
}

/*
 * The address and family of ss, in network order, in out[16]; -1 for
 * a family we do not route.
 */
int
route_sa_addr(const struct sockaddr_storage *ss, uint8_t *out)
{
	memset(out, 0, 16);
	switch (ss->ss_family) {
	case AF_INET:
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return (AF_INET);
	case AF_INET6:
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return (AF_INET6);
	}
	return (-1);
}

/* Does the prefix addr/plen hold addr2? */
int
route_prefix_holds(const uint8_t *addr, uint8_t plen, const uint8_t *addr2)
{
	unsigned int	 full = plen / 8, rest = plen % 8;
	uint8_t		 mask;

	if (memcmp(addr, addr2, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((addr[full] & mask) == (addr2[full] & mask));
}

/*
 * Are bits set in addr beyond plen?  The configuration refuses such a
 * prefix rather than guess what was meant.
 */
int
route_hostbits(int af, const uint8_t *addr, uint8_t plen)
{
	int		 len = route_af_len(af), i;
	uint8_t		 mask;

	if (len == 0 || plen > len * 8)
		return (1);
	for (i = plen / 8; i < len; i++) {
		mask = i == plen / 8 ? (uint8_t)(0xff >> (plen % 8)) : 0xff;
		if (addr[i] & mask)
			return (1);
	}
	return (0);
}

void
rtable_init(struct rtable *rt)
{
	memset(rt, 0, sizeof(*rt));
}

void
rtable_clear(struct rtable *rt)
{
	free(rt->r);
	rtable_init(rt);
}

/*
 * Adds addr/plen of family af for peer.  0 when added; 1 when the very
 * same prefix is there already (for any peer: one owner per prefix),
 * with *owner set to its peer; -1 for a bad prefix or no memory.
 */
int
rtable_add(struct rtable *rt, int af, const uint8_t *addr, uint8_t plen,
    uint32_t peer, uint32_t flags, uint32_t *owner)
{
	struct route	*r;
	size_t		 i, pos;

	if (route_af_len(af) == 0 || route_hostbits(af, addr, plen))
		return (-1);
	for (i = 0; i < rt->n; i++) {
		r = &rt->r[i];
		if (r->af == af && r->plen == plen &&
		    memcmp(r->addr, addr, 16) == 0) {
			if (owner != NULL)
				*owner = r->peer;
			return (1);
		}
	}
	if (rt->n == rt->cap) {
		if (rt->cap >= ROUTE_MAX)
			return (-1);
		if ((r = reallocarray(rt->r, rt->cap + 16,
		    sizeof(*r))) == NULL)
			return (-1);
		rt->r = r;
		rt->cap += 16;
	}
	/* after every longer or equal prefix: longest first, stable */
	for (pos = 0; pos < rt->n && rt->r[pos].plen >= plen; pos++)
		;
	memmove(&rt->r[pos + 1], &rt->r[pos], (rt->n - pos) * sizeof(*r));
	r = &rt->r[pos];
	memset(r, 0, sizeof(*r));
	r->af = af;
	r->plen = plen;
	memcpy(r->addr, addr, 16);
	r->peer = peer;
	r->flags = flags;
	rt->n++;
	return (0);
}

/* The longest prefix holding addr, NULL if none. */
struct route *
rtable_match(struct rtable *rt, int af, const uint8_t *addr)
{
	size_t	 i;

	for (i = 0; i < rt->n; i++)
		if (rt->r[i].af == af &&
		    route_prefix_holds(rt->r[i].addr, rt->r[i].plen, addr))
			return (&rt->r[i]);
	return (NULL);
}

/*
 * The family, source and destination of an IP packet as a tun carries
 * it; -1 if it is none (too short, another version, a length that
 * does not fit).
 */
int
route_pkt_addrs(const uint8_t *pkt, size_t len, uint8_t *src, uint8_t *dst)
{
	memset(src, 0, 16);
	memset(dst, 0, 16);
	if (len < 1)
		return (-1);
	switch (pkt[0] >> 4) {
	case 4:
		if (len < 20 || (pkt[0] & 0x0f) < 5)
			return (-1);
		memcpy(src, pkt + 12, 4);
		memcpy(dst, pkt + 16, 4);
		return (AF_INET);
	case 6:
		if (len < 40)
			return (-1);
		memcpy(src, pkt + 8, 16);
		memcpy(dst, pkt + 24, 16);
		return (AF_INET6);
	}
	return (-1);
}

/*
 * Where a packet goes.  from is the peer it came from, 0 for the
 * device.  flags: ROUTE_RELAY_OK if this site relays between its
 * peers, ROUTE_RELAYED if the packet came marked as relayed already.
 * *to is the peer for ROUTE_PEER and ROUTE_RELAY, and *rp the route
 * that decided, where there is one (its counters are the caller's).
 *
 *	from the device: ROUTE_PEER to the owner of the destination, or
 *	ROUTE_NOROUTE when nobody owns it;
 *	from a peer: ROUTE_SPOOF unless the longest match of the source
 *	is a network of that peer (as WireGuard's allowed IPs), then
 *	ROUTE_RELAY when relaying is allowed, the packet was not relayed
 *	before and the destination is another peer's, otherwise
 *	ROUTE_LOCAL: the device, where the kernel takes it.
 */
int
route_decide(struct rtable *rt, uint32_t from, int flags,
    const uint8_t *pkt, size_t len, uint32_t *to, struct route **rp)
{
	uint8_t		 src[16], dst[16];
	struct route	*r;
	int		 af;

	*to = 0;
	if (rp != NULL)
		*rp = NULL;
	if ((af = route_pkt_addrs(pkt, len, src, dst)) == -1)
		return (ROUTE_NOTIP);

	if (from == 0) {
		if ((r = rtable_match(rt, af, dst)) == NULL)
			return (ROUTE_NOROUTE);
		*to = r->peer;
		if (rp != NULL)
			*rp = r;
		return (ROUTE_PEER);
	}

	if ((r = rtable_match(rt, af, src)) == NULL || r->peer != from)
		return (ROUTE_SPOOF);
	if ((flags & ROUTE_RELAY_OK) && !(flags & ROUTE_RELAYED) &&
	    (r = rtable_match(rt, af, dst)) != NULL && r->peer != from) {
		*to = r->peer;
		if (rp != NULL)
			*rp = r;
		return (ROUTE_RELAY);
	}
	return (ROUTE_LOCAL);
}

const char *
route_verdict_name(int v)
{
	switch (v) {
	case ROUTE_LOCAL:
		return ("local");
	case ROUTE_PEER:
		return ("peer");
	case ROUTE_RELAY:
		return ("relay");
	case ROUTE_NOROUTE:
		return ("no route");
	case ROUTE_SPOOF:
		return ("source not the peer's");
	case ROUTE_NOTIP:
		return ("not IP");
	}
	return ("?");
}
