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
 * Unit tests of the routing of a tun (route.c): longest match over
 * IPv4 and IPv6, one owner per prefix, host bits, the source check of
 * packets from a peer, relaying, and a comparison of the lookup with
 * a plain reference on random tables and addresses.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

static void
pfx(const char *s, int *af, uint8_t *a)
{
	memset(a, 0, 16);
	*af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	ATF_REQUIRE(inet_pton(*af, s, a) == 1);
}

static int
add(struct rtable *rt, const char *s, uint8_t plen, uint32_t peer)
{
	uint8_t	 a[16];
	int	 af;

	pfx(s, &af, a);
	return (rtable_add(rt, af, a, plen, peer, 0, NULL));
}

static uint32_t
owner(struct rtable *rt, const char *s)
{
	struct route	*r;
	uint8_t		 a[16];
	int		 af;

	pfx(s, &af, a);
	return ((r = rtable_match(rt, af, a)) == NULL ? 0 : r->peer);
}

/* an IPv4 or IPv6 header from src to dst, the rest zero */
static size_t
pkt(uint8_t *p, const char *src, const char *dst)
{
	uint8_t	 a[16];
	int	 af;

	memset(p, 0, 64);
	pfx(src, &af, a);
	if (af == AF_INET) {
		p[0] = 0x45;
		memcpy(p + 12, a, 4);
		pfx(dst, &af, a);
		memcpy(p + 16, a, 4);
		return (28);
	}
	p[0] = 0x60;
	memcpy(p + 8, a, 16);
	pfx(dst, &af, a);
	memcpy(p + 24, a, 16);
	return (48);
}

ATF_TC_WITHOUT_HEAD(longest_match);
ATF_TC_BODY(longest_match, tc)
{
	struct rtable	 rt;

	rtable_init(&rt);
	ATF_CHECK_EQ(add(&rt, "198.19.0.0", 16, 1), 0);
	ATF_CHECK_EQ(add(&rt, "198.19.2.0", 24, 2), 0);
	ATF_CHECK_EQ(add(&rt, "198.19.2.128", 25, 3), 0);
	ATF_CHECK_EQ(add(&rt, "2001:db8::", 32, 1), 0);
	ATF_CHECK_EQ(add(&rt, "2001:db8:19:2::", 64, 2), 0);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.1"), 2);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.127"), 2);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.128"), 3);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.255"), 3);
	ATF_CHECK_EQ(owner(&rt, "198.19.3.1"), 1);
	ATF_CHECK_EQ(owner(&rt, "198.18.0.1"), 0);
	ATF_CHECK_EQ(owner(&rt, "2001:db8:19:2::9"), 2);
	ATF_CHECK_EQ(owner(&rt, "2001:db8:19:3::9"), 1);
	ATF_CHECK_EQ(owner(&rt, "2001:db9::1"), 0);
	/* the families do not mix: ::c613:201 is not 198.19.2.1 */
	ATF_CHECK_EQ(owner(&rt, "::c613:201"), 0);
	rtable_clear(&rt);

	/* a default route catches the rest, whatever the order of adding */
	rtable_init(&rt);
	ATF_CHECK_EQ(add(&rt, "0.0.0.0", 0, 9), 0);
	ATF_CHECK_EQ(add(&rt, "198.19.2.0", 24, 2), 0);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.1"), 2);
	ATF_CHECK_EQ(owner(&rt, "203.0.113.1"), 9);
	ATF_CHECK_EQ(owner(&rt, "2001:db8::1"), 0);
	rtable_clear(&rt);
}

ATF_TC_WITHOUT_HEAD(one_owner);
ATF_TC_BODY(one_owner, tc)
{
	struct rtable	 rt;
	uint8_t		 a[16];
	uint32_t	 o = 0;
	int		 af;

	rtable_init(&rt);
	ATF_CHECK_EQ(add(&rt, "198.19.2.0", 24, 2), 0);
	pfx("198.19.2.0", &af, a);
	ATF_CHECK_EQ(rtable_add(&rt, af, a, 24, 3, 0, &o), 1);
	ATF_CHECK_EQ(o, 2);
	ATF_CHECK_EQ(owner(&rt, "198.19.2.1"), 2);
	/* host bits: refused */
	ATF_CHECK_EQ(add(&rt, "198.19.3.1", 24, 3), -1);
	ATF_CHECK_EQ(add(&rt, "2001:db8::1", 64, 3), -1);
	ATF_CHECK_EQ(add(&rt, "198.19.3.0", 33, 3), -1);
	ATF_CHECK_EQ(rt.n, 1);
	pfx("198.19.3.128", &af, a);
	ATF_CHECK_EQ(route_hostbits(af, a, 24), 1);
	ATF_CHECK_EQ(route_hostbits(af, a, 25), 0);
	ATF_CHECK_EQ(route_hostbits(af, a, 32), 0);
	rtable_clear(&rt);
}

ATF_TC_WITHOUT_HEAD(decide);
ATF_TC_BODY(decide, tc)
{
	struct rtable	 rt;
	struct route	*r;
	uint8_t		 p[64];
	uint32_t	 to;
	size_t		 n;

	rtable_init(&rt);
	add(&rt, "198.19.2.0", 24, 2);
	add(&rt, "198.19.3.0", 24, 3);
	add(&rt, "2001:db8:19:3::", 64, 3);

	/* from the device: to the owner of the destination only */
	n = pkt(p, "198.19.1.1", "198.19.3.7");
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, n, &to, &r), ROUTE_PEER);
	ATF_CHECK_EQ(to, 3);
	ATF_REQUIRE(r != NULL);
	ATF_CHECK_EQ(r->plen, 24);
	n = pkt(p, "198.19.1.1", "198.19.99.1");
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, n, &to, &r), ROUTE_NOROUTE);
	ATF_CHECK_EQ(to, 0);
	n = pkt(p, "2001:db8:19:1::1", "2001:db8:19:3::1");
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, n, &to, NULL), ROUTE_PEER);
	ATF_CHECK_EQ(to, 3);

	/* from a peer: its own source only */
	n = pkt(p, "198.19.3.7", "198.19.1.1");
	ATF_CHECK_EQ(route_decide(&rt, 3, 0, p, n, &to, NULL), ROUTE_LOCAL);
	ATF_CHECK_EQ(route_decide(&rt, 2, 0, p, n, &to, NULL), ROUTE_SPOOF);
	n = pkt(p, "198.19.99.1", "198.19.1.1");
	ATF_CHECK_EQ(route_decide(&rt, 3, 0, p, n, &to, NULL), ROUTE_SPOOF);

	/* relaying: only when allowed, never twice, never back */
	n = pkt(p, "198.19.2.5", "198.19.3.7");
	ATF_CHECK_EQ(route_decide(&rt, 2, 0, p, n, &to, NULL), ROUTE_LOCAL);
	ATF_CHECK_EQ(route_decide(&rt, 2, ROUTE_RELAY_OK, p, n, &to, NULL),
	    ROUTE_RELAY);
	ATF_CHECK_EQ(to, 3);
	ATF_CHECK_EQ(route_decide(&rt, 2, ROUTE_RELAY_OK | ROUTE_RELAYED, p,
	    n, &to, NULL), ROUTE_LOCAL);
	n = pkt(p, "198.19.2.5", "198.19.2.6");
	ATF_CHECK_EQ(route_decide(&rt, 2, ROUTE_RELAY_OK, p, n, &to, NULL),
	    ROUTE_LOCAL);

	/* what is not an IP packet */
	memset(p, 0, sizeof(p));
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, 0, &to, NULL), ROUTE_NOTIP);
	p[0] = 0x45;
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, 19, &to, NULL), ROUTE_NOTIP);
	p[0] = 0x44;
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, 40, &to, NULL), ROUTE_NOTIP);
	p[0] = 0x60;
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, 39, &to, NULL), ROUTE_NOTIP);
	p[0] = 0x10;
	ATF_CHECK_EQ(route_decide(&rt, 0, 0, p, 60, &to, NULL), ROUTE_NOTIP);
	rtable_clear(&rt);
}

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((uint32_t)(rng_state >> 32));
}

/* the longest match by brute force, over what was added */
struct ref {
	uint8_t		 a[16];
	uint8_t		 plen;
	uint32_t	 peer;
};

ATF_TC_WITHOUT_HEAD(random_tables);
ATF_TC_BODY(random_tables, tc)
{
	struct rtable	 rt;
	struct ref	 ref[256];
	struct route	*r;
	uint8_t		 a[16];
	uint32_t	 want;
	int		 round, i, j, n, best;

	for (round = 0; round < 200; round++) {
		rtable_init(&rt);
		n = 0;
		for (i = 0; i < 1 + (int)(rng() % 200); i++) {
			memset(a, 0, sizeof(a));
			/* few distinct leading bytes: prefixes nest */
			a[0] = 198;
			a[1] = 18 + rng() % 2;
			a[2] = rng() % 4;
			a[3] = rng();
			ref[n].plen = 8 + rng() % 25;
			for (j = ref[n].plen; j < 32; j++)
				a[j / 8] &= ~(0x80 >> (j % 8));
			memcpy(ref[n].a, a, 16);
			ref[n].peer = 1 + rng() % 64;
			if (rtable_add(&rt, AF_INET, a, ref[n].plen,
			    ref[n].peer, 0, &want) == 1)
				continue;	/* the first owner stays */
			n++;
		}
		for (i = 0; i < 500; i++) {
			memset(a, 0, sizeof(a));
			a[0] = 198;
			a[1] = 18 + rng() % 2;
			a[2] = rng() % 4;
			a[3] = rng();
			best = -1;
			for (j = 0; j < n; j++)
				if (route_prefix_holds(ref[j].a, ref[j].plen,
				    a) && (best == -1 ||
				    ref[j].plen > ref[best].plen))
					best = j;
			r = rtable_match(&rt, AF_INET, a);
			if (best == -1)
				ATF_REQUIRE(r == NULL);
			else {
				ATF_REQUIRE(r != NULL);
				ATF_REQUIRE_EQ(r->plen, ref[best].plen);
				ATF_REQUIRE_EQ(r->peer, ref[best].peer);
			}
		}
		rtable_clear(&rt);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, longest_match);
	ATF_TP_ADD_TC(tp, one_owner);
	ATF_TP_ADD_TC(tp, decide);
	ATF_TP_ADD_TC(tp, random_tables);
	return (atf_no_error());
}
