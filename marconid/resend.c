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

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

/*
 * The frames a peer in failover mode was sent lately, each with the
 * moment it went, so that when its pipe goes suspect the engine can
 * send again over another pipe what the suspect one may have lost
 * (engine.c, peer_resend()).  A ring: the newest frame pushes out the
 * oldest ones until it fits, within `maxframes` frames and `maxbytes`
 * bytes.  The bytes are one block, written in order and wrapping to its
 * start when a frame does not fit at its end, so a frame is never
 * split; the slots say where each frame is.  No clock is read here:
 * the caller gives the time.
 */

struct resend_slot {
	size_t			 off;
	size_t			 len;
	int64_t			 at;
};

struct resend {
	uint8_t			*buf;
	size_t			 size;		/* maxbytes */
	struct resend_slot	*slots;
	uint32_t		 nslots;	/* maxframes */
	uint32_t		 first;		/* the oldest */
	uint32_t		 n;
};

struct resend *
resend_new(uint32_t maxframes, size_t maxbytes)
{
	struct resend	*r;

	if (maxframes == 0 || maxbytes == 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if ((r->slots = calloc(maxframes, sizeof(*r->slots))) == NULL ||
	    (r->buf = malloc(maxbytes)) == NULL) {
		free(r->slots);
		free(r);
		return (NULL);
	}
	r->nslots = maxframes;
	r->size = maxbytes;
	return (r);
}

void
resend_free(struct resend *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->slots);
	free(r);
}

static struct resend_slot *
resend_slot(struct resend *r, uint32_t i)
{
	return (&r->slots[(r->first + i) % r->nslots]);
}

static void
resend_drop_oldest(struct resend *r)
{
	r->first = (r->first + 1) % r->nslots;
	r->n--;
}

/*
 * Keeps a copy of the frame, sent at `at`.  One larger than the ring
 * is not kept (and nothing is lost for it).
 */
void
resend_add(struct resend *r, const uint8_t *buf, size_t len, int64_t at)
{
	struct resend_slot	*old, *new, *s;
	size_t			 off;

	if (len == 0 || len > r->size)
		return;
	if (r->n == r->nslots)
		resend_drop_oldest(r);
	for (;;) {
		if (r->n == 0) {
			off = 0;
			break;
		}
		old = resend_slot(r, 0);
		new = resend_slot(r, r->n - 1);
		off = new->off + new->len;
		if (new->off >= old->off) {
			/* in one piece: free after it, or before it */
			if (off + len <= r->size)
				break;
			if (len <= old->off) {
				off = 0;
				break;
			}
		} else if (off + len <= old->off)
			break;	/* wrapped: free between the two ends */
		resend_drop_oldest(r);
	}
	s = resend_slot(r, r->n);
	s->off = off;
	s->len = len;
	s->at = at;
	memcpy(r->buf + off, buf, len);
	r->n++;
}

/*
 * Hands `out` the frames kept that were sent at `since` or later, the
 * oldest first, but no more than `maxbytes` of them: when they do not
 * all fit, the newest that do (the frames a cut most surely lost).
 * Returns how many; *bytes, when not NULL, gets their size.
 */
uint32_t
resend_since(struct resend *r, int64_t since, size_t maxbytes,
    resend_out_fn out, void *arg, size_t *bytes)
{
	struct resend_slot	*s;
	uint32_t		 i, from, sent = 0;
	size_t			 total = 0;

	/* from the newest back, as far as `since` and the bytes allow */
	for (from = r->n; from > 0; from--) {
		s = resend_slot(r, from - 1);
		if (s->at < since || total + s->len > maxbytes)
			break;
		total += s->len;
	}
	for (i = from; i < r->n; i++) {
		s = resend_slot(r, i);
		out(arg, r->buf + s->off, s->len);
		sent++;
	}
	if (bytes != NULL)
		*bytes = total;
	return (sent);
}

/* Forgets every frame: the peer's numbering started again, or it left. */
void
resend_clear(struct resend *r)
{
	r->first = r->n = 0;
}

uint32_t
resend_frames(const struct resend *r)
{
	return (r->n);
}
