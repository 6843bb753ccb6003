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
 * Unit tests of the data channel's cryptography: HKDF against the RFC 5869
 * vectors, the separation of the derived keys, the AEAD's round trip and
 * its refusal of anything altered, and the replay window at its edges.
 */

#include <sys/types.h>

#include <atf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

#define FILLER		0xa5	/* what output buffers hold before a call */
#define MAXBODY		9100	/* above the largest MTU, as jumbo frames */

static const uint8_t	test_key[AEAD_KEYLEN] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

/* an outer header as the AAD: version 1, data, keyid 0, rxid 1 */
static const uint8_t	test_aad[WIRE_HDRLEN] = {
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

static void
fill_seq(uint8_t *p, size_t len, uint8_t first)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(first + i);
}

static int
all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return (0);
	return (1);
}

static void
hkdf_check(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
    size_t ikmlen, const uint8_t *info, size_t infolen,
    const uint8_t *expect, size_t len)
{
	uint8_t	out[128];

	ATF_REQUIRE(len <= sizeof(out));
	memset(out, FILLER, sizeof(out));
	ATF_REQUIRE_EQ(crypto_hkdf(salt, saltlen, ikm, ikmlen, info, infolen,
	    out, len), 0);
	ATF_CHECK_MSG(memcmp(out, expect, len) == 0, "OKM differs");
	/* nothing written past the asked length */
	ATF_CHECK(all_bytes(out + len, sizeof(out) - len, FILLER));
}

ATF_TC(hkdf_rfc5869_1);
ATF_TC_HEAD(hkdf_rfc5869_1, tc)
{
	atf_tc_set_md_var(tc, "descr", "RFC 5869 A.1: basic SHA-256 case");
}
ATF_TC_BODY(hkdf_rfc5869_1, tc)
{
	uint8_t			ikm[22], salt[13], info[10];
	static const uint8_t	okm[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a,
		0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a,
		0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c,
		0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf,
		0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18,
		0x58, 0x65,
	};

	memset(ikm, 0x0b, sizeof(ikm));
	fill_seq(salt, sizeof(salt), 0x00);
	fill_seq(info, sizeof(info), 0xf0);
	hkdf_check(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info),
	    okm, sizeof(okm));
}

ATF_TC(hkdf_rfc5869_2);
ATF_TC_HEAD(hkdf_rfc5869_2, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "RFC 5869 A.2: SHA-256 with longer inputs and outputs");
}
ATF_TC_BODY(hkdf_rfc5869_2, tc)
{
	uint8_t			ikm[80], salt[80], info[80];
	static const uint8_t	okm[82] = {
		0xb1, 0x1e, 0x39, 0x8d, 0xc8, 0x03, 0x27, 0xa1,
		0xc8, 0xe7, 0xf7, 0x8c, 0x59, 0x6a, 0x49, 0x34,
		0x4f, 0x01, 0x2e, 0xda, 0x2d, 0x4e, 0xfa, 0xd8,
		0xa0, 0x50, 0xcc, 0x4c, 0x19, 0xaf, 0xa9, 0x7c,
		0x59, 0x04, 0x5a, 0x99, 0xca, 0xc7, 0x82, 0x72,
		0x71, 0xcb, 0x41, 0xc6, 0x5e, 0x59, 0x0e, 0x09,
		0xda, 0x32, 0x75, 0x60, 0x0c, 0x2f, 0x09, 0xb8,
		0x36, 0x77, 0x93, 0xa9, 0xac, 0xa3, 0xdb, 0x71,
		0xcc, 0x30, 0xc5, 0x81, 0x79, 0xec, 0x3e, 0x87,
		0xc1, 0x4c, 0x01, 0xd5, 0xc1, 0xf3, 0x43, 0x4f,
		0x1d, 0x87,
	};

	fill_seq(ikm, sizeof(ikm), 0x00);
	fill_seq(salt, sizeof(salt), 0x60);
	fill_seq(info, sizeof(info), 0xb0);
	hkdf_check(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info),
	    okm, sizeof(okm));
}

ATF_TC(hkdf_rfc5869_3);
ATF_TC_HEAD(hkdf_rfc5869_3, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "RFC 5869 A.3: SHA-256 with empty salt and info");
}
ATF_TC_BODY(hkdf_rfc5869_3, tc)
{
	uint8_t			ikm[22];
	static const uint8_t	okm[42] = {
		0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f,
		0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c, 0x5a, 0x31,
		0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e,
		0xc3, 0x45, 0x4e, 0x5f, 0x3c, 0x73, 0x8d, 0x2d,
		0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a,
		0x96, 0xc8,
	};

	memset(ikm, 0x0b, sizeof(ikm));
	hkdf_check(NULL, 0, ikm, sizeof(ikm), NULL, 0, okm, sizeof(okm));
}

ATF_TC(derive_separation);
ATF_TC_HEAD(derive_separation, tc)
{
	atf_tc_set_md_var(tc, "descr", "crypto_derive is deterministic and "
	    "gives different keys per direction, keyid and random");
}
ATF_TC_BODY(derive_separation, tc)
{
	uint8_t	rc[32], rs[32];
	uint8_t	c2s[AEAD_KEYLEN], s2c[AEAD_KEYLEN];
	uint8_t	c2s_b[AEAD_KEYLEN], s2c_b[AEAD_KEYLEN];
	uint8_t	zero[AEAD_KEYLEN];

	memset(zero, 0, sizeof(zero));
	fill_seq(rc, sizeof(rc), 0x10);
	fill_seq(rs, sizeof(rs), 0x40);

	crypto_derive(rc, rs, 0, c2s, s2c);
	ATF_CHECK(memcmp(c2s, s2c, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(c2s, zero, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(s2c, zero, AEAD_KEYLEN) != 0);

	/* the same inputs on the other side give the same keys */
	crypto_derive(rc, rs, 0, c2s_b, s2c_b);
	ATF_CHECK(memcmp(c2s, c2s_b, AEAD_KEYLEN) == 0);
	ATF_CHECK(memcmp(s2c, s2c_b, AEAD_KEYLEN) == 0);

	/* the next generation's keys are unrelated to both */
	crypto_derive(rc, rs, 1, c2s_b, s2c_b);
	ATF_CHECK(memcmp(c2s, c2s_b, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(s2c, s2c_b, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(c2s, s2c_b, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(s2c, c2s_b, AEAD_KEYLEN) != 0);

	/* swapping the randoms' roles changes the keys */
	crypto_derive(rs, rc, 0, c2s_b, s2c_b);
	ATF_CHECK(memcmp(c2s, c2s_b, AEAD_KEYLEN) != 0);
	ATF_CHECK(memcmp(s2c, s2c_b, AEAD_KEYLEN) != 0);

	/* the derivation is HKDF with the documented salt and info */
	{
		uint8_t	ikm[64], info[13], expect[AEAD_KEYLEN];

		memcpy(ikm, rc, 32);
		memcpy(ikm + 32, rs, 32);
		memcpy(info, "marconid s2c", 12);
		info[12] = 7;
		ATF_REQUIRE_EQ(crypto_hkdf((const uint8_t *)"marconid v1", 11,
		    ikm, sizeof(ikm), info, sizeof(info), expect,
		    sizeof(expect)), 0);
		crypto_derive(rc, rs, 7, c2s_b, s2c_b);
		ATF_CHECK(memcmp(s2c_b, expect, AEAD_KEYLEN) == 0);
	}
}

ATF_TC(seal_known_answer);
ATF_TC_HEAD(seal_known_answer, tc)
{
	atf_tc_set_md_var(tc, "descr", "aead_seal matches ChaCha20-Poly1305 "
	    "with nonce 0^4 || counter big-endian");
}
ATF_TC_BODY(seal_known_answer, tc)
{
	struct aead_key		k;
	static const char	pt[] = "marconid data channel";
	static const uint8_t	expect[21 + WIRE_TAGLEN] = {
		0x8c, 0xd8, 0x66, 0x9b, 0x78, 0x8b, 0x1e, 0x9c,
		0x7f, 0xfd, 0x02, 0xc8, 0x58, 0xcc, 0xdc, 0x48,
		0xaf, 0xbd, 0xed, 0x68, 0xfb, 0xed, 0xbd, 0x01,
		0x5c, 0x64, 0x30, 0xa7, 0x73, 0xb0, 0xab, 0x74,
		0x49, 0xa9, 0xd6, 0x82, 0xd6,
	};
	uint8_t			out[64];

	ATF_REQUIRE_EQ(sizeof(pt) - 1, 21);
	ATF_REQUIRE_EQ(aead_init(&k, test_key, 0), 0);
	ATF_REQUIRE_EQ(aead_seal(&k, 0x0102030405060708ULL, test_aad,
	    sizeof(test_aad), (const uint8_t *)pt, sizeof(pt) - 1, out,
	    sizeof(out)), (ssize_t)sizeof(expect));
	ATF_CHECK(memcmp(out, expect, sizeof(expect)) == 0);
	aead_wipe(&k);
}

ATF_TC(seal_open_roundtrip);
ATF_TC_HEAD(seal_open_roundtrip, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "seal then open gives back the plaintext for 0, 1, 1500, 9100 "
	    "bytes, with one context re-used across packets");
}
ATF_TC_BODY(seal_open_roundtrip, tc)
{
	static const size_t	 lens[] = { 0, 1, 1500, MAXBODY };
	struct aead_key		 tx, rx;
	uint8_t			*pt, *ct, *back;
	size_t			 i;
	ssize_t			 n;
	uint64_t		 ctr;

	ATF_REQUIRE((pt = malloc(MAXBODY)) != NULL);
	ATF_REQUIRE((ct = malloc(MAXBODY + WIRE_TAGLEN)) != NULL);
	ATF_REQUIRE((back = malloc(MAXBODY)) != NULL);
	fill_seq(pt, MAXBODY, 0x33);

	ATF_REQUIRE_EQ(aead_init(&tx, test_key, 3), 0);
	ATF_REQUIRE_EQ(aead_init(&rx, test_key, 3), 0);
	ATF_CHECK_EQ(tx.valid, 1);
	ATF_CHECK_EQ(tx.id, 3);
	ATF_CHECK_EQ(tx.counter, 0);
	ATF_CHECK(tx.installed > 0);
	ATF_CHECK(tx.ctx != NULL);

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ctr = i * 1000 + 1;
		memset(ct, FILLER, MAXBODY + WIRE_TAGLEN);
		n = aead_seal(&tx, ctr, test_aad, sizeof(test_aad), pt,
		    lens[i], ct, lens[i] + WIRE_TAGLEN);
		ATF_REQUIRE_EQ_MSG(n, (ssize_t)(lens[i] + WIRE_TAGLEN),
		    "seal of %zu bytes", lens[i]);
		if (lens[i] > 1)
			ATF_CHECK(memcmp(ct, pt, lens[i]) != 0);

		memset(back, FILLER, MAXBODY);
		n = aead_open(&rx, ctr, test_aad, sizeof(test_aad), ct,
		    lens[i] + WIRE_TAGLEN, back, lens[i]);
		ATF_REQUIRE_EQ_MSG(n, (ssize_t)lens[i], "open of %zu bytes",
		    lens[i]);
		ATF_CHECK(memcmp(back, pt, lens[i]) == 0);
	}

	/* without AAD too */
	n = aead_seal(&tx, 99, NULL, 0, pt, 100, ct, MAXBODY + WIRE_TAGLEN);
	ATF_REQUIRE_EQ(n, 100 + WIRE_TAGLEN);
	ATF_CHECK_EQ(aead_open(&rx, 99, NULL, 0, ct, n, back, MAXBODY), 100);
	ATF_CHECK(memcmp(back, pt, 100) == 0);

	/* another counter, another keystream */
	{
		uint8_t	a[16 + WIRE_TAGLEN], b[16 + WIRE_TAGLEN];

		ATF_REQUIRE(aead_seal(&tx, 5, NULL, 0, pt, 16, a,
		    sizeof(a)) > 0);
		ATF_REQUIRE(aead_seal(&tx, 6, NULL, 0, pt, 16, b,
		    sizeof(b)) > 0);
		ATF_CHECK(memcmp(a, b, 16) != 0);
	}

	aead_wipe(&tx);
	aead_wipe(&rx);
	free(pt);
	free(ct);
	free(back);
}

/*
 * Seals a 64 byte packet at counter 42 under test_key and opens it after
 * the change made by the caller; every such open must fail and leave the
 * output zeroed (when decryption ran) or untouched.
 */
#define TAMPER_LEN	64
#define TAMPER_CTR	42

struct tamper {
	struct aead_key	k;
	uint8_t		aad[WIRE_HDRLEN];
	uint8_t		pt[TAMPER_LEN];
	uint8_t		ct[TAMPER_LEN + WIRE_TAGLEN];
	uint8_t		out[TAMPER_LEN];
};

static void
tamper_setup(struct tamper *t)
{
	memcpy(t->aad, test_aad, sizeof(t->aad));
	fill_seq(t->pt, sizeof(t->pt), 0x01);
	ATF_REQUIRE_EQ(aead_init(&t->k, test_key, 0), 0);
	ATF_REQUIRE_EQ(aead_seal(&t->k, TAMPER_CTR, t->aad, sizeof(t->aad),
	    t->pt, sizeof(t->pt), t->ct, sizeof(t->ct)),
	    (ssize_t)sizeof(t->ct));
	/* the untouched packet opens: the failures below are the change's */
	ATF_REQUIRE_EQ(aead_open(&t->k, TAMPER_CTR, t->aad, sizeof(t->aad),
	    t->ct, sizeof(t->ct), t->out, sizeof(t->out)), TAMPER_LEN);
	memset(t->out, FILLER, sizeof(t->out));
}

/* Each byte zeroed or never written; the plaintext holds neither value. */
static int
no_plaintext(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != 0 && p[i] != FILLER)
			return (0);
	return (1);
}

static void
tamper_expect_fail(struct tamper *t, struct aead_key *k, uint64_t ctr,
    size_t ctlen)
{
	ATF_CHECK_EQ(aead_open(k, ctr, t->aad, sizeof(t->aad), t->ct, ctlen,
	    t->out, sizeof(t->out)), -1);
	ATF_CHECK_MSG(no_plaintext(t->out, sizeof(t->out)),
	    "unauthenticated plaintext left in the output");
	memset(t->out, FILLER, sizeof(t->out));
}

ATF_TC(tamper_ciphertext);
ATF_TC_HEAD(tamper_ciphertext, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a flipped bit anywhere in the ciphertext is refused");
}
ATF_TC_BODY(tamper_ciphertext, tc)
{
	struct tamper	t;
	size_t		i;

	tamper_setup(&t);
	for (i = 0; i < TAMPER_LEN; i += 7) {
		t.ct[i] ^= 1 << (i % 8);
		tamper_expect_fail(&t, &t.k, TAMPER_CTR, sizeof(t.ct));
		t.ct[i] ^= 1 << (i % 8);
	}
	/* decryption ran: the output must have been zeroed, not kept */
	t.ct[0] ^= 0x80;
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad), t.ct,
	    sizeof(t.ct), t.out, sizeof(t.out)), -1);
	ATF_CHECK(all_bytes(t.out, sizeof(t.out), 0));
	aead_wipe(&t.k);
}

ATF_TC(tamper_tag);
ATF_TC_HEAD(tamper_tag, tc)
{
	atf_tc_set_md_var(tc, "descr", "a flipped bit in the tag is refused");
}
ATF_TC_BODY(tamper_tag, tc)
{
	struct tamper	t;
	size_t		i;

	tamper_setup(&t);
	for (i = 0; i < WIRE_TAGLEN; i++) {
		t.ct[TAMPER_LEN + i] ^= 1 << (i % 8);
		tamper_expect_fail(&t, &t.k, TAMPER_CTR, sizeof(t.ct));
		t.ct[TAMPER_LEN + i] ^= 1 << (i % 8);
	}
	aead_wipe(&t.k);
}

ATF_TC(tamper_aad);
ATF_TC_HEAD(tamper_aad, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a flipped bit in the AAD (outer header) or a missing AAD "
	    "is refused");
}
ATF_TC_BODY(tamper_aad, tc)
{
	struct tamper	t;
	size_t		i;

	tamper_setup(&t);
	for (i = 0; i < WIRE_HDRLEN; i++) {
		t.aad[i] ^= 0x01;
		tamper_expect_fail(&t, &t.k, TAMPER_CTR, sizeof(t.ct));
		t.aad[i] ^= 0x01;
	}
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad) - 1,
	    t.ct, sizeof(t.ct), t.out, sizeof(t.out)), -1);
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, NULL, 0, t.ct, sizeof(t.ct),
	    t.out, sizeof(t.out)), -1);
	aead_wipe(&t.k);
}

ATF_TC(tamper_counter);
ATF_TC_HEAD(tamper_counter, tc)
{
	atf_tc_set_md_var(tc, "descr", "opening under another counter fails");
}
ATF_TC_BODY(tamper_counter, tc)
{
	struct tamper	t;

	tamper_setup(&t);
	tamper_expect_fail(&t, &t.k, TAMPER_CTR + 1, sizeof(t.ct));
	tamper_expect_fail(&t, &t.k, TAMPER_CTR - 1, sizeof(t.ct));
	tamper_expect_fail(&t, &t.k, TAMPER_CTR | (1ULL << 63), sizeof(t.ct));
	tamper_expect_fail(&t, &t.k, 0, sizeof(t.ct));
	aead_wipe(&t.k);
}

ATF_TC(tamper_key);
ATF_TC_HEAD(tamper_key, tc)
{
	atf_tc_set_md_var(tc, "descr", "opening under another key fails");
}
ATF_TC_BODY(tamper_key, tc)
{
	struct tamper	t;
	struct aead_key	other;
	uint8_t		key[AEAD_KEYLEN];

	tamper_setup(&t);
	memcpy(key, test_key, sizeof(key));
	key[AEAD_KEYLEN - 1] ^= 0x01;
	ATF_REQUIRE_EQ(aead_init(&other, key, 0), 0);
	tamper_expect_fail(&t, &other, TAMPER_CTR, sizeof(t.ct));
	aead_wipe(&other);

	/* a wiped key opens nothing */
	aead_wipe(&t.k);
	tamper_expect_fail(&t, &t.k, TAMPER_CTR, sizeof(t.ct));
}

ATF_TC(tamper_truncated);
ATF_TC_HEAD(tamper_truncated, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "truncated packets, and ones shorter than the tag, are refused");
}
ATF_TC_BODY(tamper_truncated, tc)
{
	struct tamper	t;
	size_t		len;

	tamper_setup(&t);
	for (len = 0; len < sizeof(t.ct); len++)
		tamper_expect_fail(&t, &t.k, TAMPER_CTR, len);
	/* shorter than a tag: refused before anything is written */
	for (len = 0; len < WIRE_TAGLEN; len++) {
		ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad),
		    t.ct, len, t.out, sizeof(t.out)), -1);
		ATF_CHECK(all_bytes(t.out, sizeof(t.out), FILLER));
	}
	aead_wipe(&t.k);
}

ATF_TC(open_outsz_small);
ATF_TC_HEAD(open_outsz_small, tc)
{
	atf_tc_set_md_var(tc, "descr", "open and seal refuse an output "
	    "buffer too small, writing nothing");
}
ATF_TC_BODY(open_outsz_small, tc)
{
	struct tamper	t;

	tamper_setup(&t);
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad), t.ct,
	    sizeof(t.ct), t.out, TAMPER_LEN - 1), -1);
	ATF_CHECK(all_bytes(t.out, sizeof(t.out), FILLER));
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad), t.ct,
	    sizeof(t.ct), t.out, 0), -1);
	ATF_CHECK(all_bytes(t.out, sizeof(t.out), FILLER));
	/* exactly large enough works */
	ATF_CHECK_EQ(aead_open(&t.k, TAMPER_CTR, t.aad, sizeof(t.aad), t.ct,
	    sizeof(t.ct), t.out, TAMPER_LEN), TAMPER_LEN);

	/* seal needs room for the tag too */
	memset(t.ct, FILLER, sizeof(t.ct));
	ATF_CHECK_EQ(aead_seal(&t.k, TAMPER_CTR + 1, t.aad, sizeof(t.aad),
	    t.pt, sizeof(t.pt), t.ct, sizeof(t.ct) - 1), -1);
	ATF_CHECK(all_bytes(t.ct, sizeof(t.ct), FILLER));
	ATF_CHECK_EQ(aead_seal(&t.k, TAMPER_CTR + 1, t.aad, sizeof(t.aad),
	    t.pt, 0, t.ct, WIRE_TAGLEN - 1), -1);
	aead_wipe(&t.k);
}

ATF_TC(wipe_zeroes);
ATF_TC_HEAD(wipe_zeroes, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "aead_wipe frees the context and zeroes the key and state");
}
ATF_TC_BODY(wipe_zeroes, tc)
{
	struct aead_key	k, zero;

	memset(&zero, 0, sizeof(zero));
	ATF_REQUIRE_EQ(aead_init(&k, test_key, 9), 0);
	ATF_REQUIRE(memcmp(k.key, test_key, AEAD_KEYLEN) == 0);
	k.counter = 1234;
	replay_update(&k.replay, 77);
	aead_wipe(&k);
	ATF_CHECK(all_bytes(k.key, sizeof(k.key), 0));
	ATF_CHECK(k.ctx == NULL);
	ATF_CHECK_EQ(k.valid, 0);
	ATF_CHECK(memcmp(&k, &zero, sizeof(k)) == 0);
	/* wiping twice is harmless */
	aead_wipe(&k);
}

/* What the receiver does: check, (decrypt,) then update. */
static int
rx_accept(struct replay *r, uint64_t ctr)
{
	if (replay_check(r, ctr) == -1)
		return (0);
	replay_update(r, ctr);
	return (1);
}

ATF_TC(replay_first_zero);
ATF_TC_HEAD(replay_first_zero, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "counter 0 is accepted once from the zeroed state");
}
ATF_TC_BODY(replay_first_zero, tc)
{
	struct replay	r;

	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, 0), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 0);
	ATF_CHECK_EQ(rx_accept(&r, 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 0);

	/* 0 arriving late, after a later first packet, still counts once */
	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, 3), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 0);
	ATF_CHECK_EQ(rx_accept(&r, 3), 0);
}

ATF_TC(replay_newest);
ATF_TC_HEAD(replay_newest, tc)
{
	atf_tc_set_md_var(tc, "descr", "replay_newest: only a counter "
	    "above all accepted, or 0 before anything, is the newest");
}
ATF_TC_BODY(replay_newest, tc)
{
	struct replay	r;

	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(replay_newest(&r, 0), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 1);
	ATF_CHECK_EQ(replay_newest(&r, 0), 0);
	ATF_CHECK_EQ(replay_newest(&r, 1), 1);

	/* unseen but older than the top: accepted, yet not the newest */
	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, 5), 1);
	ATF_CHECK_EQ(replay_newest(&r, 0), 0);
	ATF_CHECK_EQ(replay_newest(&r, 3), 0);
	ATF_CHECK_EQ(replay_newest(&r, 5), 0);
	ATF_CHECK_EQ(replay_newest(&r, 6), 1);
	ATF_CHECK_EQ(rx_accept(&r, 3), 1);
	ATF_CHECK_EQ(replay_newest(&r, 4), 0);
	ATF_CHECK_EQ(replay_newest(&r, UINT64_MAX), 1);
}

ATF_TC(replay_in_order);
ATF_TC_HEAD(replay_in_order, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "counters in order are accepted across many window lengths");
}
ATF_TC_BODY(replay_in_order, tc)
{
	struct replay	r;
	uint64_t	c;

	memset(&r, 0, sizeof(r));
	for (c = 0; c < 5 * REPLAY_WINDOW + 17; c++)
		ATF_REQUIRE_MSG(rx_accept(&r, c), "counter %ju",
		    (uintmax_t)c);
	ATF_CHECK_EQ(r.top, 5 * REPLAY_WINDOW + 16);
	/* and all of the last window are now duplicates */
	for (c = r.top - REPLAY_WINDOW + 1; c <= r.top; c++)
		ATF_REQUIRE_MSG(!rx_accept(&r, c), "counter %ju replayed",
		    (uintmax_t)c);
}

ATF_TC(replay_duplicate);
ATF_TC_HEAD(replay_duplicate, tc)
{
	atf_tc_set_md_var(tc, "descr", "a duplicate is refused; a check "
	    "alone (failed decryption) marks nothing");
}
ATF_TC_BODY(replay_duplicate, tc)
{
	struct replay	r;

	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, 10), 1);
	ATF_CHECK_EQ(rx_accept(&r, 10), 0);
	ATF_CHECK_EQ(rx_accept(&r, 11), 1);
	ATF_CHECK_EQ(rx_accept(&r, 10), 0);
	ATF_CHECK_EQ(rx_accept(&r, 11), 0);

	/* a forged packet is checked but never updated: it costs nothing */
	ATF_CHECK_EQ(replay_check(&r, 5000), 0);
	ATF_CHECK_EQ(replay_check(&r, 5000), 0);
	ATF_CHECK_EQ(r.top, 11);
	ATF_CHECK_EQ(rx_accept(&r, 9), 1);
}

ATF_TC(replay_out_of_order);
ATF_TC_HEAD(replay_out_of_order, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "an older counter within the window is accepted exactly once");
}
ATF_TC_BODY(replay_out_of_order, tc)
{
	struct replay	r;
	uint64_t	c;

	memset(&r, 0, sizeof(r));
	for (c = 0; c < 10; c++)
		if (c != 5)
			ATF_CHECK_EQ(rx_accept(&r, c), 1);
	ATF_CHECK_EQ(rx_accept(&r, 12), 1);
	ATF_CHECK_EQ(rx_accept(&r, 5), 1);
	ATF_CHECK_EQ(rx_accept(&r, 5), 0);
	ATF_CHECK_EQ(rx_accept(&r, 11), 1);
	ATF_CHECK_EQ(rx_accept(&r, 10), 1);
	ATF_CHECK_EQ(rx_accept(&r, 11), 0);
	ATF_CHECK_EQ(r.top, 12);

	/* the oldest slot of a full window */
	ATF_CHECK_EQ(rx_accept(&r, 12 + REPLAY_WINDOW - 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, 13), 1);
	ATF_CHECK_EQ(rx_accept(&r, 13), 0);
	ATF_CHECK_EQ(rx_accept(&r, 12), 0);
}

ATF_TC(replay_window_edge);
ATF_TC_HEAD(replay_window_edge, tc)
{
	atf_tc_set_md_var(tc, "descr", "top - REPLAY_WINDOW is refused, "
	    "top - REPLAY_WINDOW + 1 accepted once");
}
ATF_TC_BODY(replay_window_edge, tc)
{
	struct replay	r;
	uint64_t	top = 5000;

	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, top), 1);
	ATF_CHECK_EQ(replay_check(&r, top - REPLAY_WINDOW), -1);
	/* an update with a too old counter must not disturb the window */
	replay_update(&r, top - REPLAY_WINDOW);
	replay_update(&r, top - REPLAY_WINDOW - 100);
	ATF_CHECK_EQ(r.top, top);
	/* which would have marked this one, sharing its bit */
	ATF_CHECK_EQ(rx_accept(&r, top - 100), 1);
	ATF_CHECK_EQ(rx_accept(&r, top - REPLAY_WINDOW + 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, top - REPLAY_WINDOW + 1), 0);
	ATF_CHECK_EQ(rx_accept(&r, top - REPLAY_WINDOW - 1), 0);

	/* one step forward and the edge moves with it */
	ATF_CHECK_EQ(rx_accept(&r, top + 1), 1);
	ATF_CHECK_EQ(replay_check(&r, top - REPLAY_WINDOW + 1), -1);
	ATF_CHECK_EQ(rx_accept(&r, top - REPLAY_WINDOW + 2), 1);
}

ATF_TC(replay_far_jump);
ATF_TC_HEAD(replay_far_jump, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "after a jump far ahead, counters behind the new window are "
	    "refused and unseen ones within it accepted");
}
ATF_TC_BODY(replay_far_jump, tc)
{
	struct replay	r;
	uint64_t	c, far = 1000000;

	memset(&r, 0, sizeof(r));
	for (c = 0; c < 20; c++)
		ATF_CHECK_EQ(rx_accept(&r, c), 1);
	ATF_CHECK_EQ(rx_accept(&r, far), 1);
	for (c = 0; c < 21; c++)
		ATF_CHECK_EQ(rx_accept(&r, c), 0);
	ATF_CHECK_EQ(rx_accept(&r, far - REPLAY_WINDOW), 0);
	ATF_CHECK_EQ(rx_accept(&r, far - 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, far - REPLAY_WINDOW + 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, far), 0);
	ATF_CHECK_EQ(rx_accept(&r, far + 1), 1);
}

ATF_TC(replay_jump_clears);
ATF_TC_HEAD(replay_jump_clears, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "moving the window, by more or less than its length, forgets "
	    "the counters that left it");
}
ATF_TC_BODY(replay_jump_clears, tc)
{
	struct replay	r;
	uint64_t	c, jump;

	/* more than a window: every old bit is stale */
	memset(&r, 0, sizeof(r));
	for (c = 0; c < 100; c++)
		ATF_CHECK_EQ(rx_accept(&r, c), 1);
	jump = 100 + REPLAY_WINDOW + 904;
	ATF_CHECK_EQ(rx_accept(&r, jump), 1);
	/* these share bits with 0 .. 99 */
	for (c = REPLAY_WINDOW; c < REPLAY_WINDOW + 100; c++)
		ATF_CHECK_MSG(rx_accept(&r, c), "counter %ju", (uintmax_t)c);
	for (c = jump - REPLAY_WINDOW + 1; c < jump; c++)
		if (c < REPLAY_WINDOW || c >= REPLAY_WINDOW + 100)
			ATF_REQUIRE_MSG(rx_accept(&r, c), "counter %ju",
			    (uintmax_t)c);
	for (c = jump - REPLAY_WINDOW + 1; c <= jump; c++)
		ATF_REQUIRE_MSG(!rx_accept(&r, c), "counter %ju twice",
		    (uintmax_t)c);

	/*
	 * Less than a window, from a full one, for jump lengths crossing
	 * word boundaries in every way: exactly the counters that entered
	 * are new, those still in the window stay seen.
	 */
	for (jump = 1; jump < 300; jump += 37) {
		memset(&r, 0, sizeof(r));
		for (c = 0; c < REPLAY_WINDOW + 13; c++)
			ATF_REQUIRE(rx_accept(&r, c));
		c = r.top;
		ATF_REQUIRE(rx_accept(&r, c + jump));
		ATF_CHECK_EQ(replay_check(&r, c + jump - REPLAY_WINDOW), -1);
		for (c = r.top - REPLAY_WINDOW + 1; c < r.top; c++) {
			if (c > REPLAY_WINDOW + 12)
				ATF_REQUIRE_MSG(rx_accept(&r, c),
				    "jump %ju: counter %ju", (uintmax_t)jump,
				    (uintmax_t)c);
			else
				ATF_REQUIRE_MSG(!rx_accept(&r, c),
				    "jump %ju: counter %ju", (uintmax_t)jump,
				    (uintmax_t)c);
		}
	}

	/* one short of a window */
	memset(&r, 0, sizeof(r));
	for (c = 0; c < REPLAY_WINDOW; c++)
		ATF_REQUIRE(rx_accept(&r, c));
	ATF_CHECK_EQ(rx_accept(&r, 2 * REPLAY_WINDOW - 2), 1);
	ATF_CHECK_EQ(rx_accept(&r, REPLAY_WINDOW - 1), 0);
	ATF_CHECK_EQ(rx_accept(&r, REPLAY_WINDOW - 2), 0);
	for (c = REPLAY_WINDOW; c < 2 * REPLAY_WINDOW - 2; c++)
		ATF_REQUIRE(rx_accept(&r, c));
}

ATF_TC(replay_near_max);
ATF_TC_HEAD(replay_near_max, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "counters near UINT64_MAX behave without overflow");
}
ATF_TC_BODY(replay_near_max, tc)
{
	struct replay	r;

	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 10), 1);
	ATF_CHECK_EQ(rx_accept(&r, 0), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 10), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 2), 1);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX), 1);
	ATF_CHECK_EQ(r.top, UINT64_MAX);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 2), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 10), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 11), 1);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - REPLAY_WINDOW), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - REPLAY_WINDOW + 1), 1);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - REPLAY_WINDOW + 1), 0);

	/* straight from the zeroed state to the very last counter */
	memset(&r, 0, sizeof(r));
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX), 1);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX), 0);
	ATF_CHECK_EQ(rx_accept(&r, 0), 0);
	ATF_CHECK_EQ(rx_accept(&r, UINT64_MAX - 1), 1);

	/* and the nonce of the last counter seals and opens */
	{
		struct aead_key	k;
		uint8_t		ct[4 + WIRE_TAGLEN], pt[4] = { 1, 2, 3, 4 };
		uint8_t		back[4];

		ATF_REQUIRE_EQ(aead_init(&k, test_key, 0), 0);
		ATF_REQUIRE_EQ(aead_seal(&k, UINT64_MAX, NULL, 0, pt,
		    sizeof(pt), ct, sizeof(ct)), (ssize_t)sizeof(ct));
		ATF_CHECK_EQ(aead_open(&k, UINT64_MAX, NULL, 0, ct, sizeof(ct),
		    back, sizeof(back)), (ssize_t)sizeof(back));
		ATF_CHECK(memcmp(back, pt, sizeof(pt)) == 0);
		ATF_CHECK_EQ(aead_open(&k, UINT64_MAX - 1, NULL, 0, ct,
		    sizeof(ct), back, sizeof(back)), -1);
		aead_wipe(&k);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, hkdf_rfc5869_1);
	ATF_TP_ADD_TC(tp, hkdf_rfc5869_2);
	ATF_TP_ADD_TC(tp, hkdf_rfc5869_3);
	ATF_TP_ADD_TC(tp, derive_separation);
	ATF_TP_ADD_TC(tp, seal_known_answer);
	ATF_TP_ADD_TC(tp, seal_open_roundtrip);
	ATF_TP_ADD_TC(tp, tamper_ciphertext);
	ATF_TP_ADD_TC(tp, tamper_tag);
	ATF_TP_ADD_TC(tp, tamper_aad);
	ATF_TP_ADD_TC(tp, tamper_counter);
	ATF_TP_ADD_TC(tp, tamper_key);
	ATF_TP_ADD_TC(tp, tamper_truncated);
	ATF_TP_ADD_TC(tp, open_outsz_small);
	ATF_TP_ADD_TC(tp, wipe_zeroes);
	ATF_TP_ADD_TC(tp, replay_first_zero);
	ATF_TP_ADD_TC(tp, replay_newest);
	ATF_TP_ADD_TC(tp, replay_in_order);
	ATF_TP_ADD_TC(tp, replay_duplicate);
	ATF_TP_ADD_TC(tp, replay_out_of_order);
	ATF_TP_ADD_TC(tp, replay_window_edge);
	ATF_TP_ADD_TC(tp, replay_far_jump);
	ATF_TP_ADD_TC(tp, replay_jump_clears);
	ATF_TP_ADD_TC(tp, replay_near_max);

	return (atf_no_error());
}
