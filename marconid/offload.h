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
 * Segmentation offload: a tun/tap device opened with a virtio-net
 * header (Linux IFF_VNET_HDR) may hand over one TCP segment of up to
 * 64 KB where the stack would have sent dozens of MTU-sized packets,
 * and packets whose checksum is left for us to finish.  offload.c
 * cuts such a segment into the packets the stack would have sent,
 * with their headers and checksums complete, so that what crosses the
 * tunnel is ordinary frames; on the other side, it merges the packets
 * of a TCP stream that arrive together back into one large segment,
 * as a NIC's receive offload would, so that the stack there takes them
 * in one go.
 */

#ifndef OFFLOAD_H
#define OFFLOAD_H

/* The virtio-net header, in host byte order as the device gives it. */
struct vnet_hdr {
	uint8_t		 flags;
	uint8_t		 gso_type;
	uint16_t	 hdr_len;
	uint16_t	 gso_size;
	uint16_t	 csum_start;
	uint16_t	 csum_offset;
};

#define VNET_HDRLEN		10
#define VNET_F_NEEDS_CSUM	0x01	/* finish the checksum at csum_start */
#define VNET_GSO_NONE		0x00
#define VNET_GSO_TCPV4		0x01
#define VNET_GSO_TCPV6		0x04
#define VNET_GSO_ECN		0x80	/* the segment carries CWR */

#define OFFLOAD_MAXPKT		65535	/* an IP packet, headers included */

/* A large TCP segment being cut: see tso_init() and tso_next(). */
struct tso {
	const uint8_t	*pkt;
	size_t		 len;
	size_t		 l3;		/* IP header */
	size_t		 l4;		/* TCP header */
	size_t		 hdrlen;	/* through the TCP header */
	size_t		 mss;
	size_t		 off;		/* of the next payload byte */
	uint32_t	 seq;
	uint16_t	 ipid;
	int		 v6;
};

/*
 * Packets of one TCP stream, in order, being merged into one large
 * segment for the device: see gro_start(), gro_merge(), gro_finish().
 */
struct gro {
	uint8_t		 buf[VNET_HDRLEN + OFFLOAD_MAXPKT + 64];
	size_t		 len;		/* of the packet after the header */
	size_t		 l3;
	size_t		 l4;
	size_t		 hdrlen;
	size_t		 mss;
	uint32_t	 nextseq;
	int		 v6;
	int		 count;
	int		 closed;	/* the last packet ends the merge */
};

void	 vnet_hdr_get(struct vnet_hdr *, const uint8_t *);
int	 offload_csum(uint8_t *, size_t, const struct vnet_hdr *);
int	 tso_init(struct tso *, const uint8_t *, size_t,
	    const struct vnet_hdr *, size_t);
ssize_t	 tso_next(struct tso *, uint8_t *, size_t);
int	 gro_start(struct gro *, const uint8_t *, size_t, size_t);
int	 gro_merge(struct gro *, const uint8_t *, size_t);
size_t	 gro_finish(struct gro *);

#endif /* OFFLOAD_H */
