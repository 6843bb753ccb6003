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
 * The data channel's cryptography: the key schedule (HKDF-SHA256 from the
 * randoms both sides contributed in the TLS control session), the AEAD
 * (ChaCha20-Poly1305 with a counter nonce) and the receiver's replay
 * window.
 *
 * Only EVP interfaces that OpenSSL 3 and LibreSSL both have are used.
 * LibreSSL gained EVP_chacha20_poly1305() and EVP_PKEY_HKDF late (3.6);
 * its native EVP_AEAD interface would be the alternative on older
 * releases.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "marconid.h"

#define AEAD_NONCELEN		12

/* both sides must agree on these bytes: changing them breaks the wire */
#define DERIVE_SALT		"marconid v1"
#define DERIVE_INFO_C2S		"marconid c2s"
#define DERIVE_INFO_S2C		"marconid s2c"
#define DERIVE_RANDLEN		32

static int	aead_nonce(struct aead_key *, uint64_t, int);

/*
 * HKDF-SHA256 (RFC 5869), extract then expand.  An empty salt means the
 * RFC's default of HashLen zero bytes, which is also what the library
 * does when no salt is set.
 */
int
crypto_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
    size_t ikmlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	EVP_PKEY_CTX	*pctx;
	size_t		 len = outlen;
	int		 ret = -1;

	/* the setters take int lengths */
	if (saltlen > INT_MAX || ikmlen > INT_MAX || infolen > INT_MAX ||
	    outlen == 0)
		return (-1);

	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return (-1);
	if (EVP_PKEY_derive_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int)ikmlen) <= 0)
		goto done;
	if (saltlen > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, (int)saltlen) <= 0)
		goto done;
	if (infolen > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)infolen) <= 0)
		goto done;
	if (EVP_PKEY_derive(pctx, out, &len) <= 0 || len != outlen)
		goto done;
	ret = 0;
 done:
	/* the context holds the key material; the library cleanses it */
	EVP_PKEY_CTX_free(pctx);
	if (ret == -1)
		explicit_bzero(out, outlen);
	return (ret);
}

/*
 * One key per direction, so that the two sides never encrypt under the
 * same key and counter; the keyid in the info makes every rekey's keys
 * differ even if the randoms were (wrongly) reused.  The randoms are
 * DERIVE_RANDLEN bytes each, the keys AEAD_KEYLEN.
 */
void
crypto_derive(const uint8_t *rand_client, const uint8_t *rand_server,
    uint8_t keyid, uint8_t *key_c2s, uint8_t *key_s2c)
{
	uint8_t		 ikm[2 * DERIVE_RANDLEN];
	uint8_t		 info[sizeof(DERIVE_INFO_C2S)];	/* + keyid for NUL */
	const size_t	 prefix = sizeof(DERIVE_INFO_C2S) - 1;

	memcpy(ikm, rand_client, DERIVE_RANDLEN);
	memcpy(ikm + DERIVE_RANDLEN, rand_server, DERIVE_RANDLEN);

	memcpy(info, DERIVE_INFO_C2S, prefix);
	info[prefix] = keyid;
	if (crypto_hkdf((const uint8_t *)DERIVE_SALT,
	    sizeof(DERIVE_SALT) - 1, ikm, sizeof(ikm), info, sizeof(info),
	    key_c2s, AEAD_KEYLEN) == -1)
		fatalx("%s: hkdf c2s failed", __func__);

	memcpy(info, DERIVE_INFO_S2C, prefix);
	info[prefix] = keyid;
	if (crypto_hkdf((const uint8_t *)DERIVE_SALT,
	    sizeof(DERIVE_SALT) - 1, ikm, sizeof(ikm), info, sizeof(info),
	    key_s2c, AEAD_KEYLEN) == -1)
		fatalx("%s: hkdf s2c failed", __func__);

	explicit_bzero(ikm, sizeof(ikm));
	explicit_bzero(info, sizeof(info));
}

/*
 * The context is keyed once here; each packet only sets a new nonce,
 * which saves the key setup on the fast path.  k must be zeroed or
 * wiped: a previous context is not freed.
 */
int
aead_init(struct aead_key *k, const uint8_t *key, uint8_t id)
{
	EVP_CIPHER_CTX	*ctx;

	memset(k, 0, sizeof(*k));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL,
	    NULL, 1) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCELEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, 1) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return (-1);
	}

	k->ctx = ctx;
	memcpy(k->key, key, AEAD_KEYLEN);
	k->id = id;
	k->valid = 1;
	k->installed = getmonotime();
	k->counter = 0;
	/* replay was zeroed above: counter 0 is acceptable once */
	return (0);
}

void
aead_wipe(struct aead_key *k)
{
	/* freeing the context cleanses its copy of the key */
	if (k->ctx != NULL)
		EVP_CIPHER_CTX_free(k->ctx);
	explicit_bzero(k, sizeof(*k));
}

/*
 * Set the per-packet nonce, 4 zero bytes then the counter big-endian,
 * and the direction.  The key stays as set by aead_init().
 */
static int
aead_nonce(struct aead_key *k, uint64_t counter, int enc)
{
	uint8_t		 nonce[AEAD_NONCELEN];
	int		 i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
	if (EVP_CipherInit_ex(k->ctx, NULL, NULL, NULL, nonce, enc) != 1)
		return (-1);
	return (0);
}

ssize_t
aead_seal(struct aead_key *k, uint64_t counter, const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outsz)
{
	int		 len;
	size_t		 total = 0;

	if (k->ctx == NULL || !k->valid)
		return (-1);
	if (inlen > INT_MAX - WIRE_TAGLEN || aadlen > INT_MAX ||
	    outsz < inlen + WIRE_TAGLEN)
		return (-1);
	if (aead_nonce(k, counter, 1) == -1)
		return (-1);

	if (aadlen > 0 &&
	    EVP_CipherUpdate(k->ctx, NULL, &len, aad, (int)aadlen) != 1)
		return (-1);
	/* an empty body still gets a tag, over the AAD alone */
	if (inlen > 0) {
		if (EVP_CipherUpdate(k->ctx, out, &len, in, (int)inlen) != 1)
			goto fail;
		total = len;
	}
	if (EVP_CipherFinal_ex(k->ctx, out + total, &len) != 1)
		goto fail;
	total += len;
	if (total != inlen)
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_GET_TAG, WIRE_TAGLEN,
	    out + total) != 1)
		goto fail;
	return ((ssize_t)(total + WIRE_TAGLEN));
 fail:
	explicit_bzero(out, inlen + WIRE_TAGLEN);
	return (-1);
}

/*
 * The plaintext is decrypted into out before the tag is checked, so on
 * any failure out is wiped: a caller ignoring -1 must not find forged
 * data there.
 */
ssize_t
aead_open(struct aead_key *k, uint64_t counter, const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outsz)
{
	uint8_t		 tag[WIRE_TAGLEN];
	size_t		 ctlen, total = 0;
	int		 len;

	if (k->ctx == NULL || !k->valid)
		return (-1);
	if (inlen < WIRE_TAGLEN || inlen - WIRE_TAGLEN > INT_MAX ||
	    aadlen > INT_MAX)
		return (-1);
	ctlen = inlen - WIRE_TAGLEN;
	if (outsz < ctlen)
		return (-1);
	if (aead_nonce(k, counter, 0) == -1)
		return (-1);

	/* the library may want a writable tag; keep the input const */
	memcpy(tag, in + ctlen, WIRE_TAGLEN);
	if (EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_SET_TAG, WIRE_TAGLEN,
	    tag) != 1)
		return (-1);
	if (aadlen > 0 &&
	    EVP_CipherUpdate(k->ctx, NULL, &len, aad, (int)aadlen) != 1)
		return (-1);
	if (ctlen > 0) {
		if (EVP_CipherUpdate(k->ctx, out, &len, in, (int)ctlen) != 1)
			goto fail;
		total = len;
	}
	if (EVP_CipherFinal_ex(k->ctx, out + total, &len) != 1)
		goto fail;
	total += len;
	if (total != ctlen)
		goto fail;
	return ((ssize_t)total);
 fail:
	explicit_bzero(out, ctlen);
	return (-1);
}

/*
 * The window is a ring of REPLAY_WINDOW bits, one per counter, indexed
 * by the counter modulo the window: the counters top - REPLAY_WINDOW + 1
 * to top map to distinct bits.  A bit is set only for a counter seen,
 * so the zeroed state (top 0, no bits) accepts counter 0 once like any
 * other unseen counter.
 */
#define REPLAY_WORD(c)	(((c) % REPLAY_WINDOW) / 64)
#define REPLAY_BIT(c)	((uint64_t)1 << ((c) % 64))

int
replay_check(const struct replay *r, uint64_t ctr)
{
	if (ctr > r->top)
		return (0);
	/* written so that nothing wraps: ctr <= top here */
	if (r->top - ctr >= REPLAY_WINDOW)
		return (-1);
	if (r->bits[REPLAY_WORD(ctr)] & REPLAY_BIT(ctr))
		return (-1);
	return (0);
}

/*
 * True when ctr is above every counter accepted so far: the newest
 * datagram of its key.  Counter 0 is the newest only while nothing was
 * accepted (top is 0 then, and the bit of 0 is clear).  Asked before
 * replay_update() of the same counter.
 */
int
replay_newest(const struct replay *r, uint64_t ctr)
{
	if (ctr > r->top)
		return (1);
	return (ctr == 0 && r->top == 0 &&
	    (r->bits[REPLAY_WORD(0)] & REPLAY_BIT(0)) == 0);
}

/* Only after the tag verified, or forged packets would move the window. */
void
replay_update(struct replay *r, uint64_t ctr)
{
	uint64_t	 n, i, c;

	if (ctr > r->top) {
		n = ctr - r->top;
		if (n >= REPLAY_WINDOW) {
			/* everything in the old window is now too old */
			memset(r->bits, 0, sizeof(r->bits));
		} else {
			/*
			 * The bits of top + 1 .. ctr still hold counters a
			 * window older: clear them, a word at a time where
			 * a whole word is covered.
			 */
			for (i = 1; i <= n; ) {
				c = r->top + i;
				if (c % 64 == 0 && n - i >= 63) {
					r->bits[REPLAY_WORD(c)] = 0;
					i += 64;
				} else {
					r->bits[REPLAY_WORD(c)] &=
					    ~REPLAY_BIT(c);
					i++;
				}
			}
		}
		r->top = ctr;
	} else if (r->top - ctr >= REPLAY_WINDOW)
		return;		/* too old: its bit belongs to a newer one */
	r->bits[REPLAY_WORD(ctr)] |= REPLAY_BIT(ctr);
}
