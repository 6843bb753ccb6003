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
 * The reorder buffer of balance mode (marconid/reorder.c), driven as
 * the engine drives it with the frame numbers a peer holding the keys
 * may send.  The input is records of 4 bytes: [op][a][b][c].
 *
 * - op & 3 == 0 or 1: a frame numbered base + (a << 8 | b) (base
 *   moves with op & 0x80: the numbers jump far), c x 16 bytes long,
 *   arriving after (op >> 2 & 0x1f) ms; with op & 3 == 1, held
 *   at least c x 100 us (the lead of a shorter pipe);
 * - op & 3 == 2: the time moves on by (a << 8 | b) us and the buffer
 *   expires what waited long enough; the wait becomes c x 500 us;
 * - op & 3 == 3: with a odd, every pipe went past base + (b << 8 | c)
 *   (reorder_lost_below()); with a & 3 == 2, frame base + (b << 8 | c)
 *   came without the balance flag (reorder_skip(): the peer's spread
 *   was suspect, or it left balance mode); with a & 3 == 0, a flush (a
 *   new epoch).
 *
 * The engine's frame window drops copies before the buffer sees them;
 * so does this harness.  What it checks: every frame released was put
 * in and is released once; releases go in increasing order except the
 * ones counted late; the bounds in frames and bytes hold; nothing is
 * held past its deadline once expired; a flush, or a frame without the
 * flag newer than any put in, leaves nothing held.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"
#include "fuzz.h"

#define FRAMES		64
#define BYTES		8192
#define SEQ_SPACE	(1 << 17)	/* numbers the harness tracks */

static uint8_t	 in_set[SEQ_SPACE / 8], out_set[SEQ_SPACE / 8];
static uint64_t	 top;		/* highest released since a flush */
static int	 any;
static uint64_t	 unordered;	/* released below top */

static int
bit(uint8_t *set, uint64_t s)
{
	return (set[(s % SEQ_SPACE) / 8] & (1 << (s % 8)));
}

static void
setbit(uint8_t *set, uint64_t s)
{
	set[(s % SEQ_SPACE) / 8] |= 1 << (s % 8);
}

static void
out(void *arg, const uint8_t *frame, size_t len)
{
	uint64_t	 s;

	if (len < sizeof(s))
		abort();
	memcpy(&s, frame, sizeof(s));
	if (!bit(in_set, s) || bit(out_set, s))
		abort();	/* never put in, or released twice */
	setbit(out_set, s);
	if (any && s < top)
		unordered++;
	if (!any || s > top)
		top = s;
	any = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reorder			*r;
	const struct reorder_stats	*st;
	uint8_t				 frame[16 * 255 + 16];
	uint64_t			 seq, base = 1000;
	uint64_t			 newest = 0;	/* put in */
	int64_t				 now = 1;
	size_t				 i, len;
	uint8_t				 op;

	memset(in_set, 0, sizeof(in_set));
	memset(out_set, 0, sizeof(out_set));
	any = 0;
	unordered = 0;
	if ((r = reorder_new(FRAMES, BYTES, out, NULL)) == NULL)
		abort();
	reorder_set_wait(r, 2000);
	st = reorder_stats(r);
	for (i = 0; i + 4 <= size; i += 4) {
		op = data[i];
		switch (op & 3) {
		case 0:
		case 1:
			if (op & 0x80)
				base += 40000;
			seq = base + (data[i + 1] << 8 | data[i + 2]);
			if (bit(in_set, seq))
				break;		/* a copy: the window drops it */
			setbit(in_set, seq);
			len = 16 * (size_t)data[i + 3];
			if (len < sizeof(seq))
				len = sizeof(seq);
			memset(frame, data[i + 3], len);
			memcpy(frame, &seq, sizeof(seq));
			now += (op >> 2 & 0x1f) * 1000;
			if (seq > newest)
				newest = seq;
			reorder_input(r, seq, frame, len, now,
			    (op & 3) == 1 ? data[i + 3] * 100 : 0);
			break;
		case 2:
			now += data[i + 1] << 8 | data[i + 2];
			reorder_set_wait(r, (int64_t)data[i + 3] * 500);
			reorder_expire(r, now);
			if (reorder_deadline(r) != -1 &&
			    reorder_deadline(r) <= now)
				abort();	/* expired, still due */
			break;
		case 3:
			if (data[i + 1] & 1) {
				reorder_lost_below(r, base +
				    (data[i + 2] << 8 | data[i + 3]), now);
				break;
			}
			if (data[i + 1] & 2) {
				seq = base + (data[i + 2] << 8 | data[i + 3]);
				if (bit(in_set, seq))
					break;	/* a copy */
				/* to the interface, not through the buffer */
				setbit(in_set, seq);
				setbit(out_set, seq);
				reorder_skip(r, seq);
				if (seq > newest && st->nheld != 0)
					abort();
				if (!any || seq > top)
					top = seq;
				any = 1;
				break;
			}
			reorder_flush(r);
			if (st->nheld != 0 || st->bytes != 0)
				abort();
			any = 0;
			break;
		}
		if (st->nheld > FRAMES || st->bytes > BYTES)
			abort();
		if (unordered > st->late)
			abort();	/* out of order, not counted late */
	}
	reorder_free(r);
	return (0);
}
