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
 * Fragment reassembly (marconid/frag.c) as the data path drives it,
 * with whatever a peer holding the keys may send.  The first byte
 * chooses the mode:
 *
 * - even: a sequence of pieces, each [ms to wait][length, 2 bytes]
 *   [piece], given to reasm_input(); a frame it hands out must be
 *   within bounds and readable to its end;
 * - odd: a round trip.  [room, 2][frame length, 2][order seed, 2]
 *   [flags], then the frame's bytes (repeated to the length): the frame
 *   is cut by frag_build() for that room, the pieces go in shuffled,
 *   some twice, and exactly the frame must come out: once, or more
 *   often only when copies came after it was complete (reassembly
 *   does not remember finished frames; the engine drops copies).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"
#include "fuzz.h"

#define MAX_PIECES	128
#define MAX_RECORDS	256

static struct reasm	*r;
static int64_t		 now;

static uint16_t
get16(const uint8_t *p)
{
	return ((p[0] << 8) | p[1]);
}

static void
frame_check(const uint8_t *frame, size_t len)
{
	volatile uint8_t	 sum = 0;
	size_t			 i;

	if (len == 0 || len > FRAG_MAXFRAME) {
		fprintf(stderr, "a frame of %zu bytes came out\n", len);
		abort();
	}
	/* every byte is read, so that the sanitizer sees an overrun */
	for (i = 0; i < len; i++)
		sum += frame[i];
	(void)sum;
}

static void
pieces(const uint8_t *data, size_t size)
{
	const uint8_t	*frame;
	size_t		 flen, len;
	int		 n;

	for (n = 0; n < MAX_RECORDS && size >= 3; n++) {
		now += data[0];
		len = get16(data + 1);
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (reasm_input(r, data, len, now, &frame, &flen) == 1)
			frame_check(frame, flen);
		data += len;
		size -= len;
	}
}

static void
roundtrip(const uint8_t *data, size_t size)
{
	static uint8_t	 frame[FRAG_MAXFRAME];
	static uint8_t	 piece[MAX_PIECES][FRAG_MAXFRAME + FRAG_HDRLEN];
	ssize_t		 plen[MAX_PIECES];
	int		 order[MAX_PIECES * 2];
	const uint8_t	*out;
	size_t		 room, flen, count, i, outlen, done = 0;
	uint32_t	 seed, id;
	int		 n, j, t, tmp, ret;
	uint8_t		 flags;

	if (size < 8)
		return;
	room = get16(data);
	flen = get16(data + 2) % (FRAG_MAXFRAME + 1);
	seed = get16(data + 4);
	flags = data[6];
	data += 7;
	size -= 7;
	if (flen == 0 || size == 0)
		return;
	for (i = 0; i < flen; i++)
		frame[i] = data[i % size];
	if ((count = frag_count(flen, room)) == 0 || count > MAX_PIECES)
		return;
	id = seed * 2654435761U;
	for (i = 0; i < count; i++) {
		plen[i] = frag_build(id, frame, flen, room, i, piece[i],
		    sizeof(piece[i]));
		if (plen[i] <= FRAG_HDRLEN || (size_t)plen[i] > room) {
			fprintf(stderr, "piece %zu of %zu: %zd bytes for a "
			    "room of %zu\n", i, count, plen[i], room);
			abort();
		}
	}
	/* each piece once, some a second time (flags), shuffled */
	n = 0;
	for (i = 0; i < count; i++) {
		order[n++] = i;
		if ((flags >> (i % 8)) & 1)
			order[n++] = i;
	}
	for (j = n - 1; j > 0; j--) {
		seed = seed * 1103515245 + 12345;
		t = (seed >> 16) % (j + 1);
		tmp = order[j];
		order[j] = order[t];
		order[t] = tmp;
	}
	for (j = 0; j < n; j++) {
		ret = reasm_input(r, piece[order[j]], plen[order[j]], now,
		    &out, &outlen);
		if (ret == -1) {
			fprintf(stderr, "a piece of our own was refused\n");
			abort();
		}
		if (ret == 1) {
			if (outlen != flen || memcmp(out, frame, flen) != 0) {
				fprintf(stderr, "the frame came out "
				    "different\n");
				abort();
			}
			done++;
		}
	}
	if (done == 0 || (done > 1 && flags == 0)) {
		fprintf(stderr, "the frame came out %zu times\n", done);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (r == NULL && (r = reasm_new()) == NULL)
		abort();
	/* a fresh table: what was half done before is expired */
	now += 10 * FRAG_TIMEOUT;
	reasm_expire(r, now);

	if (size < 1)
		return (0);
	if (data[0] & 1)
		roundtrip(data + 1, size - 1);
	else
		pieces(data + 1, size - 1);
	return (0);
}
