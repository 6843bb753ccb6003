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
 * Segmentation and checksum offload for the tun/tap device, the way
 * the kernel's own software segmentation does it: every packet cut
 * from a large TCP segment gets the IP and TCP headers of the segment
 * with its own lengths, sequence number, IPv4 identifier and
 * checksums; FIN and PSH stay on the last packet, CWR on the first.
 * Only IPv4 and IPv6 without extension headers are cut: the Linux
 * stack offers nothing else for the offloads we enable.  A packet that
 * does not add up is refused (-1) and the caller drops it.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "offload.h"

#define IPPROTO_TCP_	6
#define TH_FIN_		0x01
#define TH_PSH_		0x08
#define TH_CWR_		0x80
#define TH_ACK_		0x10
#define IPV4_DF_MASK	0xbfff	/* fragment bits other than DF */

static int	 tcp_parse(const uint8_t *, size_t, size_t, size_t *,
		    size_t *, int *);
static uint32_t	 tcp_pseudo(const uint8_t *, size_t, int);
static uint32_t	 csum_add(uint32_t, const uint8_t *, size_t);
static uint16_t	 csum_fold(uint32_t);
static uint16_t	 get16(const uint8_t *);
static void	 put16(uint8_t *, uint16_t);

/* The header as read from the device: host byte order, packed. */
void
vnet_hdr_get(struct vnet_hdr *vh, const uint8_t *p)
{
	vh->flags = p[0];
	vh->gso_type = p[1];
	memcpy(&vh->hdr_len, p + 2, sizeof(vh->hdr_len));
	memcpy(&vh->gso_size, p + 4, sizeof(vh->gso_size));
	memcpy(&vh->csum_start, p + 6, sizeof(vh->csum_start));
	memcpy(&vh->csum_offset, p + 8, sizeof(vh->csum_offset));
}

/*
 * Finish a checksum the stack left to the device: from csum_start to
 * the end, where the field at csum_offset already holds the sum of the
 * pseudo-header.
 */
int
offload_csum(uint8_t *pkt, size_t len, const struct vnet_hdr *vh)
{
	size_t		 start = vh->csum_start, field;
	uint16_t	 sum;

	field = start + vh->csum_offset;
	if (start >= len || field + 2 > len || (vh->csum_offset & 1))
		return (-1);
	sum = csum_fold(csum_add(0, pkt + start, len - start));
	/* UDP (its checksum is at offset 6) says "none" with 0 */
	if (sum == 0 && vh->csum_offset == 6)
		sum = 0xffff;
	put16(pkt + field, sum);
	return (0);
}

/*
 * Start cutting the large TCP segment pkt, whose IP header is at l3
 * (0 on a tun, after the Ethernet header on a tap).
 */
int
tso_init(struct tso *t, const uint8_t *pkt, size_t len,
    const struct vnet_hdr *vh, size_t l3)
{
	size_t	 l4, thl, ihl;
	int	 gso = vh->gso_type & ~VNET_GSO_ECN;

	memset(t, 0, sizeof(*t));
	if ((gso != VNET_GSO_TCPV4 && gso != VNET_GSO_TCPV6) ||
	    vh->gso_size == 0 || len > OFFLOAD_MAXPKT + l3 || l3 + 40 > len)
		return (-1);
	l4 = vh->csum_start;
	if (gso == VNET_GSO_TCPV4) {
		ihl = (pkt[l3] & 0x0f) * 4;
		if ((pkt[l3] >> 4) != 4 || ihl < 20 || l4 != l3 + ihl ||
		    pkt[l3 + 9] != IPPROTO_TCP_)
			return (-1);
		t->ipid = get16(pkt + l3 + 4);
	} else {
		if ((pkt[l3] >> 4) != 6 || l4 != l3 + 40 ||
		    pkt[l3 + 6] != IPPROTO_TCP_)
			return (-1);
		t->v6 = 1;
	}
	if (l4 + 20 > len)
		return (-1);
	thl = (pkt[l4 + 12] >> 4) * 4;
	if (thl < 20 || l4 + thl > len)
		return (-1);
	t->pkt = pkt;
	t->len = len;
	t->l3 = l3;
	t->l4 = l4;
	t->hdrlen = l4 + thl;
	t->mss = vh->gso_size;
	t->off = t->hdrlen;
	t->seq = (uint32_t)get16(pkt + l4 + 4) << 16 | get16(pkt + l4 + 6);
	return (0);
}

/*
 * The next packet into out: its length, 0 when the segment is all
 * cut, -1 when it does not fit in room.
 */
ssize_t
tso_next(struct tso *t, uint8_t *out, size_t room)
{
	const uint8_t	*ip;
	uint8_t		*tcp;
	size_t		 seg, tcplen, n;
	uint32_t	 sum, seq;
	int		 first, last;

	if (t->pkt == NULL || t->off >= t->len)
		return (0);
	seg = t->len - t->off;
	if (seg > t->mss)
		seg = t->mss;
	n = t->hdrlen + seg;
	if (n > room)
		return (-1);
	first = t->off == t->hdrlen;
	last = t->off + seg == t->len;
	memcpy(out, t->pkt, t->hdrlen);
	memcpy(out + t->hdrlen, t->pkt + t->off, seg);
	seq = t->seq + (uint32_t)(t->off - t->hdrlen);
	tcplen = n - t->l4;

	ip = out + t->l3;
	if (t->v6)
		put16(out + t->l3 + 4, n - t->l3 - 40);
	else {
		put16(out + t->l3 + 2, n - t->l3);
		put16(out + t->l3 + 4, t->ipid++);
		put16(out + t->l3 + 10, 0);
		put16(out + t->l3 + 10,
		    csum_fold(csum_add(0, ip, t->l4 - t->l3)));
	}

	tcp = out + t->l4;
	put16(tcp + 4, seq >> 16);
	put16(tcp + 6, seq & 0xffff);
	if (!last)
		tcp[13] &= ~(TH_FIN_ | TH_PSH_);
	if (!first)
		tcp[13] &= ~TH_CWR_;
	put16(tcp + 16, 0);
	sum = csum_add(tcp_pseudo(ip, tcplen, t->v6), tcp, tcplen);
	put16(tcp + 16, csum_fold(sum));

	t->off += seg;
	return (n);
}

/*
 * Start a merge with pkt, a TCP packet whose IP header is at l3: 0 if
 * it may lead one (it is copied), -1 if it is to be sent on its own.
 * Only plain data with ACK qualifies, with a checksum that verifies:
 * the merged segment goes up with its checksum taken as good, so each
 * packet's is checked here instead.
 */
int
gro_start(struct gro *g, const uint8_t *pkt, size_t len, size_t l3)
{
	size_t	 l4, hdrlen;
	int	 v6;

	g->len = 0;
	if (tcp_parse(pkt, len, l3, &l4, &hdrlen, &v6) == -1 ||
	    len == hdrlen || (pkt[l4 + 13] & ~TH_PSH_) != TH_ACK_)
		return (-1);
	g->l3 = l3;
	g->l4 = l4;
	g->hdrlen = hdrlen;
	g->v6 = v6;
	g->mss = len - hdrlen;
	g->count = 1;
	g->closed = (pkt[l4 + 13] & TH_PSH_) != 0;
	g->nextseq = ((uint32_t)get16(pkt + l4 + 4) << 16 |
	    get16(pkt + l4 + 6)) + (uint32_t)g->mss;
	memcpy(g->buf + VNET_HDRLEN, pkt, len);
	g->len = len;
	return (0);
}

/*
 * Add pkt to the merge if it continues it: the same headers but for
 * lengths, identifiers, sequence number and checksums, the next
 * sequence number, no more data than the first packet, and room left.
 * 0 if merged, -1 if not (the merge is to be finished first).
 */
int
gro_merge(struct gro *g, const uint8_t *pkt, size_t len)
{
	const uint8_t	*first = g->buf + VNET_HDRLEN;
	size_t		 l4, hdrlen, dlen;
	uint32_t	 seq;
	int		 v6;

	if (g->len == 0 || g->closed ||
	    tcp_parse(pkt, len, g->l3, &l4, &hdrlen, &v6) == -1 ||
	    l4 != g->l4 || hdrlen != g->hdrlen || v6 != g->v6)
		return (-1);
	dlen = len - hdrlen;
	if (dlen == 0 || dlen > g->mss || g->len + dlen > g->l3 +
	    OFFLOAD_MAXPKT || (pkt[l4 + 13] & ~TH_PSH_) != TH_ACK_)
		return (-1);
	seq = (uint32_t)get16(pkt + l4 + 4) << 16 | get16(pkt + l4 + 6);
	if (seq != g->nextseq)
		return (-1);
	/* link layer, then the IP header but for length, id, checksum */
	if (memcmp(pkt, first, g->l3) != 0)
		return (-1);
	if (v6) {
		if (memcmp(pkt + g->l3, first + g->l3, 4) != 0 ||
		    memcmp(pkt + g->l3 + 6, first + g->l3 + 6, 34) != 0)
			return (-1);
	} else if (pkt[g->l3 + 1] != first[g->l3 + 1] ||
	    get16(pkt + g->l3 + 6) != get16(first + g->l3 + 6) ||
	    memcmp(pkt + g->l3 + 8, first + g->l3 + 8, 2) != 0 ||
	    memcmp(pkt + g->l3 + 12, first + g->l3 + 12, 8) != 0)
		return (-1);
	/* ports, acknowledgment, window, options; flags but PSH */
	if (memcmp(pkt + l4, first + l4, 4) != 0 ||
	    memcmp(pkt + l4 + 8, first + l4 + 8, 5) != 0 ||
	    memcmp(pkt + l4 + 14, first + l4 + 14, 2) != 0 ||
	    memcmp(pkt + l4 + 20, first + l4 + 20, hdrlen - l4 - 20) != 0)
		return (-1);

	memcpy(g->buf + VNET_HDRLEN + g->len, pkt + hdrlen, dlen);
	g->len += dlen;
	g->nextseq += (uint32_t)dlen;
	g->count++;
	if (pkt[l4 + 13] & TH_PSH_) {
		g->buf[VNET_HDRLEN + l4 + 13] |= TH_PSH_;
		g->closed = 1;
	}
	if (dlen < g->mss)
		g->closed = 1;
	return (0);
}

/*
 * Make the merge ready for the device and end it: the header, the
 * lengths, and checksums as the stack expects of a large segment (the
 * IPv4 header's complete, the TCP one over the pseudo-header only).
 * Returns how many bytes of g->buf to write, header included; 0 when
 * there was nothing.  A single packet goes as it came.
 */
size_t
gro_finish(struct gro *g)
{
	uint8_t		*pkt = g->buf + VNET_HDRLEN, *ip = pkt + g->l3;
	uint8_t		*vh = g->buf;
	uint16_t	 v;
	size_t		 len = g->len;

	if (len == 0)
		return (0);
	g->len = 0;
	memset(vh, 0, VNET_HDRLEN);
	if (g->count == 1)
		return (VNET_HDRLEN + len);

	if (g->v6)
		put16(ip + 4, len - g->l3 - 40);
	else {
		put16(ip + 2, len - g->l3);
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, g->l4 - g->l3)));
	}
	put16(pkt + g->l4 + 16,
	    ~csum_fold(tcp_pseudo(ip, len - g->l4, g->v6)) & 0xffff);

	vh[0] = VNET_F_NEEDS_CSUM;
	vh[1] = g->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
	v = g->hdrlen;
	memcpy(vh + 2, &v, sizeof(v));
	v = g->mss;
	memcpy(vh + 4, &v, sizeof(v));
	v = g->l4;
	memcpy(vh + 6, &v, sizeof(v));
	v = 16;
	memcpy(vh + 8, &v, sizeof(v));
	return (VNET_HDRLEN + len);
}

/*
 * A TCP packet over IPv4 without options or fragments, or over IPv6
 * without extension headers, whose lengths add up and whose checksum
 * verifies: where its TCP header is, how long the headers are.
 */
static int
tcp_parse(const uint8_t *pkt, size_t len, size_t l3, size_t *l4,
    size_t *hdrlen, int *v6)
{
	const uint8_t	*ip = pkt + l3;
	size_t		 thl, iplen;

	if (l3 + 40 > len)
		return (-1);
	switch (ip[0] >> 4) {
	case 4:
		if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP_ ||
		    (get16(ip + 6) & IPV4_DF_MASK) != 0 ||
		    csum_fold(csum_add(0, ip, 20)) != 0)
			return (-1);
		iplen = get16(ip + 2);
		*l4 = l3 + 20;
		*v6 = 0;
		break;
	case 6:
		if (l3 + 60 > len || ip[6] != IPPROTO_TCP_)
			return (-1);
		iplen = 40 + get16(ip + 4);
		*l4 = l3 + 40;
		*v6 = 1;
		break;
	default:
		return (-1);
	}
	if (l3 + iplen != len)
		return (-1);
	thl = (pkt[*l4 + 12] >> 4) * 4;
	if (thl < 20 || *l4 + thl > len)
		return (-1);
	*hdrlen = *l4 + thl;
	if (csum_fold(csum_add(tcp_pseudo(ip, len - *l4, *v6), pkt + *l4,
	    len - *l4)) != 0)
		return (-1);
	return (0);
}

/* The sum of the TCP pseudo-header (< 64 KB of TCP). */
static uint32_t
tcp_pseudo(const uint8_t *ip, size_t tcplen, int v6)
{
	uint8_t		 ph[4];
	uint32_t	 sum;

	ph[0] = 0;
	ph[1] = IPPROTO_TCP_;
	put16(ph + 2, tcplen);
	if (v6)
		sum = csum_add(0, ip + 8, 32);
	else
		sum = csum_add(0, ip + 12, 8);
	return (csum_add(sum, ph, sizeof(ph)));
}

/* The Internet checksum's sum of 16-bit words, big-endian, RFC 1071. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t	 s = sum;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return ((uint32_t)s);
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (~sum & 0xffff);
}

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
