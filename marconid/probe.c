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

#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "endian-compat.h"
#include "marconid.h"

/*
 * What the probes with echo (doc/wire.md section 5.4) decide without
 * the pipe around them, so that a unit test reaches it
 * (regress/probe): the layout of the datagram, the round trip with
 * the peer's hold taken out, and what to do with a probe received.
 */

void
probe_echo_pack(const struct probe_echo *pe, struct wire_probe_echo *w)
{
	w->seq = htonl(pe->seq);
	w->flags = htonl(pe->flags);
	w->sent_us = htobe64(pe->sent_us);
	w->echo_seq = htonl(pe->echo_seq);
	w->held_us = htonl(pe->held_us);
	w->echo_us = htobe64(pe->echo_us);
}

void
probe_echo_unpack(const struct wire_probe_echo *w, struct probe_echo *pe)
{
	pe->seq = ntohl(w->seq);
	pe->flags = ntohl(w->flags);
	pe->sent_us = be64toh(w->sent_us);
	pe->echo_seq = ntohl(w->echo_seq);
	pe->held_us = ntohl(w->held_us);
	pe->echo_us = be64toh(w->echo_us);
}

/*
 * The round trip of one of our probes, answered at now_us: the time
 * the peer held it waiting for its own probe is not the path's.  A
 * hold longer than the whole (a peer that lies, or a clock that went
 * back) gives 0, as a reply from the future does.
 */
int64_t
probe_rtt(uint64_t now_us, uint64_t sent_us, uint32_t held_us)
{
	if (now_us < sent_us || now_us - sent_us < held_us)
		return (0);
	return ((int64_t)(now_us - sent_us - held_us));
}

/*
 * Whether this side may hold a probe's echo for its own next probe at
 * all: its probes go at most every interval, and the follower's grace
 * after them (a quarter interval) comes on top, so the hold is at most
 * that; it must stay within PROBE_HOLD_MAX, which the prober counts on
 * (its loss waits that much longer for a prompted probe), and within
 * half the timeout, so that a held answer is not taken for a lost one
 * by a peer timed as we are.
 */
int
probe_can_hold(uint32_t interval, uint32_t timeout)
{
	uint32_t	 most = interval + PROBE_GRACE(interval);

	return (most <= PROBE_HOLD_MAX && 2 * most <= timeout);
}

/*
 * Whether the path is quiet enough to hold: where the round trip
 * varies by more than a sixteenth of the interval (RFC 3550's jitter,
 * without the holds), the order of a probe and a timer flips from one
 * interval to the next, and a held answer would come now early, now an
 * interval late: the gaps between answers, which set the times to
 * suspect and to find down, would grow by more than the path's own.
 * Below a thirty-second the holds come back; between, as before.
 */
int
probe_quiet(int quiet, int64_t jitter_us, uint32_t interval)
{
	if (jitter_us * 16 > (int64_t)interval * 1000)
		return (0);
	if (jitter_us * 32 < (int64_t)interval * 1000)
		return (1);
	return (quiet);
}

/*
 * A probe received from a peer that takes probes with echo, while
 * nothing is held (what was is sent first):
 *
 * - a prompted probe, which the peer sent at once on one of ours: the
 *   peer keeps in step with us, and our next probe answers it;
 * - else, when our own probe is at least half due, it goes now and
 *   answers this one, prompted: we keep in step with the peer;
 * - else our next probe answers it too: the two sides probe on their
 *   timers, each holding the other's;
 * - but a probe that comes just after ours went on the timer because
 *   the peer's was late (late: we had sent prompted, and waited the
 *   grace in vain) gets a plain reply, as from an older peer: held, it
 *   would be answered a whole interval later than the one before.
 *
 * Between sides of unequal rank (probe_rank()) the leader holds what
 * it can and replies to the rest, never sending early, and the
 * follower sends its probe at once on each of the leader's that was
 * not itself prompted.
 *
 * So, at equal intervals, each side sends one datagram per interval:
 * either one probes on its timer and holds the other's probe for its
 * next, and the other answers each at once with its own, or both
 * probe on their timers and hold.  Which probes are held stays the
 * same from one interval to the next, so the gaps between answers
 * stay one interval.
 */
enum probe_action
probe_decide(int prompted, int can_hold, int late, int64_t since_tx,
    uint32_t interval, int rank)
{
	if (prompted && can_hold)
		return (PROBE_HOLD);
	if (rank > 0)
		return (can_hold ? PROBE_HOLD : PROBE_REPLY);
	if (rank < 0 && !prompted)
		return (PROBE_SEND);
	if (since_tx >= interval / 2)
		return (PROBE_SEND);
	if (can_hold && !late)
		return (PROBE_HOLD);
	return (PROBE_REPLY);
}

/*
 * Which side of a pipe keeps the time: the side whose uplink process
 * has more pipes leads (1), the other follows (-1); equals, or a peer
 * that has not said (0), keep the rules of probe_decide() without a
 * rank.  A hub's uplink then sends the probes of all its pipes on one
 * timer, and each spoke answers at once with its own: one wake-up of
 * the hub serves all its pipes, where each pipe's own timer and each
 * spoke's would wake it twice a pipe and interval.
 */
int
probe_rank(uint32_t mine, uint32_t theirs)
{
	if (theirs == 0 || mine == theirs)
		return (0);
	return (mine > theirs ? 1 : -1);
}

/*
 * When our next probe is due, after the last at last_tx (ms): an
 * interval later; a grace later again when ours was prompted, for the
 * peer's next to come first.  A leader's probes go on a grid of the
 * interval, the same for all its pipes of that interval: the first
 * point of it at least three quarters of an interval after the last,
 * which is the next point when the last went on time, a little early
 * or late.
 */
int64_t
probe_due(int64_t last_tx, uint32_t interval, int prompted, int rank)
{
	int64_t		 due, r;

	if (interval == 0)
		return (last_tx);
	if (rank > 0) {
		due = last_tx + interval - interval / 4;
		r = due % interval;
		if (r < 0)
			r += interval;
		return (r == 0 ? due : due + interval - r);
	}
	due = last_tx + interval;
	if (prompted)
		due += PROBE_GRACE(interval);
	return (due);
}
