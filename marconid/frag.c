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
 * Fragmentation of tap frames into encrypted datagrams and their
 * reassembly.  Every plaintext starts with an 8-byte header in network
 * byte order: the frame id (per sender, increasing), the total length
 * of the frame and the offset of this piece within it.  A frame that
 * fits is one piece with offset 0 and total equal to its length.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

struct frag_hdr {
	uint32_t	 id;
	uint16_t	 total;
	uint16_t	 offset;
};

struct reasm_slot {
	TAILQ_ENTRY(reasm_slot)	 entry;
	uint32_t		 id;
	size_t			 total;
	size_t			 have;		/* distinct bytes received */
	int64_t			 first_ms;
	/* one bit per byte of the frame: set once that byte arrived */
	uint8_t			 map[(FRAG_MAXFRAME + 7) / 8];
	uint8_t			 buf[FRAG_MAXFRAME];
};
TAILQ_HEAD(reasm_slots, reasm_slot);

struct reasm {
	/* in order of creation, so the head is the oldest */
	struct reasm_slots	 busy;
	struct reasm_slots	 free;
	struct reasm_stats	 stats;
	/*
	 * slots[unused] and after have never been handed out: they are
	 * not on a list, so that their pages stay untouched (the kernel
	 * gives them only when written) until a peer needs that many
	 * frames in reassembly at once.  A hub keeps one table per peer
	 * in every uplink process; most never hold more than a frame.
	 */
	size_t			 unused;
	struct reasm_slot	 slots[FRAG_SLOTS];
};

static void	frag_piece(size_t, size_t, size_t, size_t *, size_t *);
static int	frag_hdr_get(const uint8_t *, size_t, struct frag_hdr *);
static int	range_isclear(const uint8_t *, size_t, size_t);
static void	range_set(uint8_t *, size_t, size_t);
static struct reasm_slot *reasm_find(struct reasm *, uint32_t);
static void	reasm_release(struct reasm *, struct reasm_slot *);

size_t
frag_count(size_t framelen, size_t room)
{
	size_t	per;

	if (room <= FRAG_HDRLEN || framelen == 0 || framelen > FRAG_MAXFRAME)
		return (0);
	per = room - FRAG_HDRLEN;
	/* not (framelen + per - 1) / per: that overflows for a huge room */
	return ((framelen - 1) / per + 1);
}

/*
 * Offset and length of piece `index' of `n'.  The bytes are spread as
 * evenly as possible (lengths differ by at most one) rather than as
 * full pieces and a remainder: 1518 bytes over a room of 1460 become
 * 759 + 759, not 1452 + 66.  Both pieces then sit well below the
 * path MTU, so a small shrink of it does not push either over, and
 * no piece is a tiny tail whose overhead is mostly header.
 */
static void
frag_piece(size_t framelen, size_t n, size_t index, size_t *off,
    size_t *len)
{
	size_t	base, rem;

	base = framelen / n;
	rem = framelen % n;
	/* the first `rem' pieces carry one byte more */
	*off = index * base + (index < rem ? index : rem);
	*len = base + (index < rem ? 1 : 0);
}

ssize_t
frag_build(uint32_t id, const uint8_t *frame, size_t framelen, size_t room,
    size_t index, uint8_t *out, size_t outsz)
{
	size_t		n, off, len;
	uint32_t	nid;
	uint16_t	ntotal, noff;

	if (frame == NULL || out == NULL)
		return (-1);
	if ((n = frag_count(framelen, room)) == 0 || index >= n)
		return (-1);
	frag_piece(framelen, n, index, &off, &len);
	if (outsz < FRAG_HDRLEN + len)
		return (-1);

	nid = htonl(id);
	ntotal = htons((uint16_t)framelen);
	noff = htons((uint16_t)off);
	memcpy(out, &nid, sizeof(nid));
	memcpy(out + 4, &ntotal, sizeof(ntotal));
	memcpy(out + 6, &noff, sizeof(noff));
	memcpy(out + FRAG_HDRLEN, frame + off, len);
	return ((ssize_t)(FRAG_HDRLEN + len));
}

/* The header may sit at any alignment in the datagram: copy it out. */
static int
frag_hdr_get(const uint8_t *pkt, size_t len, struct frag_hdr *h)
{
	uint32_t	nid;
	uint16_t	ntotal, noff;

	if (len < FRAG_HDRLEN)
		return (-1);
	memcpy(&nid, pkt, sizeof(nid));
	memcpy(&ntotal, pkt + 4, sizeof(ntotal));
	memcpy(&noff, pkt + 6, sizeof(noff));
	h->id = ntohl(nid);
	h->total = ntohs(ntotal);
	h->offset = ntohs(noff);
	return (0);
}

/* Whether none of the bytes [off, off + len) has arrived yet. */
static int
range_isclear(const uint8_t *map, size_t off, size_t len)
{
	size_t	i, end = off + len;

	for (i = off; i < end; i++) {
		/* a whole byte of the map at a time where possible */
		if ((i & 7) == 0 && end - i >= 8) {
			if (map[i >> 3] != 0)
				return (0);
			i += 7;
		} else if (map[i >> 3] & (1U << (i & 7)))
			return (0);
	}
	return (1);
}

static void
range_set(uint8_t *map, size_t off, size_t len)
{
	size_t	i, end = off + len;

	for (i = off; i < end; i++) {
		if ((i & 7) == 0 && end - i >= 8) {
			map[i >> 3] = 0xff;
			i += 7;
		} else
			map[i >> 3] |= 1U << (i & 7);
	}
}

struct reasm *
reasm_new(void)
{
	struct reasm	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	TAILQ_INIT(&r->busy);
	TAILQ_INIT(&r->free);
	return (r);
}

void
reasm_free(struct reasm *r)
{
	free(r);
}

const struct reasm_stats *
reasm_stats(const struct reasm *r)
{
	return (&r->stats);
}

static struct reasm_slot *
reasm_find(struct reasm *r, uint32_t id)
{
	struct reasm_slot	*s;

	TAILQ_FOREACH(s, &r->busy, entry)
		if (s->id == id)
			return (s);
	return (NULL);
}

/*
 * The buffer is left as it is: reasm_input() may still hand it out
 * until its next call, and the next user only reads what it wrote.
 */
static void
reasm_release(struct reasm *r, struct reasm_slot *s)
{
	TAILQ_REMOVE(&r->busy, s, entry);
	TAILQ_INSERT_TAIL(&r->free, s, entry);
}

void
reasm_expire(struct reasm *r, int64_t now_ms)
{
	struct reasm_slot	*s, *next;

	/*
	 * Look at every slot rather than stop at the first young one: a
	 * clock that stepped back must not keep an old frame alive.
	 */
	for (s = TAILQ_FIRST(&r->busy); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (now_ms - s->first_ms >= FRAG_TIMEOUT) {
			r->stats.timeouts++;
			reasm_release(r, s);
		}
	}
}

int
reasm_input(struct reasm *r, const uint8_t *pkt, size_t len, int64_t now_ms,
    const uint8_t **frame, size_t *framelen)
{
	struct frag_hdr		 h;
	struct reasm_slot	*s;
	size_t			 plen;

	reasm_expire(r, now_ms);

	if (frag_hdr_get(pkt, len, &h) == -1) {
		r->stats.malformed++;
		return (-1);
	}
	plen = len - FRAG_HDRLEN;
	if (h.total > FRAG_MAXFRAME) {
		r->stats.oversize++;
		return (-1);
	}
	/* an empty piece carries nothing a sender would need to send */
	if (h.total == 0 || plen == 0 || (size_t)h.offset + plen > h.total) {
		r->stats.malformed++;
		return (-1);
	}

	s = reasm_find(r, h.id);
	if (s == NULL && h.offset == 0 && plen == h.total) {
		/* the common case: a whole frame, used in place */
		*frame = pkt + FRAG_HDRLEN;
		*framelen = plen;
		return (1);
	}

	if (s == NULL) {
		if ((s = TAILQ_FIRST(&r->free)) != NULL)
			TAILQ_REMOVE(&r->free, s, entry);
		else if (r->unused < FRAG_SLOTS)
			s = &r->slots[r->unused++];
		else {
			/* the oldest frame is the least likely to complete */
			s = TAILQ_FIRST(&r->busy);
			r->stats.evicted++;
			TAILQ_REMOVE(&r->busy, s, entry);
		}
		s->id = h.id;
		s->total = h.total;
		s->have = 0;
		s->first_ms = now_ms;
		memset(s->map, 0, (s->total + 7) / 8);
		TAILQ_INSERT_TAIL(&r->busy, s, entry);
	} else if (s->total != h.total) {
		r->stats.malformed++;
		return (-1);
	}

	/*
	 * A piece that touches bytes already received is dropped whole:
	 * our senders never overlap, so it is a replay or a duplicate, and
	 * keeping the first copy means it cannot rewrite data.  Since no
	 * byte is then counted twice, `have' reaching `total' means every
	 * byte of the frame is there.
	 */
	if (!range_isclear(s->map, h.offset, plen)) {
		r->stats.duplicates++;
		return (0);
	}
	memcpy(s->buf + h.offset, pkt + FRAG_HDRLEN, plen);
	range_set(s->map, h.offset, plen);
	s->have += plen;
	if (s->have < s->total)
		return (0);

	*frame = s->buf;
	*framelen = s->total;
	reasm_release(r, s);
	return (1);
}
