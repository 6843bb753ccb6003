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
 * Unit tests of the ring of recent frames of failover mode (resend.c):
 * the frames since a moment come back whole, oldest first; the bounds
 * in frames and bytes push out the oldest only; a frame is never split
 * across the end of the block; a random stream of sizes keeps exactly
 * the newest frames that fit.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

#define OUT_MAX		4096

static uint64_t	out[OUT_MAX];
static size_t	nout;

/* Each frame carries its number, then bytes that follow from it. */
static void
collect(void *arg, const uint8_t *frame, size_t len)
{
	uint64_t	seq;
	size_t		i;

	ATF_REQUIRE(len >= sizeof(seq));
	ATF_REQUIRE(nout < OUT_MAX);
	memcpy(&seq, frame, sizeof(seq));
	for (i = sizeof(seq); i < len; i++)
		ATF_REQUIRE_EQ(frame[i], (uint8_t)(seq + i));
	out[nout++] = seq;
}

static void
put(struct resend *r, uint64_t seq, size_t len, int64_t at)
{
	uint8_t	 buf[10000];
	size_t	 i;

	ATF_REQUIRE(len >= sizeof(seq) && len <= sizeof(buf));
	memcpy(buf, &seq, sizeof(seq));
	for (i = sizeof(seq); i < len; i++)
		buf[i] = (uint8_t)(seq + i);
	resend_add(r, buf, len, at);
}

static uint32_t
since(struct resend *r, int64_t at)
{
	nout = 0;
	return (resend_since(r, at, SIZE_MAX, collect, NULL, NULL));
}

ATF_TC_WITHOUT_HEAD(since_time);
ATF_TC_BODY(since_time, tc)
{
	struct resend	*r;
	uint64_t	 i;

	ATF_REQUIRE((r = resend_new(64, 64 * 100)) != NULL);
	ATF_CHECK_EQ(since(r, 0), 0);
	for (i = 0; i < 20; i++)
		put(r, i, 100, 1000 + i);
	ATF_CHECK_EQ(since(r, 1010), 10);
	for (i = 0; i < nout; i++)
		ATF_CHECK_EQ(out[i], 10 + i);
	ATF_CHECK_EQ(since(r, 2000), 0);
	ATF_CHECK_EQ(since(r, 0), 20);
	resend_clear(r);
	ATF_CHECK_EQ(since(r, 0), 0);
	resend_free(r);
}

ATF_TC_WITHOUT_HEAD(bound_frames);
ATF_TC_BODY(bound_frames, tc)
{
	struct resend	*r;
	uint64_t	 i;

	ATF_REQUIRE((r = resend_new(16, 1 << 20)) != NULL);
	for (i = 0; i < 100; i++)
		put(r, i, 64, i);
	ATF_CHECK_EQ(resend_frames(r), 16);
	ATF_CHECK_EQ(since(r, 0), 16);
	for (i = 0; i < nout; i++)
		ATF_CHECK_EQ(out[i], 84 + i);
	resend_free(r);
}

ATF_TC_WITHOUT_HEAD(bound_bytes);
ATF_TC_BODY(bound_bytes, tc)
{
	struct resend	*r;
	uint64_t	 i;

	/* 10 frames of 1000 in 9500 bytes: 9 fit */
	ATF_REQUIRE((r = resend_new(1000, 9500)) != NULL);
	for (i = 0; i < 50; i++)
		put(r, i, 1000, i);
	ATF_CHECK_EQ(since(r, 0), 9);
	for (i = 0; i < nout; i++)
		ATF_CHECK_EQ(out[i], 41 + i);
	/* one larger than the block is not kept, and costs nothing */
	put(r, 50, 9501, 50);
	ATF_CHECK_EQ(since(r, 0), 9);
	/* one as large as the block pushes out every other */
	put(r, 51, 9500, 51);
	ATF_CHECK_EQ(since(r, 0), 1);
	ATF_CHECK_EQ(out[0], 51);
	resend_free(r);
}

/*
 * Frames of random sizes: what comes back is always the newest frames,
 * without a hole, whole, and as many as the block can hold at least
 * when they are laid end to end less the largest frame (what a wrap
 * can waste).
 */
ATF_TC_WITHOUT_HEAD(random_sizes);
ATF_TC_BODY(random_sizes, tc)
{
	struct resend	*r;
	size_t		 len[5000], sum;
	uint64_t	 i, j;
	const size_t	 size = 50000, maxlen = 9000;

	srandom(12);
	ATF_REQUIRE((r = resend_new(1024, size)) != NULL);
	for (i = 0; i < 5000; i++) {
		len[i] = 8 + random() % (maxlen - 8 + 1);
		if (i % 7 == 0)
			len[i] = 8 + random() % 100;
		put(r, i, len[i], i);
		since(r, 0);
		ATF_REQUIRE(nout > 0);
		ATF_REQUIRE_EQ(out[nout - 1], i);
		for (j = 1; j < nout; j++)
			ATF_REQUIRE_EQ(out[j], out[j - 1] + 1);
		/* the one before the oldest would have fitted: kept */
		if (out[0] > 0) {
			sum = 0;
			for (j = out[0] - 1; j <= i; j++)
				sum += len[j];
			ATF_REQUIRE_MSG(sum > size - maxlen,
			    "frame %llu: %zu frames kept, %zu bytes with the "
			    "one before", (unsigned long long)i, nout, sum);
		}
	}
	resend_free(r);
}

/*
 * A limit in bytes sends the newest frames that fit, the oldest of them
 * first, and says how many bytes went; 0 sends nothing.
 */
ATF_TC_WITHOUT_HEAD(budget);
ATF_TC_BODY(budget, tc)
{
	struct resend	*r;
	uint64_t	 i;
	size_t		 bytes;

	ATF_REQUIRE((r = resend_new(64, 64 * 100)) != NULL);
	for (i = 0; i < 10; i++)
		put(r, i, 100, 1000 + (int64_t)i);

	/* 350 bytes: the three newest, 7 8 9, in that order */
	nout = 0;
	ATF_REQUIRE_EQ(resend_since(r, 1000, 350, collect, NULL, &bytes), 3);
	ATF_REQUIRE_EQ(bytes, 300);
	ATF_REQUIRE_EQ(nout, 3);
	for (i = 0; i < 3; i++)
		ATF_REQUIRE_EQ(out[i], 7 + i);

	/* `since` still bounds it when the bytes would allow more */
	nout = 0;
	ATF_REQUIRE_EQ(resend_since(r, 1008, 10000, collect, NULL, &bytes), 2);
	ATF_REQUIRE_EQ(bytes, 200);
	ATF_REQUIRE_EQ(out[0], 8);

	/* less than one frame: nothing */
	nout = 0;
	ATF_REQUIRE_EQ(resend_since(r, 0, 99, collect, NULL, &bytes), 0);
	ATF_REQUIRE_EQ(bytes, 0);
	ATF_REQUIRE_EQ(nout, 0);
	resend_free(r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, since_time);
	ATF_TP_ADD_TC(tp, bound_frames);
	ATF_TP_ADD_TC(tp, bound_bytes);
	ATF_TP_ADD_TC(tp, random_sizes);
	ATF_TP_ADD_TC(tp, budget);
	return (atf_no_error());
}
