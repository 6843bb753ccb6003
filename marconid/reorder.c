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
 * The reorder buffer of a peer in balance mode: frames spread over
 * several pipes arrive out of order, and the receiving engine hands
 * them to the interface in the order of their frame number (the seq of
 * struct frame_hdr), one order per peer (doc/wire.md section 5.5).
 *
 * `next` is the lowest number not yet released.  A frame numbered
 * `next` goes out at once with every held frame that follows it
 * without a gap; one above it is held, at most `wait` microseconds:
 * then the gap before it is given up, and what follows released.  A
 * frame below `next` (its gap was given up, or it came before the
 * buffer knew where the numbers were) goes out at once and is counted
 * late: a gap given up is never held for again.  The buffer holds at
 * most `maxframes` frames and `maxbytes` bytes, and numbers less than
 * `maxframes` above `next`; a frame beyond either gives up the oldest
 * gaps until it fits.  No clock is read here: the caller gives the
 * time, and arms its own timer at reorder_deadline().
 *
 * A frame may also come with a hold: it goes out no sooner than that
 * after it came, even in order, and the frames after it wait behind
 * it.  The engine holds the frames of a shorter pipe for the time a
 * longer pipe in use takes more, so that every frame takes about as
 * long, whichever pipe carried it (doc/wire.md section 5.5).
 * The hold is less than the wait: a frame held for its hold alone is
 * never a gap given up.
 *
 * The numbers of the frames held are also kept in the order they came,
 * in a ring: the first of them still held is the oldest, whose wait
 * ends first.  A frame released leaves its number in the ring until it
 * comes to the front, so that finding the oldest costs nothing per
 * frame, where looking through every slot would cost the whole window.
 */

struct reorder_slot {
	uint8_t			*data;	/* NULL: empty */
	size_t			 len;
	uint64_t		 seq;
	int64_t			 at;	/* when it arrived, us */
	int64_t			 due;	/* no sooner, us */
};

struct reorder {
	struct reorder_slot	*slots;
	uint32_t		 nslots;	/* maxframes */
	size_t			 maxbytes;
	reorder_out_fn		 out;
	void			*arg;
	int			 synced;	/* next is meaningful */
	uint64_t		 next;
	int64_t			 wait;		/* us */
	int64_t			 oldest;	/* arrival of the oldest held */
	uint64_t		*ring;		/* held numbers, as they came */
	uint32_t		 ringsz;	/* 2 * maxframes */
	uint32_t		 ringhead;
	uint32_t		 ringlen;
	struct reorder_stats	 st;
};

struct reorder *
reorder_new(uint32_t maxframes, size_t maxbytes, reorder_out_fn out,
    void *arg)
{
	struct reorder	*r;

	if (maxframes == 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if (maxframes > UINT32_MAX / 2 ||
	    (r->slots = calloc(maxframes, sizeof(*r->slots))) == NULL) {
		free(r);
		return (NULL);
	}
	r->ringsz = 2 * maxframes;
	if ((r->ring = calloc(r->ringsz, sizeof(*r->ring))) == NULL) {
		free(r->slots);
		free(r);
		return (NULL);
	}
	r->nslots = maxframes;
	r->maxbytes = maxbytes;
	r->out = out;
	r->arg = arg;
	r->wait = REORDER_WAIT_MIN;
	return (r);
}

void
reorder_free(struct reorder *r)
{
	uint32_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nslots; i++)
		free(r->slots[i].data);
	free(r->slots);
	free(r->ring);
	free(r);
}

/* The peer's structure moved (a reload): frames go to the new one. */
void
reorder_set_arg(struct reorder *r, void *arg)
{
	r->arg = arg;
}

void
reorder_set_wait(struct reorder *r, int64_t wait)
{
	r->wait = wait;
}

int64_t
reorder_get_wait(struct reorder *r)
{
	return (r->wait);
}

const struct reorder_stats *
reorder_stats(struct reorder *r)
{
	return (&r->st);
}

static struct reorder_slot *
slot_of(struct reorder *r, uint64_t seq)
{
	return (&r->slots[seq % r->nslots]);
}

/* Hand one held frame out and empty its slot. */
static void
release_slot(struct reorder *r, struct reorder_slot *s)
{
	r->out(r->arg, s->data, s->len);
	r->st.bytes -= s->len;
	r->st.nheld--;
	r->st.released++;
	free(s->data);
	s->data = NULL;
}

/* Whether the frame numbered seq is held. */
static int
is_held(struct reorder *r, uint64_t seq)
{
	struct reorder_slot	*s = slot_of(r, seq);

	return (s->data != NULL && s->seq == seq);
}

/* Release from next on while there is no gap and no hold. */
static void
release_run(struct reorder *r, int64_t now)
{
	struct reorder_slot	*s;

	while (r->st.nheld > 0 && is_held(r, r->next)) {
		s = slot_of(r, r->next);
		if (s->due > now)
			break;
		release_slot(r, s);
		r->next++;
	}
}

/*
 * Keep only the numbers still held, in their order.  Those held are at
 * most nslots, so the ring then has room.
 */
static void
ring_compact(struct reorder *r)
{
	uint32_t	 i, n = 0;
	uint64_t	 seq;

	for (i = 0; i < r->ringlen; i++) {
		seq = r->ring[(r->ringhead + i) % r->ringsz];
		if (is_held(r, seq))
			r->ring[(r->ringhead + n++) % r->ringsz] = seq;
	}
	r->ringlen = n;
}

static void
ring_push(struct reorder *r, uint64_t seq)
{
	if (r->ringlen == r->ringsz)
		ring_compact(r);
	r->ring[(r->ringhead + r->ringlen) % r->ringsz] = seq;
	r->ringlen++;
}

/*
 * The arrival of the oldest frame still held, or 0 if none: the first
 * number in the ring that is still held.  The caller's clock does not
 * go back, so the frames came in the order of the ring.
 */
static void
find_oldest(struct reorder *r)
{
	uint64_t	 seq;

	r->oldest = 0;
	if (r->st.nheld == 0) {
		r->ringhead = r->ringlen = 0;
		return;
	}
	while (r->ringlen > 0) {
		seq = r->ring[r->ringhead];
		if (is_held(r, seq)) {
			r->oldest = slot_of(r, seq)->at;
			return;
		}
		r->ringhead = (r->ringhead + 1) % r->ringsz;
		r->ringlen--;
	}
}

/*
 * Give up the gap in front: next moves to the lowest number held, the
 * numbers skipped are counted, and the run from there goes out.  With
 * no gap in front, the frame there goes out before its hold is over.
 */
static void
give_up_front(struct reorder *r, int64_t now)
{
	uint64_t	 s;

	if (r->st.nheld == 0)
		return;
	if (is_held(r, r->next)) {
		release_slot(r, slot_of(r, r->next));
		r->next++;
		release_run(r, now);
		return;
	}
	for (s = r->next; s < r->next + r->nslots; s++)
		if (is_held(r, s))
			break;
	r->st.gaps++;
	r->st.lost += s - r->next;
	r->next = s;
	release_run(r, now);
}

void
reorder_flush(struct reorder *r)
{
	while (r->st.nheld > 0)
		give_up_front(r, INT64_MAX);
	r->synced = 0;
	find_oldest(r);
}

/*
 * Frame seq went out without the buffer: the peer sent it as failover
 * mode does (every pipe of its spread suspect).  What is held goes out
 * first, and the numbers up to seq are done with: the next balance
 * frame after it is in order, and one sent before it is late, not a
 * gap to wait for.  A frame below next (a copy that came the long way)
 * is older than anything held: nothing waits for it.
 */
void
reorder_skip(struct reorder *r, uint64_t seq)
{
	if (r->synced && seq < r->next)
		return;
	while (r->st.nheld > 0)
		give_up_front(r, INT64_MAX);
	if (!r->synced || seq >= r->next) {
		r->next = seq + 1;
		r->synced = 1;
	}
	find_oldest(r);
}

int
reorder_input(struct reorder *r, uint64_t seq, const uint8_t *frame,
    size_t len, int64_t now, int64_t hold)
{
	struct reorder_slot	*s;
	int			 gaveup = 0;

	if (!r->synced) {
		r->next = seq;
		r->synced = 1;
	}
	if (seq < r->next) {
		/* its gap was given up: never held again */
		r->st.late++;
		r->out(r->arg, frame, len);
		return (0);
	}
	/* beyond the window or the bytes: the oldest gaps go first */
	while (r->st.nheld > 0 && (seq >= r->next + r->nslots ||
	    r->st.bytes + len > r->maxbytes)) {
		give_up_front(r, now);
		gaveup = 1;
	}
	if (seq >= r->next + r->nslots || len > r->maxbytes) {
		/* nothing held, and still too far or too big: jump */
		if (seq > r->next) {
			r->st.gaps++;
			r->st.lost += seq - r->next;
		}
		r->next = seq;
		gaveup = 1;
	}
	if (gaveup) {
		r->st.overflows++;
		find_oldest(r);
	}
	if (seq < r->next) {
		/* the gaps given up went past it: it goes as it is */
		r->st.late++;
		r->out(r->arg, frame, len);
		return (0);
	}
	if (hold > r->wait / 2)
		hold = r->wait / 2;
	if (seq == r->next && hold <= 0) {
		r->out(r->arg, frame, len);
		r->next++;
		release_run(r, now);
		find_oldest(r);
		return (0);
	}
	s = slot_of(r, seq);
	if (s->data != NULL)
		return (-1);	/* a copy; the engine's window drops those */
	if ((s->data = malloc(len)) == NULL)
		return (-1);
	memcpy(s->data, frame, len);
	s->len = len;
	s->seq = seq;
	s->at = now;
	s->due = now + (hold > 0 ? hold : 0);
	r->st.nheld++;
	r->st.bytes += len;
	r->st.held++;
	ring_push(r, seq);
	find_oldest(r);
	return (1);
}

/*
 * Every pipe that carries the spread has brought a frame numbered floor
 * or above: a frame below it that has not come was lost (a pipe keeps
 * its frames in order), so its gap is given up at once instead of at
 * the end of the wait.
 */
void
reorder_lost_below(struct reorder *r, uint64_t floor, int64_t now)
{
	uint64_t	 lost = 0;

	if (!r->synced || r->st.nheld == 0 || floor <= r->next)
		return;
	if (floor > r->next + r->nslots)
		floor = r->next + r->nslots;
	while (r->next < floor && r->st.nheld > 0) {
		if (is_held(r, r->next)) {
			if (slot_of(r, r->next)->due > now)
				break;	/* not given up: its hold is short */
			release_run(r, now);
			continue;
		}
		lost++;
		r->next++;
	}
	if (lost > 0) {
		r->st.gaps++;
		r->st.lost += lost;
		r->st.proven++;
	}
	release_run(r, now);
	find_oldest(r);
}

/* When the next frame goes out or the next gap is given up, -1: none. */
int64_t
reorder_deadline(struct reorder *r)
{
	struct reorder_slot	*s;
	int64_t			 d;

	if (r->st.nheld == 0)
		return (-1);
	d = r->oldest + r->wait;
	s = slot_of(r, r->next);
	if (is_held(r, r->next) && s->due < d)
		d = s->due;
	return (d);
}

void
reorder_expire(struct reorder *r, int64_t now)
{
	release_run(r, now);
	find_oldest(r);
	while (r->st.nheld > 0 && r->oldest + r->wait <= now) {
		if (!is_held(r, r->next))
			r->st.timeouts++;
		give_up_front(r, now);
		find_oldest(r);
	}
}

/*
 * How long to hold a frame: twice the spread of the smoothed round-trip
 * times of the pipes that are up (the one-way spread is about half of
 * it, the rest is margin for the queues, which move faster than the
 * smoothed figures), four jitters of the most jittery, and
 * REORDER_WAIT_MIN, at most REORDER_WAIT_MAX.  The pipes back to a
 * peer take roughly the paths of the pipes from it.  Too short a wait
 * releases frames out of order, which TCP takes for losses; too long
 * a one only delays what follows a frame really lost.
 */
int64_t
reorder_wait_for(const uint32_t *rtt_us, const uint32_t *jitter_us, int n)
{
	uint32_t	 lo = UINT32_MAX, hi = 0, jit = 0;
	int64_t		 w;
	int		 i;

	for (i = 0; i < n; i++) {
		if (rtt_us[i] == 0)
			continue;	/* not measured yet */
		if (rtt_us[i] < lo)
			lo = rtt_us[i];
		if (rtt_us[i] > hi)
			hi = rtt_us[i];
		if (jitter_us[i] > jit)
			jit = jitter_us[i];
	}
	if (hi == 0)
		return (REORDER_WAIT_MIN);
	w = 2 * (int64_t)(hi - lo) + 4 * (int64_t)jit + REORDER_WAIT_MIN;
	if (w > REORDER_WAIT_MAX)
		w = REORDER_WAIT_MAX;
	return (w);
}
