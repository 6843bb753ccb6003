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
 * Unit tests of the segmentation and receive offload (offload.c): a
 * large TCP segment over IPv4 and IPv6, on a tap and on a tun, is cut
 * into packets whose lengths, sequence numbers, flags and checksums
 * are those the stack would have made; merging them back gives the
 * segment's bytes with the header the device expects; what must not be
 * merged is not; malformed input is refused.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#define ETHLEN		14
#define TCPHLEN		32	/* with a timestamp option */
#define MSS		1348
#define PAYLOAD		(40 * 1024 + 123)
#define MAXSEGS		64

static uint8_t	 big[ETHLEN + 40 + TCPHLEN + PAYLOAD];
static uint8_t	 segs[MAXSEGS][ETHLEN + 40 + TCPHLEN + MSS];
static size_t	 seglen[MAXSEGS];

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		s += get16(p);
	if (len)
		s += p[0] << 8;
	return (s);
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ((uint16_t)s);
}

/* The TCP checksum of the packet verifies (its sum folds to 0xffff). */
static int
tcp_ok(const uint8_t *ip, size_t iplen, int v6)
{
	size_t		 l4 = v6 ? 40 : 20, tcplen = iplen - l4;
	uint32_t	 s;

	s = v6 ? sum16(0, ip + 8, 32) : sum16(0, ip + 12, 8);
	s += 6 + tcplen;
	s = sum16(s, ip + l4, tcplen);
	return (fold(s) == 0xffff);
}

/* Make an IPv4 packet's checksums right again after a change. */
static void
fix4(uint8_t *ip, size_t iplen)
{
	uint32_t	 s;

	put16(ip + 10, 0);
	put16(ip + 10, ~fold(sum16(0, ip, 20)));
	put16(ip + 36, 0);
	s = sum16(0, ip + 12, 8) + 6 + iplen - 20;
	put16(ip + 36, ~fold(sum16(s, ip + 20, iplen - 20)));
}

/*
 * A large segment as the stack hands it over: Ethernet (l3 14) or
 * nothing (l3 0), IPv4 or IPv6, TCP with a timestamp option, the
 * checksum left over the pseudo-header only.  Returns its length.
 */
static size_t
make_big(size_t l3, int v6, uint8_t flags, struct vnet_hdr *vh)
{
	uint8_t		*ip = big + l3, *tcp;
	size_t		 iphl = v6 ? 40 : 20, i, len;
	uint32_t	 s;

	memset(big, 0, sizeof(big));
	if (l3) {
		memset(big, 0x02, 12);
		put16(big + 12, v6 ? 0x86dd : 0x0800);
	}
	len = l3 + iphl + TCPHLEN + PAYLOAD;
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, TCPHLEN + PAYLOAD);
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0x20; ip[9] = 0x01; ip[10] = 0x0d; ip[11] = 0xb8;
		ip[23] = 1;
		ip[24] = 0x20; ip[25] = 0x01; ip[26] = 0x0d; ip[27] = 0xb8;
		ip[39] = 2;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, 0);	/* the stack leaves it for the device */
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 198; ip[13] = 19; ip[14] = 0; ip[15] = 1;
		ip[16] = 198; ip[17] = 19; ip[18] = 0; ip[19] = 2;
	}
	tcp = ip + iphl;
	put16(tcp, 40000);
	put16(tcp + 2, 5201);
	put16(tcp + 4, 0xffff);		/* a sequence number that wraps */
	put16(tcp + 6, 0xf000);
	put16(tcp + 8, 0x0102);
	put16(tcp + 10, 0x0304);
	tcp[12] = (TCPHLEN / 4) << 4;
	tcp[13] = flags;
	put16(tcp + 14, 502);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;	/* NOP NOP TS */
	memset(tcp + 24, 0x5a, 8);
	for (i = 0; i < PAYLOAD; i++)
		tcp[TCPHLEN + i] = (uint8_t)(i * 7 + (i >> 8));
	s = v6 ? sum16(0, ip + 8, 32) : sum16(0, ip + 12, 8);
	s += 6 + TCPHLEN + PAYLOAD;
	put16(tcp + 16, fold(s));

	memset(vh, 0, sizeof(*vh));
	vh->flags = VNET_F_NEEDS_CSUM;
	vh->gso_type = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
	vh->hdr_len = l3 + iphl + TCPHLEN;
	vh->gso_size = MSS;
	vh->csum_start = l3 + iphl;
	vh->csum_offset = 16;
	return (len);
}

/* Cut the big segment and check every packet; returns how many. */
static size_t
cut_and_check(size_t l3, int v6, uint8_t flags)
{
	struct vnet_hdr	 vh;
	struct tso	 t;
	size_t		 len, n = 0, iphl = v6 ? 40 : 20, off = 0, dlen;
	ssize_t		 r;
	uint8_t		*ip, *tcp;
	uint32_t	 seq;

	len = make_big(l3, v6, flags, &vh);
	ATF_REQUIRE_EQ(tso_init(&t, big, len, &vh, l3), 0);
	while ((r = tso_next(&t, segs[n], sizeof(segs[n]))) > 0) {
		ATF_REQUIRE(n < MAXSEGS);
		seglen[n] = r;
		ip = segs[n] + l3;
		tcp = ip + iphl;
		dlen = r - l3 - iphl - TCPHLEN;
		ATF_REQUIRE(dlen > 0 && dlen <= MSS);
		if (v6)
			ATF_CHECK_EQ(get16(ip + 4), r - l3 - 40);
		else {
			ATF_CHECK_EQ(get16(ip + 2), r - l3);
			ATF_CHECK_EQ(get16(ip + 4), 0x1234 + n);
			ATF_CHECK_EQ(fold(sum16(0, ip, 20)), 0xffff);
		}
		ATF_CHECK_MSG(tcp_ok(ip, r - l3, v6), "segment %zu: bad "
		    "TCP checksum", n);
		seq = (uint32_t)get16(tcp + 4) << 16 | get16(tcp + 6);
		ATF_CHECK_EQ(seq, 0xfffff000u + (uint32_t)off);
		ATF_CHECK(memcmp(tcp + TCPHLEN, big + l3 + iphl + TCPHLEN +
		    off, dlen) == 0);
		off += dlen;
		n++;
		/* FIN and PSH only on the last, CWR only on the first */
		if (off < PAYLOAD)
			ATF_CHECK_EQ(tcp[13], flags & ~0x09 & (n == 1 ?
			    0xff : ~0x80));
		else
			ATF_CHECK_EQ(tcp[13], flags & (n == 1 ? 0xff : ~0x80));
	}
	ATF_REQUIRE_EQ(r, 0);
	ATF_CHECK_EQ(off, PAYLOAD);
	ATF_CHECK_EQ(n, (PAYLOAD + MSS - 1) / MSS);
	return (n);
}

ATF_TC_WITHOUT_HEAD(tso_ipv4_tap);
ATF_TC_BODY(tso_ipv4_tap, tc)
{
	cut_and_check(ETHLEN, 0, 0x18 | 0x80);	/* ACK PSH CWR */
}

ATF_TC_WITHOUT_HEAD(tso_ipv6_tun);
ATF_TC_BODY(tso_ipv6_tun, tc)
{
	cut_and_check(0, 1, 0x10 | 0x01);	/* ACK FIN */
}

/* Merging the packets cut from a segment gives the segment back. */
static void
merge_back(size_t l3, int v6)
{
	static struct gro	 g;
	struct vnet_hdr		 vh, out;
	size_t			 n, i, w, iphl = v6 ? 40 : 20;
	uint8_t			*pkt;

	n = cut_and_check(l3, v6, 0x10);
	ATF_REQUIRE_EQ(gro_start(&g, segs[0], seglen[0], l3), 0);
	for (i = 1; i < n; i++)
		ATF_REQUIRE_EQ_MSG(gro_merge(&g, segs[i], seglen[i]), 0,
		    "packet %zu not merged", i);
	w = gro_finish(&g);
	ATF_REQUIRE_EQ(w, VNET_HDRLEN + l3 + iphl + TCPHLEN + PAYLOAD);
	vnet_hdr_get(&out, g.buf);
	make_big(l3, v6, 0x10, &vh);
	ATF_CHECK_EQ(out.flags, VNET_F_NEEDS_CSUM);
	ATF_CHECK_EQ(out.gso_type, vh.gso_type);
	ATF_CHECK_EQ(out.gso_size, MSS);
	ATF_CHECK_EQ(out.csum_start, vh.csum_start);
	ATF_CHECK_EQ(out.csum_offset, 16);
	ATF_CHECK_EQ(out.hdr_len, vh.hdr_len);
	pkt = g.buf + VNET_HDRLEN;
	/* the payload is the segment's; finishing the checksum verifies */
	ATF_CHECK(memcmp(pkt + l3 + iphl + TCPHLEN, big + l3 + iphl +
	    TCPHLEN, PAYLOAD) == 0);
	if (!v6)
		ATF_CHECK_EQ(fold(sum16(0, pkt + l3, 20)), 0xffff);
	ATF_REQUIRE_EQ(offload_csum(pkt, w - VNET_HDRLEN, &out), 0);
	ATF_CHECK(tcp_ok(pkt + l3, w - VNET_HDRLEN - l3, v6));
	/* and nothing is left */
	ATF_CHECK_EQ(gro_finish(&g), 0);
}

ATF_TC_WITHOUT_HEAD(gro_ipv4_tap);
ATF_TC_BODY(gro_ipv4_tap, tc)
{
	merge_back(ETHLEN, 0);
}

ATF_TC_WITHOUT_HEAD(gro_ipv6_tun);
ATF_TC_BODY(gro_ipv6_tun, tc)
{
	merge_back(0, 1);
}

/* Out of order, another stream, other flags, a bad checksum: no. */
ATF_TC_WITHOUT_HEAD(gro_refuses);
ATF_TC_BODY(gro_refuses, tc)
{
	static struct gro	 g;
	static uint8_t		 p[sizeof(segs[0])];
	size_t			 n;

	n = cut_and_check(ETHLEN, 0, 0x10);
	ATF_REQUIRE(n > 4);

	ATF_REQUIRE_EQ(gro_start(&g, segs[0], seglen[0], ETHLEN), 0);
	ATF_CHECK_EQ(gro_merge(&g, segs[2], seglen[2]), -1);	/* a gap */

	memcpy(p, segs[1], seglen[1]);
	p[ETHLEN + 20 + 1] ^= 1;				/* port */
	fix4(p + ETHLEN, seglen[1] - ETHLEN);
	ATF_CHECK_EQ(gro_merge(&g, p, seglen[1]), -1);

	memcpy(p, segs[1], seglen[1]);
	p[ETHLEN + 20 + TCPHLEN] ^= 0xff;		/* data, checksum not */
	ATF_CHECK_EQ(gro_merge(&g, p, seglen[1]), -1);

	memcpy(p, segs[1], seglen[1]);
	p[ETHLEN + 8] = 63;					/* TTL */
	fix4(p + ETHLEN, seglen[1] - ETHLEN);
	ATF_CHECK_EQ(gro_merge(&g, p, seglen[1]), -1);

	memcpy(p, segs[1], seglen[1]);
	p[ETHLEN + 20 + 24] ^= 1;			/* timestamp option */
	fix4(p + ETHLEN, seglen[1] - ETHLEN);
	ATF_CHECK_EQ(gro_merge(&g, p, seglen[1]), -1);

	/* the same fixed up but unchanged merges: fix4 is right */
	memcpy(p, segs[1], seglen[1]);
	fix4(p + ETHLEN, seglen[1] - ETHLEN);
	ATF_CHECK(memcmp(p, segs[1], seglen[1]) == 0);

	ATF_CHECK_EQ(gro_merge(&g, segs[1], seglen[1]), 0);
	ATF_CHECK_EQ(gro_finish(&g), VNET_HDRLEN + seglen[0] + seglen[1] -
	    ETHLEN - 20 - TCPHLEN);

	/* a SYN never leads; a packet alone goes out as it came */
	memcpy(p, segs[0], seglen[0]);
	p[ETHLEN + 20 + 13] = 0x02;
	ATF_CHECK_EQ(gro_start(&g, p, seglen[0], ETHLEN), -1);
	ATF_REQUIRE_EQ(gro_start(&g, segs[3], seglen[3], ETHLEN), 0);
	ATF_CHECK_EQ(gro_finish(&g), VNET_HDRLEN + seglen[3]);
	ATF_CHECK(memcmp(g.buf + VNET_HDRLEN, segs[3], seglen[3]) == 0);
	ATF_CHECK_EQ(g.buf[0], 0);
	ATF_CHECK_EQ(g.buf[1], VNET_GSO_NONE);
}

/* A UDP checksum left to the device, and offsets out of the packet. */
ATF_TC_WITHOUT_HEAD(csum_finish);
ATF_TC_BODY(csum_finish, tc)
{
	struct vnet_hdr	 vh;
	uint8_t		 p[20 + 8 + 5] = { 0x45 };
	uint32_t	 s;

	p[9] = 17;
	p[12] = 198; p[13] = 19; p[15] = 1;
	p[16] = 198; p[17] = 19; p[19] = 2;
	put16(p + 20, 5353);
	put16(p + 22, 7455);
	put16(p + 24, 13);
	memcpy(p + 28, "hello", 5);
	s = sum16(0, p + 12, 8) + 17 + 13;
	put16(p + 26, fold(s));
	memset(&vh, 0, sizeof(vh));
	vh.flags = VNET_F_NEEDS_CSUM;
	vh.csum_start = 20;
	vh.csum_offset = 6;
	ATF_REQUIRE_EQ(offload_csum(p, sizeof(p), &vh), 0);
	s = sum16(0, p + 12, 8) + 17 + 13;
	ATF_CHECK_EQ(fold(sum16(s, p + 20, 13)), 0xffff);

	vh.csum_start = sizeof(p);
	ATF_CHECK_EQ(offload_csum(p, sizeof(p), &vh), -1);
	vh.csum_start = 20;
	vh.csum_offset = 12;
	ATF_CHECK_EQ(offload_csum(p, sizeof(p), &vh), -1);
}

/* Headers that do not add up are refused, whatever the bytes. */
ATF_TC_WITHOUT_HEAD(tso_refuses);
ATF_TC_BODY(tso_refuses, tc)
{
	struct vnet_hdr	 vh;
	struct tso	 t;
	size_t		 len, i;
	uint8_t		 out[2048];
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;

	len = make_big(ETHLEN, 0, 0x10, &vh);
	vh.csum_start = ETHLEN + 24;		/* not after the IP header */
	ATF_CHECK_EQ(tso_init(&t, big, len, &vh, ETHLEN), -1);
	len = make_big(ETHLEN, 0, 0x10, &vh);
	vh.gso_type = 3;			/* UDP */
	ATF_CHECK_EQ(tso_init(&t, big, len, &vh, ETHLEN), -1);
	len = make_big(ETHLEN, 0, 0x10, &vh);
	vh.gso_size = 0;
	ATF_CHECK_EQ(tso_init(&t, big, len, &vh, ETHLEN), -1);
	len = make_big(ETHLEN, 1, 0x10, &vh);
	ATF_CHECK_EQ(tso_init(&t, big, len, &vh, ETHLEN + 4), -1);
	ATF_CHECK_EQ(tso_init(&t, big, 50, &vh, ETHLEN), -1);
	/* room too small for one packet */
	len = make_big(ETHLEN, 0, 0x10, &vh);
	ATF_REQUIRE_EQ(tso_init(&t, big, len, &vh, ETHLEN), 0);
	ATF_CHECK_EQ(tso_next(&t, out, 100), -1);

	/* random headers: refused or cut within bounds, never more */
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(big + ETHLEN, &x, sizeof(x));
		big[ETHLEN + 20 + 12] = (uint8_t)(x >> 3);
		vh.csum_start = ETHLEN + (x >> 40) % 64;
		vh.gso_size = (x >> 20) % 3000;
		vh.gso_type = (x & 1) ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
		if (tso_init(&t, big, len, &vh, ETHLEN) == 0)
			while (tso_next(&t, out, sizeof(out)) > 0)
				;
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, tso_ipv4_tap);
	ATF_TP_ADD_TC(tp, tso_ipv6_tun);
	ATF_TP_ADD_TC(tp, gro_ipv4_tap);
	ATF_TP_ADD_TC(tp, gro_ipv6_tun);
	ATF_TP_ADD_TC(tp, gro_refuses);
	ATF_TP_ADD_TC(tp, csum_finish);
	ATF_TP_ADD_TC(tp, tso_refuses);
	return (atf_no_error());
}
