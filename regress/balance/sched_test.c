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
 * Unit tests of the balance scheduler (sched.c): frames spread in
 * proportion to the estimates, by bytes and evenly; the estimates
 * follow the reports (full when lossy, growing when not); a pipe not
 * up, suspect, too long or too slow gets nothing; and a simulated pair
 * of unequal links converges on their rates.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

static struct sched_pipe	 sp[4];
static struct sched_pipe	*spp[4] = { &sp[0], &sp[1], &sp[2], &sp[3] };

static void
setup(int n)
{
	int	 i;

	memset(sp, 0, sizeof(sp));
	for (i = 0; i < n; i++) {
		sp[i].usable = 1;
		sp[i].rtt_us = 10000;	/* no least RTT yet */
	}
}

/* a report: what the far side got, what went, the loss */
static void
report(int i, uint64_t rx, uint64_t tx, uint32_t loss)
{
	sp[i].rate_rx = rx;
	sp[i].rate_tx = tx;
	sp[i].rate_loss = loss;
	sp[i].rate_gen++;
}

/* bytes given to each pipe over count frames of len */
static void
spread(int n, int count, size_t len, uint64_t *bytes)
{
	int	 i, k;

	for (i = 0; i < n; i++)
		bytes[i] = 0;
	for (k = 0; k < count; k++) {
		i = sched_pick(spp, n, len);
		ATF_REQUIRE(i >= 0 && i < n);
		bytes[i] += len;
	}
}

ATF_TC_WITHOUT_HEAD(equal_unknown);
ATF_TC_BODY(equal_unknown, tc)
{
	uint64_t	 b[2];
	int		 k, last = -1, runs = 0;

	setup(2);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	ATF_CHECK_EQ(sp[0].share, 500);
	ATF_CHECK_EQ(sp[1].share, 500);
	spread(2, 1000, 1500, b);
	ATF_CHECK_EQ(b[0], b[1]);
	/* evenly: they take turns, no bursts */
	for (k = 0; k < 100; k++) {
		int i = sched_pick(spp, 2, 1500);

		if (i != last)
			runs++;
		last = i;
	}
	ATF_CHECK(runs >= 99);
}

ATF_TC_WITHOUT_HEAD(proportional_bytes);
ATF_TC_BODY(proportional_bytes, tc)
{
	uint64_t	 b[3], tot;
	int		 k, i;

	setup(3);
	sp[0].cap = 12500000;	/* 100 Mbit/s */
	sp[1].cap = 6250000;	/* 50 */
	sp[2].cap = 1250000;	/* 10 */
	for (i = 0; i < 3; i++)
		sp[i].capped = 1;	/* all measured full */
	ATF_CHECK_EQ(sched_update(spp, 3, 0), 3);
	ATF_CHECK_EQ(sp[0].share, 625);
	ATF_CHECK_EQ(sp[1].share, 312);
	ATF_CHECK_EQ(sp[2].share, 62);
	/* mixed sizes: the bytes follow the shares, not the frames */
	for (i = 0; i < 3; i++)
		b[i] = 0;
	for (k = 0; k < 20000; k++) {
		size_t len = k % 3 == 0 ? 1500 : 66;

		i = sched_pick(spp, 3, len);
		ATF_REQUIRE(i >= 0);
		b[i] += len;
	}
	tot = b[0] + b[1] + b[2];
	ATF_CHECK(b[0] * 1000 / tot >= 615 && b[0] * 1000 / tot <= 635);
	ATF_CHECK(b[1] * 1000 / tot >= 302 && b[1] * 1000 / tot <= 322);
	ATF_CHECK(b[2] * 1000 / tot >= 52 && b[2] * 1000 / tot <= 72);
}

ATF_TC_WITHOUT_HEAD(suspect_leaves_at_once);
ATF_TC_BODY(suspect_leaves_at_once, tc)
{
	uint64_t	 b[2];

	setup(2);
	sched_update(spp, 2, 0);
	/* goes suspect: from the next frame on, nothing for it */
	sp[1].usable = 0;
	sp[1].suspect = 1;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_STATE);
	ATF_CHECK_EQ(sp[1].share, 0);
	ATF_CHECK_EQ(sp[0].share, 1000);
	spread(2, 100, 1500, b);
	ATF_CHECK_EQ(b[1], 0);
	/* none left: nothing picked */
	sp[0].usable = 0;
	sp[0].suspect = 1;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 0);
	ATF_CHECK_EQ(sched_pick(spp, 2, 1500), -1);
	/* back: it shares again */
	sp[0].usable = sp[1].usable = 1;
	sp[0].suspect = sp[1].suspect = 0;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	spread(2, 100, 1500, b);
	ATF_CHECK_EQ(b[0], b[1]);
}

ATF_TC_WITHOUT_HEAD(long_pipe_left_out);
ATF_TC_BODY(long_pipe_left_out, tc)
{
	const uint32_t	 far = 20000 + SCHED_RTT_SPREAD + 5000;

	setup(2);
	sched_rtt(&sp[0], 20000, 0);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD + 1, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_RTT);
	ATF_CHECK_EQ(sp[1].weight, 0);
	/* within the spread it is in */
	setup(2);
	sched_rtt(&sp[0], 20000, 0);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	/* a path that got longer is followed within two windows */
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD + 5000, 1);
	ATF_CHECK_EQ(sched_update(spp, 2, 1), 2);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD + 5000,
	    SCHED_RTT_WINDOW + 1);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD + 5000,
	    2 * SCHED_RTT_WINDOW + 2);
	ATF_CHECK_EQ(sched_update(spp, 2, 2 * SCHED_RTT_WINDOW + 2), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_RTT);
	/*
	 * A TCP keeps the best pipe's queue full for long: its least RTT
	 * lately grows near the long pipe's, which the RTT of the paths
	 * still keeps out, until the queue has stood for two path windows.
	 */
	setup(2);
	sched_rtt(&sp[0], 20000, 0);
	sched_rtt(&sp[1], far, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	sched_rtt(&sp[0], 50000, SCHED_RTT_WINDOW + 1);
	sched_rtt(&sp[0], 50000, 2 * SCHED_RTT_WINDOW + 2);
	ATF_CHECK_EQ(sp[0].rtt_base, 50000);
	ATF_CHECK_EQ(sp[0].rtt_path, 20000);
	ATF_CHECK_EQ(sched_update(spp, 2, 2 * SCHED_RTT_WINDOW + 2), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_RTT);
	sched_rtt(&sp[0], 50000, SCHED_PATH_WINDOW + 1);
	sched_rtt(&sp[0], 50000, 2 * SCHED_PATH_WINDOW + 2);
	sched_rtt(&sp[1], far, 2 * SCHED_PATH_WINDOW + 2);
	ATF_CHECK_EQ(sp[0].rtt_path, 50000);
	ATF_CHECK_EQ(sched_update(spp, 2, 2 * SCHED_PATH_WINDOW + 2), 2);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_IN);
	/* and a queue that fills for a moment does not take it out */
	setup(2);
	sched_rtt(&sp[0], 20000, 0);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD - 10000, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	sched_rtt(&sp[1], sp[1].rtt_us + 50000, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_IN);
}

/*
 * While the short pipe is suspect, the long one stays out: no pipe has
 * a share (the engine sends as failover mode does) rather than the
 * whole flow on the long pipe.  Once the short one is down, the long
 * one carries it all.
 */
ATF_TC_WITHOUT_HEAD(suspect_keeps_long_out);
ATF_TC_BODY(suspect_keeps_long_out, tc)
{
	setup(2);
	sched_rtt(&sp[0], 20000, 0);
	sched_rtt(&sp[1], 20000 + SCHED_RTT_SPREAD + 60000, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	sp[0].usable = 0;
	sp[0].suspect = 1;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 0);
	ATF_CHECK_EQ(sp[0].excluded, SCHED_EX_STATE);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_RTT);
	ATF_CHECK_EQ(sched_pick(spp, 2, 1500), -1);
	/* answers again: the short one alone */
	sp[0].usable = 1;
	sp[0].suspect = 0;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	ATF_CHECK_EQ(sched_pick(spp, 2, 1500), 0);
	/* down: the long one is the best there is */
	sp[0].usable = 0;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_IN);
	ATF_CHECK_EQ(sched_pick(spp, 2, 1500), 1);
}

ATF_TC_WITHOUT_HEAD(slow_pipe_left_out);
ATF_TC_BODY(slow_pipe_left_out, tc)
{
	setup(2);
	sp[0].cap = 12500000;
	sp[1].cap = 250000;	/* 2 Mbit/s beside 100: under 5 % */
	sp[1].capped = 1;	/* measured full */
	ATF_CHECK_EQ(sched_update(spp, 2, 1000), 1);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_SLOW);
	ATF_CHECK_EQ(sched_update(spp, 2, 1000 + SCHED_RETRY - 1), 1);
	/* tried again after SCHED_RETRY, with a share to measure with */
	ATF_CHECK_EQ(sched_update(spp, 2, 1000 + SCHED_RETRY), 2);
	ATF_CHECK(sp[1].share > 0);
}

/*
 * A standby pipe's first estimate comes from a window in which it
 * carried next to nothing: it is a floor, not what the pipe can carry,
 * and must not hold it out of the balance as slow.
 */
ATF_TC_WITHOUT_HEAD(idle_estimate_not_slow);
ATF_TC_BODY(idle_estimate_not_slow, tc)
{
	setup(2);
	/* 0 is full at 24 MB/s; 1 carried 300 kB/s of a small share */
	report(0, 24000000, 25000000, 20000);
	report(1, 300000, 300000, 0);
	ATF_CHECK_EQ(sched_update(spp, 2, 1000), 2);
	ATF_CHECK_EQ(sp[1].cap, 375000);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_IN);
	/* it weighs as a pipe not measured yet: half the mean */
	ATF_CHECK_MSG(sp[1].share >= 150, "share %u", sp[1].share);
	/* it carries that share without loss: its estimate follows */
	report(0, 20000000, 20000000, 0);
	report(1, 6000000, 6000000, 0);
	sched_update(spp, 2, 1200);
	ATF_CHECK_EQ(sp[1].cap, 7500000);
	/* once full, what it carried is what it carries */
	report(1, 1000000, 1500000, 300000);
	sched_update(spp, 2, 1400);
	ATF_CHECK_EQ(sp[1].cap, 1000000);
	ATF_CHECK_EQ(sp[1].excluded, SCHED_EX_SLOW);
}

ATF_TC_WITHOUT_HEAD(estimates);
ATF_TC_BODY(estimates, tc)
{
	setup(2);
	/* little traffic: nothing learned */
	report(0, 1000, 1000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 0);
	/* not yet full: used near its estimate, it grows by a quarter */
	report(0, 4000000, 4000000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 5000000);
	/* lossy: full, what got through is what it carries */
	report(0, 4000000, 5500000, 20000);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 4000000);
	/* used near it without loss: once full, it grows by a sixteenth */
	report(0, 3800000, 3800000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 4250000);
	/* used well below it: stays */
	report(0, 2000000, 2000000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 4250000);
	/* the same report twice counts once */
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 4250000);
	/* an unknown pipe starts at half the known ones' mean */
	ATF_CHECK_EQ(sp[1].cap, 0);
	ATF_CHECK_EQ(sp[0].share, 666);
	ATF_CHECK_EQ(sp[1].share, 333);
}

ATF_TC_WITHOUT_HEAD(grows_beside_full);
ATF_TC_BODY(grows_beside_full, tc)
{
	setup(2);
	sp[0].cap = 12500000;
	sp[1].cap = 2500000;
	/* 0 is full; 1 carries half its estimate, not lost: it grows */
	report(0, 10000000, 10500000, 40000);
	report(1, 1250000, 1250000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 10000000);
	ATF_CHECK_EQ(sp[1].cap, 3125000);
	/* a queue on 0 (its RTT up, no loss) is full as well */
	sched_rtt(&sp[0], 10000, 0);
	sched_rtt(&sp[0], 10000 + SCHED_QUEUE + 10000 / 8 + 100, 0);
	report(0, 9000000, 9000000, 0);
	report(1, 1600000, 1600000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[0].cap, 9000000);
	ATF_CHECK_EQ(sp[1].cap, 3125000 * 5 / 4);
	sched_rtt(&sp[0], 10000, 0);
	sp[0].rtt_base = 10000;
	sp[1].cap = 3125000;
	/* with nobody full, the same report leaves it */
	report(0, 5000000, 5000000, 0);
	report(1, 1600000, 1600000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[1].cap, 3125000);
	/* nor, beside a full one, when it carries less than half */
	report(0, 5000000, 5000000, 40000);
	report(1, 1500000, 1500000, 0);
	sched_update(spp, 2, 0);
	ATF_CHECK_EQ(sp[1].cap, 3125000);
}

ATF_TC_WITHOUT_HEAD(first_starts_ahead);
ATF_TC_BODY(first_starts_ahead, tc)
{
	uint64_t	 b[2];

	/* nothing measured: the most preferred pipe carries 2 in 3 */
	setup(2);
	sp[1].first = 1;
	ATF_CHECK_EQ(sched_update(spp, 2, 0), 2);
	ATF_CHECK_EQ(sp[1].share, 666);
	spread(2, 999, 1000, b);
	ATF_CHECK_EQ(b[1], 2 * b[0]);
}

/*
 * Two links, 100 and 50 Mbit/s, under a sender that behaves like TCP:
 * it sends a tenth more each window without loss and a third less
 * after one; what a link gets above its rate is lost.  Starting from
 * equal shares, the shares reach the rates, so that the sender is not
 * held to twice the slower link.
 */
ATF_TC_WITHOUT_HEAD(converges_unequal);
ATF_TC_BODY(converges_unequal, tc)
{
	const uint64_t	 rate[2] = { 12500000, 6250000 };
	uint64_t	 offered = 1000000, tx, rx, got, best = 0;
	uint32_t	 loss;
	int		 w, i, lossy;

	setup(2);
	sched_update(spp, 2, 0);
	for (w = 0; w < 150; w++) {
		lossy = 0;
		got = 0;
		for (i = 0; i < 2; i++) {
			tx = offered * sp[i].share / 1000;
			rx = tx < rate[i] ? tx : rate[i];
			loss = tx > rx ? (tx - rx) * 1000000 / tx : 0;
			if (loss > 0)
				lossy = 1;
			got += rx;
			report(i, rx, tx, loss);
		}
		if (w >= 100 && got > best)
			best = got;
		offered = lossy ? offered * 2 / 3 : offered * 11 / 10;
		sched_update(spp, 2, w * 200);
	}
	ATF_CHECK_MSG(sp[0].share >= 580 && sp[0].share <= 750,
	    "share of the 100 Mbit/s link %u", sp[0].share);
	/* well above twice the slower link (12.5 MB/s) */
	ATF_CHECK_MSG(best >= 15000000, "at best %llu bytes/s",
	    (unsigned long long)best);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, equal_unknown);
	ATF_TP_ADD_TC(tp, proportional_bytes);
	ATF_TP_ADD_TC(tp, suspect_leaves_at_once);
	ATF_TP_ADD_TC(tp, long_pipe_left_out);
	ATF_TP_ADD_TC(tp, suspect_keeps_long_out);
	ATF_TP_ADD_TC(tp, slow_pipe_left_out);
	ATF_TP_ADD_TC(tp, idle_estimate_not_slow);
	ATF_TP_ADD_TC(tp, estimates);
	ATF_TP_ADD_TC(tp, first_starts_ahead);
	ATF_TP_ADD_TC(tp, grows_beside_full);
	ATF_TP_ADD_TC(tp, converges_unequal);
	return (atf_no_error());
}
