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
 * Unit tests of the reorder buffer of balance mode (reorder.c): frames
 * in order go at once, out of order ones are put back in order, a gap
 * is given up when the wait is over and never held again, the bounds
 * in frames and bytes hold, and a shuffled stream with losses comes
 * out in order with every frame once.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

#define OUT_MAX		20000

/* What the buffer released: the numbers, in the order they came out. */
static uint64_t	out[OUT_MAX];
static size_t	nout;

static void
collect(void *arg, const uint8_t *frame, size_t len)
{
	uint64_t	seq;

	ATF_REQUIRE(len >= sizeof(seq));
	ATF_REQUIRE(nout < OUT_MAX);
	memcpy(&seq, frame, sizeof(seq));
	out[nout++] = seq;
}

/*
 * A frame of len bytes (at least 8) carrying its number, held at least
 * hold us (as from a shorter pipe).
 */
static int
put_held(struct reorder *r, uint64_t seq, size_t len, int64_t now,
    int64_t hold)
{
	uint8_t	 buf[2048];

	ATF_REQUIRE(len >= sizeof(seq) && len <= sizeof(buf));
	memset(buf, 0xa5, len);
	memcpy(buf, &seq, sizeof(seq));
	return (reorder_input(r, seq, buf, len, now, hold));
}

static int
put(struct reorder *r, uint64_t seq, size_t len, int64_t now)
{
	return (put_held(r, seq, len, now, 0));
}

static struct reorder *
mk(uint32_t frames, size_t bytes, int64_t wait)
{
	struct reorder	*r;

	nout = 0;
	ATF_REQUIRE((r = reorder_new(frames, bytes, collect, NULL)) != NULL);
	reorder_set_wait(r, wait);
	return (r);
}

ATF_TC_WITHOUT_HEAD(in_order);
ATF_TC_BODY(in_order, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 10000);
	uint64_t	 i;

	for (i = 100; i < 200; i++)
		ATF_CHECK_EQ(put(r, i, 100, 0), 0);
	ATF_REQUIRE_EQ(nout, 100);
	for (i = 0; i < 100; i++)
		ATF_CHECK_EQ(out[i], 100 + i);
	ATF_CHECK_EQ(reorder_stats(r)->held, 0);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(swapped);
ATF_TC_BODY(swapped, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 10000);

	put(r, 0, 100, 0);
	/* 2 and 3 overtake 1: held until it comes */
	ATF_CHECK_EQ(put(r, 2, 100, 10), 1);
	ATF_CHECK_EQ(put(r, 3, 100, 20), 1);
	ATF_REQUIRE_EQ(nout, 1);
	ATF_CHECK_EQ(reorder_deadline(r), 10 + 10000);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 2);
	ATF_CHECK_EQ(reorder_stats(r)->bytes, 200);
	put(r, 1, 100, 30);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[1], 1);
	ATF_CHECK_EQ(out[2], 2);
	ATF_CHECK_EQ(out[3], 3);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	ATF_CHECK_EQ(reorder_stats(r)->bytes, 0);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	ATF_CHECK_EQ(reorder_stats(r)->gaps, 0);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(gap_given_up);
ATF_TC_BODY(gap_given_up, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 5000);

	put(r, 0, 100, 0);
	put(r, 2, 100, 1000);
	put(r, 3, 100, 2000);
	/* 5 waits behind the gap at 4 as well */
	put(r, 5, 100, 3000);
	ATF_REQUIRE_EQ(nout, 1);
	/* not yet: the wait counts from the oldest frame held */
	reorder_expire(r, 5999);
	ATF_REQUIRE_EQ(nout, 1);
	reorder_expire(r, 6000);
	/* 1 given up: 2 and 3 go, 5 still waits for 4, from its arrival */
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[1], 2);
	ATF_CHECK_EQ(out[2], 3);
	ATF_CHECK_EQ(reorder_deadline(r), 3000 + 5000);
	reorder_expire(r, 8000);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[3], 5);
	ATF_CHECK_EQ(reorder_stats(r)->gaps, 2);
	ATF_CHECK_EQ(reorder_stats(r)->lost, 2);
	ATF_CHECK_EQ(reorder_stats(r)->timeouts, 2);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(given_up_never_held);
ATF_TC_BODY(given_up_never_held, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 5000);

	put(r, 0, 100, 0);
	put(r, 2, 100, 0);
	reorder_expire(r, 5000);
	ATF_REQUIRE_EQ(nout, 2);
	/* 1 comes after all: out at once, late, and nothing waits for it */
	ATF_CHECK_EQ(put(r, 1, 100, 6000), 0);
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[2], 1);
	ATF_CHECK_EQ(reorder_stats(r)->late, 1);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	/* and 3 goes at once: the given-up gap holds nothing back */
	ATF_CHECK_EQ(put(r, 3, 100, 6000), 0);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[3], 3);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(lost_below);
ATF_TC_BODY(lost_below, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 1000000);

	put(r, 0, 100, 0);
	put(r, 2, 100, 0);
	put(r, 3, 100, 0);
	put(r, 6, 100, 0);
	ATF_REQUIRE_EQ(nout, 1);
	/* every pipe went past 3: 1 is lost, 2 and 3 go, 6 waits for 4, 5 */
	reorder_lost_below(r, 3, 0);
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[1], 2);
	ATF_CHECK_EQ(out[2], 3);
	ATF_CHECK_EQ(reorder_stats(r)->lost, 1);
	ATF_CHECK_EQ(reorder_stats(r)->proven, 1);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 1);
	/* not past 4 yet: nothing moves */
	reorder_lost_below(r, 4, 0);
	ATF_REQUIRE_EQ(nout, 3);
	/* past 6: 4 and 5 are lost, 6 goes */
	reorder_lost_below(r, 6, 0);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[3], 6);
	ATF_CHECK_EQ(reorder_stats(r)->lost, 3);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	/* 5 after all: late, at once */
	ATF_CHECK_EQ(put(r, 5, 100, 0), 0);
	ATF_CHECK_EQ(reorder_stats(r)->late, 1);
	reorder_free(r);
}

/*
 * Frames from a pipe 10 ms shorter one way wait 10 ms, even in order,
 * and those after them wait behind them; a hold is never a gap given
 * up, it is at most half the wait, and a gap behind a held frame is
 * still given up at the end of the wait.
 */
ATF_TC_WITHOUT_HEAD(hold_evens_paths);
ATF_TC_BODY(hold_evens_paths, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 30000);

	ATF_CHECK_EQ(put_held(r, 0, 100, 0, 10000), 1);
	ATF_CHECK_EQ(reorder_deadline(r), 10000);
	/* from the longer pipe, no hold, in order: behind 0 */
	ATF_CHECK_EQ(put_held(r, 1, 100, 2000, 0), 1);
	ATF_CHECK_EQ(put_held(r, 2, 100, 3000, 10000), 1);
	reorder_lost_below(r, 3, 4000);
	reorder_expire(r, 9999);
	ATF_REQUIRE_EQ(nout, 0);
	reorder_expire(r, 10000);
	/* 0 and 1 go; 2 has its own hold, till 13000 */
	ATF_REQUIRE_EQ(nout, 2);
	ATF_CHECK_EQ(out[0], 0);
	ATF_CHECK_EQ(out[1], 1);
	ATF_CHECK_EQ(reorder_deadline(r), 13000);
	reorder_expire(r, 13000);
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[2], 2);
	ATF_CHECK_EQ(reorder_stats(r)->gaps, 0);
	ATF_CHECK_EQ(reorder_stats(r)->timeouts, 0);
	ATF_CHECK_EQ(reorder_deadline(r), -1);
	/* no hold, in order: out at once, as ever */
	ATF_CHECK_EQ(put_held(r, 3, 100, 14000, 0), 0);
	ATF_REQUIRE_EQ(nout, 4);
	reorder_free(r);

	/* a hold longer than half the wait is cut to it */
	r = mk(64, 1 << 20, 8000);
	put_held(r, 0, 100, 0, 50000);
	ATF_CHECK_EQ(reorder_deadline(r), 4000);
	/* 2 waits for the gap at 1, from its arrival, behind 0's hold */
	put_held(r, 2, 100, 1000, 0);
	reorder_expire(r, 4000);
	ATF_REQUIRE_EQ(nout, 1);
	ATF_CHECK_EQ(reorder_deadline(r), 1000 + 8000);
	reorder_expire(r, 9000);
	ATF_REQUIRE_EQ(nout, 2);
	ATF_CHECK_EQ(out[1], 2);
	ATF_CHECK_EQ(reorder_stats(r)->gaps, 1);
	ATF_CHECK_EQ(reorder_stats(r)->timeouts, 1);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(bound_frames);
ATF_TC_BODY(bound_frames, tc)
{
	struct reorder	*r = mk(8, 1 << 20, 1000000);
	uint64_t	 i;

	put(r, 0, 100, 0);
	/* 1 is lost; 2..8 fill the 8 numbers from 1 */
	for (i = 2; i <= 8; i++)
		ATF_CHECK_EQ(put(r, i, 100, 0), 1);
	ATF_REQUIRE_EQ(nout, 1);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 7);
	/* 9 is beyond the window: the gap at 1 goes, and all follow */
	ATF_CHECK_EQ(put(r, 9, 100, 0), 0);
	ATF_REQUIRE_EQ(nout, 9);
	for (i = 1; i < 9; i++)
		ATF_CHECK_EQ(out[i], i + 1);
	ATF_CHECK_EQ(reorder_stats(r)->overflows, 1);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	/* far beyond, with nothing held: taken as the new start */
	ATF_CHECK_EQ(put(r, 1000, 100, 0), 0);
	ATF_REQUIRE_EQ(nout, 10);
	ATF_CHECK_EQ(put(r, 1001, 100, 0), 0);
	ATF_REQUIRE_EQ(nout, 11);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(bound_bytes);
ATF_TC_BODY(bound_bytes, tc)
{
	struct reorder	*r = mk(64, 1000, 1000000);

	put(r, 0, 100, 0);
	ATF_CHECK_EQ(put(r, 2, 400, 0), 1);
	ATF_CHECK_EQ(put(r, 3, 400, 0), 1);
	ATF_CHECK_EQ(reorder_stats(r)->bytes, 800);
	/* 5 would make 1200 bytes: the gap at 1 goes, 2 and 3 with it */
	ATF_CHECK_EQ(put(r, 5, 400, 0), 1);
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[1], 2);
	ATF_CHECK_EQ(out[2], 3);
	ATF_CHECK(reorder_stats(r)->bytes <= 1000);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 1);
	/* a frame larger than the whole buffer is never held */
	ATF_CHECK_EQ(put(r, 7, 1500, 0), 0);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	ATF_CHECK_EQ(reorder_stats(r)->bytes, 0);
	ATF_REQUIRE_EQ(nout, 5);
	ATF_CHECK_EQ(out[3], 5);
	ATF_CHECK_EQ(out[4], 7);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(flush);
ATF_TC_BODY(flush, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 1000000);

	put(r, 10, 100, 0);
	put(r, 13, 100, 0);
	put(r, 12, 100, 0);
	put(r, 15, 100, 0);
	reorder_flush(r);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[1], 12);
	ATF_CHECK_EQ(out[2], 13);
	ATF_CHECK_EQ(out[3], 15);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	/* after a flush the numbers may start anywhere (a new epoch) */
	ATF_CHECK_EQ(put(r, 0, 100, 0), 0);
	ATF_REQUIRE_EQ(nout, 5);
	reorder_free(r);
}

/*
 * A frame that went out without the buffer (the sender's spread was
 * suspect): what was held goes at once, a balance frame sent before it
 * is late, and the ones after it are in order.
 */
ATF_TC_WITHOUT_HEAD(skip);
ATF_TC_BODY(skip, tc)
{
	struct reorder	*r = mk(64, 1 << 20, 1000000);

	put(r, 10, 100, 0);
	put(r, 12, 100, 0);
	ATF_REQUIRE_EQ(nout, 1);
	reorder_skip(r, 13);
	ATF_REQUIRE_EQ(nout, 2);
	ATF_CHECK_EQ(out[1], 12);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	/* 11 was sent before 13: late, not a gap to wait for */
	put(r, 11, 100, 1);
	ATF_REQUIRE_EQ(nout, 3);
	ATF_CHECK_EQ(out[2], 11);
	ATF_CHECK_EQ(reorder_stats(r)->late, 1);
	put(r, 14, 100, 2);
	ATF_REQUIRE_EQ(nout, 4);
	ATF_CHECK_EQ(out[3], 14);
	put(r, 15, 100, 3);
	ATF_REQUIRE_EQ(nout, 5);
	ATF_CHECK_EQ(out[4], 15);
	put(r, 17, 100, 4);
	ATF_CHECK_EQ(nout, 5);
	/* an older frame that came around releases nothing */
	reorder_skip(r, 5);
	ATF_CHECK_EQ(nout, 5);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 1);
	ATF_CHECK_EQ(reorder_deadline(r), 4 + 1000000);
	put(r, 16, 100, 5);
	ATF_REQUIRE_EQ(nout, 7);
	ATF_CHECK_EQ(out[6], 17);
	/* before any balance frame: the next one is in order */
	reorder_free(r);
	r = mk(64, 1 << 20, 1000000);
	reorder_skip(r, 40);
	put(r, 41, 100, 0);
	ATF_REQUIRE_EQ(nout, 1);
	ATF_CHECK_EQ(out[0], 41);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	reorder_free(r);
}

/*
 * A stream spread over two paths, one 3 to 6 ms longer, with 1 % of
 * the frames lost: every frame that arrived comes out exactly once, in
 * order except for those counted late, and nothing stays held.
 */
ATF_TC_WITHOUT_HEAD(shuffled_stream);
ATF_TC_BODY(shuffled_stream, tc)
{
	struct reorder	*r = mk(REORDER_FRAMES, REORDER_BYTES, 20000);
	struct { int64_t at; uint64_t seq; } ev[10000], t;
	static int	 seen[10000];
	uint64_t	 state = 0x9e3779b97f4a7c15ULL, i, j, n = 0, sent;
	size_t		 k, late = 0;

	for (sent = 0; sent < 10000; sent++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		if (state % 100 == 0)
			continue;	/* lost */
		ev[n].seq = sent;
		/* a frame every 20 us; odd ones over the longer path */
		ev[n].at = sent * 20 + (sent % 2 ? 3000 + state % 3000 : 0);
		n++;
	}
	/* in order of arrival */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && ev[j - 1].at > ev[j].at; j--) {
			t = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		reorder_expire(r, ev[i].at);
		put(r, ev[i].seq, 64, ev[i].at);
	}
	reorder_expire(r, ev[n - 1].at + 20000);
	ATF_CHECK_EQ(reorder_stats(r)->nheld, 0);
	ATF_REQUIRE_EQ(nout, n);
	for (k = 0; k < nout; k++) {
		ATF_REQUIRE(out[k] < 10000);
		ATF_CHECK_EQ(seen[out[k]], 0);
		seen[out[k]] = 1;
		if (k > 0 && out[k] < out[k - 1])
			late++;
	}
	/* the wait covers the spread: nothing late */
	ATF_CHECK_EQ(late, 0);
	ATF_CHECK_EQ(reorder_stats(r)->late, 0);
	ATF_CHECK_EQ(reorder_stats(r)->lost, 10000 - n);
	reorder_free(r);
}

ATF_TC_WITHOUT_HEAD(wait_follows_rtt);
ATF_TC_BODY(wait_follows_rtt, tc)
{
	uint32_t	 rtt[3], jit[3];

	/* nothing measured: the least */
	rtt[0] = 0;
	jit[0] = 0;
	ATF_CHECK_EQ(reorder_wait_for(rtt, jit, 1), REORDER_WAIT_MIN);
	ATF_CHECK_EQ(reorder_wait_for(rtt, jit, 0), REORDER_WAIT_MIN);
	/* 10 ms and 30 ms, 1 ms of jitter: 2 x 20 + 4 x 1 + the least */
	rtt[0] = 10000;
	rtt[1] = 30000;
	jit[0] = 500;
	jit[1] = 1000;
	ATF_CHECK_EQ(reorder_wait_for(rtt, jit, 2),
	    40000 + 4000 + REORDER_WAIT_MIN);
	/* a pipe not measured yet does not count */
	rtt[2] = 0;
	jit[2] = 0;
	ATF_CHECK_EQ(reorder_wait_for(rtt, jit, 3),
	    40000 + 4000 + REORDER_WAIT_MIN);
	/* bounded */
	rtt[1] = 500000;
	ATF_CHECK_EQ(reorder_wait_for(rtt, jit, 2), REORDER_WAIT_MAX);
}

/*
 * The deadline is always the arrival of the oldest frame held plus the
 * wait, however the frames come, go and are given up: checked against
 * the frames held as this test sees them, after every step of a long
 * stream over a small window (so that the ring of arrivals wraps and
 * is compacted many times), with a burst of frames far ahead now and
 * then and the clock run past the deadline at times.
 */
ATF_TC_WITHOUT_HEAD(deadline_oldest);
ATF_TC_BODY(deadline_oldest, tc)
{
	enum { WIN = 32, STEPS = 6000 };
	struct reorder	*r = mk(WIN, 1 << 20, 5000);
	static int64_t	 at[OUT_MAX * 2];
	static int	 held[OUT_MAX * 2];
	uint64_t	 base = 1000, seq, k;
	int64_t		 now = 1, want, dl;
	size_t		 seen = 0;
	int		 step, rc;

	srandom(7);
	for (step = 0; step < STEPS; step++) {
		now += 1 + random() % 300;
		if (random() % 50 == 0)
			seq = base + WIN + random() % WIN;	/* far ahead */
		else
			seq = base + random() % (WIN / 2);
		if (seq >= OUT_MAX * 2)
			break;
		if (held[seq])
			continue;
		if (random() % 40 == 0)
			reorder_expire(r, now + 6000);
		else {
			rc = put(r, seq, 64, now);
			ATF_REQUIRE(rc != -1);
			if (rc == 1) {
				held[seq] = 1;
				at[seq] = now;
			}
		}
		/* what came out is no longer held */
		for (; seen < nout; seen++)
			held[out[seen]] = 0;
		if (nout > OUT_MAX - 100)
			break;
		want = -1;
		for (k = 0; k < OUT_MAX * 2; k++)
			if (held[k] && (want == -1 || at[k] < want))
				want = at[k];
		dl = reorder_deadline(r);
		if (want == -1)
			ATF_REQUIRE_EQ_MSG(dl, -1, "step %d: nothing held, "
			    "deadline %lld", step, (long long)dl);
		else
			ATF_REQUIRE_EQ_MSG(dl, want + 5000, "step %d: deadline "
			    "%lld, oldest held came at %lld", step,
			    (long long)dl, (long long)want);
		if (base < seq)
			base = seq - random() % 4;
	}
	ATF_REQUIRE_MSG(step > STEPS / 2, "only %d steps", step);
	reorder_free(r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, in_order);
	ATF_TP_ADD_TC(tp, swapped);
	ATF_TP_ADD_TC(tp, gap_given_up);
	ATF_TP_ADD_TC(tp, given_up_never_held);
	ATF_TP_ADD_TC(tp, lost_below);
	ATF_TP_ADD_TC(tp, hold_evens_paths);
	ATF_TP_ADD_TC(tp, bound_frames);
	ATF_TP_ADD_TC(tp, bound_bytes);
	ATF_TP_ADD_TC(tp, flush);
	ATF_TP_ADD_TC(tp, skip);
	ATF_TP_ADD_TC(tp, shuffled_stream);
	ATF_TP_ADD_TC(tp, wait_follows_rtt);
	ATF_TP_ADD_TC(tp, deadline_oldest);
	return (atf_no_error());
}
