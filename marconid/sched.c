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
 * The balance scheduler of a peer: which of its pipes carries the next
 * frame.  Each pipe has an estimate of what it carries (`cap`, bytes a
 * second), taken from what the far side reports receiving on it, in
 * windows of 200 ms or more (doc/wire.md section 5.6):
 *
 * - SCHED_LOSS_FULL or more of its datagrams lost (the far side counts
 *   them by their counters), or its RTT SCHED_QUEUE and an eighth above
 *   the least seen lately (a queue builds up): the pipe is full, and
 *   what got through is what it carries;
 * - nothing much lost, and used near its estimate (80 % or more), or
 *   at half of it beside a pipe that is full (the flow is held back by
 *   that one): it
 *   may carry more, and the estimate grows per window of 200 ms or
 *   so, so that a pipe's share grows until it loses: by a quarter
 *   until the pipe has been full once, then by a sixteenth, so that
 *   the shares settle near the rates instead of swinging a quarter
 *   above them (the slowest pipe too full, the flow held to it);
 * - used below its estimate: the estimate stays, whatever the traffic;
 *   a pipe not yet measured starts small (unknown_weight()).
 *
 * Until a pipe has been full once, its estimate is only what it was
 * given to carry (a standby pipe in failover mode carries next to
 * nothing, and the first window in balance mode may see little more):
 * it weighs as a pipe not measured yet unless its estimate is larger,
 * and is never left out as slow, so that an estimate taken while idle
 * cannot hold a fast pipe out of the balance.
 *
 * Frames go out in proportion to the estimates, by bytes, with a
 * smooth weighted round robin: each pick adds every pipe's weight
 * times the frame's length to its credit, takes the pipe with the most,
 * and takes the sum of the weights times the length from it.  Over any
 * run of frames each pipe's bytes stay within one frame of its share,
 * and the choice is spread evenly, not in bursts.
 *
 * A pipe is left out when it is not up or suspect (at once: its share
 * goes to the others on the next frame), when its RTT without the
 * queue (the least lately, or the path's, sched_rtt()) is more than
 * SCHED_RTT_SPREAD above the best one of the pipes up or suspect (the
 * far side holds the frames of a shorter pipe for what the longer one
 * takes more one way: every frame would take that long), or when its
 * estimate, once it has been full, is less than SCHED_SLOW_PERMILLE of
 * the sum (it adds less than the reordering costs); a slow pipe is
 * tried again after SCHED_RETRY.  What is left out never makes a flow
 * slower than the best pipe alone.
 *
 * So while every pipe of the spread is suspect (a full queue delays
 * the probes of a busy pipe now and then), a longer pipe does not take
 * the whole flow, which would wait behind its queue and its delay at
 * the far side: no pipe has a share, and the engine sends as failover
 * mode does, on the active pipe with a copy over the next one.
 */

#define SCHED_RATE_JUDGE	(8 * SCHED_RATE_MIN)	/* bytes/s */

/*
 * A queue builds up on the pipe: its RTT now is well above the least
 * seen lately.  A deep buffer (a tbf, a modem) may hold a full line
 * for long without a loss; the queue shows it first.
 */
static int
queued(struct sched_pipe *p)
{
	return (p->rtt_base != 0 && p->rtt_us > p->rtt_base +
	    SCHED_QUEUE + p->rtt_base / 8);
}

static void
estimate(struct sched_pipe *p, int another_full)
{
	if (p->rate_gen == p->seen_gen)
		return;
	p->seen_gen = p->rate_gen;
	if (p->rate_rx == 0 && p->rate_tx == 0)
		return;		/* idle: what it carries is still unknown */
	if (p->rate_tx < SCHED_RATE_JUDGE)
		return;		/* too little to tell loss from noise */
	if (p->full) {
		p->cap = p->rate_rx;
		p->capped = 1;
	} else if (p->rate_rx * 10 >= p->cap * 8 ||
	    (another_full && p->rate_rx * 2 >= p->cap))
		p->cap = (p->cap > p->rate_rx ? p->cap : p->rate_rx) *
		    (p->capped ? 17 : 20) / 16;
	/*
	 * Otherwise it carried less than it is taken to: that says
	 * nothing of what it could (copies of failover mode, a quiet
	 * moment).
	 */
	if (p->cap != 0 && p->cap < SCHED_RATE_MIN)
		p->cap = SCHED_RATE_MIN;
}

/*
 * A pipe not measured yet starts with a smaller share and earns more
 * as it carries it without loss (probing upward): half the mean of the
 * pipes measured, or, when none is, 1 against 2 for the first pipe
 * (the most preferred), so that a flow starts near where the best pipe
 * alone would put it.
 */
static uint64_t
unknown_weight(struct sched_pipe *p, uint64_t known, int nknown)
{
	uint64_t	 start;

	if (p->cap != 0 && p->capped)
		return (p->cap);
	if (nknown > 0)
		start = known / nknown / 2 > 0 ? known / nknown / 2 : 1;
	else
		start = p->first ? 2 : 1;
	return (p->cap > start ? p->cap : start);
}

/* The least RTT of the last window to two windows, with rtt in. */
static uint32_t
least(struct sched_least *l, uint32_t rtt, int64_t now, int64_t window)
{
	if (l->cur == 0 || now - l->bucket >= window) {
		l->prev = l->cur;
		l->cur = rtt;
		l->bucket = now;
	} else if (rtt < l->cur)
		l->cur = rtt;
	return (l->prev != 0 && l->prev < l->cur ? l->prev : l->cur);
}

/*
 * A new RTT of the pipe, in every mode.  The RTT without its queue
 * (rtt_base) is the least seen in the last SCHED_RTT_WINDOW to 2 x
 * SCHED_RTT_WINDOW ms (two buckets), so that a path that got longer is
 * followed: a queue that fills on a busy pipe is no reason to leave it
 * out, and shows that it is full.  The RTT of the path (rtt_path) is
 * the least over SCHED_PATH_WINDOW to twice that: a TCP may keep a
 * line with a deep buffer full for many seconds without draining it,
 * and its least RTT lately is then the path's plus a standing queue.
 */
void
sched_rtt(struct sched_pipe *p, uint32_t rtt, int64_t now)
{
	p->rtt_us = rtt;
	if (rtt == 0)
		return;
	p->rtt_base = least(&p->lately, rtt, now, SCHED_RTT_WINDOW);
	p->rtt_path = least(&p->path, rtt, now, SCHED_PATH_WINDOW);
}

/* Too long beside the best, by its RTT lately or its path's. */
static int
too_long(struct sched_pipe *p, uint32_t best, uint32_t best_path)
{
	return ((best != UINT32_MAX && p->rtt_base > best &&
	    p->rtt_base - best > SCHED_RTT_SPREAD) ||
	    (best_path != UINT32_MAX && p->rtt_path > best_path &&
	    p->rtt_path - best_path > SCHED_RTT_SPREAD));
}

/*
 * New estimates, exclusions and shares; returns how many pipes carry
 * frames.  The credits start over when the set of pipes changes.
 */
int
sched_update(struct sched_pipe **pp, int n, int64_t now)
{
	struct sched_pipe	*p;
	uint64_t		 sum = 0, known = 0, total = 0, w;
	uint32_t		 best = UINT32_MAX, best_path = UINT32_MAX;
	int			 i, nknown = 0, nin = 0, changed = 0, ex;
	int			 nfull = 0;

	/* the pipes whose last window showed them full */
	for (i = 0; i < n; i++) {
		p = pp[i];
		if (p->rate_gen != p->seen_gen)
			p->full = p->rate_tx >= SCHED_RATE_JUDGE &&
			    (p->rate_loss >= SCHED_LOSS_FULL || queued(p));
		if (p->usable && p->full)
			nfull++;
	}
	for (i = 0; i < n; i++) {
		p = pp[i];
		estimate(p, nfull > (p->usable && p->full ? 1 : 0));
		/* a suspect pipe's RTT still says which pipes are long */
		if ((p->usable || p->suspect) && p->rtt_base != 0 &&
		    p->rtt_base < best)
			best = p->rtt_base;
		if ((p->usable || p->suspect) && p->rtt_path != 0 &&
		    p->rtt_path < best_path)
			best_path = p->rtt_path;
		if (p->usable && p->cap != 0) {
			known += p->cap;
			nknown++;
		}
	}
	for (i = 0; i < n; i++) {
		p = pp[i];
		if (p->usable)
			sum += unknown_weight(p, known, nknown);
	}
	for (i = 0; i < n; i++) {
		p = pp[i];
		w = unknown_weight(p, known, nknown);
		if (!p->usable)
			ex = SCHED_EX_STATE;
		else if (too_long(p, best, best_path))
			ex = SCHED_EX_RTT;
		else if (p->capped && sum > 0 &&
		    w * 1000 < sum * SCHED_SLOW_PERMILLE) {
			if (p->excluded != SCHED_EX_SLOW)
				p->slow_since = now;
			if (now - p->slow_since >= SCHED_RETRY) {
				/* a second chance: a share to measure with */
				p->cap = sum * SCHED_SLOW_PERMILLE / 1000 * 2;
				w = p->cap;
				ex = SCHED_IN;
			} else
				ex = SCHED_EX_SLOW;
		} else
			ex = SCHED_IN;
		if (ex != SCHED_IN)
			w = 0;
		if (ex != p->excluded || (w == 0) != (p->weight == 0))
			changed = 1;
		p->excluded = ex;
		p->weight = w;
		total += w;
		if (w != 0)
			nin++;
	}
	for (i = 0; i < n; i++) {
		p = pp[i];
		p->share = total > 0 ? p->weight * 1000 / total : 0;
		/* the weight for sched_pick(): its part in 1/65536 */
		p->quantum = total > 0 && p->weight != 0 ?
		    p->weight * 65536 / total + 1 : 0;
		if (changed)
			p->credit = 0;
	}
	return (nin);
}

/* The pipe for a frame of len bytes, -1 if none carries any. */
int
sched_pick(struct sched_pipe **pp, int n, size_t len)
{
	struct sched_pipe	*p;
	int64_t			 total = 0;
	int			 i, best = -1;

	for (i = 0; i < n; i++) {
		p = pp[i];
		if (p->quantum == 0)
			continue;
		p->credit += (int64_t)p->quantum * len;
		total += p->quantum;
		if (best == -1 || p->credit > pp[best]->credit)
			best = i;
	}
	if (best != -1)
		pp[best]->credit -= total * len;
	return (best);
}
