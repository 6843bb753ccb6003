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
 * Unit tests of the probes with echo (probe.c, doc/wire.md section
 * 5.4): the datagram's layout byte for byte, the round trip with the
 * peer's hold taken out, when a side may hold at all, and what it does
 * with a probe; and, simulated, that two sides at equal intervals end
 * up sending one datagram each per interval.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

ATF_TC_WITHOUT_HEAD(layout);
ATF_TC_BODY(layout, tc)
{
	static const uint8_t	 want[32] = {
		0x01, 0x02, 0x03, 0x04,			/* seq */
		0x00, 0x00, 0x00, 0x02,			/* flags: prompted */
		0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a,	/* time */
		0xfe, 0xdc, 0xba, 0x98,			/* echo seq */
		0x00, 0x00, 0x61, 0xa8,			/* held: 25000 us */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,	/* echo time */
	};
	struct probe_echo	 pe, back;
	struct wire_probe_echo	 w;

	ATF_REQUIRE_EQ(sizeof(w), 32);
	memset(&pe, 0, sizeof(pe));
	pe.seq = 0x01020304;
	pe.flags = PROBE_PROMPTED;
	pe.sent_us = 0x123456789aULL;
	pe.echo_seq = 0xfedcba98;
	pe.held_us = 25000;
	pe.echo_us = 0x1122334455667788ULL;
	probe_echo_pack(&pe, &w);
	ATF_REQUIRE(memcmp(&w, want, sizeof(want)) == 0);
	probe_echo_unpack(&w, &back);
	ATF_REQUIRE(memcmp(&pe, &back, sizeof(pe)) == 0);
}

ATF_TC_WITHOUT_HEAD(rtt_without_hold);
ATF_TC_BODY(rtt_without_hold, tc)
{
	/* sent at 1 s, answered at 1.030 s after a hold of 22 ms: 8 ms */
	ATF_REQUIRE_EQ(probe_rtt(1030000, 1000000, 22000), 8000);
	/* a reply: nothing held */
	ATF_REQUIRE_EQ(probe_rtt(1030000, 1000000, 0), 30000);
	/* a hold longer than the whole, or an answer before the probe */
	ATF_REQUIRE_EQ(probe_rtt(1030000, 1000000, 40000), 0);
	ATF_REQUIRE_EQ(probe_rtt(1000000, 1030000, 0), 0);
	ATF_REQUIRE_EQ(probe_rtt(1000000, 1000000, UINT32_MAX), 0);
}

ATF_TC_WITHOUT_HEAD(can_hold);
ATF_TC_BODY(can_hold, tc)
{
	/* the defaults: 25 ms, 100 ms */
	ATF_REQUIRE(probe_can_hold(25, 100));
	/* interval and grace above PROBE_HOLD_MAX */
	ATF_REQUIRE(probe_can_hold(40, 100));
	ATF_REQUIRE(!probe_can_hold(41, 200));
	ATF_REQUIRE(!probe_can_hold(1000, 3000));
	/* a timeout too short for a held answer */
	ATF_REQUIRE(!probe_can_hold(25, 60));
	ATF_REQUIRE(probe_can_hold(10, 25));
}

ATF_TC_WITHOUT_HEAD(quiet);
ATF_TC_BODY(quiet, tc)
{
	/* 25 ms: no hold above 1562 us of jitter, again below 781 us */
	ATF_REQUIRE_EQ(probe_quiet(1, 1500, 25), 1);
	ATF_REQUIRE_EQ(probe_quiet(1, 1600, 25), 0);
	ATF_REQUIRE_EQ(probe_quiet(0, 1000, 25), 0);
	ATF_REQUIRE_EQ(probe_quiet(0, 700, 25), 1);
	ATF_REQUIRE_EQ(probe_quiet(1, 0, 10), 1);
	ATF_REQUIRE_EQ(probe_quiet(1, 12000, 25), 0);
}

ATF_TC_WITHOUT_HEAD(decide);
ATF_TC_BODY(decide, tc)
{
	/* a prompted probe is held, however soon after ours */
	ATF_REQUIRE_EQ(probe_decide(1, 1, 0, 0, 25, 0), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(1, 1, 0, 24, 25, 0), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(1, 1, 1, 1, 25, 0), PROBE_HOLD);
	/* unless this side may not hold */
	ATF_REQUIRE_EQ(probe_decide(1, 0, 0, 0, 100, 0), PROBE_REPLY);
	ATF_REQUIRE_EQ(probe_decide(1, 0, 0, 50, 100, 0), PROBE_SEND);
	/* one on the peer's timer: ours goes if half due, else held */
	ATF_REQUIRE_EQ(probe_decide(0, 1, 0, 12, 25, 0), PROBE_SEND);
	ATF_REQUIRE_EQ(probe_decide(0, 1, 0, 11, 25, 0), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(0, 1, 0, 0, 25, 0), PROBE_HOLD);
	/* just after ours went on the timer, the peer's late: a reply */
	ATF_REQUIRE_EQ(probe_decide(0, 1, 1, 1, 25, 0), PROBE_REPLY);
	ATF_REQUIRE_EQ(probe_decide(0, 1, 1, 13, 25, 0), PROBE_SEND);
	ATF_REQUIRE_EQ(probe_decide(0, 0, 0, 1, 200, 0), PROBE_REPLY);

	/* a leader never sends early: it holds, or replies */
	ATF_REQUIRE_EQ(probe_decide(1, 1, 0, 20, 25, 1), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(0, 1, 0, 20, 25, 1), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(0, 1, 1, 20, 25, 1), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(1, 0, 0, 20, 25, 1), PROBE_REPLY);
	ATF_REQUIRE_EQ(probe_decide(0, 0, 0, 20, 25, 1), PROBE_REPLY);
	/* a follower answers the leader's timer at once, however soon */
	ATF_REQUIRE_EQ(probe_decide(0, 1, 0, 0, 25, -1), PROBE_SEND);
	ATF_REQUIRE_EQ(probe_decide(0, 0, 1, 1, 25, -1), PROBE_SEND);
	/* and a prompted one as equals do: never a prompted on a prompted */
	ATF_REQUIRE_EQ(probe_decide(1, 1, 0, 0, 25, -1), PROBE_HOLD);
	ATF_REQUIRE_EQ(probe_decide(1, 0, 0, 0, 100, -1), PROBE_REPLY);
}

ATF_TC_WITHOUT_HEAD(rank);
ATF_TC_BODY(rank, tc)
{
	ATF_REQUIRE_EQ(probe_rank(32, 1), 1);
	ATF_REQUIRE_EQ(probe_rank(1, 32), -1);
	ATF_REQUIRE_EQ(probe_rank(2, 2), 0);
	/* a peer that has not said */
	ATF_REQUIRE_EQ(probe_rank(32, 0), 0);
}

ATF_TC_WITHOUT_HEAD(due);
ATF_TC_BODY(due, tc)
{
	/* equals and followers: an interval, and a grace after a prompted */
	ATF_REQUIRE_EQ(probe_due(1000, 25, 0, 0), 1025);
	ATF_REQUIRE_EQ(probe_due(1000, 25, 1, 0), 1031);
	ATF_REQUIRE_EQ(probe_due(1003, 25, 1, -1), 1034);
	/* a leader: the grid of 25 ms, whatever the phase it came from */
	ATF_REQUIRE_EQ(probe_due(1000, 25, 0, 1), 1025);
	ATF_REQUIRE_EQ(probe_due(998, 25, 0, 1), 1025);
	ATF_REQUIRE_EQ(probe_due(1004, 25, 0, 1), 1025);
	ATF_REQUIRE_EQ(probe_due(1007, 25, 0, 1), 1050);
	ATF_REQUIRE_EQ(probe_due(1012, 25, 1, 1), 1050);
	ATF_REQUIRE_EQ(probe_due(-1000, 25, 0, 1), -975);
	ATF_REQUIRE_EQ(probe_due(-1001, 25, 0, 1), -975);
	ATF_REQUIRE_EQ(probe_due(-990, 25, 0, 1), -950);
	/* two pipes out of step: one moment after the first probe each */
	ATF_REQUIRE_EQ(probe_due(1001, 25, 0, 1), probe_due(1013, 25, 0, 1) -
	    25);
	ATF_REQUIRE_EQ(probe_due(1020, 25, 0, 1), probe_due(1030, 25, 0, 1));
}

/*
 * Two sides at 25 ms, 1 ms apart each way, their timers out of step
 * at first: after a few intervals each sends one datagram per interval
 * and no reply, every probe answered, every answer one interval after
 * the one before, and each round trip without the hold 2 ms.
 */
struct side {
	int64_t		 last_tx;	/* ms */
	int		 prompted;	/* our last went at once */
	int		 late;
	int		 holding;
	uint32_t	 hold_seq;	/* the peer's probe held */
	int64_t		 hold_sent, hold_at;
	int64_t		 sent[1024];	/* by seq, -1: answered */
	uint32_t	 seq;
	int		 datagrams, replies;
	int		 offgrid;	/* a leader's, off the interval's grid */
	int		 unprompted;	/* a follower's, on its timer */
	int64_t		 last_answer, gap_min, gap_max, rtt_min, rtt_max;
};

struct msg {
	int64_t		 at;		/* arrival */
	int		 to;
	int		 kind;		/* 3, 4 or 6 */
	uint32_t	 seq;
	int64_t		 sent;
	int		 prompted;
	uint32_t	 echo_seq;	/* kinds 4 and 6: the probe answered */
	int64_t		 echo_sent;
	int64_t		 held;
};

#define SIM_T		25
#define SIM_D		1
#define SIM_MSGS	4096

static struct side	 sim[2];
static int		 sim_jitter;	/* ms, at most, on the way and the timer */
static struct msg	 q[SIM_MSGS];
static int		 nq;
static int		 counting;
static int		 sim_rank[2];	/* probe_rank() of each side */

static void
sim_push(struct msg *m)
{
	ATF_REQUIRE(nq < SIM_MSGS);
	q[nq++] = *m;
}

static void
sim_send(int i, int64_t now, int prompted)
{
	struct side	*s = &sim[i];
	struct msg	 m;

	memset(&m, 0, sizeof(m));
	m.at = now + SIM_D + (sim_jitter ? random() % (sim_jitter + 1) : 0);
	m.to = !i;
	m.seq = s->seq;
	m.sent = now;
	s->sent[s->seq % 1024] = now;
	s->seq++;
	s->last_tx = now;
	s->prompted = 0;
	s->late = 0;
	if (s->holding) {
		m.kind = 6;
		m.echo_seq = s->hold_seq;
		m.echo_sent = s->hold_sent;
		m.held = now - s->hold_at;
		m.prompted = prompted;
		s->prompted = prompted;
		s->holding = 0;
	} else
		m.kind = 3;
	if (counting) {
		s->datagrams++;
		if (sim_rank[i] > 0 && now % SIM_T != 0)
			s->offgrid++;
		if (sim_rank[i] < 0 && !prompted)
			s->unprompted++;
	}
	sim_push(&m);
}

static void
sim_answer(int i, int64_t now, uint32_t seq, int64_t sent, int64_t held)
{
	struct side	*s = &sim[i];
	int64_t		 rtt;

	if (s->sent[seq % 1024] != sent)
		return;
	s->sent[seq % 1024] = -1;
	rtt = probe_rtt(now * 1000, sent * 1000, held * 1000);
	if (!counting) {
		s->last_answer = now;
		return;
	}
	if (s->last_answer != 0) {
		if (now - s->last_answer < s->gap_min)
			s->gap_min = now - s->last_answer;
		if (now - s->last_answer > s->gap_max)
			s->gap_max = now - s->last_answer;
	}
	s->last_answer = now;
	if (rtt < s->rtt_min)
		s->rtt_min = rtt;
	if (rtt > s->rtt_max)
		s->rtt_max = rtt;
}

static void
sim_probe(int i, int64_t now, uint32_t seq, int64_t sent, int prompted)
{
	struct side	*s = &sim[i];
	struct msg	 m;
	enum probe_action act;

	/* as probe_received() in pipe.c; SIM_OLD: as towards an old peer */
	if (getenv("SIM_OLD") != NULL)
		act = PROBE_REPLY;
	else if (s->holding) {
		sim_send(i, now, 0);
		act = PROBE_REPLY;
	} else
		act = probe_decide(prompted, probe_can_hold(SIM_T, 100),
		    s->late, now - s->last_tx, SIM_T, sim_rank[i]);
	switch (act) {
	case PROBE_HOLD:
	case PROBE_SEND:
		s->holding = 1;
		s->hold_seq = seq;
		s->hold_sent = sent;
		s->hold_at = now;
		if (act == PROBE_SEND)
			sim_send(i, now, 1);
		break;
	case PROBE_REPLY:
		memset(&m, 0, sizeof(m));
		m.at = now + SIM_D +
		    (sim_jitter ? random() % (sim_jitter + 1) : 0);
		m.to = !i;
		m.kind = 4;
		m.echo_seq = seq;
		m.echo_sent = sent;
		if (counting) {
			s->datagrams++;
			s->replies++;
		}
		sim_push(&m);
		break;
	}
}

static void
sim_run(int off)
{
	struct side	*s;
	struct msg	 m;
	int64_t		 now, due;
	int		 i, k, late;

	memset(sim, 0, sizeof(sim));
	for (i = 0; i < 2; i++) {
		sim[i].gap_min = sim[i].rtt_min = INT64_MAX;
		sim[i].last_tx = -1000;
	}
	sim[1].last_tx = -1000 + off;
	nq = 0;
	for (now = 0; now < 4000; now++) {
		counting = now >= 1000;
		/* arrivals first, in order, then the timers */
		for (k = 0; k < nq; k++) {
			if (q[k].at != now)
				continue;
			m = q[k];
			if (m.kind == 4 || m.kind == 6)
				sim_answer(m.to, now, m.echo_seq, m.echo_sent,
				    m.held);
			if (m.kind == 3 || m.kind == 6)
				sim_probe(m.to, now, m.seq, m.sent,
				    m.prompted);
		}
		for (i = 0; i < 2; i++) {
			s = &sim[i];
			due = probe_due(s->last_tx, SIM_T, s->prompted,
			    sim_rank[i]);
			if (sim_jitter)
				due += random() % (sim_jitter + 1);
			if (now >= due) {
				late = s->prompted;
				sim_send(i, now, 0);
				s->late = late;
			}
		}
		/* drop what has arrived */
		for (k = 0, i = 0; k < nq; k++)
			if (q[k].at > now)
				q[i++] = q[k];
		nq = i;
	}
	for (i = 0; i < 2 && sim_jitter; i++) {
		s = &sim[i];
		/* no storm, and answers about once an interval */
		ATF_CHECK_MSG(s->datagrams <= 180,
		    "out of step by %d ms, jitter %d ms: side %d sent %d "
		    "datagrams", off, sim_jitter, i, s->datagrams);
		ATF_CHECK_MSG(s->gap_max <= 2 * SIM_T,
		    "out of step by %d ms, jitter %d ms: side %d: gaps up to "
		    "%lld ms", off, sim_jitter, i, (long long)s->gap_max);
		if (getenv("SIM_SHOW") != NULL)
			printf("off %d jitter %d side %d: %d datagrams, %d "
			    "replies, gaps %lld to %lld ms, rtt %lld to %lld "
			    "us\n", off, sim_jitter, i, s->datagrams,
			    s->replies, (long long)s->gap_min,
			    (long long)s->gap_max, (long long)s->rtt_min,
			    (long long)s->rtt_max);
	}
	for (i = 0; i < 2 && !sim_jitter; i++) {
		s = &sim[i];
		/* 3 s of 25 ms intervals: 120 datagrams, no reply */
		ATF_CHECK_MSG(s->datagrams >= 118 && s->datagrams <= 122,
		    "out of step by %d ms: side %d sent %d datagrams", off,
		    i, s->datagrams);
		ATF_CHECK_MSG(s->replies == 0,
		    "out of step by %d ms: side %d replied %d times", off, i,
		    s->replies);
		ATF_CHECK_MSG(s->gap_min >= SIM_T - 1 &&
		    s->gap_max <= SIM_T + 1,
		    "out of step by %d ms: side %d: gaps %lld to %lld ms",
		    off, i, (long long)s->gap_min, (long long)s->gap_max);
		/* ranked: the leader on its grid, the follower on it */
		ATF_CHECK_MSG(s->offgrid == 0 && s->unprompted == 0,
		    "out of step by %d ms: side %d (rank %d) sent %d off the "
		    "grid, %d on its own timer", off, i, sim_rank[i],
		    s->offgrid, s->unprompted);
		ATF_CHECK_MSG(s->rtt_min == 2 * SIM_D * 1000 &&
		    s->rtt_max == 2 * SIM_D * 1000,
		    "out of step by %d ms: side %d: rtt %lld to %lld us", off,
		    i, (long long)s->rtt_min, (long long)s->rtt_max);
	}
}

/* whatever the timers' phases at the start */
ATF_TC_WITHOUT_HEAD(in_step);
ATF_TC_BODY(in_step, tc)
{
	int	 off;

	sim_jitter = 0;
	for (off = 0; off < SIM_T; off++)
		sim_run(off);
}

/*
 * A hub and a spoke (probe_rank()): whatever the phases at the start,
 * the hub's probes go on the grid of its interval and the spoke's at
 * once on each, one datagram each way per interval, no reply.  Then
 * the same with the sides swapped.
 */
ATF_TC_WITHOUT_HEAD(in_step_ranked);
ATF_TC_BODY(in_step_ranked, tc)
{
	int	 off;

	sim_jitter = 0;
	sim_rank[0] = 1;
	sim_rank[1] = -1;
	for (off = 0; off < SIM_T; off++)
		sim_run(off);
	sim_rank[0] = -1;
	sim_rank[1] = 1;
	for (off = 0; off < SIM_T; off++)
		sim_run(off);
	sim_rank[0] = sim_rank[1] = 0;
}

/*
 * With up to 3 ms of jitter on the way and on the timers, the order of
 * a probe and a timer flips now and then: never a storm of probes
 * answering probes, and no gap of more than two intervals.
 */
ATF_TC_WITHOUT_HEAD(jitter);
ATF_TC_BODY(jitter, tc)
{
	int	 off;

	srandom(7455);
	if (getenv("SIM_JITTER") != NULL) {
		sim_jitter = atoi(getenv("SIM_JITTER"));
		for (off = 0; off < SIM_T; off++)
			sim_run(off);
		return;
	}
	for (sim_jitter = 1; sim_jitter <= 3; sim_jitter++)
		for (off = 0; off < SIM_T; off++)
			sim_run(off);
}

/* the same between a leader and a follower */
ATF_TC_WITHOUT_HEAD(jitter_ranked);
ATF_TC_BODY(jitter_ranked, tc)
{
	int	 off;

	srandom(7456);
	sim_rank[0] = 1;
	sim_rank[1] = -1;
	for (sim_jitter = 1; sim_jitter <= 3; sim_jitter++)
		for (off = 0; off < SIM_T; off++)
			sim_run(off);
	sim_rank[0] = sim_rank[1] = 0;
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, layout);
	ATF_TP_ADD_TC(tp, rtt_without_hold);
	ATF_TP_ADD_TC(tp, can_hold);
	ATF_TP_ADD_TC(tp, quiet);
	ATF_TP_ADD_TC(tp, decide);
	ATF_TP_ADD_TC(tp, rank);
	ATF_TP_ADD_TC(tp, due);
	ATF_TP_ADD_TC(tp, in_step);
	ATF_TP_ADD_TC(tp, in_step_ranked);
	ATF_TP_ADD_TC(tp, jitter);
	ATF_TP_ADD_TC(tp, jitter_ranked);
	return (atf_no_error());
}
