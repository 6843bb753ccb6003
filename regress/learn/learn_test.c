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
 * Unit tests of address learning in udp_input() (marconid/pipe.c): a
 * genuine datagram moves the pipe's destination to where it came from
 * only when it is the newest of the current key.  An attacker who sends
 * a genuine datagram again from its own address, one the receiver has
 * not seen yet but older than what it has (kept when it was lost on the
 * way, say), must not redirect the pipe.
 *
 * The pipe and the peer's sealing are those of the UDP fuzzer
 * (fuzz/fuzz_udp.c), driven here with hand-made inputs: the peer sits
 * at peer_addr, the attacker at moved_addr.
 */

#include "../../fuzz/fuzz_udp.c"

#include <atf-c.h>

/* an input of sealed keepalives: [type][sel][counter, 2], no body */
struct input {
	uint8_t		 buf[1 + 16 * 6];
	size_t		 len;
};

static void
input_start(struct input *in)
{
	static int	 ready;

	if (!ready) {
		ATF_REQUIRE(LLVMFuzzerInitialize(NULL, NULL) == 0);
		ready = 1;
	}
	in->buf[0] = FL_SEAL;
	in->len = 1;
}

static void
input_add(struct input *in, uint8_t sel, uint16_t counter)
{
	uint8_t	*p = in->buf + in->len;

	ATF_REQUIRE(in->len + 6 <= sizeof(in->buf));
	p[0] = 0;
	p[1] = 4;
	p[2] = WIRE_TYPE_KEEPALIVE;
	p[3] = sel;
	p[4] = counter >> 8;
	p[5] = counter & 0xff;
	in->len += 6;
}

static int
dest_is(const struct sockaddr_storage *ss)
{
	return (sa_cmp(&fpp->dest, ss) == 0);
}

ATF_TC(older_from_elsewhere);
ATF_TC_HEAD(older_from_elsewhere, tc)
{
	atf_tc_set_md_var(tc, "descr", "A genuine datagram not seen yet "
	    "but older than the newest, from another address, does not "
	    "move the destination");
}
ATF_TC_BODY(older_from_elsewhere, tc)
{
	struct input	 in;

	input_start(&in);
	input_add(&in, 0, 5);
	input_add(&in, SEL_MOVED, 3);
	LLVMFuzzerTestOneInput(in.buf, in.len);
	ATF_CHECK_MSG(dest_is(&peer_addr), "the destination moved to the "
	    "sender of an older datagram");
	/* it was accepted all the same: data is not lost */
	ATF_CHECK_EQ(fpp->st.drops, 0);
}

ATF_TC(newest_from_elsewhere);
ATF_TC_HEAD(newest_from_elsewhere, tc)
{
	atf_tc_set_md_var(tc, "descr", "The newest genuine datagram from "
	    "another address moves the destination there (NAT, roaming), "
	    "and the next newest from the first address moves it back");
}
ATF_TC_BODY(newest_from_elsewhere, tc)
{
	struct input	 in;

	input_start(&in);
	input_add(&in, 0, 5);
	input_add(&in, SEL_MOVED, 6);
	LLVMFuzzerTestOneInput(in.buf, in.len);
	ATF_CHECK(dest_is(&moved_addr));

	input_start(&in);
	input_add(&in, SEL_MOVED, 0);
	input_add(&in, 0, 1);
	LLVMFuzzerTestOneInput(in.buf, in.len);
	ATF_CHECK(dest_is(&peer_addr));
}

ATF_TC(first_from_elsewhere);
ATF_TC_HEAD(first_from_elsewhere, tc)
{
	atf_tc_set_md_var(tc, "descr", "The first datagram of a key, "
	    "counter 0, is the newest: a passive side learns from it");
}
ATF_TC_BODY(first_from_elsewhere, tc)
{
	struct input	 in;

	input_start(&in);
	input_add(&in, SEL_MOVED, 0);
	LLVMFuzzerTestOneInput(in.buf, in.len);
	ATF_CHECK(dest_is(&moved_addr));
}

ATF_TC(previous_key_from_elsewhere);
ATF_TC_HEAD(previous_key_from_elsewhere, tc)
{
	atf_tc_set_md_var(tc, "descr", "A genuine datagram of the previous "
	    "key, the newest of that key, from another address does not "
	    "move the destination");
}
ATF_TC_BODY(previous_key_from_elsewhere, tc)
{
	struct input	 in;

	input_start(&in);
	input_add(&in, 0, 5);
	input_add(&in, SEL_MOVED | SEL_PREV, 9);
	LLVMFuzzerTestOneInput(in.buf, in.len);
	ATF_CHECK(dest_is(&peer_addr));
	ATF_CHECK_EQ(fpp->st.drops, 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, older_from_elsewhere);
	ATF_TP_ADD_TC(tp, newest_from_elsewhere);
	ATF_TP_ADD_TC(tp, first_from_elsewhere);
	ATF_TP_ADD_TC(tp, previous_key_from_elsewhere);
	return (0);
}
