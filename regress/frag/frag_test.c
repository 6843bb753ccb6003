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
 * Unit tests of the fragmentation of frames into datagrams and of
 * their reassembly: splits in and out of order, loss, duplicates,
 * malformed or hostile headers, the bounded table, and a fuzz loop
 * that splits and shuffles at random and compares the bytes.
 */

#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

/* room of a datagram's plaintext on a 1500-byte path, less overheads */
#define ROOM_ETH	1460
/* an Ethernet frame with a VLAN tag carrying a 1500-byte payload */
#define FRAME_VLAN	1518
/* the most pieces a frame is cut into by the tests */
#define MAXPIECES	64
#define PIECE_MAX	(FRAG_HDRLEN + FRAG_MAXFRAME)

struct piece {
	uint8_t		 buf[PIECE_MAX];
	size_t		 len;
};

static uint64_t	rng_state;

/* A PRNG of our own, so that a seed gives the same run on every libc. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((uint32_t)(rng_state >> 32));
}

static void
fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 8)) & 0xff);
}

/* A piece with an arbitrary header, as a hostile sender would write it. */
static size_t
mkpiece(uint8_t *out, uint32_t id, uint16_t total, uint16_t off,
    const uint8_t *data, size_t len)
{
	uint32_t	nid = htonl(id);
	uint16_t	ntotal = htons(total), noff = htons(off);

	memcpy(out, &nid, 4);
	memcpy(out + 4, &ntotal, 2);
	memcpy(out + 6, &noff, 2);
	if (len > 0)
		memcpy(out + FRAG_HDRLEN, data, len);
	return (FRAG_HDRLEN + len);
}

/* Cuts a frame with frag_build(); returns the number of pieces. */
static size_t
split(uint32_t id, const uint8_t *frame, size_t len, size_t room,
    struct piece *p)
{
	size_t	i, n;
	ssize_t	sz;

	n = frag_count(len, room);
	ATF_REQUIRE(n > 0 && n <= MAXPIECES);
	for (i = 0; i < n; i++) {
		sz = frag_build(id, frame, len, room, i, p[i].buf,
		    sizeof(p[i].buf));
		ATF_REQUIRE(sz > FRAG_HDRLEN && (size_t)sz <= room);
		p[i].len = (size_t)sz;
	}
	return (n);
}

static struct piece *
pieces_new(void)
{
	struct piece	*p;

	ATF_REQUIRE((p = calloc(MAXPIECES, sizeof(*p))) != NULL);
	return (p);
}

ATF_TC(whole_frame);
ATF_TC_HEAD(whole_frame, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "A frame that fits is one piece, delivered in place");
}
ATF_TC_BODY(whole_frame, tc)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		 frame[100];
	const uint8_t	*out;
	size_t		 outlen;

	fill(frame, sizeof(frame), 1);
	ATF_REQUIRE(frag_count(sizeof(frame), ROOM_ETH) == 1);
	ATF_REQUIRE(split(7, frame, sizeof(frame), ROOM_ETH, p) == 1);
	ATF_REQUIRE_EQ(p[0].len, FRAG_HDRLEN + sizeof(frame));
	/* header on the wire: id 7, total 100, offset 0 */
	ATF_REQUIRE(memcmp(p[0].buf,
	    "\x00\x00\x00\x07\x00\x64\x00\x00", FRAG_HDRLEN) == 0);

	ATF_REQUIRE((r = reasm_new()) != NULL);
	ATF_REQUIRE_EQ(reasm_input(r, p[0].buf, p[0].len, 0, &out, &outlen),
	    1);
	ATF_REQUIRE_EQ(outlen, sizeof(frame));
	ATF_REQUIRE(out == p[0].buf + FRAG_HDRLEN);
	ATF_REQUIRE(memcmp(out, frame, sizeof(frame)) == 0);
	reasm_free(r);
	free(p);
}

static void
check_vlan_split(int reversed)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		 frame[FRAME_VLAN];
	const uint8_t	*out;
	size_t		 outlen, n, a, b;

	fill(frame, sizeof(frame), 2);
	n = split(42, frame, sizeof(frame), ROOM_ETH, p);
	ATF_REQUIRE_EQ(n, 2);
	a = p[0].len - FRAG_HDRLEN;
	b = p[1].len - FRAG_HDRLEN;
	ATF_REQUIRE_EQ(a + b, sizeof(frame));
	ATF_REQUIRE(a == b || a == b + 1);

	ATF_REQUIRE((r = reasm_new()) != NULL);
	ATF_REQUIRE_EQ(reasm_input(r, p[reversed].buf, p[reversed].len, 0,
	    &out, &outlen), 0);
	ATF_REQUIRE_EQ(reasm_input(r, p[!reversed].buf, p[!reversed].len, 1,
	    &out, &outlen), 1);
	ATF_REQUIRE_EQ(outlen, sizeof(frame));
	ATF_REQUIRE(memcmp(out, frame, sizeof(frame)) == 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->duplicates, 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 0);
	reasm_free(r);
	free(p);
}

ATF_TC(split_vlan_in_order);
ATF_TC_HEAD(split_vlan_in_order, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "1518 bytes over room 1460: two near-equal pieces, in order");
}
ATF_TC_BODY(split_vlan_in_order, tc)
{
	check_vlan_split(0);
}

ATF_TC(split_vlan_reversed);
ATF_TC_HEAD(split_vlan_reversed, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "1518 bytes over room 1460: two near-equal pieces, reversed");
}
ATF_TC_BODY(split_vlan_reversed, tc)
{
	check_vlan_split(1);
}

ATF_TC(interleaved);
ATF_TC_HEAD(interleaved, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "As many frames as slots, their pieces interleaved");
}
ATF_TC_BODY(interleaved, tc)
{
	struct reasm	*r;
	struct piece	*p[FRAG_SLOTS];
	uint8_t		*frame[FRAG_SLOTS];
	size_t		 len[FRAG_SLOTS], n[FRAG_SLOTS];
	const uint8_t	*out;
	size_t		 outlen, i, round, done = 0;
	int		 rv;

	ATF_REQUIRE((r = reasm_new()) != NULL);
	for (i = 0; i < FRAG_SLOTS; i++) {
		p[i] = pieces_new();
		/* 2 to 8 pieces of at most 292 bytes each */
		len[i] = 300 + i * 70;
		ATF_REQUIRE((frame[i] = malloc(len[i])) != NULL);
		fill(frame[i], len[i], (uint32_t)i);
		n[i] = split(1000 + (uint32_t)i, frame[i], len[i], 300, p[i]);
	}
	for (round = 0; round < MAXPIECES; round++) {
		for (i = 0; i < FRAG_SLOTS; i++) {
			if (round >= n[i])
				continue;
			rv = reasm_input(r, p[i][round].buf, p[i][round].len,
			    (int64_t)round, &out, &outlen);
			if (round + 1 < n[i]) {
				ATF_REQUIRE_EQ(rv, 0);
				continue;
			}
			ATF_REQUIRE_EQ(rv, 1);
			ATF_REQUIRE_EQ(outlen, len[i]);
			ATF_REQUIRE(memcmp(out, frame[i], len[i]) == 0);
			done++;
		}
	}
	ATF_REQUIRE_EQ(done, FRAG_SLOTS);
	ATF_REQUIRE_EQ(reasm_stats(r)->evicted, 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 0);
	for (i = 0; i < FRAG_SLOTS; i++) {
		free(frame[i]);
		free(p[i]);
	}
	reasm_free(r);
}

ATF_TC(missing_piece_expires);
ATF_TC_HEAD(missing_piece_expires, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "A frame missing a piece never completes and times out");
}
ATF_TC_BODY(missing_piece_expires, tc)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		 frame[3000];
	const uint8_t	*out;
	size_t		 outlen;

	fill(frame, sizeof(frame), 3);
	ATF_REQUIRE_EQ(split(5, frame, sizeof(frame), ROOM_ETH, p), 3);
	ATF_REQUIRE((r = reasm_new()) != NULL);
	ATF_REQUIRE_EQ(reasm_input(r, p[0].buf, p[0].len, 100, &out, &outlen),
	    0);
	ATF_REQUIRE_EQ(reasm_input(r, p[2].buf, p[2].len, 150, &out, &outlen),
	    0);
	reasm_expire(r, 100 + FRAG_TIMEOUT - 1);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 0);

	/* too late: the old pieces go, this one starts afresh */
	ATF_REQUIRE_EQ(reasm_input(r, p[1].buf, p[1].len, 100 + FRAG_TIMEOUT,
	    &out, &outlen), 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 1);
	reasm_expire(r, 100 + 3 * FRAG_TIMEOUT);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 2);
	ATF_REQUIRE_EQ(reasm_stats(r)->evicted, 0);
	reasm_free(r);
	free(p);
}

ATF_TC(duplicate_ignored);
ATF_TC_HEAD(duplicate_ignored, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Duplicate and overlapping pieces are counted and do not corrupt");
}
ATF_TC_BODY(duplicate_ignored, tc)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		 frame[FRAME_VLAN], bogus[FRAME_VLAN], pkt[PIECE_MAX];
	const uint8_t	*out;
	size_t		 outlen, plen;

	fill(frame, sizeof(frame), 4);
	memset(bogus, 0xee, sizeof(bogus));
	ATF_REQUIRE_EQ(split(9, frame, sizeof(frame), ROOM_ETH, p), 2);
	ATF_REQUIRE((r = reasm_new()) != NULL);
	ATF_REQUIRE_EQ(reasm_input(r, p[0].buf, p[0].len, 0, &out, &outlen),
	    0);
	ATF_REQUIRE_EQ(reasm_input(r, p[0].buf, p[0].len, 0, &out, &outlen),
	    0);
	ATF_REQUIRE_EQ(reasm_stats(r)->duplicates, 1);

	/* other bytes straddling the end of piece 0: must not be taken */
	plen = mkpiece(pkt, 9, FRAME_VLAN, 700, bogus, 200);
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->duplicates, 2);

	ATF_REQUIRE_EQ(reasm_input(r, p[1].buf, p[1].len, 0, &out, &outlen),
	    1);
	ATF_REQUIRE_EQ(outlen, sizeof(frame));
	ATF_REQUIRE(memcmp(out, frame, sizeof(frame)) == 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 0);
	reasm_free(r);
	free(p);
}

ATF_TC(inconsistent_total);
ATF_TC_HEAD(inconsistent_total, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "A piece whose total differs from its frame's is rejected");
}
ATF_TC_BODY(inconsistent_total, tc)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		 frame[FRAME_VLAN], bogus[FRAME_VLAN], pkt[PIECE_MAX];
	const uint8_t	*out;
	size_t		 outlen, plen, half;

	fill(frame, sizeof(frame), 5);
	memset(bogus, 0xee, sizeof(bogus));
	ATF_REQUIRE_EQ(split(11, frame, sizeof(frame), ROOM_ETH, p), 2);
	half = p[0].len - FRAG_HDRLEN;
	ATF_REQUIRE((r = reasm_new()) != NULL);
	ATF_REQUIRE_EQ(reasm_input(r, p[0].buf, p[0].len, 0, &out, &outlen),
	    0);

	/* the missing second half, but claiming a shorter frame */
	plen = mkpiece(pkt, 11, FRAME_VLAN - 100, (uint16_t)half, bogus,
	    FRAME_VLAN - 100 - half);
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 1);

	/* the frame is intact and completes with the right piece */
	ATF_REQUIRE_EQ(reasm_input(r, p[1].buf, p[1].len, 0, &out, &outlen),
	    1);
	ATF_REQUIRE_EQ(outlen, sizeof(frame));
	ATF_REQUIRE(memcmp(out, frame, sizeof(frame)) == 0);
	reasm_free(r);
	free(p);
}

ATF_TC(oversize_total);
ATF_TC_HEAD(oversize_total, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Totals of 0 or above FRAG_MAXFRAME and pieces past the total "
	    "are rejected");
}
ATF_TC_BODY(oversize_total, tc)
{
	struct reasm	*r;
	uint8_t		 data[100], pkt[PIECE_MAX];
	const uint8_t	*out;
	size_t		 outlen, plen;

	memset(data, 0x55, sizeof(data));
	ATF_REQUIRE((r = reasm_new()) != NULL);
	plen = mkpiece(pkt, 1, FRAG_MAXFRAME + 1, 0, data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	plen = mkpiece(pkt, 2, 0xffff, 0xff00, data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	ATF_REQUIRE_EQ(reasm_stats(r)->oversize, 2);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 0);

	plen = mkpiece(pkt, 3, 0, 0, data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	/* a byte past the end of the frame */
	plen = mkpiece(pkt, 4, 500, 401, data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	/* the offset alone past the end */
	plen = mkpiece(pkt, 5, 500, 0xfff0, data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), -1);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 3);
	ATF_REQUIRE_EQ(reasm_stats(r)->oversize, 2);

	/* exactly FRAG_MAXFRAME ends at the last byte: accepted */
	plen = mkpiece(pkt, 6, FRAG_MAXFRAME, FRAG_MAXFRAME - sizeof(data),
	    data, sizeof(data));
	ATF_REQUIRE_EQ(reasm_input(r, pkt, plen, 0, &out, &outlen), 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 3);
	reasm_free(r);
}

ATF_TC(truncated_header);
ATF_TC_HEAD(truncated_header, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Datagrams shorter than a header, or with no bytes after it, "
	    "are rejected");
}
ATF_TC_BODY(truncated_header, tc)
{
	struct reasm	*r;
	uint8_t		 pkt[PIECE_MAX];
	const uint8_t	*out;
	size_t		 outlen, len;

	ATF_REQUIRE((r = reasm_new()) != NULL);
	/* a header that would be valid, cut short */
	mkpiece(pkt, 1, 10, 0, (const uint8_t *)"0123456789", 10);
	for (len = 0; len <= FRAG_HDRLEN; len++)
		ATF_REQUIRE_EQ(reasm_input(r, pkt, len, 0, &out, &outlen), -1);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, FRAG_HDRLEN + 1);
	ATF_REQUIRE_EQ(reasm_input(r, pkt, FRAG_HDRLEN + 10, 0, &out,
	    &outlen), 1);
	ATF_REQUIRE_EQ(outlen, 10);
	reasm_free(r);
}

ATF_TC(evict_oldest);
ATF_TC_HEAD(evict_oldest, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "One frame more than FRAG_SLOTS in progress evicts the oldest");
}
ATF_TC_BODY(evict_oldest, tc)
{
	struct reasm	*r;
	struct piece	*p[FRAG_SLOTS + 1];
	uint8_t		 frame[FRAG_SLOTS + 1][FRAME_VLAN];
	const uint8_t	*out;
	size_t		 outlen, i;

	ATF_REQUIRE((r = reasm_new()) != NULL);
	for (i = 0; i <= FRAG_SLOTS; i++) {
		p[i] = pieces_new();
		fill(frame[i], FRAME_VLAN, (uint32_t)i);
		ATF_REQUIRE_EQ(split((uint32_t)i, frame[i], FRAME_VLAN,
		    ROOM_ETH, p[i]), 2);
		ATF_REQUIRE_EQ(reasm_input(r, p[i][0].buf, p[i][0].len,
		    (int64_t)i, &out, &outlen), 0);
	}
	ATF_REQUIRE_EQ(reasm_stats(r)->evicted, 1);
	for (i = 1; i <= FRAG_SLOTS; i++) {
		ATF_REQUIRE_EQ(reasm_input(r, p[i][1].buf, p[i][1].len,
		    FRAG_SLOTS + 1, &out, &outlen), 1);
		ATF_REQUIRE(memcmp(out, frame[i], FRAME_VLAN) == 0);
	}
	/* the first piece of frame 0 is gone: its second cannot complete */
	ATF_REQUIRE_EQ(reasm_input(r, p[0][1].buf, p[0][1].len,
	    FRAG_SLOTS + 1, &out, &outlen), 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->evicted, 1);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 0);
	for (i = 0; i <= FRAG_SLOTS; i++)
		free(p[i]);
	reasm_free(r);
}

/* The pages this process has in memory, in kB (-1: cannot say). */
static long
resident_kb(void)
{
#ifdef __linux__
	FILE		*f;
	long		 size, res;
	int		 n;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (-1);
	n = fscanf(f, "%ld %ld", &size, &res);
	fclose(f);
	if (n != 2)
		return (-1);
	return (res * (sysconf(_SC_PAGESIZE) / 1024));
#else
	return (-1);
#endif
}

#define UNTOUCHED_TABLES	64

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MARCONID_ASAN	1
#endif
#endif

ATF_TC(unused_slots_untouched);
ATF_TC_HEAD(unused_slots_untouched, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "A table costs the memory of the slots it has used, not of all "
	    "FRAG_SLOTS: a hub has one per peer in every uplink process");
}
ATF_TC_BODY(unused_slots_untouched, tc)
{
	struct reasm	*r[UNTOUCHED_TABLES];
	struct piece	*p;
	uint8_t		 frame[FRAME_VLAN];
	const uint8_t	*out;
	size_t		 outlen, i;
	long		 before, after, per;
	void		*probe;

#if !defined(__linux__) || !defined(__GLIBC__)
	atf_tc_skip("needs /proc/self/statm and a calloc that maps a large "
	    "block without writing it (glibc)");
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(MARCONID_ASAN)
	atf_tc_skip("AddressSanitizer's allocator: redzones and its own "
	    "metadata, not glibc's calloc");
#endif
	/*
	 * Under valgrind, calloc writes what it returns: no
	 * table could leave its slots untouched there.
	 */
	ATF_REQUIRE((before = resident_kb()) > 0);
	ATF_REQUIRE((probe = calloc(1, 4 << 20)) != NULL);
	/* freed at the end: a free now would raise glibc's mmap threshold */
	after = resident_kb();
	if (after - before > 1024) {
		free(probe);
		atf_tc_skip("calloc touches the memory it returns here (%ld kB "
		    "resident for 4 MB): a sanitizer or valgrind",
		    after - before);
	}
	p = pieces_new();
	fill(frame, sizeof(frame), 5);
	ATF_REQUIRE_EQ(split(9, frame, sizeof(frame), ROOM_ETH, p), 2);
	ATF_REQUIRE((before = resident_kb()) > 0);
	for (i = 0; i < UNTOUCHED_TABLES; i++) {
		ATF_REQUIRE((r[i] = reasm_new()) != NULL);
		/* a frame in reassembly: one slot in use */
		ATF_REQUIRE_EQ(reasm_input(r[i], p[0].buf, p[0].len, 0, &out,
		    &outlen), 0);
	}
	ATF_REQUIRE((after = resident_kb()) > 0);
	per = (after - before) / UNTOUCHED_TABLES;
	/*
	 * A slot is about 10 kB: one in use and the table's head come to
	 * 12 to 20 kB; a page touched in every slot would be 128 kB more.
	 */
	ATF_CHECK_MSG(per < 48, "%ld kB resident per table with one frame "
	    "in reassembly (%ld kB before, %ld after %d tables)", per, before,
	    after, UNTOUCHED_TABLES);
	for (i = 0; i < UNTOUCHED_TABLES; i++) {
		/* the frame completes in the slot it took */
		ATF_REQUIRE_EQ(reasm_input(r[i], p[1].buf, p[1].len, 1, &out,
		    &outlen), 1);
		ATF_REQUIRE(memcmp(out, frame, sizeof(frame)) == 0);
		reasm_free(r[i]);
	}
	free(p);
	free(probe);
}

ATF_TC(fuzz_split_shuffle);
ATF_TC_HEAD(fuzz_split_shuffle, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Random frames cut at random, shuffled and partly duplicated, "
	    "reassemble to the original bytes");
}
ATF_TC_BODY(fuzz_split_shuffle, tc)
{
	struct reasm	*r;
	struct piece	*p = pieces_new();
	uint8_t		*frame;
	size_t		 order[MAXPIECES], cut[MAXPIECES + 1];
	const uint8_t	*out;
	size_t		 outlen, len, n, i, j, k, room;
	uint32_t	 iter, done = 0;
	int		 rv;

	rng_state = 0x6d6172636f6e6964ULL;
	ATF_REQUIRE((frame = malloc(FRAG_MAXFRAME)) != NULL);
	ATF_REQUIRE((r = reasm_new()) != NULL);
	for (iter = 0; iter < 2000; iter++) {
		len = 1 + rng() % FRAG_MAXFRAME;
		fill(frame, len, rng());
		if (iter & 1) {
			/* the sender's own cut, at any room */
			room = FRAG_HDRLEN + 1 + rng() % 2000;
			while (frag_count(len, room) > MAXPIECES)
				room *= 2;
			n = split(iter, frame, len, room, p);
		} else {
			/* cuts of any size, as another sender might make */
			n = 1 + rng() % (len < MAXPIECES ? len : MAXPIECES);
			cut[0] = 0;
			cut[n] = len;
			for (i = 1; i < n; i++)
				cut[i] = rng() % len;
			/* sort and keep the cuts distinct: no empty piece */
			for (i = 1; i < n; i++)
				for (j = i + 1; j < n; j++)
					if (cut[j] < cut[i]) {
						k = cut[i];
						cut[i] = cut[j];
						cut[j] = k;
					}
			for (i = 1, k = 1; i < n; i++)
				if (cut[i] > cut[k - 1])
					cut[k++] = cut[i];
			n = k;
			cut[n] = len;
			for (i = 0; i < n; i++)
				p[i].len = mkpiece(p[i].buf, iter,
				    (uint16_t)len, (uint16_t)cut[i],
				    frame + cut[i], cut[i + 1] - cut[i]);
		}
		for (i = 0; i < n; i++)
			order[i] = i;
		for (i = n; i > 1; i--) {
			j = rng() % i;
			k = order[i - 1];
			order[i - 1] = order[j];
			order[j] = k;
		}
		for (i = 0; i < n; i++) {
			rv = reasm_input(r, p[order[i]].buf,
			    p[order[i]].len, iter, &out, &outlen);
			if (i + 1 < n) {
				ATF_REQUIRE_EQ(rv, 0);
				/* now and then the network repeats itself */
				if (rng() % 4 == 0)
					ATF_REQUIRE_EQ(reasm_input(r,
					    p[order[i]].buf, p[order[i]].len,
					    iter, &out, &outlen), 0);
				continue;
			}
			ATF_REQUIRE_EQ(rv, 1);
			ATF_REQUIRE_EQ(outlen, len);
			ATF_REQUIRE(memcmp(out, frame, len) == 0);
			done++;
		}
	}
	ATF_REQUIRE_EQ(done, 2000);
	ATF_REQUIRE_EQ(reasm_stats(r)->malformed, 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->oversize, 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->timeouts, 0);
	ATF_REQUIRE_EQ(reasm_stats(r)->evicted, 0);
	ATF_REQUIRE(reasm_stats(r)->duplicates > 0);
	free(frame);
	free(p);
	reasm_free(r);
}

ATF_TC(count_edges);
ATF_TC_HEAD(count_edges, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "frag_count and frag_build at their limits");
}
ATF_TC_BODY(count_edges, tc)
{
	uint8_t		*frame, out[PIECE_MAX];
	size_t		 n, i, sum, min, max, len;
	ssize_t		 sz;

	ATF_REQUIRE_EQ(frag_count(0, ROOM_ETH), 0);
	ATF_REQUIRE_EQ(frag_count(1, FRAG_HDRLEN), 0);
	ATF_REQUIRE_EQ(frag_count(1, 0), 0);
	ATF_REQUIRE_EQ(frag_count(1, FRAG_HDRLEN + 1), 1);
	ATF_REQUIRE_EQ(frag_count(ROOM_ETH - FRAG_HDRLEN, ROOM_ETH), 1);
	ATF_REQUIRE_EQ(frag_count(ROOM_ETH - FRAG_HDRLEN + 1, ROOM_ETH), 2);
	ATF_REQUIRE_EQ(frag_count(FRAME_VLAN, ROOM_ETH), 2);
	ATF_REQUIRE_EQ(frag_count(FRAG_MAXFRAME, FRAG_HDRLEN + 1),
	    FRAG_MAXFRAME);
	ATF_REQUIRE_EQ(frag_count(FRAG_MAXFRAME, FRAG_MAXFRAME + FRAG_HDRLEN),
	    1);
	ATF_REQUIRE_EQ(frag_count(FRAG_MAXFRAME + 1, ROOM_ETH), 0);
	ATF_REQUIRE_EQ(frag_count(FRAG_MAXFRAME, SIZE_MAX), 1);

	ATF_REQUIRE((frame = malloc(FRAG_MAXFRAME)) != NULL);
	fill(frame, FRAG_MAXFRAME, 6);
	/* bad arguments */
	ATF_REQUIRE_EQ(frag_build(1, frame, 0, ROOM_ETH, 0, out,
	    sizeof(out)), -1);
	ATF_REQUIRE_EQ(frag_build(1, frame, FRAME_VLAN, FRAG_HDRLEN, 0, out,
	    sizeof(out)), -1);
	ATF_REQUIRE_EQ(frag_build(1, frame, FRAME_VLAN, ROOM_ETH, 2, out,
	    sizeof(out)), -1);
	ATF_REQUIRE_EQ(frag_build(1, frame, FRAG_MAXFRAME + 1, SIZE_MAX, 0,
	    out, sizeof(out)), -1);
	ATF_REQUIRE_EQ(frag_build(1, NULL, FRAME_VLAN, ROOM_ETH, 0, out,
	    sizeof(out)), -1);
	/* 759 bytes and the header do not fit in 766 */
	ATF_REQUIRE_EQ(frag_build(1, frame, FRAME_VLAN, ROOM_ETH, 0, out,
	    FRAG_HDRLEN + 758), -1);
	ATF_REQUIRE_EQ(frag_build(1, frame, FRAME_VLAN, ROOM_ETH, 0, out,
	    FRAG_HDRLEN + 759), FRAG_HDRLEN + 759);

	/* pieces within room, within one byte of each other, in order */
	for (len = 1; len <= FRAG_MAXFRAME; len += 97) {
		n = frag_count(len, 700);
		sum = 0;
		min = SIZE_MAX;
		max = 0;
		for (i = 0; i < n; i++) {
			sz = frag_build(2, frame, len, 700, i, out,
			    sizeof(out));
			ATF_REQUIRE(sz > FRAG_HDRLEN && sz <= 700);
			ATF_REQUIRE_EQ((size_t)((out[6] << 8) | out[7]), sum);
			ATF_REQUIRE(memcmp(out + FRAG_HDRLEN, frame + sum,
			    (size_t)sz - FRAG_HDRLEN) == 0);
			sum += (size_t)sz - FRAG_HDRLEN;
			if ((size_t)sz < min)
				min = (size_t)sz;
			if ((size_t)sz > max)
				max = (size_t)sz;
		}
		ATF_REQUIRE_EQ(sum, len);
		ATF_REQUIRE(max - min <= 1);
	}
	free(frame);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, whole_frame);
	ATF_TP_ADD_TC(tp, split_vlan_in_order);
	ATF_TP_ADD_TC(tp, split_vlan_reversed);
	ATF_TP_ADD_TC(tp, interleaved);
	ATF_TP_ADD_TC(tp, missing_piece_expires);
	ATF_TP_ADD_TC(tp, duplicate_ignored);
	ATF_TP_ADD_TC(tp, inconsistent_total);
	ATF_TP_ADD_TC(tp, oversize_total);
	ATF_TP_ADD_TC(tp, truncated_header);
	ATF_TP_ADD_TC(tp, evict_oldest);
	ATF_TP_ADD_TC(tp, unused_slots_untouched);
	ATF_TP_ADD_TC(tp, fuzz_split_shuffle);
	ATF_TP_ADD_TC(tp, count_edges);

	return (atf_no_error());
}
