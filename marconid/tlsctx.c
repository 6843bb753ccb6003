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
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tls.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "marconid.h"
#include "pipe.h"

/*
 * The libtls contexts of an uplink process's sessions (session.c),
 * apart so that regress/tls can drive them with real handshakes.
 *
 * Who owns what:
 *
 * - struct tlsctx holds one server context (tls_server()) and the
 *   tls_config it was configured with, both made by tlsctx_set() and
 *   freed together by tlsctx_release() when the last reference goes.
 *   The references: one while it is the current context (dropped by
 *   the tlsctx_set() that replaces it, or by tlsctx_clear()), and one
 *   per session accepted from it (dropped by session_close() through
 *   tlsctx_release(), after it freed the session's own struct tls).
 *
 * - What still points at the server context: every connection that
 *   tls_accept_socket() made from it.  libtls gives the server struct
 *   tls to OpenSSL as the argument of the server name callback
 *   (SSL_CTX_set_tlsext_servername_arg), read during the ClientHello,
 *   which comes after the accept, perhaps after a reload.  Freeing it
 *   while a handshake is ahead is a use after free that any caller of
 *   the TCP port can trigger with a server name; hence the references.
 *
 * - The tls_config is reference-counted by libtls itself:
 *   tls_configure() takes a reference for the context it configures,
 *   tls_free() of that context drops it.  A client session's struct
 *   tls (tlsctx_connect()) holds its own reference, so a client needs
 *   no reference to the struct tlsctx; ours is the one in the struct.
 *
 * - The struct tls of a session belongs to the session: session_close()
 *   frees it (tls_free()), which also frees the SSL object; OpenSSL's
 *   SSL_CTX is reference-counted by OpenSSL for the SSL objects.
 *
 * A reload that brings the same certificate and key keeps the current
 * context: nothing is rebuilt, and nothing can be freed under a
 * handshake in progress.  The comparison is on SHA-256 digests of the
 * certificate and of the key (no copy of the key is kept for it); they
 * are the only inputs, the protocol and verification settings being
 * fixed here.
 */

struct tlsctx {
	struct tls		*srv;	/* tls_server(), configured with cfg */
	struct tls_config	*cfg;	/* also what clients are configured with */
	uint8_t			 certmd[SHA256_DIGEST_LENGTH];
	uint8_t			 keymd[SHA256_DIGEST_LENGTH];
	int			 refs;	/* current: 1, plus one per session */
};

static struct tlsctx	*tls_cur;

static int
tlsctx_digest(const uint8_t *p, size_t len, uint8_t *md)
{
	unsigned int	 mdlen;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return (-1);
	return (0);
}

/*
 * cert is the chain the parent issued (the leaf, then the site's
 * certificate) and key the leaf's key.  libtls does not verify the
 * peer's chain: tlsctx_verify_peer() does, against the pinned
 * fingerprints, once the handshake is done.  The chain doubles as the
 * CA so that the library never looks for a CA file outside the chroot.
 */
int
tlsctx_set(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen)
{
	struct tlsctx		*c;
	uint8_t			 certmd[SHA256_DIGEST_LENGTH];
	uint8_t			 keymd[SHA256_DIGEST_LENGTH];

	if (tlsctx_digest(cert, certlen, certmd) == -1 ||
	    tlsctx_digest(key, keylen, keymd) == -1) {
		log_warnx("%s: cannot hash the certificate or key", __func__);
		return (-1);
	}
	if (tls_cur != NULL &&
	    memcmp(tls_cur->certmd, certmd, sizeof(certmd)) == 0 &&
	    memcmp(tls_cur->keymd, keymd, sizeof(keymd)) == 0) {
		/* unchanged: sessions and callers go on with this one */
		explicit_bzero(keymd, sizeof(keymd));
		return (0);
	}

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	memcpy(c->certmd, certmd, sizeof(c->certmd));
	memcpy(c->keymd, keymd, sizeof(c->keymd));
	explicit_bzero(keymd, sizeof(keymd));
	c->refs = 1;
	if ((c->cfg = tls_config_new()) == NULL) {
		log_warnx("%s: tls_config_new failed", __func__);
		goto fail;
	}
	if (tls_config_set_protocols(c->cfg, TLS_PROTOCOL_TLSv1_3) == -1 ||
	    tls_config_set_keypair_mem(c->cfg, cert, certlen, key, keylen) ==
	    -1 || tls_config_set_ca_mem(c->cfg, cert, certlen) == -1) {
		log_warnx("%s: %s", __func__, tls_config_error(c->cfg));
		goto fail;
	}
	tls_config_insecure_noverifycert(c->cfg);
	tls_config_insecure_noverifyname(c->cfg);
	tls_config_verify_client(c->cfg);

	if ((c->srv = tls_server()) == NULL)
		fatalx("%s: tls_server", __func__);
	if (tls_configure(c->srv, c->cfg) == -1) {
		log_warnx("%s: %s", __func__, tls_error(c->srv));
		goto fail;
	}

	/* handshakes in progress keep the context they were accepted from */
	tlsctx_release(tls_cur);
	tls_cur = c;
	return (0);
 fail:
	/* the current context, if any, stays: a reload is all or nothing */
	tlsctx_release(c);
	return (-1);
}

/* True once a certificate and key are in place. */
int
tlsctx_ready(void)
{
	return (tls_cur != NULL);
}

/*
 * The server side of a connection accepted on fd, made from the current
 * context.  *ref is a reference to that context, which the session
 * gives back to tlsctx_release() once it freed *conn; NULL on error.
 */
int
tlsctx_accept(int fd, struct tls **conn, struct tlsctx **ref,
    const char **why)
{
	*conn = NULL;
	*ref = NULL;
	if (tls_cur == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_accept_socket(tls_cur->srv, conn, fd) == -1) {
		/* valid until the next call on the current context */
		*why = tls_error(tls_cur->srv);
		return (-1);
	}
	tls_cur->refs++;
	*ref = tls_cur;
	return (0);
}

/*
 * The client side of a connection to a peer on fd.  *conn belongs to
 * the caller even on error; it holds its own reference to the
 * configuration, none to the struct tlsctx.
 */
int
tlsctx_connect(int fd, struct tls **conn, const char **why)
{
	if ((*conn = tls_client()) == NULL)
		fatalx("%s: tls_client", __func__);
	if (tls_cur == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_configure(*conn, tls_cur->cfg) == -1 ||
	    tls_connect_socket(*conn, fd, NULL) == -1) {
		*why = tls_error(*conn);
		return (-1);
	}
	return (0);
}

/* Drops a reference; the last one frees the context.  NULL is none. */
void
tlsctx_release(struct tlsctx *c)
{
	if (c == NULL)
		return;
	if (c->refs <= 0)
		fatalx("%s: context released once too often", __func__);
	if (--c->refs > 0)
		return;
	if (c->srv != NULL)
		tls_free(c->srv);
	/* the configuration goes with its last user (see above) */
	if (c->cfg != NULL)
		tls_config_free(c->cfg);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * The current context loses its reference, as at exit; those still in
 * use by sessions go with their last session.
 */
void
tlsctx_clear(void)
{
	tlsctx_release(tls_cur);
	tls_cur = NULL;
}

/*
 * Which of two established sessions with the same peer to keep: 1 the
 * newer, 0 the older.  Here rather than in session.c so that a unit
 * test links it alone.
 *
 * Both ends must keep the same one when both see both sessions, so
 * the choice rests only on what both ends hold alike: the instance
 * ids of the two sites (exchanged in HELLO) and which of them opened
 * each session.  Nothing local (an age, a clock, the order in which the
 * two sessions came up) takes part: near the edge of such a test the
 * two ends decided differently and closed both sessions.
 *
 * - The peer's instance differs: the peer restarted and holds only
 *   the newer one.
 * - The same side opened both: a side connects only while it has no
 *   session with the peer, so it lost the older one and holds only the
 *   newer one (the older is half-open here).
 * - Each side opened one, as when both connect at once: the one opened
 *   by the side with the lower instance id, as both can tell.
 */
int
session_keep_newer(uint64_t old_peer_instance, uint64_t new_peer_instance,
    uint64_t old_opener, uint64_t new_opener)
{
	if (old_peer_instance != new_peer_instance)
		return (1);
	if (old_opener == new_opener)
		return (1);
	return (new_opener < old_opener);
}

/*
 * The site's key stays in the parent.  The parent issues each uplink
 * process a certificate of its own (the leaf), for a key pair made for
 * that process alone, signed with the site's key and valid for
 * LEAF_LIFETIME; the process presents the leaf followed by the site's
 * certificate, and a peer accepts the pair when the site's certificate
 * is the one it pins and the leaf is signed by its key and in date
 * (tlsctx_verify_chain()).  doc/threat-model.md says why this rather
 * than a signature over imsg.
 *
 * struct tlsident is the parent's: the site's certificate and key as
 * libcrypto objects, made by tlsident_load(), freed by tlsident_free().
 */
struct tlsident {
	X509		*cert;
	EVP_PKEY	*key;
};

/* An encrypted key would make libcrypto ask on the terminal: refuse. */
static int
tlsident_nopass(char *buf, int size, int rwflag, void *u)
{
	return (-1);
}

/* The last libcrypto error as a string for a message. */
static const char *
tls_crypto_error(void)
{
	static char	 buf[160];
	unsigned long	 e;

	if ((e = ERR_peek_last_error()) == 0)
		return ("unknown error");
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return (buf);
}

/*
 * The site's identity from the PEM text of its certificate and key
 * files; NULL with a reason in err when they cannot be read or do not
 * belong together.
 */
struct tlsident *
tlsident_load(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, char *err, size_t errlen)
{
	struct tlsident	*id;
	BIO		*b;

	if (certlen > INT_MAX || keylen > INT_MAX) {
		snprintf(err, errlen, "file too large");
		return (NULL);
	}
	if ((id = calloc(1, sizeof(*id))) == NULL)
		fatal("%s", __func__);
	if ((b = BIO_new_mem_buf(cert, certlen)) == NULL)
		fatalx("%s: BIO_new_mem_buf", __func__);
	id->cert = PEM_read_bio_X509(b, NULL, tlsident_nopass, NULL);
	BIO_free(b);
	if (id->cert == NULL) {
		snprintf(err, errlen, "certificate: %s", tls_crypto_error());
		goto fail;
	}
	if ((b = BIO_new_mem_buf(key, keylen)) == NULL)
		fatalx("%s: BIO_new_mem_buf", __func__);
	id->key = PEM_read_bio_PrivateKey(b, NULL, tlsident_nopass, NULL);
	BIO_free(b);
	if (id->key == NULL) {
		snprintf(err, errlen, "key (not PEM, or encrypted): %s",
		    tls_crypto_error());
		goto fail;
	}
	if (X509_check_private_key(id->cert, id->key) != 1) {
		snprintf(err, errlen, "the key is not the certificate's");
		ERR_clear_error();
		goto fail;
	}
	return (id);
 fail:
	tlsident_free(id);
	return (NULL);
}

void
tlsident_free(struct tlsident *id)
{
	if (id == NULL)
		return;
	X509_free(id->cert);
	EVP_PKEY_free(id->key);	/* libcrypto clears the private parts */
	free(id);
}

/* The PEM text a memory BIO holds, as a buffer of the caller's. */
static int
tls_bio_take(BIO *b, uint8_t **p, size_t *len)
{
	char	*data;
	long	 n;

	if ((n = BIO_get_mem_data(b, &data)) <= 0)
		return (-1);
	if ((*p = malloc(n)) == NULL)
		fatal("%s", __func__);
	memcpy(*p, data, n);
	*len = n;
	return (0);
}

/* An extension of the leaf, by its text as in openssl.cnf. */
static int
tls_leaf_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ret;

	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value)) == NULL)
		return (-1);
	ret = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return (ret == 1 ? 0 : -1);
}

/*
 * A leaf for an uplink process, issued at now: a fresh P-256 key pair,
 * a certificate for it signed with the site's key, valid from
 * LEAF_BACKDATE before now (for a peer whose clock is behind; a leaf
 * that does not exist yet gives a thief nothing) to LEAF_LIFETIME
 * after.  *chain is the leaf's PEM then the site certificate's, *key
 * the leaf key's PEM (PKCS#8); both belong to the caller, who clears
 * the key with explicit_bzero().  -1 on a libcrypto error.
 */
int
tlsident_issue(const struct tlsident *id, time_t now, uint8_t **chain,
    size_t *chainlen, uint8_t **key, size_t *keylen)
{
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*lkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	BIGNUM		*serial = NULL;
	BIO		*b = NULL;
	const EVP_MD	*md = NULL;
	int		 nid, ret = -1;

	*chain = *key = NULL;
	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx,
	    NID_X9_62_prime256v1) != 1 ||
	    EVP_PKEY_keygen(pctx, &lkey) != 1)
		goto done;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1)
		goto done;
	/* 64 random bits (top -1: any, bottom 0: any), never negative */
	if ((serial = BN_new()) == NULL ||
	    BN_rand(serial, 64, -1, 0) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto done;
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -LEAF_BACKDATE,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, LEAF_LIFETIME,
	    &now) == NULL)
		goto done;
	/* no uplink name: the server's chain goes out before client auth */
	if ((name = X509_NAME_new()) == NULL)
		goto done;
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"marconid uplink", -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1) {
		X509_NAME_free(name);
		goto done;
	}
	X509_NAME_free(name);
	if (X509_set_issuer_name(x, X509_get_subject_name(id->cert)) != 1 ||
	    X509_set_pubkey(x, lkey) != 1)
		goto done;
	if (tls_leaf_ext(x, NID_basic_constraints, "critical,CA:FALSE") ==
	    -1 || tls_leaf_ext(x, NID_key_usage,
	    "critical,digitalSignature") == -1)
		goto done;
	/*
	 * The key type's digest: SHA-256 for RSA and ECDSA.  Ed25519 takes
	 * none, and OpenSSL 3 answers 0 for it rather than NID_undef; a
	 * type that needs one and has none fails in X509_sign().
	 */
	if (EVP_PKEY_get_default_digest_nid(id->key, &nid) > 0 &&
	    nid != NID_undef && (md = EVP_get_digestbynid(nid)) == NULL)
		goto done;
	if (X509_sign(x, id->key, md) <= 0)
		goto done;

	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, x) != 1 ||
	    PEM_write_bio_X509(b, id->cert) != 1 ||
	    tls_bio_take(b, chain, chainlen) == -1)
		goto done;
	BIO_free(b);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, lkey, NULL, NULL, 0, NULL, NULL) !=
	    1 || tls_bio_take(b, key, keylen) == -1)
		goto done;
	ret = 0;
 done:
	if (ret == -1) {
		log_warnx("%s: %s", __func__, tls_crypto_error());
		free(*chain);
		*chain = NULL;
	}
	if (b != NULL) {
		/* the memory BIO held the leaf key's text */
		(void)BIO_reset(b);
		BIO_free(b);
	}
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(lkey);
	EVP_PKEY_CTX_free(pctx);
	return (ret);
}

/* "SHA256:" and the lowercase hex of SHA-256 over x's DER, as libtls */
static int
tls_fingerprint(X509 *x, char *buf, size_t len)
{
	uint8_t		 md[SHA256_DIGEST_LENGTH];
	unsigned int	 mdlen = sizeof(md), i;
	size_t		 off;

	if (len < sizeof("SHA256:") + 2 * sizeof(md) ||
	    X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
		return (-1);
	off = strlcpy(buf, "SHA256:", len);
	for (i = 0; i < mdlen; i++, off += 2)
		snprintf(buf + off, len - off, "%02x", md[i]);
	return (0);
}

#define TLS_CHAIN_MAX	4	/* certificates of a peer's chain we read */

/*
 * Who the peer is, from the chain it presented (PEM text) and the
 * hash of the certificate its handshake proved it holds the key of
 * (leafhash, as tls_peer_cert_hash()).  pinned(fpr, arg) says whether
 * a fingerprint is one we accept.  The peer is accepted, its pinned
 * fingerprint put into fpr, when
 *
 * - its certificate itself is pinned (a site that signs its handshakes
 *   with the site key, as versions before the leaves did); or
 * - another certificate of its chain is pinned, the leaf names it as
 *   its issuer, is signed by its key, and now lies within the leaf's
 *   validity.
 *
 * Nothing else of the chain is trusted, nor any CA.  The pinned
 * certificate's own dates and extensions are not looked at: the pin
 * stands for its key, as it did before leaves.  -1 with a reason.
 */
int
tlsctx_verify_chain(const uint8_t *pem, size_t pemlen, const char *leafhash,
    time_t now, int (*pinned)(const char *, void *), void *arg, char *fpr,
    size_t fprlen, char *why, size_t whylen)
{
	X509		*certs[TLS_CHAIN_MAX], *x, *leaf = NULL, *issuer = NULL;
	char		 f[MARCONID_FPRLEN];
	char		 issfpr[MARCONID_FPRLEN];
	EVP_PKEY	*ipk;
	BIO		*b;
	int		 i, n = 0, ret = -1;

	if (pinned(leafhash, arg)) {
		strlcpy(fpr, leafhash, fprlen);
		return (0);
	}
	if (pem == NULL || pemlen == 0 || pemlen > INT_MAX) {
		snprintf(why, whylen, "certificate %s matches no configured "
		    "fingerprint, and comes with no chain", leafhash);
		return (-1);
	}
	if ((b = BIO_new_mem_buf(pem, pemlen)) == NULL)
		fatalx("%s: BIO_new_mem_buf", __func__);
	while (n < TLS_CHAIN_MAX &&
	    (x = PEM_read_bio_X509(b, NULL, tlsident_nopass, NULL)) != NULL)
		certs[n++] = x;
	BIO_free(b);
	ERR_clear_error();

	/* the leaf is the certificate the handshake proved */
	for (i = 0; i < n && leaf == NULL; i++)
		if (tls_fingerprint(certs[i], f, sizeof(f)) == 0 &&
		    strcmp(f, leafhash) == 0)
			leaf = certs[i];
	if (leaf == NULL) {
		snprintf(why, whylen, "certificate %s is not in the chain "
		    "the peer presented", leafhash);
		goto done;
	}
	for (i = 0; i < n && issuer == NULL; i++) {
		if (certs[i] == leaf ||
		    tls_fingerprint(certs[i], f, sizeof(f)) == -1)
			continue;
		if (pinned(f, arg)) {
			issuer = certs[i];
			strlcpy(issfpr, f, sizeof(issfpr));
		}
	}
	if (issuer == NULL) {
		snprintf(why, whylen, "certificate %s matches no configured "
		    "fingerprint, nor does a certificate of its chain",
		    leafhash);
		goto done;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(issuer)) != 0 ||
	    (ipk = X509_get0_pubkey(issuer)) == NULL ||
	    X509_verify(leaf, ipk) != 1) {
		snprintf(why, whylen, "certificate %s is not signed by the "
		    "pinned %s", leafhash, issfpr);
		goto done;
	}
	/* X509_cmp_time(): -1 for a time before or at now, 1 after */
	if (X509_cmp_time(X509_get0_notBefore(leaf), &now) != -1) {
		snprintf(why, whylen, "certificate %s is not valid yet (is "
		    "the clock of one of the sites wrong?)", leafhash);
		goto done;
	}
	if (X509_cmp_time(X509_get0_notAfter(leaf), &now) != 1) {
		snprintf(why, whylen, "certificate %s has expired (is the "
		    "clock of one of the sites wrong?)", leafhash);
		goto done;
	}
	strlcpy(fpr, issfpr, fprlen);
	ret = 0;
 done:
	ERR_clear_error();
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	return (ret);
}

/* The same on an established connection, at time now. */
int
tlsctx_verify_peer(struct tls *conn, time_t now,
    int (*pinned)(const char *, void *), void *arg, char *fpr,
    size_t fprlen, char *why, size_t whylen)
{
	const uint8_t	*pem;
	const char	*hash;
	size_t		 len = 0;

	if (!tls_peer_cert_provided(conn) ||
	    (hash = tls_peer_cert_hash(conn)) == NULL) {
		snprintf(why, whylen, "the peer presented no certificate");
		return (-1);
	}
	/* owned by the connection; the leaf may be first or not */
	pem = tls_peer_cert_chain_pem(conn, &len);
	return (tlsctx_verify_chain(pem, len, hash, now, pinned, arg, fpr,
	    fprlen, why, whylen));
}
